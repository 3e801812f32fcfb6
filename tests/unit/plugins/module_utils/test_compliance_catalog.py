"""The shipped catalog (roles/compliance/files/catalog/*.yml) loads and every entry is valid: its check
types, its CIS ids (against roles/compliance/files/cis/debian12.yml once it exists) and the shipped waivers."""
import glob
import os
import re

import pytest
import yaml

from ansible.errors import AnsibleActionFail

from ansible_collections.prodready.platform.plugins.action.compliance_audit import load_cis_reference
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


PREFIXES = ("SSH", "SYS", "MOD", "ACC", "PERM", "LOG", "AUD", "RET", "UPD", "FW", "TLS", "EXP", "SRV", "BAK", "INT", "FS",
            # cis_*.yml (CIS Debian 12 coverage)
            "CFS", "CAA", "CBAN", "CSVC", "CTIM", "CCRON", "CNET", "CFW", "CSUDO", "CPAM", "CACC", "CLOG", "CPERM",
            # postgresql.yml, redis.yml
            "PG", "RED")


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(CATALOG_DIR, "*.yml"))))
def test_ids_use_an_area_prefix_and_a_number(path):
    with open(path) as handle:
        ids = [e["id"] for e in yaml.safe_load(handle)["controls"]]
    bad = [i for i in ids if not re.match(r"^(%s)-\d{3}$" % "|".join(PREFIXES), i)]
    assert not bad, "%s: ids must look like AREA-NNN: %s" % (os.path.basename(path), bad)


# ----------------------------------------------------------------------------- bad input fails make check

CIS_REFERENCE = os.path.join(ROOT, "roles", "compliance", "files", "cis", "debian12.yml")
CIS_SAMPLE = """\
benchmark: CIS Debian Linux 12 Benchmark v1.1.0
recommendations:
  - {id: "1.1.1.1", title: "Ensure cramfs kernel module is not available", level: 1, profiles: [server, workstation], assessment: automated}
  - {id: "5.1.20", title: "Ensure sshd PermitRootLogin is disabled", level: 1, profiles: [server, workstation], assessment: automated}
"""


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(CATALOG_DIR, "*.yml"))))
def test_every_catalog_file_validates_on_its_own_with_the_benchmark_ids(path):
    """Each file alone: an unknown check type or CIS id names its control and file here, in make check."""
    with open(path) as handle:
        controls = [dict(entry, source=os.path.basename(path)) for entry in yaml.safe_load(handle)["controls"]]
    cis_ids = None
    if os.path.exists(CIS_REFERENCE):  # written by the CIS coverage work; until then the form is checked above
        cis_ids = load_cis_reference(CIS_REFERENCE)
    catalog.validate_catalog(controls, dummy_parameters(), cis_ids=cis_ids)


def test_the_cis_reference_loader_refuses_what_it_cannot_use(tmp_path):
    sample = tmp_path / "debian12.yml"
    sample.write_text(CIS_SAMPLE)
    assert load_cis_reference(str(sample)) == ["1.1.1.1", "5.1.20"]
    for text, message in [
        ("benchmark: CIS Debian Linux 12 Benchmark v1.1.0\nrecommendations: []\n", "non-empty list"),
        ("benchmark: CIS Debian Linux 11 Benchmark v2.0.0\nrecommendations: [{id: '1.1'}]\n", "is for"),
        ("recommendations: [{id: 1.1}]\n", "ids as strings"),
    ]:
        sample.write_text(text)
        with pytest.raises(AnsibleActionFail, match=message):
            load_cis_reference(str(sample))
    with pytest.raises(AnsibleActionFail, match="cannot read the CIS benchmark reference"):
        load_cis_reference(str(tmp_path / "missing.yml"))


def test_waivers_in_the_shipped_inventories_are_valid():
    """Every compliance_waivers list in inventories/ and molecule/: a waiver without expiry fails make check."""
    ids = set(entry["id"] for entry in load())
    found = 0
    for path in glob.glob(os.path.join(ROOT, "inventories", "**", "*.yml"), recursive=True) \
            + glob.glob(os.path.join(ROOT, "molecule", "**", "*.yml"), recursive=True):
        with open(path) as handle:
            try:
                data = yaml.safe_load(handle)
            except yaml.YAMLError:
                continue  # Jinja-only playbooks; not variable files
        if isinstance(data, dict) and isinstance(data.get("compliance_waivers"), list):
            catalog.validate_waivers(data["compliance_waivers"], ids)
            found += 1
    assert found >= 1


