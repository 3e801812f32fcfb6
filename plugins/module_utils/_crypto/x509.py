# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keys, requests and certificates of an internal CA, and the one decision about each: what
differs between a certificate and the profile (names, usages, CA or not) it should carry, whether
it belongs to a key, whether a CA signed it, how many days it has left.

The ``cryptography`` library: the controller's, or python3-cryptography on a host (Debian 12
ships 38, which lacks the ``*_utc`` accessors and ``verify_directly_issued_by``; both are
bridged here). Importing this file never fails: modules report a missing library with
missing_required_lib(), CRYPTOGRAPHY_IMPORT_ERROR holds the traceback.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress
import traceback

CRYPTOGRAPHY_IMPORT_ERROR = None
try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:
    x509 = None
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()

# Key usage names as community.crypto and OpenSSL spell them -> cryptography's KeyUsage argument.
KEY_USAGES = {
    "digitalSignature": "digital_signature",
    "contentCommitment": "content_commitment",
    "keyEncipherment": "key_encipherment",
    "dataEncipherment": "data_encipherment",
    "keyAgreement": "key_agreement",
    "keyCertSign": "key_cert_sign",
    "cRLSign": "crl_sign",
}
EXTENDED_KEY_USAGES = ("serverAuth", "clientAuth")
CURVES = ("secp256r1", "secp384r1", "secp521r1")
CA_KEY_USAGE = ["keyCertSign", "cRLSign"]

# Argument specs shared by the x509 modules (documented once in doc_fragments/x509.py).
# Directories made first, parents first (x509_ca, x509_request).
DIRECTORIES_ARGS = dict(
    directories=dict(type="list", elements="dict", default=[], options=dict(
        path=dict(type="path", required=True),
        mode=dict(type="str", default="0700"),
    )),
)
# What a host certificate carries (x509_request, which checks it, and x509_sign, which issues it).
PROFILE_ARGS = dict(
    subject_alt_names=dict(type="list", elements="str", default=[]),
    key_usage=dict(type="list", elements="str", choices=list(KEY_USAGES), default=["digitalSignature"]),
    extended_key_usage=dict(type="list", elements="str", choices=list(EXTENDED_KEY_USAGES), default=["serverAuth"]),
)


class CryptoError(Exception):
    """Input the CA cannot work with: a key it cannot read, a request whose signature fails."""


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def _utc(cert, name):
    value = getattr(cert, name + "_utc", None)  # cryptography >= 42
    if value is None:
        value = getattr(cert, name).replace(tzinfo=datetime.timezone.utc)
    return value


def not_after(cert):
    return _utc(cert, "not_valid_after")


def seconds_left(cert, now=None):
    return int((not_after(cert) - (now or utcnow())).total_seconds())


# --- keys ------------------------------------------------------------------------------------

def _curve(name):
    return {"secp256r1": ec.SECP256R1, "secp384r1": ec.SECP384R1, "secp521r1": ec.SECP521R1}[name]()


def generate_key(key_type, curve="secp256r1", size=2048):
    if key_type == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=int(size))
    return ec.generate_private_key(_curve(curve))


def key_fits(key, key_type, curve="secp256r1", size=2048):
    """The key is of the asked type and curve (ECC) or size (RSA)."""
    if key_type == "RSA":
        return isinstance(key, rsa.RSAPrivateKey) and key.key_size == int(size)
    return isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == curve


def load_key(data, passphrase=None):
    """A private key from PEM bytes. Raises CryptoError when it cannot be read with ``passphrase``."""
    try:
        return serialization.load_pem_private_key(data, password=passphrase.encode("utf-8") if passphrase else None)
    except (ValueError, TypeError) as exc:
        raise CryptoError(str(exc) or exc.__class__.__name__)


