#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: tls_facts
short_description: Read which of the tls role's packages are missing and which schedules systemd refuses
version_added: "1.2.0"
description:
  - Read-only. Reports which of O(packages) are not installed. The C(prodready.platform.tls) role
    installs them only then (a converged host needs no network), and in check mode on a host where
    they are missing it skips what needs them (nginx -t, key generation, the units).
  - Which of O(calendars) the host's systemd cannot parse (C(systemd-analyze calendar)); the role
    refuses those before any change, so a typo never leaves a timer systemd refuses to load.
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
  calendars:
    description: systemd calendar expressions (the renewal and metric timers' C(OnCalendar=)) to check.
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
    calendars: ["*-*-* 03,15:00:00", hourly]
  register: tls_host
"""

RETURN = r"""
packages_missing:
  description: Those of O(packages) that dpkg does not report installed, in the order given.
  returned: always
  type: list
  elements: str
  sample: [nginx]
bad_calendars:
  description: The expressions of O(calendars) systemd cannot parse, each with systemd's message.
  returned: always
  type: list
  elements: dict
  sample: [{"calendar": "every tuesday", "message": "Failed to parse calendar specification 'every tuesday': Invalid argument"}]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.prodready.platform.plugins.module_utils._observability.host import missing_packages
from ansible_collections.prodready.platform.plugins.module_utils._systemd.calendar import bad_calendars


def read(params, runner):
    return {
        "packages_missing": missing_packages(params["packages"]),
        "bad_calendars": bad_calendars(params["calendars"], runner),
    }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            packages=dict(type="list", elements="str", default=[]),
            calendars=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    module.exit_json(changed=False, **read(module.params, lambda argv: module.run_command(argv, errors="surrogate_then_replace")))


if __name__ == "__main__":
    main()
