import hashlib
import json
import os
import time
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.prodready.platform.plugins.module_utils._integrity import baseline
from ansible_collections.prodready.platform.plugins.module_utils._integrity import common
from ansible_collections.prodready.platform.plugins.module_utils._integrity import manifest as manifest_lib
from ansible_collections.prodready.platform.plugins.module_utils._integrity import offhost as offhost_lib
from ansible_collections.prodready.platform.plugins.module_utils._integrity import record as record_lib
from ansible_collections.prodready.platform.plugins.module_utils._integrity import scan
from ansible_collections.prodready.platform.plugins.module_utils._integrity import signing
from ansible_collections.prodready.platform.plugins.action import integrity_baseline as baseline_action
from ansible_collections.prodready.platform.plugins.modules import integrity_baseline, integrity_verify

KEY = signing.generate_private_key_text()
PUB = signing.public_key_text(signing.load_private_key(KEY))
OTHER_KEY = signing.generate_private_key_text()


class Exit(Exception):
    def __init__(self, kwargs, failed):
        super(Exit, self).__init__(kwargs.get("msg", ""))
        self.result = kwargs
        self.failed = failed


@pytest.fixture(autouse=True)
def capture(monkeypatch):
    def exit_json(self, **kwargs):
        raise Exit(kwargs, False)

    def fail_json(self, **kwargs):
        raise Exit(kwargs, True)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(scan, "dpkg_verify", lambda timeout=600: {})


def run_direct(module, args, check=False, diff=False):
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(Exit) as info:
            module.main()
    return info.value


SENT_TO_HOST = []


def run_action(args, check=False, diff=False, host="testhost"):
    """integrity_baseline as a playbook runs it: its action on the controller, the module (called
    in-process) on the "host". Every argument the host receives is kept in SENT_TO_HOST."""
    task = MagicMock()
    task.args, task.async_val, task.check_mode, task.diff = dict(args), 0, check, diff
    play_context = MagicMock()
    play_context.check_mode = check
    action = baseline_action.ActionModule(task, MagicMock(), play_context, MagicMock(), MagicMock(), MagicMock())

    def execute(module_name, module_args, task_vars):
        assert module_name == "prodready.platform.integrity_baseline"
        SENT_TO_HOST.append(json.dumps(module_args))
        out = run_direct(integrity_baseline, module_args, check=check, diff=diff)
        return dict(out.result, failed=out.failed)
    action._execute_module = execute
    try:
        return Exit(action.run(task_vars={"inventory_hostname": host}), False)
    except AnsibleActionFail as exc:
        return Exit(dict(exc.result or {}, msg=str(exc)), True)


def run(module, args, check=False, diff=False):
    if module is integrity_baseline:
        return run_action(args, check=check, diff=diff)
    return run_direct(module, args, check=check, diff=diff)


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "srv"
    root.mkdir()
    (root / "app.conf").write_text("port=80\n")
    (root / "bin").mkdir()
    (root / "bin" / "app").write_bytes(b"\x7fELF app")
    return root


def baseline_args(tmp_path, root, **extra):
    args = {"path": str(tmp_path / "state" / "baseline.json"), "paths": [str(root)], "private_key": KEY,
            "system_checks": False}
    args.update(extra)
    return args


def verify_args(tmp_path, **extra):
    args = {"path": str(tmp_path / "state" / "baseline.json"), "public_key": [PUB],
            "cache_path": str(tmp_path / "state" / "cache.json")}
    args.update(extra)
    return args


def test_baseline_check_mode_creates_nothing_then_creates_then_idempotent(tmp_path, tree):
    manifest = tmp_path / "state" / "baseline.json"
    out = run(integrity_baseline, baseline_args(tmp_path, tree), check=True, diff=True)
    assert not out.failed and out.result["changed"] and out.result["action"] == "created"
    assert not manifest.exists()
    assert "+ %s/app.conf" % tree in out.result["diff"]["after"]
    out = run(integrity_baseline, baseline_args(tmp_path, tree))
    assert out.result["changed"] and manifest.exists()
    assert oct(os.stat(str(manifest)).st_mode & 0o777) == "0o640"
    assert manifest_lib.load_manifest(manifest.read_bytes(), PUB)["config"]["paths"] == [str(tree)]
    again = run(integrity_baseline, baseline_args(tmp_path, tree))
    assert not again.result["changed"] and again.result["action"] == "unchanged"


