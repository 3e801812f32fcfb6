#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: system_accounts
short_description: Keep a role's groups and service accounts, in one run that only reads when they are right
version_added: "1.3.0"
description:
  - Reads the account databases once (C(/etc/group), C(/etc/passwd), C(/etc/shadow) through the C library
    and the shadow file) and runs C(groupadd), C(useradd) or C(usermod) only for what differs. A
    converged host is one read, where one M(ansible.builtin.group) and one M(ansible.builtin.user)
    task per account each cost a module run.
  - Groups are made before users, so a user's primary group may be one of O(groups).
  - A user that exists keeps its uid, its home directory's content and every field this module is not
    given; given fields that differ are changed with one C(usermod). Accounts are never removed.
author: prodready.platform maintainers (@prodready)
options:
  groups:
    description: Groups that must exist.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Group name.
        type: str
        required: true
      system:
        description: Create it as a system group (a gid below C(SYS_GID_MAX)); an existing group keeps its gid.
        type: bool
        default: true
  users:
    description: Users that must exist, with these fields.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: User name.
        type: str
        required: true
      group:
        description: Primary group (it must exist, or be in O(groups)). Unset, C(useradd) decides for a new user and an existing one keeps its own.
        type: str
      system:
        description: Create it as a system user (a uid below C(SYS_UID_MAX)); an existing user keeps its uid.
        type: bool
        default: true
      shell:
        description: Login shell.
        type: path
      home:
        description: Home directory (never created nor moved by this module).
        type: path
      comment:
        description: The GECOS field.
        type: str
      password_locked:
        description: No password can log in (the shadow password field starts with C(!) or C(*); a new user gets C(!)).
        type: bool
        default: true
notes:
  - Supports check mode (reports what it would run) and diff mode (each changed account's fields before and after).
"""

EXAMPLES = r"""
- name: Create the service group and user (no shell, no login home)
  prodready.platform.system_accounts:
    groups:
      - name: prodready-demo
    users:
      - name: prodready-demo
        group: prodready-demo
        shell: /usr/sbin/nologin
        home: /var/lib/prodready-demo
        comment: prodready-demo service

- name: Create the group allowed to use su
  prodready.platform.system_accounts:
    groups:
      - name: sugroup
"""

RETURN = r"""
groups_created:
  description: The groups this run created (in check mode, would create).
  returned: always
  type: list
  elements: str
  sample: [prodready-demo]
users_created:
  description: The users this run created (in check mode, would create).
  returned: always
  type: list
  elements: str
  sample: [prodready-demo]
users_changed:
  description: For each existing user this run changed (would change), the fields that differed.
  returned: always
  type: dict
  sample: {prodready-demo: [shell]}
"""

import grp
import pwd

from ansible.module_utils.basic import AnsibleModule

SHADOW = "/etc/shadow"


def read_shadow_fields(path=SHADOW):
    """User name -> the shadow password field (only the field; hashes are never returned)."""
    fields = {}
    try:
        with open(path) as handle:
            for line in handle:
                parts = line.rstrip("\n").split(":")
                if len(parts) > 1:
                    fields[parts[0]] = parts[1]
    except (IOError, OSError):
        pass
    return fields


def is_locked(password_field):
    return password_field.startswith("!") or password_field.startswith("*")


def read_accounts(group_names, user_names, shadow_path=SHADOW):
    """The current groups and users of interest, as plain dicts (missing ones absent)."""
    groups = {}
    for name in group_names:
        try:
            groups[name] = {"gid": grp.getgrnam(name).gr_gid}
        except KeyError:
            pass
    users = {}
    shadow = read_shadow_fields(shadow_path) if user_names else {}
    for name in user_names:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        try:
            group = grp.getgrgid(entry.pw_gid).gr_name
        except KeyError:
            group = str(entry.pw_gid)
        users[name] = {
            "group": group,
            "shell": entry.pw_shell,
            "home": entry.pw_dir,
            "comment": entry.pw_gecos,
            "password_locked": is_locked(shadow.get(name, "!")),
        }
    return groups, users


USER_FIELDS = ("group", "shell", "home", "comment", "password_locked")


def plan(wanted_groups, wanted_users, groups, users):
    """The commands that bring the accounts to what is wanted, and what each changes.

    Returns (commands, result, diff): commands are argv lists in order (groups first), result the
    module's return fields, diff the before/after of each changed account.
    """
    commands = []
    result = {"groups_created": [], "users_created": [], "users_changed": {}}
    before, after = {}, {}
    for group in wanted_groups:
        if group["name"] in groups:
            continue
        commands.append(["groupadd"] + (["--system"] if group["system"] else []) + [group["name"]])
        result["groups_created"].append(group["name"])
        before["group " + group["name"]] = "absent"
        after["group " + group["name"]] = "present"
    for user in wanted_users:
        name = user["name"]
        current = users.get(name)
        if current is None:
            argv = ["useradd"] + (["--system"] if user["system"] else [])
            if user.get("group"):
                argv += ["--gid", user["group"]]
            if user.get("shell"):
                argv += ["--shell", user["shell"]]
            if user.get("home"):
                argv += ["--home-dir", user["home"]]
            if user.get("comment") is not None:
                argv += ["--comment", user["comment"]]
            argv += ["--no-create-home", name]
            commands.append(argv)
            if user["password_locked"]:
                # useradd leaves the password field '!' on Debian; said explicitly, so a changed default cannot open it.
                commands.append(["usermod", "--password", "!", name])
            result["users_created"].append(name)
            before["user " + name] = "absent"
            after["user " + name] = dict((field, user.get(field)) for field in USER_FIELDS if user.get(field) is not None)
            continue
        differing = [field for field in USER_FIELDS
                     if user.get(field) is not None and user[field] != current[field]
                     and not (field == "password_locked" and not user[field])]
        if not differing:
            continue
        argv = ["usermod"]
        flags = {"group": "--gid", "shell": "--shell", "home": "--home", "comment": "--comment"}
        for field in differing:
            if field == "password_locked":
                argv += ["--password", "!"]
            else:
                argv += [flags[field], user[field]]
        commands.append(argv + [name])
        result["users_changed"][name] = differing
        before["user " + name] = dict((field, current[field]) for field in differing)
        after["user " + name] = dict((field, user[field]) for field in differing)
    return commands, result, {"before": before, "after": after}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            groups=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                system=dict(type="bool", default=True),
            )),
            users=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                group=dict(type="str"),
                system=dict(type="bool", default=True),
                shell=dict(type="path"),
                home=dict(type="path"),
                comment=dict(type="str"),
                password_locked=dict(type="bool", default=True),
            )),
        ),
        supports_check_mode=True,
    )
    wanted_groups, wanted_users = module.params["groups"], module.params["users"]
    known_groups = set(g["name"] for g in wanted_groups)
    for user in wanted_users:
        group = user.get("group")
        if group and group not in known_groups:
            try:
                grp.getgrnam(group)
            except KeyError:
                module.fail_json(msg="user %s: primary group %s does not exist and is not in groups" % (user["name"], group))
    groups, users = read_accounts([g["name"] for g in wanted_groups], [u["name"] for u in wanted_users])
    commands, result, diff = plan(wanted_groups, wanted_users, groups, users)
    if not module.check_mode:
        for argv in commands:
            rc, out, err = module.run_command(argv)
            if rc != 0:
                module.fail_json(msg="%s failed (exit %d): %s" % (" ".join(argv[:1] + argv[-1:]), rc, (err or out).strip()), **result)
    module.exit_json(changed=bool(commands), diff=diff, **result)


if __name__ == "__main__":
    main()
