#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: x509_sign
short_description: Sign a host's certificate request with the internal CA
version_added: "1.3.0"
description:
  - Runs on the CA host, for a request P(prodready.platform.x509_request#module) returned because
    the host's certificate is due. Checks the request's signature (the host holds the key) and
    issues a certificate for its public key.
  - The names and usages come from the task (O(common_name), O(subject_alt_names), O(key_usage),
    O(extended_key_usage)), not from the request, so a host cannot ask the CA for names it was not given.
  - Changes nothing on the CA host; the caller installs the certificate on the host. Reports
    changed, because a certificate was issued.
author: prodready.platform maintainers (@prodready)
requirements:
  - cryptography (python3-cryptography) on the CA host
extends_documentation_fragment:
  - prodready.platform.x509.profile
options:
  csr:
    description: The host's signing request (PEM).
    type: str
    required: true
  ca_private_key_path:
    description: The CA's private key.
    type: path
    required: true
  ca_certificate_path:
    description: The CA's certificate.
    type: path
    required: true
  passphrase:
    description: Passphrase of the CA key; empty for an unencrypted key.
    type: str
    default: ""
  common_name:
    description: Subject common name of the certificate.
    type: str
    required: true
  valid_days:
    description: Lifetime of the certificate, in days.
    type: int
    default: 365
  backdate_seconds:
    description: How far before now the certificate starts (clock differences between the hosts).
    type: int
    default: 3600
notes:
  - Supports check mode (it only reads, so it also signs in check mode) and diff mode.
"""

EXAMPLES = r"""
- name: Sign the host certificate with the CA
  prodready.platform.x509_sign:
    csr: "{{ tls_request.csr }}"
    ca_private_key_path: ~/.prodready/tls-ca/ca.key
    ca_certificate_path: ~/.prodready/tls-ca/ca.crt
    common_name: www.example.org
    subject_alt_names: [DNS:www.example.org]
    extended_key_usage: [serverAuth, clientAuth]
    valid_days: 365
  delegate_to: localhost
  when: tls_request.csr | length > 0
  register: tls_signed
"""

RETURN = r"""
certificate:
  description: The certificate issued (PEM).
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.prodready.platform.plugins.module_utils._crypto import files, x509
from ansible_collections.prodready.platform.plugins.module_utils.config_files import ItemError


def issue(params, now=None):
    """(certificate PEM, diff) for the request in ``params``."""
    csr = x509.load_request(params["csr"])
    key_data = files.read(params["ca_private_key_path"])
    ca_cert = x509.load_certificate(files.read(params["ca_certificate_path"]))
    if key_data is None or ca_cert is None:
        raise ItemError("the CA key %s or certificate %s is missing (run x509_ca first)" % (
            params["ca_private_key_path"], params["ca_certificate_path"]))
    ca_key = x509.load_key(key_data, params["passphrase"] or None)
    if not x509.belongs_to(ca_cert, ca_key):
        raise ItemError("the CA certificate %s does not belong to the CA key" % params["ca_certificate_path"])
    wanted = x509.profile(params["common_name"], params["subject_alt_names"], params["key_usage"],
                          params["extended_key_usage"])
    cert = x509.sign(csr, ca_cert, ca_key, wanted, params["valid_days"], params["backdate_seconds"], now)
    return x509.certificate_pem(cert), {"before": "", "after": x509.summary(cert, now)}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            x509.PROFILE_ARGS,
            csr=dict(type="str", required=True),
            ca_private_key_path=dict(type="path", required=True),
            ca_certificate_path=dict(type="path", required=True),
            passphrase=dict(type="str", default="", no_log=True),
            common_name=dict(type="str", required=True),
            valid_days=dict(type="int", default=365),
            backdate_seconds=dict(type="int", default=3600),
        ),
        supports_check_mode=True,
    )
    if x509.CRYPTOGRAPHY_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=x509.CRYPTOGRAPHY_IMPORT_ERROR)
    try:
        certificate, diff = issue(module.params)
    except (ItemError, x509.CryptoError, OSError) as exc:
        module.fail_json(msg="x509_sign: %s" % to_native(exc))
    result = dict(changed=True, certificate=certificate)
    if module._diff:
        result["diff"] = dict(diff, before_header="(new certificate)", after_header=module.params["common_name"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
