# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter must agree with the module: pending on the controller <=> the module would change it,
for the same reasons (both call item_differences of module_utils/config_files.py)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import subprocess
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible.errors import AnsibleFilterError
from ansible_collections.prodready.platform.plugins.filter.config_files import FilterModule, config_files_pending
from ansible_collections.prodready.platform.plugins.module_utils.config_files import (
    content_hmac,
    item_differences,
    observe,
    observe_paths,
)
from ansible_collections.prodready.platform.plugins.modules import config_files

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


def run_command(argv):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def module_item(**kw):
    base = dict(state="file", content=None, mode=None, owner=ME, group=MY_GROUP, validate=None, secret=False)
    base.update(kw)
    return base


def observed(items):
    return {i["path"]: observe(i["path"]) for i in items}


def test_converged_items_are_not_pending(tmp_path):
    items = [module_item(path=str(tmp_path / "d"), state="directory", mode="0750"),
             module_item(path=str(tmp_path / "d" / "a.conf"), content="a = 1\n", mode="0640"),
             module_item(path=str(tmp_path / "gone"), state="absent")]
    assert config_files_pending(items, observed(items)) == [str(tmp_path / "d"), str(tmp_path / "d" / "a.conf")]
    config_files.run(items, False, run_command)
    assert config_files_pending(items, observed(items)) == []


def test_secret_files_are_read_as_keyed_hmacs_and_compared_under_the_key(tmp_path):
    key = "6f1c" * 16
    items = [module_item(path=str(tmp_path / "config.json"), content='{"password": "hunter2"}\n', mode="0600", secret=True),
             module_item(path=str(tmp_path / "state.key"), content=key, mode="0600", secret=True)]
    keyed = {"key_file": str(tmp_path / "state.key"), "paths": [item["path"] for item in items]}
    # Nothing written yet: no key file to read, so no HMAC, and every file is pending.
    before = observe_paths([], keyed)
    assert before[items[0]["path"]] == {"type": "absent"}
    assert config_files_pending(items, before, key=key) == [item["path"] for item in items]
    config_files.run(items, False, run_command)
    states = observe_paths([], keyed)
    secret = states[items[0]["path"]]
    # No plain digest of a secret in what a probe prints; the HMAC is the key's, not the content's alone.
    assert "sha1" not in secret and secret["hmac"] == content_hmac(key, items[0]["content"])
    assert secret["hmac"] != content_hmac("other", items[0]["content"])
    assert config_files_pending(items, states, key=key) == []
    # The key file is compared under itself; written with a trailing newline it still reads the same.
    assert config_files_pending(items, states, key=key + "\n") == []
    # Without the key, with another key, or with another content: pending, so the module runs.
    assert config_files_pending(items, states) == [item["path"] for item in items]
    assert config_files_pending(items, states, key="0" * 64) == [item["path"] for item in items]
    changed = [dict(items[0], content='{"password": "hunter3"}\n'), items[1]]
    assert config_files_pending(changed, states, key=key) == [items[0]["path"]]
    # A key file that no longer matches the controller's key (a rotated signing key): both pending.
    (tmp_path / "state.key").write_text("1" * 64)
    assert config_files_pending(items, observe_paths([], keyed), key=key) == [item["path"] for item in items]
    # Unkeyed paths next to keyed ones are read as before.
    mixed = observe_paths([str(tmp_path / "other")], keyed)
    assert mixed[str(tmp_path / "other")] == {"type": "absent"} and "hmac" in mixed[items[0]["path"]]


def test_bad_input():
    with pytest.raises(AnsibleFilterError):
        config_files_pending([{"path": "/a"}], ["not", "a", "dict"])
    with pytest.raises(AnsibleFilterError):
        config_files_pending({"path": "/a"}, {})
    with pytest.raises(AnsibleFilterError):
        config_files_pending([{"content": "x"}], {})
    assert FilterModule().filters() == {"config_files_pending": config_files_pending}


_mode = st.sampled_from(["0600", "0640", "0644", "0750", "0755", None, 0o644])
_start = st.sampled_from(["none", "file", "directory"])


@settings(max_examples=60, deadline=None)
@given(start=_start, start_content=st.text(max_size=40), start_mode=st.sampled_from([0o600, 0o644, 0o755]),
       state=st.sampled_from(["file", "directory", "absent"]), content=st.text(max_size=40), mode=_mode)
def test_filter_agrees_with_the_module_check_mode(start, start_content, start_mode, state, content, mode):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x")
        if start == "file":
            with open(path, "w", encoding="utf-8", errors="surrogateescape") as handle:
                handle.write(start_content)
            os.chmod(path, start_mode)
        elif start == "directory":
            os.mkdir(path, start_mode)
        item = module_item(path=path, state=state, content=content if state == "file" else None, mode=mode)
        pending = config_files_pending([item], observed([item]))
        reasons = item_differences(item, observe(path))
        try:
            changed, results, _diffs = config_files.run([item], True, run_command)
        except config_files.ItemError:
            # The module refuses (a directory where a file is wanted, a non-empty directory to remove):
            # the filter must then say "pending" so the module runs and reports the error.
            assert pending == [path] and reasons == ["type"]
            return
        assert pending == changed
        assert results[0]["reasons"] == reasons
