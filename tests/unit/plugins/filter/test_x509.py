# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the x509 filters (plugins/filter/x509.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress

import pytest
from ansible.errors import AnsibleFilterError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.prodready.platform.plugins.filter import x509 as x509_filter

NOW = datetime.datetime(2026, 6, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
# Key generation dominates test time: reuse a few keys.
KEYS = [ec.generate_private_key(ec.SECP256R1()) for dummy in range(3)]


def make_cert(cn, key, issuer_cn=None, issuer_key=None, days=30, start_days=-1, dns=(), ips=(), ca=False, ocsp=None):
    issuer_key = issuer_key or key
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn or cn)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + datetime.timedelta(days=start_days))
        .not_valid_after(NOW + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    names = [x509.DNSName(n) for n in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if ocsp:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess([x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp))]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def pem(*certs):
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)


CA = make_cert("Test CA", KEYS[0], ca=True, days=3650, start_days=-10)
LEAF = make_cert(
    "web1.example.test", KEYS[1], "Test CA", KEYS[0], days=45, dns=["web1.example.test", "web1"], ips=["172.30.100.9"], ocsp="http://ocsp.example.test"
)


def test_info_reads_subject_sans_issuer_and_days_left():
    info = x509_filter.x509_info(pem(LEAF), now=NOW)
    assert info["subject"] == "CN=web1.example.test"
    assert info["subject_cn"] == "web1.example.test"
    assert info["issuer_cn"] == "Test CA"
    assert info["sans"] == ["DNS:web1.example.test", "DNS:web1", "IP:172.30.100.9"]
    assert info["dns_names"] == ["web1.example.test", "web1"]
    assert info["ip_addresses"] == ["172.30.100.9"]
    assert info["days_left"] == 45
    assert info["seconds_left"] == 45 * 86400
    assert info["not_after"] == "2026-07-16T12:00:00Z"
    assert info["expired"] is False and info["not_yet_valid"] is False
    assert info["is_ca"] is False and info["self_signed"] is False
    assert info["ocsp_urls"] == ["http://ocsp.example.test"]
    assert info["public_key_type"] == "EC" and info["public_key_size"] == 256
    assert len(info["fingerprint_sha256"].split(":")) == 32


def test_info_takes_the_first_certificate_of_a_bundle_and_chain_info_all():
    bundle = pem(LEAF, CA)
    assert x509_filter.x509_info(bundle, now=NOW)["subject_cn"] == "web1.example.test"
    chain = x509_filter.x509_chain_info(bundle, now=NOW)
    assert [c["subject_cn"] for c in chain] == ["web1.example.test", "Test CA"]
    assert chain[1]["is_ca"] and chain[1]["self_signed"]


def test_now_accepts_epoch_seconds_and_naive_datetimes():
    epoch = (NOW - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)).total_seconds()
    assert x509_filter.x509_info(pem(LEAF), now=epoch)["days_left"] == 45
    assert x509_filter.x509_info(pem(LEAF), now=NOW.replace(tzinfo=None))["days_left"] == 45
    with pytest.raises(AnsibleFilterError, match="now must be"):
        x509_filter.x509_info(pem(LEAF), now="yesterday")


def test_expired_certificate_has_negative_days():
    info = x509_filter.x509_info(pem(LEAF), now=NOW + datetime.timedelta(days=46))
    assert info["expired"] is True
    assert info["days_left"] == -1


def test_chain_problems_empty_for_a_good_chain():
    assert x509_filter.x509_chain_problems(pem(LEAF, CA), now=NOW) == []


def test_chain_problems_reports_wrong_order():
    problems = x509_filter.x509_chain_problems(pem(CA, LEAF), now=NOW)
    assert len(problems) == 1
    assert "not issued by the next certificate" in problems[0]


def test_chain_problems_reports_a_forged_issuer_name():
    # Same issuer name, different key: only the signature check catches it.
    impostor = make_cert("Test CA", KEYS[2], ca=True, days=3650)
    problems = x509_filter.x509_chain_problems(pem(LEAF, impostor), now=NOW)
    assert any("not issued by" in p for p in problems)


def test_chain_problems_reports_expired_and_soon_expiring():
    assert any("expired on" in p for p in x509_filter.x509_chain_problems(pem(LEAF), now=NOW + datetime.timedelta(days=50)))
    assert any("within 60 days" in p for p in x509_filter.x509_chain_problems(pem(LEAF), now=NOW, min_days=60))
    future = make_cert("future", KEYS[1], start_days=5)
    assert any("not valid before" in p for p in x509_filter.x509_chain_problems(pem(future), now=NOW))


