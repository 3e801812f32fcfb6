# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Route every shipped alert through the Alertmanager configuration of
inventories/production.example, with Alertmanager's own router (amtool).

The role's template roles/monitoring/templates/alertmanager.yml.j2 is rendered by Ansible's
template module (`ansible localhost -m ansible.builtin.template`) with the role's defaults and
vars and the example inventory's group_vars (all/main.yml, monitoring.yml, and stand-ins for
the vault's secrets). Then, for each alert of the rule files rendered by render_rules.py
(RULES_DIR/*.yml), `amtool config routes test` says where an alert with the rule's labels
goes: every `critical` alert must reach the pager receiver (the SLO fast burn,
SloErrorBudgetBurn, among them) and no other severity may. `amtool check-config` validates the
file first.

usage: route_alerts.py RULES_DIR OUT_DIR
"""
import glob
import json
import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(ROOT, "roles", "monitoring")
INVENTORY = os.path.join(ROOT, "inventories", "production.example", "group_vars")
PAGER = "pager"
# Stand-ins for group_vars/all/vault.yml (the example ships empty values; Alertmanager
# refuses a webhook or Slack receiver without its URL).
VAULT = {
    "vault_pager_webhook_url": "https://pager.example.invalid/hook",
    "vault_slack_webhook_url": "https://hooks.slack.example.invalid/services/T0/B0/X",
    "vault_smtp_password": "stand-in",
    "vault_exporters_basic_auth_password": "stand-in",
}


def render_alertmanager(out_dir):
    vault = os.path.join(out_dir, "vault.json")
    with open(vault, "w", encoding="utf-8") as handle:
        json.dump(VAULT, handle)
    path = os.path.join(out_dir, "alertmanager.yml")
    command = [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=" + sys.executable,
               "-m", "ansible.builtin.template",
               "-a", "src=%s dest=%s" % (os.path.join(ROLE, "templates", "alertmanager.yml.j2"), path)]
    # Later files win, in the order of a play's precedence: role defaults < inventory group_vars
    # (all, then the group) < role vars.
    for source in (os.path.join(ROLE, "defaults", "main.yml"), os.path.join(INVENTORY, "all", "main.yml"), vault,
                   os.path.join(INVENTORY, "monitoring.yml"), os.path.join(ROLE, "vars", "main.yml")):
        command += ["-e", "@" + source]
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise SystemExit("rendering alertmanager.yml failed:\n" + result.stdout + result.stderr)
    return path


def shipped_alerts(rules_dir):
    """(alertname, static labels) of every alerting rule, as the rendered rule files define them."""
    alerts = []
    for path in sorted(glob.glob(os.path.join(rules_dir, "*.yml"))):
        with open(path, encoding="utf-8") as handle:
            for group in yaml.safe_load(handle)["groups"]:
                for rule in group["rules"]:
                    if "alert" in rule:
                        alerts.append((rule["alert"], dict(rule.get("labels") or {})))
    return alerts


def receivers(config, labels):
    argv = ["amtool", "config", "routes", "test", "--config.file=" + config]
    argv += ["%s=%s" % item for item in sorted(labels.items())]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit("amtool failed for %s: %s" % (labels, result.stderr.strip()))
    return result.stdout.strip().split(",")


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: route_alerts.py RULES_DIR OUT_DIR\n")
        return 2
    config = render_alertmanager(argv[2])
    subprocess.run(["amtool", "check-config", config], check=True, stdout=subprocess.DEVNULL)
    alerts = shipped_alerts(argv[1])
    wrong = []
    checked = set()
    for name, labels in alerts:
        labels = dict(labels, alertname=name)
        key = tuple(sorted(labels.items()))
        if key in checked:
            continue
        checked.add(key)
        got = receivers(config, labels)
        pages = PAGER in got
        if pages != (labels.get("severity") == "critical"):
            wrong.append("%s -> %s" % (labels, ",".join(got)))
    slo_pages = [labels for name, labels in alerts if name == "SloErrorBudgetBurn" and labels.get("severity") == "critical"]
    if not slo_pages:
        wrong.append("no critical SloErrorBudgetBurn rule: the SLO fast burn would not page")
    if wrong:
        sys.stderr.write("production.example routes these alerts wrongly (critical must reach %r, nothing else):\n  %s\n"
                         % (PAGER, "\n  ".join(wrong)))
        return 1
    print("routed %d alert label sets through production.example's Alertmanager: critical ones (%d SLO fast-burn rules "
          "among them) reach %r, the others do not" % (len(checked), len(slo_pages), PAGER))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
