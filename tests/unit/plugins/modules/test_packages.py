# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The packages module against stand-in dpkg-query and apt-get that keep the installed set in a JSON
file and log their calls (the real ones run in every Molecule scenario that installs packages)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
import sys

import pytest
from hypothesis import given, strategies as st

from ansible_collections.prodready.platform.plugins.module_utils._debian import packages as debian
from ansible_collections.prodready.platform.plugins.modules import packages

FAKE_TOOL = r'''#!%s
import json, os, sys
state_file = os.environ["FAKE_DPKG_STATE"]
with open(state_file) as handle:
    state = json.load(handle)
tool = os.path.basename(sys.argv[0])
args = [a for a in sys.argv[1:]]
with open(state_file + ".log", "a") as log:
    log.write(tool + " " + " ".join(a for a in args if not a.startswith("-o") and "::" not in a) + "\n")
if tool == "dpkg-query":
    names = args[args.index("--") + 1:]
    known = False
    for name in names:
        if name in state["installed"]:
            sys.stdout.write("ii  %%s\n" %% name)
        elif name in state.get("available", []):
            sys.stdout.write("un  %%s\n" %% name)
        else:
            sys.stderr.write("dpkg-query: no packages found matching %%s\n" %% name)
            known = True
    sys.exit(1 if known else 0)
# apt-get
if args[0] == "update":
    sys.exit(state.get("update_rc", 0))
names = args[args.index("--") + 1:]
unknown = [n for n in names if n not in state.get("available", [])]
if unknown:
    sys.stderr.write("E: Unable to locate package %%s\n" %% unknown[0])
    sys.exit(100)
deps = state.get("deps", [])
if "--simulate" in args:
    sys.stdout.write("".join("Inst %%s (1.0 Debian:12)\n" %% n for n in names + deps))
    sys.exit(0)
if not state.get("broken"):
    for name in names + deps:
        state["installed"].append(name)
        sys.stdout.write("Setting up %%s (1.0) ...\n" %% name)
with open(state_file, "w") as handle:
    json.dump(state, handle)
''' % sys.executable


