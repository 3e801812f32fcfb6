# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that read PEM certificates on the controller.

``x509_info`` returns what an operator (and the compliance audit) asks of a certificate:
subject, SANs, issuer, not_after and the days left. ``x509_chain_info`` does the same for
every certificate of a bundle, and ``x509_chain_problems`` lists what is wrong with a chain
(unparseable, expired, not yet valid, out of order) so a role can refuse it with a clear
message before anything on the host changes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: x509_info
short_description: Read a PEM certificate and return subject, SANs, issuer, validity and days left
version_added: 0.1.0
description:
  - Parses the first certificate of a PEM string with the C(cryptography) library on the controller.
  - The same collection file also provides C(x509_chain_info) (every certificate of a bundle, in order)
    and C(x509_chain_problems) (a list of human-readable problems; empty when the chain is usable).
  - C(x509_invalid_names) returns the entries of a list that are not DNS names a certificate may carry
    (LDH labels of 1 to 63 characters, optionally a leading C(*.) wildcard label, at most 253 characters,
    a final label that is not all digits, so C(999.1.1.1) is refused); C(x509_invalid_ips) returns the entries
    that Python's C(ipaddress) does not parse as an IPv4 or IPv6 address (C(:::), C(999.1.1.1)). Both return
    an empty list when every entry is valid.
options:
  _input:
    description: PEM text holding one or more certificates.
    type: str
    required: true
  now:
    description: Reference time (timezone-aware C(datetime) or seconds since the epoch); defaults to the current time.
    type: raw
requirements:
  - cryptography >= 3.3 on the controller
"""

EXAMPLES = r"""
- name: Show how long the served certificate stays valid
  ansible.builtin.debug:
    msg: "{{ (lookup('file', 'site.crt') | prodready.platform.x509_info).days_left }} days left"

- name: Refuse names and IP SANs a certificate cannot carry
  ansible.builtin.assert:
    that:
      - (server_names | prodready.platform.x509_invalid_names) | length == 0
      - (ip_sans | prodready.platform.x509_invalid_ips) | length == 0

- name: Refuse a chain that is out of order or expired
  ansible.builtin.assert:
    that: (chain_pem | prodready.platform.x509_chain_problems) | length == 0
"""

RETURN = r"""
_value:
  description: For C(x509_info) a dictionary; C(x509_chain_info) returns a list of them.
  type: dict
  contains:
    subject: {description: Subject as an RFC 4514 string., type: str}
    subject_cn: {description: Subject common name or empty., type: str}
    issuer: {description: Issuer as an RFC 4514 string., type: str}
    issuer_cn: {description: Issuer common name or empty., type: str}
    sans: {description: "SANs as C(DNS:name) / C(IP:address) / C(EMAIL:x) / C(URI:x) strings.", type: list}
    dns_names: {description: DNS SANs., type: list}
    ip_addresses: {description: IP SANs (compressed text form)., type: list}
    serial: {description: Serial number in lower-case hex., type: str}
    not_before: {description: Start of validity, ISO 8601 UTC., type: str}
    not_after: {description: End of validity, ISO 8601 UTC., type: str}
    not_after_epoch: {description: End of validity in seconds since the epoch., type: int}
    seconds_left: {description: Seconds until not_after (negative when expired)., type: int}
    days_left: {description: Whole days until not_after (floor; negative when expired)., type: int}
    expired: {description: Whether not_after is in the past., type: bool}
    not_yet_valid: {description: Whether not_before is in the future., type: bool}
    is_ca: {description: Basic constraints CA flag., type: bool}
    self_signed: {description: Subject equals issuer., type: bool}
    ocsp_urls: {description: OCSP responder URLs from Authority Information Access., type: list}
    fingerprint_sha256: {description: SHA-256 fingerprint, colon-separated hex., type: str}
    public_key_type: {description: "C(RSA), C(EC), C(Ed25519), C(Ed448) or C(DSA).", type: str}
    public_key_size: {description: Key size in bits., type: int}