def test_baseline_refresh_reports_diff_and_keeps_without_refresh(tmp_path, tree):
    run(integrity_baseline, baseline_args(tmp_path, tree))
    before = (tmp_path / "state" / "baseline.json").read_bytes()
    time.sleep(0.02)
    (tree / "app.conf").write_text("port=8080\n")
    (tree / "new").write_text("x")
    kept = run(integrity_baseline, baseline_args(tmp_path, tree))
    assert not kept.result["changed"] and kept.result["action"] == "kept"
    assert kept.result["added"] == [str(tree / "new")]
    assert (tmp_path / "state" / "baseline.json").read_bytes() == before
    check = run(integrity_baseline, baseline_args(tmp_path, tree, refresh=True), check=True, diff=True)
    assert check.result["changed"] and (tmp_path / "state" / "baseline.json").read_bytes() == before
    assert "%s/app.conf (" % tree in check.result["diff"]["after"]
    refreshed = run(integrity_baseline, baseline_args(tmp_path, tree, refresh=True))
    assert refreshed.result["changed"] and refreshed.result["action"] == "refreshed"
    assert any(c["path"] == str(tree / "app.conf") and "content" in c["reasons"] for c in refreshed.result["changed_entries"])
    # A rebaseline with nothing to accept changes nothing (the same signed bytes stay).
    after = (tmp_path / "state" / "baseline.json").read_bytes()
    again = run(integrity_baseline, baseline_args(tmp_path, tree, refresh=True))
    assert not again.result["changed"] and again.result["action"] == "unchanged"
    assert (tmp_path / "state" / "baseline.json").read_bytes() == after


def test_baseline_never_overwritten_with_wrong_key(tmp_path, tree):
    run(integrity_baseline, baseline_args(tmp_path, tree))
    before = (tmp_path / "state" / "baseline.json").read_bytes()
    out = run(integrity_baseline, baseline_args(tmp_path, tree, private_key=OTHER_KEY, refresh=True))
    assert out.failed and "Refusing to overwrite" in out.result["msg"]
    assert (tmp_path / "state" / "baseline.json").read_bytes() == before
    # Rotation re-signs the body that was trusted, not the tree as it is now: drift stays drift.
    time.sleep(0.02)
    (tree / "dropped").write_text("x")
    rotated = run(integrity_baseline, baseline_args(tmp_path, tree, private_key=OTHER_KEY, previous_public_key=[PUB]))
    assert rotated.result["changed"] and rotated.result["action"] == "rotated"
    assert rotated.result["key_id"] == signing.key_id(signing.load_private_key(OTHER_KEY))
    assert rotated.result["added"] == [str(tree / "dropped")]
    body = manifest_lib.load_manifest((tmp_path / "state" / "baseline.json").read_bytes(),
                                      signing.public_key_text(signing.load_private_key(OTHER_KEY)))
    assert str(tree / "dropped") not in body["entries"] and body["host"] == "testhost"


def test_no_key_or_write_credential_reaches_the_host(tmp_path, tree, monkeypatch):
    store, _reads = fake_s3(monkeypatch)
    del SENT_TO_HOST[:]
    offhost = {"bucket": "b", "key": "k", "endpoint_url": "http://s3.invalid", "access_key": "AKIAWRITE",
               "secret_key": "write-secret-0123456789"}
    run(integrity_baseline, baseline_args(tmp_path, tree, offhost=offhost))
    (tree / "new").write_text("x")
    run(integrity_baseline, baseline_args(tmp_path, tree, offhost=offhost, refresh=True))
    assert len(SENT_TO_HOST) == 4 and store["k"]
    sent = "\n".join(SENT_TO_HOST)
    for secret in (KEY, "AKIAWRITE", "write-secret-0123456789"):
        assert secret not in sent
    # Called without its action (as a raw module), the module refuses a key outright.
    out = run_direct(integrity_baseline, baseline_args(tmp_path, tree, public_key=[PUB]))
    assert out.failed and "belong to the controller" in out.result["msg"]


