# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check types about units and packages: service, systemd (unit state and properties), package, unit_exposure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.prodready.platform.plugins.module_utils._compliance.common import ENABLED_STATES, CatalogError, as_list, as_number, require
from ansible_collections.prodready.platform.plugins.module_utils._compliance.compare import compare, validate_comparator


# service: enabled / active state of a unit (any of several alternatives)
def _validate_service(check, where):
    require(check, where, "unit")
    if "enabled" not in check and "active" not in check:
        raise CatalogError("%s: service check needs 'enabled' and/or 'active'" % where)


def _service_units(check):
    return as_list(check["unit"])


def _eval_service(check, probe):
    states = []
    check = dict(check)
    note = ""
    if check.get("active_outside_container_only") and probe.container() and "active" in check:
        del check["active"]  # e.g. auditd: enabled everywhere, running only where the kernel lets it
        note = " (active state not required in a container)"
        if "enabled" not in check:
            return True, "container: active state not required"
    for name in _service_units(check):
        props = probe.unit(name)
        enabled = props.get("UnitFileState", "") in ENABLED_STATES
        active = props.get("ActiveState") == "active"
        ok = True
        if "enabled" in check and bool(check["enabled"]) != enabled:
            ok = False
        if "active" in check and bool(check["active"]) != active:
            ok = False
        states.append((ok, "%s load=%s enabled=%s active=%s" % (
            name, props.get("LoadState", "?"), props.get("UnitFileState", "") or "-", props.get("ActiveState", "?"))))
    good = [s for ok, s in states if ok]
    if good:
        return True, good[0] + note
    return False, "; ".join(text for _ok, text in states) + " (wanted%s%s)" % (
        " enabled=%s" % check["enabled"] if "enabled" in check else "",
        " active=%s" % check["active"] if "active" in check else "")


# systemd: what `systemctl show` reports for each listed unit — systemd's own merge of the unit
# file, its drop-ins (/etc, /run, /usr/lib ...) and `systemctl edit`/mask overrides — so a drop-in
# that weakens a unit is judged, not the packaged file. State (enabled, active, masked) and any
# property (ProtectSystem, NoNewPrivileges, ...) compared with `expect` comparators.
SYSTEMD_STATES = ("enabled", "active", "masked")
SYSTEMD_SOURCES = ("FragmentPath", "DropInPaths")
_PROPERTY_RE = re.compile(r"^[A-Z][A-Za-z0-9]*\Z")


def _validate_systemd(check, where):
    require(check, where, "unit")
    properties = check.get("properties", {})
    if not isinstance(properties, dict):
        raise CatalogError("%s: systemd 'properties' must map property names to comparisons" % where)
    if not properties and not any(key in check for key in SYSTEMD_STATES):
        raise CatalogError("%s: systemd check needs 'enabled', 'active', 'masked' and/or 'properties'" % where)
    for key in SYSTEMD_STATES + ("absent_ok",):
        if key in check and not isinstance(check[key], bool):
            raise CatalogError("%s: systemd '%s' must be true or false, got %r" % (where, key, check[key]))
    for name, spec in properties.items():
        if not isinstance(name, str) or not _PROPERTY_RE.match(name):
            raise CatalogError("%s: systemd property %r is not a systemctl show property name such as ProtectSystem"
                               % (where, name))
        validate_comparator(spec, "%s (property %s)" % (where, name))


def systemd_properties(check):
    """The properties a systemd check reads beyond the unit state (one systemctl show for all)."""
    return sorted(check.get("properties") or {}) + list(SYSTEMD_SOURCES)


def _unit_source(props):
    drop_ins = props.get("DropInPaths", "").split()
    return "%s%s" % (props.get("FragmentPath") or "no unit file", " + " + ", ".join(drop_ins) if drop_ins else "")


