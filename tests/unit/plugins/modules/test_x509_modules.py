# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""x509_ca, x509_request and x509_sign on real files with the real cryptography library: a CA and
a host certificate are made, kept on the next run, and issued anew exactly when something differs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import grp
import os
import pwd
import stat

import pytest
from hypothesis import given, settings, strategies as st

from cryptography import x509 as cx509

from ansible_collections.prodready.platform.plugins.module_utils._crypto import x509
from ansible_collections.prodready.platform.plugins.module_utils.config_files import ItemError
from ansible_collections.prodready.platform.plugins.modules import x509_ca, x509_request, x509_sign

LATER = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=400)


def ca_params(tmp_path, **kw):
    params = dict(directories=[{"path": str(tmp_path / "ca"), "mode": "0700"}],
                  private_key_path=str(tmp_path / "ca" / "ca.key"), certificate_path=str(tmp_path / "ca" / "ca.crt"),
                  common_name="test CA", curve="secp384r1", valid_days=3650, renew_before_days=0, passphrase="")
    params.update(kw)
    return params


def request_params(tmp_path, ca_pem="", **kw):
    params = dict(directories=[{"path": str(tmp_path / "host"), "mode": "0755"},
                               {"path": str(tmp_path / "host" / "private"), "mode": "0700"}],
                  private_key_path=str(tmp_path / "host" / "private" / "tls.key"), private_key_type="ECC",
                  curve="secp256r1", size=2048, mode="0600", owner=pwd.getpwuid(os.getuid()).pw_name,
                  group=grp.getgrgid(os.getgid()).gr_name, certificate_path=str(tmp_path / "host" / "tls.crt"),
                  common_name="www.example.org", subject_alt_names=["DNS:www.example.org", "IP:192.0.2.10"],
                  key_usage=["digitalSignature"], extended_key_usage=["serverAuth", "clientAuth"],
                  ca_certificate=ca_pem, renew_before_days=30, force=False)
    params.update(kw)
    return params


def sign_params(tmp_path, csr, **kw):
    params = dict(csr=csr, ca_private_key_path=str(tmp_path / "ca" / "ca.key"),
                  ca_certificate_path=str(tmp_path / "ca" / "ca.crt"), passphrase="",
                  common_name="www.example.org", subject_alt_names=["DNS:www.example.org", "IP:192.0.2.10"],
                  key_usage=["digitalSignature"], extended_key_usage=["serverAuth", "clientAuth"],
                  valid_days=365, backdate_seconds=3600)
    params.update(kw)
    return params


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def converge_host(tmp_path, ca_pem, **kw):
    """One round as the roles run it: request, sign when due, install. Returns the request result."""
    result, ignored1 = x509_request.request(request_params(tmp_path, ca_pem, **kw), False)
    if result["csr"]:
        certificate, ignored1 = x509_sign.issue(sign_params(tmp_path, result["csr"]))
        (tmp_path / "host" / "tls.crt").write_text(certificate)
    return result


