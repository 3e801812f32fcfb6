#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: integrity_verify
short_description: Verify a host against its signed file-integrity baseline
description:
  - Verifies the manifest signature with the trusted Ed25519 public key, then checks the tree
    at the chosen O(level) and returns what was added, removed and changed, with the reasons per
    file, counts by kind and the duration.
  - "C(minimal): type, size, mode, owner, group, link target, added/removed (no hashing).
    C(standard): minimal + mtime, ctime and inode; files whose metadata changed are rehashed (a
    content change with the mtime forged back is caught through ctime).
    C(comprehensive): every file rehashed, C(dpkg --verify) drift, new SUID/SGID files, unit
    files and sudoers. C(full): comprehensive + the off-host copy (O(offhost)), the backup
    restore-test status and certificate chains, whichever are configured."
  - With O(accept_package_updates) (the default) a change that a dpkg package upgrade explains
    is reported in RV(package_updates) (kind C(package-update)) instead of as a violation when the
    owning package recorded in the signed baseline is installed at a newer version, the dpkg log
    records that upgrade, the file is not a conffile and its content matches the package's
    md5sums. See the I(Package updates) section of docs/integrity.md for the exact rules and
    the threat model.
  - Read-only. It never changes the host, so check mode runs the same checks.
version_added: 1.0.0
author: prodready.platform maintainers (@prodready)
options:
  path:
    description: The signed manifest on the managed host.
    type: path
    default: /var/lib/prodready-integrity/baseline.json
  public_key:
    description: Trusted Ed25519 public key(s) (base64 of 32 bytes, or PEM). Pass it from the inventory, not from the host.
    type: list
    elements: str
    required: true
  host:
    description:
      - The host identity the manifest must be bound to (pass C(inventory_hostname)). A genuine
        manifest signed for another host is a C(binding) violation and the tree is not judged against it.
    type: str
  paths:
    description:
      - The path set the manifest must cover, with O(include) and O(exclude) (the role's
        C(integrity_paths)). A manifest for another (e.g. narrower) path set is a C(binding) violation.
    type: list
    elements: path
  include:
    description: With O(paths), the include globs the manifest must have been made with.
    type: list
    elements: str
  exclude:
    description: With O(paths), the exclude globs the manifest must have been made with.
    type: list
    elements: str
  level:
    description: How thorough the check is.
    type: str
    choices: [minimal, standard, comprehensive, full]
    default: standard
  fail_on_violation:
    description: Fail the task when there is any violation (the result is returned either way).
    type: bool
    default: true
  cache_ttl:
    description: Reuse a result of the same level and manifest younger than this many seconds (0 = never).
    type: int
    default: 0
  cache_path:
    description: Where cached results are kept.
    type: path
    default: /var/lib/prodready-integrity/cache.json
  workers:
    description: Hashing threads (0 = one per usable core, at most 8).
    type: int
    default: 0
  packages:
    description: Run C(dpkg --verify) at the comprehensive and full levels.
    type: bool
    default: true
  accept_package_updates:
    description:
      - Report changes explained by dpkg package upgrades as RV(package_updates) instead of violations.
      - Needs a baseline that recorded package ownership (written by this collection's
        M(prodready.platform.integrity_baseline) since this option exists).
    type: bool
    default: true
  dpkg_admin_dir:
    description: dpkg's database (status, info/*.list, info/*.md5sums, diversions) read for O(accept_package_updates).
    type: path
    default: /var/lib/dpkg
  dpkg_log:
    description: dpkg's log; it and its rotations (C(.1), C(.2.gz), ...) must record each accepted upgrade.
    type: path
    default: /var/log/dpkg.log
  backup_metric_file:
    description: Textfile with the backup role's restore-test metric (full level; skipped when absent).
    type: path
    default: /var/lib/prometheus/node-exporter/prodready_backup.prom
  backup_metric_name:
    description: Metric whose value must be 1.
    type: str
    default: prodready_backup_restore_test_success
  certificates:
    description: Certificate chain files (leaf first) that must verify with C(openssl verify) at the full level.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The full-chain PEM file.
        type: path
        required: true
      ca_file:
        description: Trust anchor (default the system store).
        type: path
requirements:
  - cryptography
  - boto3 (only with O(offhost))
notes:
  - Supports check mode.
extends_documentation_fragment:
  - prodready.platform.integrity_offhost
seealso:
  - module: prodready.platform.integrity_baseline
"""

EXAMPLES = r"""
- name: Standard check, fail on any violation
  prodready.platform.integrity_verify:
    public_key: "{{ integrity_public_key }}"
    level: standard

- name: Full check against the off-host copy, report without failing
  prodready.platform.integrity_verify:
    public_key: "{{ integrity_public_key }}"
    level: full
    fail_on_violation: false
    offhost:
      endpoint_url: http://172.30.100.1:8333
      bucket: prodready-demo
      key: "integrity/{{ inventory_hostname }}/baseline.json"
      access_key: "{{ vault_s3_read_key }}"
      secret_key: "{{ vault_s3_read_secret }}"
  register: integrity_result

- name: Print a summary
  ansible.builtin.debug:
    msg: "{{ integrity_result | prodready.platform.integrity_summary }}"
"""

RETURN = r"""
ok:
  description: True when there is no violation.
  returned: always
  type: bool
level:
  description: The level checked.
  returned: always
  type: str
added:
  description: New entries (path, type, reasons, kind).
  returned: always
  type: list
  elements: dict
removed:
  description: Entries gone (path, type, kind).
  returned: always
  type: list
  elements: dict
