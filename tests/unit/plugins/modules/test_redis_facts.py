# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""redis_facts: packages, the exporter's basic auth option and missing TLS source files, read only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ansible_collections.prodready.platform.plugins.modules import redis_facts
from ansible_collections.prodready.platform.plugins.module_utils._observability import host

HELP_145 = """Usage of prometheus-redis-exporter:
  -redis.addr string
  -tls-server-cert-file string
"""
HELP_BASIC_AUTH = HELP_145 + """  -basic-auth-password string
  -basic-auth-username string
"""


def write_script(path, text, rc=2):
    with open(path, "w") as handle:
        handle.write("#!/bin/sh\ncat >&2 <<'EOF'\n%sEOF\nexit %d\n" % (text, rc))
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)


def test_exporter_without_basic_auth_and_missing_files(tmp_path, monkeypatch):
    exporter = tmp_path / "exporter"
    write_script(str(exporter), HELP_145)
    cert = tmp_path / "redis.crt"
    cert.write_text("PEM")
    monkeypatch.setattr(host, "installed_packages", lambda names: ["redis-server"])
    result = redis_facts.read({"packages": ["redis-server", "prometheus-redis-exporter"],
                               "exporter_binary": str(exporter),
                               "files": [str(cert), str(tmp_path / "redis.key"), str(tmp_path)]})
    assert result["packages_missing"] == ["prometheus-redis-exporter"]
    assert result["exporter"] == {"present": True, "help_rc": 2, "basic_auth": False}
    assert result["files_missing"] == [str(tmp_path / "redis.key"), str(tmp_path)]


def test_exporter_with_basic_auth(tmp_path, monkeypatch):
    exporter = tmp_path / "exporter"
    write_script(str(exporter), HELP_BASIC_AUTH, rc=0)
    monkeypatch.setattr(host, "installed_packages", list)
    result = redis_facts.read({"packages": ["redis-server"], "exporter_binary": str(exporter), "files": []})
    assert result == {"packages_missing": [], "exporter": {"present": True, "help_rc": 0, "basic_auth": True},
                      "files_missing": []}


def test_absent_exporter(tmp_path, monkeypatch):
    monkeypatch.setattr(host, "installed_packages", lambda names: [])
    result = redis_facts.read({"packages": [], "exporter_binary": str(tmp_path / "none"), "files": []})
    assert result["exporter"] == {"present": False, "help_rc": None, "basic_auth": False}
