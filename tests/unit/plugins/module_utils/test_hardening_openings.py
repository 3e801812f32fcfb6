# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall's service openings: each service's ports from its declared clients only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

import pytest
from ansible.errors import AnsibleFilterError
from hypothesis import given, strategies as st

from ansible_collections.prodready.platform.plugins.filter import hardening as filters
from ansible_collections.prodready.platform.plugins.module_utils._hardening import openings

GROUPS = {"app": ["app1", "app2"], "monitoring": ["mon1"], "empty": []}
HOSTVARS = {
    "app1": {"ansible_host": "10.0.1.11", "ansible_facts": {"default_ipv4": {"address": "10.0.1.11"}}},
    # A name in ansible_host: the gathered address counts.
    "app2": {"ansible_host": "app2.example", "ansible_facts": {"default_ipv4": {"address": "10.0.1.12"}}},
    "mon1": {"ansible_host": "2001:db8::20"},
    "unknown": {"ansible_host": "unknown.example"},
}


def test_an_opening_lets_its_sources_and_groups_in_only():
    statements = filters.hardening_nft_openings(
        [{"name": "postgresql", "tcp_ports": ["5432"], "sources": ["192.0.2.7", "10.0.1.11/32"], "groups": ["app", "monitoring"]},
         {"name": "redis", "tcp_ports": [6379, 6379], "sources": [], "groups": ["empty"]}],
        GROUPS, HOSTVARS)
    assert statements == [
        'tcp dport { 5432 } ip saddr { 192.0.2.7/32, 10.0.1.11/32, 10.0.1.12/32 } accept comment "opening postgresql"',
        'tcp dport { 5432 } ip6 saddr { 2001:db8::20/128 } accept comment "opening postgresql"',
    ]


def test_no_opening_opens_nothing():
    assert filters.hardening_nft_openings([], GROUPS, HOSTVARS) == []


@pytest.mark.parametrize("opening, message", [
    ({"name": "pg", "tcp_ports": [5432], "sources": ["10.0.0.0/33"]}, "source '10.0.0.0/33' is not an address or CIDR"),
    ({"name": "pg", "tcp_ports": [5432], "sources": ["db.example"]}, "'db.example' is not an address or CIDR"),
    ({"name": "pg", "tcp_ports": [0], "sources": []}, "0 is not a TCP port"),
    ({"name": "pg", "tcp_ports": ["x"], "sources": []}, "'x' is not a TCP port"),
    ({"name": "pg", "tcp_ports": [], "sources": []}, "tcp_ports must be a non-empty list"),
    ({"name": "pg", "tcp_ports": [5432], "groups": ["nosuch"]}, "inventory group 'nosuch' does not exist"),
    ({"name": 'p"g', "tcp_ports": [5432]}, "the name must be"),
    ({"name": "pg", "tcp_ports": [5432], "source": ["10.0.0.0/8"]}, "unknown keys source"),
])
def test_bad_openings_are_named_before_anything_is_written(opening, message):
    found = filters.hardening_openings_problems([opening], GROUPS, HOSTVARS)
    assert any(message in line for line in found), found
    with pytest.raises(AnsibleFilterError, match="hardening_nft_openings"):
        filters.hardening_nft_openings([opening], GROUPS, HOSTVARS)


def test_a_client_host_without_a_known_address_fails_instead_of_being_dropped():
    found = openings.problems([{"name": "redis", "tcp_ports": [6379], "groups": ["web"]}], {"web": ["unknown"]}, HOSTVARS)
    assert len(found) == 1 and "the address of unknown (group web) is unknown here" in found[0]


def test_an_opening_declared_twice_is_named():
    entry = {"name": "pg", "tcp_ports": [5432]}
    assert openings.problems([entry, entry], GROUPS, HOSTVARS) == ["opening 'pg' is declared twice"]


@given(st.lists(st.ip_addresses(), max_size=6), st.lists(st.integers(min_value=1, max_value=65535), min_size=1, max_size=4))
def test_every_source_lands_in_its_family_rule_and_nothing_else(addresses, ports):
    statements = openings.nft_statements([{"name": "svc", "tcp_ports": ports, "sources": [str(a) for a in addresses]}], {}, {})
    opened = set()
    for statement in statements:
        assert statement.startswith("tcp dport { %s } " % ", ".join(str(p) for p in dict.fromkeys(ports)))
        inside = statement.split(" saddr { ")[1].split(" }")[0]
        opened.update(ipaddress.ip_network(text) for text in inside.split(", "))
    assert opened == {ipaddress.ip_network(a) for a in addresses}
    assert len(statements) == len({a.version for a in addresses})
