#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: integrity_baseline
short_description: Create or refresh a signed file-integrity baseline
description:
  - Scans O(paths) with the include/exclude rules, records type, size, mode, owner, group,
    mtime, ctime, inode, link target and SHA-256 of every entry, plus the unit-file and sudoers
    locations and the current C(dpkg --verify) state, and writes an Ed25519-signed manifest.
  - An existing baseline is kept unless O(refresh=true); it is never overwritten when its
    signature does not verify with the given key (or O(previous_public_key)), so a wrong key
    cannot silently replace the trusted baseline.
  - Records the owning dpkg package and its version of every scanned file (O(package_owners)),
    so verification can tell a package upgrade from tampering. With O(accept_package_updates)
    an existing baseline is re-signed (RV(action=updated)) when everything that differs is
    package updates, so accepted updates do not pile up; any other difference keeps it.
  - Optionally uploads the signed manifest to S3 (O(offhost)) with Object Lock retention when
    the bucket supports it, so a later rebaseline on the host itself is detectable.
  - After a run that found the baseline current (or wrote it) and the off-host copy holding the
    same body, writes a confirmation record next to the manifest (signed with the same key, bound
    to the manifest file's inode and ctime, the options, the dpkg status file and the off-host
    location). With O(trust_confirmation), a later run that finds all of these unchanged and a
    metadata walk of the scanned and system paths identical to the baseline returns RV(action=unchanged)
    without hashing, C(dpkg --verify) or reading the off-host copy (RV(confirmed=true)); anything
    else runs in full. See the module_utils C(integrity) for what this trades.
