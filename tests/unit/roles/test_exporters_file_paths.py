# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""exporters_node_file_paths (vars/main.yml) lists every path of node_exporter's file set
(exporters_node_files, also in vars/main.yml, written by tasks/configure.yml): the probe reads those paths, and the set's module run is skipped only when
each of its items was read and matches. The set builds its items in Jinja, so the test evaluates
each item's path expression and each list entry with the role's defaults and variables."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import jinja2
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(ROOT, "roles", "exporters")


def load(*parts):
    with open(os.path.join(ROLE, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def path_expressions(text):
    """The expression after each 'path': in a Jinja list/dict expression, up to the next comma or
    closing brace at its own nesting level (quotes respected)."""
    found, start = [], 0
    while True:
        start = text.find("'path':", start)
        if start < 0:
            return found
        i = start + len("'path':")
        depth, quote, expr = 0, None, []
        while i < len(text):
            char = text[i]
            if quote:
                quote = None if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char in "([{":
                depth += 1
            elif char in ")]}":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                break
            expr.append(char)
            i += 1
        found.append("".join(expr).strip())
        start = i


def context():
    values = {}
    for name in ("defaults", "vars"):
        for key, value in (load(name, "main.yml") or {}).items():
            if isinstance(value, str) and "{" not in value:
                values[key] = value
    return values


def test_every_path_of_the_node_exporter_set_is_read():
    role_vars = load("vars", "main.yml")
    tasks = load("tasks", "configure.yml")
    assert [task["prodready.platform.config_files"]["files"] for task in tasks
            if "exporters_node_files" in str(task.get("prodready.platform.config_files", {}).get("files", ""))] \
        == ["{{ exporters_node_files }}"], "tasks/configure.yml should write exporters_node_files in one task"
    expressions = path_expressions(role_vars["exporters_node_files"])
    assert len(expressions) >= 5, "the parser found too few items: %r" % expressions
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters["dirname"] = os.path.dirname  # as Ansible's
    ctx = context()
    written = {env.compile_expression(expr)(**ctx) for expr in expressions}
    listed = [env.from_string(entry).render(**ctx) for entry in role_vars["exporters_node_file_paths"]]
    assert sorted(written - set(listed)) == []
    assert len(listed) == len(set(listed)) == len(written)


def test_the_parser_reads_nested_expressions():
    text = "{{ [{'path': a ~ '/x', 'mode': '0755'}] + [{'path': b ~ '.d'} | combine({'c': f(1, 2)})] }}"
    assert path_expressions(text) == ["a ~ '/x'", "b ~ '.d'"]
