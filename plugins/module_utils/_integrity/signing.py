# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File integrity: Ed25519 keys (via ``cryptography``, imported lazily) and per-host key derivation."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import hmac

from ansible_collections.prodready.platform.plugins.module_utils._integrity import common


def crypto_backend():
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
        from cryptography.exceptions import InvalidSignature
    except ImportError:
        raise common.MissingDependencyError(
            "Ed25519 signatures need the Python 'cryptography' library "
            "(Debian: apt-get install python3-cryptography; pip: cryptography)")
    return serialization, ed25519, InvalidSignature


def _decode_key_text(text, what):
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    if not isinstance(text, str) or not text.strip():
        raise common.ConfigError("%s is empty" % what)
    return text.strip()


def _load_ed25519(text, kind):
    """An Ed25519 key of ``kind`` ("private" or "public") from PEM or base64 of its 32 raw bytes."""
    serialization, ed25519, _unused = crypto_backend()
    label = "the %s key" % kind
    key_class = ed25519.Ed25519PrivateKey if kind == "private" else ed25519.Ed25519PublicKey
    text = _decode_key_text(text, label)
    try:
        if text.startswith("-----BEGIN"):
            pem = text.encode("ascii")
            key = (serialization.load_pem_private_key(pem, password=None) if kind == "private"
                   else serialization.load_pem_public_key(pem))
        else:
            raw = base64.b64decode(text, validate=True)
            if len(raw) != 32:
                raise ValueError("expected 32 bytes, got %d" % len(raw))
            key = key_class.from_private_bytes(raw) if kind == "private" else key_class.from_public_bytes(raw)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise common.ConfigError("%s is not an Ed25519 key (PEM or base64 of 32 bytes): %s" % (label, exc))
    if not isinstance(key, key_class):
        raise common.ConfigError("%s is not an Ed25519 key" % label)
    return key


def load_private_key(text):
    """An Ed25519 private key from PEM (PKCS#8) or base64 of the 32-byte seed."""
    return _load_ed25519(text, "private")


def load_public_key(text):
    """An Ed25519 public key from PEM (SubjectPublicKeyInfo) or base64 of the 32 bytes."""
    return _load_ed25519(text, "public")


def _raw_public(public_key):
    serialization = crypto_backend()[0]
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_text(key):
    """base64 of the raw public key, for a private or a public key object."""
    if hasattr(key, "public_key"):
        key = key.public_key()
    return base64.b64encode(_raw_public(key)).decode("ascii")


def key_id(key):
    """A short fingerprint naming the key in manifests and error messages."""
    if hasattr(key, "public_key"):
        key = key.public_key()
    return hashlib.sha256(_raw_public(key)).hexdigest()[:16]


def generate_private_key_text():
    """base64 of a new random 32-byte Ed25519 seed (the value to keep in vault)."""
    serialization, ed25519, _unused = crypto_backend()
    key = ed25519.Ed25519PrivateKey.generate()
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return base64.b64encode(raw).decode("ascii")


HOST_KEY_LABEL = b"prodready.platform integrity signing key v1\0"


def derive_host_key_text(secret, host):
    """The Ed25519 signing key of one host (base64 of its seed), derived on the controller from
    the fleet's signing secret: HMAC-SHA256(secret, label || host). Each host's baselines are
    signed with its own key, so one host's manifest never verifies on another, and the secret
    itself never leaves the controller (only public keys are sent to hosts)."""
    secret = _decode_key_text(secret, "the signing secret")
    if len(secret) < 32:
        raise common.ConfigError("the signing secret must be at least 32 characters (e.g. openssl rand -base64 48)")
    if not isinstance(host, str) or not host:
        raise common.ConfigError("a host name is required to derive its signing key")
    seed = hmac.new(secret.encode("utf-8"), HOST_KEY_LABEL + host.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(seed).decode("ascii")
