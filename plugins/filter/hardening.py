# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters used by the hardening role to validate and split address lists for nftables."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: hardening_networks
short_description: Validate and split a list of addresses/CIDRs by IP version
version_added: 0.1.0
description:
  - "C(hardening_networks) returns a dict with keys C(ipv4), C(ipv6) and C(invalid). Each valid entry is
    normalised to its network form (C(10.0.0.5/8) becomes C(10.0.0.0/8), a bare address becomes a host
    network); entries that are not addresses or networks go to C(invalid) unchanged, so the role can name
    them in its error message."
  - "C(hardening_invalid_networks) returns only the invalid entries."
  - "C(hardening_address_in) tells whether the input address lies in one of the given networks
    (IPv4-mapped IPv6 addresses match IPv4 networks); a malformed address is never inside."
  - "C(hardening_nft_openings) turns service openings (C(hardening_firewall_openings) entries, C({name, tcp_ports,
    sources, groups})) into nftables input statements: each opening's ports from its sources and from the
    addresses of its groups' hosts only (C(hostvars) and C(groups) are passed as arguments);
    C(hardening_openings_problems) names what is wrong with them (a bad port or source, an unknown group, a client
    host whose address is unknown), one sentence each."
options:
  _input:
    description: Addresses or networks, for example C(192.0.2.0/24), C(2001:db8::/32), C(203.0.113.7).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Split admin networks for the nftables template
  ansible.builtin.set_fact:
    admin_networks: "{{ ['10.0.0.0/8', '2001:db8::/32'] | prodready.platform.hardening_networks }}"

- name: The input statements of the service openings (the nftables template)
  ansible.builtin.debug:
    msg: "{{ [{'name': 'postgresql', 'tcp_ports': [5432], 'groups': ['app']}] | prodready.platform.hardening_nft_openings(groups, hostvars) }}"
"""

RETURN = r"""
_value:
  description: "A dict with the lists C(ipv4), C(ipv6) and C(invalid)."
  type: dict
"""

import ipaddress

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six import string_types
from ansible_collections.prodready.platform.plugins.module_utils._hardening import openings as _openings


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def hardening_networks(values):
    if values is None:
        values = []
    if isinstance(values, string_types):
        values = [values]
    if not isinstance(values, (list, tuple)):
        raise AnsibleFilterError("hardening_networks expects a list of addresses or CIDRs, got %s" % type(values).__name__)
    result = {"ipv4": [], "ipv6": [], "invalid": []}
    for value in values:
        text = _text(value)
        if not isinstance(text, string_types) or not text.strip() or text != text.strip():
            result["invalid"].append(value)
            continue
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            result["invalid"].append(value)
            continue
        key = "ipv4" if network.version == 4 else "ipv6"
        normalised = str(network)
        if normalised not in result[key]:
            result[key].append(normalised)
    return result


def hardening_invalid_networks(values):
    return hardening_networks(values)["invalid"]


def hardening_address_in(address, networks):
    """True when ``address`` (an IP, possibly with a zone or port-less) lies in any of ``networks``."""
    text = _text(address)
    if not isinstance(text, string_types):
        return False
    try:
        ip = ipaddress.ip_address(text.strip().split("%")[0])
    except ValueError:
        return False
    split = hardening_networks(networks)
    for net in split["ipv4"] + split["ipv6"]:
        network = ipaddress.ip_network(net)
        if network.version == ip.version and ip in network:
            return True
        # An IPv4 client seen by an IPv6 socket (::ffff:a.b.c.d).
        if ip.version == 6 and ip.ipv4_mapped is not None and network.version == 4 and ip.ipv4_mapped in network:
            return True
    return False


def hardening_openings_problems(openings, groups, hostvars):
    return _openings.problems(openings, groups, hostvars)


def hardening_nft_openings(openings, groups, hostvars):
    try:
        return _openings.nft_statements(openings, groups, hostvars)
    except ValueError as exc:
        raise AnsibleFilterError("hardening_nft_openings: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {
            "hardening_networks": hardening_networks,
            "hardening_invalid_networks": hardening_invalid_networks,
            "hardening_address_in": hardening_address_in,
            "hardening_openings_problems": hardening_openings_problems,
            "hardening_nft_openings": hardening_nft_openings,
        }
