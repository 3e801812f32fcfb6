#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_repository
short_description: Create a host's restic repository from the trusted side when it does not exist
version_added: 1.1.0
description:
  - A backup host's own S3 identity is confined to its prefix, so it cannot ask whether the bucket
    exists, which C(restic init) does first. The repository is therefore created here, on the
    controller or a trusted delegate, with the host's password and the trusted identity; the host
    then only opens it.
  - Never initialises over an existing repository; a repository that exists but does not open with
    the password fails with restic's words.
author:
  - prodready.platform contributors (@prodready)
extends_documentation_fragment:
  - prodready.platform.backup.restic
attributes:
  check_mode:
    description: Reports whether the repository would be created; nothing is written.
    support: full
  diff_mode:
    description: Not supported.
    support: none
"""

EXAMPLES = r"""
- name: Create web1's repository from the controller
  prodready.platform.backup_repository:
    repository: "s3:https://s3.example.com/backups/web1"
    password: "{{ hostvars['web1'].backup_repository_password }}"
    access_key: "{{ vault_backup_trusted_access_key }}"
    secret_key: "{{ vault_backup_trusted_secret_key }}"
  delegate_to: localhost
"""

RETURN = r"""
created:
  description: Whether the repository was (in check mode, would be) created.
  returned: success
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.prodready.platform.plugins.module_utils._backup.restic import (
    TRUSTED_RESTIC_ARGS, ResticFailed, TrustedRestic, last_lines, missing_repository)


def ensure_repository(params, check_mode, runner=None):
    with TrustedRestic(params, runner) as restic:
        rc, dummy, err = restic.run(["cat", "config"])
        if rc == 0:
            return {"changed": False, "created": False}
        if not missing_repository(err):
            raise ResticFailed("the repository exists but does not open (wrong password? no access?): %s"
                               % last_lines(err))
        if not check_mode:
            rc, dummy, err = restic.run(["init"])
            if rc != 0:
                raise ResticFailed("restic init failed (exit %d): %s" % (rc, last_lines(err)))
    return {"changed": True, "created": True}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            TRUSTED_RESTIC_ARGS,
        ),
        supports_check_mode=True,
    )
    try:
        result = ensure_repository(module.params, module.check_mode)
    except ResticFailed as exc:
        module.fail_json(msg="repository %s: %s" % (module.params["repository"], exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
