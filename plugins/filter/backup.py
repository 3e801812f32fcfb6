# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
name: backup_host_secret
short_description: A backup host's own secret, derived on the controller from one fleet secret
version_added: 1.1.0
author: prodready.platform maintainers (@prodready)
description:
  - HMAC-SHA256 of the host name under a purpose label, keyed by the fleet's backup secret (a vault
    value of at least 32 characters). Every host gets its own restic password and S3 secret key, so
    root on one host learns nothing that opens another host's repository.
  - The same collection also provides C(backup_iam_policy) (the IAM policy document of one host's
    backup user; AWS IAM and SeaweedFS apply it as written; its optional second argument names
    what under the prefix the host may delete, a key or an IAM pattern, default V(locks/*) (restic's
    locks); the PostgreSQL role's pgBackRest identity passes V(backup/main/latest), the one object a
    pgBackRest backup deletes, and an empty value grants no delete) and C(backup_fleet_problems)
    (hosts that share a password, an access key or a repository prefix).
options:
  _input:
    description: The fleet's backup secret.
    type: str
    required: true
  host:
    description: The inventory name of the host.
    type: str
    required: true
  purpose:
    description: What the secret is for.
    type: str
    choices: [restic-password, s3-secret-key, s3-access-key, pgbackrest-cipher-pass, pgbackrest-s3-secret-key,
              pgbackrest-s3-access-key]
    required: true
"""

EXAMPLES = r"""
- name: Per-host backup secrets (group_vars/backup.yml)
  ansible.builtin.set_fact:
    backup_repository_password: "{{ vault_backup_fleet_secret | prodready.platform.backup_host_secret(inventory_hostname, 'restic-password') }}"
    backup_s3_access_key: "{{ vault_backup_fleet_secret | prodready.platform.backup_host_secret(inventory_hostname, 's3-access-key') }}"
    backup_s3_secret_key: "{{ vault_backup_fleet_secret | prodready.platform.backup_host_secret(inventory_hostname, 's3-secret-key') }}"

- name: The IAM policy to attach to this host's backup user
  ansible.builtin.copy:
    dest: "/tmp/{{ inventory_hostname }}-backup-policy.json"
    content: "{{ backup_s3_bucket | prodready.platform.backup_iam_policy(backup_s3_prefix) | to_nice_json }}"
    mode: "0644"
  delegate_to: localhost
"""

RETURN = r"""
_value:
  description: The derived secret (URL-safe base64, 43 characters) or access key id (20 characters).
  type: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.prodready.platform.plugins.module_utils._backup import identity


def _wrap(name, compute, *args):
    try:
        return compute(*args)
    except identity.IdentityError as exc:
        raise AnsibleFilterError("%s: %s" % (name, exc))


def backup_host_secret(fleet_secret, host, purpose):
    return _wrap("backup_host_secret", identity.derive_secret, fleet_secret, host, purpose)


def backup_iam_policy(bucket, prefix, removable="locks/*"):
    return _wrap("backup_iam_policy", identity.iam_policy, bucket, prefix, removable)


def backup_fleet_problems(entries, host=None):
    if not isinstance(entries, list) or not all(isinstance(e, dict) and e.get("host") for e in entries):
        raise AnsibleFilterError("backup_fleet_problems: expects a list of dicts with host, bucket, prefix, access_key, password")
    return identity.fleet_problems(entries, host)


class FilterModule(object):
    def filters(self):
        return {
            "backup_host_secret": backup_host_secret,
            "backup_iam_policy": backup_iam_policy,
            "backup_fleet_problems": backup_fleet_problems,
        }
