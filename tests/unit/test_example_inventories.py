# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reference inventories of inventories/examples/ (issue 25) as Ansible reads them.

Each loads with ansible-inventory; host names and test-bed addresses are unique across every
inventory of the repository, and an example's addresses are used by nothing else (scenarios,
benchmarks, tests); every variable a host gets that a role owns (by its name's prefix) is one of
that role's argument_specs options and, templated as the roles see it, passes the option's spec
(type, choices, sub-options); every other variable of an example's own files is an inventory
helper named after the example; the README names every variable of the example's own files;
site.yml passes --syntax-check with the example.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
EXAMPLES_DIR = os.path.join(ROOT, "inventories", "examples")
EXAMPLES = ["analytics-app", "certificate-service", "compliance-ledger", "logistics-api", "provenance-ledger"]
ROLES = sorted(os.listdir(os.path.join(ROOT, "roles")))
ROLE_PREFIX = re.compile(r"^(%s)_" % "|".join(ROLES))
# Inventory variables no role owns: the connection, the test bed's, the demo's shared values.
NON_ROLE_PREFIXES = ("ansible_", "testbed_", "prodready_demo_")
ADDRESS = re.compile(r"172\.30\.100\.(\d{1,3})\b")
# Address literals elsewhere in the repository that are not a host's (networks, the gateway).
SCANNED_DIRS = ("benchmarks", "molecule", "tests", "tools", "inventories", "docs", "roles", "playbooks")


def env():
    environment = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"), ANSIBLE_NOCOLOR="1")
    environment.pop("ANSIBLE_CONFIG", None)
    return environment


def run(*argv, **kwargs):
    result = subprocess.run(argv, cwd=ROOT, env=env(), capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, "%s failed:\n%s\n%s" % (" ".join(argv), result.stdout[-3000:], result.stderr[-3000:])
    return result.stdout


def inventory(path):
    return json.loads(run(os.path.join(BIN, "ansible-inventory"), "-i", path, "--list"))


def all_inventories():
    paths = [os.path.join(ROOT, "inventories", name) for name in ("demo", "demo-single", "production.example")]
    return paths + [os.path.join(EXAMPLES_DIR, name) for name in EXAMPLES]


def own_files(example):
    """The example's own group_vars files (the 00-testbed.yml links are inventories/demo's)."""
    found = []
    for directory, dummy, files in os.walk(os.path.join(EXAMPLES_DIR, example, "group_vars")):
        for name in sorted(files):
            path = os.path.join(directory, name)
            if name.endswith(".yml") and not os.path.islink(path):
                found.append(path)
    return sorted(found)


def own_variables(example):
    names = set()
    for path in own_files(example):
        with open(path, encoding="utf-8") as handle:
            names.update(yaml.safe_load(handle) or {})
    return names


def role_options():
    """role -> {option: spec}: the main entry point's options, then the other entry points' (first wins)."""
    options = {}
    for role in ROLES:
        spec_file = os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")
        if not os.path.exists(spec_file):
            continue
        with open(spec_file, encoding="utf-8") as handle:
            specs = yaml.safe_load(handle)["argument_specs"]
        merged = {}
        for entry in ["main"] + sorted(name for name in specs if name != "main"):
            for name, spec in ((specs.get(entry) or {}).get("options") or {}).items():
                merged.setdefault(name, spec)
        options[role] = merged
    return options


def test_the_five_examples_exist():
    found = sorted(name for name in os.listdir(EXAMPLES_DIR) if os.path.exists(os.path.join(EXAMPLES_DIR, name, "hosts.yml")))
    assert found == EXAMPLES


def test_host_names_and_addresses_are_unique_across_inventories():
    owner_of_name, owner_of_address = {}, {}
    for path in all_inventories():
        label = os.path.relpath(path, ROOT)
        for host, hostvars in inventory(path)["_meta"]["hostvars"].items():
            assert host not in owner_of_name, "%s is a host of %s and of %s" % (host, owner_of_name.get(host), label)
            owner_of_name[host] = label
            address = hostvars.get("testbed_ip")
            if address is not None:
                assert address not in owner_of_address, "%s: %s of %s is also %s" % (label, address, host, owner_of_address[address])
                owner_of_address[address] = "%s of %s" % (host, label)
    for example in EXAMPLES:
        hosts = [host for host, label in owner_of_name.items() if label.endswith("/" + example)]
        assert 2 <= len(hosts) <= 4, "%s: keep an example small (2-4 hosts), it has %s" % (example, hosts)


def test_example_addresses_are_used_by_nothing_else():
    """Fixed addresses live in the lower half of the test network (Docker hands out .128-.254), the
    benchmarks count up from .100; no file outside the example names one of its addresses."""
    examples = {}
    for example in EXAMPLES:
        for host, hostvars in inventory(os.path.join(EXAMPLES_DIR, example))["_meta"]["hostvars"].items():
            last = int(ADDRESS.fullmatch(hostvars["testbed_ip"]).group(1))
            assert 2 <= last < 100, "%s: %s is outside .2-.99 (gateway, benchmarks, Docker's range)" % (host, hostvars["testbed_ip"])
            examples[last] = example
    for top in SCANNED_DIRS:
        for directory, dummy, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                path = os.path.join(directory, name)
                if os.path.islink(path):
                    continue
                try:
                    with open(path, encoding="utf-8") as handle:
                        text = handle.read()
                except (UnicodeDecodeError, OSError):
                    continue
                for match in ADDRESS.finditer(text):
                    owner = examples.get(int(match.group(1)))
                    if owner is not None:
                        assert path.startswith(os.path.join(EXAMPLES_DIR, owner) + os.sep), (
                            "%s names %s, an address of inventories/examples/%s" % (os.path.relpath(path, ROOT), match.group(0), owner))


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_variable_is_an_option_of_the_role_that_owns_it(example, tmp_path):
    """Templated on the controller as the roles get them (a playbook that connects nowhere)."""
    options = role_options()
    run(os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(EXAMPLES_DIR, example),
        os.path.join(ROOT, "tests", "unit", "files", "render_role_variables.yml"),
        "-e", "ansible_connection=local", "-e", "render_dir=%s" % tmp_path, "-e", "render_prefixes=%s" % ROLE_PREFIX.pattern)
    rendered = sorted(tmp_path.glob("*.json"))
    assert len(rendered) >= 2
    problems = []
    for host_file in rendered:
        variables = json.loads(host_file.read_text())
        for name, value in sorted(variables.items()):
            role = ROLE_PREFIX.match(name).group(1)
            spec = options.get(role, {}).get(name)
            if spec is None:
                problems.append("%s: %s is no option of the %s role" % (host_file.stem, name, role))
                continue
            result = ArgumentSpecValidator({name: spec}).validate({name: value})
            problems.extend("%s: %s" % (host_file.stem, error) for error in result.error_messages)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("example", EXAMPLES)
def test_other_variables_are_the_examples_own_helpers(example):
    helper = example.replace("-", "_") + "_"
    strays = sorted(name for name in own_variables(example)
                    if not ROLE_PREFIX.match(name) and not name.startswith(NON_ROLE_PREFIXES + (helper,)))
    assert not strays, "%s: variables no role owns must start with %s: %s" % (example, helper, strays)


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_readme_names_every_variable_of_the_example(example):
    with open(os.path.join(EXAMPLES_DIR, example, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    missing = sorted(name for name in own_variables(example) if "`%s`" % name not in readme and "`%s:" % name not in readme)
    assert not missing, "%s/README.md does not name %s" % (example, missing)
    for section in ("## Requirements", "## What the collection does not do"):
        assert section in readme, "%s/README.md lacks %r" % (example, section)
    assert "inventories/demo" in readme, "%s/README.md does not say which files it shares with inventories/demo" % example


@pytest.mark.parametrize("example", EXAMPLES)
def test_site_yml_syntax_with_the_example(example):
    run(os.path.join(BIN, "ansible-playbook"), "--syntax-check", "-i", os.path.join(EXAMPLES_DIR, example), "site.yml")


def test_make_demo_refuses_an_unknown_example():
    result = subprocess.run(["make", "-n", "demo", "EXAMPLE=no-such-system"], cwd=ROOT, env=env(),
                            capture_output=True, text=True, check=False)
    assert result.returncode != 0
    for example in EXAMPLES:
        assert example in result.stderr, result.stderr


def test_make_demo_passes_the_example_inventory():
    output = run("make", "-n", "demo", "EXAMPLE=provenance-ledger")
    assert "DEMO_INVENTORY=inventories/examples/provenance-ledger" in output


@pytest.mark.parametrize("example", ["analytics-app", "logistics-api"])
def test_postgresql_certificates_come_from_the_tls_ca_on_the_controller(example, tmp_path):
    """No CA key on a guarded host: the tls role's CA is on the controller, PostgreSQL's certificate
    comes from that CA (same directory; postgresql_tls_ca_host left to its default, which follows
    tls_internal_ca_host and is the controller on a host outside the web group), and the probes read
    its certificate there."""
    data = inventory(os.path.join(EXAMPLES_DIR, example))
    run(os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(EXAMPLES_DIR, example),
        os.path.join(ROOT, "tests", "unit", "files", "render_role_variables.yml"),
        "-e", "ansible_connection=local", "-e", "render_dir=%s" % tmp_path,
        "-e", "render_prefixes=^(tls_internal_ca_|postgresql_tls_|monitoring_blackbox_ca_)")
    rendered = dict((path.stem, json.loads(path.read_text())) for path in tmp_path.glob("*.json"))
    web = [rendered[host] for host in data["web"]["hosts"]]
    databases = [rendered[host] for host in data["database"]["hosts"]]
    assert web and databases
    assert all(host.get("tls_internal_ca_host", "localhost") == "localhost" for host in web)
    ca_dirs = set(host["tls_internal_ca_dir"] for host in web)
    assert len(ca_dirs) == 1
    for host in databases:
        assert "postgresql_tls_ca_host" not in host and host.get("tls_internal_ca_host", "localhost") == "localhost"
        assert host["postgresql_tls_source"] == "internal_ca" and host["postgresql_tls_ca_dir"] in ca_dirs
    for host in data["monitoring"]["hosts"]:
        assert rendered[host]["monitoring_blackbox_ca_from_host"] == "localhost"
