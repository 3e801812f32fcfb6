# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sshd's access rules, as OpenSSH evaluates them (match.c, addrmatch.c, groupaccess.c, auth.c).

The lock-out guard decides with these whether the hardened sshd would still let the connecting
user in: AllowUsers/DenyUsers entries are ``user`` or ``user@host`` patterns (``*`` and ``?``
wildcards; the host part is a comma-separated list of hostname patterns and CIDR networks, each
possibly negated with ``!``), AllowGroups/DenyGroups entries are group name patterns. The role
writes ``UseDNS no``, so sshd's "host" is the client's address."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress


def match_pattern(string, pattern):
    """OpenSSH's match_pattern: the whole ``string`` matches ``pattern``, where ``*`` is any run
    of characters (also none) and ``?`` exactly one; every other character is literal."""
    # Iterative two-pointer match with backtracking to the last '*' (same answers as sshd's
    # recursion, linear in practice, no regular expression built from the pattern).
    s_pos = p_pos = 0
    star = -1
    star_s = 0
    while s_pos < len(string):
        if p_pos < len(pattern) and pattern[p_pos] == "*":
            star = p_pos
            star_s = s_pos
            p_pos += 1
        elif p_pos < len(pattern) and (pattern[p_pos] == "?" or pattern[p_pos] == string[s_pos]):
            s_pos += 1
            p_pos += 1
        elif star >= 0:
            star_s += 1
            s_pos = star_s
            p_pos = star + 1
        else:
            return False
    while p_pos < len(pattern) and pattern[p_pos] == "*":
        p_pos += 1
    return p_pos == len(pattern)


def match_pattern_list(string, patterns, dolower=False):
    """OpenSSH's match_pattern_list: ``patterns`` is comma-separated, each entry possibly negated
    with ``!``. -1 when a negated entry matches, 1 when a plain one does, else 0."""
    positive = 0
    for entry in patterns.split(","):
        negated = entry.startswith("!")
        if negated:
            entry = entry[1:]
        if dolower:
            entry = entry.lower()
        if match_pattern(string, entry):
            if negated:
                return -1
            positive = 1
    return positive


class InvalidPattern(ValueError):
    """A pattern sshd refuses at start-up (an empty list entry, a network with host bits set)."""


def _network(entry):
    """The network an addrmatch.c entry names (an address is a /32 or /128), None when the entry
    is not an address (sshd then matches it as a wildcard pattern). Host bits set below the mask
    make sshd refuse the configuration: InvalidPattern."""
    address, slash, length = entry.partition("/")
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    if slash:
        # sshd: a mask that is not a number up to 128 makes the entry a wildcard pattern; one
        # beyond the family's width (33-128 for IPv4) is an error.
        if not length or any(char not in "0123456789" for char in length) or int(length) > 128:
            return None
        if int(length) > parsed.max_prefixlen:
            raise InvalidPattern("inconsistent mask length for network %r" % entry)
        try:
            return ipaddress.ip_network(entry, strict=True)
        except ValueError:
            raise InvalidPattern("inconsistent mask length for network %r" % entry)
    return ipaddress.ip_network(address)


def addr_match_list(address, patterns):
    """OpenSSH's addr_match_list: 1 when ``address`` is in a network or matches a wildcard entry
    of the comma-separated ``patterns``, -1 when a negated entry matches first, 0 when none does.
    An invalid entry raises InvalidPattern (sshd: -2)."""
    try:
        candidate = ipaddress.ip_address(address) if address is not None else None
    except ValueError:
        return 0
    result = 0
    for entry in patterns.split(","):
        negated = entry.startswith("!")
        if negated:
            entry = entry[1:]
        if not entry:
            raise InvalidPattern("empty entry in address list %r" % patterns)
        network = _network(entry)
        if network is not None:
            found = candidate is not None and candidate.version == network.version and candidate in network
        else:
            found = address is not None and match_pattern(address, entry)
        if found:
            if negated:
                return -1
            result = 1
    return result


def match_host_and_ip(host, address, patterns):
    """OpenSSH's match_host_and_ip: whether a client (its host name and address) matches the host
    part of a ``user@host`` pattern; a negated match of either wins. With no host or address
    (no SSH session to compare) nothing matches."""
    by_address = addr_match_list(address, patterns)
    if host is None or address is None or by_address == -1:
        return False
    by_name = match_pattern_list(host.lower(), patterns, dolower=True)
    if by_name == -1:
        return False
    return by_name == 1 or by_address == 1


def match_user(user, host, address, pattern):
    """OpenSSH's match_user for one AllowUsers/DenyUsers entry: ``user`` or ``user@hosts`` (split
    at the first ``@``)."""
    name, at_sign, hosts = pattern.partition("@")
    if not at_sign:
        return match_pattern(user, pattern)
    if not match_pattern(user, name):
        return False
    return match_host_and_ip(host, address, hosts)


def validate_user_pattern(pattern):
    """Raise InvalidPattern for an entry sshd would refuse to start with."""
    if not pattern:
        raise InvalidPattern("empty pattern")
    _name, at_sign, hosts = pattern.partition("@")
    if at_sign:
        addr_match_list(None, hosts)


def match_groups(groups, patterns):
    """OpenSSH's ga_match: one of the user's groups matches one of the group patterns."""
    return any(match_pattern(group, pattern) for group in groups for pattern in patterns)


def access(user, groups, address, allow_users=(), deny_users=(), allow_groups=(), deny_groups=(), host=None):
    """Whether sshd's allowed_user() lets ``user`` (member of ``groups``) in from ``address``,
    given the four access lists: None when it does, else the reason in sshd's words. ``host``
    defaults to the address (UseDNS no). InvalidPattern for a list sshd would refuse."""
    host = address if host is None else host
    for pattern in list(allow_users) + list(deny_users):
        validate_user_pattern(pattern)
    for pattern in deny_users:
        if match_user(user, host, address, pattern):
            return "listed in DenyUsers (%s)" % pattern
    if allow_users and not any(match_user(user, host, address, pattern) for pattern in allow_users):
        return "not listed in AllowUsers"
    if deny_groups and match_groups(groups, deny_groups):
        return "a group is listed in DenyGroups"
    if allow_groups and not match_groups(groups, allow_groups):
        return "none of the user's groups are listed in AllowGroups"
    return None
