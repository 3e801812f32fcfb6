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

import grp
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.prodready.platform.plugins.module_utils.config_files import ItemError, parse_mode, resolve_id

STATOVERRIDE = "dpkg-statoverride"


def read_overrides(run_command):
    """{path: (owner, group, mode)} of every dpkg-statoverride entry."""
    rc, out, err = run_command([STATOVERRIDE, "--list"])
    if rc not in (0, 1):
        raise ItemError("dpkg-statoverride --list failed: %s" % (err or out).strip())
    overrides = {}
    for line in out.splitlines():
        fields = line.split(None, 3)
        if len(fields) == 4:
            overrides[fields[3]] = (fields[0], fields[1], int(fields[2], 8))
    return overrides


def plan(items, overrides=None):
    """[(target, item, reasons, lstat)] for the existing paths, and the missing ones."""
    planned, missing, seen = [], [], set()
    for item in items:
        path = item["path"]
        target = os.path.realpath(path) if item.get("follow") else path
        try:
            st = os.lstat(target)
        except OSError:
            missing.append(path)
            continue
        if stat.S_ISLNK(st.st_mode) or target in seen:
            continue
        seen.add(target)
        mode = parse_mode(item["mode"], None)
        uid = resolve_id(item.get("owner") or "root", pwd.getpwnam, "pw_uid", "user")
        gid = resolve_id(item.get("group") or "root", grp.getgrnam, "gr_gid", "group")
        reasons = []
        if stat.S_IMODE(st.st_mode) != mode:
            reasons.append("mode")
        if st.st_uid != uid:
            reasons.append("owner")
        if st.st_gid != gid:
            reasons.append("group")
        if item.get("statoverride") and overrides is not None:
            wanted = (item.get("owner") or "root", item.get("group") or "root", mode)
            if overrides.get(target) != wanted:
                reasons.append("statoverride")
        if reasons:
            planned.append((target, dict(item, mode_value=mode, uid=uid, gid=gid), reasons, st))
    return planned, missing


def describe(st=None, item=None):
    if item is not None:
        return "mode %04o, owner %s, group %s\n" % (item["mode_value"], item.get("owner") or "root", item.get("group") or "root")
    return "mode %04o, owner %d, group %d\n" % (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)


def apply(target, item, reasons, run_command):
    if "statoverride" in reasons:
        # --update applies owner and mode too; an existing entry for another mode is replaced.
        run_command([STATOVERRIDE, "--quiet", "--remove", target])
        rc, out, err = run_command([STATOVERRIDE, "--update", "--add", item.get("owner") or "root",
                                    item.get("group") or "root", "%04o" % item["mode_value"], target])
        if rc != 0:
            raise ItemError("dpkg-statoverride --add %s failed: %s" % (target, (err or out).strip()))
    os.chown(target, item["uid"], item["gid"])
    os.chmod(target, item["mode_value"])


def run(items, check_mode, run_command):
    """(changed paths, missing paths, diffs)."""
    overrides = read_overrides(run_command) if any(item.get("statoverride") for item in items) else None
    planned, missing = plan(items, overrides)
    changed, diffs = [], []
    for target, item, reasons, st in planned:
        changed.append(target)
        diffs.append({"before_header": target, "after_header": target, "before": describe(st=st),
                      "after": describe(item=item) + ("(dpkg-statoverride)\n" if item.get("statoverride") else "")})
        if not check_mode:
            apply(target, item, reasons, run_command)
    return changed, missing, diffs


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
