# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print how the demo reaches the test bed hosts, as one JSON object (valid YAML too).

The benchmarks that build their own inventory put it under ``all: vars:``, so every benchmark
connects the way ``make demo`` does (inventories/demo/hosts.yml): SSH as the test bed's
automation account, host keys checked against the test bed's known_hosts. The demo's own settings
(``prodready_demo_*``) stay out. Like the collection's playbooks, the benchmarks' plays say
``become: true`` themselves: ``all: vars:`` also reach the implicit localhost, where the controller
has no sudo.

    .venv/bin/python benchmarks/testbed_connection.py
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

import yaml

DEMO_HOSTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "inventories", "demo", "hosts.yml")


def connection_vars(path=DEMO_HOSTS):
    with open(path, encoding="utf-8") as handle:
        demo_vars = yaml.safe_load(handle)["all"]["vars"]
    return {name: value for name, value in demo_vars.items() if not name.startswith("prodready_demo_")}


if __name__ == "__main__":
    json.dump(connection_vars(), sys.stdout)
    sys.stdout.write("\n")