def _eval_systemd_unit(check, props):
    load, file_state = props.get("LoadState", ""), props.get("UnitFileState", "")
    state = {"masked": load == "masked" or file_state.startswith("masked"),
             "enabled": file_state in ENABLED_STATES, "active": props.get("ActiveState") == "active"}
    problems = ["%s=%s, wanted %s" % (key, str(state[key]).lower(), str(check[key]).lower())
                for key in SYSTEMD_STATES if key in check and check[key] != state[key]]
    shown = []
    for name, spec in sorted((check.get("properties") or {}).items()):
        value = props.get(name)
        good, why = compare(value if value != "" else None, spec)
        shown.append("%s=%s" % (name, value if value else "(unset)"))
        if not good:
            problems.append("%s %s" % (name, why))
    summary = "enabled=%s active=%s%s" % (file_state or "-", props.get("ActiveState", "?"),
                                          " masked" if state["masked"] else "")
    return problems, "%s%s (%s)" % (summary, "; " + " ".join(shown) if shown else "", _unit_source(props))


def _unused_instance(name, props):
    """An instance of a template unit that the host does not have: systemd loads any instance name
    of an installed template (postgresql@17-main.service on a host with only the 15 cluster), so
    one that is not enabled, not running, not masked and has no drop-in of its own is absent."""
    template, _at, instance = name.partition("@")
    if not template or not instance or instance.startswith("."):
        return False
    file_state = props.get("UnitFileState", "")
    own_drop_ins = [path for path in props.get("DropInPaths", "").split() if "/%s.d/" % name in path]
    return (props.get("LoadState") == "loaded" and props.get("ActiveState") == "inactive"
            and file_state not in ENABLED_STATES and not file_state.startswith("masked") and not own_drop_ins)


def _eval_systemd(check, probe):
    ok, evidence = True, []
    for name in as_list(check["unit"]):
        props = probe.unit(name, systemd_properties(check))
        if props.get("LoadState") == "not-found":
            allowed = bool(check.get("absent_ok"))
            ok = ok and allowed
            evidence.append("%s not found%s" % (name, " (allowed: absent_ok)" if allowed else ""))
            continue
        if check.get("absent_ok") and _unused_instance(name, props):
            evidence.append("%s only an instance name of %s, neither enabled nor running (allowed: absent_ok)"
                            % (name, props.get("FragmentPath") or "its template"))
            continue
        problems, text = _eval_systemd_unit(check, props)
        ok = ok and not problems
        evidence.append("%s %s%s" % (name, text, ": " + "; ".join(problems) if problems else ""))
    return ok, "; ".join(evidence)


# package: present / absent (all listed names)
def _validate_package(check, where):
    require(check, where, "name")
    if check.get("state", "present") not in ("present", "absent"):
        raise CatalogError("%s: package 'state' must be present or absent" % where)


def _eval_package(check, probe):
    installed = probe.packages()
    names = as_list(check["name"])
    if check.get("state", "present") == "present":
        missing = [n for n in names if n not in installed]
        if missing:
            return False, "not installed: %s" % ", ".join(missing)
        return True, ", ".join("%s %s" % (n, installed[n]) for n in names)
    present = [n for n in names if n in installed]
    if present:
        return False, "installed: %s" % ", ".join("%s %s" % (n, installed[n]) for n in present)
    return True, "none installed: %s" % ", ".join(names)


# unit_exposure: `systemd-analyze security` overall exposure <= max for every listed unit
def _validate_exposure(check, where):
    require(check, where, "unit", "max")
    if as_number(check["max"]) is None:
        raise CatalogError("%s: unit_exposure 'max' must be a number" % where)


def _eval_exposure(check, probe):
    results, ok = [], True
    units = as_list(check["unit"])
    probe.prefetch_exposure(units)
    for name in units:
        if probe.unit(name).get("LoadState") != "loaded":
            results.append("%s not loaded" % name)
            ok = False
            continue
        level = probe.exposure(name)
        if level > float(check["max"]):
            ok = False
            results.append("%s exposure %.1f > %s" % (name, level, check["max"]))
        else:
            results.append("%s exposure %.1f <= %s" % (name, level, check["max"]))
    return ok, "; ".join(results)


CHECK_TYPES = {
    "service": (_validate_service, _eval_service),
    "systemd": (_validate_systemd, _eval_systemd),
    "package": (_validate_package, _eval_package),
    "unit_exposure": (_validate_exposure, _eval_exposure),
}
