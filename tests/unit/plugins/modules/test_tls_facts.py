# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tls_facts: which packages are missing, as dpkg reports them, and which schedules the host's
systemd refuses; it never changes anything."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shutil

import pytest

from ansible_collections.prodready.platform.plugins.module_utils._observability import host
from ansible_collections.prodready.platform.plugins.modules import tls_facts


def _no_command(argv):
    raise AssertionError("no command expected, got %r" % (argv,))


def test_tls_facts_reports_missing_packages(monkeypatch):
    monkeypatch.setattr(host, "installed_packages", lambda names: ["nginx", "openssl"])
    facts = tls_facts.read({"packages": ["nginx", "dehydrated", "openssl", "curl"], "calendars": []}, _no_command)
    assert facts == {"packages_missing": ["dehydrated", "curl"], "bad_calendars": []}


def test_tls_facts_names_the_schedule_systemd_refuses(monkeypatch):
    monkeypatch.setattr(host, "installed_packages", list)
    calls = []

    def runner(argv):
        calls.append(argv)
        return 1, "", "Failed to parse calendar specification 'every tuesday': Invalid argument\n"

    facts = tls_facts.read({"packages": [], "calendars": ["daily", "every tuesday"]}, runner)
    assert calls == [["systemd-analyze", "calendar", "--", "daily", "every tuesday"]]
    assert [bad["calendar"] for bad in facts["bad_calendars"]] == ["every tuesday"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_tls_facts_asks_the_real_systemd(monkeypatch):
    import subprocess

    def runner(argv):
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        return done.returncode, done.stdout, done.stderr

    monkeypatch.setattr(host, "installed_packages", list)
    facts = tls_facts.read({"packages": [], "calendars": ["*-*-* 03,15:00:00", "hourly", "every tuesday"]}, runner)
    assert [bad["calendar"] for bad in facts["bad_calendars"]] == ["every tuesday"]
