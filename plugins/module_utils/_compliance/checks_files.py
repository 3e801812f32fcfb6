# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check types that read files: file, tree_permissions, file_content, config_value, filesystem."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import grp
import os
import pwd
import re
import stat

from ansible_collections.prodready.platform.plugins.module_utils._compliance.common import CatalogError, CheckError, as_list, octal_mode, require
from ansible_collections.prodready.platform.plugins.module_utils._compliance.compare import compare, validate_comparator
from ansible_collections.prodready.platform.plugins.module_utils._compliance.parsers import FS_EVIDENCE_ITEMS, FS_PROPERTIES, FS_SKIP_TREES


# file: path (glob), state present|absent, type, owner, group, mode (exact) or mode_max (no extra bits)
def _validate_file(check, where):
    require(check, where, "path")
    if check.get("state", "present") not in ("present", "absent"):
        raise CatalogError("%s: 'state' must be present or absent" % where)
    if check.get("file_type", "any") not in ("any", "file", "directory", "link"):
        raise CatalogError("%s: 'file_type' must be any, file, directory or link" % where)
    for key in ("mode", "mode_max"):
        if key in check:
            octal_mode(check[key], where, key)


def _eval_file(check, probe):
    paths = []
    for pattern in as_list(check["path"]):
        paths.extend(probe.glob(pattern))
    if check.get("state", "present") == "absent":
        if paths:
            return False, "exists: %s" % ", ".join(probe.unroot(p) for p in paths[:5])
        return True, "absent: %s" % ", ".join(as_list(check["path"]))
    if not paths:
        return False, "missing: %s" % ", ".join(as_list(check["path"]))
    problems, seen = [], []
    for path in paths:
        info = os.lstat(path)
        shown = probe.unroot(path)
        kind = check.get("file_type", "any")
        if kind == "file" and not stat.S_ISREG(info.st_mode) or kind == "directory" and not stat.S_ISDIR(info.st_mode) \
                or kind == "link" and not stat.S_ISLNK(info.st_mode):
            problems.append("%s is not a %s" % (shown, kind))
            continue
        if stat.S_ISLNK(info.st_mode) and kind != "link":
            info = os.stat(path)
        mode = stat.S_IMODE(info.st_mode)
        try:
            owner = pwd.getpwuid(info.st_uid).pw_name
        except KeyError:
            owner = str(info.st_uid)
        try:
            group = grp.getgrgid(info.st_gid).gr_name
        except KeyError:
            group = str(info.st_gid)
        seen.append("%s %04o %s:%s" % (shown, mode, owner, group))
        if "mode" in check and mode != int(str(check["mode"]), 8):
            problems.append("%s mode %04o, expected %s" % (shown, mode, check["mode"]))
        if "mode_max" in check and mode & ~int(str(check["mode_max"]), 8):
            problems.append("%s mode %04o exceeds %s" % (shown, mode, check["mode_max"]))
        if "owner" in check and owner not in as_list(check["owner"]):
            problems.append("%s owner %s, expected %s" % (shown, owner, "/".join(as_list(check["owner"]))))
        if "group" in check and group not in as_list(check["group"]):
            problems.append("%s group %s, expected %s" % (shown, group, "/".join(as_list(check["group"]))))
    if problems:
        return False, "; ".join(problems)
    return True, "; ".join(seen[:5]) + (" (+%d more)" % (len(seen) - 5) if len(seen) > 5 else "")


# tree_permissions: no file below root(s) has a forbidden mode bit (e.g. world-writable)
def _validate_tree(check, where):
    require(check, where, "root")
    octal_mode(check.get("forbid_bits", "0002"), where, "forbid_bits")
    depth = check.get("max_depth", 4)
    if not isinstance(depth, int) or depth < 0:
        raise CatalogError("%s: 'max_depth' must be a non-negative integer" % where)


