# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes
from ansible_collections.prodready.platform.plugins.module_utils.config_files import content_sha1
from ansible_collections.prodready.platform.plugins.modules import file_states


def run_module(args, monkeypatch, capsys):
    """Run main() as Ansible would and return its JSON result."""
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    monkeypatch.setattr(sys, "argv", ["file_states"])
    with pytest.raises(SystemExit):
        file_states.main()
    return json.loads(capsys.readouterr().out)


def test_reads_files_directories_and_missing_paths_without_change(tmp_path, monkeypatch, capsys):
    (tmp_path / "a.conf").write_text("a = 1\n")
    os.chmod(tmp_path / "a.conf", 0o640)
    result = run_module(dict(paths=[str(tmp_path / "a.conf"), str(tmp_path), str(tmp_path / "none")]), monkeypatch, capsys)
    assert result["changed"] is False
    states = result["states"]
    assert states[str(tmp_path / "a.conf")]["sha1"] == content_sha1("a = 1\n")
    assert states[str(tmp_path / "a.conf")]["mode"] == "0640"
    assert states[str(tmp_path / "a.conf")]["uid"] == os.getuid()
    assert states[str(tmp_path)]["type"] == "directory" and "sha1" not in states[str(tmp_path)]
    assert states[str(tmp_path / "none")] == {"type": "absent"}


def test_relative_path_fails(monkeypatch, capsys):
    result = run_module(dict(paths=["etc/x"]), monkeypatch, capsys)
    assert result["failed"] and "not absolute" in result["msg"]
