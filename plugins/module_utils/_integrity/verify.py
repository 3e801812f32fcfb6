# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File integrity: verifying a host against its manifest at a level, and the result cache."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import subprocess
import time

from ansible_collections.prodready.platform.plugins.module_utils._integrity import common
from ansible_collections.prodready.platform.plugins.module_utils._integrity import compare
from ansible_collections.prodready.platform.plugins.module_utils._integrity import dpkg
from ansible_collections.prodready.platform.plugins.module_utils._integrity import manifest
from ansible_collections.prodready.platform.plugins.module_utils._integrity import pathrules
from ansible_collections.prodready.platform.plugins.module_utils._integrity import results
from ansible_collections.prodready.platform.plugins.module_utils._integrity import scan


def verify_tree(body, level, workers=None, system_paths=None, packages=True, result=None,
                accept_package_updates=True, package_state=None):
    """Verify the live tree against a (verified) manifest body at ``level``. With
    ``accept_package_updates`` the changes a dpkg upgrade explains are moved to
    ``package_updates`` (``classify_package_updates``; ``package_state`` is the dpkg state to
    read, by default the host's)."""
    result = result or results.new_result(level)
    level_index = common.LEVELS.index(level)
    config = body.get("config", {})
    rules = pathrules.PathRules(config.get("include"), config.get("exclude"))
    current = scan.walk(config.get("paths") or [], rules, missing_ok=True)
    added, removed, changed, hashed = compare.compare_entries(body["entries"], current, level,
                                                              rehash_all=level_index >= 2, workers=workers)
    result["files_checked"] += len(current)
    result["files_hashed"] += hashed
    result["added"].extend(added)
    result["removed"].extend(removed)
    result["changed"].extend(changed)
    result["checks"]["tree"] = "checked %d entries" % len(current)
    if level_index >= 2:
        baseline_system = body.get("system") or {}
        if not baseline_system:
            result["skipped"]["system"] = "the baseline recorded no unit/sudoers locations"
        else:
            groups = system_paths if system_paths is not None else common.DEFAULT_SYSTEM_PATHS
            for group in sorted(baseline_system):
                now = scan.walk(groups.get(group, []), missing_ok=True) if groups.get(group) else {}
                a, r, c, h = compare.compare_entries(baseline_system[group], now, level, rehash_all=True,
                                                     workers=workers, group=group)
                result["files_checked"] += len(now)
                result["files_hashed"] += h
                result["added"].extend(a)
                result["removed"].extend(r)
                result["changed"].extend(c)
                result["checks"][group] = "checked %d entries" % len(now)
    if accept_package_updates:
        dpkg.classify_package_updates(body, result, package_state)
    else:
        result["skipped"]["package_updates"] = "accepting package updates is switched off"
    if level_index >= 2:
        baseline_dpkg = (body.get("packages") or {}).get("dpkg_verify")
        if not packages:
            result["skipped"]["package"] = "package verification disabled"
        elif baseline_dpkg is None:
            result["skipped"]["package"] = "the baseline recorded no dpkg --verify state"
        else:
            now = scan.dpkg_verify()
            if now is None:
                result["skipped"]["package"] = "dpkg is not installed"
            else:
                for path in sorted(set(now) - set(baseline_dpkg)):
                    result["changed"].append({"path": path, "type": common.TYPE_FILE, "reasons": ["package"],
                                              "kind": "package", "details": {"package": now[path]}})
                result["checks"]["package"] = "dpkg --verify: %d files differ, %d already at baseline" % (
                    len(now), len(set(now) & set(baseline_dpkg)))
    return result


def read_metric_value(path, name):
    """The first sample of ``name`` in a Prometheus textfile, or None. Small on purpose: the
    library stays independent of textfile.py so it can run anywhere."""
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if line.startswith("#") or not line:
                continue
            metric = re.split(r"[{\s]", line, 1)[0]
            if metric == name:
                try:
                    return float(line.rsplit(None, 1)[-1])
                except ValueError:
                    return None
    return None


def check_backup_status(metric_file, metric_name, result, max_age_seconds=None):
    if not metric_file or not os.path.exists(metric_file):
        result["skipped"]["backup"] = "backup restore-test metric not deployed (%s)" % (metric_file or "not configured")
        return
    value = read_metric_value(metric_file, metric_name)
    problem = None
    if value is None:
        problem = "metric %s missing from %s" % (metric_name, metric_file)
    elif value != 1:
        problem = "last backup restore test failed (%s = %s)" % (metric_name, value)
    elif max_age_seconds and time.time() - os.stat(metric_file).st_mtime > max_age_seconds:
        problem = "restore-test status in %s is older than %d s" % (metric_file, max_age_seconds)
    if problem:
        result["changed"].append({"path": metric_file, "type": common.TYPE_FILE, "reasons": ["backup"], "kind": "backup",
                                  "details": {"backup": problem}})
    result["checks"]["backup"] = problem or "restore test passing"


