# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hardening role includes an area's task file only when its plan entry says something there would
change (tasks/probe.yml builds hardening_plan from vars/main.yml's hardening_area_needs). That is only
safe while every task of the file is guarded by one of the area's needs: a task with a condition of its
own that the plan does not know would never run on a host where nothing else in the area differs."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(ROOT, "roles", "hardening")
NEED_RE = re.compile(r"^\s*(hardening_needs_[a-z0-9_]+)\b")


def load(*parts):
    with open(os.path.join(ROLE, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


ROLE_VARS = load("vars", "main.yml")
AREAS = ROLE_VARS["hardening_area_needs"]


def first_condition(task):
    when = task.get("when")
    if isinstance(when, list):
        when = when[0] if when else None
    return when


@pytest.mark.parametrize("area", sorted(AREAS))
def test_every_task_of_an_area_starts_with_one_of_its_needs(area):
    tasks = load("tasks", area + ".yml")
    assert tasks, "no tasks in %s.yml" % area
    used = set()
    for task in tasks:
        condition = first_condition(task)
        match = NEED_RE.match(condition or "")
        assert match, "%s.yml: task %r is not guarded by a hardening_needs_* condition" % (area, task.get("name"))
        need = match.group(1)
        assert need in AREAS[area], "%s.yml: %s (task %r) is missing from hardening_area_needs.%s" % (
            area, need, task.get("name"), area)
        used.add(need)
    assert sorted(set(AREAS[area]) - used) == [], "needs listed for %s that no task uses" % area


@pytest.mark.parametrize("area", sorted(AREAS))
def test_needs_are_defined(area):
    for need in AREAS[area]:
        assert need in ROLE_VARS, need


@pytest.mark.parametrize("area", sorted(AREAS))
def test_main_includes_the_area_behind_its_plan_entry(area):
    main = load("tasks", "main.yml")
    includes = [task for task in main if isinstance(task.get("ansible.builtin.include_tasks"), dict)
                and task["ansible.builtin.include_tasks"].get("file") == area + ".yml"]
    assert len(includes) == 1, "main.yml must include %s.yml once (include_tasks, not import)" % area
    when = includes[0]["when"]
    when = when if isinstance(when, list) else [when]
    assert "hardening_plan['%s']" % area in when
    # The include's own tags do not reach its tasks: apply must carry them.
    assert set(includes[0]["tags"]) <= set(includes[0]["ansible.builtin.include_tasks"]["apply"]["tags"])
