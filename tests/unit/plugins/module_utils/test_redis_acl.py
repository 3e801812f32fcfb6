# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The redis role's ACL rule parser (module_utils/_redis/acl.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given, strategies as st

from ansible_collections.prodready.platform.plugins.module_utils._redis import acl
from ansible_collections.prodready.platform.plugins.filter.redis import redis_acl_problems

GOOD = ["~app:*", "%R~cache:*", "%W~jobs:*", "%RW~x", "&events:*", "allkeys", "resetkeys", "allchannels",
        "resetchannels", "allcommands", "nocommands", "+@read", "-@dangerous", "+get", "-flushall",
        "+client|setname", "+CONFIG|GET", "(~other:* +@read)", "+@all"]
BAD = {
    "~app:* +@all": "white space",
    ">secret": "role's to write",
    "#" + "0" * 64: "role's to write",
    "nopass": "role's to write",
    "on": "role's to write",
    "reset": "role's to write",
    "+@nosuchcategory": "unknown ACL category",
    "@read": "needs + or -",
    "+": "not a command rule",
    "+get|": "not a command rule",
    "~": "needs a pattern",
    "%X~a": "%R~pattern",
    "&": "needs a pattern",
    "allkeyz": "not an ACL rule",
    "(~a +get": "selector",
    "()": "selector",
    "(~a (+get))": "do not nest",
    "(~a +@bogus)": "unknown ACL category",
    "": "empty rule",
}


@pytest.mark.parametrize("rule", GOOD)
def test_good_rules_parse(rule):
    assert acl.rule_problem(rule) is None


@pytest.mark.parametrize("rule,reason", sorted(BAD.items()))
def test_bad_rules_say_why(rule, reason):
    problem = acl.rule_problem(rule)
    assert problem is not None and reason in problem


def test_users_problems_name_password_duplicates_and_keys():
    users = [
        {"name": "app", "password": "x" * 16, "rules": ["~app:*", "+@read"]},
        {"name": "app", "password": "short", "rules": []},
        {"name": "default", "password": "y" * 20},
        {"name": "bad name", "password": "z" * 20, "colour": "red"},
        {"name": "ops", "password": "w" * 20, "denied_commands": ["flushall", "@bogus"]},
        {"name": "nopw", "rules": ["~a"]},
    ]
    problems = redis_acl_problems(users)
    text = "\n".join(problems)
    assert "user 'app': needs a password of at least 16" in text
    assert "user 'app' is declared twice" in text
    assert "the default user stays disabled" in text
    assert "user 'bad name': the name must be" in text
    assert "unknown keys colour" in text
    assert "denied command '@bogus'" in text
    assert "user 'nopw': needs a password" in text
    assert not any("user 'ops'" in p and "flushall" in p for p in problems)
    assert redis_acl_problems(users[:1]) == []


def test_min_password_length_is_an_int_from_a_string():
    assert redis_acl_problems([{"name": "a", "password": "p" * 12}], "12") == []
    assert redis_acl_problems([{"name": "a", "password": "p" * 12}], 13) != []


def test_not_a_list():
    assert acl.users_problems("app") == ["the users must be a list"]
    assert acl.user_problems("app") == ["a user must be a mapping with name, password and rules"]


# The property the ACL file relies on: a rule the parser accepts is one token that Redis reads as
# one rule (no white space outside a selector), never a state, password or reset rule.
@given(st.text(min_size=0, max_size=30))
def test_accepted_rules_are_single_tokens_without_passwords(rule):
    if acl.rule_problem(rule) is None:
        assert rule != ""
        if not rule.startswith("("):
            assert not any(c.isspace() for c in rule)
            assert rule[0] not in "><#!"
            assert rule.lower() not in acl.ROLE_OWNED
        else:
            assert rule.endswith(")")
            for part in rule[1:-1].split():
                assert part[0] not in "><#!" and part.lower() not in acl.ROLE_OWNED


@given(st.lists(st.sampled_from(GOOD), max_size=8), st.sampled_from(sorted(BAD)))
def test_one_bad_rule_is_always_reported(good, bad):
    users = [{"name": "app", "password": "p" * 16, "rules": good + [bad]}]
    problems = redis_acl_problems(users)
    assert len(problems) == 1 and repr(bad) in problems[0]


@given(st.sampled_from(sorted(acl.CATEGORIES)), st.sampled_from("+-"))
def test_every_known_category_parses(category, sign):
    assert acl.rule_problem(sign + "@" + category) is None
    assert acl.rule_problem(sign + "@" + category.upper()) is None


def test_rule_problem_filter_returns_empty_for_good_rules():
    from ansible_collections.prodready.platform.plugins.filter.redis import redis_acl_rule_problem
    assert redis_acl_rule_problem("-@dangerous") == ""
    assert "unknown ACL category" in redis_acl_rule_problem("-@bogus")
