# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""exporters_facts and monitoring_facts: what they read from --help texts, password files and dpkg, never changing anything."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ansible_collections.prodready.platform.plugins.modules import exporters_facts
from ansible_collections.prodready.platform.plugins.module_utils._observability import host

NODE_HELP = """usage: node_exporter [<flags>]
      --[no-]collector.arp       Enable the arp collector (default: enabled).
      --[no-]collector.systemd   Enable the systemd collector (default: disabled).
      --collector.textfile.directory="/var/lib/prometheus/node-exporter"
      --[no-]collector.textfile  Enable the textfile collector (default: enabled).
"""
OLD_NODE_HELP = """      --collector.zfs            Enable the zfs collector (default: enabled).
      --collector.ntp \n"""
HASH = "$2b$10$" + "a" * 53


def write_script(path, text, rc=0):
    with open(path, "w") as handle:
        handle.write("#!/bin/sh\ncat >&2 <<'EOF'\n%sEOF\nexit %d\n" % (text, rc))
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)


def test_collectors_from_both_help_styles_once_each():
    assert exporters_facts.collectors(NODE_HELP + NODE_HELP) == ["arp", "systemd", "textfile"]
    assert exporters_facts.collectors(OLD_NODE_HELP) == ["zfs", "ntp"]


def test_bcrypt_hashes_from_existing_files_only(tmp_path):
    web = tmp_path / "web.yml"
    web.write_text('basic_auth_users:\n  "prometheus": "%s"\n' % HASH)
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text("prometheus:%s\n" % HASH)
    assert exporters_facts.bcrypt_hashes([str(web), str(htpasswd), str(tmp_path / "missing")]) == [HASH]


def test_read_reports_binaries_and_missing_packages(tmp_path, monkeypatch):
    node = tmp_path / "node_exporter"
    nginx = tmp_path / "nginx_exporter"
    write_script(str(node), NODE_HELP)
    write_script(str(nginx), "  -web.secured-metrics\n", rc=2)
    monkeypatch.setattr(host, "installed_packages", lambda names: ["prometheus-node-exporter"])
    result = exporters_facts.read({
        "packages": ["prometheus-node-exporter", "prometheus-nginx-exporter"],
        "node_binary": str(node), "nginx_exporter_binary": str(nginx),
        "nginx_binary": str(tmp_path / "nginx"), "bcrypt_files": [],
    })
    assert result["packages_missing"] == ["prometheus-nginx-exporter"]
    assert result["node_exporter"] == {"present": True, "help_rc": 0, "collectors": ["arp", "systemd", "textfile"]}
    assert result["nginx_exporter"] == {"present": True, "help_rc": 2, "web_config_file": False}
    assert result["nginx_installed"] is False
    assert result["bcrypt_hashes"] == []


def test_absent_binaries_are_not_run(tmp_path, monkeypatch):
    monkeypatch.setattr(host, "installed_packages", lambda names: [])
    result = exporters_facts.read({"packages": [], "node_binary": str(tmp_path / "none"), "nginx_exporter_binary": None,
                                   "nginx_binary": "/nonexistent/nginx", "bcrypt_files": []})
    assert result["node_exporter"] == {"present": False, "help_rc": None, "collectors": []}
    assert result["nginx_exporter"]["present"] is False


def test_installed_packages_asks_dpkg_for_the_names(monkeypatch):
    seen = []

    def fake_run(argv, merge_stderr=True, timeout=30):
        seen.append(argv)
        return 1, "ii  nginx\nrc  foo\n"

    monkeypatch.setattr(host, "run", fake_run)
    assert host.installed_packages(["nginx", "foo", ""]) == ["nginx"]
    assert seen[0][-2:] == ["nginx", "foo"]
    assert host.installed_packages([]) == []


def test_monitoring_facts_reports_missing_packages_and_promtool(tmp_path, monkeypatch):
    from ansible_collections.prodready.platform.plugins.modules import monitoring_facts

    promtool = tmp_path / "promtool"
    write_script(str(promtool), "")
    monkeypatch.setattr(host, "installed_packages", lambda names: ["prometheus"])
    result = monitoring_facts.read({"packages": ["prometheus", "prometheus-alertmanager"], "promtool": str(promtool)})
    assert result == {"packages_missing": ["prometheus-alertmanager"], "promtool": True}
    assert monitoring_facts.read({"packages": [], "promtool": str(tmp_path / "none")})["promtool"] is False
