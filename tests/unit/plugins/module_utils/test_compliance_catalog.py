"""The shipped catalog (roles/compliance/files/catalog/*.yml) loads and every entry is valid."""
import glob
import os
import re

import pytest
import yaml

from ansible_collections.prodready.platform.plugins.module_utils._compliance import catalog
from ansible_collections.prodready.platform.plugins.module_utils._compliance import common

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
CATALOG_DIR = os.path.join(ROOT, "roles", "compliance", "files", "catalog")
VARS = os.path.join(ROOT, "roles", "compliance", "vars", "main.yml")

REF_FORMATS = {
    "cis_debian12": r"^\d+(\.\d+)+$",
    "gdpr": r"^Art\. \d+(\(\d+\))?(\([a-z]\))?$",
    "soc2": r"^(CC\d\.\d|A1\.\d|C1\.\d|PI1\.\d)$",
    "pci_dss_4": r"^\d+(\.\d+)*$",
    "nist_800_53": r"^[A-Z]{2}-\d+(\(\d+\))?$",
}


def load():
    controls = []
    for path in sorted(glob.glob(os.path.join(CATALOG_DIR, "*.yml"))):
        with open(path) as handle:
            data = yaml.safe_load(handle)
        assert isinstance(data, dict) and list(data) == ["controls"], path
        for entry in data["controls"]:
            controls.append(entry)
    return controls


def dummy_parameters():
    """The role's parameter defaults; templated ones get a value of the right kind."""
    with open(VARS) as handle:
        defaults = yaml.safe_load(handle)["compliance_audit_parameter_defaults"]
    params = {}
    for name, value in defaults.items():
        if isinstance(value, str) and "{{" in value:
            value = [] if name.endswith(("_units", "_files")) else (1 if re.search(r"(seconds|days|port)$", name) else "x")
        params[name] = value
    return params


def test_catalog_has_at_least_80_valid_controls():
    controls = load()
    normalized = catalog.validate_catalog(controls, dummy_parameters())
    assert len(normalized) >= 80


def test_every_parameter_the_catalog_uses_is_defined_by_the_role():
    used = set()
    for entry in load():
        used |= catalog.parameter_names(entry)
    missing = used - set(dummy_parameters())
    assert not missing, "parameters used by the catalog but missing in roles/compliance/vars/main.yml: %s" % sorted(missing)


def test_every_framework_reference_is_well_formed():
    bad = []
    for entry in load():
        for framework, refs in entry["frameworks"].items():
            bad.extend("%s %s %r" % (entry["id"], framework, ref) for ref in refs if not re.match(REF_FORMATS[framework], ref))
    assert not bad


def test_every_framework_and_component_is_covered():
    controls = load()
    for framework in common.FRAMEWORKS:
        assert sum(1 for e in controls if framework in e["frameworks"]) >= 10, framework
    components = set(e["component"] for e in controls)
    assert {"hardening", "tls", "service", "exporters", "backup", "integrity", "compliance"} <= components
    check_types = set(e["check"]["type"] for e in controls)
    assert check_types == set(catalog.CHECK_TYPES), set(catalog.CHECK_TYPES) - check_types


def test_retention_and_audit_trail_controls_exist():
    ids = dict((e["id"], e) for e in load())
    assert "Art. 5(1)(e)" in ids["LOG-004"]["frameworks"]["gdpr"]
    assert ids["RET-001"]["check"]["expect"]["min"] == "${audit_min_retention_days}"


PREFIXES = ("SSH", "SYS", "MOD", "ACC", "PERM", "LOG", "AUD", "RET", "UPD", "FW", "TLS", "EXP", "SRV", "BAK", "INT", "FS")


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(CATALOG_DIR, "*.yml"))))
def test_ids_use_an_area_prefix_and_a_number(path):
    with open(path) as handle:
        ids = [e["id"] for e in yaml.safe_load(handle)["controls"]]
    bad = [i for i in ids if not re.match(r"^(%s)-\d{3}$" % "|".join(PREFIXES), i)]
    assert not bad, "%s: ids must look like AREA-NNN: %s" % (os.path.basename(path), bad)