def test_missing_key_and_unreachable_store_fail_before_anything_is_written(tmp_path, tree, monkeypatch):
    out = run(integrity_baseline, baseline_args(tmp_path, tree, private_key=""))
    assert out.failed and "no signing key on the controller" in out.result["msg"]

    def unreachable(options):
        raise common.IntegrityError("could not connect to the endpoint URL")
    monkeypatch.setattr(offhost_lib, "s3_get", unreachable)
    monkeypatch.setattr(offhost_lib, "s3_put", lambda options, data: pytest.fail("nothing may be uploaded"))
    out = run(integrity_baseline, baseline_args(tmp_path, tree, offhost={"bucket": "b", "key": "k"}))
    assert out.failed and "unreachable, nothing was written" in out.result["msg"]
    assert not (tmp_path / "state" / "baseline.json").exists()


def test_another_hosts_genuine_manifest_is_refused(tmp_path, tree):
    run_action(baseline_args(tmp_path, tree), host="host-a")
    before = (tmp_path / "state" / "baseline.json").read_bytes()
    out = run_action(baseline_args(tmp_path, tree), host="host-b")
    assert out.failed and "'host-a'" in out.result["msg"] and "'host-b'" in out.result["msg"]
    assert (tmp_path / "state" / "baseline.json").read_bytes() == before
    planted = run(integrity_verify, verify_args(tmp_path, host="host-b"))
    assert planted.failed and planted.result["violations"][0]["kind"] == "binding"
    narrower = run(integrity_verify, verify_args(tmp_path, host="host-a", paths=[str(tree), "/etc"]))
    assert narrower.failed and "covers paths" in narrower.result["changed_entries"][0]["details"]["binding"]
    assert run(integrity_verify, verify_args(tmp_path, host="host-a", paths=[str(tree)])).result["ok"]


def test_baseline_missing_path_is_a_clear_error(tmp_path):
    out = run(integrity_baseline, baseline_args(tmp_path, tmp_path / "absent"))
    assert out.failed and "does not exist" in out.result["msg"]
    assert not (tmp_path / "state" / "baseline.json").exists()


def test_verify_clean_then_violations(tmp_path, tree):
    run(integrity_baseline, baseline_args(tmp_path, tree))
    clean = run(integrity_verify, verify_args(tmp_path, level="standard"), check=True)
    assert not clean.failed and clean.result["ok"] and clean.result["changed"] is False
    assert clean.result["changed_entries"] == []
    time.sleep(0.02)
    os.chmod(str(tree / "app.conf"), 0o600)
    out = run(integrity_verify, verify_args(tmp_path, level="minimal"))
    assert out.failed and "1 integrity violation(s) at level minimal (mode 1)" in out.result["msg"]
    assert out.result["changed_entries"][0]["details"]["mode"][1] == "0600"
    soft = run(integrity_verify, verify_args(tmp_path, level="comprehensive", fail_on_violation=False))
    assert not soft.failed and not soft.result["ok"] and soft.result["counts"]["by_kind"]["mode"] == 1
    assert soft.result["duration_seconds"] >= 0 and soft.result["files_hashed"] >= 2


def test_verify_bad_inputs(tmp_path, tree):
    out = run(integrity_verify, verify_args(tmp_path, level="paranoid"))
    assert out.failed and "paranoid" in out.result["msg"]
    out = run(integrity_verify, verify_args(tmp_path))
    assert out.failed and "does not exist" in out.result["msg"]
    manifest = tmp_path / "state" / "baseline.json"
    manifest.parent.mkdir()
    body = manifest_lib.build_manifest({}, [str(tree)])
    body["format_version"] = 99
    manifest.write_bytes(manifest_lib.sign_manifest(body, KEY))
    out = run(integrity_verify, verify_args(tmp_path))
    assert out.failed and "format version 99 is newer" in out.result["msg"]


