# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters the redis role uses to refuse bad input on the controller, before any change."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: redis_acl_problems
short_description: List what is wrong with declared Redis ACL users (names, passwords, rules)
version_added: 1.2.0
description:
  - Checks each user C({name, password, rules, denied_commands}) the way Redis 7 parses an ACL file
    line, plus the role's own rules, and returns one sentence per problem; an empty list means usable.
  - A rule must be one token (Redis splits ACL file lines at spaces, so C(~a:* +@all) in one item would
    smuggle a second rule), a key or channel pattern, a C(+)/C(-) command or C(|)subcommand, a known
    C(@category), C(allkeys)/C(allcommands)/... or a C((selector)). State, passwords and resets
    (C(on), C(off), C(nopass), C(>), C(<), C(#), C(!), C(reset), C(resetpass)) are the role's to write.
  - C(redis_acl_rule_problem) checks one rule the same way and returns why it does not parse (an empty
    string when it does).
  - Command names are checked for their form only; Redis itself refuses an unknown one when the role
    loads the candidate ACL file on the host.
options:
  _input:
    description: The users (the role's C(redis_users)).
    type: list
    elements: dict
    required: true
  min_password_length:
    description: The shortest password accepted.
    type: int
    default: 16
"""

EXAMPLES = r"""
- name: Refuse users that Redis would not load
  ansible.builtin.assert:
    that: redis_users | prodready.platform.redis_acl_problems | length == 0
    fail_msg: "{{ redis_users | prodready.platform.redis_acl_problems }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: One sentence per problem (user name, rule and why); empty when every user is usable.
  type: list
  elements: str
"""

from ansible_collections.prodready.platform.plugins.module_utils._redis.acl import rule_problem, users_problems


def redis_acl_problems(users, min_password_length=16):
    return users_problems(users, int(min_password_length))


def redis_acl_rule_problem(rule):
    return rule_problem(rule) or ""


class FilterModule(object):
    def filters(self):
        return {"redis_acl_problems": redis_acl_problems, "redis_acl_rule_problem": redis_acl_rule_problem}
