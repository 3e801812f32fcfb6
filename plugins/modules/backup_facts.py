#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_facts
short_description: Read the host state the backup role checks before it changes anything
version_added: 1.2.0
description:
  - Read-only. Answers, in one module run, what the backup role needs to know before it acts and
    that no acting module decides for it; it never changes the host.
  - Whether systemd can parse the schedules (C(systemd-analyze calendar), the host's systemd is the
    judge), which of the paths to back up exist, which of the role's packages are installed and
    whether apt knows the missing ones (fresh images may ship without package lists), and whether
    the runner's record vouches that the repository opened with the current secrets and
    configuration (then restic need not be asked again).
author:
  - prodready.platform contributors (@prodready)
options:
  calendars:
    description: systemd calendar expressions to check.
    type: list
    elements: str
    default: []
  paths:
    description: Paths that must exist (a symlink counts as existing; it is not followed).
    type: list
    elements: path
    default: []
  packages:
    description: Debian packages to look up.
    type: list
    elements: str
    default: []
  restic:
    description: Path of the restic binary the runner uses.
    type: path
    required: true
  env_file:
    description: The runner's secrets file (read as bytes for the digest; never returned).
    type: path
    required: true
  config_file:
    description: The runner's configuration file.
    type: path
    required: true
  marker:
    description: The runner's record of the repository that opened.
    type: path
    required: true
attributes:
  check_mode:
    description: Reads only; runs the same in check mode.
    support: full
  diff_mode:
    description: Nothing changes, nothing to show.
    support: none
notes:
  - Nothing secret is returned; the secrets file only enters a SHA-256 compared on the host.
"""

EXAMPLES = r"""
- name: Read the schedules, paths, packages and repository record
  prodready.platform.backup_facts:
    calendars: ["*-*-* 00/6:00:00", monthly]
    paths: [/srv/data]
    packages: [restic]
    restic: /usr/bin/restic
    env_file: /etc/prodready-backup/restic.env
    config_file: /etc/prodready-backup/config.json
    marker: /var/lib/prodready-backup/repository-opened
  register: backup_facts
"""

RETURN = r"""
bad_calendars:
  description: The calendar expressions systemd cannot parse, each with systemd's message.
  returned: always
  type: list
  elements: dict
  sample: [{"calendar": "every tuesday", "message": "Failed to parse calendar specification 'every tuesday': Invalid argument"}]
missing_paths:
  description: The O(paths) that do not exist.
  returned: always
  type: list
  elements: str
installed_packages:
  description: The O(packages) dpkg lists as installed.
  returned: always
  type: list
  elements: str
missing_packages:
  description: The O(packages) not installed, in the order given.
  returned: always
  type: list
  elements: str
apt_knows_missing:
  description: Whether C(apt-cache show) knows every missing package (true when none is missing).
  returned: always
  type: bool
restic_present:
  description: Whether O(restic) exists.
  returned: always
  type: bool
secrets_present:
  description: Whether O(env_file) exists.
  returned: always
  type: bool
repository_known:
  description: Whether O(marker) holds the digest of O(env_file) and O(config_file).
  returned: always
  type: bool
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.prodready.platform.plugins.module_utils._systemd.calendar import bad_calendars
from ansible_collections.prodready.platform.plugins.module_utils._backup.record import repository_recorded
from ansible_collections.prodready.platform.plugins.module_utils._debian import packages as debian_packages


def read_facts(params, runner):
    listed = set(debian_packages.installed_packages(runner, params["packages"]))
    installed = [name for name in params["packages"] if name in listed]
    missing = [name for name in params["packages"] if name not in listed]
    return {
        "changed": False,
        "bad_calendars": bad_calendars(params["calendars"], runner),
        "missing_paths": [path for path in params["paths"] if not os.path.lexists(path)],
        "installed_packages": installed,
        "missing_packages": missing,
        "apt_knows_missing": not missing or runner(["apt-cache", "show"] + missing)[0] == 0,
        "restic_present": os.path.exists(params["restic"]),
        "secrets_present": os.path.exists(params["env_file"]),
        "repository_known": repository_recorded(params["config_file"], params["env_file"], params["marker"]),
    }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            calendars=dict(type="list", elements="str", default=[]),
            paths=dict(type="list", elements="path", default=[]),
            packages=dict(type="list", elements="str", default=[]),
            restic=dict(type="path", required=True),
            env_file=dict(type="path", required=True),
            config_file=dict(type="path", required=True),
            marker=dict(type="path", required=True),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**read_facts(module.params, lambda argv: module.run_command(argv, errors="surrogate_then_replace")))


if __name__ == "__main__":
    main()