def test_verify_wrong_key_is_a_signature_violation(tmp_path, tree):
    run(integrity_baseline, baseline_args(tmp_path, tree, private_key=OTHER_KEY))
    out = run(integrity_verify, verify_args(tmp_path))
    assert out.failed and out.result["violations"][0]["kind"] == "signature"
    assert "not a trusted key" in out.result["msg"] or "signature" in out.result["msg"]


def test_verify_cache_ttl(tmp_path, tree):
    run(integrity_baseline, baseline_args(tmp_path, tree))
    first = run(integrity_verify, verify_args(tmp_path, cache_ttl=300))
    assert not first.result.get("cached")
    (tree / "late").write_text("x")
    cached = run(integrity_verify, verify_args(tmp_path, cache_ttl=300))
    assert cached.result["cached"] and cached.result["ok"]
    fresh = run(integrity_verify, verify_args(tmp_path, cache_ttl=0))
    assert fresh.failed and fresh.result["counts"]["added"] == 1


def fake_dpkg(tmp_path, tree, version, content, upgrade_from=None):
    """A one-package dpkg database (status, list, md5sums) and log owning tree/bin/app."""
    admin, log = tmp_path / "dpkg", tmp_path / "dpkg.log"
    (admin / "info").mkdir(parents=True, exist_ok=True)
    app = tree / "bin" / "app"
    tmp = tree / "bin" / "app.dpkg-new"
    tmp.write_bytes(content)
    os.rename(str(tmp), str(app))
    (admin / "status").write_text("Package: app\nStatus: install ok installed\nArchitecture: amd64\nVersion: %s\n" % version)
    (admin / "info" / "app.list").write_text("/.\n%s\n%s\n" % (tree / "bin", app))
    (admin / "info" / "app.md5sums").write_text("%s  %s\n" % (hashlib.md5(content).hexdigest(), str(app).lstrip("/")))
    if upgrade_from:
        with open(str(log), "a") as handle:
            handle.write("2026-12-02 03:00:00 upgrade app:amd64 %s %s\n" % (upgrade_from, version))
    return {"dpkg_admin_dir": str(admin), "dpkg_log": str(log)}


def test_package_update_accepted_by_verify_and_never_re_signed_by_a_converge(tmp_path, tree):
    dpkg = fake_dpkg(tmp_path, tree, "1.0-1", b"\x7fELF app 1.0")
    created = run(integrity_baseline, baseline_args(tmp_path, tree, **dpkg))
    assert created.result["action"] == "created"
    before = (tmp_path / "state" / "baseline.json").read_bytes()
    dpkg = fake_dpkg(tmp_path, tree, "1.0-2", b"\x7fELF app 1.0 with the security fix", upgrade_from="1.0-1")
    out = run(integrity_verify, verify_args(tmp_path, level="standard", **dpkg))
    assert not out.failed and out.result["ok"] and out.result["counts"]["package_updates"] == 1
    assert out.result["package_updates"][0]["to_version"] == "1.0-2"
    strict = run(integrity_verify, verify_args(tmp_path, level="standard", accept_package_updates=False, **dpkg))
    assert strict.failed and strict.result["violations"][0]["kind"] == "content"
    # The dpkg database that explains the update is root's to edit: a converge reports, never signs.
    kept = run(integrity_baseline, baseline_args(tmp_path, tree, accept_package_updates=True, **dpkg), diff=True)
    assert kept.result["action"] == "kept" and not kept.result["changed"]
    assert [u["path"] for u in kept.result["package_updates"]] == [str(tree / "bin" / "app")]
    assert (tmp_path / "state" / "baseline.json").read_bytes() == before
    # The rebaseline (refresh) signs it, after the operator asked.
    refreshed = run(integrity_baseline, baseline_args(tmp_path, tree, refresh=True, **dpkg))
    assert refreshed.result["action"] == "refreshed"
    body = manifest_lib.load_manifest((tmp_path / "state" / "baseline.json").read_bytes(), PUB)
    assert body["packages"]["dpkg_owners"]["app"]["version"] == "1.0-2"
    after = run(integrity_verify, verify_args(tmp_path, level="comprehensive", **dpkg))
    assert after.result["ok"] and after.result["package_updates"] == []


