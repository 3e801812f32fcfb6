# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Accounts, PAM and package state the hardening role branches on."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

from ansible_collections.prodready.platform.plugins.module_utils._debian import packages as debian_packages
from ansible_collections.prodready.platform.plugins.module_utils._hardening import sshmatch

# Shells that do not allow a login; an empty shell field is treated the same.
NO_LOGIN_SHELLS = ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false", "")
# System accounts whose shell is their purpose (sync runs /bin/sync, ...), and root.
KEEP_SHELL = ("root", "sync", "shutdown", "halt")


def system_accounts_with_shell(entries, keep=None):
    """Names of system accounts (uid < 1000, or nobody's 65534) with a login shell, except those
    ``keep(entry)`` says must keep it (the SSH users, see ssh_users).

    ``entries`` are passwd entries as pwd.getpwall() returns them."""
    names = []
    for entry in entries:
        if entry.pw_name in KEEP_SHELL or (keep is not None and keep(entry)):
            continue
        if (entry.pw_uid < 1000 or entry.pw_uid == 65534) and entry.pw_shell not in NO_LOGIN_SHELLS:
            names.append(entry.pw_name)
    return sorted(set(names))


def ssh_users(names, allow_users=(), allow_groups=(), groups_of=None):
    """A predicate on passwd entries: the account is one of ``names`` (the user Ansible connects
    as, the guard user), matches the user part of an AllowUsers pattern, or is in a group an
    AllowGroups pattern names. These accounts log in over SSH and keep their shell.
    ``groups_of(entry)`` gives an account's group names."""
    user_patterns = [pattern.partition("@")[0] for pattern in allow_users]

    def keep(entry):
        if entry.pw_name in names:
            return True
        if any(sshmatch.match_pattern(entry.pw_name, pattern) for pattern in user_patterns):
            return True
        return bool(allow_groups) and groups_of is not None and sshmatch.match_groups(groups_of(entry), allow_groups)
    return keep


def open_home_dirs(entries, mask=0o027, stat=os.stat):
    """Home directories of login accounts (uid 1000 and up but 65534, with a login shell) that
    their group may write or others may use (``mode & mask``), sorted; missing ones and / are
    left out. ``entries`` are passwd entries as pwd.getpwall() returns them."""
    homes = []
    for entry in entries:
        if entry.pw_uid < 1000 or entry.pw_uid == 65534 or entry.pw_shell in NO_LOGIN_SHELLS:
            continue
        if not entry.pw_dir or entry.pw_dir == "/":
            continue
        try:
            info = stat(entry.pw_dir)
        except OSError:
            continue
        if (info.st_mode & 0o170000) == 0o040000 and info.st_mode & mask:
            homes.append(entry.pw_dir)
    return sorted(set(homes))


PAM_MODULE_PATTERNS = ("/usr/lib/*/security/%s.so", "/lib/*/security/%s.so", "/usr/lib/security/%s.so",
                       "/lib/security/%s.so")


def pam_module_available(name, patterns=PAM_MODULE_PATTERNS):
    """Whether a PAM module is installed (pam_securetty is gone from Debian 13)."""
    return any(glob.glob(pattern % name) for pattern in patterns)


def pam_modules(path):
    """The PAM modules a file of /etc/pam.d names in its active lines ([] when it is missing)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        text = line.split("#", 1)[0]
        for word in text.split():
            if word.endswith(".so"):
                module = os.path.basename(word)[:-3]
                if module not in found:
                    found.append(module)
    return found


def pam_profiles(directory="/var/lib/pam"):
    """The pam-auth-update profiles the common PAM stack was built from (the C(Module:) lines
    pam-auth-update keeps in /var/lib/pam for each stack), sorted."""
    names = set()
    for stack in ("auth", "account", "password", "session", "session-noninteractive"):
        try:
            with open(os.path.join(directory, stack), encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith("Module: "):
                names.add(line[len("Module: "):].strip())
    return sorted(names)


# Which of the names dpkg has installed: installed_packages(run, names), one dpkg-query.
installed_packages = debian_packages.installed_packages


def apt_lists_present(directory="/var/lib/apt/lists"):
    """Whether apt has package lists (a fresh image ships without them, with a recent mtime that
    fools cache_valid_time)."""
    try:
        return any("_Packages" in name for name in os.listdir(directory))
    except OSError:
        return False


def audit_rules_stale(run, augenrules="/usr/sbin/augenrules"):
    """Whether augenrules --check (read-only) finds the compiled audit.rules out of date with rules.d."""
    if not os.path.exists(augenrules):
        return False
    _rc, out, _err = run([augenrules, "--check"])
    return "should be updated" in out
