#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: compliance_audit
short_description: Evaluate a framework-mapped compliance control catalog on a host, read-only
version_added: "1.0.0"
description:
  - Evaluates every control of a catalog (see C(roles/compliance/files/catalog/)) in one call and
    returns, per control, a status (C(pass), C(fail), C(error), C(not_applicable), C(waived)) with
    evidence, plus a weighted score per framework (CIS Debian 12, GDPR, SOC 2, PCI DSS 4.0,
    NIST SP 800-53).
  - Read-only by nature; it never changes the host, so it reports C(changed=false) and behaves the
    same in check mode. The one exception is asked for explicitly, with O(export_metrics) the scores
    go to the textfile directory after the evaluation (the file and, when missing, the directory),
    like M(prodready.platform.compliance_metrics) would in a second module run; C(changed) then says
    whether that file changed (in check mode, whether it would; nothing is written).
  - Expensive probes run once per call (C(dpkg-query), C(sshd -T), one batched C(systemctl show),
    one batched C(systemd-analyze security), one parse of the metrics textfile directory).
  - The whole catalog, the waivers and the framework filter are validated before anything is
    evaluated; a bad entry fails the module with a message naming the entry.
author: prodready.platform maintainers (@prodready)
options:
  catalog:
    description:
      - List of controls (id, title, rationale, severity, component, applies_when, check,
        frameworks, remediation). The format is documented in C(docs/compliance.md).
      - Evaluated after the controls of O(catalog_files). The two together must not be empty.
    type: list
    elements: dict
    default: []
  catalog_files:
    description:
      - Catalog files on the controller, each a YAML mapping with a C(controls) list in the format of
        O(catalog) (the role's are C(roles/compliance/files/catalog/*.yml)). A relative path is searched
        in the role's C(files/) directory first.
      - Read by the module's action plugin on the controller with a safe YAML loader and passed to the host
        as O(catalog); nothing in them is templated. Much faster than templating a parsed catalog into
        O(catalog) for every host.
    type: list
    elements: path
    default: []
  cis_reference:
    description:
      - The CIS benchmark reference on the controller, a YAML mapping C(benchmark) (must be
        C(CIS Debian Linux 12 Benchmark v1.1.0)) and C(recommendations), a list of C({id, title, level,
        profiles, assessment}); the role's is C(roles/compliance/files/cis/debian12.yml). A relative path is
        searched in the role's C(files/) directory first.
      - Read by the action plugin on the controller, which passes its ids as O(cis_ids); a missing or
        malformed file fails the task.
    type: path
  cis_ids:
    description:
      - Recommendation ids of the CIS benchmark. When set, every C(frameworks.cis_debian12) id of the
        catalog must be one of them, else the module fails naming the control and the id. Unset, the ids
        are not checked. Normally filled in from O(cis_reference).
    type: list
    elements: str
  parameters:
    description:
      - Values for C(${name}) placeholders in the catalog (thresholds, unit names, metric names).
    type: dict
    default: {}
  waivers:
    description:
      - Accepted risks. Each has C(control), C(reason) and C(expires) (YYYY-MM-DD), optionally
        C(approved_by) and C(ticket). A failing control with an active waiver is C(waived); with
        an expired waiver it is C(fail). A waiver without expiry is an error.
    type: list
    elements: dict
    default: []
  frameworks:
    description:
      - Evaluate only controls mapped to these frameworks and score only these. Empty means all.
    type: list
    elements: str
    default: []
  skip_controls:
    description: Control ids not to evaluate (they are not reported).
    type: list
    elements: str
    default: []
  textfile_dir:
    description: Directory of node_exporter textfile metrics read by C(metric) checks.
    type: path
    default: /var/lib/prometheus/node-exporter
  live_sysctl:
    description:
      - Whether C(sysctl) checks also compare the live value in C(/proc/sys). C(auto) skips it
        inside containers, where C(/proc/sys) belongs to the host.
    type: str
    choices: [auto, always, never]
    default: auto
  command_timeout:
    description: Timeout in seconds for each command a check runs (C(command), C(sshd -T), ...).
    type: int
    default: 10
  export_metrics:
    description:
      - Write the scores (C(prodready_compliance_score_percent), C(prodready_compliance_failed_controls),
        C(prodready_compliance_controls)) to O(metrics_file_name) in O(textfile_dir), rewritten only when
        they change. A missing O(textfile_dir) is created (mode 0755) before the evaluation, so the
        checks that read it see the directory the metrics go to.
    type: bool
    default: false
  metrics_file_name:
    description: File name of the scores inside O(textfile_dir); must end in C(.prom).
    type: str
    default: prodready_compliance.prom
notes:
  - Supports check mode (the evaluation is the same; with O(export_metrics) nothing is written).
  - The module's invocation is not written to the host's journal (its arguments carry the whole
    catalog); set C(ansible_no_target_syslog=false) for the task or play to log it anyway.
"""

EXAMPLES = r"""
- name: Audit the host against the catalog shipped with the compliance role
  prodready.platform.compliance_audit:
    catalog_files: "{{ query('ansible.builtin.fileglob', role_path ~ '/files/catalog/*.yml') | sort }}"
    parameters:
      ssh_max_auth_tries: 4
    waivers:
      - control: SYS-009
        reason: host routes IPv6 and needs router advertisements
        expires: "2026-12-31"
    frameworks: [gdpr, soc2]
  register: audit

- name: Show the GDPR score
  ansible.builtin.debug:
    msg: "{{ audit.frameworks.gdpr.score_percent }}"
"""

RETURN = r"""
controls:
  description: One entry per evaluated control.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: Control id.
      type: str
    title:
      description: Control title.
      type: str
    severity:
      description: One of critical, high, medium, low, info.
      type: str
    status:
      description: One of pass, fail, error, not_applicable, waived.
      type: str
    evidence:
      description: What was observed, such as file and line, the effective value or command output.
      type: str
    frameworks:
      description: Framework name to requirement ids.
      type: dict
    waiver:
      description: The waiver that applies, with reason, expires and state (active or expired).
      type: dict
      returned: when a waiver exists for the control
summary:
  description: Counts per status, failed controls per severity, overall weighted score.
  returned: success
  type: dict
  sample: {total: 149, pass: 120, fail: 3, error: 0, not_applicable: 26, waived: 0, score_percent: 97.8,
           failed_by_severity: {critical: 0, high: 1, medium: 2, low: 0, info: 0}}
frameworks:
  description: Per framework, its title, score_percent (null when nothing applies) and counts per status.
  returned: success
  type: dict
schema_version:
  description: Version of the result and report format (docs/schemas/compliance-report.schema.json).
  returned: success
  type: str
container:
  description: Container type detected on the host (empty on a VM or bare metal).
  returned: success
  type: str
duration_seconds:
  description: Wall time of the evaluation.
  returned: success
  type: float
probe_timings:
  description: Seconds spent in each shared probe (dpkg-query, sshd -T, systemctl show, ...).
  returned: success
  type: dict
metrics_path:
  description: The scores file.
  returned: when O(export_metrics) is true
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.prodready.platform.plugins.module_utils._compliance.audit import run_audit
from ansible_collections.prodready.platform.plugins.module_utils._compliance.common import CatalogError
from ansible_collections.prodready.platform.plugins.module_utils._compliance.probe import Probe
from ansible_collections.prodready.platform.plugins.module_utils._compliance.scores import (
    DEFAULT_FILE_NAME, export_scores)
from ansible_collections.prodready.platform.plugins.module_utils.textfile import FILE_NAME_RE, MetricError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            catalog=dict(type="list", elements="dict", default=[]),
            # Expanded into catalog by the action plugin on the controller; never reaches a host.
            catalog_files=dict(type="list", elements="path", default=[]),
            # Expanded into cis_ids by the action plugin on the controller; never reaches a host.
            cis_reference=dict(type="path"),
            cis_ids=dict(type="list", elements="str"),
            parameters=dict(type="dict", default={}),
            waivers=dict(type="list", elements="dict", default=[]),
            frameworks=dict(type="list", elements="str", default=[]),
            skip_controls=dict(type="list", elements="str", default=[]),
            textfile_dir=dict(type="path", default="/var/lib/prometheus/node-exporter"),
            live_sysctl=dict(type="str", choices=["auto", "always", "never"], default="auto"),
            command_timeout=dict(type="int", default=10),
            export_metrics=dict(type="bool", default=False),
            metrics_file_name=dict(type="str", default=DEFAULT_FILE_NAME),
        ),
        supports_check_mode=True,
    )
    if module.params["catalog_files"]:
        module.fail_json(msg="catalog_files are read on the controller by the compliance_audit action plugin; "
                             "call the module as prodready.platform.compliance_audit")
    if module.params["cis_reference"]:
        module.fail_json(msg="cis_reference is read on the controller by the compliance_audit action plugin; "
                             "call the module as prodready.platform.compliance_audit")
    if not module.params["catalog"]:
        module.fail_json(msg="the compliance catalog is empty: give catalog_files or catalog")
    if module.params["command_timeout"] < 1:
        module.fail_json(msg="command_timeout must be at least 1 second, got %d" % module.params["command_timeout"])
    export = module.params["export_metrics"]
    textfile_dir = module.params["textfile_dir"]
    if export and not FILE_NAME_RE.match(module.params["metrics_file_name"]):
        module.fail_json(msg="metrics_file_name %r must match %s" % (module.params["metrics_file_name"], FILE_NAME_RE.pattern))
    # Created before the evaluation: the checks on the textfile directory then see it as it stays.
    created_dir = export and not os.path.isdir(textfile_dir)
    if created_dir and not module.check_mode:
        os.makedirs(textfile_dir, 0o755)
    probe = Probe(textfile_dir=module.params["textfile_dir"], live_sysctl=module.params["live_sysctl"],
                  command_timeout=module.params["command_timeout"])
    try:
        result = run_audit(module.params["catalog"], parameters=module.params["parameters"],
                           waivers=module.params["waivers"], frameworks=module.params["frameworks"],
                           skip=module.params["skip_controls"], probe=probe, cis_ids=module.params["cis_ids"])
    except CatalogError as exc:
        module.fail_json(msg="compliance catalog error: %s" % exc)
    changed = False
    if export:
        try:
            metrics_changed, path, before, text = export_scores(
                result, textfile_dir, module.params["metrics_file_name"], check_mode=module.check_mode)
        except MetricError as exc:
            module.fail_json(msg="cannot build compliance metrics: %s" % exc)
        changed = created_dir or metrics_changed
        result["metrics_path"] = path
        if module._diff:
            result["diff"] = dict(before=before or "", after=text, before_header=path, after_header=path)
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
