# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Read-only probe of the state the tls role branches on; prints one JSON object.
# Run as `python3 -c <this file> <request JSON>`; with passphrase_on_stdin the passphrase of
# encrypted keys comes on stdin (never in argv or the environment, where other users can read it).
# One process instead of a module run per key, certificate, file and unit keeps a converged
# host's re-run cheap; the role still runs the crypto modules whenever something differs.
# Request keys (all optional): packages (names), files (paths), keys (private key paths),
# certs ([{path, key, issuer}]), units (systemd unit names), passphrase_on_stdin. Paths may start with ~.
import hashlib
import json
import os
import stat
import subprocess
import sys

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    HAS_CRYPTOGRAPHY = True
except ImportError:
    HAS_CRYPTOGRAPHY = False

REQUEST = json.loads(sys.argv[1])
# Only read when asked: without data the command module leaves stdin inherited, not closed.
PASSPHRASE = sys.stdin.read().rstrip("\n") if REQUEST.get("passphrase_on_stdin") else ""


def read(path):
    with open(os.path.expanduser(path), "rb") as handle:
        return handle.read()


def file_state(path):
    # The same fields the role compares with what it wants: a dict equal to the wanted one means no change.
    # Private keys (those also asked for under keys) get no content hash: keys compare by public key.
    try:
        info = os.lstat(os.path.expanduser(path))
    except OSError:
        return None
    state = {"mode": "%04o" % stat.S_IMODE(info.st_mode), "uid": info.st_uid, "gid": info.st_gid}
    if stat.S_ISLNK(info.st_mode):
        return {"type": "link", "target": os.readlink(os.path.expanduser(path))}
    if stat.S_ISDIR(info.st_mode):
        state["type"] = "directory"
    else:
        state["type"] = "file"
        if path not in REQUEST.get("keys", []):
            state["sha256"] = hashlib.sha256(read(path)).hexdigest()
    return state


def public_sha256(public_key):
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def key_state(path):
    try:
        data = read(path)
    except OSError:
        return None
    if not HAS_CRYPTOGRAPHY:
        return {"error": "python cryptography is not installed"}
    try:
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except TypeError:
            # Encrypted: only then is the passphrase used.
            key = serialization.load_pem_private_key(data, password=PASSPHRASE.encode() or None)
    except (TypeError, ValueError) as exc:
        return {"error": "unreadable private key: %s" % exc}
    state = {"public_sha256": public_sha256(key.public_key()), "size": key.key_size}
    if isinstance(key, rsa.RSAPrivateKey):
        state["type"] = "RSA"
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        state["type"] = "ECC"
        state["curve"] = key.curve.name
    else:
        state["type"] = type(key).__name__
    return state


def signed_by(cert, issuer):
    # cryptography 38 (Debian 12) has no verify_directly_issued_by: check name and signature by hand.
    if cert.issuer != issuer.subject:
        return False
    public_key = issuer.public_key()
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        else:
            return False
    except InvalidSignature:
        return False
    return True


def load_cert(data):
    return x509.load_pem_x509_certificate(data)


def cert_state(spec, keys):
    try:
        data = read(spec["path"])
    except OSError:
        return None
    # The PEM goes back to the controller, whose x509_info filter reads names and dates.
    state = {"pem": data.decode("utf-8", "replace"), "key_matches": None, "signed_by_issuer": None}
    if not HAS_CRYPTOGRAPHY:
        return state
    try:
        cert = load_cert(data)
    except ValueError:
        return state
    key = keys.get(spec.get("key")) or {}
    if "public_sha256" in key:
        state["key_matches"] = public_sha256(cert.public_key()) == key["public_sha256"]
    if spec.get("issuer"):
        try:
            state["signed_by_issuer"] = signed_by(cert, load_cert(read(spec["issuer"])))
        except (OSError, ValueError):
            state["signed_by_issuer"] = False
    return state


def installed_packages(names):
    if not names:
        return []
    result = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n"] + names,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True, check=False,
    )
    return [line.split()[0] for line in result.stdout.splitlines() if line.endswith(" installed")]


def unit_states(names):
    # Parsed on the controller by prodready.platform.systemd_units; empty without systemd.
    if not names:
        return ""
    try:
        result = subprocess.run(
            ["systemctl", "show", "--property=Id,UnitFileState,ActiveState", "--"] + names,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True, check=False,
        )
    except OSError:
        return ""
    return result.stdout


keys = dict((path, key_state(path)) for path in REQUEST.get("keys", []))
print(json.dumps({
    "cryptography": HAS_CRYPTOGRAPHY,
    "installed": installed_packages(REQUEST.get("packages", [])),
    "files": dict((path, file_state(path)) for path in REQUEST.get("files", [])),
    "keys": keys,
    "certs": dict((spec["path"], cert_state(spec, keys)) for spec in REQUEST.get("certs", [])),
    "units": unit_states(REQUEST.get("units", [])),
}))