@pytest.mark.parametrize("bad", ["", "hello", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"])
def test_bad_input_is_a_clear_error(bad):
    with pytest.raises(AnsibleFilterError, match="x509"):
        x509_filter.x509_info(bad)
    assert x509_filter.x509_chain_problems(bad) != []


def test_non_text_input_is_a_clear_error():
    with pytest.raises(AnsibleFilterError, match="expected PEM text"):
        x509_filter.x509_info(42)


def test_filter_module_exports_the_filters():
    assert set(x509_filter.FilterModule().filters()) == {
        "x509_info", "x509_chain_info", "x509_chain_problems", "x509_invalid_names", "x509_invalid_ips"
    }


LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12).filter(lambda s: s[0].isalpha())
DNS_NAMES = st.lists(st.builds(lambda a, b: "%s.%s.test" % (a, b), LABEL, LABEL), min_size=0, max_size=4, unique=True)
IPS = st.lists(st.ip_addresses().map(str), min_size=0, max_size=3, unique=True)


@settings(max_examples=40, deadline=None)
@given(dns=DNS_NAMES, ips=IPS, days=st.integers(min_value=-400, max_value=4000), cn=LABEL)
def test_round_trip_of_generated_certificates(dns, ips, days, cn):
    start = min(days, 0) - 1
    cert = make_cert(cn, KEYS[1], "Test CA", KEYS[0], days=days, start_days=start, dns=dns, ips=ips)
    info = x509_filter.x509_info(pem(cert), now=NOW)
    assert info["subject_cn"] == cn
    assert info["dns_names"] == dns
    assert info["ip_addresses"] == [str(ipaddress.ip_address(i)) for i in ips]
    assert info["sans"] == ["DNS:" + d for d in dns] + ["IP:" + str(ipaddress.ip_address(i)) for i in ips]
    assert info["days_left"] == days
    assert info["expired"] == (days < 0)
    problems = x509_filter.x509_chain_problems(pem(cert, CA), now=NOW)
    assert (any("expired" in p for p in problems)) == (days < 0)
    assert not any("not issued by" in p for p in problems)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes(text):
    try:
        x509_filter.x509_info(text)
    except AnsibleFilterError:
        pass
    assert isinstance(x509_filter.x509_chain_problems(text), list)


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=1, max_size=200))
def test_garbage_inside_pem_armour_is_a_clear_error(payload):
    import base64

    text = "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % base64.b64encode(payload).decode()
    with pytest.raises(AnsibleFilterError, match="cannot be parsed"):
        x509_filter.x509_info(text)


# --- x509_invalid_names / x509_invalid_ips (issue 21: strict SAN validation) ---------------------

_LDH_LABEL = st.from_regex(r"\A[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
_NON_NUMERIC_LABEL = _LDH_LABEL.filter(lambda label: not label.isdigit())


@st.composite
def dns_names(draw):
    labels = draw(st.lists(_LDH_LABEL, min_size=0, max_size=4)) + [draw(_NON_NUMERIC_LABEL)]
    name = ".".join(labels)
    if draw(st.booleans()):
        name = "*." + name
    return name


@settings(max_examples=200, deadline=None)
@given(st.lists(dns_names().filter(lambda n: len(n) <= 253), max_size=5))
def test_generated_ldh_names_are_accepted(names):
    assert x509_filter.x509_invalid_names(names) == []


@pytest.mark.parametrize(
    "name",
    [
        "999.1.1.1",  # all-numeric final label: not a DNS name (and 999 is no octet)
        "1.2.3.4",  # an IPv4 address belongs in tls_certificate_ip_sans
        "example.123",
        "",
        "not a name!",
        "-lead.example.test",
        "trail-.example.test",
        "a..b",
        "example.test.",
        ".example.test",
        "*",
        "*.",
        "a.*.example.test",
        "**.example.test",
        "under_score.example.test",
        "x" * 64 + ".example.test",  # label of 64 characters
        ".".join(["a" * 63] * 4),  # 255 characters
        "caf\u00e9.example.test",  # not LDH (IDNs go in as A-labels: xn--caf-dma)
        "web1.example.test\n",
    ],
)
def test_bad_names_are_returned(name):
    assert x509_filter.x509_invalid_names(["web1.example.test", name]) == [name]


@pytest.mark.parametrize(
    "name", ["web1", "web1.example.test", "*.example.test", "xn--caf-dma.example.test", "1a.example.test", "123.example.t3st",
             ".".join(["a" * 63] * 3 + ["b" * 61])]
)
def test_good_names_pass(name):
    assert len(name) <= 253
    assert x509_filter.x509_invalid_names([name]) == []


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_garbage_names_are_refused_unless_ldh(text):
    bad = x509_filter.x509_invalid_names([text])
    is_ldh = x509_filter.is_dns_name(text)
    assert bad == ([] if is_ldh else [text])
    if is_ldh:  # whatever was accepted is plain ASCII letters, digits, hyphens and dots (and a leading '*.')
        assert set(text[2:] if text.startswith("*.") else text) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)), max_size=5))
def test_generated_ip_addresses_round_trip(addresses):
    texts = [str(a) for a in addresses] + [a.exploded for a in addresses]
    assert x509_filter.x509_invalid_ips(texts) == []
    # An address is never a DNS name.
    assert x509_filter.x509_invalid_names([str(a) for a in addresses]) == [str(a) for a in addresses]


@pytest.mark.parametrize("address", [":::", "999.1.1.1", "1.2.3", "1.2.3.4.5", "256.0.0.1", "::1::", "fe80::1%eth0x" * 2, "12345::", "", " 10.0.0.1", "web1"])
def test_bad_ips_are_returned(address):
    assert x509_filter.x509_invalid_ips(["10.0.0.1", address, "::1"]) == [address]


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40))
def test_invalid_ips_agrees_with_ipaddress(text):
    try:
        ipaddress.ip_address(text)
        valid = True
    except ValueError:
        valid = False
    assert x509_filter.x509_invalid_ips([text]) == ([] if valid else [text])


def test_invalid_names_and_ips_need_a_list():
    with pytest.raises(AnsibleFilterError, match="expects a list"):
        x509_filter.x509_invalid_names("web1.example.test")
    with pytest.raises(AnsibleFilterError, match="expects a list"):
        x509_filter.x509_invalid_ips("10.0.0.1")
    assert x509_filter.x509_invalid_names([None, 5]) == [None, 5]
    assert x509_filter.x509_invalid_ips([None, 5]) == [None, 5]


def test_filters_are_exported():
    filters = x509_filter.FilterModule().filters()
    assert filters["x509_invalid_names"] is x509_filter.x509_invalid_names
    assert filters["x509_invalid_ips"] is x509_filter.x509_invalid_ips
