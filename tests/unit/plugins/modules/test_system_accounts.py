# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""system_accounts: one read of the account databases; groupadd/useradd/usermod only for what differs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd

from hypothesis import given, strategies as st

from ansible_collections.prodready.platform.plugins.modules import system_accounts as sa

SERVICE_USER = {"name": "demo", "group": "demo", "system": True, "shell": "/usr/sbin/nologin",
                "home": "/var/lib/demo", "comment": "demo service", "password_locked": True}
CONVERGED = {"demo": {"group": "demo", "shell": "/usr/sbin/nologin", "home": "/var/lib/demo",
                      "comment": "demo service", "password_locked": True}}


def test_converged_accounts_need_no_command():
    commands, result, diff = sa.plan([{"name": "demo", "system": True}], [SERVICE_USER], {"demo": {"gid": 999}}, CONVERGED)
    assert commands == []
    assert result == {"groups_created": [], "users_created": [], "users_changed": {}}
    assert diff == {"before": {}, "after": {}}


def test_a_fresh_host_gets_the_group_before_the_user_and_a_locked_password():
    commands, result, dummy = sa.plan([{"name": "demo", "system": True}], [SERVICE_USER], {}, {})
    assert commands == [
        ["groupadd", "--system", "demo"],
        ["useradd", "--system", "--gid", "demo", "--shell", "/usr/sbin/nologin", "--home-dir", "/var/lib/demo",
         "--comment", "demo service", "--no-create-home", "demo"],
        ["usermod", "--password", "!", "demo"],
    ]
    assert result["groups_created"] == ["demo"] and result["users_created"] == ["demo"]


def test_only_the_fields_that_differ_are_changed_and_an_open_password_is_locked():
    current = {"demo": dict(CONVERGED["demo"], shell="/bin/bash", password_locked=False)}
    commands, result, diff = sa.plan([], [SERVICE_USER], {}, current)
    assert commands == [["usermod", "--shell", "/usr/sbin/nologin", "--password", "!", "demo"]]
    assert result["users_changed"] == {"demo": ["shell", "password_locked"]}
    assert diff["before"] == {"user demo": {"shell": "/bin/bash", "password_locked": False}}


def test_fields_not_given_are_left_alone_and_an_unlocked_wish_never_unlocks():
    current = {"demo": dict(CONVERGED["demo"], comment="someone else's words")}
    wanted = {"name": "demo", "system": True, "group": None, "shell": "/usr/sbin/nologin",
              "home": None, "comment": None, "password_locked": False}
    commands, dummy, dummy2 = sa.plan([], [wanted], {}, current)
    assert commands == []


def test_read_accounts_reads_this_machines_root(tmp_path):
    shadow = tmp_path / "shadow"
    shadow.write_text("root:*:19000:0:99999:7:::\n")
    groups, users = sa.read_accounts([grp.getgrgid(0).gr_name, "no-such-group-x"], [pwd.getpwuid(0).pw_name, "no-such-user-x"], str(shadow))
    assert list(groups) == [grp.getgrgid(0).gr_name]
    root = users[pwd.getpwuid(0).pw_name]
    assert root["home"] == pwd.getpwuid(0).pw_dir and root["password_locked"] is True
    assert "no-such-user-x" not in users


@given(st.lists(st.tuples(st.from_regex(r"[a-z_][a-z0-9_-]{0,15}", fullmatch=True),
                          st.from_regex(r"[!*]?[A-Za-z0-9$./]{0,20}", fullmatch=True)), max_size=8))
def test_shadow_parser_returns_each_users_password_field(entries):
    import tempfile
    with tempfile.NamedTemporaryFile("w", delete=False) as handle:
        for name, field in entries:
            handle.write("%s:%s:19000:0:99999:7:::\n" % (name, field))
    try:
        parsed = sa.read_shadow_fields(handle.name)
    finally:
        os.unlink(handle.name)
    assert parsed == dict(entries)
    for name, field in dict(entries).items():
        assert sa.is_locked(parsed[name]) == (field[:1] in ("!", "*"))


def test_a_missing_shadow_file_reads_as_empty(tmp_path):
    assert sa.read_shadow_fields(str(tmp_path / "absent")) == {}
