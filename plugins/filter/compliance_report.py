# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render a compliance report template over plain data with a sandboxed Jinja environment.

The compliance role writes every host's report and the fleet's as JUnit, HTML and Markdown: megabytes
of text on a fleet. Ansible's own templating checks every value it touches for embedded templates and
trust, which made these data-only documents take 1.3 s for one fleet HTML report (6 hosts) and 5.4 s
of a 6-host no-op run; the same template through a plain sandboxed Jinja environment takes 0.05 s.
The templates stay Jinja files in the role (roles/compliance/templates); the report data is passed as
variables and never evaluated as a template.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: compliance_report_render
short_description: Render a compliance report template (JUnit, HTML, Markdown) over report data
version_added: 1.1.0
description:
  - "Renders the Jinja source given as input with a sandboxed, immutable Jinja environment configured like
    Ansible's C(template) (C(trim_blocks), trailing newline kept, C(None) rendered empty, no autoescape: the
    templates escape with C(| e)). Undefined variables fail instead of rendering empty."
  - "Filters available besides Jinja's built-ins: C(comment) and C(flatten), Ansible's own implementations."
  - "Meant for large data-only documents such as the role's compliance reports, which are 20 times faster to
    render this way than with C(lookup('ansible.builtin.template')). The data is never templated: a string
    like C({{ x }}) inside the evidence of a control is written as it is."
options:
  _input:
    description: The template source (for example from C(lookup('ansible.builtin.file', ...))).
    type: str
    required: true
  variables:
    description: The variables the template sees.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Write a host's compliance report as HTML
  ansible.builtin.copy:
    dest: /var/tmp/report.html
    mode: "0640"
    content: >-
      {{ lookup('ansible.builtin.file', role_path ~ '/templates/report.html.j2')
         | prodready.platform.compliance_report_render({'compliance_reports': [compliance_report],
                                                        'compliance_report_title': 'Compliance report',
                                                        'compliance_status_order': ['fail', 'error', 'waived', 'pass', 'not_applicable'],
                                                        'compliance_severity_order': ['critical', 'high', 'medium', 'low', 'info'],
                                                        'ansible_managed': 'Ansible managed'}) }}
"""

RETURN = r"""
_value:
  description: The rendered document.
  type: str
"""

import functools
import json

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.filter.core import comment, flatten

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment


def _empty_for_none(value):
    return "" if value is None else value


@functools.lru_cache(maxsize=None)
def _environment():
    # finalize: an expression that is None renders empty, as in Ansible's templating.
    environment = ImmutableSandboxedEnvironment(
        trim_blocks=True, keep_trailing_newline=True, autoescape=False, undefined=jinja2.StrictUndefined,
        finalize=_empty_for_none)
    environment.filters["comment"] = comment
    environment.filters["flatten"] = flatten
    return environment


@functools.lru_cache(maxsize=32)
def _compile(source):
    # One compile per template and worker process: the role renders each template once per host
    # and once for the fleet in the same task.
    return _environment().from_string(source)


def _plain(value):
    # Ansible hands tagged/lazy containers to filters; the sandbox wants plain dicts, lists and strings.
    return json.loads(json.dumps(value, default=to_native))


def compliance_report_render(source, variables):
    if not isinstance(source, str):
        raise AnsibleFilterError("compliance_report_render: the input must be the template source (a string)")
    if not isinstance(variables, dict):
        raise AnsibleFilterError("compliance_report_render: variables must be a dictionary")
    try:
        return _compile(str(source)).render(**_plain(variables))
    except jinja2.TemplateError as exc:
        raise AnsibleFilterError("compliance_report_render: %s" % to_native(exc))


class FilterModule(object):
    def filters(self):
        return {"compliance_report_render": compliance_report_render}
