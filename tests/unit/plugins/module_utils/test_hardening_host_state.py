# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import json
import os
import pwd

from ansible_collections.prodready.platform.plugins.module_utils._hardening import host, inventory, ssh

Entry = collections.namedtuple("Entry", "pw_name pw_uid pw_shell")


def test_system_accounts_with_a_login_shell():
    entries = [Entry("root", 0, "/bin/bash"), Entry("sync", 4, "/bin/sync"), Entry("daemon", 1, "/usr/sbin/nologin"),
               Entry("games", 5, "/bin/sh"), Entry("nobody", 65534, "/bin/bash"), Entry("alice", 1000, "/bin/bash"),
               Entry("empty", 10, "")]
    assert host.system_accounts_with_shell(entries) == ["games", "nobody"]


def test_pam_modules_of_active_lines(tmp_path):
    path = tmp_path / "common-auth"
    path.write_text("# pam_faillock.so in a comment\nauth [success=1 default=ignore] pam_unix.so nullok\n"
                    "auth requisite pam_faillock.so preauth\n")
    assert host.pam_modules(str(path)) == ["pam_unix", "pam_faillock"]
    assert host.pam_modules(str(tmp_path / "missing")) == []


HomeEntry = collections.namedtuple("HomeEntry", "pw_name pw_uid pw_shell pw_dir")


def test_open_home_dirs(tmp_path):
    modes = {}
    for name, mode in (("open", 0o755), ("groupw", 0o770), ("closed", 0o750), ("private", 0o700), ("svc", 0o755)):
        path = tmp_path / name
        path.mkdir()
        path.chmod(mode)
        modes[name] = str(path)
    entries = [HomeEntry("alice", 1000, "/bin/bash", modes["open"]), HomeEntry("bob", 1001, "/bin/sh", modes["groupw"]),
               HomeEntry("carol", 1002, "/bin/bash", modes["closed"]), HomeEntry("dave", 1003, "/bin/bash", modes["private"]),
               HomeEntry("svc", 1004, "/usr/sbin/nologin", modes["svc"]), HomeEntry("daemon", 1, "/bin/sh", modes["open"]),
               HomeEntry("nobody", 65534, "/bin/sh", modes["open"]), HomeEntry("gone", 1005, "/bin/sh", str(tmp_path / "gone")),
               HomeEntry("rooted", 1006, "/bin/sh", "/")]
    assert host.open_home_dirs(entries) == sorted([modes["open"], modes["groupw"]])


def test_pam_profiles(tmp_path):
    (tmp_path / "auth").write_text("Module: faillock\nauth [default=die] pam_faillock.so authfail\nModule: prodready-unix\n")
    (tmp_path / "password").write_text("Module: pwhistory\nrequisite pam_pwhistory.so\nModule: prodready-unix\n")
    assert host.pam_profiles(str(tmp_path)) == ["faillock", "prodready-unix", "pwhistory"]
    assert host.pam_profiles(str(tmp_path / "missing")) == []


def test_installed_packages_reads_dpkg_query():
    out = "ii  chrony\nun  ntp\nii  ntpsec:amd64\n"
    assert host.installed_packages(lambda argv: (1, out, ""), ["chrony", "ntp", "ntpsec"]) == ["chrony", "ntpsec"]
    assert host.installed_packages(None, []) == []


def test_weak_moduli():
    lines = ["# comment", "20230101 2 6 100 2047 2 ABC", "20230101 2 6 100 3071 2 ABC", "short line"]
    assert ssh.weak_moduli(lines, 3071) == 1


def test_usable_keys():
    assert ssh.usable(256, "ED25519") and ssh.usable(256, "ED25519-SK")
    assert ssh.usable(4096, "RSA") and not ssh.usable(2048, "RSA")
    assert not ssh.usable(256, "ECDSA")


def test_authorized_keys_files_expand_tokens():
    config = {"authorizedkeysfile": ".ssh/authorized_keys /etc/ssh/keys/%u %h/.ssh/extra"}
    assert ssh.authorized_keys_files(config, "bob", "/home/bob") == [
        "/home/bob/.ssh/authorized_keys", "/etc/ssh/keys/bob", "/home/bob/.ssh/extra"]
    defaults = ["/home/bob/.ssh/authorized_keys", "/home/bob/.ssh/authorized_keys2"]
    assert ssh.authorized_keys_files({}, "bob", "/home/bob") == defaults


def test_guard_reads_the_users_keys(tmp_path):
    me = pwd.getpwuid(os.getuid())
    keys = tmp_path / "keys"
    keys.write_text("ssh-ed25519 AAAA\n")

    def run(argv):
        if argv[0] == "ssh-keygen":
            return 0, "256 SHA256:abc comment (ED25519)\n2048 SHA256:def c (RSA)\n", ""
        return 0, "authorizedkeysfile %s\nauthorizedkeyscommand none\n" % keys, ""

    result = ssh.guard(run, me.pw_name, sshd="/bin/true")
    assert result["exists"] and result["usable_keys"] == 1 and len(result["keys"]) == 2
    assert result["authorized_keys_command"] is None
    assert result["groups"]
    assert ssh.guard(run, "no-such-user-prodready")["exists"] is False


def test_inventory_scans_then_uses_the_cache(tmp_path):
    tree = tmp_path / "bin"
    tree.mkdir()
    suid = tree / "helper"
    suid.write_text("x")
    os.chmod(suid, 0o4755)
    writable = tree / "open"
    writable.write_text("x")
    os.chmod(writable, 0o666)
    cache = tmp_path / "cache" / "scan.json"
    first = inventory.inventory([str(tree), str(tmp_path / "absent")], str(cache), 24)
    assert first["suid_sgid"] == [str(suid)] and first["world_writable"] == [str(writable)]
    assert first["paths"] == [str(tree)] and first["cached"] is False
    assert json.loads(cache.read_text())["suid_sgid"] == [str(suid)]
    assert oct(os.stat(cache).st_mode & 0o777) == "0o600"
    os.chmod(suid, 0o755)
    assert inventory.inventory([str(tree)], str(cache), 24)["cached"] is True
    # TTL 0 always walks; without write (check mode) the cache is left.
    fresh = inventory.inventory([str(tree)], str(cache), 0, write=False)
    assert fresh["suid_sgid"] == [] and fresh["cached"] is False
    assert json.loads(cache.read_text())["suid_sgid"] == [str(suid)]


def test_audit_rules_stale(tmp_path):
    tool = tmp_path / "augenrules"
    tool.write_text("")
    assert host.audit_rules_stale(lambda argv: (0, "/usr/sbin/augenrules: Rules have changed and should be updated\n", ""),
                                  str(tool))
    assert not host.audit_rules_stale(lambda argv: (0, "/usr/sbin/augenrules: No change\n", ""), str(tool))
    assert not host.audit_rules_stale(None, str(tmp_path / "missing"))
