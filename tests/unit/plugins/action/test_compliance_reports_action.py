"""prodready.platform.compliance_reports writes each host's reports and the fleet's on the controller:
documents that validate against the report schema, the same bytes the role's templates render through
compliance_report_render, hosts without a report left out, nothing written in check mode, and a second
run with the same data writes nothing."""
import json
import os
import xml.etree.ElementTree as ET

import jsonschema
import pytest
import yaml

from ansible_collections.prodready.platform.plugins.action.compliance_reports import fleet_document
from ansible_collections.prodready.platform.plugins.filter.compliance_report import compliance_report_render
from ansible_collections.prodready.platform.plugins.module_utils._compliance import audit as engine
from ansible_collections.prodready.platform.plugins.module_utils._compliance import probe as host_probe

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
ROLE = os.path.join(ROOT, "roles", "compliance")
SCHEMA = os.path.join(ROOT, "docs", "schemas", "compliance-report.schema.json")

with open(os.path.join(ROLE, "vars", "main.yml")) as _handle:
    ROLE_VARS = yaml.safe_load(_handle)


def host_report(root, host):
    os.makedirs(os.path.join(root, "etc"), exist_ok=True)
    controls = [
        {"id": "R-001", "title": "Passes <tag> & {{ not_a_template }}", "rationale": "r", "severity": "critical",
         "check": {"type": "file", "path": "/etc"}, "frameworks": {"gdpr": ["Art. 32"]}},
        {"id": "R-002", "title": "Fails", "rationale": "r", "severity": "critical",
         "check": {"type": "file", "path": "/missing"}, "frameworks": {"pci_dss_4": ["2.2.1"]}},
    ]
    result = engine.run_audit(controls, probe=host_probe.Probe(root=root))
    return {"schema_version": result["schema_version"], "kind": "host", "generated_at": "2026-11-23T12:00:00Z",
            "host": host, "system": {"distribution": "Debian", "version": "12.11", "kernel": "6.1", "container": ""},
            "check_mode": False, "duration_seconds": result["duration_seconds"], "summary": result["summary"],
            "frameworks": result["frameworks"], "controls": result["controls"]}


PLAYBOOK = """\
- name: Give two hosts a report, the third none
  hosts: web1,app1
  gather_facts: false
  tasks:
    - name: Set the report facts the compliance role sets
      ansible.builtin.set_fact:
        compliance_report: "{{ (lookup('ansible.builtin.file', playbook_dir ~ '/reports.json') | from_json)[inventory_hostname] }}"
        compliance_report_output: {dir: "{{ playbook_dir }}/out/{{ inventory_hostname }}", formats: [json, html, junit]}

- name: Write them
  hosts: web1,app1,db1
  gather_facts: false
  tasks:
    - name: Write the reports of every host and of the fleet
      prodready.platform.compliance_reports:
        hosts: "{{ ansible_play_hosts }}"
        templates: "{{ templates }}"
        fleet_dir: "{{ playbook_dir }}/out/fleet"
        fleet_formats: [json, junit, html, markdown]
        generated_at: "2026-11-23T12:00:00Z"
      run_once: true
      register: written
    - name: Save the result
      ansible.builtin.copy:
        dest: "{{ playbook_dir }}/result.json"
        content: "{{ written | to_json }}"
        mode: "0644"
      delegate_to: localhost
      run_once: true
      check_mode: false
"""


@pytest.fixture
def run(run_playbook):
    def write(tmp_path, *extra):
        templates = [dict(t, src=os.path.join(ROLE, "templates", t["src"])) for t in ROLE_VARS["compliance_report_templates"]]
        run_playbook(tmp_path, inventory="web1,app1,db1,", extra_vars={"templates": templates}, args=extra)
        return json.loads((tmp_path / "result.json").read_text())
    return write


@pytest.fixture
def workdir(tmp_path):
    reports = {"web1": host_report(str(tmp_path / "root"), "web1"), "app1": host_report(str(tmp_path / "root"), "app1")}
    (tmp_path / "reports.json").write_text(json.dumps(reports))
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    return tmp_path, reports


