"""compliance_audit and compliance_metrics as Ansible runs them (argument spec, results, check mode)."""
import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.prodready.platform.plugins.module_utils import textfile
from ansible_collections.prodready.platform.plugins.modules import compliance_audit, compliance_metrics


def run(module, args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def control(cid, path, severity="high"):
    return {"id": cid, "title": "t", "rationale": "r", "severity": severity,
            "check": {"type": "file", "path": path}, "frameworks": {"gdpr": ["Art. 32"]}}


def test_audit_reports_statuses_and_never_changes(tmp_path, capsys):
    present = tmp_path / "present"
    present.write_text("x")
    result = run(compliance_audit, {"catalog": [control("A-1", str(present)), control("A-2", str(tmp_path / "absent"), "critical")],
                                    "_ansible_check_mode": True}, capsys)
    assert result["changed"] is False
    assert [r["status"] for r in result["controls"]] == ["pass", "fail"]
    assert result["summary"]["failed_by_severity"]["critical"] == 1
    assert result["frameworks"]["gdpr"]["score_percent"] == round(100.0 * 5 / 15, 1)
    assert result["schema_version"] == "1.0"


@pytest.mark.parametrize("args, message", [
    ({"catalog": [dict(control("A-1", "/"), check={"type": "nope"})]}, "control A-1: unknown check type 'nope'"),
    ({"catalog": [control("A-1", "/")], "waivers": [{"control": "A-1", "reason": "r"}]}, "waiver #1 for control A-1: 'expires'"),
    ({"catalog": [control("A-1", "/")], "frameworks": ["iso27001"]}, "framework filter 'iso27001' does not exist"),
    ({}, "the compliance catalog is empty"),
    ({"catalog_files": ["/x.yml"]}, "read on the controller by the compliance_audit action plugin"),
])
def test_audit_bad_input_fails_naming_the_entry(args, message, capsys):
    result = run(compliance_audit, args, capsys)
    assert result["failed"] is True
    assert message in result["msg"]


AUDIT = {
    "summary": {"score_percent": 96.5, "pass": 10, "fail": 1, "error": 0, "not_applicable": 3, "waived": 1,
                "failed_by_severity": {"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0}},
    "frameworks": {"gdpr": {"score_percent": 90.0}, "pci_dss_4": {"score_percent": None}},
}


def test_metrics_written_once_then_unchanged(tmp_path, capsys):
    args = {"audit": AUDIT, "textfile_dir": str(tmp_path)}
    check = run(compliance_metrics, dict(args, _ansible_check_mode=True), capsys)
    assert check["changed"] is True and not os.path.exists(check["path"])
    first = run(compliance_metrics, args, capsys)
    assert first["changed"] is True
    samples = textfile.read_textfile(first["path"])
    assert ("prodready_compliance_score_percent", {"framework": "gdpr"}, 90.0) in samples
    assert ("prodready_compliance_score_percent", {"framework": "all"}, 96.5) in samples
    assert ("prodready_compliance_failed_controls", {"severity": "high"}, 1.0) in samples
    assert not any(s[1].get("framework") == "pci_dss_4" for s in samples)  # nothing applicable: no sample
    second = run(compliance_metrics, args, capsys)
    assert second["changed"] is False


def test_metrics_reject_something_that_is_not_an_audit(tmp_path, capsys):
    result = run(compliance_metrics, {"audit": {"foo": 1}, "textfile_dir": str(tmp_path)}, capsys)
    assert result["failed"] is True and "compliance_audit" in result["msg"]


def test_audit_exports_its_scores_in_the_same_run(tmp_path, capsys):
    present = tmp_path / "present"
    present.write_text("x")
    textfile_dir = tmp_path / "textfile"
    args = {"catalog": [control("A-1", str(present)), control("A-2", str(tmp_path / "absent"), "critical")],
            "textfile_dir": str(textfile_dir), "export_metrics": True}
    check = run(compliance_audit, dict(args, _ansible_check_mode=True), capsys)
    assert check["changed"] is True and not textfile_dir.exists()  # check mode writes nothing
    first = run(compliance_audit, args, capsys)
    assert first["changed"] is True and first["metrics_path"] == str(textfile_dir / "prodready_compliance.prom")
    assert oct(textfile_dir.stat().st_mode & 0o777) == oct(0o755)
    samples = textfile.read_textfile(first["metrics_path"])
    assert ("prodready_compliance_failed_controls", {"severity": "critical"}, 1.0) in samples
    assert ("prodready_compliance_controls", {"status": "pass"}, 1.0) in samples
    # The same file compliance_metrics writes from the registered result.
    assert run(compliance_metrics, {"audit": first, "textfile_dir": str(textfile_dir)}, capsys)["changed"] is False
    assert run(compliance_audit, args, capsys)["changed"] is False
    assert run(compliance_audit, dict(args, _ansible_check_mode=True), capsys)["changed"] is False


def test_audit_without_export_writes_nothing(tmp_path, capsys):
    result = run(compliance_audit, {"catalog": [control("A-1", "/")], "textfile_dir": str(tmp_path / "textfile")}, capsys)
    assert result["changed"] is False and "metrics_path" not in result
    assert not (tmp_path / "textfile").exists()
