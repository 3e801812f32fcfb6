# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The units module against a stand-in systemctl that keeps unit states in a JSON file and logs its calls."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
import sys

import pytest

from ansible_collections.prodready.platform.plugins.module_utils._systemd import units as units_utils
from ansible_collections.prodready.platform.plugins.modules import units

FAKE_SYSTEMCTL = r'''#!%s
import json, os, sys
state_file = os.environ["FAKE_SYSTEMD_STATE"]
with open(state_file) as handle:
    state = json.load(handle)
with open(state_file + ".log", "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\n")
args = [a for a in sys.argv[1:] if a != "--"]
verb, names = args[0], args[1:]
if verb == "daemon-reload":
    sys.exit(0)
if verb == "show":
    names = names[1:]
    out = []
    for name in names:
        unit = state.get(name, {"LoadState": "not-found", "UnitFileState": "", "ActiveState": "inactive"})
        out.append("Id=%%s\nLoadState=%%s\nUnitFileState=%%s\nActiveState=%%s\n" %% (
            name, unit["LoadState"], unit["UnitFileState"], unit["ActiveState"]))
    sys.stdout.write("\n".join(out))
    sys.exit(0)
for name in names:
    unit = state.setdefault(name, {"LoadState": "not-found", "UnitFileState": "", "ActiveState": "inactive"})
    if unit.get("fail") == verb:
        sys.stderr.write("Job for %%s failed.\n" %% name)
        sys.exit(1)
    if verb == "enable":
        unit["UnitFileState"] = "enabled"
    elif verb == "disable":
        unit["UnitFileState"] = "disabled"
    elif verb == "start":
        unit["ActiveState"] = "active"
    elif verb == "stop":
        unit["ActiveState"] = "inactive"
    elif verb == "mask":
        unit["UnitFileState"] = "masked"
        unit["LoadState"] = "masked"
    elif verb == "unmask":
        unit["UnitFileState"] = "disabled"
        unit["LoadState"] = "loaded"
with open(state_file, "w") as handle:
    json.dump(state, handle)
''' % sys.executable


@pytest.fixture
def systemd(tmp_path, monkeypatch):
    """Returns (set_state, get_state, calls)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "systemctl"
    fake.write_text(FAKE_SYSTEMCTL)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    state_file = tmp_path / "state.json"
    state_file.write_text("{}")
    monkeypatch.setenv("FAKE_SYSTEMD_STATE", str(state_file))
    monkeypatch.setenv("PATH", str(bindir) + os.pathsep + os.environ.get("PATH", ""))

    class Systemd(object):
        def set(self, **units_state):
            state_file.write_text(json.dumps(dict(
                (name.replace("__", "."), dict(zip(("LoadState", "UnitFileState", "ActiveState"), value.split(","))))
                for name, value in units_state.items())))

        def get(self):
            return json.loads(state_file.read_text())

        def calls(self):
            log = tmp_path / "state.json.log"
            return [line for line in log.read_text().splitlines() if not line.startswith("show")] if log.exists() else []

    return Systemd()


def test_batches_one_call_per_verb_and_reports_states(systemd, run_module):
    systemd.set(a__service="loaded,disabled,inactive", b__timer="loaded,enabled,inactive", c__service="loaded,enabled,active")
    result = run_module(units, dict(units=[
        dict(name="a.service", enabled=True, state="started"),
        dict(name="b.timer", enabled=True, state="started"),
        dict(name="c.service", enabled=True, state="started"),
    ]))
    assert result["changed"] is True
    assert systemd.calls() == ["enable -- a.service", "start -- a.service b.timer"]
    assert result["units"]["a.service"]["actions"] == ["enable", "start"]
    assert result["units"]["c.service"]["actions"] == []
    assert result["units"]["b.timer"]["after"] == dict(load_state="loaded", unit_file_state="enabled", active_state="active")


def test_converged_units_report_no_change_and_call_nothing(systemd, run_module):
    systemd.set(a__service="loaded,static,active", b__service="loaded,disabled,inactive")
    result = run_module(units, dict(units=[
        dict(name="a.service", enabled=True, state="started"),
        dict(name="b.service", enabled=False, state="stopped"),
    ]))
    assert result["changed"] is False
    assert systemd.calls() == []


def test_check_mode_predicts_without_acting(systemd, run_module):
    systemd.set(a__service="loaded,disabled,inactive")
    result = run_module(units, dict(units=[dict(name="a.service", enabled=True, state="started")], _ansible_check_mode=True,
                                    _ansible_diff=True))
    assert result["changed"] is True
    assert systemd.calls() == []
    assert result["units"]["a.service"]["after"]["active_state"] == "active"
    assert "active_state=inactive" in result["diff"]["before"] and "active_state=active" in result["diff"]["after"]


def test_mask_stops_first_and_unmask_precedes_enable(systemd, run_module):
    systemd.set(debug__service="loaded,disabled,active", x__service="masked,masked,inactive")
    result = run_module(units, dict(units=[
        dict(name="debug.service", masked=True),
        dict(name="x.service", masked=False, enabled=True, state="started"),
    ]))
    assert systemd.calls() == ["unmask -- x.service", "enable -- x.service", "stop -- debug.service",
                               "mask -- debug.service", "start -- x.service"]
    assert systemd.get()["debug.service"]["UnitFileState"] == "masked"
    assert result["changed"] is True


def test_missing_units_fail_unless_missing_ok_and_masking_needs_none(systemd, run_module):
    systemd.set()
    failed = run_module(units, dict(units=[dict(name="nope.service", state="started")]))
    assert failed["failed"] and "does not know" in failed["msg"]
    result = run_module(units, dict(units=[dict(name="nope.service", state="started", missing_ok=True),
                                           dict(name="ctrl-alt-del.target", masked=True)]))
    assert result["skipped_missing"] == ["nope.service"]
    assert systemd.calls() == ["mask -- ctrl-alt-del.target"]


def test_masked_unit_is_not_silently_enabled(systemd, run_module):
    systemd.set(x__service="masked,masked,inactive")
    result = run_module(units, dict(units=[dict(name="x.service", enabled=True)]))
    assert result["failed"] and "masked: false" in result["msg"]


@pytest.mark.parametrize("want, message", [
    (dict(name="a.service", masked=True, enabled=True), "exclude"),
    (dict(name="a.service", masked=True, state="started"), "cannot be started"),
    (dict(name="-a.service"), "not a unit name"),
])
def test_contradictions_fail_before_any_call(systemd, run_module, want, message):
    result = run_module(units, dict(units=[want]))
    assert result["failed"] and message in result["msg"]
    assert systemd.calls() == []


def test_duplicate_units_are_refused(systemd, run_module):
    result = run_module(units, dict(units=[dict(name="a.service"), dict(name="a.service")]))
    assert result["failed"] and "twice" in result["msg"]


def test_a_failing_start_fails_with_systemctl_message(systemd, run_module):
    systemd.set(a__service="loaded,enabled,inactive")
    state = systemd.get()
    state["a.service"]["fail"] = "start"
    with open(os.environ["FAKE_SYSTEMD_STATE"], "w") as handle:
        json.dump(state, handle)
    result = run_module(units, dict(units=[dict(name="a.service", state="started")]))
    assert result["failed"] and "Job for a.service failed" in result["msg"]


def test_parse_show_keeps_order_and_blocks():
    text = "Id=a.service\nLoadState=loaded\n\nId=b.service\nLoadState=not-found\n"
    assert [b["Id"] for b in units_utils.parse_show(text)] == ["a.service", "b.service"]
    assert units_utils.is_missing(units_utils.parse_show(text)[1])
