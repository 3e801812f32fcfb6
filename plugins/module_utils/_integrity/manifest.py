# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File integrity: the signed manifest format.

Manifest file format (version 1), two lines::

    {"algorithm":"ed25519","body_sha256":"...","format":"prodready-integrity-manifest",
     "format_version":1,"key_id":"...","signature":"<base64>"}
    {"config":{...},"entries":{...},...}            <- the body, canonical JSON

The signature covers the exact body bytes; the header must be canonical JSON too, so any
changed byte anywhere in the file makes loading fail."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import datetime
import hashlib
import json
import socket

from ansible_collections.prodready.platform.plugins.module_utils.textfile import write_atomic
from ansible_collections.prodready.platform.plugins.module_utils._integrity import common
from ansible_collections.prodready.platform.plugins.module_utils._integrity import pathrules
from ansible_collections.prodready.platform.plugins.module_utils._integrity import scan
from ansible_collections.prodready.platform.plugins.module_utils._integrity import signing


def canonical_json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def utc_now_text():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_manifest(entries, paths, rules=None, system=None, packages=None, host=None, created=None, owners=None):
    """The manifest body (a dict) for scanned ``entries``. ``packages`` is the ``dpkg --verify``
    state, ``owners`` the owning packages and versions (``dpkg_package_owners``)."""
    rules = rules or pathrules.PathRules()
    body = {
        "format": common.FORMAT_NAME,
        "format_version": common.FORMAT_VERSION,
        "created": created or utc_now_text(),
        "host": host if host is not None else socket.gethostname(),
        "config": {"paths": scan.normalise_roots(paths), "include": rules.include, "exclude": rules.exclude},
        "entries": entries,
        "system": system if system is not None else {},
        "packages": {},
    }
    if packages is not None:
        body["packages"]["dpkg_verify"] = packages
    if owners is not None:
        body["packages"]["dpkg_owners"] = owners
    return body


def sign_manifest(body, private_key):
    """Serialise and sign a manifest body; returns the file content (bytes)."""
    if isinstance(private_key, (str, bytes)):
        private_key = signing.load_private_key(private_key)
    body_bytes = canonical_json(body)
    header = {
        "algorithm": common.SIGNATURE_ALGORITHM,
        "body_sha256": hashlib.sha256(body_bytes).hexdigest(),
        "format": common.FORMAT_NAME,
        "format_version": body.get("format_version", common.FORMAT_VERSION),
        "key_id": signing.key_id(private_key),
        "signature": base64.b64encode(private_key.sign(body_bytes)).decode("ascii"),
    }
    return canonical_json(header) + b"\n" + body_bytes + b"\n"


