# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet status (playbooks/status.yml) as a table a person reads at the end of `make demo`."""

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

# Documentation: status_table.yml beside this file.

from ansible.module_utils.six.moves.collections_abc import Mapping, Sequence

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # pragma: no cover - used without Ansible
    AnsibleFilterError = ValueError

# What a listening port is, for the ports the collection's roles open (defaults). Another port is
# shown as its number: the table says what listens, never guesses.
PORT_NAMES = {
    22: "sshd",
    80: "nginx",
    443: "nginx",
    9090: "prometheus",
    9093: "alertmanager",
    9100: "node_exporter",
    9113: "nginx_exporter",
    9115: "blackbox",
    9121: "redis_exporter",
    9187: "postgres_exporter",
    5432: "postgresql",
    6379: "redis",
    19532: "journal-remote",
}
COLUMNS = ("host", "address", "os", "groups", "runs", "health", "compliance", "integrity")
# A query that answers on a fresh Prometheus: every scrape target and whether it is up.
PROMETHEUS_QUERY = "graph?g0.expr=up&g0.tab=1"


def _is_list(value):
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


def _runs(ports, loopback_only, app_ports):
    names = []
    for port in ports:
        name = PORT_NAMES.get(port) or ("app:%d" % port if port in app_ports else str(port))
        # A loopback-only port the table cannot name is a helper of another service (nginx's
        # stub_status, an exporter behind its front) or the container runtime's DNS: not a service.
        if port in loopback_only and port not in PORT_NAMES and port not in app_ports:
            continue
        if name not in names:
            names.append(name)
    return " ".join(names)


def _health(host):
    state = str(host.get("systemd") or "unknown")
    failed = [str(unit).replace(".service", "") for unit in host.get("failed_units") or []]
    parts = ["%s (failed: %s)" % (state, ", ".join(failed)) if failed else state]
    if host.get("backup"):
        parts.append("backup: " + str(host["backup"]))
    return "; ".join(parts)


def _row(host, app_ports):
    score = host.get("compliance_score_percent")
    return {
        "host": str(host["host"]),
        "address": str(host.get("address", "")),
        "os": str(host.get("os", "")),
        "groups": ",".join(host.get("groups") or []) or "-",
        "runs": _runs([int(port) for port in host.get("listening") or []],
                      set(int(port) for port in host.get("loopback_only") or []), app_ports),
        "health": _health(host),
        "compliance": "-" if score is None else "%g %%" % float(score),
        "integrity": str(host.get("integrity") or "-"),
    }


def _urls(hosts, report_dir):
    lines = []
    for host in hosts:
        for url in host.get("urls") or []:
            lines.append("  %s  %s" % (host["host"], url))
            if str(url).startswith("prometheus: "):
                base = str(url).split(" ", 2)[1].rstrip("/")
                lines.append("  %s  prometheus query (every target and whether it is up): %s/%s"
                             % (host["host"], base, PROMETHEUS_QUERY))
    if report_dir:
        lines.append("  compliance reports (HTML, one per host): %s/<host>.html" % str(report_dir).rstrip("/"))
    return lines


def _render(cells, widths):
    # The last column is not padded: no trailing blanks.
    return "  ".join(cells[column].ljust(widths[column]) for column in COLUMNS[:-1]) + "  " + cells[COLUMNS[-1]]


def status_table(hosts, report_dir="", app_ports=None):
    """Lines of text: a table of the hosts (one row each) and, below it, the URLs to open."""
    if not _is_list(hosts) or not all(isinstance(host, Mapping) and "host" in host for host in hosts):
        raise AnsibleFilterError("status_table: expects a list of host summaries, each with a 'host' key "
                                 "(playbooks/status.yml's status_summary)")
    app_ports = set(int(port) for port in (app_ports or []))
    rows = [_row(host, app_ports) for host in sorted(hosts, key=lambda item: str(item["host"]))]
    widths = dict((column, max([len(column)] + [len(row[column]) for row in rows])) for column in COLUMNS)
    lines = [_render(dict((column, column.upper()) for column in COLUMNS), widths)]
    lines.append(_render(dict((column, "-" * widths[column]) for column in COLUMNS), widths))
    lines.extend(_render(row, widths) for row in rows)
    urls = _urls(sorted(hosts, key=lambda item: str(item["host"])), report_dir)
    if urls:
        lines.append("")
        lines.append("Open:")
        lines.extend(urls)
    return lines


class FilterModule(object):
    def filters(self):
        return {"status_table": status_table}
