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
  - M(prodready.platform.compliance_audit) writes the same file itself with O(prodready.platform.compliance_audit#module:export_metrics)
    (one module run instead of two); this module exports the scores of an audit registered earlier.
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.prodready.platform.plugins.module_utils._compliance.scores import (
    DEFAULT_FILE_NAME, export_scores)
from ansible_collections.prodready.platform.plugins.module_utils.textfile import MetricError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            audit=dict(type="dict", required=True),
            textfile_dir=dict(type="path", default="/var/lib/prometheus/node-exporter"),
            file_name=dict(type="str", default=DEFAULT_FILE_NAME),
        ),
        supports_check_mode=True,
    )
    audit = module.params["audit"]
    if "summary" not in audit or "frameworks" not in audit:
        module.fail_json(msg="audit must be the registered result of prodready.platform.compliance_audit "
                             "(it has no 'summary'/'frameworks')")
    try:
        changed, path, before, text = export_scores(audit, module.params["textfile_dir"], module.params["file_name"],
                                                    check_mode=module.check_mode)
    except MetricError as exc:
        module.fail_json(msg="cannot build compliance metrics: %s" % exc)
    result = dict(changed=changed, path=path)
    if module._diff:
        result["diff"] = dict(before=before or "", after=text, before_header=path, after_header=path)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
