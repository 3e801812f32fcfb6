#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: tls_facts
short_description: Read which of the tls role's packages are missing
version_added: "1.2.0"
description:
  - Read-only. Reports which of O(packages) are not installed. The C(prodready.platform.tls) role
    installs them only then (a converged host needs no network), and in check mode on a host where
    they are missing it skips what needs them (nginx -t, key generation, the units).
  - Everything else the role decides is left to the modules that act (the crypto modules compare the
    key and certificate, P(prodready.platform.config_files#module) the files,
    P(prodready.platform.units#module) the units).
author: prodready.platform maintainers (@prodready)
options:
  packages:
    description: Debian package names.
    type: list
    elements: str
    default: []
notes:
  - Supports check mode (it only reads).
"""

EXAMPLES = r"""
- name: Read which of nginx, cryptography and the trust store tools are missing
  prodready.platform.tls_facts:
    packages: [nginx, python3-cryptography, ca-certificates, openssl]
  register: tls_host
"""

RETURN = r"""
packages_missing:
  description: Those of O(packages) that dpkg does not report installed, in the order given.
  returned: always
  type: list
  elements: str
  sample: [nginx]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.prodready.platform.plugins.module_utils._observability.host import missing_packages


def read(params):
    return {"packages_missing": missing_packages(params["packages"])}


def main():
    module = AnsibleModule(
        argument_spec=dict(packages=dict(type="list", elements="str", default=[])),
        supports_check_mode=True,
    )
    module.exit_json(changed=False, **read(module.params))


if __name__ == "__main__":
    main()
