#!/usr/bin/env python
"""Generate the CIS Debian 12 coverage table in docs/compliance.md from the catalog.

    tools/gen-compliance-coverage.py            rewrite the table between the coverage markers
    tools/gen-compliance-coverage.py --check    exit 1 when the table is stale or a recommendation is open

Inputs, all data in the repository:
  roles/compliance/files/cis/debian12.yml   every recommendation of the benchmark (id, title, level,
                                            profiles, automated/manual)
  roles/compliance/files/catalog/*.yml      the controls; a control implements the CIS ids in its
                                            frameworks.cis_debian12 list
  roles/compliance/files/cis/scope.yml      the automated Level 1 server recommendations no control
                                            checks, each not_applicable or out_of_scope with a reason,
                                            and existing controls whose CIS reference is wrong today

An automated Level 1 server recommendation that is neither implemented nor scoped is "open": the
table shows it and --check (make check) fails, so a new benchmark release, a removed control or a
mistyped CIS id cannot silently shrink the coverage.
"""

import argparse
import glob
import os
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN = "<!-- coverage:begin -->"
END = "<!-- coverage:end -->"
STATUSES = ("implemented", "not_applicable", "out_of_scope", "open")
LABELS = {"implemented": "implemented", "not_applicable": "not applicable", "out_of_scope": "out of scope", "open": "**open**"}

# Section titles of CIS Debian Linux 12 Benchmark v1.1.0 (the reference list carries ids only).
SECTIONS = {
    "1.1": "Filesystem", "1.2": "Package management", "1.3": "Mandatory access control (AppArmor)",
    "1.4": "Bootloader", "1.5": "Additional process hardening", "1.6": "Command line warning banners",
    "1.7": "GNOME Display Manager",
    "2.1": "Server services", "2.2": "Client services", "2.3": "Time synchronization", "2.4": "Job schedulers",
    "3.1": "Network devices", "3.2": "Network kernel modules", "3.3": "Network kernel parameters",
    "4.1": "Single firewall utility", "4.2": "UncomplicatedFirewall", "4.3": "nftables", "4.4": "iptables",
    "5.1": "SSH server", "5.2": "Privilege escalation", "5.3": "Pluggable authentication modules",
    "5.4": "User accounts and environment",
    "6.1": "System logging", "6.2": "System auditing", "6.3": "Integrity checking",
    "7.1": "System file permissions", "7.2": "Local user and group settings",
}


class CoverageError(Exception):
    pass


def _load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def id_key(cis_id):
    return [int(part) for part in str(cis_id).split(".")]


def section_of(cis_id):
    return ".".join(str(cis_id).split(".")[:2])


def load_reference(path):
    data = _load(path)
    if not isinstance(data, dict) or not isinstance(data.get("recommendations"), list):
        raise CoverageError("%s: needs 'benchmark' and a 'recommendations' list" % path)
    seen = set()
    for rec in data["recommendations"]:
        rid = rec.get("id") if isinstance(rec, dict) else None
        if not isinstance(rid, str) or not all(p.isdigit() for p in rid.split(".")):
            raise CoverageError("%s: bad recommendation %r" % (path, rec))
        if rid in seen:
            raise CoverageError("%s: duplicate id %s" % (path, rid))
        seen.add(rid)
        if rec.get("level") not in (1, 2) or rec.get("assessment") not in ("automated", "manual") \
                or not rec.get("title") or not set(rec.get("profiles") or []) or not set(rec["profiles"]) <= {"server", "workstation"}:
            raise CoverageError("%s: %s needs title, level 1|2, profiles [server|workstation] and assessment automated|manual" % (path, rid))
    return data


def load_controls(catalog_dir):
    """[(control id, [cis ids], file name)] in catalog order."""
    controls = []
    for path in sorted(glob.glob(os.path.join(catalog_dir, "*.yml"))):
        for entry in (_load(path) or {}).get("controls") or []:
            refs = (entry.get("frameworks") or {}).get("cis_debian12") or []
            controls.append((entry.get("id"), [str(r) for r in refs], os.path.basename(path)))
    return controls


