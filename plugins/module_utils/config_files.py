# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an item of prodready.platform.config_files asks for, read the same way everywhere.

The module uses it to converge files; the filter prodready.platform.config_files_pending uses it
on the controller to compare the items with the state a role's probe read (type, mode, owner,
group, SHA-1 of the content), so a role whose files are all converged skips the module run.
Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import grp
import hashlib
import os
import pwd
import stat


class ItemError(Exception):
    """An item that cannot be applied: bad mode, unknown owner, failed validation."""


def parse_mode(value, default):
    """Octal text ("0640") or, as ansible.builtin.file reads it, an integer from unquoted YAML."""
    if value in (None, ""):
        value = default
    if isinstance(value, bool):
        raise ItemError("mode %r is not an octal number such as '0640'" % (value,))
    if isinstance(value, int):
        # An unquoted 0644 in YAML arrives as the integer 420, which is the mode already
        # (reading "420" as octal would give 0420).
        mode = value
    else:
        try:
            mode = int(str(value), 8)
        except ValueError:
            raise ItemError("mode %r is not an octal number such as '0640'" % (value,))
    if mode < 0 or mode > 0o7777:
        raise ItemError("mode %r is out of range" % (value,))
    return mode


DEFAULT_MODES = {"file": "0644", "directory": "0755"}


def content_sha1(content):
    """SHA-1 of the bytes the module writes for a file item's content (UTF-8)."""
    if not isinstance(content, bytes):
        content = content.encode("utf-8", "surrogateescape")
    return hashlib.sha1(content).hexdigest()


def _owner_differs(wanted, name, number):
    wanted = str(wanted or "root")
    return wanted != (str(number) if wanted.isdigit() else name)


def item_differences(item, observed):
    """What differs between an item and the observed state of its path, as the module would see it.

    ``observed`` is None when the path was not read, else a dict with ``type`` (file, directory,
    absent or other), ``mode`` (octal text), ``uid``, ``gid``, ``owner``, ``group`` and, for files,
    ``sha1``. Anything unknown counts as a difference: the module then runs and decides.
    """
    state = item.get("state") or "file"
    if observed is None:
        return ["unknown"]
    kind = observed.get("type")
    if state == "absent":
        return [] if kind == "absent" else ["present"]
    if kind != state:
        return ["created" if kind == "absent" else "type"]
    reasons = []
    if state == "file" and observed.get("sha1") != content_sha1(item.get("content") or ""):
        reasons.append("content")
    try:
        if parse_mode(observed.get("mode"), None) != parse_mode(item.get("mode"), DEFAULT_MODES[state]):
            reasons.append("mode")
    except (ItemError, TypeError):
        reasons.append("mode")
    if item.get("manage_ownership") is not False:
        if _owner_differs(item.get("owner"), observed.get("owner"), observed.get("uid")):
            reasons.append("owner")
        if _owner_differs(item.get("group"), observed.get("group"), observed.get("gid")):
            reasons.append("group")
    return reasons


def _name(lookup, number, field):
    try:
        return getattr(lookup(number), field)
    except KeyError:
        return str(number)


def observe(path):
    """The state of one path as item_differences reads it (lstat: a symlink is type other)."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return {"type": "absent"}
        raise
    if stat.S_ISREG(st.st_mode):
        kind = "file"
    elif stat.S_ISDIR(st.st_mode):
        kind = "directory"
    else:
        kind = "other"
    state = {
        "type": kind,
        "mode": "%04o" % stat.S_IMODE(st.st_mode),
        "uid": st.st_uid,
        "gid": st.st_gid,
        "owner": _name(pwd.getpwuid, st.st_uid, "pw_name"),
        "group": _name(grp.getgrgid, st.st_gid, "gr_name"),
    }
    if kind == "file":
        digest = hashlib.sha1()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 16), b""):
                digest.update(block)
        state["sha1"] = digest.hexdigest()
    return state


def observe_paths(paths):
    """observe() of each path, by path. The roles' probes run with this file sent ahead of them, so
    a probe reads a role's files exactly as config_files_pending compares them."""
    return dict((path, observe(path)) for path in paths)
