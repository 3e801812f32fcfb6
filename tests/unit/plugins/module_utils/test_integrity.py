import base64
import hashlib
import json
import os
import stat
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.prodready.platform.plugins.module_utils._integrity import baseline
from ansible_collections.prodready.platform.plugins.module_utils._integrity import common
from ansible_collections.prodready.platform.plugins.module_utils._integrity import compare
from ansible_collections.prodready.platform.plugins.module_utils._integrity import manifest
from ansible_collections.prodready.platform.plugins.module_utils._integrity import notify
from ansible_collections.prodready.platform.plugins.module_utils._integrity import offhost
from ansible_collections.prodready.platform.plugins.module_utils._integrity import pathrules
from ansible_collections.prodready.platform.plugins.module_utils._integrity import record as record_lib
from ansible_collections.prodready.platform.plugins.module_utils._integrity import scan
from ansible_collections.prodready.platform.plugins.module_utils._integrity import signing
from ansible_collections.prodready.platform.plugins.module_utils._integrity import verify

KEY = signing.generate_private_key_text()
PUB = signing.public_key_text(signing.load_private_key(KEY))
OTHER_KEY = signing.generate_private_key_text()
OTHER_PUB = signing.public_key_text(signing.load_private_key(OTHER_KEY))

segments = st.from_regex(r"\A[a-zA-Z0-9_.-]{1,12}\Z").filter(lambda s: s not in (".", ".."))
abs_paths = st.lists(segments, min_size=1, max_size=5).map(lambda parts: "/" + "/".join(parts))
entry_strategy = st.fixed_dictionaries({
    "type": st.sampled_from(["file", "dir", "symlink", "other"]),
    "size": st.integers(0, 2 ** 40),
    "mode": st.integers(0, 0o7777),
    "uid": st.integers(0, 2 ** 32 - 1),
    "gid": st.integers(0, 2 ** 32 - 1),
    "mtime_ns": st.integers(0, 2 ** 63 - 1),
    "ctime_ns": st.integers(0, 2 ** 63 - 1),
    "inode": st.integers(0, 2 ** 64 - 1),
    "sha256": st.text("0123456789abcdef", min_size=64, max_size=64),
})


# ---------------------------------------------------------------- path rules

@given(abs_paths)
def test_literal_pattern_matches_only_itself(path):
    rules = pathrules.PathRules(exclude=[path])
    assert rules.excluded(path)
    assert not rules.excluded(path + "x")
    assert not rules.excluded(path + "/child")


@given(abs_paths, segments, segments)
def test_single_star_stays_in_one_component(parent, name, deeper):
    rules = pathrules.PathRules(include=[parent + "/*"])
    assert rules.included(parent + "/" + name)
    assert not rules.included(parent + "/" + name + "/" + deeper)


@given(abs_paths, st.lists(segments, min_size=1, max_size=4))
def test_double_star_spans_components_and_covers_the_directory(parent, rest):
    rules = pathrules.PathRules(exclude=[parent + "/**"])
    assert rules.excluded(parent)
    assert rules.excluded(parent + "/" + "/".join(rest))
    assert not rules.excluded(parent + "x")


@given(abs_paths)
def test_exclude_wins_over_include(path):
    rules = pathrules.PathRules(include=["/**"], exclude=[path])
    assert not rules.included(path)
    assert rules.included(path + "-other")


@given(st.lists(segments, min_size=1, max_size=4), segments)
def test_pattern_without_slash_matches_the_last_component(parents, stem):
    rules = pathrules.PathRules(exclude=["*.log"])
    base = "/" + "/".join(parents)
    assert rules.excluded(base + "/" + stem + ".log")
    assert not rules.excluded(base + "/" + stem + ".log.gz")


def test_character_class_and_question_mark():
    rules = pathrules.PathRules(include=["/etc/rc[0-6].d/S??*"])
    assert rules.included("/etc/rc2.d/S01ssh")
    assert not rules.included("/etc/rc7.d/S01ssh")
    assert not rules.included("/etc/rc2.d/S1")


def test_walk_prunes_excluded_directories(tmp_path):
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "a.conf").write_text("a")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "big").write_text("b")
    (tmp_path / "keep" / "x.log").write_text("c")
    root = str(tmp_path)
    entries = scan.walk([root], pathrules.PathRules(exclude=[root + "/cache/**", "*.log"]))
    assert sorted(entries) == sorted([root, root + "/keep", root + "/keep/a.conf"])


