# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the PostgreSQL role is asked for, checked before anything changes (standard library only).

Roles, databases and pg_hba entries come from inventory variables; a typo there must stop the run
with a message that names the entry, not surface later as a server that refuses to reload (a
network that is not a CIDR) or an account that cannot log in (a role without a password, since the
role authenticates with scram-sha-256 only)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

# What pg_hba may say for a TCP client: scram only, or an explicit refusal. No trust, password,
# md5, ident or cert (the role's promise is scram-sha-256 everywhere).
HBA_METHODS = ("scram-sha-256", "reject")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$-]{0,62}$")
# pg_hba keywords a database or user column may hold instead of a declared name.
_HBA_DATABASE_KEYWORDS = ("all", "sameuser", "samerole", "replication")
_HBA_USER_KEYWORDS = ("all",)


def _names(entries, what):
    found = []
    for index, entry in enumerate(entries or []):
        if not isinstance(entry, dict):
            found.append((None, "%s[%d] is not a mapping" % (what, index)))
            continue
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            found.append((None, "%s[%d]: name %r is not a PostgreSQL identifier (letters, digits, _ $ -; "
                                "at most 63, not starting with a digit)" % (what, index, name)))
            continue
        found.append((name, None))
    return found


def network_problem(network):
    """Why ``network`` is not a CIDR network pg_hba accepts, or None."""
    if not isinstance(network, str) or "/" not in network:
        return "%r is not a CIDR network (address/prefix length, e.g. 10.0.0.0/24)" % (network,)
    try:
        ipaddress.ip_network(network, strict=True)
    except ValueError as exc:
        return "%r is not a CIDR network: %s" % (network, exc)
    return None


def problems(users, databases, hba):
    """Every problem of the declared roles, databases and pg_hba entries, one line each."""
    found = []
    user_names = set()
    for (name, problem), entry in zip(_names(users, "postgresql_users"), users or []):
        if problem:
            found.append(problem)
            continue
        if name in user_names:
            found.append("postgresql_users: role %s is declared twice" % name)
        user_names.add(name)
        password = entry.get("password")
        if not isinstance(password, str) or not password:
            found.append("postgresql_users: role %s has no password (authentication is scram-sha-256 only; "
                         "set its password from the vault)" % name)
    database_names = set()
    for (name, problem), entry in zip(_names(databases, "postgresql_databases"), databases or []):
        if problem:
            found.append(problem)
            continue
        if name in database_names:
            found.append("postgresql_databases: database %s is declared twice" % name)
        database_names.add(name)
        owner = entry.get("owner")
        if owner is not None and owner not in user_names and owner != "postgres":
            found.append("postgresql_databases: database %s is owned by %s, which is not in postgresql_users" % (name, owner))
    for index, entry in enumerate(hba or []):
        where = "postgresql_hba[%d]" % index
        if not isinstance(entry, dict):
            found.append("%s is not a mapping" % where)
            continue
        method = entry.get("method", "scram-sha-256")
        if method not in HBA_METHODS:
            found.append("%s: unknown or refused auth method %r (one of %s)" % (where, method, ", ".join(HBA_METHODS)))
        database = entry.get("database")
        if database not in database_names and database not in _HBA_DATABASE_KEYWORDS:
            found.append("%s: database %r is neither declared in postgresql_databases nor one of %s"
                         % (where, database, ", ".join(_HBA_DATABASE_KEYWORDS)))
        user = entry.get("user")
        if user not in user_names and user not in _HBA_USER_KEYWORDS:
            found.append("%s: user %r is neither declared in postgresql_users nor one of %s"
                         % (where, user, ", ".join(_HBA_USER_KEYWORDS)))
        networks = entry.get("networks")
        if not isinstance(networks, list) or not networks:
            found.append("%s: networks must be a non-empty list of CIDR networks" % where)
            continue
        for network in networks:
            problem = network_problem(network)
            if problem:
                found.append("%s: %s" % (where, problem))
    return found


def client_networks(hba):
    """The networks of the entries that may log in (``reject`` entries let nobody in), each once,
    in the order declared: what the firewall opens the server's port to."""
    found = []
    for entry in hba or []:
        if entry.get("method", "scram-sha-256") == "reject":
            continue
        for network in entry.get("networks") or []:
            problem = network_problem(network)
            if problem:
                raise ValueError(problem)
            text = str(ipaddress.ip_network(network))
            if text not in found:
                found.append(text)
    return found