def test_baseline_not_re_signed_when_anything_else_changed(tmp_path, tree):
    dpkg = fake_dpkg(tmp_path, tree, "1.0-1", b"app 1.0")
    run(integrity_baseline, baseline_args(tmp_path, tree, **dpkg))
    before = (tmp_path / "state" / "baseline.json").read_bytes()
    dpkg = fake_dpkg(tmp_path, tree, "1.0-2", b"app 1.0-2", upgrade_from="1.0-1")
    (tree / "app.conf").write_text("port=8081\n")
    kept = run(integrity_baseline, baseline_args(tmp_path, tree, accept_package_updates=True, **dpkg))
    assert kept.result["action"] == "kept" and not kept.result["changed"]
    assert [o["path"] for o in kept.result["not_package_updates"]] == [str(tree / "app.conf")]
    assert len(kept.result["package_updates"]) == 1
    assert (tmp_path / "state" / "baseline.json").read_bytes() == before


# --- The confirmed fast path (module_utils integrity, "Confirmation record") ---------------------

def no_full_scan(monkeypatch):
    """Fail the test if the module hashes, runs dpkg --verify or reads the off-host copy."""
    def refuse(*args, **kwargs):
        raise AssertionError("the confirmed run must not scan in full or read the off-host copy")
    monkeypatch.setattr(baseline, "create_baseline", refuse)
    monkeypatch.setattr(offhost_lib, "s3_get", refuse)


def fake_s3(monkeypatch):
    """An in-memory off-host store; returns its dict (key -> bytes) and the list of reads."""
    store, reads = {}, []

    def s3_get(options):
        reads.append(options["key"])
        return store.get(options["key"])

    def s3_put(options, data):
        store[options["key"]] = data
        return {"bucket": options["bucket"], "key": options["key"], "object_lock": False, "version_id": None}
    monkeypatch.setattr(offhost_lib, "s3_get", s3_get)
    monkeypatch.setattr(offhost_lib, "s3_put", s3_put)
    monkeypatch.setattr(offhost_lib, "missing_library", lambda offhost=False: None)
    return store, reads


def test_confirmed_run_skips_the_full_scan_and_says_so(tmp_path, tree, monkeypatch):
    record = tmp_path / "state" / "baseline.json.confirmed"
    created = run(integrity_baseline, baseline_args(tmp_path, tree))
    assert created.result["action"] == "created" and not created.result["confirmed"]
    assert record.exists() and oct(os.stat(str(record)).st_mode & 0o777) == "0o600"
    no_full_scan(monkeypatch)
    again = run(integrity_baseline, baseline_args(tmp_path, tree))
    assert not again.failed and not again.result["changed"]
    assert again.result["action"] == "unchanged" and again.result["confirmed"]
    assert again.result["manifest_sha256"] == created.result["manifest_sha256"]
    checked = run(integrity_baseline, baseline_args(tmp_path, tree), check=True)
    assert checked.result["confirmed"] and not checked.result["changed"]


def test_full_run_confirms_only_after_it_found_the_baseline_current(tmp_path, tree):
    record = tmp_path / "state" / "baseline.json.confirmed"
    run(integrity_baseline, baseline_args(tmp_path, tree), check=True)
    assert not record.exists()  # check mode writes nothing
    run(integrity_baseline, baseline_args(tmp_path, tree, trust_confirmation=False))
    record.unlink()
    full = run(integrity_baseline, baseline_args(tmp_path, tree))
    assert full.result["action"] == "unchanged" and not full.result["confirmed"] and not full.result["changed"]
    assert record.exists()  # a cache of the finding, not a change
    time.sleep(0.02)
    (tree / "new").write_text("x")
    kept = run(integrity_baseline, baseline_args(tmp_path, tree))
    assert kept.result["action"] == "kept" and kept.result["added"] == [str(tree / "new")]
    assert not record.exists()  # the drift is reported by every run until it is resolved
    (tree / "new").unlink()