def test_walk_records_every_field(tmp_path):
    target = tmp_path / "file"
    target.write_bytes(b"hello")
    os.symlink("file", str(tmp_path / "link"))
    entries = scan.add_hashes(scan.walk([str(tmp_path)]))
    st_ = os.lstat(str(target))
    record = entries[str(target)]
    assert record == {"type": "file", "size": 5, "mode": stat.S_IMODE(st_.st_mode), "uid": st_.st_uid,
                      "gid": st_.st_gid, "mtime_ns": st_.st_mtime_ns, "ctime_ns": st_.st_ctime_ns,
                      "inode": st_.st_ino, "sha256": hashlib.sha256(b"hello").hexdigest()}
    assert entries[str(tmp_path / "link")]["type"] == "symlink"
    assert entries[str(tmp_path / "link")]["target"] == "file"
    assert "sha256" not in entries[str(tmp_path / "link")]


def test_missing_and_relative_paths_are_clear_errors(tmp_path):
    with pytest.raises(common.ConfigError, match="does not exist"):
        scan.walk([str(tmp_path / "nope")])
    with pytest.raises(common.ConfigError, match="absolute"):
        scan.walk(["relative/path"])
    with pytest.raises(common.ConfigError, match="at least one path"):
        scan.walk([])


def test_parallel_hashing_matches_sequential(tmp_path):
    for index in range(60):
        (tmp_path / ("f%d" % index)).write_bytes(os.urandom(index * 40000))
    files = [str(p) for p in tmp_path.iterdir()]
    assert scan.hash_files(files, workers=4) == scan.hash_files(files, workers=1)
    for path, (digest, error) in scan.hash_files(files, workers=4).items():
        with open(path, "rb") as handle:
            assert digest == hashlib.sha256(handle.read()).hexdigest()
        assert error is None


# ---------------------------------------------------------------- manifest format

def _body(entries):
    return manifest.build_manifest(entries, ["/srv"], host="h", created="2026-01-01T00:00:00Z")


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(abs_paths, entry_strategy, max_size=8))
def test_manifest_round_trip(entries):
    body = _body(entries)
    data = manifest.sign_manifest(body, KEY)
    assert manifest.load_manifest(data, PUB) == json.loads(json.dumps(body))
    assert manifest.load_manifest_unverified(data) == body
    assert manifest.manifest_header(data)["format_version"] == common.FORMAT_VERSION


SMALL = manifest.sign_manifest(_body({"/srv/a": {"type": "file", "size": 1, "mode": 420, "uid": 0, "gid": 0,
                                                  "mtime_ns": 1, "ctime_ns": 2, "inode": 3, "sha256": "0" * 64}}), KEY)


@settings(max_examples=400)
@given(st.integers(0, len(SMALL) - 1), st.integers(1, 255))
def test_any_byte_flip_fails(position, mask):
    flipped = bytearray(SMALL)
    flipped[position] ^= mask
    with pytest.raises(common.ManifestError):
        manifest.load_manifest(bytes(flipped), PUB)


def test_wrong_key_refused():
    with pytest.raises(common.SignatureError, match="not a trusted key"):
        manifest.load_manifest(SMALL, OTHER_PUB)
    # Key rotation: any trusted key in the list verifies.
    assert manifest.load_manifest(SMALL, [OTHER_PUB, PUB])["host"] == "h"


def test_forged_key_id_still_fails():
    header, body = SMALL.split(b"\n", 1)
    forged = manifest.sign_manifest(json.loads(body), OTHER_KEY)
    fake_header = json.loads(forged.split(b"\n", 1)[0])
    fake_header["key_id"] = signing.key_id(signing.load_public_key(PUB))
    data = manifest.canonical_json(fake_header) + b"\n" + forged.split(b"\n", 1)[1]
    with pytest.raises(common.SignatureError, match="does not verify"):
        manifest.load_manifest(data, PUB)


def test_newer_format_version_refused():
    body = _body({})
    body["format_version"] = common.FORMAT_VERSION + 1
    data = manifest.sign_manifest(body, KEY)
    with pytest.raises(common.UnsupportedVersionError, match="newer than this library supports"):
        manifest.load_manifest(data, PUB)
    with pytest.raises(common.UnsupportedVersionError):
        verify.verify(data, PUB, "minimal")


