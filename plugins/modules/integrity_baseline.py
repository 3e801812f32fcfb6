#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: integrity_baseline
short_description: Create or refresh a signed file-integrity baseline, signed on the controller
description:
  - Scans O(paths) with the include/exclude rules, records type, size, mode, owner, group,
    mtime, ctime, inode, link target and SHA-256 of every entry, plus the unit-file and sudoers
    locations, the current C(dpkg --verify) state and the owning package and version of each file.
  - B(The signing key never reaches the managed host.) The module's action plugin runs on the
    controller; it holds O(private_key) and the off-host write credentials, runs this module on the
    host to scan (O(state=scan), public keys only), decides there, signs the manifest body and the
    confirmation record, uploads the off-host copy from the controller and sends only the signed
    bytes back (O(state=install)), which the host checks against its public keys before writing.
  - The manifest is bound to O(host) (the inventory name by default) and to the path set; the
    verifier refuses a manifest of another host or path set.
  - An existing baseline is kept unless O(refresh=true). Drift, package upgrades included, is
    reported and never re-signed by a converge; O(refresh) (the rebaseline playbook) re-signs after
    O(verify_archive) checked the upgraded files against Debian's signed archive on the controller.
  - A baseline that does not verify with the trusted keys is never overwritten (not even with
    O(refresh)); the run fails, naming the key ids.
  - After a run that found the baseline current (or wrote it) and the off-host copy holding the
    same body, the controller signs a confirmation record bound to the manifest's digest, the host,
    the options, dpkg's status file and the off-host location. With O(trust_confirmation), a later
    scan that finds all of these unchanged and a metadata walk identical to the baseline returns
    RV(action=unchanged) without hashing, C(dpkg --verify) or reading the off-host copy.
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
    description:
      - The host's Ed25519 signing key (base64 of the 32-byte seed, or PEM). Read by the action on
        the controller only; never sent to the host. Keep it in vault, or derive one per host with
        the P(prodready.platform.integrity_host_key#filter) filter.
    type: str
  previous_public_key:
    description: Also accept an existing baseline signed by these keys (rotation, migration from one fleet key).
    type: list
    elements: str
    default: []
  host:
    description: The host identity the manifest is bound to (the action's default is C(inventory_hostname)).
    type: str
  refresh:
    description:
      - Rewrite the baseline when the tree differs from it. When false an existing, valid
        baseline is left alone (the role's setting, because rebaselining is an explicit playbook).
    type: bool
    default: false
  verify_archive:
    description:
      - With O(refresh), check every changed or added file that a Debian package owns against
        Debian's signed archive on the controller (InRelease signature, Packages checksum, the
        .deb's file checksums) before signing; files that do not verify fail the run, named, and
        nothing is written unless O(verify_archive.accept_unverified).
    type: dict
    suboptions:
      enabled:
        description: Check the archive.
        type: bool
        default: false
      mirror:
        description: Debian mirror base URL.
        type: str
        default: http://deb.debian.org/debian
      security_mirror:
        description: Debian security mirror base URL.
        type: str
        default: http://deb.debian.org/debian-security
      keyring:
        description: The controller's Debian archive keyring (gpgv).
        type: path
        default: /usr/share/keyrings/debian-archive-keyring.gpg
      accept_unverified:
        description: Sign even when files could not be verified (they are still listed).
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
      - Classify drift that a dpkg upgrade explains as RV(package_updates) instead of
        RV(not_package_updates). Reporting only; nothing is re-signed without O(refresh).
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
  state:
    description:
      - Set by the action, not by playbooks. C(scan) reads the host and returns the unsigned body;
        C(install) writes O(manifest) and O(record) after checking them against O(public_key).
    type: str
    choices: [scan, install]
    default: scan
  public_key:
    description: Set by the action. The public keys the host trusts (current first).
    type: list
    elements: str
    default: []
  manifest:
    description: Set by the action. The signed manifest to install (base64).
    type: str
  record:
    description: Set by the action. The signed confirmation record to install (base64).
    type: str
requirements:
  - cryptography (Ed25519 signatures), on the controller and the host
  - boto3 on the controller (only with O(offhost))
notes:
  - Supports check mode (reports what would change, writes and uploads nothing) and diff (lists changed entries).
  - The off-host copy is read and written by the controller; the host never receives write credentials.
extends_documentation_fragment:
  - prodready.platform.integrity_offhost.upload
seealso:
  - module: prodready.platform.integrity_verify
"""

EXAMPLES = r"""
- name: Create the baseline once (the role's behaviour); the key stays on the controller
  prodready.platform.integrity_baseline:
    paths: [/etc, /usr/local, /usr/bin, /usr/sbin]
    exclude: [/etc/resolv.conf, "*.swp"]
    private_key: "{{ vault_integrity_signing_secret | prodready.platform.integrity_host_key(inventory_hostname) }}"

- name: Rebaseline after a deploy, verify upgrades against Debian's archive, keep the off-host copy in step
  prodready.platform.integrity_baseline:
    paths: [/etc, /usr/local]
    private_key: "{{ vault_integrity_signing_secret | prodready.platform.integrity_host_key(inventory_hostname) }}"
    refresh: true
    verify_archive:
      enabled: true
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
    - created, refreshed, unchanged, kept (tree differs but refresh is false), or rotated (the
      existing body re-signed with the current key and bound to the host; its drift is still reported).
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
archive:
  description: With O(verify_archive), each checked file (path, package, version, status, detail).
  returned: when the archive was checked
  type: list
  elements: dict
"""

import base64
import os
import platform
import zlib

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.prodready.platform.plugins.module_utils._integrity import baseline
from ansible_collections.prodready.platform.plugins.module_utils._integrity import common
from ansible_collections.prodready.platform.plugins.module_utils._integrity import compare
from ansible_collections.prodready.platform.plugins.module_utils._integrity import dpkg as dpkg_lib
from ansible_collections.prodready.platform.plugins.module_utils._integrity import manifest
from ansible_collections.prodready.platform.plugins.module_utils._integrity import offhost as offhost_lib
from ansible_collections.prodready.platform.plugins.module_utils._integrity import pathrules
from ansible_collections.prodready.platform.plugins.module_utils._integrity import record as record_lib
from ansible_collections.prodready.platform.plugins.module_utils._integrity import signing


def _codename():
    """The release codename (the action picks the archive suites with it)."""
    try:
        with open("/etc/os-release") as handle:
            for line in handle:
                if line.startswith("VERSION_CODENAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return None


def _arch(module):
    dpkg = module.get_bin_path("dpkg")
    if dpkg:
        rc, out, _err = module.run_command([dpkg, "--print-architecture"])
        if rc == 0 and out.strip():
            return out.strip()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def _trusted(params):
    if not params["public_key"]:
        raise common.ConfigError("no public key given: the action passes the host's public keys")
    return [signing.load_public_key(k) for k in params["public_key"]]


def scan(module):
    """Read the host: the current manifest (as it is; the controller verifies it), and unless the
    confirmation record still holds, a fresh unsigned body of the tree."""
    params = module.params
    keys = _trusted(params)
    old_data = old_body = None
    if os.path.exists(params["path"]):
        old_data = manifest.read_file(params["path"])
        try:
            old_body = manifest.load_manifest(old_data, keys)
        except common.ManifestError:
            old_body = None  # the controller says why and refuses to overwrite it
    result = dict(changed=False, path=params["path"], current=base64.b64encode(old_data).decode("ascii") if old_data else None,
                  confirmed=False, dpkg_status_sha256=record_lib.dpkg_status_digest(params["dpkg_admin_dir"]),
                  codename=_codename(), arch=_arch(module))
    if old_body is not None and params["trust_confirmation"]:
        if record_lib.baseline_confirmed(params, keys[0], old_data, old_body):
            result.update(confirmed=True, entries=len(old_body["entries"]))
            return result
    rules = pathrules.PathRules(params["include"], params["exclude"])
    body = baseline.create_baseline(params["paths"], rules, None, system_paths=None if params["system_checks"] else {},
                                    packages=params["packages"], workers=params["workers"] or None,
                                    package_owners=params["package_owners"], dpkg_admin_dir=params["dpkg_admin_dir"],
                                    host=params["host"])[0]
    result["body"] = base64.b64encode(zlib.compress(manifest.canonical_json(body), 6)).decode("ascii")
    result["entries"] = len(body["entries"])
    updates, others = [], []
    if old_body is not None and params["accept_package_updates"] and not baseline.same_state(old_body, body):
        try:
            updates, others = compare.package_update_drift(
                old_body, body, dpkg_lib.PackageState(params["dpkg_admin_dir"], params["dpkg_log"]))
        except (common.IntegrityError, OSError) as exc:
            module.warn("cannot classify the drift as package updates: %s" % exc)
    result.update(package_updates=updates, not_package_updates=others)
    return result


def _write(path, data, mode, check_mode):
    """True when ``path`` did not hold ``data``; writes it unless in check mode."""
    if os.path.exists(path) and manifest.read_file(path) == data:
        return False
    if not check_mode:
        manifest.write_file_atomic(path, data, mode=mode)
    return True


def install(module):
    """Write what the controller signed, after checking it against the host's public keys and
    binding: a forged or misdirected manifest is refused here too."""
    params = module.params
    keys = _trusted(params)
    changed = False
    if params["manifest"]:
        data = base64.b64decode(params["manifest"], validate=True)
        body = manifest.load_manifest(data, keys)
        errors = manifest.binding_errors(body, params["host"], manifest.manifest_config(
            params["paths"], params["include"], params["exclude"]))
        if errors:
            raise common.SignatureError("refusing to install the manifest: " + "; ".join(errors))
        mode = int(params["mode"], 8) if isinstance(params["mode"], str) else int(params["mode"])
        changed = _write(params["path"], data, mode, module.check_mode)
    # The record is a cache of the controller's findings, not a managed file: writing or removing
    # it is no change. Without one (drift was found) any old record goes.
    target = record_lib.confirmation_path(params["path"])
    if params["record"]:
        record = base64.b64decode(params["record"], validate=True)
        if record_lib.load_record(record, keys[0]) is None:
            raise common.SignatureError("refusing to install a confirmation record the host's key does not verify")
        if not module.check_mode:
            _write(target, record, 0o600, False)
    elif os.path.lexists(target) and not module.check_mode:
        os.unlink(target)
    return dict(changed=changed, path=params["path"])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/var/lib/prodready-integrity/baseline.json"),
            paths=dict(type="list", elements="path", required=True),
            include=dict(type="list", elements="str", default=[]),
            exclude=dict(type="list", elements="str", default=[]),
            # Read by the action on the controller only; a value arriving here is refused below.
            private_key=dict(type="str", no_log=True),
            previous_public_key=dict(type="list", elements="str", default=[], no_log=False),
            host=dict(type="str"),
            refresh=dict(type="bool", default=False),
            verify_archive=dict(type="dict", options=dict(
                enabled=dict(type="bool", default=False),
                mirror=dict(type="str", default="http://deb.debian.org/debian"),
                security_mirror=dict(type="str", default="http://deb.debian.org/debian-security"),
                keyring=dict(type="path", default="/usr/share/keyrings/debian-archive-keyring.gpg"),
                accept_unverified=dict(type="bool", default=False))),
            system_checks=dict(type="bool", default=True),
            packages=dict(type="bool", default=True),
            package_owners=dict(type="bool", default=True),
            accept_package_updates=dict(type="bool", default=False),
            dpkg_admin_dir=dict(type="path", default=dpkg_lib.DPKG_ADMIN_DIR),
            dpkg_log=dict(type="path", default=dpkg_lib.DPKG_LOG),
            workers=dict(type="int", default=0),
            mode=dict(type="raw", default="0640"),
            offhost=dict(type="dict", options=offhost_lib.offhost_argument_spec(retention=True)),
            trust_confirmation=dict(type="bool", default=True),
            state=dict(type="str", choices=["scan", "install"], default="scan"),
            public_key=dict(type="list", elements="str", default=[], no_log=False),
            manifest=dict(type="str"),
            record=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    offhost = module.params["offhost"] or {}
    if module.params["private_key"] or offhost.get("access_key") or offhost.get("secret_key"):
        module.fail_json(msg="integrity_baseline received a signing key or off-host credentials on the managed host: "
                             "they belong to the controller (run the module through its action plugin)")
    missing = offhost_lib.missing_library()
    if missing:
        module.fail_json(msg=missing_required_lib(missing))
    try:
        result = scan(module) if module.params["state"] == "scan" else install(module)
    except (common.IntegrityError, ValueError, OSError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
