"""The integrity library: levels and tampering, comparison, result cache, fingerprints (_integrity/verify.py, compare.py, notify.py)."""
import os
import time

import pytest
from hypothesis import given, strategies as st

from ansible_collections.prodready.platform.plugins.module_utils._integrity import baseline
from ansible_collections.prodready.platform.plugins.module_utils._integrity import common
from ansible_collections.prodready.platform.plugins.module_utils._integrity import compare
from ansible_collections.prodready.platform.plugins.module_utils._integrity import manifest
from ansible_collections.prodready.platform.plugins.module_utils._integrity import notify
from ansible_collections.prodready.platform.plugins.module_utils._integrity import scan
from ansible_collections.prodready.platform.plugins.module_utils._integrity import signing
from ansible_collections.prodready.platform.plugins.module_utils._integrity import verify

KEY = signing.generate_private_key_text()
PUB = signing.public_key_text(signing.load_private_key(KEY))
OTHER_KEY = signing.generate_private_key_text()

segments = st.from_regex(r"\A[a-zA-Z0-9_.-]{1,12}\Z").filter(lambda s: s not in (".", ".."))
abs_paths = st.lists(segments, min_size=1, max_size=5).map(lambda parts: "/" + "/".join(parts))


# ---------------------------------------------------------------- levels and tampering

def _tree(tmp_path):
    root = tmp_path / "tree"
    (root / "bin").mkdir(parents=True)
    (root / "etc").mkdir()
    for name in ("content", "forged", "same-size", "mode", "owner", "deleted", "silent"):
        (root / "etc" / name).write_text("original %s\n" % name)
    (root / "bin" / "tool").write_bytes(b"\x7fELF tool")
    os.symlink("content", str(root / "etc" / "link"))
    system = tmp_path / "system"
    (system / "units").mkdir(parents=True)
    (system / "units" / "app.service").write_text("[Service]\nExecStart=/bin/true\n")
    (system / "sudoers.d").mkdir()
    (system / "sudoers.d" / "ops").write_text("ops ALL=(ALL) ALL\n")
    system_paths = {"unit": [str(system / "units")], "sudoers": [str(system / "sudoers.d")]}
    return root, system, system_paths


def _baseline(root, system_paths, packages=None):
    entries = scan.add_hashes(scan.walk([str(root)]))
    system = scan.scan_system(system_paths)
    body = manifest.build_manifest(entries, [str(root)], system=system, packages=packages)
    return body


def _verify_all(data, system_paths, **kwargs):
    return dict((level, verify.verify(data, PUB, level, system_paths=system_paths, **kwargs))
                for level in common.LEVELS)


def _hits(results, path):
    out = {}
    for level, result in results.items():
        kinds = [v["kind"] for v in result["violations"] if v["path"] == path]
        if kinds:
            out[level] = kinds[0]
    return out


def test_clean_tree_has_no_violation_at_any_level(tmp_path, monkeypatch):
    monkeypatch.setattr(scan, "dpkg_verify", lambda timeout=600: {"/etc/known": "??5??????"})
    root, _system, system_paths = _tree(tmp_path)
    data = manifest.sign_manifest(_baseline(root, system_paths, packages={"/etc/known": "??5??????"}), KEY)
    for level, result in _verify_all(data, system_paths, reference_data=data).items():
        assert result["ok"], (level, result["violations"])
        assert result["counts"]["violations"] == 0
        assert result["files_checked"] >= 12


