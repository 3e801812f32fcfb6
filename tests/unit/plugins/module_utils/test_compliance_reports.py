"""The report side: the module's result fits the JSON schema, and the role's JUnit/HTML/Markdown
templates render (with Ansible's templating) into documents standard parsers accept."""
import html.parser
import json
import os
import xml.etree.ElementTree as ET

import jsonschema
import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible.errors import AnsibleFilterError

from ansible_collections.prodready.platform.plugins.filter.compliance_report import compliance_report_render
from ansible_collections.prodready.platform.plugins.module_utils._compliance import audit as engine
from ansible_collections.prodready.platform.plugins.module_utils._compliance import catalog
from ansible_collections.prodready.platform.plugins.module_utils._compliance import probe as host_probe

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
ROLE = os.path.join(ROOT, "roles", "compliance")
SCHEMA = os.path.join(ROOT, "docs", "schemas", "compliance-report.schema.json")


def host_report(tmp_path, host):
    os.makedirs(os.path.join(str(tmp_path), "etc"), exist_ok=True)
    controls = [
        {"id": "R-001", "title": "Passes <tag> & co", "rationale": "r", "severity": "critical",
         "check": {"type": "file", "path": "/etc"}, "frameworks": {"gdpr": ["Art. 32"], "soc2": ["CC6.1"]}},
        {"id": "R-002", "title": "Fails", "rationale": "r \"quoted\"", "severity": "high",
         "check": {"type": "file", "path": "/missing<&>"}, "frameworks": {"pci_dss_4": ["2.2.1"]}},
        {"id": "R-003", "title": "Waived", "rationale": "r", "severity": "low",
         "check": {"type": "file", "path": "/missing"}, "frameworks": {"nist_800_53": ["CM-6"]}},
        {"id": "R-004", "title": "N/A", "rationale": "r", "severity": "medium", "applies_when": [{"path": "/nope"}],
         "check": {"type": "file", "path": "/x"}, "frameworks": {"cis_debian12": ["1.1.1"]}},
    ]
    result = engine.run_audit(controls, waivers=[{"control": "R-003", "reason": "ok", "expires": "2999-01-01"}],
                              probe=host_probe.Probe(root=str(tmp_path)))
    # the same document roles/compliance/tasks/reports.yml builds
    return {"schema_version": result["schema_version"], "kind": "host", "generated_at": "2026-11-23T12:00:00Z",
            "host": host, "system": {"distribution": "Debian", "version": "12.11", "kernel": "6.1", "container": ""},
            "check_mode": False, "duration_seconds": result["duration_seconds"], "summary": result["summary"],
            "frameworks": result["frameworks"], "controls": result["controls"]}


def report_variables(reports):
    with open(os.path.join(ROLE, "vars", "main.yml")) as handle:
        role_vars = yaml.safe_load(handle)
    return {"ansible_managed": "Ansible managed", "compliance_reports": reports,
            "compliance_report_title": "Compliance report: test",
            "compliance_status_order": role_vars["compliance_status_order"],
            "compliance_severity_order": role_vars["compliance_severity_order"]}


def template_source(name):
    with open(os.path.join(ROLE, "templates", name)) as handle:
        return handle.read()


def render(name, reports):
    """As the role renders them (tasks/reports.yml): the compliance_report_render filter."""
    return compliance_report_render(template_source(name), report_variables(reports))


def render_with_ansible(name, reports):
    return Templar(loader=DataLoader(), variables=report_variables(reports)).template(trust_as_template(template_source(name)))


@pytest.fixture
def reports(tmp_path):
    return [host_report(tmp_path, "web1"), host_report(tmp_path, "app1")]


def test_host_and_fleet_reports_validate_against_the_schema(reports):
    with open(SCHEMA) as handle:
        schema = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(reports[0], schema)
    fleet = {"schema_version": "1.0", "kind": "fleet", "generated_at": "2026-11-23T12:00:00Z", "hosts": ["web1", "app1"],
             "summary": {"score_percent": 50.0, "failed": 2, "errors": 0, "critical_failed": 0}, "reports": reports}
    jsonschema.validate(fleet, schema)
    broken = dict(reports[0], controls=[dict(reports[0]["controls"][0], status="maybe")])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_junit_parses_with_one_suite_per_host_and_escaped_text(reports):
    root = ET.fromstring(render("report.junit.xml.j2", reports))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["compliance.web1", "compliance.app1"]
    cases = suites[0].findall("testcase")
    assert len(cases) == 4
    by_id = dict((case.get("name").split()[0], case) for case in cases)
    assert by_id["R-002"].find("failure").get("type") == "high"
    assert "/missing<&>" in by_id["R-002"].find("failure").get("message")
    assert by_id["R-003"].find("skipped").get("message").startswith("waived until 2999-01-01")
    assert by_id["R-004"].find("skipped") is not None
    assert by_id["R-001"].find("failure") is None and by_id["R-001"].get("name") == "R-001 Passes <tag> & co"
    assert root.get("failures") == "2" and suites[0].get("skipped") == "2"


class Collector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.rows = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "id" in attrs:
            self.rows.append(attrs["id"])
        if "id" in attrs:
            self.ids.append(attrs["id"])


def test_html_is_one_file_with_failures_first(reports):
    page = render("report.html.j2", reports)
    assert "<script" not in page and "http://" not in page and "https://" not in page.replace("https://example", "")
    collector = Collector()
    collector.feed(page)
    assert "host-web1" in collector.ids and "host-app1" in collector.ids
    first_host_rows = collector.rows[:4]
    assert first_host_rows[0] == "R-002"  # the failure leads, then waived, then pass / not applicable
    assert first_host_rows.index("R-003") < first_host_rows.index("R-001")
    assert "/missing&lt;&amp;&gt;" in page


def test_markdown_lists_findings(reports):
    text = render("report.md.j2", reports)
    assert "| web1 |" in text and "R-002 Fails" in text and "R-001" not in text.split("## web1")[1].split("## app1")[0]


@pytest.mark.parametrize("name", ["report.junit.xml.j2", "report.html.j2", "report.md.j2"])
def test_the_filter_renders_what_ansible_templating_renders(reports, name):
    # The role switched from lookup('template') to the filter for speed; the documents must not change.
    assert render(name, reports) == render_with_ansible(name, reports)


def test_report_data_is_never_evaluated_as_a_template(reports):
    failing = [control for control in reports[0]["controls"] if control["status"] == "fail"][0]
    failing["evidence"] = "{{ lookup('env', 'HOME') }} {% raw %}"
    assert "{{ lookup('env', 'HOME') }} {% raw %}" in render("report.md.j2", reports)


def test_undefined_variables_fail_clearly(reports):
    variables = report_variables(reports)
    del variables["compliance_status_order"]
    with pytest.raises(AnsibleFilterError, match="compliance_status_order"):
        compliance_report_render(template_source("report.html.j2"), variables)
    with pytest.raises(AnsibleFilterError, match="template source"):
        compliance_report_render(None, variables)


def test_schema_knows_every_check_type():
    # a check type the schema does not list makes every report with it invalid (Molecule verify)
    with open(SCHEMA) as handle:
        enum = json.load(handle)["$defs"]["control"]["properties"]["check_type"]["enum"]
    assert sorted(enum) == sorted(catalog.CHECK_TYPES)
