# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Constants, errors and small helpers shared by the compliance engine's modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

REPORT_SCHEMA_VERSION = "1.0"

STATUSES = ("pass", "fail", "error", "not_applicable", "waived")
SEVERITIES = ("critical", "high", "medium", "low", "info")
# Score weights: a failed critical control costs ten low ones; info controls are reported only.
SEVERITY_WEIGHTS = {"critical": 10, "high": 5, "medium": 3, "low": 1, "info": 0}
FRAMEWORKS = {
    "cis_debian12": "CIS Debian Linux 12 Benchmark v1.1.0",
    "gdpr": "EU GDPR (Regulation 2016/679)",
    "soc2": "SOC 2 Trust Services Criteria (2017, rev. 2022)",
    "pci_dss_4": "PCI DSS v4.0",
    "nist_800_53": "NIST SP 800-53 Rev. 5",
}
CONTROL_ID_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]*\Z")
CONTROL_KEYS = ("id", "title", "rationale", "severity", "component", "applies_when", "check", "frameworks", "source",
                "remediation")
CONDITION_KEYS = ("package", "package_absent", "path", "unit", "container", "metric", "parameter", "any")
COMPARATOR_KEYS = ("equals", "not_equals", "in", "not_in", "min", "max", "regex", "not_regex", "items_exclude",
                   "items_include", "min_seconds", "max_seconds", "present")
EVIDENCE_MAX = 600
CONTAINER_TYPES = ("docker", "podman", "lxc", "lxc-libvirt", "container", "systemd-nspawn", "openvz", "wsl")
ENABLED_STATES = ("enabled", "enabled-runtime", "alias", "static", "generated", "indirect")
TLS_VERSIONS = {
    "TLSv1": "TLSv1", "TLSv1.0": "TLSv1", "TLSv1.1": "TLSv1_1", "TLSv1.2": "TLSv1_2", "TLSv1.3": "TLSv1_3",
}


class CatalogError(ValueError):
    """A catalog entry, waiver, parameter or filter that cannot be evaluated; names the entry."""


class CheckError(Exception):
    """A check could not be evaluated on this host (status ``error``)."""


def short(text, limit=EVIDENCE_MAX):
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def as_number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def require(check, where, *keys):
    # An empty list is allowed: it comes from a list parameter (e.g. no service units deployed)
    # and the control's applies_when decides whether it is evaluated at all.
    for key in keys:
        if key not in check or check[key] is None or check[key] == "":
            raise CatalogError("%s: check type %s needs '%s'" % (where, check.get("type"), key))


def as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def octal_mode(value, where, key):
    try:
        mode = int(str(value), 8)
    except ValueError:
        raise CatalogError("%s: '%s' must be an octal mode string such as \"0644\", got %r" % (where, key, value))
    if mode < 0 or mode > 0o7777:
        raise CatalogError("%s: '%s' out of range: %r" % (where, key, value))
    return mode
