#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: integrity_facts
short_description: Read what the integrity role checks before it changes anything
description:
  - Reads, in one run, the host state the C(integrity) role needs before its first change, and
    changes nothing. It reports which of the scanned paths do not exist, which of the monitor's
    Debian packages are not installed, which signing key the host's baseline names, and which of the
    schedules the host's systemd cannot parse (C(systemd-analyze calendar)).
  - The role refuses a host whose scanned paths are missing, whose baseline names a key the
    controller does not trust or whose systemd cannot parse a schedule (nothing is changed then), installs the missing packages, and on a
    fresh host in check mode reports the baseline it would create instead of failing.
  - The key id is read from the manifest header and not verified here; the
    M(prodready.platform.integrity_baseline) action verifies the whole manifest.
version_added: 1.2.0
author: prodready.platform maintainers (@prodready)
options:
  paths:
    description: The paths the baseline scans.
    type: list
    elements: path
    default: []
  packages:
    description: Debian packages the monitor needs.
    type: list
    elements: str
    default: []
  manifest:
    description: The signed manifest (baseline) on the host.
    type: path
  calendars:
    description: systemd calendar expressions (the timers' C(OnCalendar=)) to check.
    type: list
    elements: str
    default: []
notes:
  - Supports check mode; it reads the same in both modes.
"""

EXAMPLES = r"""
- name: Read the scanned paths, the monitor's packages and the baseline's signer
  prodready.platform.integrity_facts:
    paths: [/etc, /usr/local]
    packages: [python3-cryptography]
    manifest: /var/lib/prodready-integrity/baseline.json
    calendars: ["*:0/5", daily]
  register: integrity_host
"""

RETURN = r"""
missing_paths:
  description: The scanned paths that do not exist.
  returned: always
  type: list
  elements: str
packages_missing:
  description: The packages of O(packages) that are not installed.
  returned: always
  type: list
  elements: str
manifest_key_id:
  description:
    - The key id the manifest header names as its signer; V(null) when there is no manifest,
      V(unreadable) when its header cannot be parsed.
  returned: always
  type: str
bad_calendars:
  description: The expressions of O(calendars) systemd cannot parse, each with systemd's message.
  returned: always
  type: list
  elements: dict
  sample: [{"calendar": "every tuesday", "message": "Failed to parse calendar specification 'every tuesday': Invalid argument"}]
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.prodready.platform.plugins.module_utils._systemd.calendar import bad_calendars


def packages_missing(module, packages):
    """The packages dpkg does not report as installed (a package dpkg does not know prints nothing)."""
    if not packages:
        return []
    dpkg_query = module.get_bin_path("dpkg-query")
    if dpkg_query is None:
        return list(packages)
    dummy, out, dummy = module.run_command([dpkg_query, "-W", "-f=${Package} ${Status}\\n"] + list(packages),
                                           environ_update={"LC_ALL": "C"})
    installed = set(line.split(" ", 1)[0] for line in out.splitlines() if line.endswith(" install ok installed"))
    return [name for name in packages if name not in installed]


def manifest_key_id(path):
    """The signer's key id from the manifest's first line (not verified), None without a manifest."""
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            header = json.loads(handle.readline().decode("ascii"))
        return str(header["key_id"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        return "unreadable"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="path", default=[]),
            packages=dict(type="list", elements="str", default=[]),
            manifest=dict(type="path"),
            calendars=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    module.exit_json(
        changed=False,
        missing_paths=[path for path in params["paths"] if not os.path.lexists(path)],
        packages_missing=packages_missing(module, params["packages"]),
        manifest_key_id=manifest_key_id(params["manifest"]),
        bad_calendars=bad_calendars(params["calendars"],
                                    lambda argv: module.run_command(argv, errors="surrogate_then_replace")),
    )


if __name__ == "__main__":
    main()
