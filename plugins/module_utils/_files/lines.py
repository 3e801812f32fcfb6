# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lines kept in an existing file as ansible.builtin.lineinfile keeps them: the one decision of
prodready.platform.file_lines and of config_files' state=lines items."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible_collections.prodready.platform.plugins.module_utils.config_files import ItemError
from ansible_collections.prodready.platform.plugins.module_utils._files.write import write_validated


def _last_match(lines, pattern):
    regexp = re.compile(pattern)
    found = None
    for index, text in enumerate(lines):
        if regexp.search(text):
            found = index
    return found


def edit(lines, entry):
    """Apply one entry to a list of lines (without newlines), in place, as lineinfile does."""
    line = entry["line"]
    if entry.get("regexp"):
        index = _last_match(lines, entry["regexp"])
        if index is not None:
            lines[index] = line
            return
    if line in lines:
        return
    after, before = entry.get("insertafter"), entry.get("insertbefore")
    if before == "BOF":
        lines.insert(0, line)
    elif before:
        index = _last_match(lines, before)
        lines.insert(len(lines) if index is None else index, line)
    elif after and after != "EOF":
        index = _last_match(lines, after)
        lines.insert(len(lines) if index is None else index + 1, line)
    else:
        lines.append(line)


def new_text(text, entries):
    """The text after all entries; a file that ended with a newline keeps ending with one."""
    lines = text.splitlines()
    for entry in entries:
        edit(lines, entry)
    if not lines:
        return ""
    return "\n".join(lines) + ("\n" if text.endswith("\n") or not text else "")


def write(path, text, validate, run_command):
    """Replace the file with text, keeping its mode and owner (validated first when asked)."""
    st = os.stat(path)
    write_validated(path, to_bytes(text, errors="surrogate_or_strict"), st.st_mode & 0o7777, st.st_uid, st.st_gid,
                    validate, run_command)


def apply_lines(spec, check_mode, run_command):
    """Keep spec's lines in spec's file: the diff when it changed (or would in check mode), else None."""
    path = spec["path"]
    if not os.path.isfile(path):
        raise ItemError("%s does not exist (or is not a regular file)" % path)
    with open(path, "rb") as handle:
        before = to_text(handle.read(), errors="surrogate_or_strict")
    try:
        after = new_text(before, spec["lines"])
    except re.error as exc:
        raise ItemError("bad regular expression for %s: %s" % (path, exc))
    if after == before:
        return None
    if not check_mode:
        write(path, after, spec.get("validate"), run_command)
    return {"before_header": path, "after_header": path, "before": before, "after": after}


def run(files, check_mode, run_command):
    """(changed paths, diffs) after applying every file's lines."""
    changed, diffs = [], []
    for spec in files:
        diff = apply_lines(spec, check_mode, run_command)
        if diff is not None:
            changed.append(spec["path"])
            diffs.append(diff)
    return changed, diffs


def lines_argument_spec(required):
    """The argument spec of a ``lines`` option (file_lines' files[].lines, config_files' files[].lines)."""
    return dict(type="list", elements="dict", required=required, options=dict(
        line=dict(type="str", required=True),
        regexp=dict(type="str"),
        insertafter=dict(type="str"),
        insertbefore=dict(type="str"),
    ), mutually_exclusive=[["insertafter", "insertbefore"]])
