"""tools/gen-compliance-coverage.py (the CIS Debian 12 coverage table) and the data it reads:
roles/compliance/files/cis/{debian12,scope}.yml and the CIS-only catalog files cis_*.yml."""
import glob
import importlib.util
import os
import shutil

import pytest
import yaml

from ansible_collections.prodready.platform.plugins.module_utils._compliance import catalog as c

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CIS_DIR = os.path.join(ROOT, "roles", "compliance", "files", "cis")
CATALOG_DIR = os.path.join(ROOT, "roles", "compliance", "files", "catalog")

_spec = importlib.util.spec_from_file_location("gen_compliance_coverage", os.path.join(ROOT, "tools", "gen-compliance-coverage.py"))
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


REFERENCE = load(os.path.join(CIS_DIR, "debian12.yml"))


def rec(rid, level=1, profiles=("server", "workstation"), assessment="automated", title=None):
    return {"id": rid, "title": title or "Ensure %s" % rid, "level": level, "profiles": list(profiles), "assessment": assessment}


def reference(*recs):
    return {"benchmark": "Test Benchmark v1", "recommendations": list(recs)}


# --- the shipped data ----------------------------------------------------------------------------

def test_reference_lists_every_recommendation_of_v1_1_0_once():
    assert REFERENCE["benchmark"] == "CIS Debian Linux 12 Benchmark v1.1.0"
    gen.load_reference(os.path.join(CIS_DIR, "debian12.yml"))  # ids unique, fields valid
    recs = REFERENCE["recommendations"]
    assert len(recs) == 310
    by_id = {r["id"]: r for r in recs}
    # spot checks against the benchmark (v1.1.0 renumbered sections 4 and 6 from v1.0.1)
    assert by_id["1.1.1.9"]["title"] == "Ensure usb-storage kernel module is not available"
    assert by_id["4.1.1"]["title"] == "Ensure a single firewall configuration utility is in use"
    assert by_id["4.3.9"]["title"] == "Ensure nftables service is enabled"
    assert by_id["6.2.3.20"]["title"] == "Ensure the audit configuration is immutable"
    assert by_id["6.1.1.2"]["assessment"] == "manual"
    assert (by_id["5.1.8"]["level"], by_id["5.1.8"]["profiles"]) == (1, ["workstation"])  # Level 2 server
    assert "1.5.4" not in by_id and "1.5.5" not in by_id  # prelink and apport left the benchmark in v1.1.0
    assert sum(1 for r in recs if gen.in_scope(r)) == 231


def test_shipped_coverage_is_complete_and_the_docs_are_current(capsys):
    assert gen.main(["--check"]) == 0, capsys.readouterr().err


def test_cis_catalog_files_validate_and_point_at_real_recommendations():
    ids = {r["id"] for r in REFERENCE["recommendations"]}
    files = sorted(glob.glob(os.path.join(CATALOG_DIR, "cis_*.yml")))
    assert files
    controls = [entry for path in files for entry in load(path)["controls"]]
    normalized = c.validate_catalog(controls)  # the module's own validator: types, comparators, regexes
    assert len(normalized) == len(controls) >= 90
    for entry in controls:
        refs = entry["frameworks"].get("cis_debian12")
        assert refs and set(refs) <= ids, entry["id"]
        assert entry.get("remediation"), "%s needs a remediation pointer" % entry["id"]
        assert len(entry["frameworks"]) >= 3, "%s: map at least two frameworks beside CIS" % entry["id"]


def test_cis_catalog_ids_do_not_collide_with_the_rest_of_the_catalog():
    seen = {}
    for path in sorted(glob.glob(os.path.join(CATALOG_DIR, "*.yml"))):
        for entry in load(path)["controls"]:
            assert entry["id"] not in seen, "%s in %s and %s" % (entry["id"], seen.get(entry["id"]), path)
            seen[entry["id"]] = path


def test_scope_entries_have_a_status_and_a_one_line_reason():
    scope = load(os.path.join(CIS_DIR, "scope.yml"))
    for entry in scope["scope"]:
        assert entry["status"] in ("not_applicable", "out_of_scope")
        assert entry["reason"].strip() and "\n" not in entry["reason"].strip()


# --- the generator ---------------------------------------------------------------------------------

def test_open_recommendation_fails_until_covered_or_scoped():
    ref = reference(rec("1.1"), rec("1.2"), rec("1.3", level=2), rec("1.4", assessment="manual"))
    result = gen.compute(ref, [("X-001", ["1.1"], "x.yml")], {})
    status = {r["id"]: r["status"] for r in result["rows"]}
    assert status == {"1.1": "implemented", "1.2": "open"}  # Level 2 and manual ones are not required
    scoped = gen.compute(ref, [("X-001", ["1.1"], "x.yml")],
                         {"scope": [{"id": "1.2", "status": "out_of_scope", "reason": "not managed here"}]})
    assert [(r["id"], r["status"], r["reason"]) for r in scoped["rows"]][1] == ("1.2", "out_of_scope", "not managed here")
    assert not scoped["errors"]


