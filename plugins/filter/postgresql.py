# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
name: postgresql_input_problems
short_description: What is wrong with the PostgreSQL roles, databases and pg_hba entries asked for
version_added: 1.2.0
author: prodready.platform maintainers (@prodready)
description:
  - One line per problem, naming the entry; an empty list when the input is usable. The postgresql
    role asserts an empty list before it changes anything.
  - Checks that role and database names are PostgreSQL identifiers and unique, that every role has a
    password (authentication is scram-sha-256 only), that a database's owner is a declared role, and
    that every pg_hba entry names a declared database and role (or a pg_hba keyword), uses
    C(scram-sha-256) or C(reject), and lists CIDR networks (host bits clear).
  - The same file provides C(postgresql_client_networks) (the networks of the pg_hba entries that may
    log in, C(reject) entries left out); the hardening role opens the server's port to them only
    (its data-tier openings on hosts of the C(database) group).
options:
  _input:
    description: The roles (postgresql_users).
    type: list
    elements: dict
    required: true
  databases:
    description: The databases (postgresql_databases).
    type: list
    elements: dict
    required: true
  hba:
    description: The pg_hba entries (postgresql_hba).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse bad input before any change
  ansible.builtin.assert:
    that: postgresql_problems | length == 0
    fail_msg: "{{ postgresql_problems | join('; ') }}"
  vars:
    postgresql_problems: "{{ postgresql_users | prodready.platform.postgresql_input_problems(postgresql_databases, postgresql_hba) }}"

- name: The networks the server's port is open to
  ansible.builtin.debug:
    msg: "{{ postgresql_hba | prodready.platform.postgresql_client_networks }}"
"""

RETURN = r"""
_value:
  description: The problems, one sentence each (never a password).
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.prodready.platform.plugins.module_utils._postgresql import settings


def postgresql_input_problems(users, databases, hba):
    return settings.problems(users, databases, hba)


def postgresql_client_networks(hba):
    try:
        return settings.client_networks(hba)
    except (AttributeError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("postgresql_client_networks: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"postgresql_input_problems": postgresql_input_problems, "postgresql_client_networks": postgresql_client_networks}
