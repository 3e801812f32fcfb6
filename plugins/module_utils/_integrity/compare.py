# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File integrity: comparing manifest entries with the live tree."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import stat

from ansible_collections.prodready.platform.plugins.module_utils._integrity import common
from ansible_collections.prodready.platform.plugins.module_utils._integrity import dpkg
from ansible_collections.prodready.platform.plugins.module_utils._integrity import results
from ansible_collections.prodready.platform.plugins.module_utils._integrity import scan


def _kind_of(reasons):
    ordered = [common.REASON_KIND[r] for r in reasons if r in common.REASON_KIND]
    if not ordered:
        return "metadata"
    return min(ordered, key=common.VIOLATION_KINDS.index)


def _is_special(mode):
    return bool(mode & (stat.S_ISUID | stat.S_ISGID))


def compare_entries(old, new, level, rehash_all=False, workers=None, group=None, rehash=True):
    """Compare baseline entries with a fresh scan at ``level``. Hashes in ``new`` as needed.

    Returns ``(added, removed, changed, files_hashed)`` where each item is a dict with
    ``path``, ``kind`` and ``reasons`` (and ``details`` for changes).
    """
    level_index = common.LEVELS.index(level)
    check_times = level_index >= 1
    check_suid = level_index >= 2
    to_hash = set()
    for path, cur in new.items():
        if cur.get("type") != common.TYPE_FILE:
            continue
        base = old.get(path)
        if base is None or base.get("type") != common.TYPE_FILE:
            continue
        if rehash_all:
            to_hash.add(path)
        elif check_times and any(cur.get(f) != base.get(f) for f in ("size", "mtime_ns", "ctime_ns", "inode")):
            to_hash.add(path)
    if to_hash and rehash:
        scan.add_hashes(new, workers, only=to_hash)
    elif not rehash:
        to_hash = set()

    added = []
    for path in sorted(set(new) - set(old)):
        cur = new[path]
        reasons = ["added"]
        if check_suid and cur.get("type") == common.TYPE_FILE and _is_special(cur.get("mode", 0)):
            reasons.append("suid")
        added.append({"path": path, "type": cur.get("type"), "reasons": reasons,
                      "kind": group or _kind_of(reasons), "mode": "%04o" % cur.get("mode", 0)})
    removed = [{"path": p, "type": old[p].get("type"), "reasons": ["removed"], "kind": group or "removed"}
               for p in sorted(set(old) - set(new))]
    changed = []
    for path in sorted(set(old) & set(new)):
        base, cur = old[path], new[path]
        reasons = []
        details = {}

        def differ(field, reason, fmt=None):
            if base.get(field) != cur.get(field):
                reasons.append(reason)
                before, after = base.get(field), cur.get(field)
                details[reason] = [fmt(before) if (fmt and before is not None) else before,
                                   fmt(after) if (fmt and after is not None) else after]

        differ("type", "type")
        if base.get("type") == cur.get("type"):
            if cur.get("type") == common.TYPE_FILE:
                differ("size", "size")
            differ("mode", "mode", lambda m: "%04o" % m)
            differ("uid", "owner")
            differ("gid", "group")
            if cur.get("type") == common.TYPE_LINK:
                differ("target", "target")
            if check_times:
                # A directory's times change whenever an entry is added or removed, which is
                # already reported per entry; its mode, owner and inode still count.
                if cur.get("type") != common.TYPE_DIR:
                    differ("mtime_ns", "mtime")
                    differ("ctime_ns", "ctime")
                differ("inode", "inode")
            if cur.get("type") == common.TYPE_FILE and "sha256" in cur:
                if cur.get("sha256") is None:
                    reasons.append("unreadable")
                    details["unreadable"] = cur.get("error")
                elif cur["sha256"] != base.get("sha256"):
                    reasons.append("content")
                    details["content"] = [base.get("sha256"), cur["sha256"]]
            if check_suid and _is_special(cur.get("mode", 0)) and \
                    (cur.get("mode", 0) & ~base.get("mode", 0) & (stat.S_ISUID | stat.S_ISGID)):
                reasons.append("suid")
        if reasons:
            changed.append({"path": path, "type": cur.get("type"), "reasons": reasons,
                            "kind": group or _kind_of(reasons), "details": details})
    return added, removed, changed, len(to_hash)


def compare_manifests(old_body, new_body):
    """Entry-level differences between two manifest bodies (as stored, no rehashing)."""
    added, removed, changed = compare_entries(old_body.get("entries", {}), dict(
        (p, dict(e)) for p, e in new_body.get("entries", {}).items()), "comprehensive", rehash=False)[:3]
    return {"added": added, "removed": removed, "changed": changed}


def package_update_drift(old_body, new_body, state=None):
    """Classify everything between a signed baseline and a fresh baseline body of the same
    host: ``(package_updates, violations)``. When ``violations`` is empty the only differences
    are package updates (or the recorded package data), and the controller may re-sign the new
    body without hiding anything else: ``integrity_baseline accept_package_updates``."""
    result = results.new_result("comprehensive")
    if old_body.get("config") != new_body.get("config"):
        results.signature_violation(result, "config", "the scanned paths or rules changed", kind="metadata")
    diff = compare_manifests(old_body, new_body)
    for bucket in ("added", "removed", "changed"):
        result[bucket].extend(diff[bucket])
    old_system, new_system = old_body.get("system") or {}, new_body.get("system") or {}
    for group in sorted(set(old_system) | set(new_system)):
        added, removed, changed = compare_entries(old_system.get(group, {}), dict(
            (p, dict(e)) for p, e in new_system.get(group, {}).items()), "comprehensive", group=group, rehash=False)[:3]
        result["added"].extend(added)
        result["removed"].extend(removed)
        result["changed"].extend(changed)
    old_dpkg = (old_body.get("packages") or {}).get("dpkg_verify")
    new_dpkg = (new_body.get("packages") or {}).get("dpkg_verify")
    if (old_dpkg is None) != (new_dpkg is None):
        results.signature_violation(result, "dpkg --verify", "dpkg --verify recording switched on or off", kind="package")
    for path in sorted(set(new_dpkg or {}) - set(old_dpkg or {})):
        result["changed"].append({"path": path, "type": common.TYPE_FILE, "reasons": ["package"], "kind": "package",
                                  "details": {"package": new_dpkg[path]}})
    dpkg.classify_package_updates(old_body, result, state)
    violations = [results.violation_of(i) for i in result["added"] + result["removed"] + result["changed"]]
    return result["package_updates"], violations
