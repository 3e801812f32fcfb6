# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsers of the host files and command outputs the probe reads (pure functions, no I/O)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re


# systemd-sysctl(8) and procps `sysctl --system` (sysctl.d(5)): a file name in an earlier directory
# masks the same name in a later one; the surviving files apply in lexical order of their names
# across all directories, /etc/sysctl.conf last; a later assignment of a key overrides an earlier one.
SYSCTL_DIRS = ("/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d")


def parse_sysctl_conf(text):
    """``[(key, value, line_number)]`` of one sysctl.d file, as systemd-sysctl reads it.

    Comments start a line with ``#`` or ``;``; a leading ``-`` only silences errors; ``/`` in a
    key is ``.``; runs of whitespace in a value are one space (as /proc/sys prints them).
    """
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.strip().lstrip("-").strip()
        if "/" in key:
            key = key.replace("/", ".")
        if key:
            found.append((key, " ".join(value.split()), number))
    return found


# The filesystem-wide walk (check type ``filesystem``). Never descended: kernel and runtime trees
# that hold no persistent files; container image storage, whose trees are other systems' root
# filesystems (audit those containers themselves); and mount points of pseudo or network
# filesystems, whose walk is either meaningless or slow and belongs to the host that exports them.
FS_SKIP_TREES = ("/proc", "/sys", "/dev", "/run", "/var/lib/docker", "/var/lib/containers/storage")
FS_SKIP_TYPES = frozenset((
    "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "securityfs", "debugfs", "tracefs", "configfs",
    "fusectl", "mqueue", "hugetlbfs", "pstore", "bpf", "binfmt_misc", "autofs", "efivarfs", "selinuxfs",
    "rpc_pipefs", "nsfs", "nfsd", "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "ceph", "glusterfs",
    "lustre", "gpfs", "9p", "davfs", "sshfs", "fuse", "fuseblk"))
# Bounds: a host with more than this is audited with error, not with a silently partial pass.
FS_SCAN_MAX_ENTRIES = 3000000
FS_SCAN_MAX_SECONDS = 60.0
# systemd's DynamicUser= services (systemd-journal-upload among them) own their StateDirectory= and
# the like under these trees with ids from this range, which have no passwd entry while the unit is
# stopped; useradd never hands them out (UID_MAX 60000), so no account can inherit the files.
FS_DYNAMIC_USER_TREES = ("/var/lib/private", "/var/cache/private", "/var/log/private")
FS_DYNAMIC_USER_IDS = (61184, 65519)
FS_PROPERTIES = ("suid_sgid", "world_writable_dirs", "world_writable_files", "unowned", "root_path")
FS_EVIDENCE_ITEMS = 20


# modprobe.d(5) as kmod reads it: *.conf of these directories, a file name in an earlier directory
# masks the same name in a later one, the rest in lexical order of their names. For a module's
# `install` command the FIRST one read wins (kmod: "find only the first command"), so a drop-in that
# sorts earlier silently replaces `install cramfs /bin/false`.
MODPROBE_DIRS = ("/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d", "/lib/modprobe.d",
                 "/usr/lib/modprobe.d")


def _logical_lines(text):
    """``(first_line_number, line)`` of a file where a trailing backslash continues a line
    (modprobe.d, sudoers): continuation lines joined, stripped. An unfinished last line is dropped."""
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        yield start, (pending + raw).strip()
        pending = ""


def parse_modprobe_conf(text):
    """``[(command, module, rest, line_number)]`` of one modprobe.d file (``install``, ``blacklist``, ...).

    ``#`` starts a comment line; a trailing backslash continues a line; module names compare with
    ``-`` and ``_`` as the same character, so they are returned with ``_``.
    """
    found = []
    for start, line in _logical_lines(text):
        parts = line.split(None, 2)
        if len(parts) < 2 or line.startswith("#"):
            continue
        found.append((parts[0], parts[1].replace("-", "_"), parts[2] if len(parts) > 2 else "", start))
    return found


