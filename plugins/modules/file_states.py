#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: file_states
short_description: Read type, mode, ownership and content digest of many paths in one module run
version_added: "1.1.0"
description:
  - "Reads, for each path, what M(prodready.platform.config_files) compares: the type (C(file),
    C(directory), C(absent) or C(other); symlinks are not followed), the mode, the owner and group
    (ids and names) and, for regular files, the SHA-1 of the content. Never changes anything."
  - A role reads all the paths its file sets write with one run of this module, then runs each
    config_files task only when P(prodready.platform.config_files_pending#filter) finds an item that
    differs; on a converged host the file sets cost this one module run.
author: prodready.platform maintainers (@prodready)
options:
  paths:
    description: Absolute paths to read.
    type: list
    elements: path
    required: true
notes:
  - Supports check mode (it only reads).
"""

EXAMPLES = r"""
- name: Read the files the role writes
  prodready.platform.file_states:
    paths: [/etc/sysctl.d/60-hardening.conf, /etc/modprobe.d]
  register: role_files

- name: Write the sysctl settings
  prodready.platform.config_files:
    files: "{{ sysctl_files }}"
  when: sysctl_files | prodready.platform.config_files_pending(role_files.states) | length > 0
"""

RETURN = r"""
states:
  description: Path to its state.
  returned: always
  type: dict
  sample:
    /etc/sysctl.d/60-hardening.conf:
      type: file
      mode: "0644"
      uid: 0
      gid: 0
      owner: root
      group: root
      sha1: 3c1b0f8e5a0f4b6f0f0c8d2f7d6e1a2b3c4d5e6f
    /etc/absent.conf:
      type: absent
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.prodready.platform.plugins.module_utils.config_files import observe


def main():
    module = AnsibleModule(
        argument_spec=dict(paths=dict(type="list", elements="path", required=True)),
        supports_check_mode=True,
    )
    states = {}
    for path in module.params["paths"]:
        if not path.startswith("/"):
            module.fail_json(msg="path %r is not absolute" % path)
        try:
            states[path] = observe(path)
        except OSError as exc:
            module.fail_json(msg="cannot read %s: %s" % (path, to_native(exc)))
    module.exit_json(changed=False, states=states)


if __name__ == "__main__":
    main()
