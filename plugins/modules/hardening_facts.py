#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: hardening_facts
short_description: Read the host state the hardening role branches on
version_added: "1.2.0"
description:
  - Reads, in one module run, what the P(prodready.platform.hardening#role) role needs to know
    before it acts and no other module can decide by itself - the lock-out guard's user (the keys
    sshd would accept from it, its groups, an C(AuthorizedKeysCommand)), the host keys and weak
    Diffie-Hellman groups, system accounts with a login shell, whether C(pam_securetty) exists and
    C(pam_faillock) is in the common PAM stack, other NTP daemons, and the SUID/SGID and
    world-writable inventory.
  - Changes no configuration. The only file it writes is the inventory's own cache
    (O(fs_scan_cache), mode 0600), and only outside check mode; C(changed) is always false.
author: prodready.platform maintainers (@prodready)
options:
  guard_user:
    description:
      - The user whose SSH access the lock-out guard checks. Empty leaves RV(guard) out.
    type: str
    default: ""
  rsa_min_bits:
    description: The smallest RSA user key the hardened sshd accepts (RV(guard.usable_keys)).
    type: int
    default: 3072
  host:
    description:
      - Read the host state (RV(ssh_host_keys), RV(system_accounts_with_shell), RV(pam),
        RV(packages), RV(apt_lists), RV(listchanges_timer_enabled), RV(audit_rules_stale)).
    type: bool
    default: false
  moduli_min_bits:
    description: Diffie-Hellman groups of /etc/ssh/moduli below this size count as weak (C(host)).
    type: int
    default: 3071
  packages:
    description: Packages whose installation RV(packages) reports (C(host)).
    type: list
    elements: str
    default: []
  fs_scan_paths:
    description:
      - Directory trees the SUID/SGID and world-writable inventory walks (without crossing
        filesystems). Empty leaves RV(fs_inventory) out.
    type: list
    elements: path
    default: []
  fs_scan_cache:
    description: The inventory's cache file; a walk happens only when it is missing or older than O(fs_scan_ttl_hours).
    type: path
    default: /var/lib/prodready/hardening-fs-scan.json
  fs_scan_ttl_hours:
    description: Age in hours after which the cached inventory is walked again; V(0) always walks.
    type: int
    default: 24
notes:
  - Supports check mode (in check mode a stale inventory is walked but not cached).
seealso:
  - module: prodready.platform.config_files
"""

EXAMPLES = r"""
- name: Read what the lock-out guard checks for the connecting user
  prodready.platform.hardening_facts:
    guard_user: deploy
  register: guard_state

- name: Read host keys, accounts, PAM and the SUID/SGID inventory (cached for a day)
  prodready.platform.hardening_facts:
    host: true
    packages: [chrony, ntpsec]
    fs_scan_paths: [/usr/bin, /usr/sbin]
    fs_scan_ttl_hours: 24
  register: host_state
"""

RETURN = r"""
guard:
  description: The lock-out guard's user (only with O(guard_user)).
  returned: when guard_user is set
  type: dict
  contains:
    user:
      description: The user.
      type: str
    exists:
      description: Whether the account exists.
      type: bool
    keys:
      description: The keys in the authorized keys files sshd names for the user (C(bits), C(type), C(file)).
      type: list
      elements: dict
    usable_keys:
      description: How many of them the hardened sshd accepts (Ed25519, or RSA of at least O(rsa_min_bits)).
      type: int
    groups:
      description: The user's group names.
      type: list
      elements: str
    authorized_keys_command:
      description: sshd's C(AuthorizedKeysCommand), null when none.
      type: str
  sample: {user: deploy, exists: true, keys: [{bits: 256, type: ED25519, file: /home/deploy/.ssh/authorized_keys}],
           usable_keys: 1, groups: [deploy, sudo], authorized_keys_command: null}
ssh_host_keys:
  description: C(rsa_bits) (0 when there is no RSA host key), C(ed25519) (exists), C(weak_moduli) (groups below O(moduli_min_bits)).
  returned: with host
  type: dict
  sample: {rsa_bits: 4096, ed25519: true, weak_moduli: 0}
system_accounts_with_shell:
  description: System accounts (uid below 1000, or 65534) other than root, sync, shutdown and halt that have a login shell.
  returned: with host
  type: list
  elements: str
