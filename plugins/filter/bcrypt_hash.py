# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bcrypt hash of a password with a random salt that a re-run keeps.

A hash written to a host (an exporter's web.yml, an nginx htpasswd) must not change on every run
(0 changed on a converged host), yet its salt must not be derivable from the password: with a salt
made from the password, whoever holds the file tests a guess with one SHA-256 instead of a bcrypt
hash. So the salt is random, and the hash already on the host (read by the role's probe) is kept
while it still verifies the configured password. The decision runs on the controller, where the
bcrypt package is (requirements.txt); the hosts need none.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: bcrypt_hash
short_description: A bcrypt hash of a password, keeping a current hash that still verifies it
version_added: 1.1.0
description:
  - Returns the first of O(current) that is a bcrypt hash (C($2b$), cost O(rounds)) of the input password.
  - When none is, returns a new C($2b$) hash with a random salt (C(bcrypt.gensalt), the operating system's random source),
    so the salt says nothing about the password.
  - A current hash whose salt is the one releases before 1.1.0 of the exporters role derived from the password and O(host)
    (the first 21 hex digits of SHA-256 of C(password@host), then C(e)) is replaced, not kept.
  - bcrypt reads at most 72 bytes of a password; longer passwords are cut to their first 72 bytes (UTF-8) before hashing and
    checking, as bcrypt 4.0 does, so the result does not depend on the bcrypt version.
  - Needs the C(bcrypt) Python package on the controller.
options:
  _input:
    description: The password.
    type: str
    required: true
  current:
    description: Hashes found on the host (in any order; anything that is not a bcrypt hash is ignored).
    type: list
    elements: str
    default: []
  rounds:
    description: bcrypt cost factor (log2 of the iterations); a current hash of another cost is replaced.
    type: int
    default: 10
  host:
    description: The host's inventory name, to recognise (and replace) a hash with the salt derived from the password and host.
    type: str
"""

EXAMPLES = r"""
- name: Keep the exporter password's hash while it verifies, else make one with a random salt
  ansible.builtin.set_fact:
    exporters_basic_auth_hash: >-
      {{ exporters_basic_auth_password | prodready.platform.bcrypt_hash(current=probe.bcrypt_hashes, host=inventory_hostname) }}
  no_log: true
"""

RETURN = r"""
_value:
  description: A C($2b$) bcrypt hash of the password (60 characters).
  type: str
"""

import hashlib
import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.module_utils.six import string_types

# $2b$, two-digit cost, 22 salt characters and 31 hash characters of bcrypt's base64 alphabet.
BCRYPT = re.compile(r"^\$2b\$(\d\d)\$([./A-Za-z0-9]{22})[./A-Za-z0-9]{31}$")
MAX_BYTES = 72


def derived_salt(password, host):
    """The salt the exporters role derived from the password and host before 1.1.0."""
    return hashlib.sha256(to_bytes(password + "@" + host)).hexdigest()[:21] + "e"


def _bcrypt():
    # Imported on first use: site.yml loads every filter file in the controller's main process.
    try:
        import bcrypt
    except ImportError:
        raise AnsibleFilterError("bcrypt_hash needs the bcrypt Python package on the controller (pip install bcrypt)")
    return bcrypt


def bcrypt_hash(password, current=None, rounds=10, host=None):
    bcrypt = _bcrypt()
    if not isinstance(password, string_types) or not password:
        raise AnsibleFilterError("bcrypt_hash expects a non-empty password string")
    try:
        rounds = int(rounds)
    except (TypeError, ValueError):
        raise AnsibleFilterError("bcrypt_hash: rounds must be a whole number, got %r" % (rounds,))
    if not 4 <= rounds <= 31:
        raise AnsibleFilterError("bcrypt_hash: rounds must lie within 4-31, got %d" % rounds)
    if current is None:
        current = []
    if isinstance(current, string_types) or not hasattr(current, "__iter__"):
        raise AnsibleFilterError("bcrypt_hash: current must be a list of hashes")
    secret = to_bytes(password, errors="surrogate_or_strict")[:MAX_BYTES]
    derived = derived_salt(password, host) if host else None
    for candidate in current:
        if not isinstance(candidate, string_types):
            continue
        match = BCRYPT.match(candidate.strip())
        if not match or int(match.group(1)) != rounds or match.group(2) == derived:
            continue
        try:
            if bcrypt.checkpw(secret, to_bytes(candidate.strip())):
                return to_text(candidate.strip())
        except ValueError:
            continue
    return to_text(bcrypt.hashpw(secret, bcrypt.gensalt(rounds=rounds, prefix=b"2b")))


class FilterModule(object):
    def filters(self):
        return {"bcrypt_hash": bcrypt_hash}
