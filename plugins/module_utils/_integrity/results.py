# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File integrity: the result of a check (violations, counts) as metrics and alerts read it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.prodready.platform.plugins.module_utils._integrity import common


def violation_of(item):
    return {"path": item["path"], "kind": item["kind"], "reasons": list(item.get("reasons", []))}


def summarise_counts(result):
    by_kind = dict((k, 0) for k in common.VIOLATION_KINDS)
    for item in result["violations"]:
        by_kind[item["kind"]] = by_kind.get(item["kind"], 0) + 1
    return {
        "added": len(result["added"]), "removed": len(result["removed"]), "changed": len(result["changed"]),
        "violations": len(result["violations"]), "by_kind": by_kind,
        "package_updates": len(result.get("package_updates") or []),
    }


def new_result(level):
    if level not in common.LEVELS:
        raise common.ConfigError("unknown level %r: choose one of %s" % (level, ", ".join(common.LEVELS)))
    return {"level": level, "ok": True, "added": [], "removed": [], "changed": [], "violations": [],
            "package_updates": [], "checks": {}, "skipped": {}, "files_checked": 0, "files_hashed": 0}


def finish(result, started):
    result["duration_seconds"] = round(time.monotonic() - started, 4)
    result["checked_at"] = int(time.time())
    result["violations"] = [violation_of(i) for i in result["added"] + result["removed"] + result["changed"]]
    result["counts"] = summarise_counts(result)
    result["ok"] = not result["violations"]
    return result


def signature_violation(result, path, message, kind="signature"):
    result["changed"].append({"path": path, "type": common.TYPE_FILE, "reasons": [kind], "kind": kind,
                              "details": {kind: message}})


def error_result(level, message, kind="signature", path="manifest"):
    """A result for a check that could not run at all (for metrics and alerts)."""
    result = new_result(level if level in common.LEVELS else "standard")
    signature_violation(result, path, message, kind=kind)
    return finish(result, time.monotonic())
