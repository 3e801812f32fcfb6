#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: exporters_facts
short_description: Read what the exporters role branches on (packages, exporter options, password hashes)
version_added: "1.2.0"
description:
  - Read-only. Reports which of O(packages) are installed, whether the node_exporter and nginx exporter
    binaries are there and which collectors and flags their C(--help) offers (an upgrade outside
    Ansible changes them), whether nginx is installed, and the bcrypt hashes in the files that hold
    the exporter password's hash, so that the role keeps a hash that still verifies the password
    (filter P(prodready.platform.bcrypt_hash#filter)).
  - Used by the C(prodready.platform.exporters) role; it never changes anything.
author: prodready.platform maintainers (@prodready)
options:
  packages:
    description: Debian package names to report as installed or missing.
    type: list
    elements: str
    default: []
  node_binary:
    description: The node_exporter binary whose C(--help) lists its collectors.
    type: path
  nginx_exporter_binary:
    description: The nginx exporter binary whose C(--help) tells whether it takes C(--web.config.file); empty when off.
    type: path
  nginx_binary:
    description: The nginx binary (reported as installed when it is a file).
    type: path
    default: /usr/sbin/nginx
  bcrypt_files:
    description: Files that hold the exporter password's bcrypt hash (web.yml, an htpasswd). Run the task with C(no_log).
    type: list
    elements: path
    default: []
notes:
  - Supports check mode (it only reads).
"""

EXAMPLES = r"""
- name: Read the exporters' packages and options
  prodready.platform.exporters_facts:
    packages: [prometheus-node-exporter]
    node_binary: /usr/bin/prometheus-node-exporter
    bcrypt_files: [/etc/prometheus/node-exporter/web.yml]
  register: exporters_host
  no_log: true
"""

RETURN = r"""
packages_missing:
  description: The names of O(packages) that are not installed.
  returned: always
  type: list
  elements: str
node_exporter:
  description: The node_exporter binary.
  returned: always
  type: dict
  contains:
    present: {description: Whether the binary is a file., type: bool}
    help_rc: {description: Exit code of C(--help) (null when absent)., type: int}
    collectors: {description: The collectors C(--help) offers., type: list, elements: str}
nginx_exporter:
  description: The nginx exporter binary.
  returned: always
  type: dict
  contains:
    present: {description: Whether the binary is a file., type: bool}
    help_rc: {description: Exit code of C(--help) (null when absent)., type: int}
    web_config_file: {description: Whether it takes C(--web.config.file) (1.x; Debian 12's 0.11 does not)., type: bool}
nginx_installed:
  description: Whether O(nginx_binary) is a file.
  returned: always
  type: bool
bcrypt_hashes:
  description: The distinct bcrypt hashes found in O(bcrypt_files), in order.
  returned: always
  type: list
  elements: str
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.prodready.platform.plugins.module_utils._observability.host import binary_help, missing_packages

COLLECTOR_RE = re.compile(r"--\[no-\]collector\.([a-z_]+)|--collector\.([a-z_]+)[ \n]")
BCRYPT_RE = re.compile(r"\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}")


def collectors(help_text):
    """Collector names in a node_exporter --help text, in order, once each."""
    found = []
    for match in COLLECTOR_RE.finditer(help_text):
        name = match.group(1) or match.group(2)
        if name not in found:
            found.append(name)
    return found


def bcrypt_hashes(paths):
    found = []
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except (OSError, IOError):
            continue
        found.extend(hashed for hashed in BCRYPT_RE.findall(text) if hashed not in found)
    return found


def read(params):
    node_present, node_rc, node_help = binary_help(params.get("node_binary"))
    nginx_present, nginx_rc, nginx_help = binary_help(params.get("nginx_exporter_binary"))
    return {
        "packages_missing": missing_packages(params["packages"]),
        "node_exporter": {"present": node_present, "help_rc": node_rc, "collectors": collectors(node_help)},
        "nginx_exporter": {"present": nginx_present, "help_rc": nginx_rc,
                           "web_config_file": re.search(r"--web[.]config[.]file", nginx_help) is not None},
        "nginx_installed": os.path.isfile(params["nginx_binary"]),
        "bcrypt_hashes": bcrypt_hashes(params["bcrypt_files"]),
    }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            packages=dict(type="list", elements="str", default=[]),
            node_binary=dict(type="path"),
            nginx_exporter_binary=dict(type="path"),
            nginx_binary=dict(type="path", default="/usr/sbin/nginx"),
            bcrypt_files=dict(type="list", elements="path", default=[]),
        ),
        supports_check_mode=True,
    )
    result = read(module.params)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
