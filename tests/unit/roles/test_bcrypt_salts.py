# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""No role hashes a password with bcrypt in Jinja (password_hash('bcrypt', salt=...)): a salt that a
re-run reproduces is derived from what the template knows, the password among it, and a guess then
costs a hash of the salt's derivation instead of bcrypt. The roles use the
prodready.platform.bcrypt_hash filter (random salt, the host's hash kept while it verifies)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
JINJA_BCRYPT = re.compile(r"password_hash\(\s*['\"](bcrypt|blowfish)['\"]")


def test_no_role_derives_a_bcrypt_salt_in_jinja():
    offenders = []
    for path in glob.glob(os.path.join(ROOT, "roles", "**", "*"), recursive=True):
        if os.path.isfile(path) and path.endswith((".yml", ".yaml", ".j2")):
            with open(path, encoding="utf-8") as handle:
                if JINJA_BCRYPT.search(handle.read()):
                    offenders.append(os.path.relpath(path, ROOT))
    assert offenders == []


def test_exporters_hash_comes_from_the_filter_with_the_hosts_hashes():
    with open(os.path.join(ROOT, "roles", "exporters", "tasks", "facts.yml"), encoding="utf-8") as handle:
        probe = handle.read()
    assert "prodready.platform.bcrypt_hash(current=exporters_host.bcrypt_hashes" in probe