@pytest.mark.parametrize("drift", ["content", "chmod", "added", "removed", "symlink", "manifest", "record", "options",
                                   "dpkg", "no_trust", "refresh", "host"])
def test_anything_the_record_is_bound_to_voids_it(tmp_path, tree, monkeypatch, drift):
    (tree / "link").symlink_to("app.conf")
    admin = tmp_path / "dpkg"
    admin.mkdir()
    (admin / "status").write_text("Package: base-files\nStatus: install ok installed\nVersion: 12\n")
    args = baseline_args(tmp_path, tree, dpkg_admin_dir=str(admin))
    run(integrity_baseline, args)
    manifest = tmp_path / "state" / "baseline.json"
    record = tmp_path / "state" / "baseline.json.confirmed"
    time.sleep(0.02)
    if drift == "content":
        # Same size, the mtime put back: only the ctime (and the hash) tell.
        st = os.stat(str(tree / "app.conf"))
        (tree / "app.conf").write_text("port=81\n")
        os.utime(str(tree / "app.conf"), ns=(st.st_atime_ns, st.st_mtime_ns))
    elif drift == "chmod":
        os.chmod(str(tree / "app.conf"), 0o600)
    elif drift == "added":
        (tree / "bin" / "extra").write_text("x")
    elif drift == "removed":
        (tree / "bin" / "app").unlink()
    elif drift == "symlink":
        (tree / "link").unlink()
        (tree / "link").symlink_to("bin/app")
    elif drift == "manifest":
        # Another genuine manifest of this host (an older one restored): another digest.
        body = manifest_lib.load_manifest(manifest.read_bytes(), PUB)
        manifest.write_bytes(manifest_lib.sign_manifest(dict(body, created="2020-01-01T00:00:00Z"), signing.load_private_key(KEY)))
    elif drift == "record":
        header, body = record.read_bytes().split(b"\n")[:2]
        record.write_bytes(header + b"\n" + body.replace(b'"manifest_sha256":"', b'"manifest_sha256":"0') + b"\n")
    elif drift == "host":
        run_args = dict(args)
        out = run_action(run_args, host="renamed")
        assert out.failed and "not its own" in out.result["msg"]
        return
    elif drift == "options":
        args = dict(args, exclude=["*.swp"])
    elif drift == "dpkg":
        (admin / "status").write_text("Package: base-files\nStatus: install ok installed\nVersion: 13\n")
    elif drift == "no_trust":
        args = dict(args, trust_confirmation=False)
    elif drift == "refresh":
        args = dict(args, refresh=True)
    scanned = []
    real = baseline.create_baseline
    monkeypatch.setattr(baseline, "create_baseline", lambda *a, **k: scanned.append(1) or real(*a, **k))
    out = run(integrity_baseline, args)
    assert not out.failed and scanned and not out.result["confirmed"]


def test_record_signed_by_another_key_is_ignored(tmp_path, tree):
    run(integrity_baseline, baseline_args(tmp_path, tree))
    record = tmp_path / "state" / "baseline.json.confirmed"
    other = signing.load_private_key(OTHER_KEY)
    forged = record_lib.sign_record(record_lib.load_record(record.read_bytes(), signing.load_private_key(KEY)), other)
    record.write_bytes(forged)
    assert record_lib.load_record(forged, signing.load_private_key(KEY)) is None
    out = run(integrity_baseline, baseline_args(tmp_path, tree))
    assert out.result["action"] == "unchanged" and not out.result["confirmed"]


