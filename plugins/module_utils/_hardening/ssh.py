# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SSH host state: what the lock-out guard needs to know about a user, the host keys and moduli.

Every function takes ``run``, a callable ``argv -> (rc, stdout, stderr)``, so tests need no sshd."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd

SSHD = "/usr/sbin/sshd"
# Key types the hardened sshd accepts from users whatever their size, and the smallest RSA key.
STRONG_KEY_TYPES = ("ED25519", "ED25519-SK")
DEFAULT_RSA_MIN_BITS = 3072


def sshd_effective(run, user="prodready-check", sshd=SSHD):
    """sshd -T for a connection of ``user`` from localhost as {keyword: value}; {} when sshd is
    missing or its configuration does not parse. Repeated keywords (e.g. authorizedkeysfile is one
    line with several files) keep their first line, as sshd does."""
    if not os.path.exists(sshd):
        return {}
    rc, out, _err = run([sshd, "-T", "-C", "user=%s,host=localhost,addr=127.0.0.1" % user])
    if rc != 0:
        return {}
    config = {}
    for line in out.splitlines():
        keyword, _sep, value = line.partition(" ")
        config.setdefault(keyword.lower(), value.strip())
    return config


def authorized_keys_files(config, user, home):
    """The files sshd reads a user's keys from (sshd's defaults when it names none)."""
    files = (config.get("authorizedkeysfile") or ".ssh/authorized_keys .ssh/authorized_keys2").split()
    paths = []
    for name in files:
        if name.lower() == "none":
            continue
        name = name.replace("%%", "\0").replace("%h", home).replace("%u", user).replace("\0", "%")
        paths.append(name if name.startswith("/") else os.path.join(home, name))
    return paths


def key_fingerprints(run, path):
    """[(bits, TYPE)] of the keys in an authorized keys file, as ssh-keygen -l reads them."""
    if not os.access(path, os.R_OK):
        return []
    rc, out, _err = run(["ssh-keygen", "-lf", path])
    keys = []
    if rc != 0:
        return keys
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0].isdigit():
            keys.append((int(fields[0]), fields[-1].strip("()")))
    return keys


def usable(bits, key_type, rsa_min_bits=DEFAULT_RSA_MIN_BITS):
    """A key the hardened sshd accepts: Ed25519 (also -SK), or RSA of at least rsa_min_bits."""
    return key_type in STRONG_KEY_TYPES or (key_type == "RSA" and bits >= rsa_min_bits)


def user_groups(name, gid):
    """Names of the user's primary and supplementary groups."""
    names = []
    try:
        names.append(grp.getgrgid(gid).gr_name)
    except KeyError:
        pass
    for group in grp.getgrall():
        if name in group.gr_mem and group.gr_name not in names:
            names.append(group.gr_name)
    return names


def guard(run, user, rsa_min_bits=DEFAULT_RSA_MIN_BITS, sshd=SSHD):
    """What the lock-out guard checks for ``user``: does the account exist, which keys from the
    authorized keys files sshd names for it, how many of them the hardened sshd accepts, the user's
    groups and whether an AuthorizedKeysCommand is configured."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return {"user": user, "exists": False, "keys": [], "usable_keys": 0, "groups": [],
                "authorized_keys_command": None}
    config = sshd_effective(run, user, sshd)
    keys = []
    for path in authorized_keys_files(config, user, entry.pw_dir):
        keys.extend({"bits": bits, "type": key_type, "file": path} for bits, key_type in key_fingerprints(run, path))
    command = config.get("authorizedkeyscommand")
    return {
        "user": user,
        "exists": True,
        "keys": keys,
        "usable_keys": len([key for key in keys if usable(key["bits"], key["type"], rsa_min_bits)]),
        "groups": user_groups(user, entry.pw_gid),
        "authorized_keys_command": None if command in (None, "", "none") else command,
    }


def rsa_host_key_bits(run, path="/etc/ssh/ssh_host_rsa_key.pub"):
    """Size of the RSA host key, 0 when there is none."""
    if not os.path.exists(path):
        return 0
    rc, out, _err = run(["ssh-keygen", "-lf", path])
    fields = out.split()
    return int(fields[0]) if rc == 0 and fields and fields[0].isdigit() else 0


def weak_moduli(lines, min_bits):
    """Number of Diffie-Hellman groups in /etc/ssh/moduli (its lines) below min_bits."""
    weak = 0
    for line in lines:
        fields = line.split()
        if line.startswith("#") or len(fields) < 7 or not fields[4].isdigit():
            continue
        if int(fields[4]) < min_bits:
            weak += 1
    return weak
