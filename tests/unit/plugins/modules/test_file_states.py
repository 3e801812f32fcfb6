# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.prodready.platform.plugins.module_utils.config_files import content_sha1
from ansible_collections.prodready.platform.plugins.modules import file_states


def test_reads_files_directories_and_missing_paths_without_change(tmp_path, run_module):
    (tmp_path / "a.conf").write_text("a = 1\n")
    os.chmod(tmp_path / "a.conf", 0o640)
    result = run_module(file_states, dict(paths=[str(tmp_path / "a.conf"), str(tmp_path), str(tmp_path / "none")]))
    assert result["changed"] is False
    states = result["states"]
    assert states[str(tmp_path / "a.conf")]["sha1"] == content_sha1("a = 1\n")
    assert states[str(tmp_path / "a.conf")]["mode"] == "0640"
    assert states[str(tmp_path / "a.conf")]["uid"] == os.getuid()
    assert states[str(tmp_path)]["type"] == "directory" and "sha1" not in states[str(tmp_path)]
    assert states[str(tmp_path / "none")] == {"type": "absent"}


def test_relative_path_fails(run_module):
    result = run_module(file_states, dict(paths=["etc/x"]))
    assert result["failed"] and "not absolute" in result["msg"]
