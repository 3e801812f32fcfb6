# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state of systemd units as `systemctl show` reports it, and what it takes to reach a wanted state.

Used by the ``units`` module, which acts on it. Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

SHOW_PROPERTIES = ("Id", "LoadState", "UnitFileState", "ActiveState")

# UnitFileState values for which `systemctl is-enabled` exits 0: the unit starts at boot, or needs
# no enabling (static, generated, transient units).
ENABLED_STATES = frozenset(("enabled", "enabled-runtime", "static", "generated", "alias", "indirect", "transient"))
# UnitFileState values `systemctl disable` changes; static, generated or indirect units have nothing to disable.
DISABLEABLE_STATES = frozenset(("enabled", "enabled-runtime", "alias"))
MASKED_STATES = frozenset(("masked", "masked-runtime"))
# A unit starting or reloading counts as running: starting it again would only wait for the job.
ACTIVE_STATES = frozenset(("active", "activating", "reloading"))

# Order of the batched systemctl calls: unmask before enabling, stop before masking, start last.
ACTION_ORDER = ("unmask", "disable", "enable", "stop", "mask", "start")


def parse_show(text):
    """The blocks of `systemctl show` output, in order, each a dict of property to value.

    systemctl separates units with an empty line and prints them in the order they were asked for.
    """
    blocks = []
    properties = {}
    for line in (text or "").splitlines() + [""]:
        line = line.strip()
        if not line:
            if properties:
                blocks.append(properties)
            properties = {}
            continue
        key, sep, value = line.partition("=")
        if sep:
            properties[key] = value
    return blocks


def is_enabled(state):
    return state.get("UnitFileState", "") in ENABLED_STATES


def is_active(state):
    return state.get("ActiveState", "") in ACTIVE_STATES


def is_masked(state):
    return state.get("UnitFileState", "") in MASKED_STATES or state.get("LoadState", "") == "masked"


def is_missing(state):
    return state.get("LoadState", "") == "not-found"


def validate_want(want):
    """Problems with one wanted unit state (a dict with name, enabled, state, masked, missing_ok)."""
    problems = []
    name = want.get("name") or ""
    if not name or any(ch.isspace() for ch in name) or name.startswith("-"):
        problems.append("unit name %r is not a unit name" % name)
    if want.get("masked"):
        if want.get("enabled"):
            problems.append("%s: masked and enabled exclude each other" % name)
        if want.get("state") == "started":
            problems.append("%s: a masked unit cannot be started" % name)
    return problems


def plan_actions(want, state):
    """The systemctl verbs that bring a unit from `state` (a `systemctl show` block) to `want`.

    `want` keys: enabled (True/False/None), state ('started'/'stopped'/None), masked (True/False/None).
    Returns (actions, predicted state after them).
    """
    actions = []
    after = dict(state)
    masked = is_masked(state)
    if want.get("masked") is True:
        if want.get("state") == "stopped" or want.get("state") is None:
            if is_active(state):
                actions.append("stop")
                after["ActiveState"] = "inactive"
        if not masked:
            actions.append("mask")
            after["UnitFileState"] = "masked"
            after["LoadState"] = "masked"
        return actions, after
    if want.get("masked") is False and masked:
        actions.append("unmask")
        after["UnitFileState"] = "disabled"
        after["LoadState"] = "loaded"
        masked = False
    if want.get("enabled") is True and not is_enabled(after):
        actions.append("enable")
        after["UnitFileState"] = "enabled"
    elif want.get("enabled") is False and after.get("UnitFileState", "") in DISABLEABLE_STATES:
        actions.append("disable")
        after["UnitFileState"] = "disabled"
    if want.get("state") == "started" and not is_active(after):
        actions.append("start")
        after["ActiveState"] = "active"
    elif want.get("state") == "stopped" and is_active(after):
        actions.append("stop")
        after["ActiveState"] = "inactive"
    return actions, after


def summary(state):
    """The part of a unit's state the units module reports and diffs."""
    return {
        "load_state": state.get("LoadState", ""),
        "unit_file_state": state.get("UnitFileState", ""),
        "active_state": state.get("ActiveState", ""),
    }
