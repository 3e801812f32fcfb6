# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SSH host state: what the lock-out guard needs to know about a user, the host keys and moduli.

Every function takes ``run``, a callable ``argv -> (rc, stdout, stderr)``, so tests need no sshd."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import grp
import os
import pwd

from ansible_collections.prodready.platform.plugins.module_utils._hardening import sshmatch

SSHD = "/usr/sbin/sshd"
# The smallest RSA user key the hardened sshd accepts (RequiredRSASize).
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


# The signature algorithms sshd's PubkeyAcceptedAlgorithms must list for a key of each type to
# authenticate (an RSA key signs with rsa-sha2-512, rsa-sha2-256 or the SHA-1 ssh-rsa).
KEY_ALGORITHMS = {
    "ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"),
}
# The hardened PubkeyAcceptedAlgorithms (roles/hardening/vars/main.yml), for callers that pass none.
HARDENED_PUBKEY_ALGORITHMS = (
    "ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com", "sk-ssh-ed25519@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com", "rsa-sha2-512", "rsa-sha2-512-cert-v01@openssh.com",
    "rsa-sha2-256", "rsa-sha2-256-cert-v01@openssh.com",
)
ECDSA_CURVE_BITS = {"nistp256": 256, "nistp384": 384, "nistp521": 521}


def _ssh_string(blob, offset):
    """(bytes, next offset) of an SSH wire-format string; ValueError when truncated."""
    if offset + 4 > len(blob):
        raise ValueError("truncated key")
    length = int.from_bytes(blob[offset:offset + 4], "big")
    end = offset + 4 + length
    if end > len(blob):
        raise ValueError("truncated key")
    return blob[offset + 4:end], end


def key_blob_type_and_bits(blob):
    """(key type, size in bits) of a public key blob as authorized_keys holds it in base64."""
    raw_type, offset = _ssh_string(blob, 0)
    key_type = raw_type.decode("ascii")
    if key_type == "ssh-rsa":
        _exponent, offset = _ssh_string(blob, offset)
        modulus, offset = _ssh_string(blob, offset)
        return key_type, int.from_bytes(modulus, "big").bit_length()
    if key_type == "ssh-dss":
        prime, offset = _ssh_string(blob, offset)
        return key_type, int.from_bytes(prime, "big").bit_length()
    if "ecdsa-sha2-" in key_type:
        curve, offset = _ssh_string(blob, offset)
        return key_type, ECDSA_CURVE_BITS.get(curve.decode("ascii", "replace"), 0)
    if "ed25519" in key_type:
        return key_type, 256
    return key_type, 0


def split_key_options(line):
    """(options, rest) of an authorized_keys line: the options field ends at the first blank
    outside double quotes (a backslash escapes a quote inside them)."""
    quoted = False
    index = 0
    while index < len(line):
        char = line[index]
        if char == "\\" and quoted and index + 1 < len(line):
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        elif char in " \t" and not quoted:
            return line[:index], line[index:].strip()
        index += 1
    return line, ""


def parse_key_options(text):
    """{name: value or True} of an authorized_keys options field (names lower-cased)."""
    options = {}
    name = value = ""
    in_value = quoted = False
    index = 0
    while index <= len(text):
        char = text[index] if index < len(text) else ","
        if quoted and char == "\\" and index + 1 < len(text):
            value += text[index + 1]
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            if name:
                options[name.lower()] = value if in_value else True
            name = value = ""
            in_value = False
        elif char == "=" and not in_value and not quoted:
            in_value = True
        elif in_value:
            value += char
        else:
            name += char
        index += 1
    return options


def parse_authorized_key(line):
    """One authorized_keys line as {type, bits, options}, or None for blanks, comments and lines
    sshd would not read as a key. The type comes from the key blob itself."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    for candidate in (("", line), split_key_options(line)):
        options, rest = candidate
        fields = rest.split()
        if len(fields) < 2:
            continue
        try:
            blob = base64.b64decode(fields[1].encode("ascii"), validate=True)
            key_type, bits = key_blob_type_and_bits(blob)
        except (ValueError, UnicodeError, binascii.Error):
            continue
        if key_type != fields[0]:
            continue
        return {"type": key_type, "bits": bits, "options": parse_key_options(options) if options else {}}
    return None


def read_authorized_keys(path):
    """The keys of an authorized keys file ([] when it is missing or unreadable)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []
    return [key for key in (parse_authorized_key(line) for line in lines) if key is not None]


