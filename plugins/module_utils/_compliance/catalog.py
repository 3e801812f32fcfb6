# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Catalog and waiver validation: every entry is checked (and its ${parameters} filled in) before anything runs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible_collections.prodready.platform.plugins.module_utils._compliance.common import (
    CONDITION_KEYS, CONTROL_ID_RE, CONTROL_KEYS, FRAMEWORKS, SEVERITIES, CatalogError)
from ansible_collections.prodready.platform.plugins.module_utils._compliance import checks_effective, checks_endpoints, checks_files, checks_units

# check type -> (validate(check, where), evaluate(check, probe) -> (ok, evidence)), one module per family
CHECK_TYPES = {}
for _family in (checks_files, checks_effective, checks_units, checks_endpoints):
    CHECK_TYPES.update(_family.CHECK_TYPES)


_PARAM_RE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}\Z")


def _substitute(value, parameters, where, used):
    if isinstance(value, dict):
        return dict((k, _substitute(v, parameters, where, used)) for k, v in value.items())
    if isinstance(value, list):
        out = []
        for item in value:
            new = _substitute(item, parameters, where, used)
            if isinstance(item, str) and _PARAM_RE.match(item) and isinstance(new, list):
                out.extend(new)  # a list parameter spliced into a list
            else:
                out.append(new)
        return out
    if isinstance(value, str):
        match = _PARAM_RE.match(value)
        if match:
            name = match.group(1)
            if name not in parameters:
                raise CatalogError("%s: unknown parameter ${%s}; define it in the audit parameters" % (where, name))
            used.add(name)
            return parameters[name]
    return value


def parameter_names(value):
    """Every ``${name}`` referenced in a control (for catalog tests)."""
    names = set()
    if isinstance(value, dict):
        for item in value.values():
            names |= parameter_names(item)
    elif isinstance(value, list):
        for item in value:
            names |= parameter_names(item)
    elif isinstance(value, str):
        match = _PARAM_RE.match(value)
        if match:
            names.add(match.group(1))
    return names


def _validate_condition(condition, where):
    if not isinstance(condition, dict) or len(condition) != 1:
        raise CatalogError("%s: each applies_when entry must be a mapping with one of %s" % (where, ", ".join(CONDITION_KEYS)))
    key, value = list(condition.items())[0]
    if key not in CONDITION_KEYS:
        raise CatalogError("%s: unknown applies_when condition %r; known: %s" % (where, key, ", ".join(CONDITION_KEYS)))
    if key == "any":
        if not isinstance(value, list) or not value:
            raise CatalogError("%s: applies_when 'any' needs a non-empty list" % where)
        for item in value:
            _validate_condition(item, where)


