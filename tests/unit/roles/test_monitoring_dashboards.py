# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The monitoring role's dashboards and alert rules only use metrics we export.

"Exported" means listed in docs/monitoring.md (the textfile contract and the application,
probe and exporter metrics tables). Dashboards must be valid Grafana JSON with a query per
panel; the rule templates are rendered with the role defaults as tools/promtool-tests.sh does.
"""
import glob
import importlib.util
import json
import os
import re

import pytest
import yaml

from ansible_collections.prodready.platform.plugins.module_utils import textfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DASHBOARDS = sorted(glob.glob(os.path.join(ROOT, "roles", "monitoring", "files", "dashboards", "*.json")))
DOC = os.path.join(ROOT, "docs", "monitoring.md")

PROMQL_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
                   "offset", "bool", "inf", "nan"}


def promql_metrics(expr):
    """Metric names used by a PromQL expression (functions, labels, keywords, durations and
    Grafana variables removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)          # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)                  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)                 # range selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)                # Grafana variables
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in PROMQL_KEYWORDS:
            continue
        names.add(name)
    return names


def documented_metrics():
    with open(DOC) as handle:
        rows = [line for line in handle if line.startswith("| `")]
    return {re.match(r"\| `([^`]+)`", row).group(1) for row in rows}


def dashboard_queries(path):
    with open(path) as handle:
        board = json.load(handle)
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]


def rendered_rules(tmp_path):
    spec = importlib.util.spec_from_file_location("render_rules", os.path.join(ROOT, "tests", "promtool", "render_rules.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.render(str(tmp_path))
    for path in sorted(glob.glob(os.path.join(str(tmp_path), "rules", "*.yml"))):
        with open(path) as handle:
            for group in yaml.safe_load(handle)["groups"]:
                for rule in group["rules"]:
                    yield rule.get("alert") or rule.get("record"), rule["expr"]


@pytest.mark.parametrize("expr,expected", [
    ('up{job="node"} == 0', {"up"}),
    ('100 * (1 - avg by (host) (rate(node_cpu_seconds_total{mode="idle", host=~"$host"}[$__rate_interval])))',
     {"node_cpu_seconds_total"}),
    ("histogram_quantile(0.95, sum by (host, le) (rate(x_bucket[5m]))) > 0.5", {"x_bucket"}),
    ("a - a offset 1d <= -5 or b unless on (job, instance) c", {"a", "b", "c"}),
    ('ALERTS{alertstate="firing"}', {"ALERTS"}),
    ("(probe_ssl_earliest_cert_expiry - time()) / 86400", {"probe_ssl_earliest_cert_expiry"}),
])
def test_promql_metrics_extracts_names(expr, expected):
    assert promql_metrics(expr) == expected


def test_three_dashboards_with_unique_uids():
    uids = []
    for path in DASHBOARDS:
        with open(path) as handle:
            board = json.load(handle)
        assert board["title"] and board["panels"], path
        assert {v["name"] for v in board["templating"]["list"]} >= {"datasource", "host"}, path
        uids.append(board["uid"])
    assert len(DASHBOARDS) == 3
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize("path", DASHBOARDS, ids=os.path.basename)
def test_every_panel_queries_documented_metrics(path):
    known = documented_metrics()
    with open(path) as handle:
        board = json.load(handle)
    for panel in board["panels"]:
        assert panel.get("targets"), "panel %r has no query" % panel["title"]
    for title, expr in dashboard_queries(path):
        used = promql_metrics(expr)
        assert used, "panel %r query uses no metric: %s" % (title, expr)
        assert used <= known, "panel %r uses undocumented metrics %s" % (title, sorted(used - known))


def test_every_alert_uses_documented_metrics(tmp_path):
    known = documented_metrics()
    rules = list(rendered_rules(tmp_path))
    assert len(rules) >= 14
    for name, expr in rules:
        if re.fullmatch(r"vector\([0-9.]+\)", expr.strip()):
            continue  # prodready-expected.yml: constants recorded per host from the inventory
        used = promql_metrics(expr)
        assert used and used <= known, "%s uses undocumented metrics %s" % (name, sorted(used - known))


def test_contract_metric_names_are_valid():
    for name in documented_metrics():
        textfile.validate_metric_name(name)
    assert {"prodready_backup_last_success_timestamp_seconds", "prodready_backup_last_run_status",
            "prodready_backup_interval_seconds", "prodready_tls_certificate_expiry_seconds",
            "prodready_integrity_violations", "prodready_integrity_last_run_timestamp_seconds",
            "prodready_compliance_score_percent"} <= documented_metrics()
