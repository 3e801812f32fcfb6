"""integrity_facts: the host state the integrity role checks before its first change, read-only."""
import json

import pytest

from ansible_collections.prodready.platform.plugins.modules import integrity_facts


def test_reports_missing_paths_and_the_signer_named_by_the_manifest(tmp_path, run_module):
    (tmp_path / "here").mkdir()
    manifest = tmp_path / "baseline.json"
    manifest.write_text(json.dumps({"key_id": "abc123", "format": "prodready-integrity-manifest"}) + "\n{}\n")
    out = run_module(integrity_facts, {"paths": [str(tmp_path / "here"), str(tmp_path / "gone")],
                                       "manifest": str(manifest), "_ansible_check_mode": True})
    assert out["changed"] is False
    assert out["missing_paths"] == [str(tmp_path / "gone")]
    assert out["manifest_key_id"] == "abc123"
    assert out["packages_missing"] == []


def test_no_manifest_is_none_and_a_garbled_one_is_unreadable(tmp_path, run_module):
    out = run_module(integrity_facts, {"manifest": str(tmp_path / "none.json")})
    assert out["manifest_key_id"] is None
    (tmp_path / "bad.json").write_bytes(b"not json\n")
    assert run_module(integrity_facts, {"manifest": str(tmp_path / "bad.json")})["manifest_key_id"] == "unreadable"


def test_packages_dpkg_does_not_report_installed_are_missing(monkeypatch, run_module):
    from ansible.module_utils import basic
    answer = "python3-cryptography install ok installed\npython3-boto3 deinstall ok config-files\n"
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: "/usr/bin/" + name)
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda self, argv, **kw: (1, answer, ""))
    out = run_module(integrity_facts, {"packages": ["python3-cryptography", "python3-boto3", "python3-absent"]})
    assert out["packages_missing"] == ["python3-boto3", "python3-absent"]


def test_names_the_schedules_systemd_cannot_parse(monkeypatch, run_module):
    from ansible.module_utils import basic
    calls = []
    err = "Failed to parse calendar specification 'every tuesday': Invalid argument\n"

    def run_command(self, argv, **kw):
        calls.append(argv)
        return (1, "", err) if argv[0] == "systemd-analyze" else (0, "", "")
    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    out = run_module(integrity_facts, {"calendars": ["*:0/5", "every tuesday"]})
    assert calls == [["systemd-analyze", "calendar", "--", "*:0/5", "every tuesday"]]
    assert out["bad_calendars"] == [{"calendar": "every tuesday", "message": err.strip()}]
    assert out["changed"] is False


def test_no_schedules_asks_systemd_nothing(monkeypatch, run_module):
    from ansible.module_utils import basic
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda self, argv, **kw: pytest.fail("ran %s" % argv))
    assert run_module(integrity_facts, {})["bad_calendars"] == []
