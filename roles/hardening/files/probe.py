# -*- coding: utf-8 -*-
# Read-only probe of the host state the hardening role branches on; prints one JSON object.
#   probe.py SPEC_JSON
# One process instead of a dozen read tasks keeps the no-op run fast: every task of the role
# that only reads (unit states, file lines, owners and modes, accounts, host keys, the effective
# sshd configuration, the filesystem inventory cache) takes its answer from here, and the tasks
# that change something run only where the answer differs from what the variables ask for.
# The role runs it again after installing packages, since packages add units, accounts and keys.
import grp
import json
import os
import pwd
import subprocess
import sys
import time


def run(argv):
    """stdout of a command, "" when it is missing or fails (a fresh host lacks most of them)."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, errors="replace", check=False).stdout
    except OSError:
        return ""


def installed_packages():
    out = run(["dpkg-query", "-W", "-f=${db:Status-Abbrev} ${Package}\n"])
    return sorted(line.split()[1] for line in out.splitlines() if line.startswith("ii ") and len(line.split()) > 1)


def read_lines(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().splitlines()
    except OSError:
        return None


def getent(database):
    """As ansible.builtin.getent's facts: name -> the remaining fields."""
    entries = {}
    for line in run(["getent", database]).splitlines():
        fields = line.split(":")
        entries.setdefault(fields[0], fields[1:])
    return entries


def owner_and_mode(paths):
    """"path|mode|owner|group" for the paths that exist (the format of stat -c '%n|%a|%U|%G')."""
    existing = [path for path in paths if os.path.lexists(path)]
    return run(["stat", "-c", "%n|%a|%U|%G", "--"] + existing).splitlines() if existing else []


def fs_scan_cache(path, ttl_hours):
    """The filesystem inventory fs-scan.sh cached, or None when it is missing, stale or unreadable."""
    try:
        if time.time() - os.stat(path).st_mtime >= ttl_hours * 3600:
            return None
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def compilers_pending(paths, group, mode):
    """Compilers whose dpkg-statoverride entry or owner/mode is not root:GROUP MODE."""
    want = "root %s %s" % (group, mode)
    # One listing of every override ("owner group mode path") instead of one dpkg call per file.
    overrides = {}
    for line in run(["dpkg-statoverride", "--list"]).splitlines():
        fields = line.split(None, 3)
        if len(fields) == 4:
            overrides[fields[3]] = " ".join(fields[:3])
    pending = set()
    for link in paths:
        if not os.path.exists(link):
            continue
        target = os.path.realpath(link)
        status = os.stat(target)
        actual = "%s %s %o" % (id_name(pwd.getpwuid, status.st_uid, "pw_name"),
                               id_name(grp.getgrgid, status.st_gid, "gr_name"), status.st_mode & 0o7777)
        if overrides.get(target) != want or actual != want:
            pending.add(target)
    return sorted(pending)


def id_name(lookup, number, field):
    """User or group name of an id (the id itself when it has no name)."""
    try:
        return getattr(lookup(number), field)
    except KeyError:
        return str(number)


def ssh_keys(moduli_min_bits):
    rsa = run(["ssh-keygen", "-lf", "/etc/ssh/ssh_host_rsa_key.pub"]).split()
    weak = 0
    for line in read_lines("/etc/ssh/moduli") or []:
        fields = line.split()
        if line.startswith("#") or len(fields) < 7:
            continue
        if fields[4].isdigit() and int(fields[4]) < moduli_min_bits:
            weak += 1
    return {
        "rsa_bits": int(rsa[0]) if rsa and rsa[0].isdigit() else 0,
        "weak_moduli": weak,
        "ed25519": os.path.exists("/etc/ssh/ssh_host_ed25519_key"),
    }


def first_line(argv):
    return (run(argv).splitlines() or [""])[0]


def main():
    spec = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    packages = installed_packages()
    libdirs = ("/usr/lib", "/lib")
    securetty = any(
        os.path.exists(os.path.join(base, arch, "security/pam_securetty.so"))
        for base in libdirs if os.path.isdir(base) for arch in os.listdir(base)
    )
    # A fresh image may ship without package lists, with a recent mtime that fools cache_valid_time.
    try:
        apt_lists = len([name for name in os.listdir("/var/lib/apt/lists") if "_Packages" in name])
    except OSError:
        apt_lists = 0
    result = {
        "ssh_service": first_line(["systemctl", "is-active", "ssh.service"]),
        "ssh_socket": first_line(["systemctl", "is-active", "ssh.socket"]),
        "ssh_socket_enabled": first_line(["systemctl", "is-enabled", "ssh.socket"]),
        "chrony": "chrony" in packages,
        "ntpsec": "ntpsec" in packages,
        "ntp": "ntp" in packages,
        "openntpd": "openntpd" in packages,
        "pam_securetty": securetty,
        "apt_lists": apt_lists,
        "systemd_detect_virt": run(["systemd-detect-virt"]).strip(),
        # apt runs only when one of the role's packages is missing.
        "installed": packages,
        # The files the role edits line by line: their lines let those tasks skip when already right.
        "lines": {path: read_lines(path) for path in spec.get("lines", [])},
        # `systemctl show` text for the prodready.platform.systemd_units filter.
        "units": run(["systemctl", "show", "--property=Id,UnitFileState,ActiveState", "--"] + spec["units"])
        if spec.get("units") else "",
        "owner_and_mode": owner_and_mode(spec.get("owner_and_mode", [])),
        "passwd": getent("passwd"),
        "group": getent("group"),
        "fs_scan": fs_scan_cache(spec["fs_scan_cache"], int(spec.get("fs_scan_ttl_hours", 24)))
        if spec.get("fs_scan_cache") else None,
        "compilers_pending": compilers_pending(spec.get("compilers_paths", []), spec.get("compilers_group", "root"),
                                               spec.get("compilers_mode", "750")),
        "ssh_keys": ssh_keys(int(spec.get("moduli_min_bits", 3072))),
        # Empty when sshd is missing or its configuration does not parse (the role then re-reads after writing it).
        "sshd_effective": run(["/usr/sbin/sshd", "-T", "-C", "user=prodready-check,host=localhost,addr=127.0.0.1"])
        .splitlines() if os.path.exists("/usr/sbin/sshd") else [],
        "listchanges_timer": os.path.lexists("/etc/systemd/system/timers.target.wants/apt-listchanges.timer"),
        # augenrules --check: the compiled /etc/audit/audit.rules no longer matches rules.d.
        "audit_rules_stale": "should be updated" in run(["augenrules", "--check"])
        if os.path.exists("/usr/sbin/augenrules") else False,
        # The files the role writes, read as config_files_pending compares them: observe_paths() is
        # plugins/module_utils/config_files.py's, which the probe task sends ahead of this file.
        "states": globals()["observe_paths"](spec.get("states", [])),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
