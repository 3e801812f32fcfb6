#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_retention
short_description: Apply a restic retention policy to one host's repository from the trusted side
version_added: 1.1.0
description:
  - Runs C(restic forget --prune) for one host's snapshots with the keep-* policy, using
    credentials that may delete. Meant to run on the controller or a delegate the inventory names
    as trusted (C(delegate_to)), never on the backup host, whose own S3 identity can only add
    objects under its prefix.
  - A stale lock (a backup killed mid-way) is removed with C(restic unlock), which never touches a
    live process's lock, and the call is retried once; a live backup's lock fails the task with a
    clear message (run retention again later).
  - Secrets reach restic through its environment only, never on a command line.
author:
  - prodready.platform contributors (@prodready)
extends_documentation_fragment:
  - prodready.platform.backup.restic
options:
  host:
    description: Only snapshots of this host name (restic C(--host)) are considered.
    type: str
    required: true
  retention:
    description:
      - The policy; keys C(keep_last), C(keep_hourly), C(keep_daily), C(keep_weekly),
        C(keep_monthly), C(keep_yearly) (counts) and C(keep_within) (a restic duration such as
        C(30d)). A policy that keeps nothing is refused.
    type: dict
    required: true
attributes:
  check_mode:
    description: Runs C(restic forget --dry-run) and reports what would be removed; nothing is pruned.
    support: full
  diff_mode:
    description: Shows the snapshot ids before and after.
    support: full
notes:
  - On a bucket with object lock the removed objects stay as locked non-current versions until
    their retention ends; a lifecycle rule expiring non-current versions frees the space.
"""

EXAMPLES = r"""
- name: Apply retention to web1's repository from the controller
  prodready.platform.backup_retention:
    repository: "s3:https://s3.example.com/backups/web1"
    password: "{{ hostvars['web1'].backup_repository_password }}"
    access_key: "{{ vault_backup_trusted_access_key }}"
    secret_key: "{{ vault_backup_trusted_secret_key }}"
    host: web1
    retention: {keep_daily: 7, keep_weekly: 4, keep_monthly: 6}
  delegate_to: localhost
"""

RETURN = r"""
removed:
  description: Ids of the snapshots removed (in check mode, that would be removed).
  returned: success
  type: list
  elements: str
kept:
  description: Ids of the snapshots kept.
  returned: success
  type: list
  elements: str
unlocked:
  description: Whether a stale lock was removed before the policy could be applied.
  returned: success
  type: bool
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.prodready.platform.plugins.module_utils._backup.restic import (
    TRUSTED_RESTIC_ARGS, ResticFailed, TrustedRestic, last_lines)
from ansible_collections.prodready.platform.plugins.module_utils._backup.retention import (
    RetentionError, retention_args)


def forget_groups(stdout):
    """The JSON groups of ``restic forget --json`` (its first line starting with '['; prune's own
    text output may follow)."""
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("["):
            try:
                return json.loads(line)
            except ValueError:
                break
    raise ResticFailed("restic forget printed no JSON result")


def summarise(groups):
    kept, removed = [], []
    for group in groups or []:
        kept += [s.get("id") for s in group.get("keep") or []]
        removed += [s.get("id") for s in group.get("remove") or []]
    return sorted(i for i in kept if i), sorted(i for i in removed if i)


def apply_retention(params, check_mode, runner=None):
    try:
        keep = retention_args(params["retention"])
    except RetentionError as exc:
        raise ResticFailed(str(exc))
    args = ["forget", "--json", "--host", params["host"]] + keep + (["--dry-run"] if check_mode else ["--prune"])
    unlocked = False
    with TrustedRestic(params, runner) as restic:
        for attempt in (1, 2):
            rc, out, err = restic.run(args)
            if rc == 0:
                break
            if attempt == 1 and "already locked" in err:
                # restic unlock removes only stale locks (a backup killed mid-way); a live one stays.
                restic.run(["unlock"])
                unlocked = True
                continue
            if "already locked" in err:
                raise ResticFailed("the repository is locked by a running restic (a backup in progress?); "
                                   "run retention again later: %s" % last_lines(err))
            raise ResticFailed("restic forget failed (exit %d): %s" % (rc, last_lines(err)))
    kept, removed = summarise(forget_groups(out))
    return {"changed": bool(removed), "kept": kept, "removed": removed, "unlocked": unlocked,
            "diff": {"before": "".join(i + "\n" for i in sorted(kept + removed)),
                     "after": "".join(i + "\n" for i in kept)}}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            TRUSTED_RESTIC_ARGS,
            host=dict(type="str", required=True),
            retention=dict(type="dict", required=True),
        ),
        supports_check_mode=True,
    )
    try:
        result = apply_retention(module.params, module.check_mode)
    except ResticFailed as exc:
        module.fail_json(msg="retention for %s: %s" % (module.params["host"], exc))
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
