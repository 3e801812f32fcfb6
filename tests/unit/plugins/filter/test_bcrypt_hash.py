# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bcrypt_hash: a random salt that says nothing about the password, a current hash kept while it
verifies the password (re-runs write nothing), replaced when it does not (or when its salt is the
one derived from the password and host before)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

import bcrypt
import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.prodready.platform.plugins.filter.bcrypt_hash import FilterModule, bcrypt_hash, derived_salt

PASSWORD = "demo-exporter-password-1"
HOST = "demo-app1"


def salt(hashed):
    return hashed[7:29]


def test_new_hash_verifies_and_its_salt_is_random():
    first, second = bcrypt_hash(PASSWORD), bcrypt_hash(PASSWORD)
    for hashed in (first, second):
        assert hashed.startswith("$2b$10$") and len(hashed) == 60
        assert bcrypt.checkpw(PASSWORD.encode(), hashed.encode())
    # Two runs without a current hash: two salts, so the salt is no function of the password.
    assert salt(first) != salt(second)
    # Nor the one derived from password and host before, nor any hex digest of the password.
    assert salt(first) != derived_salt(PASSWORD, HOST)
    assert salt(first)[:21] not in hashlib.sha256((PASSWORD + "@" + HOST).encode()).hexdigest()
    assert FilterModule().filters()["bcrypt_hash"] is bcrypt_hash


def test_current_hash_that_verifies_is_kept():
    current = bcrypt_hash(PASSWORD)
    assert bcrypt_hash(PASSWORD, current=[current], host=HOST) == current
    # Whatever else the probe found (garbage, a hash of another password) does not matter.
    other = bcrypt_hash("another-password-22")
    assert bcrypt_hash(PASSWORD, current=["", None, "not a hash", other, current + "\n"], host=HOST) == current


def test_hash_of_another_password_is_replaced():
    old = bcrypt_hash("the-old-password-1")
    new = bcrypt_hash(PASSWORD, current=[old], host=HOST)
    assert new != old and salt(new) != salt(old)
    assert bcrypt.checkpw(PASSWORD.encode(), new.encode())


def test_hash_with_the_salt_derived_from_password_and_host_is_replaced():
    legacy = bcrypt.hashpw(PASSWORD.encode(), ("$2b$10$" + derived_salt(PASSWORD, HOST)).encode()).decode()
    assert bcrypt.checkpw(PASSWORD.encode(), legacy.encode())
    new = bcrypt_hash(PASSWORD, current=[legacy], host=HOST)
    assert new != legacy and bcrypt.checkpw(PASSWORD.encode(), new.encode())
    # Without the host the filter cannot tell: the hash verifies and is kept.
    assert bcrypt_hash(PASSWORD, current=[legacy]) == legacy


def test_other_cost_or_scheme_is_replaced():
    cheap = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4, prefix=b"2b")).decode()
    assert bcrypt_hash(PASSWORD, current=[cheap]) != cheap
    assert bcrypt_hash(PASSWORD, current=[cheap], rounds=4) == cheap
    two_a = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=10, prefix=b"2a")).decode()
    assert bcrypt_hash(PASSWORD, current=[two_a]).startswith("$2b$10$")


def test_long_password_is_cut_to_72_bytes():
    long_password = "x" * 80
    hashed = bcrypt_hash(long_password)
    assert bcrypt_hash("x" * 72, current=[hashed]) == hashed


@pytest.mark.parametrize("password, kwargs", [
    ("", {}), (None, {}), (5, {}), (PASSWORD, {"rounds": 3}), (PASSWORD, {"rounds": "ten"}), (PASSWORD, {"current": "$2b$"}),
])
def test_bad_input(password, kwargs):
    with pytest.raises(AnsibleFilterError):
        bcrypt_hash(password, **kwargs)