def key_pem(key, passphrase=None):
    """PEM bytes of a key: the traditional OpenSSL form (as community.crypto wrote these keys), or
    PKCS#8 encrypted with the best cipher available when a passphrase is given."""
    if passphrase:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.BestAvailableEncryption(passphrase.encode("utf-8")))
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def _public_der(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def belongs_to(cert_or_csr, key):
    """The certificate (or request) carries the public half of ``key``."""
    return _public_der(cert_or_csr.public_key()) == _public_der(key.public_key())


# --- certificates ----------------------------------------------------------------------------

def load_certificate(data):
    """The first certificate of PEM bytes, or None when there is none or it cannot be parsed."""
    if not data or b"-----BEGIN CERTIFICATE-----" not in data:
        return None
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        return None


def certificate_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def issued_by(cert, ca_cert):
    """``ca_cert`` signed ``cert``: the issuer name is the CA's subject and the signature verifies
    with the CA's public key."""
    if cert.issuer != ca_cert.subject:
        return False
    verify = getattr(cert, "verify_directly_issued_by", None)  # cryptography >= 40
    try:
        if verify is not None:
            verify(ca_cert)
            return True
        public_key = ca_cert.public_key()
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        else:
            public_key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def summary(cert, now=None):
    """One line for a diff: who, for which names, until when."""
    if cert is None:
        return "(none)\n"
    names = sorted(_san_strings(cert))
    return "subject %s, %sissuer %s, serial %x, not after %s (%d days left)\n" % (
        cert.subject.rfc4514_string(), ("names %s, " % ", ".join(names)) if names else "",
        cert.issuer.rfc4514_string(), cert.serial_number, not_after(cert).strftime("%Y-%m-%dT%H:%M:%SZ"),
        seconds_left(cert, now) // 86400)


# --- profiles: what a certificate should carry -----------------------------------------------

def profile(common_name, subject_alt_names=None, key_usage=None, extended_key_usage=None, is_ca=False):
    """The subject and extensions a certificate is asked to carry (checked: CryptoError names the
    bad entry). ``subject_alt_names``: ``DNS:name`` or ``IP:address`` strings."""
    for name in key_usage or []:
        if name not in KEY_USAGES:
            raise CryptoError("unknown key usage %r (known: %s)" % (name, ", ".join(sorted(KEY_USAGES))))
    for name in extended_key_usage or []:
        if name not in EXTENDED_KEY_USAGES:
            raise CryptoError("unknown extended key usage %r (known: %s)" % (name, ", ".join(EXTENDED_KEY_USAGES)))
    return {
        "common_name": common_name,
        "sans": sorted(set(_normalise_san(value) for value in subject_alt_names or [])),
        "key_usage": sorted(set(key_usage or [])),
        "extended_key_usage": sorted(set(extended_key_usage or [])),
        "is_ca": bool(is_ca),
    }


def _normalise_san(value):
    kind, name = (str(value).split(":", 1) + [""])[:2]
    if kind == "DNS" and name:
        return "DNS:" + name.lower()
    if kind == "IP" and name:
        try:
            return "IP:" + str(ipaddress.ip_address(name))
        except ValueError:
            raise CryptoError("subject alternative name %r: not an IP address" % (value,))
    raise CryptoError("subject alternative name %r: expected DNS:<name> or IP:<address>" % (value,))


def _general_name(value):
    kind, name = value.split(":", 1)
    return x509.DNSName(name) if kind == "DNS" else x509.IPAddress(ipaddress.ip_address(name))


def _extension(cert, extension_class):
    try:
        return cert.extensions.get_extension_for_class(extension_class).value
    except x509.ExtensionNotFound:
        return None


def _san_strings(cert):
    value = _extension(cert, x509.SubjectAlternativeName)
    strings = []
    for entry in value or []:
        if isinstance(entry, x509.DNSName):
            strings.append("DNS:" + entry.value.lower())
        elif isinstance(entry, x509.IPAddress):
            strings.append("IP:" + str(entry.value))
        else:
            strings.append("OTHER:" + str(entry.value))
    return strings


def _key_usage_names(cert):
    value = _extension(cert, x509.KeyUsage)
    if value is None:
        return []
    names = []
    for name, attribute in KEY_USAGES.items():
        if getattr(value, attribute):
            names.append(name)
    return sorted(names)


def _extended_key_usage_names(cert):
    value = _extension(cert, x509.ExtendedKeyUsage)
    known = {ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth", ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth"}
    return sorted(known.get(oid, oid.dotted_string) for oid in value or [])


def _common_name(name):
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return values[0].value if values else ""


def differences(cert, wanted):
    """What differs between a certificate and a profile(): any of ``subject``, ``names``,
    ``key usage``, ``extended key usage``, ``basic constraints``; empty when it carries the profile."""
    reasons = []
    if _common_name(cert.subject) != wanted["common_name"]:
        reasons.append("subject")
    if sorted(set(_san_strings(cert))) != wanted["sans"]:
        reasons.append("names")
    if _key_usage_names(cert) != wanted["key_usage"]:
        reasons.append("key usage")
    if _extended_key_usage_names(cert) != wanted["extended_key_usage"]:
        reasons.append("extended key usage")
    constraints = _extension(cert, x509.BasicConstraints)
    if constraints is None or constraints.ca != wanted["is_ca"] or (wanted["is_ca"] and constraints.path_length != 0):
        reasons.append("basic constraints")
    return reasons


def _extensions(wanted):
    """(extension, critical) pairs of a profile, as the CA writes them."""
    pairs = [(x509.BasicConstraints(ca=wanted["is_ca"], path_length=0 if wanted["is_ca"] else None), True)]
    if wanted["key_usage"]:
        flags = dict((attribute, name in wanted["key_usage"]) for name, attribute in KEY_USAGES.items())
        pairs.append((x509.KeyUsage(encipher_only=False, decipher_only=False, **flags), True))
    if wanted["extended_key_usage"]:
        oids = {"serverAuth": ExtendedKeyUsageOID.SERVER_AUTH, "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH}
        pairs.append((x509.ExtendedKeyUsage([oids[name] for name in wanted["extended_key_usage"]]), False))
    if wanted["sans"]:
        pairs.append((x509.SubjectAlternativeName([_general_name(value) for value in wanted["sans"]]), False))
    return pairs


def _subject(wanted):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, wanted["common_name"])])


