# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that check and quote environment variables for a systemd unit's Environment= lines.

A value with a newline would end the Environment= line and let the rest of the value add
directives to the unit (unit-file injection); a key that is not a variable name is never what
the operator meant. ``systemd_environment_problems`` names every bad key (never a value: it may
be a secret) so a role can refuse before anything changes; ``systemd_environment_line`` quotes one
variable for Environment= and refuses the same input.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: systemd_environment_line
short_description: Quote one environment variable for a systemd unit's Environment= directive
version_added: 0.1.0
description:
  - "C(systemd_environment_line) takes a variable name and its value and returns C(\"NAME=value\"), quoted as
    systemd unquotes Environment= lines: inside double quotes C(\\) and C(\") are escaped with a backslash and
    C(%) is doubled (systemd expands specifiers in Environment=); C($) is left alone (Environment= does not expand
    variables). A value is its text (C(str()) of a number or boolean)."
  - "C(systemd_environment_problems) takes a dict of name to value and returns a sorted list of problems, each
    naming the key but never the value: a key that is not C([A-Za-z_][A-Za-z0-9_]*), or a value holding a newline,
    carriage return or NUL (which would end the line and add directives to the unit). Empty when all is well."
options:
  _input:
    description: The variable name (C(systemd_environment_line)) or the dict of variables (C(systemd_environment_problems)).
    type: raw
    required: true
  value:
    description: The value (C(systemd_environment_line) only).
    type: raw
"""

EXAMPLES = r"""
- name: Refuse environment variables that could inject directives into the unit
  ansible.builtin.assert:
    that: (service_environment | prodready.platform.systemd_environment_problems) | length == 0
    fail_msg: "{{ service_environment | prodready.platform.systemd_environment_problems | join('; ') }}"

# In a unit template:
# {% for key, value in service_environment | dictsort %}
# Environment={{ key | prodready.platform.systemd_environment_line(value) }}
# {% endfor %}
"""

RETURN = r"""
_value:
  description: "C(systemd_environment_line): the quoted C(\"NAME=value\") text. C(systemd_environment_problems): a list of strings."
  type: raw
"""

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

ENV_KEY_RE = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")
_BREAKING = ("\n", "\r", "\x00")


def _key_label(key):
    # repr() keeps a key with a newline on one line of the message.
    return repr(to_text(key, errors="surrogate_or_replace")) if not isinstance(key, str) else repr(key)


def _value_text(value):
    return value if isinstance(value, str) else to_text(value, errors="surrogate_or_replace")


def key_problem(key):
    """Why ``key`` cannot be an environment variable name, or None."""
    if not isinstance(key, str) or not ENV_KEY_RE.match(key):
        return "key %s is not a variable name ([A-Za-z_][A-Za-z0-9_]*)" % _key_label(key)
    return None


def value_problem(key, value):
    """Why the value of ``key`` cannot go on an Environment= line, or None. Never includes the value."""
    text = _value_text(value)
    if any(char in text for char in _BREAKING):
        return "the value of %s contains a newline, carriage return or NUL" % _key_label(key)
    return None


def systemd_environment_problems(environment):
    """Sorted problems of a name -> value dict, naming keys only (an empty list when usable)."""
    if environment is None:
        return []
    if not isinstance(environment, dict):
        raise AnsibleFilterError("systemd_environment_problems: expects a dictionary, got %s" % type(environment).__name__)
    problems = []
    for key, value in environment.items():
        problem = key_problem(key) or value_problem(key, value)
        if problem:
            problems.append(problem)
    return sorted(problems)


def systemd_environment_line(key, value):
    """``"KEY=value"`` quoted for systemd's Environment= (see DOCUMENTATION); refuses what the problems filter reports."""
    problem = key_problem(key) or value_problem(key, value)
    if problem:
        raise AnsibleFilterError("systemd_environment_line: %s" % problem)
    text = _value_text(value)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return '"%s=%s"' % (key, escaped)


class FilterModule(object):
    """systemd Environment= filters."""

    def filters(self):
        return {
            "systemd_environment_line": systemd_environment_line,
            "systemd_environment_problems": systemd_environment_problems,
        }
