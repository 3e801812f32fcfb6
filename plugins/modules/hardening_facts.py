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
  - Finds the SSH session it runs in (RV(ssh_session)) from C(SSH_CONNECTION) in its own environment or,
    when become reset it, in the nearest ancestor process that has it.
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
  pubkey_algorithms:
    description:
      - The C(PubkeyAcceptedAlgorithms) the hardened sshd will use; a key counts in RV(guard.usable_keys)
        when its type signs with one of them. Empty means the role's hardened set (Ed25519 and RSA SHA-2).
    type: list
    elements: str
    default: []
  ssh_access:
    description:
      - The C(AllowUsers), C(DenyUsers), C(AllowGroups) and C(DenyGroups) entries the hardened sshd will
        have. RV(guard.access_refused) says why they would refuse the guard user from the session's address;
        the accounts C(allow_users) and C(allow_groups) let in keep their login shell
        (RV(system_accounts_with_shell), RV(system_accounts_shell_kept)).
    type: dict
    default: {}
    suboptions:
      allow_users:
        description: C(AllowUsers) entries (C(user) or C(user@host) patterns).
        type: list
        elements: str
        default: []
      deny_users:
        description: C(DenyUsers) entries.
        type: list
        elements: str
        default: []
      allow_groups:
        description: C(AllowGroups) entries (group name patterns).
        type: list
        elements: str
        default: []
      deny_groups:
        description: C(DenyGroups) entries.
        type: list
        elements: str
        default: []
  ssh_login_users:
    description:
      - Accounts that log in over SSH and keep their login shell whatever their uid (the user Ansible
        connects as). O(guard_user) and the user of the SSH session the module runs in are added.
    type: list
    elements: str
    default: []
  host:
    description:
      - Read the host state (RV(ssh_host_keys), RV(system_accounts_with_shell), RV(pam),
        RV(packages), RV(apt_lists), RV(listchanges_timer_enabled), RV(audit_rules_stale),
        RV(sshd_effective)).
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
- name: Read what the lock-out guard checks for the connecting user under the new AllowGroups
  prodready.platform.hardening_facts:
    guard_user: deploy
    ssh_access:
      allow_groups: [sshlogin]
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
      description:
        - The keys in the authorized keys files sshd names for the user (C(type), C(bits), C(file), C(accepted)).
        - Types and sizes are read from the key blobs.
      type: list
      elements: dict
    usable_keys:
      description:
        - How many of them the hardened sshd accepts from the session's address (the type signs with one of
          O(pubkey_algorithms), RSA of at least O(rsa_min_bits), a C(from=) option lets the address in).
      type: int
    shell:
      description: The user's login shell.
      type: str
    login_shell:
      description: Whether the shell runs commands (not nologin, false or empty).
      type: bool
    access_refused:
      description:
        - Why O(ssh_access) would make sshd refuse the user from the session's address, in sshd's words
          (for example C(not listed in AllowUsers)); null when it lets the user in.
      type: str
    groups:
      description: The user's group names.
      type: list
      elements: str
    authorized_keys_command:
      description: sshd's C(AuthorizedKeysCommand), null when none.
      type: str
  sample: {user: deploy, exists: true, shell: /bin/bash, login_shell: true,
           keys: [{bits: 256, type: ssh-ed25519, file: /home/deploy/.ssh/authorized_keys, accepted: true}],
           usable_keys: 1, groups: [deploy, sudo], authorized_keys_command: null, access_refused: null}