def test_garbage_is_a_clear_error():
    for data in (b"", b"{}\n{}\n", b"not json\n{}\n", SMALL + b"\n"):
        with pytest.raises(common.ManifestError):
            manifest.load_manifest(data, PUB)


@pytest.mark.parametrize("text", [KEY, "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----", "AAAA"])
def test_key_loading(text):
    if text == KEY:
        assert signing.public_key_text(signing.load_private_key(text)) == PUB
    else:
        with pytest.raises(common.ConfigError):
            signing.load_private_key(text)


def test_pem_keys_are_accepted():
    from cryptography.hazmat.primitives import serialization
    key = signing.load_private_key(KEY)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    pub_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    data = manifest.sign_manifest(_body({}), pem.decode())
    assert manifest.load_manifest(data, pub_pem.decode())["host"] == "h"


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
        verify.verify(SMALL, PUB, "paranoid")


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


def test_dpkg_verify_parser(monkeypatch):
    class Proc(object):
        returncode = 1

        def communicate(self, timeout=None):
            return (b"??5??????   /usr/bin/login\n??5?????? c /etc/ssh/sshd_config\nmissing     /usr/share/doc/x\n", b"")

    monkeypatch.setattr(scan.subprocess, "Popen", lambda *a, **k: Proc())
    monkeypatch.setattr(scan.os.path, "exists", lambda p: p == "/usr/bin/dpkg")
    assert scan.dpkg_verify() == {"/usr/bin/login": "??5??????", "/etc/ssh/sshd_config": "??5?????? conffile",
                                       "/usr/share/doc/x": "missing"}


def test_keys_are_base64_of_32_bytes():
    assert len(base64.b64decode(KEY)) == 32 and len(base64.b64decode(PUB)) == 32
    assert len(signing.key_id(signing.load_public_key(PUB))) == 16


def test_tree_metadata_unchanged_covers_the_system_groups(tmp_path):
    root, units = tmp_path / "root", tmp_path / "units"
    root.mkdir()
    units.mkdir()
    (root / "a").write_text("a")
    (units / "x.service").write_text("[Unit]\n")
    system_paths = {"units": [str(units)], "sudoers": [str(tmp_path / "absent")]}
    body = baseline.create_baseline([str(root)], system_paths=system_paths, packages=False, package_owners=False)[0]
    assert "sha256" in body["system"]["units"][str(units / "x.service")]
    assert "sha256" not in scan.scan_system(system_paths, hashes=False)["units"][str(units / "x.service")]
    assert record_lib.tree_metadata_unchanged(body, [str(root)], None, system_paths)
    assert not record_lib.tree_metadata_unchanged(body, [str(root)], None, {})  # system checks switched off
    time.sleep(0.02)
    (units / "y.service").write_text("[Unit]\n")
    assert not record_lib.tree_metadata_unchanged(body, [str(root)], None, system_paths)
    assert not record_lib.tree_metadata_unchanged(body, [str(tmp_path / "gone")], None, system_paths)


def test_confirmation_record_round_trip_and_tampering():
    key = signing.load_private_key(signing.generate_private_key_text())
    data = record_lib.sign_record({"manifest_sha256": "ab" * 32, "n": 1}, key)
    assert record_lib.load_record(data, key) == {"manifest_sha256": "ab" * 32, "n": 1}
    assert record_lib.load_record(data.replace(b'"n":1', b'"n":2'), key) is None
    assert record_lib.load_record(b"not a record", key) is None
    assert record_lib.load_record(data, signing.load_private_key(signing.generate_private_key_text())) is None
    assert record_lib.dpkg_status_digest("/nonexistent-dpkg-dir") is None


def test_an_unreachable_s3_endpoint_is_an_integrity_error():
    """A closed port is not an S3 answer: callers (the baseline action, the monitor's full level)
    get an IntegrityError they report, not a botocore traceback."""
    pytest.importorskip("boto3")
    options = {"endpoint_url": "http://127.0.0.1:9", "bucket": "b", "key": "k", "access_key": "a", "secret_key": "s"}
    with pytest.raises(common.IntegrityError, match="cannot reach the S3 endpoint"):
        offhost.s3_get(options)
    with pytest.raises(common.IntegrityError):
        offhost.s3_put(options, b"x")
