# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prodready.platform.plugins.modules import hardening_facts


def test_host_state_has_every_documented_key():
    calls = []

    def run(argv):
        calls.append(argv[0])
        return 1, "", ""

    state = hardening_facts.host_state(run, {"moduli_min_bits": 3071, "packages": ["chrony"]})
    assert set(state) == {"ssh_host_keys", "system_accounts_with_shell", "pam", "packages", "apt_lists",
                          "listchanges_timer_enabled", "audit_rules_stale", "home_dirs_open",
                          "system_accounts_shell_kept"}
    assert set(state["ssh_host_keys"]) == {"rsa_bits", "ed25519", "weak_moduli"}
    assert set(state["pam"]) == {"securetty_available", "faillock_wired", "profiles"}
    assert state["packages"] == []
    # Read-only: the commands it runs only read.
    assert set(calls) <= {"ssh-keygen", "dpkg-query", "/usr/sbin/augenrules"}


def test_every_returned_key_is_documented():
    for key in ("guard:", "ssh_host_keys:", "system_accounts_with_shell:", "pam:", "packages:", "apt_lists:",
                "listchanges_timer_enabled:", "audit_rules_stale:", "fs_inventory:", "home_dirs_open:",
                "ssh_session:", "system_accounts_shell_kept:"):
        assert "\n" + key in hardening_facts.RETURN
