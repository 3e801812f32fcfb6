# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""python_library installs module_utils where an on-host script imports them by their collection name."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

from ansible_collections.prodready.platform.plugins.modules import python_library

MODULE_UTILS = ("ansible_collections", "prodready", "platform", "plugins", "module_utils")


def test_installs_importable_library_then_reports_no_change(tmp_path, run_module):
    dest = str(tmp_path / "lib")
    result = run_module(python_library, dict(dest=dest, modules=["textfile", "_backup.retention"]))
    assert result["changed"] is True
    target = os.path.join(dest, *MODULE_UTILS)
    with open(os.path.join(target, "textfile.py")) as handle:
        assert handle.read() == open(python_library.textfile.__file__).read()
    assert oct(os.stat(os.path.join(target, "_backup", "retention.py")).st_mode & 0o777) == "0o644"
    # A script on the host imports exactly as the modules do, with nothing else on its path.
    script = ("import sys; sys.path.insert(0, %r); "
              "from ansible_collections.prodready.platform.plugins.module_utils._backup import retention; "
              "from ansible_collections.prodready.platform.plugins.module_utils import textfile; "
              "print(retention.__file__.startswith(%r))" % (dest, dest))
    out = subprocess.check_output([sys.executable, "-I", "-c", script], cwd=str(tmp_path))
    assert out.strip() == b"True"
    again = run_module(python_library, dict(dest=dest, modules=["textfile", "_backup.retention"]))
    assert again["changed"] is False and again["written"] == [] and again["removed"] == []


def test_removes_stale_modules_and_restores_changed_ones(tmp_path, run_module):
    dest = str(tmp_path / "lib")
    run_module(python_library, dict(dest=dest, modules=["textfile", "_backup.retention"]))
    target = os.path.join(dest, *MODULE_UTILS)
    with open(os.path.join(target, "textfile.py"), "a") as handle:
        handle.write("# tampered\n")
    result = run_module(python_library, dict(dest=dest, modules=["textfile"]))
    assert result["written"] == [os.path.join(target, "textfile.py")]
    # The package no module is wanted from goes whole: its __init__.py too.
    assert result["removed"] == [os.path.join(target, "_backup", "__init__.py"), os.path.join(target, "_backup", "retention.py")]
    assert not os.path.exists(os.path.join(target, "_backup", "retention.py"))


def test_check_mode_writes_nothing_and_diffs(tmp_path, run_module):
    dest = str(tmp_path / "lib")
    result = run_module(python_library, dict(dest=dest, modules=["textfile"], _ansible_check_mode=True, _ansible_diff=True))
    assert result["changed"] is True and not os.path.exists(dest)
    assert any(d["after_header"].endswith("textfile.py") and "def " in d["after"] for d in result["diff"])


def test_unknown_module_is_refused_before_writing(tmp_path, run_module):
    dest = str(tmp_path / "lib")
    result = run_module(python_library, dict(dest=dest, modules=["textfile", "config_files"]))
    assert result["failed"] and "not shippable: config_files" in result["msg"] and "SHIPPABLE" in result["msg"]
    assert not os.path.exists(dest)