def test_a_control_wins_over_a_scope_entry_and_unknown_ids_are_reported():
    ref = reference(rec("1.1"))
    result = gen.compute(ref, [("X-001", ["1.1", "9.9"], "x.yml")],
                         {"scope": [{"id": "1.1", "status": "not_applicable", "reason": "r"}]})
    assert result["rows"][0]["status"] == "implemented"
    assert any("9.9" in w for w in result["warnings"])
    assert any("ignored" in w for w in result["warnings"])


def test_bad_scope_entries_are_errors():
    ref = reference(rec("1.1"), rec("1.2", level=2))
    scope = {"scope": [{"id": "7.7", "status": "out_of_scope", "reason": "r"},
                       {"id": "1.1", "status": "maybe", "reason": "r"},
                       {"id": "1.2", "status": "out_of_scope", "reason": "r"}],
             "existing_controls": [{"id": "1.1", "controls": ["NOPE-1"]}]}
    errors = gen.compute(ref, [], scope)["errors"]
    assert len(errors) == 4, errors


def test_existing_controls_count_until_the_catalog_names_the_id_itself():
    ref = reference(rec("1.1"), rec("1.2"))
    scope = {"existing_controls": [{"id": "1.2", "controls": ["X-001"], "catalog_has": "1.1"}]}
    result = gen.compute(ref, [("X-001", ["1.1"], "x.yml")], scope)
    assert [(r["id"], r["status"], r["controls"]) for r in result["rows"]] == [
        ("1.1", "implemented", ["X-001"]), ("1.2", "implemented", ["X-001"])]
    fixed = gen.compute(ref, [("X-001", ["1.2"], "x.yml")], scope)
    assert any("remove the entry" in w for w in fixed["warnings"])


def test_render_counts_and_splice_replaces_only_the_marked_block():
    ref = reference(rec("1.1.1", title="Ensure a | b"), rec("1.1.2"), rec("2.1.1"))
    result = gen.compute(ref, [("X-001", ["1.1.1"], "x.yml")],
                         {"scope": [{"id": "1.1.2", "status": "not_applicable", "reason": "no such thing"}]})
    block = gen.render(result)
    assert "**1** implemented" not in block and "**1 implemented**" in block and "1 not applicable" in block and "1 open" in block
    assert "| 1.1.1 | Ensure a \\| b | implemented | X-001 |" in block
    assert "| 2.1.1 | Ensure 2.1.1 | **open** |" in block
    doc = "intro\n%s\nold\n%s\ntail\n" % (gen.BEGIN, gen.END)
    assert gen.splice(doc, block) == "intro\n%s\n%s%s\ntail\n" % (gen.BEGIN, block, gen.END)
    with pytest.raises(gen.CoverageError):
        gen.splice("no markers", block)


def test_check_mode_fails_on_a_stale_table_and_write_mode_fixes_it(tmp_path, capsys):
    for sub in (("roles", "compliance", "files", "cis"), ("roles", "compliance", "files", "catalog"), ("docs",)):
        os.makedirs(os.path.join(str(tmp_path), *sub))
    with open(os.path.join(str(tmp_path), "roles", "compliance", "files", "cis", "debian12.yml"), "w") as handle:
        yaml.safe_dump(reference(rec("1.1")), handle)
    with open(os.path.join(str(tmp_path), "roles", "compliance", "files", "catalog", "a.yml"), "w") as handle:
        yaml.safe_dump({"controls": [{"id": "A-001", "frameworks": {"cis_debian12": ["1.1"]}}]}, handle)
    doc = os.path.join(str(tmp_path), "docs", "compliance.md")
    with open(doc, "w") as handle:
        handle.write("# x\n%s\n%s\n" % (gen.BEGIN, gen.END))
    assert gen.main(["--check", "--root", str(tmp_path)]) == 1
    assert "stale" in capsys.readouterr().err
    assert gen.main(["--root", str(tmp_path)]) == 0
    assert gen.main(["--check", "--root", str(tmp_path)]) == 0
    shutil.rmtree(os.path.join(str(tmp_path), "roles", "compliance", "files", "catalog"))
    os.makedirs(os.path.join(str(tmp_path), "roles", "compliance", "files", "catalog"))
    assert gen.main(["--check", "--root", str(tmp_path)]) == 1
    assert "open: CIS 1.1" in capsys.readouterr().err
