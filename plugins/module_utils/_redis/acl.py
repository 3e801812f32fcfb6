# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redis ACL rules as the redis role accepts them, checked on the controller before any change.

Redis parses an ACL file line by line and splits each line at spaces, so a rule holding a space
would smuggle further rules into the line (``~app:* +@all``): every rule must be one token. The
role writes the state (``on``), the password (``#<sha256>``) and the denied commands itself, so
rules that set them (``on``/``off``, ``nopass``, ``>``/``<``/``#``/``!``, ``reset``, ``resetpass``)
are refused here. What is left is Redis 7's selector grammar: key patterns (``~p``, ``%R~p``,
``%W~p``, ``%RW~p``, ``allkeys``, ``resetkeys``), channel patterns (``&p``, ``allchannels``,
``resetchannels``), commands and categories (``+name``, ``-name``, ``+name|sub``, ``+@cat``,
``-@cat``, ``allcommands``, ``nocommands``) and selectors (``(rule rule ...)`` with the same
grammar inside). Command names are checked for their form only: the on-host check (Redis itself
loading the candidate ACL file, roles/redis/files/redis_config_check.py) refuses an unknown one.
Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Redis 7's ACL categories (ACL CAT).
CATEGORIES = frozenset([
    "all", "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
    "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
    "connection", "transaction", "scripting",
])
# Rules the role itself writes for every user; a user's own rules may not set them.
ROLE_OWNED = frozenset(["on", "off", "nopass", "resetpass", "reset", "clearselectors",
                        "skip-sanitize-payload", "sanitize-payload"])
WORD_RULES = frozenset(["allkeys", "resetkeys", "allchannels", "resetchannels", "allcommands", "nocommands"])
COMMAND_RE = re.compile(r"^[+-]([a-z][a-z0-9_.-]*)(\|[a-z0-9_.-]+)?$", re.IGNORECASE)
CATEGORY_RE = re.compile(r"^[+-]@([a-z]+)$", re.IGNORECASE)
KEY_PATTERN_RE = re.compile(r"^(%(R|W|RW)~|~)(.+)$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
SPACE_RE = re.compile(r"\s")


def _selector_rule_problem(rule):
    """None when one selector-level rule parses, else why not."""
    if rule in WORD_RULES:
        return None
    if rule.startswith("@"):
        return "a category needs + or - in front (+%s or -%s)" % (rule, rule)
    match = CATEGORY_RE.match(rule)
    if match:
        if match.group(1).lower() not in CATEGORIES:
            return "unknown ACL category @%s (known: %s)" % (match.group(1), ", ".join(sorted(CATEGORIES)))
        return None
    if rule[:1] in "+-":
        if COMMAND_RE.match(rule):
            return None
        return "not a command rule (+name, -name, +name|subcommand)"
    match = KEY_PATTERN_RE.match(rule)
    if match:
        return None
    if rule.startswith("%"):
        return "a key permission is %R~pattern, %W~pattern or %RW~pattern"
    if rule.startswith("&"):
        return None if len(rule) > 1 else "a channel pattern needs a pattern after &"
    if rule == "~":
        return "a key pattern needs a pattern after ~"
    return "not an ACL rule Redis knows"


def rule_problem(rule):
    """None when a rule of a user's list parses and is the user's to set, else why not."""
    if not isinstance(rule, str):
        return "a rule must be a string"
    if rule == "":
        return "an empty rule"
    if rule.startswith("(") or rule.endswith(")"):
        if not (rule.startswith("(") and rule.endswith(")")) or len(rule) < 3:
            return "a selector is (rule rule ...)"
        inner = rule[1:-1].split()
        if not inner:
            return "an empty selector"
        for part in inner:
            if part.startswith("(") or part.endswith(")"):
                return "selectors do not nest"
            problem = _selector_rule_problem(part)
            if problem:
                return "selector rule %r: %s" % (part, problem)
        return None
    if SPACE_RE.search(rule):
        return "a rule may not contain white space (one rule per list item)"
    if rule.lower() in ROLE_OWNED or rule[:1] in "><#!":
        return "state, passwords and resets are the role's to write (the user's password goes in password)"
    return _selector_rule_problem(rule)


def user_problems(user, min_password_length=16):
    """The problems of one declared user ({name, password, rules}) as sentences."""
    if not isinstance(user, dict):
        return ["a user must be a mapping with name, password and rules"]
    name = user.get("name")
    label = "user %r" % (name,)
    problems = []
    if not isinstance(name, str) or not USERNAME_RE.match(name):
        problems.append("%s: the name must be 1-64 characters of letters, digits, _ . @ - (starting with a letter or digit)" % label)
    elif name == "default":
        problems.append("%s: the default user stays disabled; declare a named user" % label)
    password = user.get("password")
    if not isinstance(password, str) or len(password) < min_password_length:
        problems.append("%s: needs a password of at least %d characters (keep it in a vault)" % (label, min_password_length))
    for key, what, check in (("rules", "rule %r does not parse", rule_problem),
                             ("denied_commands", "denied command %r", denied_command_problem)):
        values = user.get(key, [])
        if not isinstance(values, list):
            problems.append("%s: %s must be a list" % (label, key))
            continue
        problems.extend("%s: %s: %s" % (label, what % (value,), check(value)) for value in values if check(value))
    unknown = sorted(set(user) - set(["name", "password", "rules", "denied_commands"]))
    if unknown:
        problems.append("%s: unknown keys %s" % (label, ", ".join(unknown)))
    return problems


def denied_command_problem(command):
    """None when a denied-command entry (name, name|sub or @category) parses, else why not."""
    if not isinstance(command, str) or command == "":
        return "must be a command name, name|subcommand or @category"
    return _selector_rule_problem("-" + command)


def users_problems(users, min_password_length=16):
    """Every problem of a list of declared users, duplicates included, as sentences."""
    if not isinstance(users, list):
        return ["the users must be a list"]
    problems = []
    seen = set()
    for user in users:
        problems.extend(user_problems(user, min_password_length))
        name = user.get("name") if isinstance(user, dict) else None
        if name in seen:
            problems.append("user %r is declared twice" % (name,))
        seen.add(name)
    return problems