def check_certificates(certificates, result, openssl="openssl"):
    """``certificates``: list of ``{"path": fullchain, "ca_file": optional}``; each must
    verify as a chain with ``openssl verify`` (which also rejects expired certificates)."""
    if not certificates:
        result["skipped"]["certificate"] = "no certificates configured"
        return
    problems = 0
    for item in certificates:
        path = item.get("path") if isinstance(item, dict) else item
        ca_file = item.get("ca_file") if isinstance(item, dict) else None
        if not path or not os.path.exists(path):
            problem = "certificate %s does not exist" % path
        else:
            cmd = [openssl, "verify"]
            if ca_file:
                cmd += ["-CAfile", ca_file]
            cmd += ["-untrusted", path, path]
            try:
                proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                out = proc.communicate(timeout=60)[0].decode("utf-8", "replace").strip()
                problem = None if proc.returncode == 0 else (out.splitlines() or ["openssl verify failed"])[-1]
            except OSError as exc:
                problem = "cannot run openssl: %s" % exc
        if problem:
            problems += 1
            result["changed"].append({"path": path, "type": common.TYPE_FILE, "reasons": ["certificate"],
                                      "kind": "certificate", "details": {"certificate": problem}})
    result["checks"]["certificate"] = "%d of %d chains failed" % (problems, len(certificates))


def verify(manifest_data, public_keys, level, reference_data=None, workers=None, system_paths=None,
           packages=True, backup=None, certificates=None, manifest_path="manifest",
           accept_package_updates=True, package_state=None, expected_host=None, expected_config=None):
    """Verify a host against its manifest at ``level``.

    ``reference_data`` is the off-host copy (file content) used from the ``full`` level on:
    it must verify with the same trusted keys, the local manifest must have the same body, and
    the tree is checked against the reference (so a rebaseline on the host shows as changes).
    A local manifest whose signature fails is a ``signature`` violation (the tree is then
    checked against the reference if there is one, otherwise not at all). A manifest of a newer
    format version raises ``UnsupportedVersionError``. ``accept_package_updates`` and
    ``package_state``: see ``verify_tree``. ``expected_host`` and ``expected_config`` (see
    ``manifest_config``) bind the manifest: a genuine manifest of another host or of another path
    set is a ``binding`` violation, and the tree is not judged against it.
    """
    started = time.monotonic()
    result = results.new_result(level)
    level_index = common.LEVELS.index(level)
    body = None

    def bound(loaded, path):
        errors = manifest.binding_errors(loaded, expected_host, expected_config)
        for message in errors:
            results.signature_violation(result, path, message, kind="binding")
        return None if errors else loaded

    try:
        body = bound(manifest.load_manifest(manifest_data, public_keys), manifest_path)
        result["manifest_sha256"] = manifest.manifest_digest(manifest_data)
    except common.UnsupportedVersionError:
        raise
    except common.ManifestError as exc:
        results.signature_violation(result, manifest_path, str(exc))
    reference = None
    if level_index >= 3:
        if reference_data is None:
            result["skipped"]["offhost"] = "no off-host copy configured"
        else:
            try:
                reference = manifest.load_manifest(reference_data, public_keys)
            except common.UnsupportedVersionError:
                raise
            except common.ManifestError as exc:
                results.signature_violation(result, "offhost:" + manifest_path, "off-host copy: %s" % exc, kind="offhost")
            if reference is not None:
                remote_digest = manifest.manifest_digest(reference_data)
                result["offhost_sha256"] = remote_digest
                local_digest = result.get("manifest_sha256")
                if local_digest != remote_digest:
                    message = ("local manifest differs from the off-host copy (local %s, off-host %s): the host was "
                               "rebaselined outside the playbook" % (local_digest or "unverifiable", remote_digest))
                    results.signature_violation(result, manifest_path, message, kind="offhost")
                result["checks"]["offhost"] = "off-host copy verified (%s)" % remote_digest[:16]
                body = bound(reference, "offhost:" + manifest_path)
    if body is not None:
        verify_tree(body, level, workers=workers, system_paths=system_paths, packages=packages, result=result,
                    accept_package_updates=accept_package_updates, package_state=package_state)
    if level_index >= 3:
        backup = backup or {}
        check_backup_status(backup.get("metric_file"), backup.get("metric_name", "prodready_backup_restore_test_success"),
                            result, backup.get("max_age_seconds"))
        check_certificates(certificates or [], result)
    return results.finish(result, started)


# --------------------------------------------------------------------------------------
# Result cache with a TTL
# --------------------------------------------------------------------------------------

class ResultCache(object):
    """Verification results kept for ``ttl`` seconds in a JSON file, keyed by level, manifest
    digest and options, so repeated checks (a dashboard, a playbook run right after the timer)
    do not rescan. A TTL of 0 disables the cache."""

    def __init__(self, path, ttl):
        self.path = path
        self.ttl = int(ttl or 0)

    @staticmethod
    def key(*parts):
        return hashlib.sha256(manifest.canonical_json(list(parts))).hexdigest()

    def _load(self):
        try:
            with open(self.path) as handle:
                data = json.load(handle)
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def get(self, key, now=None):
        if self.ttl <= 0 or not self.path:
            return None
        item = self._load().get(key)
        now = time.time() if now is None else now
        if not item or now - item.get("stored_at", 0) > self.ttl or item.get("stored_at", 0) > now:
            return None
        result = dict(item["result"])
        result["cached"] = True
        result["cache_age_seconds"] = round(now - item["stored_at"], 3)
        return result

    def put(self, key, result, now=None):
        if self.ttl <= 0 or not self.path:
            return
        now = time.time() if now is None else now
        data = dict((k, v) for k, v in self._load().items() if now - v.get("stored_at", 0) <= self.ttl)
        data[key] = {"stored_at": now, "result": result}
        manifest.write_file_atomic(self.path, manifest.canonical_json(data), mode=0o600)
