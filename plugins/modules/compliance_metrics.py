#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: compliance_metrics
short_description: Export a compliance audit's scores through the metrics textfile contract
version_added: "1.0.0"
description:
  - "Writes C(prodready_compliance_score_percent{framework}),
    C(prodready_compliance_failed_controls{severity}) and
    C(prodready_compliance_controls{status}) to the node_exporter textfile directory with the
    collection's atomic writer (C(plugins/module_utils/textfile.py))."
  - Kept apart from M(prodready.platform.compliance_audit) so the audit itself stays read-only.
  - Idempotent, the file is only rewritten when its content changes (no timestamp inside), so a
    repeated audit with the same result reports C(changed=false). Check and diff modes supported.
author: prodready.platform maintainers (@prodready)
options:
  audit:
    description: The registered result of M(prodready.platform.compliance_audit).
    type: dict
    required: true
  textfile_dir:
    description: The textfile collector directory.
    type: path
    default: /var/lib/prometheus/node-exporter
  file_name:
    description: File name inside O(textfile_dir); must end in C(.prom).
    type: str
    default: prodready_compliance.prom
"""

EXAMPLES = r"""
- name: Export the audit's scores for the ComplianceScoreDropped alert
  prodready.platform.compliance_metrics:
    audit: "{{ audit }}"
"""

RETURN = r"""
path:
  description: The metrics file.
  returned: success
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.prodready.platform.plugins.module_utils.textfile import (
    FILE_NAME_RE, Metric, MetricError, render, write_textfile)

SEVERITIES = ("critical", "high", "medium", "low", "info")
STATUSES = ("pass", "fail", "error", "not_applicable", "waived")


def build_metrics(audit):
    score = Metric("prodready_compliance_score_percent",
                   "Weighted compliance score per framework (all = every evaluated control), 0-100.")
    overall = audit.get("summary", {}).get("score_percent")
    if overall is not None:
        score.add(overall, {"framework": "all"})
    for name in sorted(audit.get("frameworks", {})):
        value = audit["frameworks"][name].get("score_percent")
        if value is not None:
            score.add(value, {"framework": name})
    failed = Metric("prodready_compliance_failed_controls",
                    "Controls that failed or could not be evaluated (error), per severity; waived ones excluded.")
    by_severity = audit.get("summary", {}).get("failed_by_severity", {})
    for severity in SEVERITIES:
        failed.add(int(by_severity.get(severity, 0)), {"severity": severity})
    counts = Metric("prodready_compliance_controls", "Controls of the last audit per status.")
    for status in STATUSES:
        counts.add(int(audit.get("summary", {}).get(status, 0)), {"status": status})
    return [score, failed, counts]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            audit=dict(type="dict", required=True),
            textfile_dir=dict(type="path", default="/var/lib/prometheus/node-exporter"),
            file_name=dict(type="str", default="prodready_compliance.prom"),
        ),
        supports_check_mode=True,
    )
    audit = module.params["audit"]
    if "summary" not in audit or "frameworks" not in audit:
        module.fail_json(msg="audit must be the registered result of prodready.platform.compliance_audit "
                             "(it has no 'summary'/'frameworks')")
    if not FILE_NAME_RE.match(module.params["file_name"]):
        module.fail_json(msg="file_name %r must match %s" % (module.params["file_name"], FILE_NAME_RE.pattern))
    try:
        metrics = build_metrics(audit)
        text = render(metrics)
    except (MetricError, TypeError, ValueError) as exc:
        module.fail_json(msg="cannot build compliance metrics: %s" % exc)
    path = os.path.join(module.params["textfile_dir"], module.params["file_name"])
    before = None
    if os.path.exists(path):
        with open(path) as handle:
            before = handle.read()
    changed = before != text
    result = dict(changed=changed, path=path)
    if module._diff:
        result["diff"] = dict(before=before or "", after=text, before_header=path, after_header=path)
    if changed and not module.check_mode:
        write_textfile(module.params["file_name"], metrics, directory=module.params["textfile_dir"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
