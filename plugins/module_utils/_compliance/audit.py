# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evaluation of a validated catalog on one host, and the scores."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import time

from ansible_collections.prodready.platform.plugins.module_utils._compliance.catalog import CHECK_TYPES, parse_date, validate_catalog, validate_waivers
from ansible_collections.prodready.platform.plugins.module_utils._compliance.checks_units import systemd_properties
from ansible_collections.prodready.platform.plugins.module_utils._compliance.common import (
    FRAMEWORKS, REPORT_SCHEMA_VERSION, SEVERITIES, SEVERITY_WEIGHTS, STATUSES, CatalogError, CheckError, as_list, short)
from ansible_collections.prodready.platform.plugins.module_utils._compliance.probe import Probe


def _condition_holds(condition, probe, parameters):
    key, value = list(condition.items())[0]
    if key == "any":
        results = [_condition_holds(c, probe, parameters) for c in value]
        return any(r[0] for r in results), " or ".join(r[1] for r in results)
    if key == "package":
        names = as_list(value)
        have = [n for n in names if n in probe.packages()]
        return bool(have), "package %s %s" % ("/".join(names), "installed" if have else "not installed")
    if key == "package_absent":
        has = value in probe.packages()
        return not has, "package %s %s" % (value, "installed" if has else "not installed")
    if key == "path":
        hits = [p for pattern in as_list(value) for p in probe.glob(pattern)]
        return bool(hits), "%s %s" % ("/".join(as_list(value)) or "(no path given)", "exists" if hits else "does not exist")
    if key == "unit":
        loaded = [n for n in as_list(value) if probe.unit(n).get("LoadState") == "loaded"]
        return bool(loaded), "unit %s %s" % ("/".join(as_list(value)), "loaded" if loaded else "not loaded")
    if key == "container":
        inside = bool(probe.container())
        return inside == bool(value), "host %s a container" % ("is" if inside else "is not")
    if key == "metric":
        samples = probe.metrics()[0]
        has = any(s[0] == value for s in samples)
        return has, "metric %s %s" % (value, "exported" if has else "not exported")
    if key == "parameter":
        current = parameters.get(value)
        return bool(current), "parameter %s is %s" % (value, "set" if current else "empty")
    return False, "unknown condition"


def _units_of(control):
    names = []
    check = control["check"]
    if check["type"] in ("service", "systemd", "unit_exposure"):
        names.extend(as_list(check["unit"]))

    def walk(conditions):
        for condition in conditions:
            key, value = list(condition.items())[0]
            if key == "unit":
                names.extend(as_list(value))
            elif key == "any":
                walk(value)
    walk(control.get("applies_when", []))
    return names


def score(results, framework=None):
    """Weighted score (pass + waived over everything evaluated), None when nothing counts."""
    earned = total = 0
    for result in results:
        if framework and framework not in result["frameworks"]:
            continue
        if result["status"] == "not_applicable":
            continue
        weight = SEVERITY_WEIGHTS[result["severity"]]
        total += weight
        if result["status"] in ("pass", "waived"):
            earned += weight
    if total == 0:
        return None
    return round(100.0 * earned / total, 1)


def summarize(results, frameworks):
    summary = {"total": len(results), "score_percent": score(results)}
    for status in STATUSES:
        summary[status] = sum(1 for r in results if r["status"] == status)
    summary["failed_by_severity"] = dict((s, sum(1 for r in results if r["status"] in ("fail", "error")
                                                 and r["severity"] == s)) for s in SEVERITIES)
    per_framework = {}
    for name in frameworks:
        mapped = [r for r in results if name in r["frameworks"]]
        entry = {"title": FRAMEWORKS[name], "score_percent": score(mapped, name), "total": len(mapped)}
        for status in STATUSES:
            entry[status] = sum(1 for r in mapped if r["status"] == status)
        per_framework[name] = entry
    return summary, per_framework


