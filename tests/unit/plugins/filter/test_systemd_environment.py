# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the systemd Environment= filters and the service unit's environment lines (issue 21)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import jinja2
import pytest
from ansible.errors import AnsibleFilterError
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.prodready.platform.plugins.filter import systemd_environment as env_filter

UNIT_TEMPLATE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "service", "templates", "service.unit.j2")
INJECTION = "x\n[Service]\nExecStartPre=/bin/sh -c 'id > /tmp/pwned'"


def systemd_unquote_environment(rvalue):
    """What systemd makes of one Environment= value with one quoted word: specifiers first, then C unquoting.

    Only what the filter may emit is supported (``%%``, ``\\\\``, ``\\"``); anything else is an error, so a
    filter that emitted a lone ``%`` or an unknown escape fails the test.
    """
    expanded, i = [], 0
    while i < len(rvalue):
        if rvalue[i] == "%":
            assert rvalue[i + 1: i + 2] == "%", "lone %% would be a specifier: %r" % rvalue
            expanded.append("%")
            i += 2
        else:
            expanded.append(rvalue[i])
            i += 1
    text = "".join(expanded)
    assert text.startswith('"') and text.endswith('"') and len(text) >= 2, text
    out, i, body = [], 0, text[1:-1]
    while i < len(body):
        char = body[i]
        if char == "\\":
            assert body[i + 1: i + 2] in ("\\", '"'), "unexpected escape in %r" % text
            out.append(body[i + 1])
            i += 2
        else:
            assert char != '"', "unescaped quote ends the word early: %r" % text
            out.append(char)
            i += 1
    key, sep, value = "".join(out).partition("=")
    assert sep
    return key, value


def render_environment_lines(environment):
    """Render the environment loop of roles/service/templates/service.unit.j2 as it is in the tree."""
    with open(UNIT_TEMPLATE) as handle:
        source = handle.read()
    match = re.search(r"^\{% for key, value in service_environment \| dictsort %\}\n.*?^\{% endfor %\}\n", source, re.M | re.S)
    assert match, "the unit template no longer loops over service_environment"
    env = jinja2.Environment(trim_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["prodready.platform.systemd_environment_line"] = env_filter.systemd_environment_line
    return env.from_string(match.group(0)).render(service_environment=environment)


KEYS = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,20}\Z")
SAFE_VALUES = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\x00"), max_size=40)


@settings(max_examples=300, deadline=None)
@given(KEYS, SAFE_VALUES)
def test_values_round_trip_through_systemd_quoting(key, value):
    line = env_filter.systemd_environment_line(key, value)
    assert "\n" not in line
    assert systemd_unquote_environment(line) == (key, value)


@pytest.mark.parametrize(
    "value",
    ["hello world", 'say "hi"', "C:\\path\\to\\", "100% done %n %%", "$HOME ${PATH} $$", "it's", "\ttab", "", "=x=y", "#not a comment", "a;b"],
)
def test_unit_template_renders_legitimate_values_systemd_reads_back(value):
    lines = render_environment_lines({"DEMO_VALUE": value}).splitlines()
    assert len(lines) == 1 and lines[0].startswith("Environment=")
    assert systemd_unquote_environment(lines[0][len("Environment="):]) == ("DEMO_VALUE", value)


@pytest.mark.parametrize("value", [INJECTION, "a\rb", "a\x00b", "trailing\n"])
def test_unit_template_refuses_injection(value):
    # On the old template the value's newline ended the line and ExecStartPre= became a directive.
    try:
        rendered = render_environment_lines({"DEMO_VALUE": value})
    except AnsibleFilterError as exc:
        assert "DEMO_VALUE" in str(exc)
        assert value not in str(exc)
        return
    pytest.fail("rendered an injectable unit: %r" % rendered)


def test_problems_name_keys_never_values():
    secret = "s3cr3t\nExecStartPre=/bin/false"
    problems = env_filter.systemd_environment_problems(
        {"GOOD": "fine value", "BAD_VALUE": secret, "1BAD": "x", "BAD-KEY": "x", "CR": "a\rb", "NUL": "a\x00b", "": "x", "OK_INT": 5}
    )
    text = "\n".join(problems)
    assert "s3cr3t" not in text
    assert problems == sorted(problems)
    assert len(problems) == 6
    for key in ("'BAD_VALUE'", "'1BAD'", "'BAD-KEY'", "'CR'", "'NUL'", "''"):
        assert key in text
    assert "GOOD" not in text and "OK_INT" not in text


def test_non_string_keys_and_values():
    assert env_filter.systemd_environment_problems({5: "x"}) == ["key '5' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)"]
    assert env_filter.systemd_environment_problems(None) == []
    assert env_filter.systemd_environment_problems({}) == []
    assert env_filter.systemd_environment_line("N", 5) == '"N=5"'
    assert env_filter.systemd_environment_line("B", True) == '"B=True"'  # as `value | string` rendered it before
    with pytest.raises(AnsibleFilterError, match="expects a dictionary"):
        env_filter.systemd_environment_problems(["A=1"])
    with pytest.raises(AnsibleFilterError, match="not a variable name"):
        env_filter.systemd_environment_line("A B", "x")


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=8), st.text(max_size=12), max_size=5))
def test_problems_agree_with_the_line_filter(environment):
    problems = env_filter.systemd_environment_problems(environment)
    refused = 0
    for key, value in environment.items():
        try:
            line = env_filter.systemd_environment_line(key, value)
        except AnsibleFilterError:
            refused += 1
            continue
        assert "\n" not in line and "\r" not in line and "\x00" not in line
    assert refused == len(problems)


def test_filter_module_exports():
    assert set(env_filter.FilterModule().filters()) == {"systemd_environment_line", "systemd_environment_problems"}
