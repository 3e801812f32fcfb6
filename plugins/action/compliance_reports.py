# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write every host's compliance report and the fleet's on the controller, in one step.

The reports are controller-side files. Rendered in the task's arguments and handed to a module, a
6-host fleet's 2.8 MB of JSON, JUnit, HTML and Markdown went through Ansible's templating (to_nice_json
over tagged data), were serialised into the module's arguments, copied into a module process and
parsed again: 1.8 s of a 6-host no-op run. Here the documents are built from plain data in the
controller's worker, rendered with the same sandboxed Jinja environment as the
prodready.platform.compliance_report_render filter, and written directly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.plugins.action import ActionBase
from ansible.plugins.filter.core import to_nice_json

from ansible_collections.prodready.platform.plugins.filter.compliance_report import compliance_report_render
from ansible_collections.prodready.platform.plugins.module_utils.config_files import ItemError, parse_mode
from ansible_collections.prodready.platform.plugins.module_utils.textfile import write_atomic

ARGUMENT_SPEC = dict(
    hosts=dict(type="list", elements="str", required=True),
    report_fact=dict(type="str", default="compliance_report"),
    output_fact=dict(type="str", default="compliance_report_output"),
    templates=dict(type="list", elements="dict", required=True, options=dict(
        format=dict(type="str", required=True),
        src=dict(type="str", required=True),
        suffix=dict(type="str", required=True),
    )),
    fleet=dict(type="bool", default=True),
    fleet_dir=dict(type="path"),
    fleet_formats=dict(type="list", elements="str", default=["json", "junit", "html", "markdown"]),
    generated_at=dict(type="str", required=True),
    status_order=dict(type="list", elements="str", default=["fail", "error", "waived", "pass", "not_applicable"]),
    severity_order=dict(type="list", elements="str", default=["critical", "high", "medium", "low", "info"]),
    ansible_managed=dict(type="str", default="Ansible managed"),
    mode=dict(type="raw", default="0640"),
    directory_mode=dict(type="raw", default="0750"),
)


def _plain(value):
    # Facts read through hostvars are Ansible's lazy, tagged containers; the documents want plain data.
    return json.loads(json.dumps(value, default=to_native))


def _mode(value, name):
    # The modes are read as the config_files module and ansible.builtin.file read them.
    try:
        return parse_mode(value, None)
    except ItemError as exc:
        raise AnsibleActionFail("%s: %s" % (name, exc))


def fleet_document(reports, generated_at):
    """The fleet report: every host's report and the fleet's summary (mean score, sums of failures)."""
    scores = [r["summary"].get("score_percent") for r in reports]
    scores = [s for s in scores if isinstance(s, (int, float)) and not isinstance(s, bool)]
    return {
        "schema_version": reports[0]["schema_version"] if reports else 1,
        "kind": "fleet",
        "generated_at": generated_at,
        "hosts": [r["host"] for r in reports],
        "summary": {
            "score_percent": round(sum(scores) / max(len(scores), 1), 1),
            "failed": sum(r["summary"].get("fail", 0) for r in reports),
            "errors": sum(r["summary"].get("error", 0) for r in reports),
            "critical_failed": sum(r["summary"].get("failed_by_severity", {}).get("critical", 0) for r in reports),
        },
        "reports": reports,
    }


def report_files(groups, templates, sources, variables):
    """(path, content) of every document: each group (a host, or the fleet) in each of its formats."""
    files = []
    for group in groups:
        if "json" in group["formats"]:
            files.append((os.path.join(group["dir"], group["stem"] + ".json"),
                          to_nice_json(group["json"], indent=2) + "\n"))
        for report in templates:
            if report["format"] not in group["formats"]:
                continue
            document = compliance_report_render(sources[report["src"]], dict(
                variables, compliance_reports=group["reports"], compliance_report_title=group["title"]))
            files.append((os.path.join(group["dir"], group["stem"] + report["suffix"]), document))
    return files


def write_file(path, content, mode):
    """Write atomically when the content differs; set the mode. True when something changed."""
    data = content.encode("utf-8")
    try:
        with open(path, "rb") as handle:
            same = handle.read() == data
    except FileNotFoundError:
        same = False
    if same:
        if os.stat(path).st_mode & 0o7777 != mode:
            os.chmod(path, mode)
            return True
        return False
    write_atomic(path, data, mode=mode)
    return True


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        del validation
        file_mode = _mode(args["mode"], "mode")
        dir_mode = _mode(args["directory_mode"], "directory_mode")
        if args["fleet"] and not args["fleet_dir"]:
            raise AnsibleActionFail("fleet_dir is required when fleet is true")

        hostvars = task_vars.get("hostvars", {})
        groups, reports = [], []
        for host in args["hosts"]:
            host_vars = hostvars.get(host) if host in hostvars else None
            if host_vars is None or args["report_fact"] not in host_vars:
                continue  # a host that failed or skipped the audit has no report
            report = _plain(host_vars[args["report_fact"]])
            output = _plain(host_vars[args["output_fact"]])
            reports.append(report)
            groups.append({"dir": output["dir"], "formats": output["formats"], "stem": report["host"],
                           "reports": [report], "json": report, "title": "Compliance report: %s" % report["host"]})
        if args["fleet"]:
            groups.append({"dir": args["fleet_dir"], "formats": args["fleet_formats"], "stem": "fleet",
                           "reports": reports, "json": fleet_document(reports, args["generated_at"]),
                           "title": "Compliance report: fleet of %d host(s)" % len(reports)})

        sources = {}
        for report in args["templates"]:
            if report["src"] not in sources:
                path = self._find_needle("templates", report["src"])
                with open(path, "rb") as handle:
                    sources[report["src"]] = to_text(handle.read(), errors="surrogate_or_strict")
        variables = {"compliance_status_order": args["status_order"],
                     "compliance_severity_order": args["severity_order"],
                     "ansible_managed": args["ansible_managed"]}
        files = report_files(groups, args["templates"], sources, variables)

        written = []
        if not self._task.check_mode:
            for directory in sorted(set(os.path.dirname(path) for path, _content in files)):
                os.makedirs(directory, mode=dir_mode, exist_ok=True)
                if os.stat(directory).st_mode & 0o7777 != dir_mode:
                    os.chmod(directory, dir_mode)
            for path, content in files:
                if write_file(path, content, file_mode):
                    written.append(path)
        result.update(changed=bool(written), files=[path for path, _content in files], written=written,
                      hosts=[report["host"] for report in reports])
        return result
