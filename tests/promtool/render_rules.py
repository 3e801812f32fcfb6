# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render the monitoring role's rule templates with its defaults, for promtool.

The role renders roles/monitoring/templates/rules/*.yml.j2 with Ansible ([[ ]] as variable
delimiters so Prometheus' own {{ }} templates stay literal). This script does the same with
plain Jinja2, the values in roles/monitoring/defaults/main.yml and the small fixed inventory
below (INVENTORY), writes the results to OUT_DIR/rules/, and checks that every alert has at
least one promtool test that expects it to fire (tests/promtool/*.yml, exp_alerts non-empty).
"""
import glob
import json
import os
import sys

import jinja2
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(ROOT, "roles", "monitoring")

# What Ansible gives every template from the inventory, for the rules that read it
# (prodready-expected.yml: which hosts must export integrity and backup metrics). The tests
# in tests/promtool/ rely on it: host-a overrides the integrity check's maximum age, host-b
# keeps the default and is the only backup host; any other host is not expected.
INVENTORY = {
    "groups": {"all": ["host-a", "host-b"], "backup": ["host-b"]},
    "hostvars": {"host-a": {"integrity_check_max_age_seconds": 120}, "host-b": {}},
}

# A second SLO next to the role's default (the demo app's metrics): an app without /metrics,
# measured by its blackbox probes (tests/promtool/slo_test.yml).
EXTRA_SLOS = [{"name": "static-site", "source": "probe", "objective": 99.5, "latency_threshold_seconds": 1}]


def comment(text):
    return "\n".join("# " + line for line in str(text).splitlines())


def render(out_dir):
    with open(os.path.join(ROLE, "defaults", "main.yml")) as handle:
        variables = yaml.safe_load(handle)
    variables.update(INVENTORY)
    variables["monitoring_slos"] = variables["monitoring_slos"] + EXTRA_SLOS
    variables["ansible_managed"] = "Rendered by tests/promtool/render_rules.py for promtool"
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(os.path.join(ROLE, "templates", "rules")),
        variable_start_string="[[",
        variable_end_string="]]",
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,  # as the role's template lookup
    )
    env.filters["comment"] = comment
    env.filters["to_json"] = json.dumps
    os.makedirs(os.path.join(out_dir, "rules"), exist_ok=True)
    alerts = set()
    for path in sorted(glob.glob(os.path.join(ROLE, "templates", "rules", "*.yml.j2"))):
        name = os.path.basename(path)[: -len(".j2")]
        text = env.get_template(os.path.basename(path)).render(**variables)
        with open(os.path.join(out_dir, "rules", name), "w") as handle:
            handle.write(text)
        for group in yaml.safe_load(text)["groups"]:
            alerts.update(rule["alert"] for rule in group["rules"] if "alert" in rule)
    return alerts


def tested_alerts(test_dir):
    fired = set()
    for path in glob.glob(os.path.join(test_dir, "*.yml")):
        with open(path) as handle:
            doc = yaml.safe_load(handle)
        for test in doc.get("tests", []):
            for case in test.get("alert_rule_test", []):
                if case.get("exp_alerts"):
                    fired.add(case["alertname"])
    return fired


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: render_rules.py OUT_DIR\n")
        return 2
    alerts = render(argv[1])
    untested = sorted(alerts - tested_alerts(os.path.dirname(os.path.abspath(__file__))))
    if untested:
        sys.stderr.write("alerts without a promtool test that fires them: %s\n" % ", ".join(untested))
        return 1
    print("rendered %d alerts, each fired by a promtool test" % len(alerts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
