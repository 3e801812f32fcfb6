#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: x509_ca
short_description: Ensure an internal CA (its key and self-signed certificate) in one run
version_added: "1.3.0"
description:
  - Makes sure the CA's directories exist at their modes, its private key exists (ECC, 0600) and its
    self-signed certificate belongs to that key, carries the CA profile (O(common_name), CA:TRUE
    with path length 0, keyCertSign and cRLSign) and has more than O(renew_before_days) days left.
  - Reads the key and the certificate, decides, and acts only on what differs; a converged CA is one
    read. A certificate issued anew keeps the key, so the certificates the CA signed stay valid.
  - A key that exists but cannot be read (another passphrase, not a key) fails the task rather than
    being replaced, because a new CA key would invalidate every certificate the CA signed.
  - Returns the CA certificate for the hosts that trust it and for
    P(prodready.platform.x509_request#module) and P(prodready.platform.x509_sign#module).
author: prodready.platform maintainers (@prodready)
requirements:
  - cryptography (python3-cryptography) on the host the task runs on
extends_documentation_fragment:
  - prodready.platform.x509.directories
options:
  private_key_path:
    description: The CA's private key (PEM). Written 0600.
    type: path
    required: true
  certificate_path:
    description: The CA's self-signed certificate (PEM). Written 0644.
    type: path
    required: true
  common_name:
    description: The CA's subject common name.
    type: str
    required: true
  curve:
    description: The curve of a new CA key.
    type: str
    choices: [secp256r1, secp384r1, secp521r1]
    default: secp384r1
  valid_days:
    description: Lifetime of a new CA certificate, in days.
    type: int
    default: 3650
  renew_before_days:
    description: Issue the CA certificate anew when fewer days than this are left (0 when it expired).
    type: int
    default: 0
  passphrase:
    description: Passphrase of the CA key (encrypted PKCS#8); empty for an unencrypted key.
    type: str
    default: ""
notes:
  - Supports check mode and diff mode. In check mode a CA whose key would be created returns an
    empty RV(certificate) (there is nothing to sign with yet).
"""

EXAMPLES = r"""
- name: Ensure the internal CA on the controller
  prodready.platform.x509_ca:
    directories:
      - {path: ~/.prodready/tls-ca, mode: "0700"}
    private_key_path: ~/.prodready/tls-ca/ca.key
    certificate_path: ~/.prodready/tls-ca/ca.crt
    common_name: prodready internal CA
    valid_days: 3650
  delegate_to: localhost
  run_once: true
  register: tls_ca
"""

RETURN = r"""
certificate:
  description: The CA certificate in force (PEM); empty in check mode when the key is still to be made.
  returned: always
  type: str
reasons:
  description: >-
    What was (or in check mode would be) done: C(directory) (a directory created or its mode fixed),
    C(key created), C(key mode), C(certificate mode), and why the certificate was issued anew: C(missing), C(key), the
    profile's C(subject), C(key usage), C(basic constraints), C(expiry).
  returned: always
  type: list
  elements: str
  sample: [expiry]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.prodready.platform.plugins.module_utils._crypto import files, x509
from ansible_collections.prodready.platform.plugins.module_utils.config_files import ItemError


def fresh_check(params):
    """A check run where the CA key is still to be made: what would be done (no crypto needed)."""
    reasons = ["directory"] if files.ensure_directories(params["directories"], True) else []
    return reasons + ["key created"], "", {"before": "(no CA)\n", "after": "a new CA key and certificate for %s\n" % params["common_name"]}


def ensure_ca(params, check_mode, now=None):
    """(reasons, certificate PEM, diff) of one CA run."""
    key_path, cert_path = params["private_key_path"], params["certificate_path"]
    key_data = files.read(key_path)
    if key_data is None and check_mode:
        return fresh_check(params)
    reasons = ["directory"] if files.ensure_directories(params["directories"], check_mode) else []
    wanted = x509.profile(params["common_name"], key_usage=x509.CA_KEY_USAGE, is_ca=True)
    passphrase = params["passphrase"] or None

    if key_data is None:
        reasons.append("key created")
        key = x509.generate_key("ECC", curve=params["curve"])
        files.write(key_path, x509.key_pem(key, passphrase), 0o600)
    else:
        try:
            key = x509.load_key(key_data, passphrase)
        except x509.CryptoError as exc:
            raise ItemError("%s cannot be read as the CA key with the given passphrase (%s); it is kept: "
                            "a new CA key would invalidate every certificate it signed" % (key_path, exc))
        if files.attribute_reasons(key_path, 0o600):
            reasons.append("key mode")
            if not check_mode:
                files.fix_attributes(key_path, 0o600)

    cert = x509.load_certificate(files.read(cert_path))
    due = x509.due_reasons(cert, key, wanted, renew_before_days=params["renew_before_days"], now=now)
    diff = {"before": x509.summary(cert, now), "after": x509.summary(cert, now)}
    if due:
        reasons.extend(due)
        new = x509.self_signed_ca(key, wanted, params["valid_days"], now=now)
        diff["after"] = x509.summary(new, now)
        if check_mode:
            # The certificate on disk still signs until the real run replaces it.
            return reasons, x509.certificate_pem(cert) if cert is not None else "", diff
        files.write(cert_path, x509.certificate_pem(new).encode("ascii"), 0o644)
        cert = new
    elif files.attribute_reasons(cert_path, 0o644):
        reasons.append("certificate mode")
        if not check_mode:
            files.fix_attributes(cert_path, 0o644)
    return reasons, x509.certificate_pem(cert), diff


def main():
    module = AnsibleModule(
        argument_spec=dict(
            x509.DIRECTORIES_ARGS,
            private_key_path=dict(type="path", required=True),
            certificate_path=dict(type="path", required=True),
            common_name=dict(type="str", required=True),
            curve=dict(type="str", choices=list(x509.CURVES), default="secp384r1"),
            valid_days=dict(type="int", default=3650),
            renew_before_days=dict(type="int", default=0),
            passphrase=dict(type="str", default="", no_log=True),
        ),
        supports_check_mode=True,
    )
    try:
        if x509.CRYPTOGRAPHY_IMPORT_ERROR:
            # A check run on a fresh CA host (python3-cryptography not installed yet) needs no crypto.
            if not (module.check_mode and files.read(module.params["private_key_path"]) is None):
                module.fail_json(msg=missing_required_lib("cryptography"), exception=x509.CRYPTOGRAPHY_IMPORT_ERROR)
            reasons, certificate, diff = fresh_check(module.params)
        else:
            reasons, certificate, diff = ensure_ca(module.params, module.check_mode)
    except (ItemError, x509.CryptoError, OSError) as exc:
        module.fail_json(msg="x509_ca: %s" % to_native(exc))
    result = dict(changed=bool(reasons), certificate=certificate, reasons=reasons)
    if module._diff and reasons:
        result["diff"] = dict(diff, before_header=module.params["certificate_path"], after_header=module.params["certificate_path"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