def test_each_tamper_is_caught_at_the_documented_level(tmp_path, monkeypatch):
    root, system, system_paths = _tree(tmp_path)
    monkeypatch.setattr(scan, "dpkg_verify", lambda timeout=600: {})
    body = _baseline(root, system_paths, packages={})
    # A content change that keeps size, mtime, ctime and inode (raw disk write): only a rehash sees it.
    body["entries"][str(root / "etc" / "silent")]["sha256"] = "0" * 64
    data = manifest.sign_manifest(body, KEY)
    time.sleep(0.05)  # ctime has jiffy resolution: let the clock move past the baseline
    etc = root / "etc"
    (etc / "content").write_text("changed content, longer\n")
    forged = etc / "forged"
    before = os.stat(str(forged))
    forged.write_text("tampered forged\n")  # same length as "original forged\n"
    os.utime(str(forged), ns=(before.st_atime_ns, before.st_mtime_ns))  # touch -r
    (etc / "same-size").write_text("tampered same-size\n")
    os.chmod(str(etc / "mode"), 0o666)
    if os.geteuid() == 0:
        os.chown(str(etc / "owner"), 1234, 1234)
    os.unlink(str(etc / "deleted"))
    (etc / "new").write_text("new")
    os.unlink(str(etc / "link"))
    os.symlink("/etc/shadow", str(etc / "link"))
    suid = root / "bin" / "rootshell"
    suid.write_bytes(b"\x7fELF")
    os.chmod(str(suid), 0o4755)
    (system / "units" / "app.service").write_text("[Service]\nExecStart=/bin/sh -c evil\n")
    (system / "sudoers.d" / "backdoor").write_text("eve ALL=(ALL) NOPASSWD: ALL\n")
    monkeypatch.setattr(scan, "dpkg_verify", lambda timeout=600: {"/usr/bin/login": "??5??????"})

    results = _verify_all(data, system_paths)
    every = dict.fromkeys(common.LEVELS)
    assert _hits(results, str(etc / "content")) == dict.fromkeys(common.LEVELS, "content")
    assert _hits(results, str(forged)) == {"standard": "content", "comprehensive": "content", "full": "content"}
    assert "ctime" in [c for c in results["standard"]["changed"] if c["path"] == str(forged)][0]["reasons"]
    assert "mtime" not in [c for c in results["standard"]["changed"] if c["path"] == str(forged)][0]["reasons"]
    assert set(_hits(results, str(etc / "same-size"))) == {"standard", "comprehensive", "full"}
    assert _hits(results, str(etc / "mode")) == dict.fromkeys(common.LEVELS, "mode")
    if os.geteuid() == 0:
        assert _hits(results, str(etc / "owner")) == dict.fromkeys(common.LEVELS, "owner")
    assert _hits(results, str(etc / "deleted")) == dict.fromkeys(common.LEVELS, "removed")
    assert _hits(results, str(etc / "new")) == dict.fromkeys(common.LEVELS, "added")
    assert _hits(results, str(etc / "link")) == dict.fromkeys(common.LEVELS, "target")
    assert _hits(results, str(suid)) == {"minimal": "added", "standard": "added", "comprehensive": "suid", "full": "suid"}
    assert _hits(results, str(etc / "silent")) == {"comprehensive": "content", "full": "content"}
    assert _hits(results, str(system / "units" / "app.service")) == {"comprehensive": "unit", "full": "unit"}
    assert _hits(results, str(system / "sudoers.d" / "backdoor")) == {"comprehensive": "sudoers", "full": "sudoers"}
    assert _hits(results, "/usr/bin/login") == {"comprehensive": "package", "full": "package"}
    assert set(every) == set(results)
    for result in results.values():
        assert not result["ok"]
        assert result["counts"]["violations"] == len(result["violations"])
        assert result["duration_seconds"] >= 0


def test_existing_file_gaining_suid_is_flagged(tmp_path):
    root, _system, system_paths = _tree(tmp_path)
    data = manifest.sign_manifest(_baseline(root, system_paths), KEY)
    os.chmod(str(root / "bin" / "tool"), 0o6755)
    results = _verify_all(data, system_paths, packages=False)
    expected = {"minimal": "mode", "standard": "mode", "comprehensive": "suid", "full": "suid"}
    assert _hits(results, str(root / "bin" / "tool")) == expected


def test_replaced_manifest_is_a_signature_violation(tmp_path):
    root, _system, system_paths = _tree(tmp_path)
    forged = manifest.sign_manifest(_baseline(root, system_paths), OTHER_KEY)
    result = verify.verify(forged, PUB, "standard", system_paths=system_paths, manifest_path="/var/lib/m.json")
    assert not result["ok"]
    assert [v["kind"] for v in result["violations"]] == ["signature"]
    assert "not a trusted key" in result["changed"][0]["details"]["signature"]


