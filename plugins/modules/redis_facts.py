#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: redis_facts
short_description: Read what the redis role branches on (packages, exporter options, TLS source files)
version_added: "1.2.0"
description:
  - Read-only. Reports which of O(packages) are missing, whether the Redis exporter binary is there and
    whether its C(--help) offers basic auth (Debian 12's 1.45 does not), and which of O(files) are
    missing, so that the role can refuse TLS source files that are not on the host before it changes anything.
  - Used by the C(prodready.platform.redis) role; it never changes anything.
author: prodready.platform maintainers (@prodready)
options:
  packages:
    description: Debian package names to report as missing or installed.
    type: list
    elements: str
    default: []
  exporter_binary:
    description: The Redis exporter binary whose C(--help) tells whether it offers basic auth.
    type: path
  files:
    description: Files that must exist on the host (TLS certificate, key and CA sources).
    type: list
    elements: path
    default: []
notes:
  - Supports check mode (it only reads).
"""

EXAMPLES = r"""
- name: Read the Redis packages, exporter options and TLS source files
  prodready.platform.redis_facts:
    packages: [redis-server, prometheus-redis-exporter]
    exporter_binary: /usr/bin/prometheus-redis-exporter
    files: [/etc/ssl/redis/redis.crt]
  register: redis_host
"""

RETURN = r"""
packages_missing:
  description: The names of O(packages) that are not installed.
  returned: always
  type: list
  elements: str
exporter:
  description: The Redis exporter binary.
  returned: always
  type: dict
  contains:
    present: {description: Whether the binary is a file., type: bool}
    help_rc: {description: Exit code of C(--help) (null when absent)., type: int}
    basic_auth: {description: Whether it offers C(-basic-auth-username) / C(-basic-auth-password)., type: bool}
files_missing:
  description: The paths of O(files) that are not regular files.
  returned: always
  type: list
  elements: str
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.prodready.platform.plugins.module_utils._observability.host import binary_help, missing_packages

BASIC_AUTH_RE = re.compile(r"-basic-auth-username\b")


def read(params):
    present, help_rc, help_text = binary_help(params.get("exporter_binary"))
    return {
        "packages_missing": missing_packages(params["packages"]),
        "exporter": {"present": present, "help_rc": help_rc,
                     "basic_auth": BASIC_AUTH_RE.search(help_text) is not None},
        "files_missing": [path for path in params["files"] if not os.path.isfile(path)],
    }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            packages=dict(type="list", elements="str", default=[]),
            exporter_binary=dict(type="path"),
            files=dict(type="list", elements="path", default=[]),
        ),
        supports_check_mode=True,
    )
    module.exit_json(changed=False, **read(module.params))


if __name__ == "__main__":
    main()