changed_entries:
  description: Changed entries with reasons (e.g. content, ctime, mode, suid, package) and details (before/after).
  returned: always
  type: list
  elements: dict
violations:
  description: One item per finding (path, kind, reasons).
  returned: always
  type: list
  elements: dict
package_updates:
  description:
    - Changes explained by package upgrades (not violations), sorted by path. Each has path,
      type, kind (C(package-update)), change (changed, added or removed), reasons, package,
      from_version (the signed baseline's) and to_version (installed now).
  returned: always
  type: list
  elements: dict
counts:
  description: added, removed, changed, violations, package_updates and by_kind.
  returned: always
  type: dict
files_checked:
  description: Entries scanned.
  returned: always
  type: int
files_hashed:
  description: Files rehashed.
  returned: always
  type: int
duration_seconds:
  description: Wall time of the check.
  returned: always
  type: float
skipped_checks:
  description: Checks of this level that did not run, with why (not deployed, not configured).
  returned: always
  type: dict
cached:
  description: True when the result came from the cache.
  returned: when cached
  type: bool
"""

import hashlib

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.prodready.platform.plugins.module_utils._integrity import common
from ansible_collections.prodready.platform.plugins.module_utils._integrity import dpkg
from ansible_collections.prodready.platform.plugins.module_utils._integrity import manifest
from ansible_collections.prodready.platform.plugins.module_utils._integrity import offhost
from ansible_collections.prodready.platform.plugins.module_utils._integrity import signing
from ansible_collections.prodready.platform.plugins.module_utils._integrity import verify


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/var/lib/prodready-integrity/baseline.json"),
            public_key=dict(type="list", elements="str", required=True, no_log=False),
            host=dict(type="str"),
            paths=dict(type="list", elements="path"),
            include=dict(type="list", elements="str"),
            exclude=dict(type="list", elements="str"),
            level=dict(type="str", choices=list(common.LEVELS), default="standard"),
            fail_on_violation=dict(type="bool", default=True),
            cache_ttl=dict(type="int", default=0),
            cache_path=dict(type="path", default="/var/lib/prodready-integrity/cache.json"),
            workers=dict(type="int", default=0),
            packages=dict(type="bool", default=True),
            accept_package_updates=dict(type="bool", default=True),
            dpkg_admin_dir=dict(type="path", default=dpkg.DPKG_ADMIN_DIR),
            dpkg_log=dict(type="path", default=dpkg.DPKG_LOG),
            offhost=dict(type="dict", options=offhost.offhost_argument_spec()),
            backup_metric_file=dict(type="path", default="/var/lib/prometheus/node-exporter/prodready_backup.prom"),
            backup_metric_name=dict(type="str", default="prodready_backup_restore_test_success"),
            certificates=dict(type="list", elements="dict", default=[],
                              options=dict(path=dict(type="path", required=True), ca_file=dict(type="path"))),
        ),
        supports_check_mode=True,
    )
    missing = offhost.missing_library(offhost=bool(module.params["offhost"]) and module.params["level"] == "full")
    if missing:
        module.fail_json(msg=missing_required_lib(missing))
    params = module.params
    level = params["level"]
    try:
        keys = [signing.load_public_key(k) for k in params["public_key"]]
        data = manifest.read_file(params["path"])
        reference = None
        use_offhost = params["offhost"] and level == "full"
        if use_offhost:
            reference = offhost.s3_get(params["offhost"])
            if reference is None:
                module.fail_json(msg="the off-host copy s3://%s/%s does not exist: upload it with integrity_baseline "
                                     "(offhost) before using the full level" % (params["offhost"]["bucket"],
                                                                                params["offhost"]["key"]))
        expected_config = None
        if params["paths"] is not None:
            expected_config = manifest.manifest_config(params["paths"], params["include"], params["exclude"])
        cache = verify.ResultCache(params["cache_path"], params["cache_ttl"])
        cache_key = cache.key(level, hashlib.sha256(data + (reference or b"")).hexdigest(),
                              params["packages"], params["certificates"], params["backup_metric_file"],
                              params["accept_package_updates"], params["dpkg_admin_dir"], params["dpkg_log"],
                              params["host"], params["paths"], params["include"], params["exclude"])
        result = cache.get(cache_key)
        if result is None:
            result = verify.verify(
                data, keys, level, reference_data=reference, workers=params["workers"] or None,
                packages=params["packages"],
                backup={"metric_file": params["backup_metric_file"], "metric_name": params["backup_metric_name"]},
                certificates=params["certificates"], manifest_path=params["path"],
                accept_package_updates=params["accept_package_updates"],
                package_state=dpkg.PackageState(params["dpkg_admin_dir"], params["dpkg_log"]),
                expected_host=params["host"], expected_config=expected_config)
            if not module.check_mode:
                cache.put(cache_key, result)
    except common.IntegrityError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg="integrity check failed: %s" % exc)

    # Ansible reserves "changed" and "skipped" for the task status: they go out renamed.
    result = dict(result)
    result["changed_entries"] = result.pop("changed")
    result["skipped_checks"] = result.pop("skipped")
    result["changed"] = False
    if result["violations"] and params["fail_on_violation"]:
        by_kind = ", ".join("%s %d" % (k, v) for k, v in sorted(result["counts"]["by_kind"].items()) if v)
        first = "; ".join("%s %s" % (v["kind"], v["path"]) for v in result["violations"][:5])
        module.fail_json(msg="%d integrity violation(s) at level %s (%s): %s%s" % (
            len(result["violations"]), level, by_kind, first, " ..." if len(result["violations"]) > 5 else ""), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
