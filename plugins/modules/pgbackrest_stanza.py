#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pgbackrest_stanza
short_description: Make a pgBackRest stanza usable for point-in-time recovery
version_added: "1.2.0"
description:
  - Reads C(pgbackrest info --output=json) for the stanza, runs C(stanza-create) when the repository
    does not know it, and a first full backup when it holds no valid backup (a recovery to a point in
    time needs a base backup taken before it). Nothing else; later backups are the timers' job.
  - Run it as the database's operating-system user (C(become_user) postgres), which pgBackRest
    connects to the server as. Repository settings and secrets come from pgBackRest's own
    configuration files, never from the module's arguments.
  - A stanza status no action repairs (another cipher, another database system) fails with
    pgBackRest's message.
author: prodready.platform maintainers (@prodready)
options:
  stanza:
    description: The stanza name.
    type: str
    required: true
  initial_backup:
    description: Take a full backup when the repository holds none.
    type: bool
    default: true
notes:
  - Supports check mode (reads, then reports the actions it would take).
"""

EXAMPLES = r"""
- name: Create the stanza and its first full backup
  prodready.platform.pgbackrest_stanza:
    stanza: main
  become: true
  become_user: postgres
"""

RETURN = r"""
actions:
  description: What was run (or would be, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [stanza-create, backup]
status:
  description: The stanza's pgBackRest status code before the actions (0 ok, 1 missing stanza path, 2 no valid backup).
  returned: always
  type: int
"""

import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.prodready.platform.plugins.module_utils._postgresql import pgbackrest


def run(module, binary, args):
    # Console logging at warn: a failure explains itself, and info's JSON is the only output.
    rc, out, err = module.run_command([binary, "--log-level-console=warn"] + args, environ_update={"LC_ALL": "C"})
    if rc != 0:
        module.fail_json(msg="pgbackrest %s failed (exit %d): %s" % (" ".join(args), rc, (err or out).strip()))
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            stanza=dict(type="str", required=True),
            initial_backup=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    stanza = module.params["stanza"]
    binary = shutil.which("pgbackrest") or module.fail_json(msg="pgbackrest is not installed")
    try:
        info = pgbackrest.parse_info(run(module, binary, ["--stanza=" + stanza, "--output=json", "info"]), stanza)
        actions = pgbackrest.stanza_actions(info, module.params["initial_backup"])
    except pgbackrest.InfoError as exc:
        module.fail_json(msg=str(exc))
    if not module.check_mode:
        for action in actions:
            if action == "stanza-create":
                run(module, binary, ["--stanza=" + stanza, "stanza-create"])
            else:
                run(module, binary, ["--stanza=" + stanza, "--type=full", "backup"])
    module.exit_json(changed=bool(actions), actions=actions, status=(info.get("status") or {}).get("code"))


if __name__ == "__main__":
    main()
