# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prodready.platform.plugins.module_utils._hardening import ssh
from ansible_collections.prodready.platform.plugins.modules import hardening_facts

SSHD_T = """port 22
passwordauthentication no
permitrootlogin no
kexalgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256
ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com
macs hmac-sha2-512-etm@openssh.com
authorizedkeysfile .ssh/authorized_keys
"""


def test_host_state_has_every_documented_key():
    calls = []

    def run(argv):
        calls.append(argv[0])
        return 1, "", ""

    state = hardening_facts.host_state(run, {"moduli_min_bits": 3071, "packages": ["chrony"]})
    assert set(state) == {"ssh_host_keys", "system_accounts_with_shell", "pam", "packages", "apt_lists",
                          "listchanges_timer_enabled", "audit_rules_stale", "home_dirs_open",
                          "system_accounts_shell_kept", "sshd_effective"}
    assert set(state["ssh_host_keys"]) == {"rsa_bits", "ed25519", "weak_moduli"}
    assert set(state["pam"]) == {"securetty_available", "faillock_wired", "profiles"}
    assert state["packages"] == []
    # Read-only: the commands it runs only read.
    assert set(calls) <= {"ssh-keygen", "dpkg-query", "/usr/sbin/augenrules", "/usr/sbin/sshd"}
    assert state["sshd_effective"] is None  # sshd -T failed or sshd is missing


def test_every_returned_key_is_documented():
    for key in ("guard:", "ssh_host_keys:", "system_accounts_with_shell:", "pam:", "packages:", "apt_lists:",
                "listchanges_timer_enabled:", "audit_rules_stale:", "fs_inventory:", "home_dirs_open:",
                "ssh_session:", "system_accounts_shell_kept:", "sshd_effective:"):
        assert "\n" + key in hardening_facts.RETURN


def test_sshd_effective_reads_the_check_connection(tmp_path):
    sshd = tmp_path / "sshd"
    sshd.write_text("")
    calls = []

    def run(argv):
        calls.append(argv)
        return 0, SSHD_T, ""

    config = ssh.sshd_effective(run, sshd=str(sshd))
    checked = ("passwordauthentication", "permitrootlogin", "kexalgorithms", "ciphers", "macs")
    assert {keyword: config[keyword] for keyword in checked} == {
        "passwordauthentication": "no", "permitrootlogin": "no",
        "kexalgorithms": "sntrup761x25519-sha512@openssh.com,curve25519-sha256",
        "ciphers": "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com", "macs": "hmac-sha2-512-etm@openssh.com"}
    # The command ssh_check.yml would run: the same connection parameters.
    assert calls == [[str(sshd), "-T", "-C", "user=prodready-check,host=localhost,addr=127.0.0.1"]]


def test_sshd_effective_is_empty_when_sshd_fails_or_is_missing(tmp_path):
    sshd = tmp_path / "sshd"
    sshd.write_text("")
    assert ssh.sshd_effective(lambda argv: (255, "", "bad configuration"), sshd=str(sshd)) == {}
    assert ssh.sshd_effective(lambda argv: (0, SSHD_T, ""), sshd=str(tmp_path / "missing")) == {}