version_added: 1.0.0
author: prodready.platform maintainers (@prodready)
options:
  path:
    description: Where the signed manifest is written on the managed host.
    type: path
    default: /var/lib/prodready-integrity/baseline.json
  paths:
    description: Absolute paths to scan (directories are walked, symlinks are not followed).
    type: list
    elements: path
    required: true
  include:
    description:
      - Globs an entry must match to be recorded (empty means everything). C(*) stays in one
        path component, C(**) spans components; a pattern without C(/) matches the file name.
    type: list
    elements: str
    default: []
  exclude:
    description: Globs that are never recorded; an excluded directory is not descended into.
    type: list
    elements: str
    default: []
  private_key:
    description: The Ed25519 signing key (base64 of the 32-byte seed, or PEM). Keep it in vault.
    type: str
    required: true
  previous_public_key:
    description: Also accept an existing baseline signed by this key (key rotation).
    type: str
  refresh:
    description:
      - Rewrite the baseline when the tree differs from it. When false an existing, valid
        baseline is left alone (the role's setting, because rebaselining is an explicit playbook).
    type: bool
    default: false
  system_checks:
    description: Record the unit-file and sudoers locations for the comprehensive level.
    type: bool
    default: true
  packages:
    description: Record the current C(dpkg --verify) state for the comprehensive level.
    type: bool
    default: true
  package_owners:
    description:
      - Record, for the scanned files dpkg installed, the owning package and its version (read
        from the dpkg database, no subprocess). Conffiles, diverted files and files listed by
        several packages are left out.
    type: bool
    default: true
  accept_package_updates:
    description:
      - When the tree differs from a valid baseline only by package updates (see
        M(prodready.platform.integrity_verify) O(prodready.platform.integrity_verify#module:accept_package_updates)),
        re-sign the current tree even though O(refresh=false). Any other difference keeps the baseline.
    type: bool
    default: false
  dpkg_admin_dir:
    description: dpkg's database (status, info/*.list, info/*.md5sums, diversions).
    type: path
    default: /var/lib/dpkg
  dpkg_log:
    description: dpkg's log (and its rotations), which must record each accepted upgrade.
    type: path
    default: /var/log/dpkg.log
  workers:
    description: Hashing threads (0 = one per usable core, at most 8).
    type: int
    default: 0
  mode:
    description: File mode of the manifest.
    type: raw
    default: '0640'
  trust_confirmation:
    description:
      - Use the confirmation record of an earlier full run when nothing it is bound to changed (see
        the description). Not used with O(refresh=true). C(false) always hashes, runs C(dpkg --verify)
        and reads the off-host copy.
      - The fast path does not notice a file whose content changed while its size, mtime and ctime
        did not (the monitor's standard level makes the same assumption), an edited package file
        outside O(paths) (the comprehensive level reports it), or a change to the off-host object
        made by someone else (the full level, the rebaseline playbook and any full run compare it).
    type: bool
    default: true
requirements:
  - cryptography (Ed25519 signatures)
  - boto3 (only with O(offhost))
notes:
  - Supports check mode (reports what would change, writes nothing) and diff (lists changed entries).
extends_documentation_fragment:
  - prodready.platform.integrity_offhost.upload
seealso:
  - module: prodready.platform.integrity_verify
"""

EXAMPLES = r"""
- name: Create the baseline once (the role's behaviour)
  prodready.platform.integrity_baseline:
    paths: [/etc, /usr/local, /usr/bin, /usr/sbin]
    exclude: [/etc/resolv.conf, "*.swp"]
    private_key: "{{ vault_integrity_private_key }}"

- name: Rebaseline after a deploy and keep the off-host copy in step
  prodready.platform.integrity_baseline:
    paths: [/etc, /usr/local]
    private_key: "{{ vault_integrity_private_key }}"
    refresh: true
    offhost:
      endpoint_url: http://172.30.100.1:8333
      bucket: prodready-demo
      key: "integrity/{{ inventory_hostname }}/baseline.json"
      access_key: "{{ vault_s3_access_key }}"
      secret_key: "{{ vault_s3_secret_key }}"
"""

RETURN = r"""
path:
  description: Manifest path.
  returned: always
  type: str
entries:
  description: Number of entries recorded.
  returned: always
  type: int
key_id:
  description: Fingerprint of the signing key.
  returned: always
  type: str
manifest_sha256:
  description: SHA-256 of the manifest body (what the off-host comparison compares).
  returned: when a manifest exists or would be written
  type: str
added:
  description: Paths new since the previous baseline.
  returned: always
  type: list
  elements: str
removed:
  description: Paths gone since the previous baseline.
  returned: always
  type: list
  elements: str
changed_entries:
  description: Changed paths with the reasons.
  returned: always
  type: list
  elements: dict
action:
  description:
    - created, refreshed, unchanged, kept (tree differs but refresh is false), or updated (re-signed
      because everything that differed was package updates, with O(accept_package_updates)).
  returned: always
  type: str
package_updates:
  description:
    - Differences explained by package upgrades (path, change, package, from_version, to_version).
      Filled when the baseline was not refreshed anyway and O(accept_package_updates) is set.
  returned: always
  type: list
  elements: dict
not_package_updates:
  description:
    - With O(accept_package_updates), the differences that are not package updates and kept the
      baseline (path, kind, reasons); empty when the baseline was updated or nothing differs.
  returned: always
  type: list
  elements: dict
offhost:
  description:
    - What the upload did (bucket, key, object_lock, version_id), or that it was up to date
      (with C(confirmed) when a confirmation record said so).
  returned: when offhost is set
  type: dict
confirmed:
  description: True when the run trusted the confirmation record instead of scanning in full.
  returned: always
  type: bool
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.prodready.platform.plugins.module_utils import integrity


def _diff_lines(items, prefix):
    return "".join("%s %s\n" % (prefix, item) for item in items)


def confirmed_result(module, key, data, body):
    """The result of a run that trusts the confirmation record, or None to run in full."""
    params = module.params
    if not integrity.baseline_confirmed(params, key, data, body):
        return None
    result = dict(changed=False, path=params["path"], action="unchanged", key_id=integrity.key_id(key),
                  entries=len(body["entries"]), added=[], removed=[], changed_entries=[], package_updates=[],
                  not_package_updates=[], manifest_sha256=integrity.manifest_digest(data), confirmed=True)
    if params["offhost"]:
        result["offhost"] = {"bucket": params["offhost"]["bucket"], "key": params["offhost"]["key"],
                             "up_to_date": True, "confirmed": True}
    return result


def record_confirmation(module, key, data):
    """Write (or, with no data, remove) the confirmation record. A cache of this run's findings,
    not a managed file: writing it does not count as a change."""
    target = integrity.confirmation_path(module.params["path"])
    try:
        if data is None:
            if os.path.lexists(target):
                os.unlink(target)
            return
        record = integrity.sign_record(integrity.confirmation_bindings(module.params, data), key)
        if not os.path.exists(target) or integrity.read_file(target) != record:
            integrity.write_file_atomic(target, record, mode=0o600)
    except (OSError, integrity.IntegrityError) as exc:
        module.warn("cannot update the confirmation record %s (the next run scans in full): %s" % (target, exc))


def run(module):
    params = module.params
    try:
        rules = integrity.PathRules(params["include"], params["exclude"])
        key = integrity.load_private_key(params["private_key"])
        trusted = [integrity.public_key_text(key)]
        if params["previous_public_key"]:
            trusted.append(params["previous_public_key"])
        path = params["path"]
        old_data = None
        old_body = None
        if os.path.exists(path):
            old_data = integrity.read_file(path)
            try:
                old_body = integrity.load_manifest(old_data, trusted)
            except integrity.SignatureError as exc:
                module.fail_json(msg="existing baseline %s does not verify with the given key (key id %s): %s. "
                                     "Refusing to overwrite it: check the key, or pass the old key as "
                                     "previous_public_key to rotate." % (path, integrity.key_id(key), exc))
        system_paths = None if params["system_checks"] else {}
        if old_body is not None and params["trust_confirmation"] and not params["refresh"]:
            confirmed = confirmed_result(module, key, old_data, old_body)
            if confirmed:
                module.exit_json(**confirmed)
        new_body = integrity.create_baseline(params["paths"], rules, None, system_paths=system_paths,
                                             packages=params["packages"], workers=params["workers"] or None,
                                             package_owners=params["package_owners"],
                                             dpkg_admin_dir=params["dpkg_admin_dir"])[0]
    except integrity.MissingDependencyError as exc:
        module.fail_json(msg=str(exc))
    except integrity.IntegrityError as exc:
        module.fail_json(msg=str(exc))

    if old_body is not None:
        diff = integrity.compare_manifests(old_body, new_body)
    else:
        diff = {"added": [{"path": p} for p in sorted(new_body["entries"])], "removed": [], "changed": []}
    same = old_body is not None and integrity.same_state(old_body, new_body)
    old_key = integrity.manifest_header(old_data)["key_id"] if old_data else None
    updates, others = [], []
    if old_body is None:
        action = "created"
    elif same and old_key == integrity.key_id(key):
        action = "unchanged"
    elif params["refresh"] or old_key != integrity.key_id(key):
        action = "refreshed"  # a rotated key re-signs even an unchanged tree
    else:
        action = "kept"
        if params["accept_package_updates"]:
            try:
                updates, others = integrity.package_update_drift(
                    old_body, new_body, integrity.PackageState(params["dpkg_admin_dir"], params["dpkg_log"]))
            except (integrity.IntegrityError, OSError) as exc:
                module.fail_json(msg="cannot classify the drift as package updates: %s" % exc)
            if not others:
                action = "updated"
    write = action in ("created", "refreshed", "updated")

    result = dict(changed=False, path=path, action=action, key_id=integrity.key_id(key),
                  entries=len(new_body["entries"]),
                  added=[a["path"] for a in diff["added"]], removed=[r["path"] for r in diff["removed"]],
                  changed_entries=[{"path": c["path"], "reasons": c["reasons"]} for c in diff["changed"]],
                  package_updates=updates, not_package_updates=others, confirmed=False)
    data = old_data
    if write:
        if old_body is not None and action == "refreshed" and same:
            new_body["created"] = old_body.get("created", new_body["created"])
        data = integrity.sign_manifest(new_body, key)
        result["changed"] = True
        if module._diff:
            result["diff"] = {
                "before_header": "%s (%d entries)" % (path, len(old_body["entries"])) if old_body else "%s (absent)" % path,
                "after_header": "%s (%d entries)" % (path, len(new_body["entries"])),
                "before": _diff_lines([r["path"] for r in diff["removed"]] +
                                      ["%s (%s)" % (c["path"], ", ".join(c["reasons"])) for c in diff["changed"]], "-"),
                "after": _diff_lines([a["path"] for a in diff["added"]] +
                                     ["%s (%s)" % (c["path"], ", ".join(c["reasons"])) for c in diff["changed"]], "+"),
            }
        if not module.check_mode:
            try:
                mode = int(params["mode"], 8) if isinstance(params["mode"], str) else int(params["mode"])
                integrity.write_file_atomic(path, data, mode=mode)
            except (OSError, ValueError) as exc:
                module.fail_json(msg="cannot write %s: %s" % (path, exc))
    if data is not None:
        result["manifest_sha256"] = integrity.manifest_digest(data)

    if params["offhost"]:
        options = params["offhost"]
        missing = integrity.missing_library(offhost=True)
        if missing:
            module.fail_json(msg=missing_required_lib(missing), **result)
        try:
            remote = integrity.s3_get(options)
            remote_digest = integrity.manifest_digest(remote) if remote else None
        except integrity.ManifestError:
            remote_digest = "unreadable"
        except integrity.IntegrityError as exc:
            module.fail_json(msg=str(exc), **result)
        local_digest = integrity.manifest_digest(data)
        if remote_digest == local_digest:
            result["offhost"] = {"bucket": options["bucket"], "key": options["key"], "up_to_date": True}
        elif remote_digest is not None and not write:
            # The local baseline was not rewritten by this run but differs from the off-host copy:
            # either the host was rebaselined outside the playbook, or the copy is stale. Never
            # "fix" that silently; the rebaseline playbook (refresh=true) resolves it deliberately.
            module.fail_json(msg="the local baseline differs from the off-host copy s3://%s/%s (local %s, off-host %s); "
                                 "not uploading. Investigate, then run the rebaseline playbook." % (
                                     options["bucket"], options["key"], local_digest, remote_digest), **result)
        else:
            result["changed"] = True
            if module.check_mode:
                result["offhost"] = {"bucket": options["bucket"], "key": options["key"], "would_upload": True}
            else:
                try:
                    result["offhost"] = integrity.s3_put(options, data)
                except integrity.IntegrityError as exc:
                    module.fail_json(msg=str(exc), **result)
    # Only a baseline that matches the tree (or was just written from it) and the off-host copy
    # is confirmed; after "kept" the record goes, so every run reports the drift again.
    if not module.check_mode:
        record_confirmation(module, key, data if action != "kept" else None)
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/var/lib/prodready-integrity/baseline.json"),
            paths=dict(type="list", elements="path", required=True),
            include=dict(type="list", elements="str", default=[]),
            exclude=dict(type="list", elements="str", default=[]),
            private_key=dict(type="str", required=True, no_log=True),
            previous_public_key=dict(type="str", no_log=False),
            refresh=dict(type="bool", default=False),
            system_checks=dict(type="bool", default=True),
            packages=dict(type="bool", default=True),
            package_owners=dict(type="bool", default=True),
            accept_package_updates=dict(type="bool", default=False),
            dpkg_admin_dir=dict(type="path", default=integrity.DPKG_ADMIN_DIR),
            dpkg_log=dict(type="path", default=integrity.DPKG_LOG),
            workers=dict(type="int", default=0),
            mode=dict(type="raw", default="0640"),
            offhost=dict(type="dict", options=integrity.offhost_argument_spec(retention=True)),
            trust_confirmation=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    # boto3 is checked when the off-host copy is read, not here: importing it costs more than
    # a confirmed run takes.
    missing = integrity.missing_library()
    if missing:
        module.fail_json(msg=missing_required_lib(missing))
    run(module)


if __name__ == "__main__":
    main()
