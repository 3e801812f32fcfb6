# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The last line of a file that matches a pattern, in one call.

The hardening role decides whether a setting needs changing from the lines its probe read
(login.defs, auditd.conf, PAM files, sshd_config). As `lines | select('search', pattern) | list |
last | default('')` every line went through Ansible's test plugin wrapper: thousands of wrapped
calls per host and run for login.defs alone, a third of the role's plan. This filter is the same
answer with one call per pattern.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: last_matching_line
short_description: The last line that matches a regular expression, or an empty string
version_added: 1.1.0
description:
  - "Returns the last element of the input for which Python's C(re.search(pattern, line)) finds a match,
    as C(lines | select('search', pattern) | list | last | default('')) does, or C('') when none does."
  - "A C(None) input (a file the probe could not read) counts as no lines."
options:
  _input:
    description: The lines of a file.
    type: list
    elements: str
    required: true
  pattern:
    description: A Python regular expression, searched anywhere in each line.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Decide whether login.defs needs PASS_MAX_DAYS set
  ansible.builtin.set_fact:
    needs_pass_max_days: >-
      {{ probe['lines']['/etc/login.defs'] | prodready.platform.last_matching_line('^#?\s*PASS_MAX_DAYS\s')
         != 'PASS_MAX_DAYS\t365' }}
"""

RETURN = r"""
_value:
  description: The last matching line, or an empty string.
  type: str
"""

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six import string_types


def last_matching_line(lines, pattern):
    if lines is None:
        return ""
    if isinstance(lines, string_types) or not hasattr(lines, "__iter__"):
        raise AnsibleFilterError("last_matching_line expects a list of lines, got %s" % type(lines).__name__)
    try:
        regex = re.compile(pattern)
    except (re.error, TypeError) as exc:
        raise AnsibleFilterError("last_matching_line: bad pattern %r: %s" % (pattern, exc))
    found = ""
    for line in lines:
        if regex.search(line):
            found = line
    return found


class FilterModule(object):
    def filters(self):
        return {"last_matching_line": last_matching_line}