def parse_mounts(text):
    """``[(mount_point, fstype)]`` from /proc/self/mounts (octal escapes such as ``\\040`` decoded)."""
    found = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), parts[1])
            found.append((point, parts[2]))
    return found


def parse_apt_config_dump(text):
    """``{key: value}`` from ``apt-config dump``; a list (``Key:: "item";``) becomes its items joined by ", ".

    apt-config has already merged apt.conf, every apt.conf.d file in order and APT_CONFIG, so
    this is the configuration apt and unattended-upgrades actually use.
    """
    values, lists = {}, {}
    for line in text.splitlines():
        line = line.strip()
        match = re.match(r'^(\S+?)(::)?\s+"(.*)";$', line)
        if not match:
            continue
        key, is_item, value = match.group(1), match.group(2), match.group(3)
        if is_item:
            lists.setdefault(key, []).append(value)
            values[key] = ", ".join(lists[key])
        elif key not in lists or value:
            values[key] = value
    return values


# sudoers(5): what sudo reads, includes followed. Files an includedir skips: names that end in
# "~" or contain "." (editor backups, dpkg leftovers).
SUDOERS_MAX_DEPTH = 8
_SUDO_INCLUDE_RE = re.compile(r"^[#@](include|includedir)\s+(.+?)\s*$")
_SUDO_DEFAULTS_RE = re.compile(r"^Defaults([:@!>]\S+)?\s+(.*)$")


def _split_outside_quotes(text, separator=","):
    parts, current, quoted, escaped = [], "", False, False
    for char in text:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            current += char
            escaped = True
        elif char == '"':
            quoted = not quoted
            current += char
        elif char == separator and not quoted:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return [p for p in parts if p]


def parse_sudoers_lines(text):
    """``[(kind, payload, line_number)]`` of one sudoers file; kinds: include, includedir, defaults, rule.

    ``defaults`` payload: ``(scope, [(name, value)])`` where a bare flag is ``"on"`` and ``!flag``
    is ``"off"``; ``rule`` payload: the user specification, continuation lines joined.
    """
    found = []
    for start, line in _logical_lines(text):
        include = _SUDO_INCLUDE_RE.match(line)
        if include:
            found.append((include.group(1), include.group(2).strip('"'), start))
            continue
        # "#" starts a comment, except "#123" (a uid in a user list)
        line = re.sub(r"(^|\s)#(?!\d).*$", "", line).strip()
        if not line or re.match(r"^(User|Runas|Host|Cmnd|Cmd)_Alias\b", line):
            continue
        defaults = _SUDO_DEFAULTS_RE.match(line)
        if defaults:
            settings = []
            for item in _split_outside_quotes(defaults.group(2)):
                match = re.match(r"^(!*)\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:([+-]?=)\s*(.*))?$", item)
                if not match:
                    continue
                if match.group(3):
                    settings.append((match.group(2), match.group(4).strip().strip('"')))
                else:
                    settings.append((match.group(2), "off" if len(match.group(1)) % 2 else "on"))
            found.append(("defaults", (defaults.group(1) or "", settings), start))
        else:
            found.append(("rule", " ".join(line.split()), start))
    return found


def nopasswd_all(rule):
    """True when a user specification lets its users run ALL without a password."""
    if "=" not in rule:
        return False
    nopasswd = False
    for command in _split_outside_quotes(rule.split("=", 1)[1]):
        command = re.sub(r"^\([^)]*\)\s*", "", command)
        while True:
            tag = re.match(r"^([A-Z_]+)\s*:\s*", command)
            if not tag:
                break
            if tag.group(1) in ("NOPASSWD", "PASSWD"):
                nopasswd = tag.group(1) == "NOPASSWD"
            command = command[tag.end():]
        if nopasswd and command.strip() == "ALL":
            return True
    return False
