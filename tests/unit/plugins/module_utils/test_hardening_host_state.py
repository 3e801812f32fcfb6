# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import collections
import json
import os
import pwd

from hypothesis import given, strategies as st

from ansible_collections.prodready.platform.plugins.module_utils._hardening import host, inventory, ssh

Entry = collections.namedtuple("Entry", "pw_name pw_uid pw_shell")


def test_system_accounts_with_a_login_shell():
    entries = [Entry("root", 0, "/bin/bash"), Entry("sync", 4, "/bin/sync"), Entry("daemon", 1, "/usr/sbin/nologin"),
               Entry("games", 5, "/bin/sh"), Entry("nobody", 65534, "/bin/bash"), Entry("alice", 1000, "/bin/bash"),
               Entry("empty", 10, "")]
    assert host.system_accounts_with_shell(entries) == ["games", "nobody"]


GroupEntry = collections.namedtuple("GroupEntry", "pw_name pw_uid pw_shell pw_gid")


def test_ssh_users_keep_their_shell():
    # A `useradd -r` automation account (uid < 1000) that Ansible connects as, an account AllowUsers
    # names with a host part, and one in an AllowGroups group keep their shell; the rest lose it.
    entries = [GroupEntry("automation", 998, "/bin/bash", 998), GroupEntry("backup-agent", 997, "/bin/sh", 997),
               GroupEntry("relay", 996, "/bin/sh", 50), GroupEntry("games", 5, "/bin/sh", 60),
               GroupEntry("alice", 1000, "/bin/bash", 1000)]
    groups = {"relay": ["sshlogin"], "games": ["games"]}
    keep = host.ssh_users(["automation"], ["backup-*@10.0.0.0/8"], ["ssh*"], lambda entry: groups.get(entry.pw_name, []))
    assert host.system_accounts_with_shell(entries, keep) == ["games"]
    assert host.system_accounts_with_shell(entries) == ["automation", "backup-agent", "games", "relay"]


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


def make_key_line(key_type, *fields):
    """An authorized_keys line for a key blob built from SSH wire-format fields."""
    blob = b"".join(len(field).to_bytes(4, "big") + field for field in (key_type.encode(),) + fields)
    return "%s %s comment" % (key_type, base64.b64encode(blob).decode())


