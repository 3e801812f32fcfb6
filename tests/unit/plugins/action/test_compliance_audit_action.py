"""prodready.platform.compliance_audit's action reads catalog files on the controller and runs the
module with their controls (then the inline ones): the same audit as the catalog given inline, the
role's shipped catalog loads and validates, and a bad or missing file fails naming it."""
import json
import os

import pytest
import yaml

from ansible.errors import AnsibleActionFail

from ansible_collections.prodready.platform.plugins.action.compliance_audit import load_catalog_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
CATALOG = os.path.join(ROOT, "roles", "compliance", "files", "catalog")

PLAYBOOK = """\
- name: Audit the controller with catalog files and inline controls
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Audit
      prodready.platform.compliance_audit:
        catalog_files: "{{ files }}"
        catalog: "{{ inline }}"
      register: audit
      ignore_errors: true
    - name: Save the result
      ansible.builtin.copy:
        dest: "{{ playbook_dir }}/result.json"
        content: "{{ audit | to_json }}"
        mode: "0644"
      check_mode: false
"""


def control(ident, path, title="t {{ not_templated }}"):
    return {"id": ident, "title": title, "rationale": "r", "severity": "high",
            "check": {"type": "file", "path": path}, "frameworks": {"gdpr": ["Art. 32"]}}


@pytest.fixture
def audit(tmp_path, run_playbook):
    def run(files, inline=()):
        (tmp_path / "play.yml").write_text(PLAYBOOK)
        run_playbook(tmp_path, extra_vars={"files": files, "inline": list(inline)})
        return json.loads((tmp_path / "result.json").read_text())
    return run


def test_files_then_inline_controls_are_audited_untemplated(tmp_path, audit):
    (tmp_path / "a.yml").write_text(yaml.safe_dump({"controls": [control("A-1", str(tmp_path)), control("A-2", str(tmp_path / "no"))]}))
    (tmp_path / "b.yml").write_text(yaml.safe_dump({"controls": [control("B-1", str(tmp_path))]}))
    result = audit([str(tmp_path / "a.yml"), str(tmp_path / "b.yml")], [control("X-1", str(tmp_path / "no"), "x")])
    assert not result.get("failed"), result
    assert [(r["id"], r["status"]) for r in result["controls"]] == [("A-1", "pass"), ("A-2", "fail"), ("B-1", "pass"), ("X-1", "fail")]
    assert result["controls"][0]["title"] == "t {{ not_templated }}"
    # the same controls inline (extra vars are templated: plain titles there)
    inline = audit([], [control("A-1", str(tmp_path), "a"), control("A-2", str(tmp_path / "no"), "a"),
                        control("B-1", str(tmp_path), "b"), control("X-1", str(tmp_path / "no"), "x")])
    assert inline["summary"] == result["summary"] and inline["frameworks"] == result["frameworks"]


def test_bad_and_missing_files_fail_naming_them(tmp_path, audit):
    (tmp_path / "bad.yml").write_text("controls: {A-1: x}\n")
    result = audit([str(tmp_path / "bad.yml")])
    assert result["failed"] and "bad.yml must be a mapping with a list of controls" in result["msg"]
    result = audit([str(tmp_path / "missing.yml")])
    assert result["failed"] and "missing.yml" in result["msg"]


def test_the_role_catalog_loads_and_validates():
    files = sorted(os.path.join(CATALOG, name) for name in os.listdir(CATALOG) if name.endswith(".yml"))
    controls = [ctrl for path in files for ctrl in load_catalog_file(path)]
    assert len(controls) == len(set(ctrl["id"] for ctrl in controls)) > 100
    # the same data the pure-Python loader gives (validated in test_compliance_catalog.py)
    expected = []
    for path in files:
        with open(path) as handle:
            expected.extend(yaml.safe_load(handle)["controls"])
    assert controls == expected
    with pytest.raises(AnsibleActionFail):
        load_catalog_file(os.path.join(CATALOG, "does-not-exist.yml"))


def _action(args):
    from unittest import mock

    from ansible.playbook.task import Task
    from ansible_collections.prodready.platform.plugins.action.compliance_audit import ActionModule

    task = Task()
    task.args = dict(args)
    action = ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    calls = []

    def execute_module(module_name=None, module_args=None, task_vars=None):
        calls.append((module_name, module_args, task_vars))
        return {"changed": False}

    action._execute_module = execute_module
    return action, calls


@pytest.mark.parametrize("task_vars, expected", [
    ({"inventory_hostname": "h"}, True),          # the catalog stays out of the host's journal
    ({"ansible_no_target_syslog": False}, False),  # unless the play asks for the log
    ({"ansible_no_target_syslog": True}, True),
])
def test_the_invocation_is_not_logged_on_the_host_unless_asked(task_vars, expected):
    action, calls = _action({"catalog": [control("X-1", "/")]})
    action.run(task_vars=dict(task_vars))
    module_name, module_args, passed_vars = calls[0]
    assert module_name == "prodready.platform.compliance_audit"
    assert module_args["catalog"][0]["id"] == "X-1" and "catalog_files" not in module_args
    assert passed_vars["ansible_no_target_syslog"] is expected
    assert all(passed_vars[key] == value for key, value in task_vars.items())


def test_cis_reference_becomes_cis_ids_and_a_missing_one_fails(tmp_path):
    reference = tmp_path / "debian12.yml"
    reference.write_text("benchmark: CIS Debian Linux 12 Benchmark v1.1.0\n"
                         "recommendations:\n  - {id: '5.1.20', title: t, level: 1, profiles: [server], assessment: automated}\n"
                         "  - {id: '1.1.1.1', title: t, level: 1, profiles: [server], assessment: automated}\n")
    action, calls = _action({"catalog": [control("X-1", "/")], "cis_reference": str(reference)})
    action._find_needle = lambda kind, path: path
    action.run(task_vars={})
    assert calls[0][1]["cis_ids"] == ["1.1.1.1", "5.1.20"] and "cis_reference" not in calls[0][1]
    action, calls = _action({"catalog": [control("X-1", "/")], "cis_reference": "cis/debian12.yml"})

    def not_found(kind, path):
        from ansible.errors import AnsibleFileNotFound
        raise AnsibleFileNotFound(file_name=path)
    action._find_needle = not_found
    with pytest.raises(AnsibleActionFail, match=r"the CIS benchmark reference \(cis_reference\) was not found"):
        action.run(task_vars={})
    assert not calls


def test_an_unknown_cis_id_fails_the_task_naming_control_and_file(tmp_path, run_playbook):
    entry = control("A-1", str(tmp_path))
    entry["frameworks"]["cis_debian12"] = ["9.9.9"]
    (tmp_path / "a.yml").write_text(yaml.safe_dump({"controls": [entry]}))
    (tmp_path / "debian12.yml").write_text("benchmark: CIS Debian Linux 12 Benchmark v1.1.0\n"
                                           "recommendations: [{id: '5.1.20', title: t}]\n")
    (tmp_path / "play.yml").write_text(PLAYBOOK.replace('catalog: "{{ inline }}"',
                                                        'catalog: "{{ inline }}"\n        cis_reference: "{{ cis }}"'))
    run_playbook(tmp_path, extra_vars={"files": [str(tmp_path / "a.yml")], "inline": [], "cis": str(tmp_path / "debian12.yml")})
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["failed"] and "control A-1 (a.yml): unknown CIS Debian Linux 12 Benchmark v1.1.0 " \
                                "recommendation id(s) 9.9.9" in result["msg"]
