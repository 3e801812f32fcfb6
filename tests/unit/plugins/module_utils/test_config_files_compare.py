# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""item_differences is the one comparison of config_files: the module acts on exactly its reasons."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import tempfile

from hypothesis import given, settings, strategies as st

from ansible_collections.prodready.platform.plugins.module_utils import config_files as compare
from ansible_collections.prodready.platform.plugins.module_utils.config_files import ItemError, item_differences, observe
from ansible_collections.prodready.platform.plugins.modules import config_files

ME, MY_GROUP = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
# No item here has `validate`, so the module never runs a command.
NO_COMMANDS = None


def test_each_difference_is_reported(tmp_path):
    path = tmp_path / "a.conf"
    path.write_text("old\n")
    os.chmod(path, 0o644)
    state = observe(str(path))
    assert state["type"] == "file" and state["mode"] == "0644" and state["sha1"] == compare.content_sha1("old\n")
    base = dict(path=str(path), content="old\n", owner=ME, group=MY_GROUP)
    assert item_differences(base, state) == []
    assert item_differences(dict(base, content="new\n"), state) == ["content"]
    assert item_differences(dict(base, mode="0600"), state) == ["mode"]
    assert item_differences(dict(base, mode=0o644), state) == []  # unquoted YAML mode
    assert item_differences(dict(base, owner="nobody-such"), state) == ["owner"]
    assert item_differences(dict(base, owner=str(os.getuid())), state) == []
    assert item_differences(dict(base, group="nobody-such", manage_ownership=False), state) == []
    assert item_differences(dict(base, state="directory"), state) == ["type"]
    assert item_differences(dict(base, state="absent"), state) == ["removed"]
    assert item_differences(base, None) == ["unknown"]
    assert item_differences(base, {"type": "absent"}) == ["created"]
    assert item_differences(dict(base, mode="bad"), state) == ["mode"]


def test_on_the_host_owner_and_group_are_compared_as_resolved_ids(tmp_path):
    # The module resolves the names first: another name of the same uid is the same owner (no chown
    # on every run), an unmanaged id is never compared.
    path = tmp_path / "a.conf"
    path.write_text("x\n")
    os.chmod(path, 0o640)
    state = observe(str(path))
    item = dict(path=str(path), content="x\n", mode="0640", owner="an-alias", group="another-alias")
    assert item_differences(item, state) == ["owner", "group"]  # the controller compares names
    assert item_differences(item, state, resolved=(0o640, os.getuid(), os.getgid())) == []
    assert item_differences(item, state, resolved=(0o600, os.getuid() + 1, -1)) == ["mode", "owner"]


def test_observe_keeps_the_content_for_the_diff_or_does_not_open_the_file(tmp_path):
    path = tmp_path / "a.conf"
    path.write_bytes(b"x\xff\n")
    assert observe(str(path), keep_content=True)["content"] == b"x\xff\n"
    assert "content" not in observe(str(path))
    os.chmod(path, 0)
    unread = observe(str(path), read=False)
    assert unread["type"] == "file" and "sha1" not in unread and "content" not in unread


def test_symlink_is_a_link_with_its_target_and_missing_parent_is_absent(tmp_path):
    os.symlink("/etc/hostname", tmp_path / "link")
    observed = observe(str(tmp_path / "link"))
    assert observed["type"] == "link" and observed["target"] == "/etc/hostname"
    # Only a link item accepts a link: a file item where a link is refuses (type), as before.
    assert item_differences({"path": str(tmp_path / "link"), "content": "x"}, observed) == ["type"]
    assert item_differences({"path": "/l", "state": "link", "src": "/etc/hostname"}, observed) == []
    assert item_differences({"path": "/l", "state": "link", "src": "/etc/motd"}, observed) == ["target"]
    assert item_differences({"path": "/l", "state": "link", "src": "x"}, {"type": "absent"}) == ["created"]
    assert item_differences({"path": "/l", "state": "link", "src": "x"}, {"type": "directory"}) == ["type"]
    assert observe(str(tmp_path / "no" / "such"))["type"] == "absent"


def test_wanted_attributes_resolve_on_this_host():
    item = dict(path="/x", state="directory", owner=ME, group=MY_GROUP)
    assert compare.wanted_attributes(item) == (0o755, os.getuid(), os.getgid())
    assert compare.wanted_attributes(dict(item, state="file", mode="0600", manage_ownership=False)) == (0o600, -1, -1)
    for bad in (dict(mode="u+x"), dict(owner="no-such-user-prodready")):
        try:
            compare.wanted_attributes(dict(item, **bad))
        except ItemError:
            continue
        raise AssertionError("accepted %r" % (bad,))


@settings(max_examples=60, deadline=None)
@given(start=st.sampled_from(["none", "file", "directory"]), start_content=st.text(max_size=40),
       start_mode=st.sampled_from([0o600, 0o644, 0o755]), state=st.sampled_from(["file", "directory", "absent"]),
       content=st.text(max_size=40), mode=st.sampled_from(["0600", "0640", "0644", "0755", None, 0o644]),
       owner=st.sampled_from([ME, str(os.getuid())]))
def test_the_module_acts_on_item_differences_reasons(start, start_content, start_mode, state, content, mode, owner):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x")
        make = {"file": lambda: os.close(os.open(path, os.O_CREAT | os.O_WRONLY)), "directory": lambda: os.mkdir(path)}
        if start in make:
            make[start]()
            os.chmod(path, start_mode)
            if start == "file":
                with open(path, "wb") as handle:
                    handle.write(start_content.encode("utf-8", "surrogateescape"))
        item = dict(path=path, state=state, content=content if state == "file" else None, mode=mode, owner=owner,
                    group=MY_GROUP, validate=None, secret=False)
        expected = item_differences(item, observe(path))
        try:
            results = config_files.run([item], True, NO_COMMANDS)[1]
        except ItemError:
            assert expected == ["type"]
            return
        assert results[0]["reasons"] == expected
        if state != "absent" and expected:
            # Applied for real, the item then has no differences left.
            config_files.run([item], False, NO_COMMANDS)
            assert item_differences(item, observe(path)) == []
