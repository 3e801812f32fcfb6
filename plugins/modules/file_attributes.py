#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: file_attributes
short_description: Owner, group and mode of many existing paths in one module run
version_added: "1.2.0"
description:
  - Sets owner, group and mode of existing files and directories the module does not write
    (C(/etc/shadow), C(/etc/cron.d), compilers) in a single module run, where
    M(ansible.builtin.file) needs one run per path. Paths that do not exist are skipped and listed
    in RV(missing).
  - With O(paths[].follow) a symbolic link is resolved and its target is changed (several links
    to one target change it once).
  - With O(paths[].statoverride) the owner, group and mode are also registered with
    C(dpkg-statoverride), so package upgrades keep them.
  - Check mode reports what would change; diff mode shows the attributes before and after.
author: prodready.platform maintainers (@prodready)
options:
  paths:
    description: The paths, applied in order.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      owner:
        description: Owner name (or numeric id).
        type: str
        default: root
      group:
        description: Group name (or numeric id).
        type: str
        default: root
      mode:
        description: Octal mode, quoted, for example V("0640") (an unquoted integer is read as ansible.builtin.file reads it).
        type: raw
        required: true
      follow:
        description: Change the target of a symbolic link (resolved fully) instead of skipping the link.
        type: bool
        default: false
      statoverride:
        description: Also keep a C(dpkg-statoverride) entry with this owner, group and mode.
        type: bool
        default: false
notes:
  - Supports check mode and diff mode.
  - A symbolic link without O(paths[].follow) is left alone (links have no mode of their own).
seealso:
  - module: ansible.builtin.file
  - module: prodready.platform.config_files
"""

EXAMPLES = r"""
- name: Tighten the account databases and restrict the assembler
  prodready.platform.file_attributes:
    paths:
      - {path: /etc/shadow, owner: root, group: shadow, mode: "0640"}
      - {path: /etc/cron.d, owner: root, group: root, mode: "0700"}
      - {path: /usr/bin/as, owner: root, group: root, mode: "0750", follow: true, statoverride: true}
"""

RETURN = r"""
changed_paths:
  description: The paths (link targets with follow) that changed or would change, in order.
  returned: always
  type: list
  elements: str
  sample: [/etc/shadow, /usr/bin/x86_64-linux-gnu-as]
missing:
  description: The listed paths that do not exist (skipped).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.prodready.platform.plugins.module_utils.config_files import ItemError
from ansible_collections.prodready.platform.plugins.module_utils._files.attributes import run


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="dict", required=True, options=dict(
                path=dict(type="path", required=True),
                owner=dict(type="str", default="root"),
                group=dict(type="str", default="root"),
                mode=dict(type="raw", required=True),
                follow=dict(type="bool", default=False),
                statoverride=dict(type="bool", default=False),
            )),
        ),
        supports_check_mode=True,
    )

    def run_command(argv):
        return module.run_command(argv)

    try:
        changed, missing, diffs = run(module.params["paths"], module.check_mode, run_command)
    except (ItemError, OSError) as exc:
        module.fail_json(msg=str(exc))
    result = {"changed": bool(changed), "changed_paths": changed, "missing": missing}
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
