# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one comparison of prodready.platform.config_files: what an item asks for, the state of its
path, and what differs between them.

The module decides with item_differences() on the host (observe() of the path, the item's mode,
owner and group resolved there), once per item. Standard library only.
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


# Owner and group of an item with manage_ownership=false, as the module resolves them: -1 tells
# chown to leave that id alone, and item_differences does not compare it.
UNMANAGED = -1


def resolve_id(name, lookup, field, what):
    """Numeric id of a user or group name (digits are taken as the id)."""
    if str(name).isdigit():
        return int(name)
    try:
        return getattr(lookup(name), field)
    except KeyError:
        raise ItemError("%s %r does not exist" % (what, name))


def wanted_attributes(item):
    """(mode, uid, gid) an item asks for, resolved on this host (the module's ``resolved``); the ids
    are UNMANAGED when ownership is unmanaged. Raises ItemError for a bad mode or an unknown user or
    group."""
    mode = parse_mode(item.get("mode"), DEFAULT_MODES[item.get("state") or "file"])
    if item.get("manage_ownership") is False:
        return mode, UNMANAGED, UNMANAGED
    return (mode, resolve_id(item.get("owner") or "root", pwd.getpwnam, "pw_uid", "user"),
            resolve_id(item.get("group") or "root", grp.getgrnam, "gr_gid", "group"))


def _owner_differs(wanted, name, number, wanted_id=None):
    """An owner (or group) differs. On the host the module passes the id the wanted name resolves
    to, and ids are compared (two names of one uid are the same owner); on the controller the name
    is compared with the observed name, or a numeric owner with the observed id."""
    if wanted_id is not None:
        return number != wanted_id
    wanted = str(wanted or "root")
    return wanted != (str(number) if wanted.isdigit() else name)


def item_differences(item, observed, resolved=None):
    """What differs between an item and the observed state of its path, in the order content,
    mode, owner, group: the module's decision (it acts on exactly these).

    ``observed`` is observe()'s dict, or None when the path was not read. Reasons: ``unknown`` (not
    read: the module then runs and decides), ``created`` (absent), ``type`` (another kind of file
    is there: the module refuses), ``removed`` (an absent item's path exists), ``target`` (a link
    item's symbolic link points elsewhere), else any of ``content``, ``mode``, ``owner``,
    ``group``. Content is compared as the SHA-1 of the UTF-8 bytes. A link item compares only its
    target (a symbolic link's own mode and owner mean nothing to the kernel).

    ``resolved`` is ``(mode, uid, gid)`` as the module resolved them on the host (ids UNMANAGED
    when ownership is unmanaged). Without it (on the controller) the mode is parsed here, a mode
    that does not parse counts as a difference, and owner and group are compared by name.
    """
    state = item.get("state") or "file"
    if observed is None:
        return ["unknown"]
    kind = observed.get("type")
    if state == "absent":
        return [] if kind == "absent" else ["removed"]
    if state == "link" and kind == "link":
        return [] if observed.get("target") == item.get("src") else ["target"]
    if kind != state:
        return ["created" if kind == "absent" else "type"]
    reasons = []
    if state == "file":
        if observed.get("sha1") != content_sha1(item.get("content") or ""):
            reasons.append("content")
    uid = gid = None
    try:
        if resolved is not None:
            mode, uid, gid = resolved
        else:
            mode = parse_mode(item.get("mode"), DEFAULT_MODES[state])
        if parse_mode(observed.get("mode"), None) != mode:
            reasons.append("mode")
    except (ItemError, TypeError):
        reasons.append("mode")
    if item.get("manage_ownership") is not False:
        if uid != UNMANAGED and _owner_differs(item.get("owner"), observed.get("owner"), observed.get("uid"), uid):
            reasons.append("owner")
        if gid != UNMANAGED and _owner_differs(item.get("group"), observed.get("group"), observed.get("gid"), gid):
            reasons.append("group")
    return reasons


def _name(lookup, number, field):
    try:
        return getattr(lookup(number), field)
    except KeyError:
        return str(number)


def observe(path, keep_content=False, read=True):
    """The state of one path as item_differences reads it (lstat: a symbolic link is type link, with
    its ``target``; a socket, fifo or device is type other).
    ``keep_content`` adds the file's bytes as ``content`` (the module's diff shows them); with
    ``read`` false a file is not opened (enough for an absent item)."""
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
    elif stat.S_ISLNK(st.st_mode):
        kind = "link"
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
    if kind == "link":
        state["target"] = os.readlink(path)
    if kind == "file" and read:
        digest = hashlib.sha1()
        blocks = []
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 16), b""):
                digest.update(block)
                if keep_content:
                    blocks.append(block)
        state["sha1"] = digest.hexdigest()
        if keep_content:
            state["content"] = b"".join(blocks)
    return state