def self_signed_ca(key, wanted, valid_days, now=None):
    """A CA certificate for ``key`` (the profile with is_ca), valid from now for ``valid_days``."""
    now = now or utcnow()
    builder = (x509.CertificateBuilder().subject_name(_subject(wanted)).issuer_name(_subject(wanted))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=int(valid_days)))
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    for extension, critical in _extensions(wanted):
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(key, hashes.SHA256())


def build_request(key, wanted):
    """A signing request for ``key`` carrying the profile (PEM text): the proof that the host holds
    the key; the CA takes the public key from it and the rest from its own copy of the profile."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(_subject(wanted))
    for extension, critical in _extensions(wanted):
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode("ascii")


def load_request(data):
    """A signing request from PEM text whose signature verifies (the holder of the key made it)."""
    try:
        csr = x509.load_pem_x509_csr(data.encode("ascii") if not isinstance(data, bytes) else data)
    except (ValueError, UnicodeError) as exc:
        raise CryptoError("not a PEM certificate signing request: %s" % exc)
    if not csr.is_signature_valid:
        raise CryptoError("the signing request's signature does not verify")
    return csr


def sign(csr, ca_cert, ca_key, wanted, valid_days, backdate_seconds=3600, now=None):
    """A certificate for the request's public key, issued by the CA, carrying ``wanted`` (the CA's
    profile, not what the request asks for), valid ``valid_days`` and backdated by
    ``backdate_seconds`` (clock skew between the hosts)."""
    now = now or utcnow()
    ca_ski = _extension(ca_cert, x509.SubjectKeyIdentifier)
    builder = (x509.CertificateBuilder().subject_name(_subject(wanted)).issuer_name(ca_cert.subject)
               .public_key(csr.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(seconds=int(backdate_seconds)))
               .not_valid_after(now + datetime.timedelta(days=int(valid_days)))
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), critical=False))
    if ca_ski is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
    else:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)
    for extension, critical in _extensions(wanted):
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(ca_key, hashes.SHA256())


def due_reasons(cert, key, wanted, ca_cert=None, renew_before_days=0, now=None):
    """Why a certificate must be issued anew: ``missing`` (none or unreadable), ``key`` (another
    public key), ``issuer`` (``ca_cert`` did not sign it), the differences() from the profile,
    ``expiry`` (fewer than ``renew_before_days`` days left, or expired when 0). Empty: keep it."""
    if cert is None:
        return ["missing"]
    reasons = []
    if key is not None and not belongs_to(cert, key):
        reasons.append("key")
    if ca_cert is not None and not issued_by(cert, ca_cert):
        reasons.append("issuer")
    reasons.extend(differences(cert, wanted))
    left = seconds_left(cert, now)
    if left <= 0 or left < int(renew_before_days) * 86400:
        reasons.append("expiry")
    return reasons