def in_scope(rec):
    """The recommendations auditors expect covered: automated, Level 1, server profile."""
    return rec["assessment"] == "automated" and rec["level"] == 1 and "server" in rec["profiles"]


def compute(reference, controls, scope):
    """Return {'rows': [...], 'errors': [...], 'warnings': [...], 'other': [...]}.

    rows: one per automated Level 1 server recommendation, with status and controls or reason.
    other: recommendations outside that set that controls check anyway (Level 2, manual).
    """
    recs = {r["id"]: r for r in reference["recommendations"]}
    errors, warnings = [], []
    implemented = {}
    control_ids = set()
    for cid, refs, fname in controls:
        control_ids.add(cid)
        for ref in refs:
            if ref not in recs:
                warnings.append("%s (%s) names CIS %s, which %s does not have" % (cid, fname, ref, reference.get("benchmark")))
                continue
            implemented.setdefault(ref, []).append(cid)
    scope = scope or {}
    scoped, pending = {}, {}
    for entry in scope.get("scope") or []:
        rid, status = str(entry.get("id")), entry.get("status")
        if rid not in recs:
            errors.append("scope.yml: %s is not a recommendation of the benchmark" % rid)
        elif status not in ("not_applicable", "out_of_scope") or not str(entry.get("reason") or "").strip():
            errors.append("scope.yml: %s needs status not_applicable|out_of_scope and a reason" % rid)
        elif rid in scoped:
            errors.append("scope.yml: %s is listed twice" % rid)
        elif not in_scope(recs[rid]):
            errors.append("scope.yml: %s is not an automated Level 1 server recommendation; only those are scoped" % rid)
        else:
            scoped[rid] = (status, " ".join(str(entry["reason"]).split()))
    for entry in scope.get("existing_controls") or []:
        rid, names = str(entry.get("id")), [str(n) for n in entry.get("controls") or []]
        unknown = [n for n in names if n not in control_ids]
        if rid not in recs or not names or unknown:
            errors.append("scope.yml existing_controls: %s -> %s: unknown recommendation or control %s" % (rid, names, unknown))
            continue
        if all(rid in refs for cid, refs, _f in controls if cid in names):
            warnings.append("scope.yml existing_controls: %s now names %s itself; remove the entry" % ("/".join(names), rid))
            continue
        pending[rid] = names
    rows = []
    for rec in sorted((r for r in recs.values() if in_scope(r)), key=lambda r: id_key(r["id"])):
        rid = rec["id"]
        names = implemented.get(rid, []) + [n for n in pending.get(rid, []) if n not in implemented.get(rid, [])]
        if names:
            if rid in scoped:
                warnings.append("scope.yml: %s is implemented by %s; its %s entry is ignored" % (rid, ", ".join(names), scoped[rid][0]))
            row = dict(rec, status="implemented", controls=names, reason="")
            if rid in pending:
                row["reason"] = "catalog still says %s" % ", ".join(
                    "%s: %s" % (n, "/".join(r for c2, refs, _f in controls if c2 == n for r in refs)) for n in pending[rid])
        elif rid in scoped:
            row = dict(rec, status=scoped[rid][0], controls=[], reason=scoped[rid][1])
        else:
            row = dict(rec, status="open", controls=[], reason="no control and no scope.yml entry")
        rows.append(row)
    other = sorted(((rid, names) for rid, names in implemented.items() if not in_scope(recs[rid])), key=lambda x: id_key(x[0]))
    return {"rows": rows, "errors": errors, "warnings": warnings, "other": [(recs[r], n) for r, n in other],
            "benchmark": reference.get("benchmark", ""), "total": len(recs)}


def cell(text):
    return " ".join(str(text).split()).replace("|", "\\|")