def run_audit(controls, parameters=None, waivers=None, frameworks=None, skip=None, probe=None, today=None,
              cis_ids=None):
    """Validate everything first, then evaluate every control once. Returns a result dict.

    ``cis_ids``: the CIS benchmark's recommendation ids; given, a control citing another id is a CatalogError.
    """
    parameters = dict(parameters or {})
    for name in frameworks or []:
        if name not in FRAMEWORKS:
            raise CatalogError("framework filter %r does not exist; known: %s" % (name, ", ".join(sorted(FRAMEWORKS))))
    catalog = validate_catalog(controls, parameters, cis_ids)
    ids = set(c["id"] for c in catalog)
    for cid in skip or []:
        if cid not in ids:
            raise CatalogError("skip list names control %s, which is not in the catalog" % cid)
    waiver_map = validate_waivers(waivers, ids)
    selected_frameworks = list(frameworks) if frameworks else sorted(FRAMEWORKS)
    selected = [c for c in catalog if c["id"] not in set(skip or [])
                and (not frameworks or any(f in c["frameworks"] for f in frameworks))]
    probe = probe or Probe()
    today = today or datetime.date.today()
    started = time.time()
    units, properties = [], set()
    for control in selected:
        units.extend(_units_of(control))
        if control["check"]["type"] == "systemd":
            properties.update(systemd_properties(control["check"]))
    try:
        probe.prefetch_units(units, properties)  # one systemctl show for every unit and property
    except CheckError:
        pass  # reported per control when a unit is read
    exposure_units = [u for c in selected if c["check"]["type"] == "unit_exposure" for u in as_list(c["check"]["unit"])]
    results = []
    for control in selected:
        begin = time.time()
        status, evidence = "pass", ""
        try:
            applicable, why = True, []
            for condition in control.get("applies_when", []):
                holds, reason = _condition_holds(condition, probe, parameters)
                why.append(reason)
                if not holds:
                    applicable = False
                    break
            if not applicable:
                status, evidence = "not_applicable", "not applicable: " + why[-1]
            else:
                if control["check"]["type"] == "unit_exposure" and exposure_units:
                    probe.prefetch_exposure(exposure_units)
                    exposure_units = []
                ok, evidence = CHECK_TYPES[control["check"]["type"]][1](control["check"], probe)
                status = "pass" if ok else "fail"
        except CheckError as exc:
            status, evidence = "error", str(exc)
        except Exception as exc:  # a bug or an unexpected host state must not hide the other controls
            status, evidence = "error", "%s: %s" % (type(exc).__name__, exc)
        waiver = waiver_map.get(control["id"])
        waiver_state = None
        if waiver:
            expired = parse_date(waiver["expires"]) < today
            waiver_state = "expired" if expired else "active"
            if status in ("fail", "error"):
                if expired:
                    evidence = "waiver expired %s (%s); %s" % (waiver["expires"], waiver["reason"], evidence)
                else:
                    status = "waived"
                    evidence = "waived until %s: %s; finding: %s" % (waiver["expires"], waiver["reason"], evidence)
        result = {
            "id": control["id"],
            "title": control["title"],
            "rationale": control["rationale"],
            "severity": control["severity"],
            "component": control.get("component", "general"),
            "check_type": control["check"]["type"],
            "status": status,
            "evidence": short(evidence),
            "frameworks": control["frameworks"],
            "duration_ms": round((time.time() - begin) * 1000, 1),
        }
        if control.get("remediation"):
            result["remediation"] = control["remediation"]
        if waiver:
            result["waiver"] = {"reason": waiver["reason"], "expires": waiver["expires"], "state": waiver_state}
        results.append(result)
    summary, per_framework = summarize(results, selected_frameworks)
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "controls": results,
        "summary": summary,
        "frameworks": per_framework,
        "container": probe.container(),
        "duration_seconds": round(time.time() - started, 3),
        "probe_timings": probe.timings,
    }
