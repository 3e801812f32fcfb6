# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check types about units and packages: service, package, unit_exposure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prodready.platform.plugins.module_utils._compliance.common import ENABLED_STATES, CatalogError, as_list, as_number, require


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
    "package": (_validate_package, _eval_package),
    "unit_exposure": (_validate_exposure, _eval_exposure),
}
