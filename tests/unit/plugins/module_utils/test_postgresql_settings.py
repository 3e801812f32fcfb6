"""The PostgreSQL role's input check: bad roles, databases and pg_hba entries are named."""

import ipaddress

import pytest
from ansible.errors import AnsibleFilterError
from hypothesis import given, strategies as st

from ansible_collections.prodready.platform.plugins.filter import postgresql as filters
from ansible_collections.prodready.platform.plugins.module_utils._postgresql import settings

USERS = [{"name": "app", "password": "s3cret"}, {"name": "report", "password": "x"}]
DATABASES = [{"name": "appdb", "owner": "app"}]


def test_good_input_has_no_problem():
    hba = [{"database": "appdb", "user": "app", "networks": ["10.0.0.0/24", "2001:db8::/64"]},
           {"database": "all", "user": "all", "networks": ["0.0.0.0/0"], "method": "reject"}]
    assert filters.postgresql_input_problems(USERS, DATABASES, hba) == []


@pytest.mark.parametrize("users, databases, hba, message", [
    ([{"name": "app"}], [], [], "role app has no password"),
    ([{"name": "app", "password": ""}], [], [], "role app has no password"),
    (USERS + [{"name": "app", "password": "y"}], [], [], "declared twice"),
    ([{"name": "1app", "password": "y"}], [], [], "not a PostgreSQL identifier"),
    (USERS, [{"name": "appdb", "owner": "nobody"}], [], "owned by nobody"),
    (USERS, DATABASES, [{"database": "appdb", "user": "app", "networks": ["10.0.0.1"]}], "'10.0.0.1' is not a CIDR"),
    (USERS, DATABASES, [{"database": "appdb", "user": "app", "networks": ["10.0.0.1/24"]}], "host bits set"),
    (USERS, DATABASES, [{"database": "appdb", "user": "app", "networks": ["db.example/24"]}], "not a CIDR"),
    (USERS, DATABASES, [{"database": "appdb", "user": "app", "networks": []}], "non-empty list"),
    (USERS, DATABASES, [{"database": "appdb", "user": "app", "networks": ["10.0.0.0/8"], "method": "trust"}],
     "unknown or refused auth method 'trust'"),
    (USERS, DATABASES, [{"database": "appdb", "user": "app", "networks": ["10.0.0.0/8"], "method": "md5"}], "'md5'"),
    (USERS, DATABASES, [{"database": "other", "user": "app", "networks": ["10.0.0.0/8"]}], "database 'other'"),
    (USERS, DATABASES, [{"database": "appdb", "user": "ghost", "networks": ["10.0.0.0/8"]}], "user 'ghost'"),
])
def test_bad_input_is_named(users, databases, hba, message):
    found = settings.problems(users, databases, hba)
    assert any(message in line for line in found), found


def test_no_problem_line_carries_a_password():
    users = [{"name": "app", "password": "hunter2-secret"}, {"name": "app", "password": "hunter2-secret"}]
    assert not any("hunter2" in line for line in settings.problems(users, [], []))


@given(st.ip_addresses(), st.integers(min_value=0, max_value=128))
def test_network_check_agrees_with_ipaddress(address, length):
    text = "%s/%d" % (address, length)
    try:
        ipaddress.ip_network(text, strict=True)
        valid = True
    except ValueError:
        valid = False
    assert (settings.network_problem(text) is None) == valid


@given(st.text(max_size=30))
def test_any_text_gets_an_answer_not_an_exception(text):
    problem = settings.network_problem(text)
    assert problem is None or "CIDR" in problem


def test_client_networks_are_the_declared_networks_that_may_log_in():
    hba = [{"database": "appdb", "user": "app", "networks": ["10.0.0.0/24", "2001:db8::/64"]},
           {"database": "appdb", "user": "report", "networks": ["10.0.0.0/24", "10.1.0.0/16"]},
           {"database": "all", "user": "all", "networks": ["192.0.2.0/24"], "method": "reject"}]
    assert filters.postgresql_client_networks(hba) == ["10.0.0.0/24", "2001:db8::/64", "10.1.0.0/16"]
    assert filters.postgresql_client_networks([]) == []


@pytest.mark.parametrize("hba", [
    [{"networks": ["10.0.0.1/24"]}],
    [{"networks": ["db.example/24"]}],
    ["not a dict"],
])
def test_client_networks_refuse_what_the_firewall_would_misread(hba):
    with pytest.raises(AnsibleFilterError, match="postgresql_client_networks"):
        filters.postgresql_client_networks(hba)