def _eval_tree(check, probe):
    forbid = int(str(check.get("forbid_bits", "0002")), 8)
    excludes = as_list(check.get("exclude"))
    max_depth = check.get("max_depth", 4)
    allow_sticky_dirs = check.get("allow_sticky_dirs", True)
    offenders, scanned = [], 0
    for root in as_list(check["root"]):
        top = probe.path(root)
        if not os.path.isdir(top):
            continue
        base_depth = top.rstrip("/").count("/")
        for dirpath, dirnames, filenames in os.walk(top):
            if dirpath.count("/") - base_depth >= max_depth:
                dirnames[:] = []
            for name in dirnames + filenames:
                full = os.path.join(dirpath, name)
                shown = probe.unroot(full)
                if any(fnmatch.fnmatch(shown, pattern) for pattern in excludes):
                    continue
                try:
                    info = os.lstat(full)
                except OSError:
                    continue
                scanned += 1
                if stat.S_ISLNK(info.st_mode):
                    continue
                if stat.S_ISDIR(info.st_mode) and allow_sticky_dirs and info.st_mode & stat.S_ISVTX:
                    continue
                if stat.S_IMODE(info.st_mode) & forbid:
                    offenders.append("%s %04o" % (shown, stat.S_IMODE(info.st_mode)))
    if offenders:
        return False, "%d path(s) with forbidden bits %s: %s" % (
            len(offenders), check.get("forbid_bits", "0002"), ", ".join(offenders[:10]))
    roots = ", ".join(as_list(check["root"]))
    return True, "%d paths under %s, none with bits %s" % (scanned, roots, check.get("forbid_bits", "0002"))


# file_content: a regex is present / absent across a set of globs (comment lines ignored)
def _validate_content(check, where):
    require(check, where, "paths", "pattern")
    if check.get("expect", "present") not in ("present", "absent"):
        raise CatalogError("%s: file_content 'expect' must be present or absent" % where)
    try:
        re.compile(check["pattern"])
    except re.error as exc:
        raise CatalogError("%s: 'pattern' is not a valid regex: %s" % (where, exc))


def _read_lines(path, ignore_comments):
    with open(path, "rb") as handle:
        text = handle.read(4 * 1024 * 1024).decode("utf-8", "replace")
    lines = text.splitlines()
    if ignore_comments:
        lines = ["" if line.lstrip().startswith(("#", ";")) else line for line in lines]
    return lines


def _eval_content(check, probe):
    files = []
    for pattern in as_list(check["paths"]):
        files.extend(p for p in probe.glob(pattern) if os.path.isfile(p))
    regex = re.compile(check["pattern"], 0 if check.get("case_sensitive", True) else re.IGNORECASE)
    expect = check.get("expect", "present")
    hits = []
    for path in files:
        try:
            lines = _read_lines(path, check.get("ignore_comments", True))
        except (IOError, OSError) as exc:
            raise CheckError("cannot read %s: %s" % (probe.unroot(path), exc.strerror))
        for number, line in enumerate(lines, 1):
            if regex.search(line):
                hits.append("%s:%d: %s" % (probe.unroot(path), number, line.strip()[:160]))
    searched = ", ".join(as_list(check["paths"]))
    if expect == "present":
        if hits:
            return True, "; ".join(hits[:3])
        if not files:
            return False, "no file matches %s" % searched
        return False, "/%s/ not found in %d file(s) matching %s" % (check["pattern"], len(files), searched)
    if hits:
        return False, "forbidden /%s/ found: %s" % (check["pattern"], "; ".join(hits[:5]))
    return True, "/%s/ absent from %d file(s) matching %s" % (check["pattern"], len(files), searched)


# config_value: the effective value of KEY across files read in order (last wins)
def _validate_config(check, where):
    require(check, where, "paths", "key", "expect")
    validate_comparator(check["expect"], where)
    if check.get("occurrences", "last") not in ("last", "all"):
        raise CatalogError("%s: config_value 'occurrences' must be last or all" % where)


