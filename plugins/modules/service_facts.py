#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: service_facts
short_description: Read the releases, release links and stored credentials of a service deployed by the service role
version_added: 1.2.0
description:
  - Read-only. The service role's deploy branches on what is deployed before it changes anything,
    namely the release C(current) points at (the one a failed rolling deploy rolls back to), the active
    blue-green slot and each slot's release (which slot the new release goes to), the release
    directories with their age (which ones pruning removes), and the credentials stored for the
    service (which ones are no longer configured). This module reads them in one run and never
    changes the host.
  - Not to be confused with M(ansible.builtin.service_facts), which lists the init system's services.
author:
  - prodready.platform contributors (@prodready)
options:
  root:
    description: The service's release root (holds C(releases/), C(current), C(active), C(slots/)).
    type: path
    required: true
  config_dir:
    description: The service's configuration directory (holds C(releases/), C(current), C(slots/)).
    type: path
    required: true
  credstore_dir:
    description: The directory of the service's stored credentials.
    type: path
    required: true
  slots:
    description: The blue-green slot names.
    type: list
    elements: str
    default: [blue, green]
attributes:
  check_mode:
    description: The module only reads, so check mode changes nothing in what it returns.
    support: full
  diff_mode:
    description: The module changes nothing, so there is no diff.
    support: none
"""

EXAMPLES = r"""
- name: Read what is deployed
  prodready.platform.service_facts:
    root: /opt/prodready-demo
    config_dir: /etc/prodready-demo
    credstore_dir: /etc/credstore/prodready-demo
  register: service_facts

- name: Show the release `current` points at
  ansible.builtin.debug:
    msg: "{{ service_facts.links['/opt/prodready-demo/current'] | default('', true) | basename }}"
"""

RETURN = r"""
links:
  description:
    - Every link a deploy switches or pruning protects, keyed by its path, with its target as
      written (null where there is no link), for C(root/current), C(config_dir/current), C(root/active)
      and, for each slot, C(root/slots/SLOT) and C(config_dir/slots/SLOT).
  returned: always
  type: dict
  sample: {"/opt/prodready-demo/current": "releases/1.0.0", "/opt/prodready-demo/active": null}
releases:
  description: The release directories under C(root/releases) (hidden downloads left out) with their modification time.
  returned: always
  type: dict
  sample: {"1.0.0": 1765000000.5}
credstore_files:
  description: The files in O(credstore_dir), sorted, as absolute paths (names only; no content is read).
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule


def readlink(path):
    try:
        return os.readlink(path)
    except OSError:
        return None


def link_paths(root, config_dir, slots):
    paths = [os.path.join(root, "current"), os.path.join(config_dir, "current"), os.path.join(root, "active")]
    for slot in slots:
        paths += [os.path.join(root, "slots", slot), os.path.join(config_dir, "slots", slot)]
    return paths


def list_releases(root):
    releases = {}
    try:
        for name in os.listdir(os.path.join(root, "releases")):
            path = os.path.join(root, "releases", name)
            if not name.startswith(".") and os.path.isdir(path) and not os.path.islink(path):
                releases[name] = os.lstat(path).st_mtime
    except OSError:
        pass
    return releases


def list_files(directory):
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return sorted(os.path.join(directory, name) for name in names
                  if os.path.isfile(os.path.join(directory, name)) and not os.path.islink(os.path.join(directory, name)))


def read_facts(params):
    return {
        "changed": False,
        "links": dict((path, readlink(path)) for path in link_paths(params["root"], params["config_dir"], params["slots"])),
        "releases": list_releases(params["root"]),
        "credstore_files": list_files(params["credstore_dir"]),
    }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type="path", required=True),
            config_dir=dict(type="path", required=True),
            credstore_dir=dict(type="path", required=True),
            slots=dict(type="list", elements="str", default=["blue", "green"]),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**read_facts(module.params))


if __name__ == "__main__":
    main()
