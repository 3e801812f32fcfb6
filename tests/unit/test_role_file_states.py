# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A role that reads its files with file_states (vars/main.yml: <role>_file_state_paths) must list
every path its config_files tasks write; a path left out would make its set run on every converge."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PATH_RE = re.compile(r"""(?:^|[\s{,])['"]?path['"]?:\s*['"]?(/[^\s'",}]+)""")


def roles_with_file_states():
    for vars_file in sorted(glob.glob(os.path.join(ROOT, "roles", "*", "vars", "main.yml"))):
        role = vars_file.split(os.sep)[-3]
        with open(vars_file, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
        if "%s_file_state_paths" % role in data:
            yield role, data["%s_file_state_paths" % role]


def written_paths(role):
    """Literal paths in the config_files tasks of a role (files and the vars that build them) and in its
    vars/main.yml file sets."""
    paths = set()
    for tasks_file in glob.glob(os.path.join(ROOT, "roles", role, "tasks", "*.yml")):
        with open(tasks_file, encoding="utf-8") as handle:
            tasks = yaml.safe_load(handle) or []
        for task in tasks:
            if "prodready.platform.config_files" not in task:
                continue
            text = yaml.safe_dump({"files": task["prodready.platform.config_files"], "vars": task.get("vars", {})})
            paths.update(PATH_RE.findall(text))
    # File sets kept in vars/main.yml (hardening's plan compares them before any task runs).
    with open(os.path.join(ROOT, "roles", role, "vars", "main.yml"), encoding="utf-8") as handle:
        role_vars = yaml.safe_load(handle) or {}
    for name, value in role_vars.items():
        if name.endswith("_files") or name.endswith("_finalize"):
            paths.update(PATH_RE.findall(yaml.safe_dump({name: value})))
    return paths


ROLES = list(roles_with_file_states())


@pytest.mark.parametrize("role,listed", ROLES, ids=[role for role, _paths in ROLES])
def test_every_written_path_is_read(role, listed):
    written = written_paths(role)
    assert written, "no config_files paths found in %s: the test's parser is out of date" % role
    assert sorted(written - set(listed)) == []


def test_hardening_reads_its_files():
    assert "hardening" in dict(ROLES)