@given(st.integers(min_value=512, max_value=8192))
def test_rsa_key_size_is_read_from_the_blob(bits):
    modulus = (1 << (bits - 1)) | 1
    line = make_key_line("ssh-rsa", b"\x01\x00\x01", modulus.to_bytes((bits + 7) // 8 + 1, "big"))
    key = ssh.parse_authorized_key(line)
    assert key == {"type": "ssh-rsa", "bits": bits, "options": {}}
    assert ssh.key_accepted(key) == (bits >= 3072)
    # SHA-1 only: an RSA key is refused when PubkeyAcceptedAlgorithms lists no rsa-sha2-*.
    assert not ssh.key_accepted(key, pubkey_algorithms=("ssh-ed25519",))


@given(st.text(st.sampled_from(list('ab, ="\\')), max_size=20))
def test_parser_never_raises_on_junk(text):
    ssh.parse_authorized_key(text)
    ssh.parse_key_options(text)


def test_key_types_the_hardened_sshd_refuses():
    ed25519 = make_key_line("ssh-ed25519", b"k" * 32)
    refused = [make_key_line("ssh-dss", b"\x80" + b"p" * 127, b"q", b"g", b"y"),
               make_key_line("ecdsa-sha2-nistp256", b"nistp256", b"\x04" + b"x" * 64),
               make_key_line("sk-ecdsa-sha2-nistp256@openssh.com", b"nistp256", b"\x04" + b"x" * 64, b"ssh:")]
    assert ssh.key_accepted(ssh.parse_authorized_key(ed25519))
    for line in refused:
        key = ssh.parse_authorized_key(line)
        assert key is not None and not ssh.key_accepted(key), line
    assert ssh.parse_authorized_key(refused[0])["bits"] == 1024
    assert ssh.parse_authorized_key("# comment") is None
    assert ssh.parse_authorized_key("ssh-ed25519 not-base64!") is None
    # The type named on the line must be the blob's.
    assert ssh.parse_authorized_key(ed25519.replace("ssh-ed25519 ", "ssh-rsa ", 1)) is None


def test_key_options_and_from_restrictions():
    line = 'from="10.0.0.0/8,!10.9.9.9",command="echo \\"a, b\\"",no-pty ' + make_key_line("ssh-ed25519", b"k" * 32)
    key = ssh.parse_authorized_key(line)
    assert key["options"] == {"from": "10.0.0.0/8,!10.9.9.9", "command": 'echo "a, b"', "no-pty": True}
    assert ssh.key_accepted(key, address="10.1.2.3")
    assert not ssh.key_accepted(key, address="10.9.9.9")
    assert not ssh.key_accepted(key, address="192.168.0.1")
    assert ssh.key_accepted(key)


def test_ssh_session_is_found_in_an_ancestor(tmp_path):
    # become (sudo) resets the environment: SSH_CONNECTION is in the connecting user's shell above us.
    # python (root, env reset) -> sudo (root, the user's environment) -> the user's shell -> sshd.
    connection = b"SSH_CONNECTION=172.30.100.1 40022 172.30.100.130 2222\0"
    for pid, parent, uid, environ in ((30, 20, 0, b"PATH=/bin\0"), (20, 10, 0, connection),
                                      (10, 5, os.getuid(), connection), (5, 1, 0, b"LANG=C\0")):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "status").write_text("Name:\tx\nPPid:\t%d\nUid:\t%d\t%d\t%d\t%d\n" % (parent, uid, uid, uid, uid))
        (tmp_path / str(pid) / "environ").write_bytes(environ)
    session = ssh.ssh_session(proc=str(tmp_path), pid=30, environ={})
    assert session == {"client": "172.30.100.1", "client_port": 40022, "server": "172.30.100.130", "server_port": 2222,
                       "user": pwd.getpwuid(os.getuid()).pw_name}
    assert ssh.ssh_session(proc=str(tmp_path), pid=20, environ={"SSH_CONNECTION": "::1 5 ::1 22"})["client"] == "::1"
    for pid in ("10", "20"):
        (tmp_path / pid / "environ").write_bytes(b"PATH=/bin\0")
    assert ssh.ssh_session(proc=str(tmp_path), pid=30, environ={}) is None


def test_authorized_keys_files_expand_tokens():
    config = {"authorizedkeysfile": ".ssh/authorized_keys /etc/ssh/keys/%u %h/.ssh/extra"}
    assert ssh.authorized_keys_files(config, "bob", "/home/bob") == [
        "/home/bob/.ssh/authorized_keys", "/etc/ssh/keys/bob", "/home/bob/.ssh/extra"]
    defaults = ["/home/bob/.ssh/authorized_keys", "/home/bob/.ssh/authorized_keys2"]
    assert ssh.authorized_keys_files({}, "bob", "/home/bob") == defaults


def test_guard_reads_the_users_keys(tmp_path):
    me = pwd.getpwuid(os.getuid())
    keys = tmp_path / "keys"
    keys.write_text("\n".join([make_key_line("ssh-ed25519", b"k" * 32),
                               make_key_line("ecdsa-sha2-nistp256", b"nistp256", b"\x04" + b"x" * 64), ""]))

    def run(argv):
        return 0, "authorizedkeysfile %s\nauthorizedkeyscommand none\n" % keys, ""

    result = ssh.guard(run, me.pw_name, sshd="/bin/true", address="10.0.0.5",
                       access_lists={"allow_users": ["%s@10.0.0.0/8" % me.pw_name]})
    assert result["exists"] and result["usable_keys"] == 1 and len(result["keys"]) == 2
    assert [key["type"] for key in result["keys"] if not key["accepted"]] == ["ecdsa-sha2-nistp256"]
    assert result["authorized_keys_command"] is None
    assert result["groups"] and result["shell"] == me.pw_shell
    assert result["access_refused"] is None
    refused = ssh.guard(run, me.pw_name, sshd="/bin/true", address="192.168.1.1",
                        access_lists={"allow_users": ["%s@10.0.0.0/8" % me.pw_name]})
    assert refused["access_refused"] == "not listed in AllowUsers"
    bad = ssh.guard(run, me.pw_name, sshd="/bin/true", address="10.0.0.5", access_lists={"allow_users": ["x@10.0.0.1/8"]})
    assert bad["access_refused"].startswith("sshd would refuse the access lists")
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
