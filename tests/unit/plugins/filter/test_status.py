"""status_table: the end of `make demo` as a table and the URLs to open."""
import pytest

from ansible_collections.prodready.platform.plugins.filter.status import status_table

WEB = {"host": "demo-web1", "address": "172.30.100.10", "os": "Debian 12.15", "systemd": "running",
       "groups": ["web"], "listening": [22, 80, 443, 9100, 9113],
       "urls": ["https://demo-web1/ (curl --resolve ...)", "node_exporter: http://172.30.100.10:9100/metrics (basic auth)"],
       "integrity": "0 violation(s), last check 0.6 min ago", "compliance_score_percent": 100.0}
MON = {"host": "demo-mon1", "address": "172.30.100.20", "os": "Debian 12.15", "systemd": "degraded",
       "failed_units": ["acct.service", "auditd.service"],
       "groups": ["monitoring"], "listening": [22, 9090, 9093, 9100, 9115, 34367, 40001],
       "loopback_only": [9090, 9093, 40001],
       "urls": ["prometheus: http://127.0.0.1:9090/ on the host only (tunnel)",
                "alertmanager: http://127.0.0.1:9093/ on the host only (tunnel)"]}
APP = {"host": "demo-app1", "address": "172.30.100.11", "os": "Debian 13.8", "systemd": "running",
       "groups": ["app", "backup"], "listening": [22, 8080, 9100], "urls": [],
       "backup": "last run ok, last success 2.0 min ago", "compliance_score_percent": 97.5}


def test_one_row_per_host_sorted_with_what_runs_health_score_and_integrity():
    lines = status_table([WEB, MON, APP], report_dir="/work/reports/compliance/", app_ports=[8080])
    header, rule = lines[0], lines[1]
    assert header.split() == ["HOST", "ADDRESS", "OS", "GROUPS", "RUNS", "HEALTH", "COMPLIANCE", "INTEGRITY"]
    assert set(rule.replace(" ", "")) == {"-"}
    rows = lines[2:5]
    assert [row.split()[0] for row in rows] == ["demo-app1", "demo-mon1", "demo-web1"]
    app, mon, web = rows
    assert "sshd app:8080 node_exporter" in app
    assert "running; backup: last run ok, last success 2.0 min ago" in app
    assert "97.5 %" in app and app.rstrip().endswith("-")
    # Named loopback services stay (Prometheus, Alertmanager); an unnamed loopback port is a helper.
    assert "sshd prometheus alertmanager node_exporter blackbox 34367 " in mon and "40001" not in mon
    assert "degraded (failed: acct, auditd)" in mon
    assert "sshd nginx node_exporter nginx_exporter" in web
    assert web.endswith("0 violation(s), last check 0.6 min ago") and "100 %" in web
    # Columns line up: every row's second column starts where the header's does.
    column = header.index("ADDRESS")
    assert all(row[column - 2:column] == "  " and row[column] != " " for row in rows)
    assert all(line == line.rstrip() for line in lines)


def test_the_data_tier_and_the_log_receiver_are_named():
    database = {"host": "demo-db1", "address": "172.30.100.13", "os": "Debian 12.15", "systemd": "running",
                "groups": ["backup", "cache", "database"], "listening": [22, 5432, 6379, 9100, 9121, 9187],
                "loopback_only": [], "urls": []}
    receiver = dict(MON, listening=[22, 9090, 9093, 9100, 19532])
    rows = status_table([database, receiver])[2:4]
    assert "sshd postgresql redis node_exporter redis_exporter postgres_exporter" in rows[0]
    assert "backup,cache,database" in rows[0]
    assert "alertmanager node_exporter journal-remote" in rows[1]


def test_the_urls_to_open_include_a_working_prometheus_query_and_the_reports():
    lines = status_table([MON, WEB], report_dir="/work/reports/compliance/")
    opened = lines[lines.index("Open:") + 1:]
    assert "  demo-mon1  prometheus: http://127.0.0.1:9090/ on the host only (tunnel)" in opened
    assert ("  demo-mon1  prometheus query (every target and whether it is up): "
            "http://127.0.0.1:9090/graph?g0.expr=up&g0.tab=1") in opened
    assert any(line.startswith("  demo-web1  https://demo-web1/") for line in opened)
    assert opened[-1] == "  compliance reports (HTML, one per host): /work/reports/compliance/<host>.html"


def test_without_urls_or_reports_there_is_no_open_section():
    lines = status_table([dict(APP, urls=[])])
    assert "Open:" not in lines and len(lines) == 3


@pytest.mark.parametrize("bad", [None, "demo-web1", [{"address": "1.2.3.4"}], ["demo-web1"]])
def test_input_that_is_not_a_list_of_summaries_is_refused(bad):
    with pytest.raises(Exception, match="status_table: expects a list of host summaries"):
        status_table(bad)
