#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: file_lines
short_description: Keep lines in several existing files in one module run
version_added: "1.2.0"
description:
  - For files a package owns and Debian gives no drop-in directory for (C(/etc/login.defs),
    C(/etc/pam.d/su), C(/etc/audit/auditd.conf), the C(Include) line of C(sshd_config)), each
    line is kept as M(ansible.builtin.lineinfile) keeps it, for several lines and files in a single
    module run, where lineinfile needs one run per line.
  - For each entry of O(files[].lines), in order - the last line matching O(files[].lines[].regexp)
    is replaced by O(files[].lines[].line); without a match (or without a regexp) the line is
    inserted after the last line matching O(files[].lines[].insertafter), before the last line
    matching O(files[].lines[].insertbefore), or at the end, unless exactly that line is already
    there.
  - A changed file is written to a temporary file beside it with the original's mode and owner,
    checked with O(files[].validate) when set, then renamed over it. The files must exist.
  - Check mode reports what would change; diff mode returns one diff per changed file.
author: prodready.platform maintainers (@prodready)
options:
  files:
    description: The files, edited in order.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path of an existing file.
        type: path
        required: true
      lines:
        description: The lines to keep in the file.
        type: list
        elements: dict
        required: true
        suboptions:
          line:
            description: The whole line (without the newline).
            type: str
            required: true
          regexp:
            description: Python regular expression of the line to replace (searched, not matched from the start).
            type: str
          insertafter:
            description: Regular expression, or V(EOF); where a missing line goes. Default is the end of the file.
            type: str
          insertbefore:
            description: Regular expression, or V(BOF); where a missing line goes.
            type: str
      validate:
        description:
          - Command that checks the new file before it replaces the original; C(%s) is the path of
            the temporary file. Runs without a shell.
        type: str
notes:
  - Supports check mode and diff mode.
seealso:
  - module: ansible.builtin.lineinfile
  - module: prodready.platform.config_files
"""

EXAMPLES = r"""
- name: Set login.defs defaults and restrict su, one module run
  prodready.platform.file_lines:
    files:
      - path: /etc/login.defs
        lines:
          - regexp: '^#?\s*UMASK\s'
            line: "UMASK\t027"
          - regexp: '^#?\s*PASS_MAX_DAYS\s'
            line: "PASS_MAX_DAYS\t365"
      - path: /etc/pam.d/su
        lines:
          - regexp: '^#?\s*auth\s+required\s+pam_wheel\.so'
            line: auth       required   pam_wheel.so use_uid group=sudo
            insertafter: '^auth\s+sufficient\s+pam_rootok\.so'

- name: Keep the drop-in directory included first in sshd_config
  prodready.platform.file_lines:
    files:
      - path: /etc/ssh/sshd_config
        lines:
          - regexp: '^\s*Include\s+/etc/ssh/sshd_config\.d/\*\.conf\s*$'
            line: Include /etc/ssh/sshd_config.d/*.conf
            insertbefore: BOF
        validate: /usr/sbin/sshd -t -f %s
  notify: Reload sshd
"""

RETURN = r"""
changed_paths:
  description: The files that changed (or would change in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [/etc/login.defs]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.prodready.platform.plugins.module_utils.config_files import ItemError
from ansible_collections.prodready.platform.plugins.module_utils._files.lines import lines_argument_spec, run


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="dict", required=True, options=dict(
                path=dict(type="path", required=True),
                lines=lines_argument_spec(required=True),
                validate=dict(type="str"),
            )),
        ),
        supports_check_mode=True,
    )

    def run_command(argv):
        return module.run_command(argv)

    try:
        changed, diffs = run(module.params["files"], module.check_mode, run_command)
    except (ItemError, OSError) as exc:
        module.fail_json(msg=str(exc))
    result = {"changed": bool(changed), "changed_paths": changed}
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