"""

import calendar
import datetime
import ipaddress
import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_bytes, to_text

# cryptography is imported on first use, not when this file loads: to resolve any one filter of a
# collection, ansible-core loads every filter file of it, in every worker process (once per task and
# host), and importing cryptography there cost 1.6 % of the controller's CPU on a 6-host no-op run.
x509 = hashes = dsa = ec = ed448 = ed25519 = rsa = None
AuthorityInformationAccessOID = ExtensionOID = NameOID = None


PEM_CERT_RE = re.compile(
    r"-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END CERTIFICATE-----", re.DOTALL
)
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
# One LDH label (RFC 1123): letters, digits and hyphens, 1-63 characters, no hyphen at either end.
_LDH_LABEL_RE = re.compile(r"\A[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
_ALL_DIGITS_RE = re.compile(r"\A[0-9]+\Z")


def _require_cryptography():
    global x509, hashes, dsa, ec, ed448, ed25519, rsa  # pylint: disable=global-statement
    global AuthorityInformationAccessOID, ExtensionOID, NameOID  # pylint: disable=global-statement
    if x509 is not None:
        return
    try:
        from cryptography import x509 as x509_module
        from cryptography.hazmat.primitives import hashes as hashes_module
        from cryptography.hazmat.primitives.asymmetric import dsa as dsa_module, ec as ec_module
        from cryptography.hazmat.primitives.asymmetric import ed448 as ed448_module, ed25519 as ed25519_module, rsa as rsa_module
        from cryptography.x509 import oid
    except ImportError as exc:
        raise AnsibleFilterError("the x509 filters need the Python library cryptography on the controller: %s" % exc)
    hashes, dsa, ec, ed448, ed25519, rsa = hashes_module, dsa_module, ec_module, ed448_module, ed25519_module, rsa_module
    AuthorityInformationAccessOID, ExtensionOID, NameOID = oid.AuthorityInformationAccessOID, oid.ExtensionOID, oid.NameOID
    x509 = x509_module


def _now(now):
    if now is None:
        return datetime.datetime.now(datetime.timezone.utc)
    if isinstance(now, datetime.datetime):
        return now if now.tzinfo else now.replace(tzinfo=datetime.timezone.utc)
    try:
        return _EPOCH + datetime.timedelta(seconds=float(now))
    except (TypeError, ValueError):
        raise AnsibleFilterError("x509: now must be a datetime or seconds since the epoch, got %r" % (now,))


def _utc(cert, name):
    # cryptography >= 42 has the *_utc accessors; older ones return naive UTC datetimes.
    value = getattr(cert, name + "_utc", None)
    if value is None:
        value = getattr(cert, name).replace(tzinfo=datetime.timezone.utc)
    return value


def _iso(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _common_name(name):
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return to_text(values[0].value) if values else ""


def _extension(cert, oid):
    try:
        return cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None


def _san_strings(cert):
    sans, dns_names, ips = [], [], []
    value = _extension(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    if value is None:
        return sans, dns_names, ips
    for entry in value:
        if isinstance(entry, x509.DNSName):
            dns_names.append(entry.value)
            sans.append("DNS:" + entry.value)
        elif isinstance(entry, x509.IPAddress):
            ips.append(str(entry.value))
            sans.append("IP:" + str(entry.value))
        elif isinstance(entry, x509.RFC822Name):
            sans.append("EMAIL:" + entry.value)
        elif isinstance(entry, x509.UniformResourceIdentifier):
            sans.append("URI:" + entry.value)
        else:
            sans.append("OTHER:" + to_text(entry.value))
    return sans, dns_names, ips


def _key_facts(cert):
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    return "unknown", 0


def load_certificates(pem):
    """Every certificate of a PEM string, in order. Raises AnsibleFilterError on bad input."""
    _require_cryptography()
    if not isinstance(pem, (str, bytes)):
        raise AnsibleFilterError("x509: expected PEM text, got %s" % type(pem).__name__)
    text = to_text(pem, errors="surrogate_or_strict")
    blocks = PEM_CERT_RE.findall(text)
    if not blocks:
        raise AnsibleFilterError("x509: no PEM certificate (-----BEGIN CERTIFICATE-----) found in the input")
    certs = []
    for number, body in enumerate(blocks, 1):
        block = "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % "\n".join(body.split())
        try:
            certs.append(x509.load_pem_x509_certificate(to_bytes(block)))
        except Exception as exc:  # cryptography raises ValueError and friends for malformed DER
            raise AnsibleFilterError("x509: certificate %d of the input cannot be parsed: %s" % (number, exc))
    return certs


def describe(cert, now=None):
    """The dictionary x509_info returns, for one cryptography certificate."""
    now = _now(now)
    not_before = _utc(cert, "not_valid_before")
    not_after = _utc(cert, "not_valid_after")
    seconds_left = int((not_after - now).total_seconds())
    sans, dns_names, ips = _san_strings(cert)
    constraints = _extension(cert, ExtensionOID.BASIC_CONSTRAINTS)
    ocsp_urls = []
    aia = _extension(cert, ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    for access in aia or []:
        if access.access_method == AuthorityInformationAccessOID.OCSP and isinstance(
            access.access_location, x509.UniformResourceIdentifier
        ):
            ocsp_urls.append(access.access_location.value)
    key_type, key_size = _key_facts(cert)
    return {
        "subject": cert.subject.rfc4514_string(),
        "subject_cn": _common_name(cert.subject),
        "issuer": cert.issuer.rfc4514_string(),
        "issuer_cn": _common_name(cert.issuer),
        "sans": sans,
        "dns_names": dns_names,
        "ip_addresses": ips,
        "serial": "%x" % cert.serial_number,
        "not_before": _iso(not_before),
        "not_after": _iso(not_after),
        "not_after_epoch": calendar.timegm(not_after.utctimetuple()),
        "seconds_left": seconds_left,
        "days_left": seconds_left // 86400,
        "expired": seconds_left < 0,
        "not_yet_valid": not_before > now,
        "is_ca": bool(constraints.ca) if constraints is not None else False,
        "self_signed": cert.subject == cert.issuer,
        "ocsp_urls": ocsp_urls,
        "fingerprint_sha256": ":".join("%02X" % b for b in bytearray(cert.fingerprint(hashes.SHA256()))),
        "public_key_type": key_type,
        "public_key_size": key_size,
    }


def x509_info(pem, now=None):
    """Facts about the first certificate of ``pem``."""
    return describe(load_certificates(pem)[0], now)


def x509_chain_info(pem, now=None):
    """Facts about every certificate of ``pem``, in the order given."""
    return [describe(cert, now) for cert in load_certificates(pem)]


def _issued_by(cert, issuer):
    """True when ``issuer`` signed ``cert`` (names match and, where cryptography can, the signature verifies)."""
    if cert.issuer != issuer.subject:
        return False
    verify = getattr(cert, "verify_directly_issued_by", None)  # cryptography >= 40
    if verify is None:
        return True
    try:
        verify(issuer)
    except Exception:  # InvalidSignature, ValueError, TypeError: all mean "not issued by"
        return False
    return True


def x509_chain_problems(pem, now=None, min_days=0):
    """Human-readable problems of a leaf-first chain; an empty list means usable.

    ``min_days``: a certificate that expires within this many days counts as a problem.
    """
    try:
        certs = load_certificates(pem)
    except AnsibleFilterError as exc:
        return [to_text(exc)]
    now = _now(now)
    try:
        min_days = int(min_days)
    except (TypeError, ValueError):
        raise AnsibleFilterError("x509_chain_problems: min_days must be an integer, got %r" % (min_days,))
    problems = []
    for number, cert in enumerate(certs, 1):
        facts = describe(cert, now)
        label = "certificate %d (%s)" % (number, facts["subject"] or "empty subject")
        if facts["expired"]:
            problems.append("%s expired on %s" % (label, facts["not_after"]))
        elif facts["seconds_left"] < min_days * 86400:
            problems.append("%s expires on %s, within %d days" % (label, facts["not_after"], min_days))
        if facts["not_yet_valid"]:
            problems.append("%s is not valid before %s" % (label, facts["not_before"]))
        if number < len(certs) and not _issued_by(cert, certs[number]):
            problems.append(
                "%s is not issued by the next certificate in the chain (%s): the chain must be leaf first, then each issuer in order"
                % (label, certs[number].subject.rfc4514_string())
            )
    return problems


def is_dns_name(name):
    """True when ``name`` is a DNS name a certificate SAN and nginx's server_name may carry.

    LDH labels separated by dots, optionally after a leading ``*.`` wildcard label, at most 253
    characters, each label 1-63 characters; the final label must not be all digits (that would be
    an IPv4 address or a typo of one, such as 999.1.1.1). No trailing dot.
    """
    if not isinstance(name, str) or not name or len(name) > 253:
        return False
    labels = name.split(".")
    if labels[0] == "*":
        labels = labels[1:]
        if not labels:
            return False
    if not all(_LDH_LABEL_RE.match(label) for label in labels):
        return False
    return not _ALL_DIGITS_RE.match(labels[-1])


def is_ip_address(value):
    """True when Python's ipaddress parses ``value`` (text) as an IPv4 or IPv6 address."""
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _entries(values, name):
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
        raise AnsibleFilterError("%s: expects a list, got %s" % (name, type(values).__name__))
    return values


def x509_invalid_names(names):
    """The entries of ``names`` that are not valid DNS names (see is_dns_name), in order."""
    return [entry for entry in _entries(names, "x509_invalid_names") if not is_dns_name(entry)]


def x509_invalid_ips(addresses):
    """The entries of ``addresses`` that are not IPv4 or IPv6 addresses, in order."""
    return [entry for entry in _entries(addresses, "x509_invalid_ips") if not is_ip_address(entry)]


class FilterModule(object):
    """PEM certificate filters."""

    def filters(self):
        return {
            "x509_info": x509_info,
            "x509_chain_info": x509_chain_info,
            "x509_chain_problems": x509_chain_problems,
            "x509_invalid_names": x509_invalid_names,
            "x509_invalid_ips": x509_invalid_ips,
        }