@pytest.mark.parametrize("waiver, message", [
    ({"control": "SSH-001", "reason": "legacy jump host"}, "'expires' .* is required; waivers must not be open-ended"),
    ({"control": "SSH-999", "reason": "x", "expires": "2030-01-01"}, "no such control"),
])
def test_bad_waivers_are_refused_naming_the_control(waiver, message):
    with pytest.raises(common.CatalogError, match=message):
        catalog.validate_waivers([waiver], set(entry["id"] for entry in load()))


# aa-status (apparmor 4.1, Debian 13) as it reports a server: profiles in enforce, complain and the
# AppArmor 4 `unconfined` mode (declared by the profile, for user namespaces), then the processes.
AA_STATUS_DEBIAN13 = """apparmor module is loaded.
103 profiles are loaded.
4 profiles are in enforce mode.
   /usr/bin/man
   lsb_release
   nvidia_modprobe
   nvidia_modprobe//kmod
23 profiles are in complain mode.
   transmission-cli
   unix-chkpwd
0 profiles are in prompt mode.
0 profiles are in kill mode.
76 profiles are in unconfined mode.
   chrome
   runc
   wike
%(defined)d processes have profiles defined.
0 processes are in enforce mode.
0 processes are in complain mode.
0 processes are in prompt mode.
0 processes are in kill mode.
%(unconfined)d processes are unconfined but have a profile defined.
%(listed)s0 processes are in mixed mode.
"""

# apparmor 3.0.8 (Debian 12): no unconfined mode, the unconfined processes come last.
AA_STATUS_DEBIAN12 = """apparmor module is loaded.
2 profiles are loaded.
2 profiles are in enforce mode.
   lsb_release
   nvidia_modprobe
0 profiles are in complain mode.
0 profiles are in kill mode.
0 profiles are in unconfined mode.
%(defined)d processes have profiles defined.
0 processes are in enforce mode.
0 processes are in complain mode.
%(unconfined)d processes are unconfined but have a profile defined.
%(listed)s"""


def caa_002_status(tmp_path, output, rc=0):
    """The shipped CAA-002 on a host whose aa-status prints ``output`` and exits ``rc``."""
    from ansible_collections.prodready.platform.plugins.module_utils._compliance import audit as engine
    from ansible_collections.prodready.platform.plugins.module_utils._compliance import probe as host_probe

    [entry] = [c for c in load() if c["id"] == "CAA-002"]
    fake = tmp_path / "aa-status"
    fake.write_text("#!/bin/sh\ncat <<'OUT'\n%sOUT\nexit %d\n" % (output, rc))
    fake.chmod(0o755)
    entry["check"]["argv"] = [arg.replace("/usr/sbin/aa-status", str(fake)) for arg in entry["check"]["argv"]]
    root = tmp_path / "root"
    (root / "sys/kernel/security/apparmor").mkdir(parents=True, exist_ok=True)
    (root / "sys/kernel/security/apparmor/profiles").write_text("wike (unconfined)\nunix-chkpwd (complain)\n")
    probe = host_probe.Probe(runner=host_probe.default_runner, root=str(root), live_sysctl="never")
    result = engine.run_audit([entry], probe=probe)
    return result["controls"][0]


@pytest.mark.parametrize("template", [AA_STATUS_DEBIAN12, AA_STATUS_DEBIAN13])
def test_apparmor_profile_modes_are_no_finding_but_an_unconfined_process_is(tmp_path, template):
    clean = caa_002_status(tmp_path, template % {"defined": 0, "unconfined": 0, "listed": ""})
    assert clean["status"] == "pass", clean
    stale = caa_002_status(tmp_path, template % {"defined": 1, "unconfined": 1, "listed": "   /usr/sbin/cupsd (812) \n"})
    assert stale["status"] == "fail"
    assert "/usr/sbin/cupsd (812)" in stale["evidence"]
    assert "unconfined mode" not in stale["evidence"]  # only the processes' part is evidence


def test_apparmor_disabled_or_without_policy_fails(tmp_path):
    # aa-status: 1 AppArmor not enabled, 2 enabled without policy.
    for rc in (1, 2):
        control = caa_002_status(tmp_path, "apparmor module is loaded.\n0 profiles are loaded.\n", rc=rc)
        assert control["status"] == "fail"
        assert "rc %d" % rc in control["evidence"]