def test_rebaseline_on_host_is_caught_by_the_offhost_copy(tmp_path):
    root, _system, system_paths = _tree(tmp_path)
    genuine = manifest.sign_manifest(_baseline(root, system_paths), KEY)
    time.sleep(0.05)
    (root / "etc" / "content").write_text("backdoored\n")
    # The attacker owns the host and the signing key it could find: a fresh, valid-looking baseline.
    rebased = manifest.sign_manifest(_baseline(root, system_paths), KEY)
    local = verify.verify(rebased, PUB, "comprehensive", system_paths=system_paths, packages=False)
    assert local["ok"], "on-host checks alone cannot see a rebaseline"
    full = verify.verify(rebased, PUB, "full", reference_data=genuine, system_paths=system_paths, packages=False)
    kinds = sorted(set(v["kind"] for v in full["violations"]))
    assert kinds == ["content", "offhost"]
    assert full["offhost_sha256"] == manifest.manifest_digest(genuine)


def test_full_level_checks_backup_status_when_deployed(tmp_path):
    root, _system, system_paths = _tree(tmp_path)
    data = manifest.sign_manifest(_baseline(root, system_paths), KEY)
    prom = tmp_path / "backup.prom"
    prom.write_text("# HELP prodready_backup_restore_test_success ok\nprodready_backup_restore_test_success 0\n")
    backup = {"metric_file": str(prom), "metric_name": "prodready_backup_restore_test_success"}
    result = verify.verify(data, PUB, "full", system_paths=system_paths, packages=False, backup=backup)
    assert [v["kind"] for v in result["violations"]] == ["backup"]
    prom.write_text("prodready_backup_restore_test_success 1\n")
    assert verify.verify(data, PUB, "full", system_paths=system_paths, packages=False, backup=backup)["ok"]
    missing = verify.verify(data, PUB, "full", system_paths=system_paths, packages=False,
                            backup={"metric_file": str(tmp_path / "absent.prom")})
    assert missing["ok"] and "backup" in missing["skipped"]
    assert "offhost" in missing["skipped"] and "certificate" in missing["skipped"]


def test_unknown_level_is_a_clear_error():
    with pytest.raises(common.ConfigError, match="unknown level 'paranoid'"):
        verify.verify(b"", PUB, "paranoid")  # the level is checked before the manifest


def test_compare_manifests_reports_entry_differences(tmp_path):
    root, _system, system_paths = _tree(tmp_path)
    old = _baseline(root, system_paths)
    time.sleep(0.02)
    (root / "etc" / "content").write_text("x")
    os.unlink(str(root / "etc" / "deleted"))
    new = _baseline(root, system_paths)
    diff = compare.compare_manifests(old, new)
    # The directory's times changed too, but entries added/removed are reported per entry.
    assert [c["path"] for c in diff["changed"]] == [str(root / "etc" / "content")]
    assert "content" in diff["changed"][0]["reasons"]
    assert [r["path"] for r in diff["removed"]] == [str(root / "etc" / "deleted")]
    assert baseline.same_state(old, old) and not baseline.same_state(old, new)


# ---------------------------------------------------------------- cache, fingerprints

def test_result_cache_honours_ttl(tmp_path):
    cache = verify.ResultCache(str(tmp_path / "cache.json"), ttl=60)
    key = cache.key("standard", "abc")
    cache.put(key, {"ok": True, "level": "standard"}, now=1000.0)
    assert cache.get(key, now=1030.0)["cached"] is True
    assert cache.get(key, now=1061.0) is None
    assert cache.get(cache.key("full", "abc"), now=1030.0) is None
    assert oct(os.stat(str(tmp_path / "cache.json")).st_mode & 0o777) == "0o600"
    disabled = verify.ResultCache(str(tmp_path / "off.json"), ttl=0)
    disabled.put(key, {"ok": True})
    assert disabled.get(key) is None and not os.path.exists(str(tmp_path / "off.json"))


@given(st.lists(st.tuples(abs_paths, st.sampled_from(common.VIOLATION_KINDS)), max_size=6, unique=True))
def test_fingerprint_ignores_order(items):
    violations = [{"path": p, "kind": k, "reasons": [k]} for p, k in items]
    forward = notify.violation_fingerprint({"violations": violations})
    backward = notify.violation_fingerprint({"violations": list(reversed(violations))})
    assert forward == backward
    assert (forward == "") == (not violations)
