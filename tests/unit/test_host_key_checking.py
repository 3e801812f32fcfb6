# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SSH host key checking stays on: ansible.cfg does not turn it off for every inventory (the vault
secrets of a run would go to whoever answers on port 22), nothing in the Molecule scenarios, tools
or benchmarks turns it off through the environment, and only the demo inventories (throw-away test
bed containers) turn it off, for their own hosts."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import configparser
import glob
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO_INVENTORIES = ("demo", "demo-single")
HOST_KEY_VARS = ("ansible_host_key_checking", "ansible_ssh_host_key_checking")
FALSE = ("false", "no", "off", "0", "n", "f")


def is_false(value):
    return str(value).strip().lower() in FALSE


def test_ansible_cfg_leaves_host_key_checking_on():
    config = configparser.ConfigParser(interpolation=None)
    config.read(os.path.join(ROOT, "ansible.cfg"))
    for section in config.sections():
        for key in ("host_key_checking",):
            if config.has_option(section, key):
                assert not is_false(config.get(section, key)), "ansible.cfg [%s] turns host key checking off" % section


def yaml_documents(path):
    with open(path, encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


def host_key_settings(node, where):
    """(where, variable, value) for every host key checking variable anywhere in a YAML tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in HOST_KEY_VARS:
                yield where, key, value
            yield from host_key_settings(value, where)
    elif isinstance(node, list):
        for item in node:
            yield from host_key_settings(item, where)


def inventory_settings():
    found = []
    for inventory in sorted(glob.glob(os.path.join(ROOT, "inventories", "*"))):
        name = os.path.basename(inventory)
        for path in sorted(glob.glob(os.path.join(inventory, "**", "*.yml"), recursive=True)
                           + glob.glob(os.path.join(inventory, "**", "*.yaml"), recursive=True)):
            for doc in yaml_documents(path):
                for where, key, value in host_key_settings(doc, name):
                    found.append((where, key, value))
    return found


def test_only_the_demo_inventories_turn_host_key_checking_off():
    disabled = {(where, key) for where, key, value in inventory_settings() if is_false(value)}
    assert {where for where, _key in disabled} <= set(DEMO_INVENTORIES), disabled


def test_the_demo_inventories_turn_it_off_for_their_own_hosts():
    # Not a requirement of safety, but the demo's containers get new host keys on every test bed:
    # the setting is there, in the inventory, and not in ansible.cfg.
    disabled = {where for where, _key, value in inventory_settings() if is_false(value)}
    assert disabled == set(DEMO_INVENTORIES)


def test_no_scenario_tool_or_benchmark_turns_it_off_through_the_environment():
    pattern = re.compile(r"ANSIBLE_(SSH_)?HOST_KEY_CHECKING\s*[:=]\s*['\"]?(false|no|off|0)\b", re.IGNORECASE)
    offenders = []
    for sub in ("molecule", "tools", "benchmarks", "playbooks", "Makefile", "execution-environment.yml"):
        base = os.path.join(ROOT, sub)
        paths = [base] if os.path.isfile(base) else glob.glob(os.path.join(base, "**", "*"), recursive=True)
        for path in paths:
            if not os.path.isfile(path):
                continue
            try:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
            except (UnicodeDecodeError, OSError):
                continue
            if pattern.search(text):
                offenders.append(os.path.relpath(path, ROOT))
    assert offenders == []