def test_offhost_is_read_until_confirmed_and_again_when_the_local_baseline_changes(tmp_path, tree, monkeypatch):
    store, reads = fake_s3(monkeypatch)
    offhost = {"bucket": "b", "key": "host/baseline.json", "endpoint_url": "http://s3.invalid"}
    created = run(integrity_baseline, baseline_args(tmp_path, tree, offhost=offhost))
    assert created.result["changed"] and store["host/baseline.json"] == (tmp_path / "state" / "baseline.json").read_bytes()
    confirmed = run(integrity_baseline, baseline_args(tmp_path, tree, offhost=offhost))
    assert confirmed.result["confirmed"] and confirmed.result["offhost"]["up_to_date"] and len(reads) == 1
    # Another location: never confirmed there, so it is read (and uploaded to).
    moved = dict(offhost, key="elsewhere/baseline.json")
    out = run(integrity_baseline, baseline_args(tmp_path, tree, offhost=moved))
    assert not out.result["confirmed"] and reads[-1] == "elsewhere/baseline.json" and out.result["changed"]
    # A baseline rebaselined on the host (another genuine one, without its off-host copy): the
    # record no longer matches the file, the full run compares with the off-host copy and fails.
    time.sleep(0.02)
    (tree / "new").write_text("x")
    run(integrity_baseline, baseline_args(tmp_path, tree, refresh=True))
    out = run(integrity_baseline, baseline_args(tmp_path, tree, offhost=offhost))
    assert out.failed and "differs from the off-host copy" in out.result["msg"]


def test_rebaseline_asks_debians_archive_and_refuses_what_it_does_not_vouch_for(tmp_path, tree, monkeypatch):
    from ansible_collections.prodready.platform.plugins.module_utils._integrity import debian_archive
    asked = []

    class Archive(object):
        def __init__(self, sources, keyring=None, arch=None):
            asked.append(("sources", [s["suite"] for s in sources], arch))

        def verify_files(self, items):
            asked.append(("items", items))
            return [dict(path=i["path"], package=i["package"], version=i["version"], status=verdict, detail="") for i in items]
    monkeypatch.setattr(debian_archive, "DebianArchive", Archive)
    monkeypatch.setattr(integrity_baseline, "_codename", lambda: "bookworm")
    dpkg = fake_dpkg(tmp_path, tree, "1.0-1", b"app 1.0")
    run(integrity_baseline, baseline_args(tmp_path, tree, **dpkg))
    assert asked == []  # a first baseline asks nothing
    before = (tmp_path / "state" / "baseline.json").read_bytes()
    dpkg = fake_dpkg(tmp_path, tree, "1.0-2", b"app 1.0-2 trojaned", upgrade_from="1.0-1")
    archive = {"enabled": True}
    verdict = "mismatch"
    out = run(integrity_baseline, baseline_args(tmp_path, tree, refresh=True, verify_archive=archive, **dpkg))
    assert out.failed and "refusing to rebaseline" in out.result["msg"] and str(tree / "bin" / "app") in out.result["msg"]
    assert (tmp_path / "state" / "baseline.json").read_bytes() == before
    items = asked[-1][1]
    assert [(i["path"], i["package"], i["version"]) for i in items] == [(str(tree / "bin" / "app"), "app", "1.0-2")]
    assert items[0]["sha256"] == hashlib.sha256(b"app 1.0-2 trojaned").hexdigest()
    assert asked[-2][1] == ["bookworm", "bookworm-updates", "bookworm-security"]
    # Signed anyway only when the operator says so (the files are still listed), or when Debian vouches.
    out = run(integrity_baseline, baseline_args(tmp_path, tree, refresh=True, verify_archive=dict(archive, accept_unverified=True), **dpkg))
    assert out.result["action"] == "refreshed" and out.result["archive"][0]["status"] == "mismatch"
    verdict = "verified"
    dpkg = fake_dpkg(tmp_path, tree, "1.0-3", b"app 1.0-3", upgrade_from="1.0-2")
    out = run(integrity_baseline, baseline_args(tmp_path, tree, refresh=True, verify_archive=archive, **dpkg))
    assert out.result["action"] == "refreshed" and out.result["archive"][0]["status"] == "verified"
