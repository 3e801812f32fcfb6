"""The trusted side of backups: retention, repository creation and rewind (controller modules)."""

import datetime
import json
import shutil

import pytest
from hypothesis import given, strategies as st

from ansible_collections.prodready.platform.plugins.modules import backup_repository, backup_retention, backup_rewind
from ansible_collections.prodready.platform.plugins.module_utils._backup.restic import ResticFailed

UTC = datetime.timezone.utc
PARAMS = dict(repository="s3:http://s3.test/backups/web1", password="pw-secret", access_key="AK", secret_key="SK-secret",
              region="us-east-1", path_style=True, host="web1", retention={"keep_last": 2}, restic_binary="restic",
              timeout=60)


class FakeRestic(object):
    """Answers restic calls from a script of (rc, stdout, stderr), records argv and environment."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, argv, env, timeout):
        self.calls.append((argv, env))
        return self.answers.pop(0)


FORGET_JSON = json.dumps([{"keep": [{"id": "c"}, {"id": "d"}], "remove": [{"id": "a"}, {"id": "b"}]}])


def test_retention_forgets_with_the_policy_and_keeps_secrets_off_the_command_line():
    fake = FakeRestic((0, FORGET_JSON + "\nloading indexes...\n", ""))
    result = backup_retention.apply_retention(dict(PARAMS), check_mode=False, runner=fake)
    assert result["removed"] == ["a", "b"] and result["kept"] == ["c", "d"] and result["changed"]
    argv, env = fake.calls[0]
    assert argv[:5] == ["restic", "-o", "s3.region=us-east-1", "-o", "s3.bucket-lookup=path"]
    assert argv[5:] == ["forget", "--json", "--host", "web1", "--keep-last", "2", "--prune"]
    assert not any("secret" in a for a in argv)
    assert env["RESTIC_PASSWORD"] == "pw-secret" and env["AWS_SECRET_ACCESS_KEY"] == "SK-secret"


def test_retention_check_mode_is_a_dry_run_without_prune():
    fake = FakeRestic((0, FORGET_JSON, ""))
    result = backup_retention.apply_retention(dict(PARAMS), check_mode=True, runner=fake)
    assert "--dry-run" in fake.calls[0][0] and "--prune" not in fake.calls[0][0]
    assert result["changed"] and result["removed"] == ["a", "b"]


def test_retention_nothing_to_remove_is_unchanged():
    fake = FakeRestic((0, json.dumps([{"keep": [{"id": "c"}], "remove": None}]), ""))
    assert not backup_retention.apply_retention(dict(PARAMS), check_mode=False, runner=fake)["changed"]


def test_retention_removes_a_stale_lock_once_then_names_a_live_one():
    locked = (1, "", "unable to create lock in backend: repository is already locked by PID 7\n"
                     "the `unlock` command can be used to remove stale locks\n")
    fake = FakeRestic(locked, (0, "successfully removed locks", ""), (0, FORGET_JSON, ""))
    assert backup_retention.apply_retention(dict(PARAMS), check_mode=False, runner=fake)["unlocked"]
    assert fake.calls[1][0][-1] == "unlock"
    fake = FakeRestic(locked, (0, "", ""), locked)
    with pytest.raises(ResticFailed, match="locked by a running restic"):
        backup_retention.apply_retention(dict(PARAMS), check_mode=False, runner=fake)


def test_retention_refuses_a_policy_that_keeps_nothing_before_calling_restic():
    fake = FakeRestic()
    with pytest.raises(ResticFailed, match="keeps nothing"):
        backup_retention.apply_retention(dict(PARAMS, retention={"keep_last": 0}), check_mode=False, runner=fake)
    assert fake.calls == []


def test_retention_without_json_fails_clearly():
    with pytest.raises(ResticFailed, match="no JSON"):
        backup_retention.apply_retention(dict(PARAMS), check_mode=False, runner=FakeRestic((0, "nothing\n", "")))


MISSING = (1, "", "Fatal: unable to open config file: Stat: The specified key does not exist.\n"
                  "Is there a repository at the following location?\ns3:http://s3.test/backups/web1\n")


def test_repository_is_created_only_when_missing():
    fake = FakeRestic(MISSING, (0, "created restic repository", ""))
    assert backup_repository.ensure_repository(dict(PARAMS), check_mode=False, runner=fake) == {"changed": True, "created": True}
    assert [c[0][-1] for c in fake.calls] == ["config", "init"]
    fake = FakeRestic((0, "{}", ""))
    assert backup_repository.ensure_repository(dict(PARAMS), check_mode=False, runner=fake) == {"changed": False, "created": False}
    fake = FakeRestic(MISSING)
    assert backup_repository.ensure_repository(dict(PARAMS), check_mode=True, runner=fake)["created"]
    assert len(fake.calls) == 1


def test_repository_that_does_not_open_is_never_initialised_over():
    fake = FakeRestic((1, "", "Fatal: wrong password or no key found\n"))
    with pytest.raises(ResticFailed, match="does not open"):
        backup_repository.ensure_repository(dict(PARAMS), check_mode=False, runner=fake)
    assert len(fake.calls) == 1


@pytest.mark.skipif(shutil.which("restic") is None, reason="restic is not installed")
def test_missing_restic_binary_is_named():
    with pytest.raises(ResticFailed, match="install restic on the trusted node"):
        backup_repository.ensure_repository(dict(PARAMS, restic_binary="/nonexistent/restic"), check_mode=False)


# ------------------------------------------------------------------------------------- rewind

T0 = datetime.datetime(2026, 12, 6, 14, 0, tzinfo=UTC)
keys = st.sampled_from(["p/config", "p/snapshots/a", "p/data/00/x", "p/locks/l"])
events = st.lists(st.tuples(keys, st.integers(-100, 100), st.booleans()), max_size=30)


def as_entries(items):
    return [{"Key": key, "VersionId": "v%d" % i, "LastModified": T0 + datetime.timedelta(seconds=offset), "marker": marker}
            for i, (key, offset, marker) in enumerate(items)]


def current(entries, removed=()):
    """What a reader sees per key: the newest remaining entry, None for a marker."""
    gone = set(id(e) for e in removed)
    seen = {}
    for entry in sorted(entries, key=lambda e: e["LastModified"]):
        if id(entry) not in gone:
            seen[entry["Key"]] = None if entry["marker"] else entry["VersionId"]
    return seen


@given(events)
def test_rewind_makes_every_key_read_as_it_did_at_the_time(items):
    entries = as_entries(items)
    to_remove, changed, dummy = backup_rewind.plan(entries, T0, "p/")
    assert all(e["LastModified"] > T0 and "/locks/" not in e["Key"] for e in to_remove)
    after = current(entries, to_remove)
    at_t0 = current([e for e in entries if e["LastModified"] <= T0 or "/locks/" in e["Key"]])
    for key in set(e["Key"] for e in entries if "/locks/" not in e["Key"]):
        assert after.get(key) == at_t0.get(key)
    assert sorted(changed) == sorted(set(e["Key"] for e in to_remove))


def test_rewind_parses_times_and_refuses_the_future_and_naive_times():
    assert backup_rewind.parse_time("2026-12-06T14:00:00Z") == T0
    assert backup_rewind.parse_time(str(T0.timestamp())) == T0
    with pytest.raises(backup_rewind.RewindError, match="no time zone"):
        backup_rewind.parse_time("2026-12-06T14:00:00")
    with pytest.raises(backup_rewind.RewindError, match="neither"):
        backup_rewind.parse_time("yesterday")
    with pytest.raises(backup_rewind.RewindError, match="in the future"):
        backup_rewind.rewind(dict(before="2999-01-01T00:00:00Z", prefix="p", bucket="b"), check_mode=True, client=object())


class FakeS3(object):
    def __init__(self, entries):
        self.entries = entries
        self.deleted = []

    def get_paginator(self, name):
        entries = self.entries

        class Pages(object):
            def paginate(self, Bucket, Prefix):
                yield {"Versions": [dict(e) for e in entries if not e["marker"]],
                       "DeleteMarkers": [dict(e) for e in entries if e["marker"]]}
        return Pages()

    def delete_object(self, **kwargs):
        assert kwargs["BypassGovernanceRetention"] is True
        self.deleted.append((kwargs["Key"], kwargs["VersionId"]))


def test_rewind_deletes_by_version_and_refuses_to_empty_a_prefix():
    entries = as_entries([("p/config", -50, False), ("p/config", 10, False), ("p/snapshots/a", -40, False),
                          ("p/snapshots/a", 20, True), ("p/locks/l", 30, False)])
    client = FakeS3(entries)
    result = backup_rewind.rewind(dict(before="2026-12-06T14:00:00Z", prefix="/p/", bucket="b"), check_mode=False,
                                  client=client)
    assert sorted(client.deleted) == [("p/config", "v1"), ("p/snapshots/a", "v3")]
    assert result["removed_versions"] == 1 and result["removed_markers"] == 1
    client = FakeS3(as_entries([("p/config", 10, False)]))
    with pytest.raises(backup_rewind.RewindError, match="refusing to empty"):
        backup_rewind.rewind(dict(before="2026-12-06T14:00:00Z", prefix="p", bucket="b"), check_mode=False, client=client)
    assert client.deleted == []
