# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import stat
import subprocess

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.prodready.platform.plugins.module_utils.config_files import ItemError
from ansible_collections.prodready.platform.plugins.module_utils._files import lines as file_lines


def run_command(argv):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


LOGIN_DEFS = "# defaults\n#UMASK\t022\nUMASK\t022\nPASS_MAX_DAYS\t99999\n"


def test_last_match_is_replaced_and_missing_line_appended(tmp_path):
    path = tmp_path / "login.defs"
    path.write_text(LOGIN_DEFS)
    os.chmod(path, 0o640)
    files = [{"path": str(path), "lines": [
        {"regexp": r"^#?\s*UMASK\s", "line": "UMASK\t027"},
        {"regexp": r"^#?\s*PASS_MAX_DAYS\s", "line": "PASS_MAX_DAYS\t365"},
        {"regexp": r"^#?\s*ENCRYPT_METHOD\s", "line": "ENCRYPT_METHOD\tYESCRYPT"},
    ]}]
    changed, diffs = file_lines.run(files, False, run_command)
    assert changed == [str(path)]
    assert path.read_text() == "# defaults\n#UMASK\t022\nUMASK\t027\nPASS_MAX_DAYS\t365\nENCRYPT_METHOD\tYESCRYPT\n"
    assert diffs[0]["before"] == LOGIN_DEFS
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    # Converged: nothing to do, the file is not rewritten.
    inode = os.stat(path).st_ino
    assert file_lines.run(files, False, run_command) == ([], [])
    assert os.stat(path).st_ino == inode


def test_check_mode_reports_without_writing(tmp_path):
    path = tmp_path / "f"
    path.write_text("a\n")
    changed, diffs = file_lines.run([{"path": str(path), "lines": [{"line": "b"}]}], True, run_command)
    assert changed == [str(path)] and diffs[0]["after"] == "a\nb\n"
    assert path.read_text() == "a\n"


@pytest.mark.parametrize("entry,expected", [
    ({"line": "Include x", "insertbefore": "BOF"}, ["Include x", "auth a", "@include common-auth", "end"]),
    ({"line": "new", "insertbefore": "^@include common-auth"}, ["auth a", "new", "@include common-auth", "end"]),
    ({"line": "new", "insertafter": r"^auth\s"}, ["auth a", "new", "@include common-auth", "end"]),
    ({"line": "new", "insertafter": "^nomatch"}, ["auth a", "@include common-auth", "end", "new"]),
    ({"line": "end"}, ["auth a", "@include common-auth", "end"]),
    ({"line": "auth b", "regexp": "^auth"}, ["auth b", "@include common-auth", "end"]),
])
def test_edit_places_lines_as_lineinfile(entry, expected):
    lines = ["auth a", "@include common-auth", "end"]
    file_lines.edit(lines, entry)
    assert lines == expected


def test_failed_validation_leaves_the_file(tmp_path):
    path = tmp_path / "f"
    path.write_text("a\n")
    with pytest.raises(ItemError, match="validation"):
        file_lines.run([{"path": str(path), "lines": [{"line": "b"}], "validate": "false %s"}], False, run_command)
    assert path.read_text() == "a\n"
    assert os.listdir(tmp_path) == ["f"]


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(ItemError, match="does not exist"):
        file_lines.run([{"path": str(tmp_path / "nope"), "lines": [{"line": "b"}]}], True, run_command)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="ab \t#=", max_size=8), max_size=8), st.text(alphabet="ab #=", min_size=1, max_size=6),
       st.booleans())
def test_new_text_converges_and_keeps_the_line(lines, line, trailing):
    """Applying the same entry twice changes nothing more, and the line is then in the file."""
    text = "\n".join(lines) + ("\n" if trailing and lines else "")
    entry = {"line": line, "regexp": "^" + re.escape(line[:1])}
    once = file_lines.new_text(text, [entry])
    assert file_lines.new_text(once, [entry]) == once
    assert line in once.splitlines()
