#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: compliance_reports
short_description: Write the compliance reports of every host and of the fleet on the controller
version_added: "1.1.0"
description:
  - "An action that runs on the controller only: it reads each host's report (the fact
    O(report_fact), built by the compliance role from M(prodready.platform.compliance_audit)'s result)
    and where that host's reports go (the fact O(output_fact): C(dir) and C(formats)), and writes
    C(<host>.json), C(.junit.xml), C(.html) and C(.md) for each host, and the same documents for the
    fleet (C(fleet.*)) with the fleet's summary: the mean score and the sums of failed, errored and
    failed critical controls."
  - "The JUnit, HTML and Markdown documents are rendered from the role's templates with the sandboxed
    Jinja environment of P(prodready.platform.compliance_report_render#filter): the report data is
    never evaluated as a template. The JSON documents are C(to_nice_json) with an indent of 2."
  - "Files are written atomically and only when their content differs; the mode is set on each file
    and on each directory (created when missing). Ownership is the controller user's."
  - "Hosts without the report fact (failed or skipped before the audit) are left out, as from the
    fleet's figures."
  - Run it once per play (C(run_once)); it reads the other hosts' facts through C(hostvars).
author: prodready.platform maintainers (@prodready)
options:
  hosts:
    description: The hosts whose reports to write, usually C(ansible_play_hosts).
    type: list
    elements: str
    required: true
  report_fact:
    description: The name of the fact holding a host's report document.
    type: str
    default: compliance_report
  output_fact:
    description: The name of the fact holding a host's output, a dictionary with C(dir) and C(formats).
    type: str
    default: compliance_report_output
  templates:
    description:
      - The report templates, searched like the C(template) action's (the role's C(templates/) first).
      - C(format) is the name listed in the formats (C(junit), C(html), C(markdown)), C(suffix) the end of
        the file name (C(.junit.xml)).
    type: list
    elements: dict
    required: true
    suboptions:
      format:
        description: The format's name.
        type: str
        required: true
      src:
        description: The template file.
        type: str
        required: true
      suffix:
        description: Appended to the host name (or C(fleet)) to form the file name.
        type: str
        required: true
  fleet:
    description: Also write the fleet's reports.
    type: bool
    default: true
  fleet_dir:
    description: The directory of the fleet's reports. Required when O(fleet=true).
    type: path
  fleet_formats:
    description: The formats of the fleet's reports.
    type: list
    elements: str
    default: [json, junit, html, markdown]
  generated_at:
    description: The time stamp of the fleet report (each host report carries its own).
    type: str
    required: true
  status_order:
    description: The order the templates list statuses in.
    type: list
    elements: str
    default: [fail, error, waived, pass, not_applicable]
  severity_order:
    description: The order the templates list severities in.
    type: list
    elements: str
    default: [critical, high, medium, low, info]
  ansible_managed:
    description: The header the templates put on each document.
    type: str
    default: Ansible managed
  mode:
    description: The mode of each report file.
    type: raw
    default: '0640'
  directory_mode:
    description: The mode of each report directory.
    type: raw
    default: '0750'
attributes:
  check_mode:
    description: In check mode nothing is written; RV(files) lists what would be.
    support: full
  diff_mode:
    description: No diff; the reports carry a time stamp and change on every run.
    support: none
notes:
  - The compliance role runs it with C(check_mode=false), because reports are evidence on the controller
    and are written in check mode too, without touching the managed hosts.
"""

EXAMPLES = r"""
- name: Write the reports of every host and of the fleet
  prodready.platform.compliance_reports:
    hosts: "{{ ansible_play_hosts }}"
    templates:
      - {format: junit, src: report.junit.xml.j2, suffix: .junit.xml}
      - {format: html, src: report.html.j2, suffix: .html}
      - {format: markdown, src: report.md.j2, suffix: .md}
    fleet_dir: "{{ playbook_dir }}/reports/compliance"
    generated_at: "{{ now(utc=true, fmt='%Y-%m-%dT%H:%M:%SZ') }}"
  run_once: true
  check_mode: false
  changed_when: false
"""

RETURN = r"""
files:
  description: Every report file, written or already current (in check mode, the files that would be written).
  returned: always
  type: list
  elements: str
written:
  description: The files whose content or mode changed in this run.
  returned: always
  type: list
  elements: str
hosts:
  description: The hosts whose reports were written.
  returned: always
  type: list
  elements: str
"""