def render(result):
    rows = result["rows"]
    count = dict((s, sum(1 for r in rows if r["status"] == s)) for s in STATUSES)
    lines = [
        "<!-- generated by tools/gen-compliance-coverage.py from roles/compliance/files/cis/*.yml and the catalog; do not edit -->",
        "",
        "%s: **%d** recommendations, **%d** of them automated Level 1 server. Of those: **%d implemented**, "
        "%d not applicable, %d out of scope, %d open. Controls also check %d recommendations outside that set "
        "(Level 2 or manual, listed last)." % (
            result["benchmark"], result["total"], len(rows), count["implemented"], count["not_applicable"],
            count["out_of_scope"], count["open"], len(result["other"])),
        "",
        "| Section | Automated L1 server | Implemented | Not applicable | Out of scope | Open |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    sections = []
    for row in rows:
        sec = section_of(row["id"])
        if sec not in sections:
            sections.append(sec)
    for sec in sections:
        mine = [r for r in rows if section_of(r["id"]) == sec]
        lines.append("| %s %s | %d | %d | %d | %d | %d |" % (
            sec, SECTIONS.get(sec, ""), len(mine), *[sum(1 for r in mine if r["status"] == s) for s in STATUSES]))
    lines.append("| **Total** | **%d** | **%d** | **%d** | **%d** | **%d** |" % (len(rows), *[count[s] for s in STATUSES]))
    for sec in sections:
        lines += ["", "**%s %s**" % (sec, SECTIONS.get(sec, "")), "",
                  "| CIS | Recommendation | Status | Controls / reason |", "|---|---|---|---|"]
        for row in (r for r in rows if section_of(r["id"]) == sec):
            detail = ", ".join(row["controls"])
            if row["reason"]:
                detail = "%s (%s)" % (detail, row["reason"]) if detail else row["reason"]
            lines.append("| %s | %s | %s | %s |" % (row["id"], cell(row["title"]), LABELS[row["status"]], cell(detail)))
    if result["other"]:
        lines += ["", "**Also checked (Level 2 or manual recommendations)**", "",
                  "| CIS | Recommendation | Level, assessment | Controls |", "|---|---|---|---|"]
        for rec, names in result["other"]:
            lines.append("| %s | %s | L%d %s, %s | %s |" % (
                rec["id"], cell(rec["title"]), rec["level"], "/".join(rec["profiles"]), rec["assessment"], ", ".join(names)))
    return "\n".join(lines) + "\n"


def splice(document, block):
    if document.count(BEGIN) != 1 or document.count(END) != 1 or document.index(BEGIN) > document.index(END):
        raise CoverageError("the document needs exactly one %s ... %s pair" % (BEGIN, END))
    head, rest = document.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    return head + BEGIN + "\n" + block + END + tail


def paths(root):
    return {
        "reference": os.path.join(root, "roles", "compliance", "files", "cis", "debian12.yml"),
        "scope": os.path.join(root, "roles", "compliance", "files", "cis", "scope.yml"),
        "catalog": os.path.join(root, "roles", "compliance", "files", "catalog"),
        "doc": os.path.join(root, "docs", "compliance.md"),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when the table is stale or a recommendation is open")
    parser.add_argument("--root", default=REPO, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    where = paths(args.root)
    try:
        result = compute(load_reference(where["reference"]), load_controls(where["catalog"]),
                         _load(where["scope"]) if os.path.exists(where["scope"]) else {})
        with open(where["doc"]) as handle:
            document = handle.read()
        updated = splice(document, render(result))
    except (CoverageError, OSError, yaml.YAMLError) as exc:
        print("gen-compliance-coverage: %s" % exc, file=sys.stderr)
        return 2
    for warning in result["warnings"]:
        print("warning: %s" % warning, file=sys.stderr)
    failed = False
    for error in result["errors"]:
        print("error: %s" % error, file=sys.stderr)
        failed = True
    for row in result["rows"]:
        if row["status"] == "open":
            print("open: CIS %s %s: add a control with cis_debian12: [%s] or a roles/compliance/files/cis/scope.yml entry" % (
                row["id"], row["title"], row["id"]), file=sys.stderr)
            failed = True
    if updated != document:
        if args.check:
            print("docs/compliance.md: the CIS coverage table is stale; run tools/gen-compliance-coverage.py", file=sys.stderr)
            failed = True
        else:
            with open(where["doc"], "w") as handle:
                handle.write(updated)
            print("wrote the coverage table to %s" % os.path.relpath(where["doc"], args.root))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
