# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""last_matching_line gives what `select('search', pattern) | list | last | default('')` gives."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible.errors import AnsibleFilterError
from ansible_collections.prodready.platform.plugins.filter.last_matching_line import FilterModule, last_matching_line

LOGIN_DEFS = ["# comment", "PASS_MAX_DAYS\t99999", "#PASS_MAX_DAYS 30", "UMASK\t022", "PASS_MAX_DAYS\t365", "ENCRYPT_METHOD SHA512"]


def test_last_match_wins_and_none_is_empty():
    assert last_matching_line(LOGIN_DEFS, r"^#?\s*PASS_MAX_DAYS\s") == "PASS_MAX_DAYS\t365"
    assert last_matching_line(LOGIN_DEFS, "UMASK") == "UMASK\t022"
    assert last_matching_line(LOGIN_DEFS, "^LOGIN_RETRIES") == ""
    assert last_matching_line(None, "x") == "" and last_matching_line([], "x") == ""
    assert FilterModule().filters()["last_matching_line"] is last_matching_line


@pytest.mark.parametrize("lines, pattern", [("a string", "a"), (5, "a"), (["a"], "(")])
def test_bad_input(lines, pattern):
    with pytest.raises(AnsibleFilterError):
        last_matching_line(lines, pattern)


@given(st.lists(st.text(alphabet="ab #\t=x", max_size=12), max_size=30),
       st.sampled_from(["a", "^a", "b$", r"^#?\s*a\s", r"^\s*x\s*=", "a+b", "^$"]))
def test_same_as_select_search_last(lines, pattern):
    expected = [line for line in lines if re.search(pattern, line)]
    assert last_matching_line(lines, pattern) == (expected[-1] if expected else "")
