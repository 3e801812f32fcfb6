# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sshd's AllowUsers/DenyUsers/AllowGroups/DenyGroups matching (module_utils/_hardening/sshmatch.py)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import ipaddress

import pytest
from hypothesis import assume, given, strategies as st

from ansible_collections.prodready.platform.plugins.module_utils._hardening import sshmatch

# Names with the characters that broke the regex the guard used to build (., +, $, (, [, \ ...).
NAME_CHARS = st.sampled_from(list("abz09._-+$()[]{}|\\^"))
names = st.text(NAME_CHARS, min_size=1, max_size=12)
patterns = st.text(st.sampled_from(list("ab.*?[]$+")), max_size=10)


def fnmatch_oracle(string, pattern):
    """fnmatch with only * and ? special ([ taken literally), the semantics sshd documents."""
    return fnmatch.fnmatchcase(string, pattern.replace("[", "[[]"))


@given(names, names)
def test_a_literal_pattern_matches_only_itself(name, other):
    assume("*" not in name and "?" not in name)
    assert sshmatch.match_pattern(name, name)
    assert sshmatch.match_pattern(other, name) == (other == name)


@given(st.text(st.sampled_from(list("ab.$")), max_size=10), patterns)
def test_match_pattern_agrees_with_glob_semantics(string, pattern):
    assert sshmatch.match_pattern(string, pattern) == fnmatch_oracle(string, pattern)


@given(names, st.integers(min_value=0, max_value=12))
def test_a_star_anywhere_in_a_matching_pattern_still_matches(name, position):
    position = min(position, len(name))
    assert sshmatch.match_pattern(name, name[:position] + "*" + name[position:])
    assert sshmatch.match_pattern(name, "?" * len(name))
    assert not sshmatch.match_pattern(name, "?" * (len(name) + 1))


def test_regex_metacharacters_are_literal():
    # The old guard built '^' + name + '(@.*)?$': 'a.b' let 'axb' through.
    assert not sshmatch.match_pattern("axb", "a.b")
    assert not sshmatch.match_pattern("deploy", "dep(loy)?")
    assert sshmatch.match_pattern("dep(loy)?", "dep(loy)?")


@given(st.integers(min_value=0, max_value=2 ** 32 - 1), st.integers(min_value=0, max_value=2 ** 32 - 1),
       st.integers(min_value=0, max_value=32))
def test_cidr_entries_match_as_networks(address, base, prefix):
    network = ipaddress.ip_network((base, prefix), strict=False)
    client = str(ipaddress.ip_address(address))
    inside = ipaddress.ip_address(address) in network
    assert sshmatch.addr_match_list(client, str(network)) == (1 if inside else 0)
    assert sshmatch.addr_match_list(client, "!" + str(network)) == (-1 if inside else 0)
    # A negated network wins over a positive entry listed before it.
    assert sshmatch.addr_match_list(client, "0.0.0.0/0,!" + str(network)) == (-1 if inside else 1)


def test_address_lists_mix_wildcards_and_ipv6():
    assert sshmatch.addr_match_list("192.168.1.7", "10.0.0.0/8,192.168.1.*") == 1
    assert sshmatch.addr_match_list("2001:db8::5", "2001:db8::/32") == 1
    assert sshmatch.addr_match_list("2001:db8::5", "10.0.0.0/8") == 0
    assert sshmatch.addr_match_list("not-an-address", "10.0.0.0/8") == 0


@pytest.mark.parametrize("patterns", ["10.0.0.1/8", "10.0.0.0/33", "a,,b", "!"])
def test_lists_sshd_refuses_raise(patterns):
    with pytest.raises(sshmatch.InvalidPattern):
        sshmatch.addr_match_list("10.0.0.1", patterns)


@given(names, st.integers(min_value=0, max_value=2 ** 32 - 1), st.integers(min_value=8, max_value=32))
def test_user_at_network(name, address, prefix):
    assume("*" not in name and "?" not in name and "@" not in name and "," not in name)
    client = ipaddress.ip_address(address)
    network = ipaddress.ip_network((address, prefix), strict=False)
    pattern = "%s@%s" % (name, network)
    assert sshmatch.match_user(name, str(client), str(client), pattern)
    assert not sshmatch.match_user(name + "x", str(client), str(client), pattern)
    outside = network.broadcast_address + 1 if int(network.broadcast_address) < 2 ** 32 - 1 else network.network_address - 1
    assert not sshmatch.match_user(name, str(outside), str(outside), pattern)
    # Without a session address a user@host entry matches nothing (sshd's test mode).
    assert not sshmatch.match_user(name, None, None, pattern)


def test_user_at_host_patterns():
    assert sshmatch.match_user("deploy", "172.30.100.1", "172.30.100.1", "deploy@172.30.100.0/24")
    assert not sshmatch.match_user("deploy", "10.1.1.1", "10.1.1.1", "deploy@172.30.100.0/24")
    assert sshmatch.match_user("deploy", "10.1.1.1", "10.1.1.1", "dep*@10.1.1.?")
    assert not sshmatch.match_user("deploy", "10.1.1.1", "10.1.1.1", "deploy@*,!10.1.1.1")
    assert sshmatch.match_user("ops", "10.1.1.1", "10.1.1.1", "*")


def test_access_follows_sshd_order():
    groups = ["automation", "sshlogin"]
    assert sshmatch.access("auto", groups, "10.0.0.5") is None
    assert sshmatch.access("auto", groups, "10.0.0.5", allow_users=["auto@10.0.0.0/8"]) is None
    assert sshmatch.access("auto", groups, "10.0.0.5", allow_users=["auto@192.168.0.0/16"]) == "not listed in AllowUsers"
    assert sshmatch.access("auto", groups, "10.0.0.5", allow_users=["a*"], deny_users=["*@10.0.0.5"]).startswith(
        "listed in DenyUsers")
    assert sshmatch.access("auto", groups, "10.0.0.5", allow_groups=["ssh*"]) is None
    assert sshmatch.access("auto", groups, "10.0.0.5", allow_groups=["admins"]) == (
        "none of the user's groups are listed in AllowGroups")
    assert sshmatch.access("auto", groups, "10.0.0.5", deny_groups=["auto?ation"]) == "a group is listed in DenyGroups"
    with pytest.raises(sshmatch.InvalidPattern):
        sshmatch.access("auto", groups, "10.0.0.5", allow_users=["auto@10.0.0.1/8"])