def validate_control(control, parameters=None, known_ids=None, cis_ids=None):
    """Check one catalog entry and return it with parameters substituted. Raises CatalogError.

    ``cis_ids``: the recommendation ids of the CIS benchmark (a set); when given, every
    ``frameworks.cis_debian12`` reference must be one of them.
    """
    if not isinstance(control, dict):
        raise CatalogError("catalog entry %r is not a mapping" % (control,))
    cid = control.get("id")
    source = " (%s)" % control["source"] if control.get("source") else ""
    if not isinstance(cid, str) or not CONTROL_ID_RE.match(cid):
        raise CatalogError("catalog entry %r%s: 'id' must match %s" % (cid, source, CONTROL_ID_RE.pattern))
    where = "control %s%s" % (cid, source)
    if known_ids is not None:
        if cid in known_ids:
            raise CatalogError("%s: duplicate id" % where)
        known_ids.add(cid)
    unknown = [k for k in control if k not in CONTROL_KEYS]
    if unknown:
        raise CatalogError("%s: unknown key(s) %s; allowed: %s" % (where, ", ".join(sorted(unknown)), ", ".join(CONTROL_KEYS)))
    for key in ("title", "rationale"):
        if not isinstance(control.get(key), str) or not control[key].strip():
            raise CatalogError("%s: '%s' is required" % (where, key))
    if control.get("severity") not in SEVERITIES:
        raise CatalogError("%s: 'severity' must be one of %s, got %r" % (where, ", ".join(SEVERITIES), control.get("severity")))
    frameworks = control.get("frameworks")
    if not isinstance(frameworks, dict) or not frameworks:
        raise CatalogError("%s: 'frameworks' must map at least one framework to requirement ids" % where)
    for name, refs in frameworks.items():
        if name not in FRAMEWORKS:
            raise CatalogError("%s: unknown framework %r; known: %s" % (where, name, ", ".join(sorted(FRAMEWORKS))))
        if not isinstance(refs, list) or not refs or not all(isinstance(r, str) and r for r in refs):
            raise CatalogError("%s: framework %s needs a non-empty list of requirement ids (strings)" % (where, name))
    unknown_cis = [ref for ref in frameworks.get("cis_debian12", []) if cis_ids is not None and ref not in cis_ids]
    if unknown_cis:
        raise CatalogError("%s: unknown %s recommendation id(s) %s; the benchmark reference lists no such id"
                           % (where, FRAMEWORKS["cis_debian12"], ", ".join(unknown_cis)))
    conditions = control.get("applies_when", [])
    if not isinstance(conditions, list):
        raise CatalogError("%s: 'applies_when' must be a list of conditions" % where)
    for condition in conditions:
        _validate_condition(condition, where)
    check = control.get("check")
    if not isinstance(check, dict) or "type" not in check:
        raise CatalogError("%s: 'check' must be a mapping with a 'type'" % where)
    if check["type"] not in CHECK_TYPES:
        raise CatalogError("%s: unknown check type %r; known: %s" % (where, check["type"], ", ".join(sorted(CHECK_TYPES))))
    used = set()
    normalized = dict(control)
    normalized["check"] = _substitute(check, parameters or {}, where, used)
    normalized["applies_when"] = _substitute(conditions, parameters or {}, where, used)
    CHECK_TYPES[check["type"]][0](normalized["check"], where)
    normalized.setdefault("component", "general")
    return normalized


def validate_catalog(controls, parameters=None, cis_ids=None):
    """Every entry validated (see validate_control); ``cis_ids`` None skips the CIS id check."""
    if not isinstance(controls, list) or not controls:
        raise CatalogError("the catalog is empty: give at least one control")
    known = set()
    cis = None if cis_ids is None else set(str(i) for i in cis_ids)
    return [validate_control(c, parameters, known, cis) for c in controls]


def parse_date(value):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return datetime.datetime.strptime(str(value).strip(), "%Y-%m-%d").date()


def validate_waivers(waivers, control_ids):
    """``{control_id: waiver}``; a waiver without reason/expiry or for an unknown control is an error."""
    out = {}
    for index, waiver in enumerate(waivers or []):
        if not isinstance(waiver, dict):
            raise CatalogError("waiver #%d is not a mapping" % (index + 1))
        cid = waiver.get("control")
        where = "waiver #%d for control %s" % (index + 1, cid)
        unknown = [k for k in waiver if k not in ("control", "reason", "expires", "approved_by", "ticket")]
        if unknown:
            raise CatalogError("%s: unknown key(s) %s" % (where, ", ".join(sorted(unknown))))
        if not cid:
            raise CatalogError("waiver #%d: 'control' (the control id) is required" % (index + 1))
        if cid not in control_ids:
            raise CatalogError("%s: no such control in the catalog" % where)
        if not str(waiver.get("reason") or "").strip():
            raise CatalogError("%s: 'reason' is required" % where)
        if not waiver.get("expires"):
            raise CatalogError("%s: 'expires' (YYYY-MM-DD) is required; waivers must not be open-ended" % where)
        try:
            expires = parse_date(waiver["expires"])
        except ValueError:
            raise CatalogError("%s: 'expires' must be a date YYYY-MM-DD, got %r" % (where, waiver["expires"]))
        if cid in out:
            raise CatalogError("%s: the control already has a waiver" % where)
        entry = dict(waiver)
        entry["expires"] = expires.isoformat()
        out[cid] = entry
    return out
