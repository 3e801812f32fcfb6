# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File integrity: the confirmation record, the ``integrity_baseline`` module's fast path on a converged host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import json
import os

from ansible_collections.prodready.platform.plugins.module_utils._integrity import common
from ansible_collections.prodready.platform.plugins.module_utils._integrity import dpkg
from ansible_collections.prodready.platform.plugins.module_utils._integrity import manifest
from ansible_collections.prodready.platform.plugins.module_utils._integrity import pathrules
from ansible_collections.prodready.platform.plugins.module_utils._integrity import scan
from ansible_collections.prodready.platform.plugins.module_utils._integrity import signing


# A full run of integrity_baseline hashes every scanned file, runs `dpkg --verify` and reads the
# off-host copy: seconds to minutes, only to find on a converged host that nothing changed. After
# such a run found the baseline current (or wrote it) and the off-host copy holding the same body,
# the controller signs a record of it with the host's baseline key (the key never reaches the
# host), bound to the manifest's digest, the host, the options, the dpkg database and the off-host
# location. A later run trusts
# the record only when all of those are still the same and a metadata walk of the scanned and
# system paths (lstat, no hashing) matches the baseline exactly; otherwise it runs in full.
#
# What the fast path does not redo, and why that keeps the module's guarantees:
# - Hashing: a content change also changes size, mtime or ctime (ctime cannot be set back without
#   moving the clock), the same rule the monitor's standard level relies on; the comprehensive
#   level rehashes everything on its schedule.
# - The off-host read: the local manifest cannot change without a new digest, which voids
#   the record (an attacker cannot sign a new one without the controller's key), so a rebaseline
#   or a restored older manifest on the host still meets the off-host comparison on the next run.
#   A change made to the off-host object itself is no longer noticed by a converged run: the
#   monitor's full level, the rebaseline playbook and any full run still compare it.
# - `dpkg --verify`: package installs and upgrades change the dpkg status file, which voids the
#   record (so package updates are still re-signed); an edited package file outside the scanned
#   paths is reported by the monitor's comprehensive level, no longer by the role's drift message.

CONFIRMATION_FORMAT = "prodready-integrity-confirmation"
# Signed bytes of a record start with this, so a record's signature can never pass for a manifest's.
_RECORD_DOMAIN = b"prodready-integrity-confirmation-v2\n"


def confirmation_path(manifest_path):
    """Where integrity_baseline keeps the confirmation record of ``manifest_path``."""
    return manifest_path + ".confirmed"


def dpkg_status_digest(admin_dir=dpkg.DPKG_ADMIN_DIR):
    """sha256 of dpkg's status file (every install, upgrade and removal rewrites it), or None."""
    try:
        digest = hashlib.sha256()
        with open(os.path.join(admin_dir, "status"), "rb") as handle:
            for chunk in iter(lambda: handle.read(common.READ_CHUNK), b""):
                digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return None


def sign_record(record, private_key):
    """A small signed JSON document: a header line (key id, signature) and the record line.
    Signed on the controller only (the action of integrity_baseline)."""
    body = manifest.canonical_json(record)
    header = {"format": CONFIRMATION_FORMAT, "key_id": signing.key_id(private_key),
              "signature": base64.b64encode(private_key.sign(_RECORD_DOMAIN + body)).decode("ascii")}
    return manifest.canonical_json(header) + b"\n" + body + b"\n"


def load_record(data, key):
    """The record ``sign_record`` wrote, or None when it is malformed or not signed by this key
    (a private key, or its public key: verifying needs only the public half)."""
    InvalidSignature = signing.crypto_backend()[2]
    public_key = key.public_key() if hasattr(key, "public_key") else key
    try:
        header_bytes, body, rest = data.split(b"\n")
        header = json.loads(header_bytes.decode("ascii"))
        if rest or header.get("format") != CONFIRMATION_FORMAT or header.get("key_id") != signing.key_id(public_key):
            return None
        public_key.verify(base64.b64decode(header["signature"], validate=True), _RECORD_DOMAIN + body)
        record = json.loads(body.decode("ascii"))
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, InvalidSignature):
        return None
    return record if isinstance(record, dict) else None


# The options of integrity_baseline a confirmation record is bound to (besides the roots and host).
CONFIRMATION_OPTIONS = ("include", "exclude", "system_checks", "packages", "package_owners", "accept_package_updates",
                        "dpkg_admin_dir", "dpkg_log")


def confirmation_bindings(params, manifest_data, dpkg_status_sha256):
    """What a confirmation record is bound to: the manifest's body (its digest: a restored or
    replaced manifest has another), the baseline options (``params`` as integrity_baseline
    receives them), the host, dpkg's status (its digest, read on the host) and the off-host
    location. A pure function: the host computes it to compare, the controller to sign."""
    options = dict((name, params[name]) for name in CONFIRMATION_OPTIONS)
    options["paths"] = scan.normalise_roots(params["paths"])
    offhost = params.get("offhost")
    return {
        "manifest_sha256": manifest.manifest_digest(manifest_data),
        "host": params.get("host"),
        "options": options,
        "dpkg_status_sha256": dpkg_status_sha256,
        "offhost": dict((name, offhost.get(name)) for name in ("endpoint_url", "bucket", "key")) if offhost else None,
    }


def baseline_confirmed(params, key, manifest_data, body):
    """True when the confirmation record of an earlier full run still holds: signed by ``key``
    (a public key on the host), bound to exactly what ``confirmation_bindings`` reads now, the
    manifest signed by the same key, and an lstat walk finding the tree's metadata unchanged.
    Used by integrity_baseline's scan and by the integrity role's probe."""
    try:
        record = load_record(manifest.read_file(confirmation_path(params["path"])), key)
        bindings = confirmation_bindings(params, manifest_data, dpkg_status_digest(params["dpkg_admin_dir"]))
        if record is None or record != bindings:
            return False
        if manifest.manifest_header(manifest_data)["key_id"] != signing.key_id(key):
            return False
        rules = pathrules.PathRules(params["include"], params["exclude"])
    except (common.IntegrityError, OSError):
        return False
    return tree_metadata_unchanged(body, params["paths"], rules, None if params["system_checks"] else {})


def metadata_only(entries):
    """Entries without what only hashing fills in."""
    return dict((path, dict((k, v) for k, v in entry.items() if k not in ("sha256", "error")))
                for path, entry in entries.items())


def tree_metadata_unchanged(body, paths, rules, system_paths=None):
    """True when an lstat walk of ``paths`` (and the system paths the body recorded) finds
    exactly the entries of the baseline ``body``: same paths, types, sizes, modes, owners,
    times, inodes and link targets."""
    try:
        if metadata_only(scan.walk(paths, rules)) != metadata_only(body.get("entries", {})):
            return False
        recorded = body.get("system", {})
        if not recorded:
            return system_paths == {}
        current = scan.scan_system(system_paths, hashes=False)
    except common.IntegrityError:
        return False
    return sorted(current) == sorted(recorded) and all(
        metadata_only(current[group]) == metadata_only(recorded[group]) for group in current)
