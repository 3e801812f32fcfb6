#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: x509_request
short_description: Ensure a host's private key and request a certificate only when the current one is due
version_added: "1.3.0"
description:
  - Runs on the host that serves with the key, which never leaves it. In one run it makes sure the
    key exists with the asked type, curve or size, mode, owner and group (made anew only when it is
    missing or of another type), reads the certificate in use and decides whether it is due.
  - A certificate is due when it is missing or unreadable, belongs to another key, was not signed
    by O(ca_certificate), carries other names or usages than asked (O(common_name),
    O(subject_alt_names), O(key_usage), O(extended_key_usage), CA:FALSE), has fewer than
    O(renew_before_days) days left, or O(force) is set.
  - When it is due the module returns a signing request (RV(csr)), which
    P(prodready.platform.x509_sign#module) turns into a certificate on the CA host; when it is not,
    the certificate in use (RV(certificate)). A converged host is one run of this module.
  - Reports changed only for what it did itself (the key, its attributes, the directories); the
    certificate is installed by the caller.
author: prodready.platform maintainers (@prodready)
requirements:
  - cryptography (python3-cryptography) on the host
extends_documentation_fragment:
  - prodready.platform.x509.directories
  - prodready.platform.x509.profile
options:
  private_key_path:
    description: The host's private key (PEM, unencrypted, because the server reads it at start).
    type: path
    required: true
  private_key_type:
    description: Type of the key.
    type: str
    choices: [ECC, RSA]
    default: ECC
  curve:
    description: Curve of an ECC key.
    type: str
    choices: [secp256r1, secp384r1, secp521r1]
    default: secp256r1
  size:
    description: Size in bits of an RSA key.
    type: int
    default: 2048
  mode:
    description: Mode of the key, octal text.
    type: str
    default: "0600"
  owner:
    description: Owner of the key; left alone when not set.
    type: str
  group:
    description: Group of the key; left alone when not set.
    type: str
  certificate_path:
    description: The certificate in use (read only; the caller installs a new one).
    type: path
    required: true
  common_name:
    description: Subject common name the certificate carries.
    type: str
    required: true
  ca_certificate:
    description: The CA certificate (PEM) that must have signed the certificate in use; not checked when empty.
    type: str
    default: ""
  renew_before_days:
    description: The certificate is due when fewer days than this are left.
    type: int
    default: 30
  force:
    description: Request a new certificate whatever the current one is (an operator drill).
    type: bool
    default: false
notes:
  - Supports check mode and diff mode. In check mode a key that would be made anew yields no
    RV(csr) (there is no key to sign the request with yet).
"""

EXAMPLES = r"""
- name: Make the host key and request a certificate when the current one is due
  prodready.platform.x509_request:
    directories:
      - {path: /etc/ssl/prodready, mode: "0755"}
      - {path: /etc/ssl/prodready/private, mode: "0700"}
    private_key_path: /etc/ssl/prodready/private/tls.key
    certificate_path: /etc/ssl/prodready/tls.crt
    common_name: www.example.org
    subject_alt_names: [DNS:www.example.org, IP:192.0.2.10]
    key_usage: [digitalSignature]
    extended_key_usage: [serverAuth, clientAuth]
    ca_certificate: "{{ tls_ca.certificate }}"
    renew_before_days: 30
  register: tls_request
"""

RETURN = r"""
due:
  description: Whether a new certificate is needed (RV(reasons) says why).
  returned: always
  type: bool
csr:
  description: The signing request (PEM) when RV(due), else empty (also empty in check mode when the key is still to be made).
  returned: always
  type: str
certificate:
  description: The certificate in use (PEM) when it is kept, else empty.
  returned: always
  type: str
reasons:
  description: >-
    Why the certificate is due: C(missing), C(key), C(issuer), C(subject), C(names), C(key usage),
    C(extended key usage), C(basic constraints), C(expiry), C(forced).
  returned: always
  type: list
  elements: str
  sample: [names]
key_reasons:
  description: What was (or in check mode would be) done to the key and directories
    (C(directory), C(key created), C(key type), C(mode), C(owner), C(group)).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.prodready.platform.plugins.module_utils._crypto import files, x509
from ansible_collections.prodready.platform.plugins.module_utils.config_files import ItemError, parse_mode


def ensure_key(params, check_mode):
    """(key or None in check mode when it is to be made, reasons)."""
    path = params["private_key_path"]
    mode = parse_mode(params["mode"], "0600")
    uid, gid = files.wanted_ids(params.get("owner"), params.get("group"))
    spec = dict(key_type=params["private_key_type"], curve=params["curve"], size=params["size"])
    data = files.read(path)
    key = None
    if data is not None:
        try:
            key = x509.load_key(data)
        except x509.CryptoError:
            key = None
    if key is not None and x509.key_fits(key, **spec):
        reasons = files.attribute_reasons(path, mode, uid, gid)
        if reasons and not check_mode:
            files.fix_attributes(path, mode, uid, gid)
        return key, reasons
    reasons = ["key created" if data is None else "key type"]
    if check_mode:
        return None, reasons
    key = x509.generate_key(**spec)
    files.write(path, x509.key_pem(key), mode, uid, gid)
    return key, reasons


def request(params, check_mode, now=None):
    """The result of one run (without ``changed``) and its diff."""
    key_reasons = ["directory"] if files.ensure_directories(params["directories"], check_mode) else []
    wanted = x509.profile(params["common_name"], params["subject_alt_names"], params["key_usage"],
                          params["extended_key_usage"])
    ca_cert = None
    if params["ca_certificate"]:
        ca_cert = x509.load_certificate(params["ca_certificate"].encode("ascii"))
        if ca_cert is None:
            raise ItemError("ca_certificate is not a PEM certificate")
    key, done = ensure_key(params, check_mode)
    key_reasons.extend(done)
    cert = x509.load_certificate(files.read(params["certificate_path"]))
    reasons = x509.due_reasons(cert, key, wanted, ca_cert, params["renew_before_days"], now)
    if key is None and cert is not None and "key" not in reasons:
        reasons.insert(0, "key")  # the key is made anew in the real run: no certificate fits it yet
    if params["force"]:
        reasons.append("forced")
    result = dict(due=bool(reasons), reasons=reasons, key_reasons=key_reasons, csr="", certificate="")
    if reasons:
        result["csr"] = x509.build_request(key, wanted) if key is not None else ""
    else:
        result["certificate"] = x509.certificate_pem(cert)
    diff = {"before": "key: %s\ncertificate: %s" % (", ".join(key_reasons) or "kept", x509.summary(cert, now)),
            "after": "key: %s\ncertificate: %s\n" % (
                "made or fixed" if key_reasons else "kept", ("due (%s)" % ", ".join(reasons)) if reasons else "kept")}
    return result, diff


def main():
    module = AnsibleModule(
        argument_spec=dict(
            x509.DIRECTORIES_ARGS,
            **x509.PROFILE_ARGS,
            private_key_path=dict(type="path", required=True),
            private_key_type=dict(type="str", choices=["ECC", "RSA"], default="ECC"),
            curve=dict(type="str", choices=list(x509.CURVES), default="secp256r1"),
            size=dict(type="int", default=2048),
            mode=dict(type="str", default="0600"),
            owner=dict(type="str"),
            group=dict(type="str"),
            certificate_path=dict(type="path", required=True),
            common_name=dict(type="str", required=True),
            ca_certificate=dict(type="str", default=""),
            renew_before_days=dict(type="int", default=30),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    if x509.CRYPTOGRAPHY_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=x509.CRYPTOGRAPHY_IMPORT_ERROR)
    try:
        result, diff = request(module.params, module.check_mode)
    except (ItemError, x509.CryptoError, OSError) as exc:
        module.fail_json(msg="x509_request: %s" % to_native(exc))
    result["changed"] = bool(result["key_reasons"])
    if module._diff and (result["key_reasons"] or result["due"]):
        result["diff"] = dict(diff, before_header=module.params["private_key_path"], after_header=module.params["private_key_path"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