def test_ca_is_made_once_and_then_only_read(tmp_path):
    reasons, pem, diff = x509_ca.ensure_ca(ca_params(tmp_path), False)
    assert reasons == ["directory", "key created", "missing"]
    assert mode_of(tmp_path / "ca") == 0o700 and mode_of(tmp_path / "ca" / "ca.key") == 0o600
    assert (tmp_path / "ca" / "ca.crt").read_text() == pem
    cert = cx509.load_pem_x509_certificate(pem.encode())
    constraints = cert.extensions.get_extension_for_class(cx509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    assert cert.extensions.get_extension_for_class(cx509.KeyUsage).value.key_cert_sign
    assert "test CA" in diff["after"]
    again = x509_ca.ensure_ca(ca_params(tmp_path), False)
    assert again[0] == [] and again[1] == pem


def test_ca_check_mode_on_a_fresh_host_touches_nothing(tmp_path):
    reasons, pem, ignored2 = x509_ca.ensure_ca(ca_params(tmp_path), True)
    assert reasons == ["directory", "key created"] and pem == ""
    assert not (tmp_path / "ca").exists()


def test_expired_ca_certificate_is_issued_anew_with_the_same_key(tmp_path):
    ignored0, old_pem, ignored2 = x509_ca.ensure_ca(ca_params(tmp_path, valid_days=1), False)
    key_before = (tmp_path / "ca" / "ca.key").read_bytes()
    reasons, pem, diff = x509_ca.ensure_ca(ca_params(tmp_path, renew_before_days=2), True)
    assert reasons == ["expiry"] and pem == old_pem  # check mode: the one on disk still signs
    reasons, pem, diff = x509_ca.ensure_ca(ca_params(tmp_path), False, now=LATER - datetime.timedelta(days=390))
    assert reasons == ["expiry"] and pem != old_pem
    assert (tmp_path / "ca" / "ca.key").read_bytes() == key_before
    assert diff["before"] != diff["after"]


def test_ca_mode_drift_is_repaired_without_a_new_certificate(tmp_path):
    ignored0, pem, ignored2 = x509_ca.ensure_ca(ca_params(tmp_path), False)
    os.chmod(str(tmp_path / "ca" / "ca.key"), 0o644)
    os.chmod(str(tmp_path / "ca"), 0o755)
    reasons, again, ignored2 = x509_ca.ensure_ca(ca_params(tmp_path), False)
    assert reasons == ["directory", "key mode"] and again == pem
    assert mode_of(tmp_path / "ca" / "ca.key") == 0o600 and mode_of(tmp_path / "ca") == 0o700


def test_ca_key_with_a_passphrase_and_a_wrong_one_fails_and_is_kept(tmp_path):
    x509_ca.ensure_ca(ca_params(tmp_path, passphrase="correct horse"), False)
    data = (tmp_path / "ca" / "ca.key").read_bytes()
    assert b"ENCRYPTED" in data
    assert x509_ca.ensure_ca(ca_params(tmp_path, passphrase="correct horse"), False)[0] == []
    with pytest.raises(ItemError, match="cannot be read as the CA key"):
        x509_ca.ensure_ca(ca_params(tmp_path, passphrase="wrong"), False)
    assert (tmp_path / "ca" / "ca.key").read_bytes() == data


def test_host_certificate_round_trip_then_one_read(tmp_path):
    ignored0, ca_pem, ignored2 = x509_ca.ensure_ca(ca_params(tmp_path), False)
    first = converge_host(tmp_path, ca_pem)
    assert first["due"] and first["reasons"] == ["missing"]
    assert first["key_reasons"] == ["directory", "key created"]
    assert mode_of(tmp_path / "host" / "private" / "tls.key") == 0o600
    second, diff = x509_request.request(request_params(tmp_path, ca_pem), False)
    assert not second["due"] and second["csr"] == "" and second["key_reasons"] == []
    assert second["certificate"] == (tmp_path / "host" / "tls.crt").read_text()
    cert = cx509.load_pem_x509_certificate(second["certificate"].encode())
    ca_cert = cx509.load_pem_x509_certificate(ca_pem.encode())
    assert x509.issued_by(cert, ca_cert)
    sans = cert.extensions.get_extension_for_class(cx509.SubjectAlternativeName).value
    assert sorted(str(n.value) for n in sans) == ["192.0.2.10", "www.example.org"]
    assert not cert.extensions.get_extension_for_class(cx509.BasicConstraints).value.ca


@pytest.mark.parametrize("change, reason", [
    ({"subject_alt_names": ["DNS:www.example.org", "DNS:api.example.org"]}, "names"),
    ({"extended_key_usage": ["serverAuth"]}, "extended key usage"),
    ({"key_usage": ["digitalSignature", "keyEncipherment"]}, "key usage"),
    ({"renew_before_days": 400}, "expiry"),
    ({"force": True}, "forced"),
])
def test_host_certificate_is_due_exactly_when_something_differs(tmp_path, change, reason):
    ignored0, ca_pem, ignored2 = x509_ca.ensure_ca(ca_params(tmp_path), False)
    converge_host(tmp_path, ca_pem)
    result, ignored1 = x509_request.request(request_params(tmp_path, ca_pem, **change), False)
    assert result["due"] and result["reasons"] == [reason] and result["csr"].startswith("-----BEGIN CERTIFICATE REQUEST")
    assert result["key_reasons"] == []


def test_another_ca_makes_the_certificate_due(tmp_path):
    ignored0, ca_pem, ignored2 = x509_ca.ensure_ca(ca_params(tmp_path), False)
    converge_host(tmp_path, ca_pem)
    ignored0, other_ca, ignored2 = x509_ca.ensure_ca(ca_params(tmp_path / "other"), False)
    result, ignored1 = x509_request.request(request_params(tmp_path, other_ca), False)
    assert result["reasons"] == ["issuer"]


def test_a_key_of_another_type_is_made_anew_and_check_mode_leaves_it(tmp_path):
    ignored0, ca_pem, ignored2 = x509_ca.ensure_ca(ca_params(tmp_path), False)
    converge_host(tmp_path, ca_pem)
    key_before = (tmp_path / "host" / "private" / "tls.key").read_bytes()
    result, ignored1 = x509_request.request(request_params(tmp_path, ca_pem, private_key_type="RSA"), True)
    assert result["key_reasons"] == ["key type"] and result["due"] and result["csr"] == ""
    assert (tmp_path / "host" / "private" / "tls.key").read_bytes() == key_before
    result = converge_host(tmp_path, ca_pem, private_key_type="RSA", key_usage=["digitalSignature", "keyEncipherment"])
    assert result["reasons"][0] == "key"
    assert b"RSA PRIVATE KEY" in (tmp_path / "host" / "private" / "tls.key").read_bytes()


def test_check_mode_on_a_fresh_host_makes_nothing(tmp_path):
    result, ignored1 = x509_request.request(request_params(tmp_path), True)
    assert result["due"] and result["csr"] == "" and result["key_reasons"] == ["directory", "key created"]
    assert not (tmp_path / "host").exists()


def test_the_ca_signs_its_own_profile_not_the_names_a_request_asks_for(tmp_path):
    ignored0, ca_pem, ignored2 = x509_ca.ensure_ca(ca_params(tmp_path), False)
    key = x509.generate_key("ECC")
    csr = x509.build_request(key, x509.profile("evil", ["DNS:bank.example"], ["keyCertSign"], ["serverAuth"]))
    pem, diff = x509_sign.issue(sign_params(tmp_path, csr))
    cert = cx509.load_pem_x509_certificate(pem.encode())
    wanted = x509.profile("www.example.org", ["DNS:www.example.org", "IP:192.0.2.10"], ["digitalSignature"],
                          ["serverAuth", "clientAuth"])
    assert x509.differences(cert, wanted) == [] and x509.belongs_to(cert, key)
    assert "www.example.org" in diff["after"]


def test_sign_refuses_a_missing_ca_and_a_bad_request(tmp_path):
    key = x509.generate_key("ECC")
    csr = x509.build_request(key, x509.profile("a", ["DNS:a"], ["digitalSignature"], ["serverAuth"]))
    with pytest.raises(ItemError, match="missing"):
        x509_sign.issue(sign_params(tmp_path, csr))
    with pytest.raises(x509.CryptoError):
        x509_sign.issue(sign_params(tmp_path, "not a request"))


def test_issued_by_without_verify_directly_issued_by(tmp_path):
    """Debian 12's cryptography (38) has no verify_directly_issued_by: the signature is checked by hand."""
    ignored0, ca_pem, ignored2 = x509_ca.ensure_ca(ca_params(tmp_path), False)
    converge_host(tmp_path, ca_pem)
    cert = cx509.load_pem_x509_certificate((tmp_path / "host" / "tls.crt").read_bytes())
    ca_cert = cx509.load_pem_x509_certificate(ca_pem.encode())

    class Old(object):
        def __init__(self, wrapped):
            for name in ("issuer", "signature", "tbs_certificate_bytes", "signature_hash_algorithm"):
                setattr(self, name, getattr(wrapped, name))

    assert x509.issued_by(Old(cert), ca_cert)
    other = cx509.load_pem_x509_certificate(x509_ca.ensure_ca(ca_params(tmp_path / "o", common_name="test CA"), False)[1].encode())
    assert not x509.issued_by(Old(cert), other)


def test_bad_subject_alt_name_is_refused():
    with pytest.raises(x509.CryptoError, match="not an IP address"):
        x509.profile("a", ["IP:999.1.1.1"])
    with pytest.raises(x509.CryptoError, match="expected DNS"):
        x509.profile("a", ["www.example.org"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.ip_addresses().map(lambda ip: "IP:%s" % ip),
                          st.from_regex(r"\A[a-z][a-z0-9]{0,10}(\.[a-z][a-z0-9]{0,10}){1,3}\Z").map(lambda n: "DNS:" + n)),
                min_size=1, max_size=5))
def test_names_round_trip_through_a_certificate(names):
    """Whatever names the role asks for, a certificate issued for them carries exactly them
    (IPv6 in any spelling, DNS names in any case): a converged host is never due for its names."""
    key = x509.generate_key("ECC")
    wanted = x509.profile(names[0][4:] if names[0].startswith("DNS:") else "host", names, ["digitalSignature"], ["serverAuth"])
    cert = x509.self_signed_ca(key, wanted, 1)  # self-signed, but with the leaf's profile
    assert x509.differences(cert, wanted) == []
    respelled = ["DNS:" + n[4:].upper() if n.startswith("DNS:") else n for n in names]
    assert x509.profile(wanted["common_name"], respelled, ["digitalSignature"], ["serverAuth"])["sans"] == wanted["sans"]
