# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only host state for the hardening role (plugins/modules/hardening_facts.py):
ssh (the lock-out guard's user and keys, the SSH session, host keys, moduli), sshmatch (sshd's
AllowUsers/DenyUsers/AllowGroups/DenyGroups matching), inventory (the cached SUID/SGID and
world-writable inventory), host (accounts, PAM, packages)."""
