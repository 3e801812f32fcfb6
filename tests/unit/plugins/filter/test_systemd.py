# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible.errors import AnsibleFilterError
from ansible_collections.prodready.platform.plugins.filter.systemd import (
    FilterModule,
    systemd_units,
    systemd_units_pending,
)

# Real output of `systemctl show --property=Id,UnitFileState,ActiveState -- a b c` (Debian 12):
# properties come in systemd's order, not the order asked for; an unknown unit still has a block.
SHOW = """ActiveState=active
Id=nginx.service
UnitFileState=enabled

ActiveState=inactive
Id=prodready-backup.timer
UnitFileState=disabled

ActiveState=inactive
Id=missing.service
UnitFileState=

ActiveState=active
Id=systemd-journald.service
UnitFileState=static
"""


def test_parses_one_dict_per_unit():
    units = systemd_units(SHOW)
    assert sorted(units) == ["missing.service", "nginx.service", "prodready-backup.timer", "systemd-journald.service"]
    assert units["nginx.service"] == {"Id": "nginx.service", "UnitFileState": "enabled", "ActiveState": "active"}
    assert units["missing.service"]["UnitFileState"] == ""


def test_pending_lists():
    units = systemd_units(SHOW)
    assert systemd_units_pending(units, "enabled") == ["missing.service", "prodready-backup.timer"]
    assert systemd_units_pending(units, "active") == ["missing.service", "prodready-backup.timer"]
    assert systemd_units_pending(units, "disabled") == ["nginx.service", "systemd-journald.service"]
    assert systemd_units_pending(units, "inactive") == ["nginx.service", "systemd-journald.service"]


def test_values_with_equals_signs_and_missing_trailing_newline():
    units = systemd_units("Id=a.service\nExecStart=/bin/x --opt=1\nActiveState=activating")
    assert units == {"a.service": {"Id": "a.service", "ExecStart": "/bin/x --opt=1", "ActiveState": "activating"}}
    assert systemd_units_pending(units, "active") == []


def test_blocks_without_id_are_ignored_and_empty_input():
    assert systemd_units("ActiveState=active\n\n") == {}
    assert systemd_units("") == {}
    assert systemd_units(None) == {}


def test_errors():
    with pytest.raises(AnsibleFilterError):
        systemd_units(["Id=a"])
    with pytest.raises(AnsibleFilterError):
        systemd_units_pending({}, "started")
    with pytest.raises(AnsibleFilterError):
        systemd_units_pending("Id=a", "active")


_name = st.from_regex(r"[a-z][a-z0-9@_-]{0,20}\.(service|timer|socket)", fullmatch=True)
_state = st.sampled_from(["enabled", "disabled", "static", "masked", "generated", "alias", "indirect", ""])
_active = st.sampled_from(["active", "inactive", "failed", "activating", "deactivating", "reloading"])


@given(st.dictionaries(_name, st.tuples(_state, _active), max_size=8))
def test_round_trip_and_partition(spec):
    text = "\n\n".join("ActiveState=%s\nId=%s\nUnitFileState=%s" % (active, name, state) for name, (state, active) in spec.items())
    units = systemd_units(text)
    assert set(units) == set(spec)
    for name, (state, active) in spec.items():
        assert units[name]["UnitFileState"] == state and units[name]["ActiveState"] == active
    # Every unit is in exactly one of enabled-pending / disabled-pending, and of active / inactive.
    assert sorted(systemd_units_pending(units, "enabled") + systemd_units_pending(units, "disabled")) == sorted(spec)
    assert sorted(systemd_units_pending(units, "active") + systemd_units_pending(units, "inactive")) == sorted(spec)


def test_filter_module_exports():
    assert set(FilterModule().filters()) == {"systemd_units", "systemd_units_pending"}