pam:
  description: C(securetty_available) (pam_securetty.so is installed), C(faillock_wired) (common-auth and common-account use pam_faillock)
    and C(profiles) (the pam-auth-update profiles the common stack was built from, read from /var/lib/pam).
  returned: with host
  type: dict
  sample: {securetty_available: true, faillock_wired: true, profiles: [faillock, faillock_notify, prodready-unix, pwhistory]}
home_dirs_open:
  description: Home directories of login accounts (uid 1000 and up, not 65534, with a login shell) that their group may write or others
    may enter, read or write (mode & 027).
  returned: with host
  type: list
  elements: str
packages:
  description: Which of O(packages) are installed.
  returned: with host
  type: list
  elements: str
apt_lists:
  description: Whether apt has package lists.
  returned: with host
  type: bool
listchanges_timer_enabled:
  description: Whether apt-listchanges' one-shot database timer is still enabled (Debian 13).
  returned: with host
  type: bool
audit_rules_stale:
  description: Whether C(augenrules --check) finds /etc/audit/audit.rules out of date with /etc/audit/rules.d (false without auditd).
  returned: with host
  type: bool
fs_inventory:
  description: The SUID/SGID and world-writable inventory (only with O(fs_scan_paths)).
  returned: when fs_scan_paths is set
  type: dict
  contains:
    scanned_at:
      description: When the walk ran (Unix time).
      type: int
    paths:
      description: The existing paths walked.
      type: list
      elements: str
    suid_sgid:
      description: Regular files with the SUID or SGID bit.
      type: list
      elements: str
    world_writable:
      description: World-writable regular files.
      type: list
      elements: str
    cached:
      description: Whether the answer came from the cache.
      type: bool
"""

import os
import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.prodready.platform.plugins.module_utils._hardening import host, inventory, ssh

LISTCHANGES_TIMER_LINK = "/etc/systemd/system/timers.target.wants/apt-listchanges.timer"


def read_lines(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().splitlines()
    except OSError:
        return []


def host_state(run, params):
    return {
        "ssh_host_keys": {
            "rsa_bits": ssh.rsa_host_key_bits(run),
            "ed25519": os.path.exists("/etc/ssh/ssh_host_ed25519_key"),
            "weak_moduli": ssh.weak_moduli(read_lines("/etc/ssh/moduli"), params["moduli_min_bits"]),
        },
        "system_accounts_with_shell": host.system_accounts_with_shell(pwd.getpwall()),
        "pam": {
            "securetty_available": host.pam_module_available("pam_securetty"),
            "faillock_wired": all("pam_faillock" in host.pam_modules("/etc/pam.d/" + name)
                                  for name in ("common-auth", "common-account")),
            "profiles": host.pam_profiles(),
        },
        "home_dirs_open": host.open_home_dirs(pwd.getpwall()),
        "packages": host.installed_packages(run, params["packages"]),
        "apt_lists": host.apt_lists_present(),
        "listchanges_timer_enabled": os.path.lexists(LISTCHANGES_TIMER_LINK),
        "audit_rules_stale": host.audit_rules_stale(run),
    }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            guard_user=dict(type="str", default=""),
            rsa_min_bits=dict(type="int", default=ssh.DEFAULT_RSA_MIN_BITS),
            host=dict(type="bool", default=False),
            moduli_min_bits=dict(type="int", default=3071),
            packages=dict(type="list", elements="str", default=[]),
            fs_scan_paths=dict(type="list", elements="path", default=[]),
            fs_scan_cache=dict(type="path", default="/var/lib/prodready/hardening-fs-scan.json"),
            fs_scan_ttl_hours=dict(type="int", default=24),
        ),
        supports_check_mode=True,
    )

    def run(argv):
        return module.run_command(argv, errors="surrogate_or_replace")

    params = module.params
    result = {"changed": False}
    if params["guard_user"]:
        result["guard"] = ssh.guard(run, params["guard_user"], params["rsa_min_bits"])
    if params["host"]:
        result.update(host_state(run, params))
    if params["fs_scan_paths"]:
        try:
            result["fs_inventory"] = inventory.inventory(params["fs_scan_paths"], params["fs_scan_cache"],
                                                         params["fs_scan_ttl_hours"], write=not module.check_mode)
        except OSError as exc:
            module.fail_json(msg="cannot write the inventory cache %s: %s" % (params["fs_scan_cache"], exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