def test_writes_every_host_and_the_fleet(workdir, run):
    tmp_path, reports = workdir
    result = run(tmp_path)
    out = tmp_path / "out"
    assert result["hosts"] == ["web1", "app1"]  # db1 has no report: left out
    assert sorted(os.listdir(str(out / "web1"))) == ["web1.html", "web1.json", "web1.junit.xml"]
    assert sorted(os.listdir(str(out / "fleet"))) == ["fleet.html", "fleet.json", "fleet.junit.xml", "fleet.md"]
    assert len(result["written"]) == 3 + 3 + 4 and sorted(result["written"]) == sorted(result["files"])
    assert oct(os.stat(str(out / "fleet" / "fleet.json")).st_mode & 0o777) == "0o640"
    assert oct(os.stat(str(out / "fleet")).st_mode & 0o777) == "0o750"

    with open(SCHEMA) as handle:
        schema = json.load(handle)
    host_json = json.loads((out / "web1" / "web1.json").read_text())
    assert host_json == reports["web1"]
    jsonschema.validate(host_json, schema)
    fleet = json.loads((out / "fleet" / "fleet.json").read_text())
    jsonschema.validate(fleet, schema)
    assert fleet["hosts"] == ["web1", "app1"] and fleet["reports"] == [reports["web1"], reports["app1"]]
    assert fleet["summary"] == {"score_percent": 50.0, "failed": 2, "errors": 0, "critical_failed": 2}
    assert fleet == fleet_document([reports["web1"], reports["app1"]], "2026-11-23T12:00:00Z")
    # to_nice_json with an indent of 2, sorted keys, and a final newline
    text = (out / "fleet" / "fleet.json").read_text()
    assert text.startswith('{\n  "generated_at": "2026-11-23T12:00:00Z",\n') and text.endswith("}\n")

    # the same bytes the filter renders from the role's template; the data is not templated
    with open(os.path.join(ROLE, "templates", "report.html.j2")) as handle:
        expected = compliance_report_render(handle.read(), {
            "compliance_reports": [reports["web1"], reports["app1"]],
            "compliance_report_title": "Compliance report: fleet of 2 host(s)",
            "compliance_status_order": ROLE_VARS["compliance_status_order"],
            "compliance_severity_order": ROLE_VARS["compliance_severity_order"],
            "ansible_managed": "Ansible managed"})
    page = (out / "fleet" / "fleet.html").read_text()
    assert page == expected and "{{ not_a_template }}" in page
    suites = ET.fromstring((out / "fleet" / "fleet.junit.xml").read_text()).findall("testsuite")
    assert [s.get("name") for s in suites] == ["compliance.web1", "compliance.app1"]

    again = run(tmp_path)
    assert again["written"] == [] and again["changed"] is False


def test_check_mode_writes_nothing(workdir, run):
    tmp_path, _reports = workdir
    result = run(tmp_path, "--check")
    assert not (tmp_path / "out").exists()
    assert len(result["files"]) == 10 and result["written"] == []


def test_fleet_summary_ignores_hosts_without_a_score():
    def report(host, score, fail, error, critical):
        return {"schema_version": "1.0", "host": host, "summary": {
            "score_percent": score, "fail": fail, "error": error, "failed_by_severity": {"critical": critical}}}

    reports = [report("a", 90.0, 1, 0, 1), report("b", None, 0, 2, 0), report("c", 85.25, 3, 0, 0)]
    fleet = fleet_document(reports, "2026-11-23T12:00:00Z")
    assert fleet["summary"] == {"score_percent": 87.6, "failed": 4, "errors": 2, "critical_failed": 1}
    assert fleet["hosts"] == ["a", "b", "c"] and fleet_document([], "x")["summary"]["score_percent"] == 0.0


def test_modes_are_read_as_the_config_files_module_reads_them():
    from ansible.errors import AnsibleActionFail
    from ansible_collections.prodready.platform.plugins.action.compliance_reports import _mode

    assert _mode("0640", "mode") == 0o640
    assert _mode(0o750, "directory_mode") == 0o750  # an unquoted 0750 in YAML arrives as the integer
    for bad in ("rw-r-----", True, "17777"):
        with pytest.raises(AnsibleActionFail, match="^mode: "):
            _mode(bad, "mode")
