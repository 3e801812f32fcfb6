#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_rewind
short_description: Put one host's repository prefix back to how it was at a point in time
version_added: 1.1.0
description:
  - The recovery half of per-host backup identities. A compromised backup host can only add
    object versions and delete markers under its own prefix (object lock refuses version
    deletes), so a wipe or an overwrite is undone by removing every version and delete marker
    that appeared after O(before). The objects then read exactly as they did at that time.
  - Runs with the trusted (delete-capable, governance-bypassing) credentials on the controller or a
    trusted delegate. restic's C(locks/) are left alone (a lock is never worth bringing back).
  - Refuses a prefix that would end up empty, and a time in the future.
author:
  - prodready.platform contributors (@prodready)
extends_documentation_fragment:
  - prodready.platform.backup
options:
  bucket:
    description: The bucket.
    type: str
    required: true
  prefix:
    description: The host's repository prefix (C(backup_s3_prefix)).
    type: str
    required: true
  before:
    description:
      - The point in time to return to, ISO 8601 with a zone (C(2026-12-06T15:00:00Z)) or seconds
        since the epoch. Choose a time before the host was compromised.
    type: str
    required: true
attributes:
  check_mode:
    description: Lists what would be removed; nothing is deleted.
    support: full
  diff_mode:
    description: Lists the keys whose current version changes.
    support: full
"""

EXAMPLES = r"""
- name: Undo what a compromised web1 did to its backups after 14:00 UTC
  prodready.platform.backup_rewind:
    endpoint_url: https://s3.example.com
    bucket: backups
    prefix: web1
    before: "2026-12-06T14:00:00Z"
    access_key: "{{ vault_backup_trusted_access_key }}"
    secret_key: "{{ vault_backup_trusted_secret_key }}"
  delegate_to: localhost
"""

RETURN = r"""
removed_versions:
  description: Object versions written after O(before) that were removed.
  returned: success
  type: int
removed_markers:
  description: Delete markers set after O(before) that were removed (objects brought back).
  returned: success
  type: int
changed_keys:
  description: Keys whose current content changed (at most 200 listed).
  returned: success
  type: list
  elements: str
"""

import datetime

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.prodready.platform.plugins.module_utils._backup import s3
from ansible_collections.prodready.platform.plugins.module_utils._backup.s3 import BOTO3_IMPORT_ERROR, botocore

KEEP_OUT = ("locks/",)


class RewindError(Exception):
    pass


def parse_time(text):
    text = str(text).strip()
    try:
        return datetime.datetime.fromtimestamp(float(text), datetime.timezone.utc)
    except ValueError:
        pass
    try:
        value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RewindError("before=%r is neither ISO 8601 nor seconds since the epoch" % text)
    if value.tzinfo is None:
        raise RewindError("before=%r has no time zone; add Z or +00:00" % text)
    return value


def plan(entries, before, prefix):
    """Which versions to remove so that every key reads as it did at ``before``.

    ``entries``: dicts Key, VersionId, LastModified (aware datetime), marker (bool). Returns
    (to_remove, changed_keys, survivors) where survivors counts keys that still have a
    current, non-marker version afterwards."""
    by_key = {}
    for entry in entries:
        if entry["Key"][len(prefix):].startswith(KEEP_OUT):
            continue
        by_key.setdefault(entry["Key"], []).append(entry)
    to_remove, changed, survivors = [], [], 0
    for key, versions in sorted(by_key.items()):
        newer = [v for v in versions if v["LastModified"] > before]
        older = sorted((v for v in versions if v["LastModified"] <= before), key=lambda v: v["LastModified"])
        if newer:
            to_remove += newer
            changed.append(key)
        if older and not older[-1]["marker"]:
            survivors += 1
    return to_remove, changed, survivors


def list_entries(client, bucket, prefix):
    entries = []
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for version in page.get("Versions", []):
            entries.append({"Key": version["Key"], "VersionId": version["VersionId"],
                            "LastModified": version["LastModified"], "marker": False})
        for marker in page.get("DeleteMarkers", []):
            entries.append({"Key": marker["Key"], "VersionId": marker["VersionId"],
                            "LastModified": marker["LastModified"], "marker": True})
    return entries


def rewind(params, check_mode, client=None):
    before = parse_time(params["before"])
    if before > datetime.datetime.now(datetime.timezone.utc):
        raise RewindError("before=%s is in the future" % params["before"])
    prefix = params["prefix"].strip("/")
    if not prefix:
        raise RewindError("a non-empty prefix is required (rewinding a whole bucket is not offered)")
    prefix += "/"
    client = client or s3.make_client(params)
    entries = list_entries(client, params["bucket"], prefix)
    to_remove, changed, survivors = plan(entries, before, prefix)
    if to_remove and survivors == 0:
        raise RewindError("nothing under %s existed at %s: refusing to empty the prefix (a time before the "
                          "first backup?)" % (prefix, before.isoformat()))
    if not check_mode:
        for entry in to_remove:
            try:
                client.delete_object(Bucket=params["bucket"], Key=entry["Key"], VersionId=entry["VersionId"],
                                     BypassGovernanceRetention=True)
            except botocore.exceptions.ClientError as exc:
                raise RewindError("cannot remove %s version %s: %s (do these credentials have the governance "
                                  "bypass permission?)" % (entry["Key"], entry["VersionId"], exc))
    return {"changed": bool(to_remove),
            "removed_versions": sum(1 for e in to_remove if not e["marker"]),
            "removed_markers": sum(1 for e in to_remove if e["marker"]),
            "changed_keys": changed[:200],
            "diff": {"before": "", "after": "".join(k + "\n" for k in changed[:200])}}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            s3.CONNECTION_ARGS,
            bucket=dict(type="str", required=True),
            prefix=dict(type="str", required=True),
            before=dict(type="str", required=True),
        ),
        supports_check_mode=True,
    )
    if BOTO3_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("boto3"), exception=BOTO3_IMPORT_ERROR)
    try:
        result = rewind(module.params, module.check_mode)
    except RewindError as exc:
        module.fail_json(msg="rewind of %s/%s: %s" % (module.params["bucket"], module.params["prefix"], exc))
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        module.fail_json(msg="S3 request failed: %s" % exc)
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
