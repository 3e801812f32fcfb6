#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: monitoring_facts
short_description: Read which monitoring packages are missing and whether promtool is there
version_added: "1.2.0"
description:
  - Read-only. Reports which of O(packages) are not installed (the role then refreshes the package
    lists, which fresh images ship without, and installs them) and whether O(promtool) is an
    executable, that is whether the packages really are installed and not only planned in check mode
    (the configuration is validated with promtool, amtool and the blackbox exporter then).
  - Used by the C(prodready.platform.monitoring) role; it never changes anything.
author: prodready.platform maintainers (@prodready)
options:
  packages:
    description: Debian package names.
    type: list
    elements: str
    default: []
  promtool:
    description: Path of promtool.
    type: path
    default: /usr/bin/promtool
notes:
  - Supports check mode (it only reads).
"""

EXAMPLES = r"""
- name: Read which monitoring packages are missing
  prodready.platform.monitoring_facts:
    packages: [prometheus, prometheus-alertmanager]
  register: monitoring_host
"""

RETURN = r"""
packages_missing:
  description: The monitoring packages (of O(packages)) to install.
  type: list
  elements: str
  returned: always
  sample: [prometheus-alertmanager]
promtool:
  description: Whether O(promtool) is an executable file.
  returned: always
  type: bool
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.prodready.platform.plugins.module_utils._observability.host import missing_packages


def read(params):
    return {
        "packages_missing": missing_packages(params["packages"]),
        "promtool": os.path.isfile(params["promtool"]) and os.access(params["promtool"], os.X_OK),
    }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            packages=dict(type="list", elements="str", default=[]),
            promtool=dict(type="path", default="/usr/bin/promtool"),
        ),
        supports_check_mode=True,
    )
    module.exit_json(changed=False, **read(module.params))


if __name__ == "__main__":
    main()
