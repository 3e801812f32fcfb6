# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The data tier's firewall openings, as the hardening role derives them from the postgresql and redis
roles' declarations: nftables.conf rendered with the role's defaults and vars, as Ansible does. A
database host opens PostgreSQL to the pg_hba networks that may log in and its exporter to the
monitoring hosts; a cache host Redis to its declared clients and its exporter likewise; other hosts
open neither."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

HOSTVARS = {
    "db1": {"ansible_host": "10.0.3.10"},
    "cache1": {"ansible_host": "10.0.3.20"},
    "app1": {"ansible_host": "10.0.1.11"},
    "app2": {"ansible_host": "app2.example", "ansible_facts": {"default_ipv4": {"address": "10.0.1.12"}}},
    "mon1": {"ansible_host": "10.0.9.1"},
}
GROUPS = {"all": sorted(HOSTVARS), "database": ["db1"], "cache": ["cache1"], "app": ["app1", "app2"], "monitoring": ["mon1"]}
HBA = [{"database": "appdb", "user": "app", "networks": ["10.0.1.0/24"]},
       {"database": "all", "user": "all", "networks": ["0.0.0.0/0"], "method": "reject"}]

# Rendered in a fresh interpreter: the templates call the collection's filters by their full names
# (prodready.platform.*), which Ansible's collection loader resolves only when it is set up before
# anything imports ansible_collections (other unit tests in the same process import it directly).
RENDER = r"""
import json, os, sys
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar, trust_as_template
root, host_variables = sys.argv[1], json.loads(sys.stdin.read())
init_plugin_loader([os.path.join(root, "collections")])
sys.path.insert(0, os.path.join(root, "tests", "unit", "roles"))
from role_files import role_variables

variables = role_variables("hardening")
variables.update(host_variables)
with open(os.path.join(root, "roles", "hardening", "templates", "nftables.conf.j2"), encoding="utf-8") as handle:
    print(Templar(loader=DataLoader(), variables=variables).template(trust_as_template(handle.read())))
"""


def input_chain(host, **inventory):
    """The input chain's TCP rules other than SSH's, from the rendered nftables.conf."""
    variables = {
        "inventory_hostname": host,
        "group_names": sorted(group for group, hosts in GROUPS.items() if host in hosts and group != "all"),
        "groups": GROUPS,
        "hostvars": HOSTVARS,
        "ansible_managed": "managed",
        "hardening_ssh_ports": [22],
        "hardening_firewall_ssh_sources": ["10.0.0.0/8"],
    }
    variables.update(inventory)
    rendered = subprocess.run([sys.executable, "-c", RENDER, ROOT], input=json.dumps(variables), capture_output=True,
                              text=True, check=False)
    assert rendered.returncode == 0, rendered.stderr[-3000:]
    chain = rendered.stdout.split("chain input {", 1)[1].split("chain forward", 1)[0]
    return [line.strip() for line in chain.splitlines() if re.match(r"\s*tcp dport", line) and " 22 " not in line]


def test_a_database_host_opens_postgresql_to_pg_hba_and_its_exporter_to_monitoring():
    assert input_chain("db1", postgresql_hba=HBA) == [
        "tcp dport { 9100, 9187 } ip saddr @monitoring_sources_v4 accept",
        "tcp dport { 9100, 9187 } ip6 saddr @monitoring_sources_v6 accept",
        'tcp dport { 5432 } ip saddr { 10.0.1.0/24 } accept comment "opening postgresql"',
    ]


def test_a_cache_host_opens_redis_to_its_declared_clients_and_its_exporter_to_monitoring():
    assert input_chain("cache1", redis_port="6380", redis_client_sources=["192.0.2.0/28"], redis_client_groups=["app"]) == [
        "tcp dport { 9100, 9121 } ip saddr @monitoring_sources_v4 accept",
        "tcp dport { 9100, 9121 } ip6 saddr @monitoring_sources_v6 accept",
        'tcp dport { 6380 } ip saddr { 192.0.2.0/28, 10.0.1.11/32, 10.0.1.12/32 } accept comment "opening redis"',
    ]


def test_other_hosts_open_nothing_of_the_data_tier():
    assert input_chain("app1", postgresql_hba=HBA, redis_client_sources=["192.0.2.0/28"]) == [
        "tcp dport { 9100 } ip saddr @monitoring_sources_v4 accept",
        "tcp dport { 9100 } ip6 saddr @monitoring_sources_v6 accept",
    ]


def test_a_database_host_without_clients_opens_its_port_to_nobody():
    assert input_chain("db1")[2:] == []


def test_the_roles_switches_are_followed_and_the_users_openings_come_after():
    chain = input_chain("db1", postgresql_hba=HBA, postgresql_exporter_enabled="false",
                        hardening_firewall_openings=[{"name": "app-api", "tcp_ports": [8080], "groups": ["app"]}])
    assert chain == [
        "tcp dport { 9100 } ip saddr @monitoring_sources_v4 accept",
        "tcp dport { 9100 } ip6 saddr @monitoring_sources_v6 accept",
        'tcp dport { 5432 } ip saddr { 10.0.1.0/24 } accept comment "opening postgresql"',
        'tcp dport { 8080 } ip saddr { 10.0.1.11/32, 10.0.1.12/32 } accept comment "opening app-api"',
    ]
    assert input_chain("db1", postgresql_hba=HBA, hardening_firewall_data_tier_enabled="false")[2:] == []
