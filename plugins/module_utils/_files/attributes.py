# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Owner, group and mode of existing paths the module does not write (optionally kept by
dpkg-statoverride): the one decision of prodready.platform.file_attributes and of config_files'
state=attributes items."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import stat

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


def examine(item, overrides, seen):
    """(target, item with resolved values, reasons, lstat), or None when the path is missing (the
    caller reports it), a link without follow, or a target already examined (``seen``, updated)."""
    path = item["path"]
    target = os.path.realpath(path) if item.get("follow") else path
    try:
        st = os.lstat(target)
    except OSError:
        return None
    if stat.S_ISLNK(st.st_mode) or target in seen:
        return target, None, [], st
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
    return target, dict(item, mode_value=mode, uid=uid, gid=gid), reasons, st


def plan(items, overrides=None):
    """[(target, item, reasons, lstat)] for the existing paths that differ, and the missing ones."""
    planned, missing, seen = [], [], set()
    for item in items:
        examined = examine(item, overrides, seen)
        if examined is None:
            missing.append(item["path"])
        elif examined[2]:
            planned.append(examined)
    return planned, missing


def describe(st=None, item=None):
    if item is not None:
        return "mode %04o, owner %s, group %s\n" % (item["mode_value"], item.get("owner") or "root", item.get("group") or "root")
    return "mode %04o, owner %d, group %d\n" % (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)


def diff_of(target, item, st):
    return {"before_header": target, "after_header": target, "before": describe(st=st),
            "after": describe(item=item) + ("(dpkg-statoverride)\n" if item.get("statoverride") else "")}


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


def wants_overrides(items):
    return any(item.get("statoverride") for item in items)


def run(items, check_mode, run_command):
    """(changed paths, missing paths, diffs)."""
    overrides = read_overrides(run_command) if wants_overrides(items) else None
    planned, missing = plan(items, overrides)
    changed, diffs = [], []
    for target, item, reasons, st in planned:
        changed.append(target)
        diffs.append(diff_of(target, item, st))
        if not check_mode:
            apply(target, item, reasons, run_command)
    return changed, missing, diffs
