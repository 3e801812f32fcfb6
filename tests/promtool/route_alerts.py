# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Route every shipped alert through the Alertmanager configuration of
inventories/production.example, with Alertmanager's own router (amtool).

The role renders roles/monitoring/templates/alertmanager.yml.j2 with Ansible; this script does
the same with Ansible's templar, the role's defaults and vars, and the example inventory's
group_vars (all/main.yml, monitoring.yml, and stand-ins for the vault's secrets). Then, for
each alert of the rule files rendered by render_rules.py (RULES_DIR/*.yml), it asks
`amtool config routes test` where an alert with the rule's labels goes: every `critical`
alert must reach the pager receiver (the SLO fast burn, SloErrorBudgetBurn, among them) and
no other severity may. `amtool check-config` validates the file first.

usage: route_alerts.py RULES_DIR OUT_DIR
"""
import glob
import os
import subprocess
import sys

import yaml

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

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


def trusted(value):
    """Role and inventory files hold expressions: Ansible trusts them as templates."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, list):
        return [trusted(item) for item in value]
    if isinstance(value, dict):
        return {key: trusted(item) for key, item in value.items()}
    return value


def load(path):
    with open(path, encoding="utf-8") as handle:
        return trusted(yaml.safe_load(handle) or {})


def render_alertmanager(out_dir):
    variables = {}
    for path in (os.path.join(ROLE, "defaults", "main.yml"), os.path.join(ROLE, "vars", "main.yml"),
                 os.path.join(INVENTORY, "all", "main.yml"), os.path.join(INVENTORY, "monitoring.yml")):
        variables.update(load(path))
    variables.update(VAULT)
    variables.update({"inventory_hostname": "mon1", "ansible_managed": "managed", "groups": {"all": ["mon1"]},
                      "hostvars": {"mon1": {}}})
    with open(os.path.join(ROLE, "templates", "alertmanager.yml.j2"), encoding="utf-8") as handle:
        source = handle.read()
    text = Templar(loader=DataLoader(), variables=variables).template(trust_as_template(source))
    path = os.path.join(out_dir, "alertmanager.yml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
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