def _eval_config(check, probe):
    key = str(check["key"])
    separator = check.get("separator", r"\s*=\s*|\s+")
    regex = re.compile(r"^\s*(%s)(?:%s)(.*?)\s*$" % (re.escape(key), separator),
                       0 if check.get("case_sensitive", False) else re.IGNORECASE)
    found, files = [], 0
    for pattern in as_list(check["paths"]):
        for path in probe.glob(pattern):
            if not os.path.isfile(path):
                continue
            files += 1
            try:
                lines = _read_lines(path, True)
            except (IOError, OSError) as exc:
                raise CheckError("cannot read %s: %s" % (probe.unroot(path), exc.strerror))
            section = None
            for number, line in enumerate(lines, 1):
                header = re.match(r"^\s*\[([^\]]+)\]\s*$", line)
                if header:
                    section = header.group(1)
                    continue
                if check.get("section") and section != check["section"]:
                    continue
                match = regex.match(line)
                if match:
                    found.append((match.group(2).strip().strip('"'), "%s:%d" % (probe.unroot(path), number)))
    if not found:
        ok, why = compare(None, check["expect"])
        return ok, "%s not set in %d file(s) matching %s" % (key, files, ", ".join(as_list(check["paths"])))
    # "last": the effective value (later files and lines win); "all": every occurrence must comply
    # (e.g. one logrotate file per policy).
    chosen = found if check.get("occurrences", "last") == "all" else found[-1:]
    ok, parts = True, []
    for value, where in chosen:
        good, why = compare(value, check["expect"])
        ok = ok and good
        parts.append("%s = %s at %s%s" % (key, value, where, "" if good else ": " + why))
    return ok, "; ".join(parts)


# filesystem: one shared walk of the local filesystems (Probe.filesystem), one property per control
def _validate_filesystem(check, where):
    require(check, where, "property")
    if check["property"] not in FS_PROPERTIES:
        raise CatalogError("%s: filesystem property must be one of %s, not %r"
                           % (where, ", ".join(FS_PROPERTIES), check["property"]))
    for key in ("allow", "path"):
        for item in as_list(check.get(key)):
            if not isinstance(item, str):
                raise CatalogError("%s: '%s' must be a list of strings" % (where, key))


def _allowed(path, patterns):
    return any(path == p or fnmatch.fnmatch(path, p) for p in patterns)


def _root_path_offenders(check, probe):
    offenders = []
    for item in probe.root_path_dirs(as_list(check.get("path"))):
        if item in ("", ".") or not item.startswith("/"):
            offenders.append("%r (empty, '.' or relative: the current directory is searched)" % item)
            continue
        try:
            info = os.stat(probe.path(item))  # follows /bin -> usr/bin: the directory actually searched
        except OSError:
            offenders.append("%s (missing: whoever creates it first plants commands)" % item)
            continue
        if not stat.S_ISDIR(info.st_mode):
            offenders.append("%s (not a directory)" % item)
        elif info.st_uid != 0 or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            offenders.append("%s %04o uid %d" % (item, stat.S_IMODE(info.st_mode), info.st_uid))
    return offenders


def _eval_filesystem(check, probe):
    prop = check["property"]
    allow = [str(p) for p in as_list(check.get("allow"))]
    if prop == "root_path":
        offenders = [o for o in _root_path_offenders(check, probe) if not _allowed(o.split(" ")[0], allow)]
        scope = "root's PATH"
    else:
        scan = probe.filesystem()
        offenders = ["%s %04o %d:%d" % row for row in scan[prop] if not _allowed(row[0], allow)]
        # the fixed trees by name, mounts by count: a container lists dozens of cgroup mounts
        mounts = len(set(scan["skipped"]) - set(FS_SKIP_TREES))
        scope = "%d entries in %.2fs, not entering %s and %d pseudo/network mount(s)" % (
            scan["entries"], scan["seconds"], ", ".join(FS_SKIP_TREES), mounts)
    if offenders:
        shown = offenders[:FS_EVIDENCE_ITEMS]
        more = len(offenders) - len(shown)
        tail = "; and %d more" % more if more else ""
        return False, "%d %s: %s%s (%s)" % (len(offenders), prop, "; ".join(shown), tail, scope)
    return True, "no %s (%s)" % (prop, scope)


CHECK_TYPES = {
    "file": (_validate_file, _eval_file),
    "tree_permissions": (_validate_tree, _eval_tree),
    "file_content": (_validate_content, _eval_content),
    "config_value": (_validate_config, _eval_config),
    "filesystem": (_validate_filesystem, _eval_filesystem),
}
