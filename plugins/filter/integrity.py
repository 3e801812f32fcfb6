# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
name: integrity_summary
short_description: One line that summarises an integrity_verify result
version_added: 1.0.0
author: prodready.platform maintainers (@prodready)
description:
  - "C(clean) or C(N violations: content 2, added 1) with the level, entries checked and duration."
  - The same collection also provides C(integrity_violations) (render the violation list as text or
    Markdown), C(integrity_manifest_diff) (compare two manifests), C(integrity_host_key) (a host's
    signing key derived on the controller from the fleet's signing secret and the host name) and
    C(integrity_public_key) (the public key of a signing key, for the host to trust) and
    C(integrity_key_id) (the id manifests name their signer by).
options:
  _input:
    description: A registered integrity_verify result.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Summarise
  ansible.builtin.debug:
    msg: "{{ result | prodready.platform.integrity_summary }}"

- name: Render the violation list as Markdown, at most 20 lines
  ansible.builtin.debug:
    msg: "{{ result | prodready.platform.integrity_violations(format='markdown', limit=20) }}"

- name: Compare the local and the off-host manifest
  ansible.builtin.debug:
    msg: "{{ local_manifest_text | prodready.platform.integrity_manifest_diff(offhost_manifest_text) }}"
"""

RETURN = r"""
_value:
  description: The summary line.
  type: str
"""

import importlib

from ansible.errors import AnsibleFilterError


def _library(name):
    """A module of the integrity library (plugins/module_utils/_integrity/<name>.py).

    Imported on first use, not when this file loads: to resolve any one filter of a collection,
    ansible-core loads every filter file of it in every worker process (once per task and host), and
    importing the integrity library there cost 2.6 % of the controller's CPU on a 6-host no-op run."""
    return importlib.import_module("ansible_collections.prodready.platform.plugins.module_utils._integrity." + name)


def _check_result(result, name):
    if not isinstance(result, dict) or "violations" not in result:
        raise AnsibleFilterError("%s expects a registered integrity_verify result (a dict with 'violations')" % name)


def integrity_summary(result):
    """``standard: clean (1234 entries, 0.42 s)`` or ``standard: 3 violations (content 2, added 1) ...``."""
    _check_result(result, "integrity_summary")
    counts = {}
    for item in result["violations"]:
        counts[item.get("kind", "unknown")] = counts.get(item.get("kind", "unknown"), 0) + 1
    level = result.get("level", "?")
    seconds = float(result.get("duration_seconds", 0) or 0)
    tail = "%d entries, %.2f s%s" % (result.get("files_checked", 0), seconds, ", cached" if result.get("cached") else "")
    if not counts:
        return "%s: clean (%s)" % (level, tail)
    kinds = ", ".join("%s %d" % (k, counts[k]) for k in sorted(counts, key=lambda k: (-counts[k], k)))
    total = sum(counts.values())
    return "%s: %d violation%s (%s) (%s)" % (level, total, "" if total == 1 else "s", kinds, tail)


def _escape_md(text):
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`").replace("\n", " ")


def integrity_violations(result, format="text", limit=50):  # pylint: disable=redefined-builtin
    """Render the violations, one per line: ``KIND path (reason, reason)``; ``format='markdown'``
    gives a table. At most ``limit`` lines, then ``... and N more``."""
    _check_result(result, "integrity_violations")
    if format not in ("text", "markdown"):
        raise AnsibleFilterError("integrity_violations: format must be 'text' or 'markdown', got %r" % (format,))
    try:
        limit = int(limit)
    except (TypeError, ValueError):
        raise AnsibleFilterError("integrity_violations: limit must be an integer")

    kinds = _library("common").VIOLATION_KINDS

    def order(item):
        kind = item.get("kind")
        return (kinds.index(kind) if kind in kinds else 99, item.get("path", ""))

    items = sorted(result["violations"], key=order)
    shown = items[:limit] if limit >= 0 else items
    if format == "markdown":
        lines = ["| kind | path | reasons |", "|---|---|---|"]
        lines += ["| %s | `%s` | %s |" % (_escape_md(v.get("kind")), _escape_md(v.get("path")), _escape_md(", ".join(v.get("reasons", []))))
                  for v in shown]
    else:
        lines = ["%-11s %s (%s)" % (str(v.get("kind", "")).upper(), v.get("path"), ", ".join(v.get("reasons", [])))
                 for v in shown]
    if len(items) > len(shown):
        lines.append("... and %d more" % (len(items) - len(shown)))
    return "\n".join(lines)


def _body(value, name):
    if isinstance(value, dict):
        if "entries" not in value:
            raise AnsibleFilterError("%s: a manifest body needs 'entries'" % name)
        return value
    if isinstance(value, (str, bytes)):
        try:
            return _library("manifest").load_manifest_unverified(value)
        except _library("common").IntegrityError as exc:
            raise AnsibleFilterError("%s: %s" % (name, exc))
    raise AnsibleFilterError("%s expects manifest text or a manifest body dict" % name)


def integrity_manifest_diff(old, new):
    """Compare two manifests (file text or parsed bodies; signatures are not checked here:
    verify them with integrity_verify). Returns ``{added, removed, changed, same}``."""
    old_body, new_body = _body(old, "integrity_manifest_diff"), _body(new, "integrity_manifest_diff")
    diff = _library("compare").compare_manifests(old_body, new_body)
    return {
        "added": [a["path"] for a in diff["added"]],
        "removed": [r["path"] for r in diff["removed"]],
        "changed": [{"path": c["path"], "reasons": c["reasons"]} for c in diff["changed"]],
        "same": _library("baseline").same_state(old_body, new_body),
    }


def _key_filter(name, compute, *args):
    """Run ``compute(signing, *args)`` (the library's key functions); its errors (a short secret, a
    key that does not parse) become filter errors named after the filter."""
    try:
        return compute(_library("signing"), *args)
    except _library("common").IntegrityError as exc:
        raise AnsibleFilterError("%s: %s" % (name, exc))


def integrity_host_key(secret, host):
    """The signing key of ``host`` (base64 of its Ed25519 seed), derived from the fleet's signing
    secret. Runs on the controller; hand the result only to integrity_baseline's private_key,
    which its action keeps on the controller."""
    return _key_filter("integrity_host_key", lambda library, s, h: library.derive_host_key_text(s, h), secret, host)


def integrity_public_key(private_key):
    """The public key (base64) of a signing key (base64 seed or PEM)."""
    return _key_filter("integrity_public_key", lambda library, k: library.public_key_text(library.load_private_key(k)),
                       private_key)


def integrity_key_id(public_key):
    """The key id manifests name their signer by, of a public key (base64 or PEM). A private key
    is not accepted: base64 seeds and public keys look alike (32 bytes)."""
    return _key_filter("integrity_key_id", lambda library, k: library.key_id(library.load_public_key(k)), public_key)


class FilterModule(object):
    def filters(self):
        return {
            "integrity_summary": integrity_summary,
            "integrity_violations": integrity_violations,
            "integrity_manifest_diff": integrity_manifest_diff,
            "integrity_host_key": integrity_host_key,
            "integrity_public_key": integrity_public_key,
            "integrity_key_id": integrity_key_id,
        }
