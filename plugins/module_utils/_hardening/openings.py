# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall's service openings: a service's TCP ports reachable from its declared clients only.

An opening is ``{name, tcp_ports, sources, groups}``: ``sources`` are addresses or CIDRs,
``groups`` inventory groups whose hosts' inventory address (``ansible_host`` when it is an IP)
and gathered default IPv4 address are clients too. The hardening role's nftables template writes
the statements built here; its validation asserts ``problems()`` is empty first, so a bad entry
or a client host whose address is unknown (a ``--limit`` run without it) fails before any change
instead of silently closing the port to that client."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

# Written into the rule's nft comment: no quotes, no spaces at the ends.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_. -]{0,62}[A-Za-z0-9]$|^[A-Za-z0-9]$")
KEYS = frozenset(("name", "tcp_ports", "sources", "groups"))


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return [value]
    return list(value)


def _port(value):
    """The port as an int, or None when it is not one (extra-vars arrive as strings)."""
    if isinstance(value, bool):
        return None
    try:
        port = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return port if 0 < port < 65536 else None


def _network(value):
    try:
        return ipaddress.ip_network(str(value).strip(), strict=False) if str(value).strip() == str(value) else None
    except ValueError:
        return None


def host_addresses(hostvars_of_host):
    """A host's addresses as the firewall's monitoring sources take them: ``ansible_host`` when it is
    an IP, and the gathered default IPv4 address."""
    found = []
    candidates = [hostvars_of_host.get("ansible_host", "")]
    facts = hostvars_of_host.get("ansible_facts", {}) or {}
    candidates.append(((facts.get("default_ipv4", {}) or {}).get("address", "")))
    for candidate in candidates:
        try:
            address = ipaddress.ip_address(str(candidate or "").strip())
        except ValueError:
            continue
        if str(address) not in found:
            found.append(str(address))
    return found


def _resolve(opening, groups, hostvars):
    """(name, ports, networks by IP version, problems) of one opening."""
    found = []
    if not isinstance(opening, dict):
        return None, [], {4: [], 6: []}, ["an opening is not a dict: %r" % (opening,)]
    name = str(opening.get("name", ""))
    where = "opening %r" % name
    if not NAME_RE.match(name):
        found.append("%s: the name must be letters, digits, '_', '.', '-' or spaces (it is the rule's comment)" % where)
    unknown = sorted(set(opening) - KEYS)
    if unknown:
        found.append("%s: unknown keys %s (known: %s)" % (where, ", ".join(unknown), ", ".join(sorted(KEYS))))
    ports = []
    raw_ports = _as_list(opening.get("tcp_ports"))
    if not raw_ports:
        found.append("%s: tcp_ports must be a non-empty list" % where)
    for value in raw_ports:
        port = _port(value)
        if port is None:
            found.append("%s: %r is not a TCP port (1-65535)" % (where, value))
        elif port not in ports:
            ports.append(port)
    networks = {4: [], 6: []}

    def add(network):
        if str(network) not in networks[network.version]:
            networks[network.version].append(str(network))

    for value in _as_list(opening.get("sources")):
        network = _network(value)
        if network is None:
            found.append("%s: source %r is not an address or CIDR" % (where, value))
        else:
            add(network)
    for group in _as_list(opening.get("groups")):
        if group not in groups:
            found.append("%s: inventory group %r does not exist" % (where, group))
            continue
        for host in groups[group]:
            addresses = host_addresses(hostvars[host])
            if not addresses:
                found.append("%s: the address of %s (group %s) is unknown here (no IP in ansible_host, no gathered facts: "
                             "a --limit run or a job slice without it?); add its address to sources or include it in the run"
                             % (where, host, group))
            for address in addresses:
                add(ipaddress.ip_network(address))
    return name, ports, networks, found


def problems(openings, groups, hostvars):
    """One sentence per problem, naming the opening; empty when every opening can be written."""
    found = []
    names = []
    for opening in _as_list(openings):
        name, _ports, _networks, opening_problems = _resolve(opening, groups, hostvars)
        found.extend(opening_problems)
        if name is not None and name in names:
            found.append("opening %r is declared twice" % name)
        names.append(name)
    return found


def nft_statements(openings, groups, hostvars):
    """The input chain's statements: per opening and IP version, its ports from its networks only.
    An opening whose sources and groups resolve to no address opens nothing. Raises ValueError
    with the problems when there are any."""
    found = problems(openings, groups, hostvars)
    if found:
        raise ValueError("; ".join(found))
    statements = []
    for opening in _as_list(openings):
        name, ports, networks, _problems = _resolve(opening, groups, hostvars)
        port_set = "{ %s }" % ", ".join(str(port) for port in ports)
        for version, keyword in ((4, "ip"), (6, "ip6")):
            if networks[version]:
                statements.append('tcp dport %s %s saddr { %s } accept comment "opening %s"'
                                  % (port_set, keyword, ", ".join(networks[version]), name))
    return statements