def _split(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray)):
        raise common.ManifestError("a manifest must be bytes or text")
    data = bytes(data)
    first = data.find(b"\n")
    if first < 0 or not data.endswith(b"\n") or data.count(b"\n") != 2:
        raise common.ManifestError("not a prodready integrity manifest: expected a header line and a body line")
    header_bytes, body_bytes = data[:first], data[first + 1:-1]
    try:
        header = json.loads(header_bytes.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise common.ManifestError("manifest header is not valid JSON: %s" % exc)
    if not isinstance(header, dict) or header.get("format") != common.FORMAT_NAME:
        raise common.ManifestError("not a prodready integrity manifest (format field is %r)" % (
            header.get("format") if isinstance(header, dict) else header,))
    version = header.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise common.ManifestError("manifest header has an invalid format_version %r" % (version,))
    if version > common.FORMAT_VERSION:
        raise common.UnsupportedVersionError(
            "manifest format version %d is newer than this library supports (%d): upgrade "
            "prodready.platform (and the on-host monitor) before using this manifest" % (version, common.FORMAT_VERSION))
    if canonical_json(header) != header_bytes:
        raise common.ManifestError("manifest header is not in canonical form (it was edited)")
    return header, body_bytes


def manifest_header(data):
    """The header of a manifest without checking its signature (never trust it)."""
    return _split(data)[0]


def _parse_body(header, body_bytes):
    try:
        body = json.loads(body_bytes.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise common.ManifestError("manifest body is not valid JSON: %s" % exc)
    if not isinstance(body, dict) or body.get("format") != common.FORMAT_NAME:
        raise common.ManifestError("manifest body has the wrong format field")
    if body.get("format_version") != header["format_version"]:
        raise common.ManifestError("manifest body and header disagree on format_version")
    if not isinstance(body.get("entries"), dict) or not isinstance(body.get("config"), dict):
        raise common.ManifestError("manifest body lacks entries or config")
    return body


def load_manifest(data, public_keys):
    """Verify and parse manifest file content. ``public_keys`` is one key (object or text) or
    a list (key rotation). Raises ``SignatureError``, ``UnsupportedVersionError`` or
    ``ManifestError`` with a message that says what is wrong."""
    header, body_bytes = _split(data)
    InvalidSignature = signing.crypto_backend()[2]
    if not isinstance(public_keys, (list, tuple)):
        public_keys = [public_keys]
    keys = [signing.load_public_key(k) if isinstance(k, (str, bytes)) else k for k in public_keys if k]
    if not keys:
        raise common.ConfigError("a public key is required to verify a manifest")
    if header.get("algorithm") != common.SIGNATURE_ALGORITHM:
        raise common.SignatureError("manifest is signed with %r; only %s is accepted" % (header.get("algorithm"), common.SIGNATURE_ALGORITHM))
    if hashlib.sha256(body_bytes).hexdigest() != header.get("body_sha256"):
        raise common.SignatureError("manifest body does not match the digest in its header (the body was changed)")
    try:
        signature = base64.b64decode(header.get("signature", ""), validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise common.SignatureError("manifest signature is not valid base64")
    if base64.b64encode(signature).decode("ascii") != header.get("signature"):
        raise common.SignatureError("manifest signature is not in canonical base64")
    by_id = dict((signing.key_id(k), k) for k in keys)
    key = by_id.get(header.get("key_id"))
    if key is None:
        raise common.SignatureError("manifest was signed by key %s, which is not a trusted key (trusted: %s)" % (
            header.get("key_id"), ", ".join(sorted(by_id))))
    try:
        key.verify(signature, body_bytes)
    except InvalidSignature:
        raise common.SignatureError("manifest signature does not verify with key %s (the manifest was changed)" % header.get("key_id"))
    body = _parse_body(header, body_bytes)
    return body


def load_manifest_unverified(data):
    """Parse without checking the signature: for showing and comparing, never for trusting."""
    header, body_bytes = _split(data)
    return _parse_body(header, body_bytes)


def manifest_digest(data):
    """sha256 of the body bytes of a manifest file (what the off-host comparison compares)."""
    return hashlib.sha256(_split(data)[1]).hexdigest()


def manifest_config(paths, include=None, exclude=None):
    """The path set a manifest is bound to (its body's ``config``)."""
    return {"paths": scan.normalise_roots(paths), "include": list(include or []), "exclude": list(exclude or [])}


def binding_errors(body, host=None, config=None):
    """Why a verified manifest body is not this host's baseline for this path set: a list of
    messages naming both sides, empty when it is (``None`` skips a check). The signature proves
    who signed a body, not which host and rule set it was signed for: a genuine manifest of
    another host, or a narrower one of this host, must not verify clean."""
    errors = []
    if host is not None and body.get("host") != host:
        errors.append("the manifest was signed for host %r, this host is %r" % (body.get("host"), host))
    if config is not None:
        signed = body.get("config") or {}
        for name in ("paths", "include", "exclude"):
            if list(signed.get(name) or []) != list(config.get(name) or []):
                errors.append("the manifest covers %s %s, this host is configured for %s" % (
                    name, json.dumps(signed.get(name) or []), json.dumps(config.get(name) or [])))
    return errors


def read_file(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise common.ConfigError("manifest %s does not exist (create it with integrity_baseline first)" % path)
    except OSError as exc:
        raise common.ConfigError("cannot read manifest %s: %s" % (path, exc))


def write_file_atomic(path, data, mode=0o640):
    """Manifests and state files: the textfile contract's atomic writer, private directory."""
    return write_atomic(path, data, mode=mode, dir_mode=0o750)