def key_accepted(key, pubkey_algorithms=HARDENED_PUBKEY_ALGORITHMS, rsa_min_bits=DEFAULT_RSA_MIN_BITS, address=None):
    """Whether the hardened sshd accepts ``key`` (from read_authorized_keys) from a client at
    ``address``: its type signs with an algorithm of PubkeyAcceptedAlgorithms, an RSA key is at
    least RequiredRSASize, and a from= option (when the address is known) lets the client in."""
    algorithms = KEY_ALGORITHMS.get(key["type"], (key["type"],))
    if not any(algorithm in pubkey_algorithms for algorithm in algorithms):
        return False
    if key["type"] == "ssh-rsa" and key["bits"] < rsa_min_bits:
        return False
    sources = key["options"].get("from")
    if isinstance(sources, str) and address is not None:
        try:
            return sshmatch.match_host_and_ip(address, address, sources)
        except sshmatch.InvalidPattern:
            return False
    return True


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


def _proc_environ(proc, pid):
    try:
        with open(os.path.join(proc, str(pid), "environ"), "rb") as handle:
            data = handle.read()
    except OSError:
        return {}
    variables = {}
    for item in data.split(b"\0"):
        name, sep, value = item.partition(b"=")
        if sep:
            variables[name.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return variables


def _proc_status(proc, pid):
    """(parent pid, real uid) of a process, (0, None) when it is gone."""
    parent, uid = 0, None
    try:
        with open(os.path.join(proc, str(pid), "status"), encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("PPid:"):
                    parent = int(line.split()[1])
                elif line.startswith("Uid:"):
                    uid = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return 0, None
    return parent, uid


def _user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, TypeError):
        return None


def ssh_session(proc="/proc", pid=None, environ=None):
    """The SSH session this process runs in: {client, client_port, server, server_port, user}
    from SSH_CONNECTION, found in our own environment or, when become (sudo, su) reset it, in the
    nearest ancestor process that has it. ``user`` is the account of the topmost process that
    still carries the same SSH_CONNECTION: the connecting user's shell, which sshd started (sudo
    itself, below it, may run as root). None when no ancestor came in over SSH (docker exec, local
    connection, console)."""
    pid = os.getpid() if pid is None else pid
    environ = os.environ if environ is None else environ
    found, uid = environ.get("SSH_CONNECTION"), os.getuid()
    seen = set()
    while pid > 1 and pid not in seen and len(seen) < 64:
        seen.add(pid)
        parent, _uid = _proc_status(proc, pid)
        if parent <= 0:
            break
        value = _proc_environ(proc, parent).get("SSH_CONNECTION")
        if found and value != found:
            break
        if value:
            found, uid = value, _proc_status(proc, parent)[1]
        pid = parent
    fields = (found or "").split()
    if len(fields) != 4 or not fields[1].isdigit() or not fields[3].isdigit():
        return None
    return {"client": fields[0], "client_port": int(fields[1]), "server": fields[2], "server_port": int(fields[3]),
            "user": _user_name(uid)}


NO_LOGIN_SHELLS = ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false", "")


def guard(run, user, rsa_min_bits=DEFAULT_RSA_MIN_BITS, sshd=SSHD, pubkey_algorithms=HARDENED_PUBKEY_ALGORITHMS,
          address=None, access_lists=None):
    """What the lock-out guard checks for ``user`` connecting from ``address`` (None: unknown):
    does the account exist and have a login shell, the keys of the authorized keys files sshd
    names for it and how many the hardened sshd accepts (``pubkey_algorithms``, RSA of at least
    ``rsa_min_bits``, from= options), the user's groups, whether an AuthorizedKeysCommand is
    configured, and why the new AllowUsers/DenyUsers/AllowGroups/DenyGroups (``access_lists``,
    keys allow_users, deny_users, allow_groups, deny_groups) would refuse it (None: they let it in)."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return {"user": user, "exists": False, "shell": None, "login_shell": False, "keys": [], "usable_keys": 0,
                "groups": [], "authorized_keys_command": None, "access_refused": None}
    config = sshd_effective(run, user, sshd)
    keys = []
    for path in authorized_keys_files(config, user, entry.pw_dir):
        for key in read_authorized_keys(path):
            keys.append({"type": key["type"], "bits": key["bits"], "file": path,
                         "accepted": key_accepted(key, pubkey_algorithms, rsa_min_bits, address)})
    command = config.get("authorizedkeyscommand")
    groups = user_groups(user, entry.pw_gid)
    lists = access_lists or {}
    try:
        refused = sshmatch.access(user, groups, address, lists.get("allow_users") or (), lists.get("deny_users") or (),
                                  lists.get("allow_groups") or (), lists.get("deny_groups") or ())
    except sshmatch.InvalidPattern as exc:
        refused = "sshd would refuse the access lists: %s" % exc
    return {
        "user": user,
        "exists": True,
        "shell": entry.pw_shell,
        "login_shell": entry.pw_shell not in NO_LOGIN_SHELLS,
        "keys": keys,
        "usable_keys": len([key for key in keys if key["accepted"]]),
        "groups": groups,
        "authorized_keys_command": None if command in (None, "", "none") else command,
        "access_refused": refused,
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
