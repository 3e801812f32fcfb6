# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SSH host key checking stays on: ansible.cfg does not turn it off for every inventory (the vault
secrets of a run would go to whoever answers on port 22), no inventory turns it off, Molecule's
generated ansible.cfg (which turns it off by default) has it on, and nothing in the Molecule
scenarios, tools or benchmarks turns it off through the environment. The test bed's inventories and
Molecule reach their hosts over SSH, checking the host keys the test bed recorded."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import configparser
import glob
import importlib.util
import os
import re

import pytest
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


def test_no_inventory_turns_host_key_checking_off():
    disabled = [(where, key) for where, key, value in inventory_settings() if is_false(value)]
    assert disabled == []


def strict_known_hosts_options(text):
    """The SSH options in a command line that matter here: StrictHostKeyChecking and UserKnownHostsFile."""
    # A value may hold a Jinja expression ("{{ testbed_ssh_dir }}/known_hosts").
    options = dict(re.findall(r"-o\s*(StrictHostKeyChecking|UserKnownHostsFile)[= ]\s*((?:\{\{.*?\}\}|\S)+)", text))
    return options.get("StrictHostKeyChecking"), options.get("UserKnownHostsFile")


@pytest.mark.parametrize("inventory", DEMO_INVENTORIES)
def test_the_demo_inventories_connect_over_ssh_with_the_test_bed_known_hosts(inventory):
    (doc,) = yaml_documents(os.path.join(ROOT, "inventories", inventory, "hosts.yml"))
    host_vars = doc["all"]["vars"]
    assert host_vars["ansible_connection"] == "ssh"
    assert host_vars["ansible_user"] == "prodready-ansible"
    strict, known_hosts = strict_known_hosts_options(host_vars["ansible_ssh_common_args"])
    assert strict == "yes"
    assert known_hosts.endswith("/known_hosts")
    assert "ansible_become" not in host_vars  # the playbooks become; localhost shares all's vars


def molecule_base():
    with open(os.path.join(ROOT, ".config", "molecule", "config.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_molecule_turns_host_key_checking_on_and_checks_the_test_bed_known_hosts():
    base = molecule_base()
    assert base["provisioner"]["config_options"]["defaults"]["host_key_checking"] is True
    strict, known_hosts = strict_known_hosts_options(" ".join(base["driver"]["ssh_connection_options"]))
    assert strict == "yes"
    assert known_hosts.endswith("/known_hosts")
    assert base["provisioner"]["connection_options"]["ansible_become"] is True


def test_inventories_scenarios_and_benchmarks_do_not_use_the_docker_connection():
    # docker exec stays plumbing (create/destroy, fault injection); plays run over SSH, in the
    # Molecule scenarios' playbooks and in the inventories the benchmarks write too.
    paths = glob.glob(os.path.join(ROOT, "inventories", "**", "*.yml"), recursive=True)
    paths += glob.glob(os.path.join(ROOT, "molecule", "**", "*.yml"), recursive=True)
    paths += [path for path in glob.glob(os.path.join(ROOT, "benchmarks", "**", "*"), recursive=True) if os.path.isfile(path)]
    paths.append(os.path.join(ROOT, ".config", "molecule", "config.yml"))
    offenders = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                # The connection plugin, not the modules (community.docker.docker_container).
                if re.search(r"community\.docker\.docker\b", line) and not line.lstrip().startswith("#"):
                    offenders.append(os.path.relpath(path, ROOT))
    assert offenders == []


def load_testbed_connection():
    path = os.path.join(ROOT, "benchmarks", "testbed_connection.py")
    spec = importlib.util.spec_from_file_location("testbed_connection", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmarks_connect_as_the_demo_does():
    connection = load_testbed_connection().connection_vars()
    (doc,) = yaml_documents(os.path.join(ROOT, "inventories", "demo", "hosts.yml"))
    demo_vars = doc["all"]["vars"]
    assert connection["ansible_connection"] == "ssh"
    assert connection["ansible_user"] == demo_vars["ansible_user"]
    assert connection["ansible_ssh_common_args"] == demo_vars["ansible_ssh_common_args"]
    # The variables the connection's values refer to come along (testbed_ssh_dir).
    for name in re.findall(r"\{\{\s*(\w+)\s*\}\}", connection["ansible_ssh_common_args"]):
        assert name in connection
    assert not [name for name in connection if name.startswith("prodready_demo_")]
    assert "ansible_become" not in connection  # all's vars reach the implicit localhost too


def files_matching(pattern, subs):
    """Paths (relative to the checkout) of the text files under subs (folders or files) that match pattern."""
    offenders = []
    for sub in subs:
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
    return offenders


def test_no_scenario_tool_or_benchmark_turns_strict_host_key_checking_off():
    pattern = re.compile(r"StrictHostKeyChecking[= ]\s*(no|off|accept-new)\b", re.IGNORECASE)
    assert files_matching(pattern, ("molecule", "tools", "inventories", "playbooks", "benchmarks")) == []


def test_no_scenario_tool_or_benchmark_turns_it_off_through_the_environment():
    pattern = re.compile(r"ANSIBLE_(SSH_)?HOST_KEY_CHECKING\s*[:=]\s*['\"]?(false|no|off|0)\b", re.IGNORECASE)
    subs = ("molecule", "tools", "benchmarks", "playbooks", "Makefile", "execution-environment.yml")
    assert files_matching(pattern, subs) == []


def test_the_awx_style_runner_turns_host_key_checking_on():
    # ansible-runner sets ANSIBLE_HOST_KEY_CHECKING=False unless the job environment sets it.
    with open(os.path.join(ROOT, "tests", "awx", "runner_check.py"), encoding="utf-8") as handle:
        text = handle.read()
    assert re.search(r"[\"']ANSIBLE_HOST_KEY_CHECKING[\"']\s*:\s*[\"']True[\"']", text)
