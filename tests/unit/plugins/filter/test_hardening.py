# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible.errors import AnsibleFilterError
from ansible_collections.prodready.platform.plugins.filter.hardening import (
    FilterModule,
    hardening_address_in,
    hardening_invalid_networks,
    hardening_networks,
)


def test_splits_and_normalises():
    out = hardening_networks(["10.1.2.3/8", "192.0.2.7", "2001:db8::1/32", "::1"])
    assert out == {
        "ipv4": ["10.0.0.0/8", "192.0.2.7/32"],
        "ipv6": ["2001:db8::/32", "::1/128"],
        "invalid": [],
    }


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "300.1.1.1", "", " 10.0.0.0/8", "example.org", "10.0.0.0/8/8", "fe80::/129"])
def test_invalid_entries_are_reported_unchanged(bad):
    assert hardening_invalid_networks(["10.0.0.0/8", bad]) == [bad]


def test_non_strings_are_invalid():
    assert hardening_invalid_networks([None, 5]) == [None, 5]


def test_none_and_single_string():
    assert hardening_networks(None) == {"ipv4": [], "ipv6": [], "invalid": []}
    assert hardening_networks("192.0.2.0/24")["ipv4"] == ["192.0.2.0/24"]


def test_rejects_non_list():
    with pytest.raises(AnsibleFilterError):
        hardening_networks({"a": 1})


def test_duplicates_are_dropped():
    assert hardening_networks(["10.0.0.1/8", "10.0.0.0/8"])["ipv4"] == ["10.0.0.0/8"]


def test_filter_module_exports():
    assert set(FilterModule().filters()) == {"hardening_networks", "hardening_invalid_networks", "hardening_address_in",
                                             "hardening_openings_problems", "hardening_nft_openings"}


@pytest.mark.parametrize(
    "address,networks,expected",
    [
        ("172.30.100.1", ["172.30.100.0/24"], True),
        ("172.30.101.1", ["172.30.100.0/24"], False),
        ("::ffff:172.30.100.9", ["172.30.100.0/24"], True),
        ("2001:db8::5", ["2001:db8::/32", "10.0.0.0/8"], True),
        ("fe80::1%eth0", ["fe80::/10"], True),
        ("not-an-ip", ["0.0.0.0/0"], False),
        (None, ["0.0.0.0/0"], False),
        ("10.0.0.1", [], False),
        ("10.0.0.1", ["bogus", "10.0.0.0/8"], True),
    ],
)
def test_address_in(address, networks, expected):
    assert hardening_address_in(address, networks) is expected


@given(st.integers(0, 2 ** 32 - 1), st.integers(0, 32))
def test_address_in_its_own_network(value, prefix):
    address = str(ipaddress.IPv4Address(value))
    assert hardening_address_in(address, ["%s/%d" % (address, prefix)])


networks = st.one_of(
    st.builds(lambda a, p: "%s/%d" % (ipaddress.IPv4Address(a), p), st.integers(0, 2 ** 32 - 1), st.integers(0, 32)),
    st.builds(lambda a, p: "%s/%d" % (ipaddress.IPv6Address(a), p), st.integers(0, 2 ** 128 - 1), st.integers(0, 128)),
)


@given(st.lists(networks, max_size=20))
def test_valid_networks_never_invalid_and_round_trip(values):
    out = hardening_networks(values)
    assert out["invalid"] == []
    for value in values:
        net = ipaddress.ip_network(value, strict=False)
        assert str(net) in out["ipv%d" % net.version]
    # The output is a fixed point: normalising again changes nothing.
    again = hardening_networks(out["ipv4"] + out["ipv6"])
    assert again["ipv4"] == out["ipv4"] and again["ipv6"] == out["ipv6"]


@given(st.lists(st.text(max_size=30), max_size=10))
def test_every_entry_lands_somewhere(values):
    out = hardening_networks(values)
    valid = 0
    for value in values:
        try:
            if value == value.strip() and value.strip():
                ipaddress.ip_network(value, strict=False)
                valid += 1
        except ValueError:
            pass
    assert len(out["invalid"]) == len(values) - valid
