# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A role's defaults and vars as Ansible reads them, for unit tests that render its templates."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml

from ansible.template import trust_as_template

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def trusted(value):
    """defaults/vars hold expressions: Ansible trusts the role's own files as templates."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, list):
        return [trusted(item) for item in value]
    if isinstance(value, dict):
        return {key: trusted(item) for key, item in value.items()}
    return value


def role_variables(role):
    """The role's defaults/main.yml, then its vars/main.yml over them, trusted as templates."""
    variables = {}
    for name in ("defaults", "vars"):
        with open(os.path.join(ROOT, "roles", role, name, "main.yml"), encoding="utf-8") as handle:
            variables.update(trusted(yaml.safe_load(handle)))
    return variables