ssh_session:
  description:
    - The SSH session the module runs in (C(client), C(client_port), C(server), C(server_port) from
      C(SSH_CONNECTION), and C(user), the account the session's shell runs as); null when the connection
      is not SSH (docker, local).
  returned: always
  type: dict
  sample: {client: 172.30.100.1, client_port: 51234, server: 172.30.100.130, server_port: 22, user: automation}
ssh_host_keys:
  description: C(rsa_bits) (0 when there is no RSA host key), C(ed25519) (exists), C(weak_moduli) (groups below O(moduli_min_bits)).
  returned: with host
  type: dict
  sample: {rsa_bits: 4096, ed25519: true, weak_moduli: 0}
system_accounts_with_shell:
  description:
    - System accounts (uid below 1000, or 65534) other than root, sync, shutdown and halt that have a login shell,
      without the accounts that log in over SSH (RV(system_accounts_shell_kept)).
  returned: with host
  type: list
  elements: str
system_accounts_shell_kept:
  description:
    - System accounts with a login shell that keep it because they log in over SSH (O(ssh_login_users),
      O(guard_user), the session's user, or let in by O(ssh_access) C(allow_users) / C(allow_groups)).
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
sshd_effective:
  description:
    - sshd's effective configuration for the check connection (C(sshd -T -C user=prodready-check,host=localhost,addr=127.0.0.1)),
      lowercase keyword to value (the first line of a repeated keyword); null when sshd is missing or its configuration
      does not parse. The hardening role asserts its hardened values on it without running C(sshd -T) again.
  returned: with host
  type: dict
  sample: {passwordauthentication: "no", permitrootlogin: "no", kexalgorithms: "sntrup761x25519-sha512@openssh.com,curve25519-sha256",
           ciphers: "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com", macs: "hmac-sha2-512-etm@openssh.com"}
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


def host_state(run, params, session=None):
    access = params.get("ssh_access") or {}
    names = list(params.get("ssh_login_users") or [])
    names += [name for name in (params.get("guard_user"), (session or {}).get("user")) if name]
    keep = host.ssh_users(names, access.get("allow_users") or [], access.get("allow_groups") or [],
                          lambda entry: ssh.user_groups(entry.pw_name, entry.pw_gid))
    entries = pwd.getpwall()
    with_shell = host.system_accounts_with_shell(entries)
    return {
        "ssh_host_keys": {
            "rsa_bits": ssh.rsa_host_key_bits(run),
            "ed25519": os.path.exists("/etc/ssh/ssh_host_ed25519_key"),
            "weak_moduli": ssh.weak_moduli(read_lines("/etc/ssh/moduli"), params["moduli_min_bits"]),
        },
        "system_accounts_with_shell": host.system_accounts_with_shell(entries, keep),
        "system_accounts_shell_kept": sorted(set(with_shell) - set(host.system_accounts_with_shell(entries, keep))),
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
        "sshd_effective": ssh.sshd_effective(run) or None,
    }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            guard_user=dict(type="str", default=""),
            rsa_min_bits=dict(type="int", default=ssh.DEFAULT_RSA_MIN_BITS),
            pubkey_algorithms=dict(type="list", elements="str", default=[]),
            ssh_access=dict(type="dict", default={}, options=dict(
                allow_users=dict(type="list", elements="str", default=[]),
                deny_users=dict(type="list", elements="str", default=[]),
                allow_groups=dict(type="list", elements="str", default=[]),
                deny_groups=dict(type="list", elements="str", default=[]),
            )),
            ssh_login_users=dict(type="list", elements="str", default=[]),
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
    session = ssh.ssh_session()
    result = {"changed": False, "ssh_session": session}
    if params["guard_user"]:
        result["guard"] = ssh.guard(run, params["guard_user"], params["rsa_min_bits"],
                                    pubkey_algorithms=params["pubkey_algorithms"] or ssh.HARDENED_PUBKEY_ALGORITHMS,
                                    address=(session or {}).get("client"), access_lists=params["ssh_access"])
    if params["host"]:
        result.update(host_state(run, params, session))
    if params["fs_scan_paths"]:
        try:
            result["fs_inventory"] = inventory.inventory(params["fs_scan_paths"], params["fs_scan_cache"],
                                                         params["fs_scan_ttl_hours"], write=not module.check_mode)
        except OSError as exc:
            module.fail_json(msg="cannot write the inventory cache %s: %s" % (params["fs_scan_cache"], exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