@pytest.fixture
def dpkg(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("dpkg-query", "apt-get"):
        fake = bindir / tool
        fake.write_text(FAKE_TOOL)
        fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    state_file = tmp_path / "state.json"
    monkeypatch.setenv("FAKE_DPKG_STATE", str(state_file))
    monkeypatch.setenv("PATH", str(bindir) + os.pathsep + os.environ.get("PATH", ""))

    class Dpkg(object):
        lists_age = 10.0

        def set(self, **state):
            state.setdefault("installed", [])
            state_file.write_text(json.dumps(state))

        def installed(self):
            return json.loads(state_file.read_text())["installed"]

        def calls(self):
            log = tmp_path / "state.json.log"
            return [line.strip() for line in log.read_text().splitlines()] if log.exists() else []

    fixture = Dpkg()
    monkeypatch.setattr(packages, "apt_lists_age", lambda: fixture.lists_age)
    return fixture


def test_installed_packages_cost_one_dpkg_query_and_no_change(dpkg, run_module):
    dpkg.set(installed=["logrotate", "auditd"])
    result = run_module(packages, dict(names=["logrotate", "auditd"]))
    assert result["changed"] is False and result["missing"] == []
    calls = dpkg.calls()
    assert len([c for c in calls if c.startswith("dpkg-query")]) == 1
    assert [c for c in calls if c.startswith("apt-get")] == []


def test_installs_only_the_missing_without_recommends(dpkg, run_module):
    dpkg.set(installed=["logrotate"], available=["logrotate", "auditd"], deps=["libauparse0"])
    result = run_module(packages, dict(names=["logrotate", "auditd"], _ansible_diff=True))
    assert result["changed"] is True and result["missing"] == ["auditd"]
    assert result["installed"] == ["auditd", "libauparse0"]
    assert result["cache_updated"] is False
    install = [c for c in dpkg.calls() if c.startswith("apt-get install")]
    assert install == ["apt-get install --yes --quiet --no-install-recommends -- auditd"]
    assert "auditd" in dpkg.installed()
    assert "auditd" in result["diff"]["after"] and "auditd" not in result["diff"]["before"]


def test_refreshes_absent_or_stale_lists_before_installing(dpkg, run_module):
    dpkg.set(available=["restic"])
    dpkg.lists_age = None
    result = run_module(packages, dict(names=["restic"], install_recommends=True))
    assert result["cache_updated"] is True
    tools = [c.split(" ")[:2] for c in dpkg.calls()]
    assert tools.index(["apt-get", "update"]) < tools.index(["apt-get", "install"])
    assert "--install-recommends" in [c for c in dpkg.calls() if c.startswith("apt-get install")][0]


def test_check_mode_reports_what_it_would_install_and_installs_nothing(dpkg, run_module):
    dpkg.set(available=["auditd"], deps=["libauparse0"])
    result = run_module(packages, dict(names=["auditd"], _ansible_check_mode=True))
    assert result["changed"] is True and result["installed"] == ["auditd", "libauparse0"]
    assert dpkg.installed() == []
    assert not [c for c in dpkg.calls() if c.startswith("apt-get update")]


def test_check_mode_without_package_lists_reports_the_missing_names(dpkg, run_module):
    dpkg.set(available=["auditd"])
    dpkg.lists_age = None
    result = run_module(packages, dict(names=["auditd"], _ansible_check_mode=True))
    assert result["changed"] is True and result["installed"] == ["auditd"] and result["cache_updated"] is True
    assert [c for c in dpkg.calls() if c.startswith("apt-get")] == []


def test_unknown_package_fails_naming_it(dpkg, run_module):
    dpkg.set(available=[])
    result = run_module(packages, dict(names=["no-such-package"]))
    assert result["failed"] and "apt does not know no-such-package" in result["msg"]


def test_failed_update_fails_before_installing(dpkg, run_module):
    dpkg.set(available=["auditd"], update_rc=100)
    dpkg.lists_age = 10 ** 6
    result = run_module(packages, dict(names=["auditd"]))
    assert result["failed"] and "apt-get update failed" in result["msg"]
    assert not [c for c in dpkg.calls() if c.startswith("apt-get install")]


def test_success_that_installed_nothing_is_an_error(dpkg, run_module):
    dpkg.set(available=["auditd"], broken=True)
    result = run_module(packages, dict(names=["auditd"]))
    assert result["failed"] and "is not installed" in result["msg"]


def test_refuses_what_is_not_a_package_name(dpkg, run_module):
    dpkg.set()
    result = run_module(packages, dict(names=["auditd; rm -rf /", "-o"]))
    assert result["failed"] and "not Debian package names" in result["msg"]
    assert dpkg.calls() == []


PACKAGE = st.from_regex(r"\A[a-z0-9][a-z0-9+.-]{1,20}\Z")
STATUS = st.sampled_from(["ii", "un", "rc", "iU", "iF", "hi"])


@given(st.lists(st.tuples(STATUS, PACKAGE, st.sampled_from(["", ":amd64", ":i386"])), max_size=20))
def test_parse_installed_keeps_exactly_the_ii_lines(rows):
    output = "".join("%s %s%s\n" % (status, name, arch) for status, name, arch in rows)
    assert debian.parse_installed(output) == set(name for status, name, _arch in rows if status == "ii")


@given(PACKAGE, st.sampled_from(["", ":amd64"]), st.sampled_from(["", "=1.2-3", "=1:2.0~rc1"]))
def test_base_name_strips_arch_and_version(name, arch, version):
    spec = name + arch + version
    assert debian.PACKAGE_NAME_RE.match(spec)
    assert debian.base_name(spec) == name


def test_apt_lists_age(tmp_path):
    assert debian.apt_lists_age(str(tmp_path / "absent")) is None
    assert debian.apt_lists_age(str(tmp_path)) is None
    lists = tmp_path / "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"
    lists.write_text("")
    os.utime(str(lists), (1000, 1000))
    assert debian.apt_lists_age(str(tmp_path), now=1600) == 600
