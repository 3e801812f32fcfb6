"""The on-host backup runner (roles/backup/files/prodready_backup.py): its pure decisions
(forget or not, check or not, restic's timestamps and durations, error causes) tested directly,
and its subprocess paths (stale-lock retry, endpoint-down stop) against the real restic where a
local repository or a closed loopback port shows the behaviour, else a fake ``restic`` script.

The runner is imported the way it runs on a host: python_library's tree (here the collection
itself) in ``python/`` beside it.
"""
import calendar
import datetime
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from ansible_collections.prodready.platform.plugins.modules import backup_facts

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNER = os.path.join(ROOT, "roles", "backup", "files", "prodready_backup.py")
COLLECTIONS = os.path.join(ROOT, "collections")
RESTIC = shutil.which("restic")
needs_restic = pytest.mark.skipif(RESTIC is None, reason="restic is not installed")
UTC = datetime.timezone.utc


@pytest.fixture(scope="module")
def pb(tmp_path_factory):
    """The runner module, loaded from a lib dir laid out like the role ships it."""
    lib = tmp_path_factory.mktemp("prodready-backup-lib")
    shutil.copy(RUNNER, str(lib / "prodready_backup.py"))
    os.symlink(COLLECTIONS, str(lib / "python"))
    spec = importlib.util.spec_from_file_location("prodready_backup_under_test", str(lib / "prodready_backup.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.LIBRARY_DIR == str(lib / "python")
    yield module
    if module.LIBRARY_DIR in sys.path:
        sys.path.remove(module.LIBRARY_DIR)


def make_config(tmp_path, **extra):
    config = {"hostname": "web1", "state_file": str(tmp_path / "state" / "state.json"),
              "metrics_dir": str(tmp_path / "textfile"), "paths": ["/srv"]}
    config.update(extra)
    return config


SECRETS = {"RESTIC_REPOSITORY": "s3:http://172.30.100.1:8333/bucket", "RESTIC_PASSWORD": "pw",
           "AWS_ACCESS_KEY_ID": "ak", "AWS_SECRET_ACCESS_KEY": "sk"}


# ------------------------------------------------------------------------------ restic timestamps

@pytest.mark.parametrize("text, expected", [
    ("1970-01-01T00:00:00Z", 0.0),
    ("2024-02-29T12:00:00Z", calendar.timegm((2024, 2, 29, 12, 0, 0))),
    ("2024-02-29T12:00:00.5Z", calendar.timegm((2024, 2, 29, 12, 0, 0)) + 0.5),
    # restic prints local time with nanoseconds and the offset.
    ("2024-03-10T14:30:05.123456789+02:00", calendar.timegm((2024, 3, 10, 12, 30, 5)) + 0.123456789),
    ("2024-03-10T07:00:00-05:30", calendar.timegm((2024, 3, 10, 12, 30, 0))),
    ("2023-12-31T23:30:00-01:00", calendar.timegm((2024, 1, 1, 0, 30, 0))),
])
def test_parse_restic_time_examples(pb, text, expected):
    assert pb.parse_restic_time(text) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("text", [
    None, "", "2024-03-10 14:30:05Z", "2024-03-10T14:30:05", "2024-03-10T14:30:05.Z", "2024-03-10T14:30Z",
    "2024-03-10T14:30:05+0200", "2024-03-10T14:30:05+02", "2024-13-10T14:30:05Z", "2024-02-30T00:00:00Z",
    "x2024-03-10T14:30:05Z", "2024-03-10T14:30:05Zjunk", "1710081005",
])
def test_parse_restic_time_rejects(pb, text):
    with pytest.raises(ValueError):
        pb.parse_restic_time(text)


@given(st.datetimes(min_value=datetime.datetime(1971, 1, 1), max_value=datetime.datetime(9998, 12, 31)),
       st.integers(min_value=-14 * 60, max_value=14 * 60), st.integers(min_value=0, max_value=999999999),
       st.booleans())
def test_parse_restic_time_matches_rfc3339(pb, naive, offset_minutes, nanos, utc_as_z):
    """Whatever the offset and fraction, the result is the instant the RFC 3339 text names."""
    naive = naive.replace(microsecond=0)
    zone = datetime.timezone(datetime.timedelta(minutes=offset_minutes))
    moment = naive.replace(tzinfo=zone)
    if offset_minutes == 0 and utc_as_z:
        suffix = "Z"
    else:
        sign = "-" if offset_minutes < 0 else "+"
        suffix = "%s%02d:%02d" % (sign, abs(offset_minutes) // 60, abs(offset_minutes) % 60)
    text = naive.strftime("%Y-%m-%dT%H:%M:%S") + ".%09d" % nanos + suffix
    assert pb.parse_restic_time(text) == pytest.approx(moment.timestamp() + nanos / 1e9, abs=1e-5)


@given(st.text(max_size=40))
def test_parse_restic_time_fails_only_with_value_error(pb, text):
    try:
        value = pb.parse_restic_time(text)
    except ValueError:
        return
    assert isinstance(value, float)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", text)


# ------------------------------------------------------------------------------ keep-within durations

@pytest.mark.parametrize("duration, expected", [
    ("2h", 2 * 3600), ("7d", 7 * 86400), ("1m", 28 * 86400), ("1y", 365 * 86400),
    ("1y2m3d4h", 365 * 86400 + 2 * 28 * 86400 + 3 * 86400 + 4 * 3600), ("0d", 0), ("36h", 36 * 3600),
    ("1d1d", 2 * 86400),
])
def test_within_lower_bound_examples(pb, duration, expected):
    assert pb.within_lower_bound(duration) == expected


@pytest.mark.parametrize("duration", ["1w", "7D", "7 d", "d7", "7", "7d ", "1.5d", "-1d", "7dd", "1s", "30m2s"])
def test_within_lower_bound_not_understood(pb, duration):
    assert pb.within_lower_bound(duration) is None


def go_add_date(moment, years, months, days):
    """Go's time.AddDate (restic's keep-within): out-of-range months and days roll over."""
    total = (moment.year + years) * 12 + (moment.month - 1) + months
    year, month = divmod(total, 12)
    first = moment.replace(year=year, month=month + 1, day=1)
    return first + datetime.timedelta(days=moment.day - 1 + days)


durations = st.tuples(st.integers(0, 3), st.integers(0, 14), st.integers(0, 40), st.integers(0, 50))


def duration_text(parts):
    text = "".join("%d%s" % (n, u) for n, u in zip(parts, "ymdh") if n)
    return text or "0h"


@given(durations, st.datetimes(min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2099, 12, 31)))
def test_within_lower_bound_never_exceeds_restics_window(pb, parts, latest):
    """restic keeps what is newer than latest.AddDate(-y, -m, -d) - h hours (in UTC here): the
    runner's figure must never be longer, or it would skip a forget that removes something."""
    years, months, days, hours = parts
    latest = latest.replace(tzinfo=UTC)
    boundary = go_add_date(latest, -years, -months, -days) - datetime.timedelta(hours=hours)
    window = (latest - boundary).total_seconds()
    bound = pb.within_lower_bound(duration_text(parts))
    assert bound == years * 365 * 86400 + months * 28 * 86400 + days * 86400 + hours * 3600
    assert bound <= window


# ------------------------------------------------------------------------------ forget: run or skip

NOW = 1_800_000_000.0


def model_of(times, forget_age=3600, repository="repo"):
    return {"repository": repository, "forget_time": NOW - forget_age,
            "snapshots": [{"id": "%08x" % (i + 1) + "f" * 56, "time": t} for i, t in enumerate(times)]}


@pytest.mark.parametrize("bucket", ["hourly", "daily", "weekly", "monthly", "yearly"])
def test_forget_always_runs_for_calendar_buckets(pb, bucket):
    config = {"retention": {"keep_last": 100, "keep_" + bucket: 1}}
    # Even a single fresh snapshot: restic's bucket rules cannot be decided from the list alone.
    assert "calendar buckets" in pb.forget_reason(config, model_of([NOW]), NOW)


def test_forget_zero_or_empty_buckets_are_not_calendar_policies(pb):
    config = {"retention": {"keep_last": 3, "keep_daily": 0, "keep_weekly": None, "keep_monthly": "0",
                            "keep_yearly": ""}}
    assert pb.forget_reason(config, model_of([NOW, NOW - 10]), NOW) is None


def test_forget_runs_without_a_snapshot_list(pb):
    assert "no snapshot list" in pb.forget_reason({"retention": {"keep_last": 3}}, None, NOW)
    assert "no snapshot list" in pb.forget_reason({"retention": {"keep_last": 3}}, {}, NOW)


def test_forget_runs_when_the_list_is_older_than_a_day(pb):
    config = {"retention": {"keep_last": 5}}
    assert pb.forget_reason(config, model_of([NOW], forget_age=pb.FORGET_MAX_AGE), NOW) is None
    reason = pb.forget_reason(config, model_of([NOW], forget_age=pb.FORGET_MAX_AGE + 1), NOW)
    assert "older than %ds" % pb.FORGET_MAX_AGE in reason


def test_forget_keep_last(pb):
    config = {"retention": {"keep_last": 3}}
    assert pb.forget_reason(config, model_of([NOW - 30, NOW - 20, NOW - 10]), NOW) is None
    assert pb.forget_reason(config, model_of([]), NOW) is None
    model = model_of([NOW - 10, NOW - 40, NOW - 20, NOW - 30])  # not in time order
    reason = pb.forget_reason(config, model, NOW)
    # The oldest one (index 1, id 00000002...) is the one keep-last 3 drops.
    assert reason == "snapshot 00000002 may be past the retention policy"


def test_forget_keep_within_counts_from_the_newest_snapshot_with_margin(pb):
    config = {"retention": {"keep_within": "1d"}}
    latest = NOW - 10 * 86400  # all snapshots are old, but keep-within counts from the newest one
    inside = latest - 86400 + pb.WITHIN_MARGIN + 1
    assert pb.forget_reason(config, model_of([latest, inside]), NOW) is None
    edge = latest - 86400 + pb.WITHIN_MARGIN
    assert "00000002" in pb.forget_reason(config, model_of([latest, edge]), NOW)


def test_forget_keep_last_and_within_combine_like_restic(pb):
    config = {"retention": {"keep_last": 2, "keep_within": "2h"}}
    # Two newest kept by keep-last even if old; a third within 2 h of the newest kept by keep-within.
    assert pb.forget_reason(config, model_of([NOW, NOW - 3600, NOW - 5000]), NOW) is None
    assert pb.forget_reason(config, model_of([NOW, NOW - 30 * 86400]), NOW) is None
    assert "00000003" in pb.forget_reason(config, model_of([NOW, NOW - 3600, NOW - 3 * 3600]), NOW)


def test_forget_runs_when_keep_within_is_not_understood(pb):
    reason = pb.forget_reason({"retention": {"keep_last": 5, "keep_within": "2w"}}, model_of([NOW]), NOW)
    assert "not understood" in reason and "2w" in reason


def test_forget_policy_keeping_nothing_flags_any_snapshot(pb):
    assert pb.forget_reason({"retention": {}}, model_of([NOW]), NOW) is not None
    assert pb.forget_reason({}, model_of([]), NOW) is None


def restic_removes(times, keep_last, within_parts):
    """restic's keep-last/keep-within decision (UTC), for the property below."""
    ordered = sorted(times, reverse=True)
    if not ordered:
        return []
    if within_parts is not None:
        years, months, days, hours = within_parts
        latest = datetime.datetime.fromtimestamp(ordered[0], UTC)
        boundary = (go_add_date(latest, -years, -months, -days) - datetime.timedelta(hours=hours)).timestamp()
    removed = []
    for index, moment in enumerate(ordered):
        if index < keep_last or (within_parts is not None and moment > boundary):
            continue
        removed.append(moment)
    return removed


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 400 * 86400), max_size=12, unique=True), st.integers(0, 6),
       st.one_of(st.none(), durations))
def test_forget_skipped_only_when_restic_would_remove_nothing(pb, ages, keep_last, within_parts):
    assume(keep_last or within_parts is not None)
    retention = {"keep_last": keep_last}
    if within_parts is not None:
        retention["keep_within"] = duration_text(within_parts)
    times = [NOW - age for age in ages]
    reason = pb.forget_reason({"retention": retention}, model_of(times), NOW)
    if reason is None:
        assert restic_removes(times, keep_last, within_parts) == []
    # And the converse where the runner has no margin to blame: a keep-last-only policy is exact.
    if within_parts is None:
        assert (reason is None) == (restic_removes(times, keep_last, None) == [])


# ------------------------------------------------------------------------------ forget --json

def forget_output(groups, prune_text="loading indexes...\nwill delete 1 packs\n"):
    return (json.dumps(groups) + "\n" + prune_text).encode()


def test_kept_list_reads_every_group_and_ignores_prune_output(pb):
    groups = [
        {"host": "web1", "paths": ["/srv"], "keep": [
            {"id": "a" * 64, "time": "2024-03-10T14:30:05.123456789+02:00"},
            {"id": "b" * 64, "time": "2024-03-09T12:00:00Z"}], "remove": [{"id": "c" * 64}]},
        {"host": "web1", "paths": ["/etc"], "keep": [{"id": "d" * 64, "time": "2024-03-01T00:00:00Z"}],
         "remove": None},
        {"host": "web1", "paths": ["/old"], "keep": None},
    ]
    kept = pb.kept_list(forget_output(groups))
    assert [item["id"] for item in kept] == ["a" * 64, "b" * 64, "d" * 64]
    assert kept[0]["time"] == pytest.approx(pb.parse_restic_time("2024-03-10T12:30:05.123456789Z"))
    assert kept[2]["time"] == calendar.timegm((2024, 3, 1, 0, 0, 0))


# What restic 0.14 `forget --json --prune --host web1 --keep-last 1` printed on stdout (shortened).
REAL_FORGET_STDOUT = (
    '[{"tags":null,"host":"web1","paths":["/tmp/h/src"],"keep":[{"time":"2026-12-02T02:13:59.068466179Z",'
    '"parent":"32660fb3","tree":"9f1c","paths":["/tmp/h/src"],"hostname":"web1","username":"root",'
    '"id":"5b3f0d6e5b3f0d6e5b3f0d6e5b3f0d6e5b3f0d6e5b3f0d6e5b3f0d6e5b3f0d6e","short_id":"5b3f0d6e"}],'
    '"remove":[{"time":"2026-12-02T02:13:58.1Z","id":"32660fb332660fb332660fb332660fb332660fb332660fb3'
    '32660fb332660fb3","short_id":"32660fb3"}],"reasons":[{"snapshot":{},"matches":["last snapshot"],'
    '"counters":{"last":1}}]}]\n'
    "loading indexes...\nloading all snapshots...\nfinding data that is still in use for 1 snapshots\n"
    "[0:00] 100.00%  1 / 1 snapshots\n\nsearching used packs...\n[0:00] 100.00%  4 / 4 packs processed\n"
    "to delete:             3 blobs / 539 B\nremoving 2 old packs\ndone\n").encode()


def test_kept_list_of_real_restic_output(pb):
    assert pb.kept_list(REAL_FORGET_STDOUT) == [
        {"id": "5b3f0d6e" * 8, "time": pytest.approx(calendar.timegm((2026, 12, 2, 2, 13, 59)) + 0.068466179)}]


def test_kept_list_empty_repository_is_an_empty_list_not_unknown(pb):
    assert pb.kept_list(b"[]\n") == []


@pytest.mark.parametrize("stdout", [
    b"", b"no json here\n", b"[{\"keep\": [{\"id\": \"x\"}]}]\n",
    b"[{\"keep\": [{\"id\": \"x\", \"time\": \"yesterday\"}]}]\n", b"[not json\n",
    # restic 0.14 prints no JSON at all when the host has no snapshot; prune's progress remains.
    b"loading indexes...\n[0:00] 100.00%  1 / 1 snapshots\n",
    b"[1, 2]\n", b"[{\"keep\": [{\"time\": \"2024-03-01T00:00:00Z\"}]}]\n",
])
def test_kept_list_unknown_when_output_is_not_understood(pb, stdout):
    assert pb.kept_list(stdout) is None


def test_retention_args(pb):
    assert pb.retention_args({"keep_last": 7, "keep_daily": "0", "keep_weekly": 4, "keep_within": "30d"}) == [
        "--keep-last", "7", "--keep-weekly", "4", "--keep-within", "30d"]
    with pytest.raises(pb.StepError) as raised:
        pb.retention_args({"keep_last": 0, "keep_daily": None})
    assert raised.value.cause == "config"


# ------------------------------------------------------------------------------ check: run or skip

def check_fixture(pb, tmp_path, max_age=86400, check_age=3600, last_run_success=1, repository=None, **extra):
    config = make_config(tmp_path, check_max_age=max_age, **extra)
    restic = pb.Restic(config, SECRETS)
    state = pb.State(config)
    state.data["last_run_success"] = last_run_success
    if check_age is not None:
        state.data["check"] = {"repository": repository or pb.repository_key(restic, config),
                               "time": time.time() - check_age}
    return config, state, restic


UNCHANGED = {"message_type": "summary", "files_new": 0, "files_changed": 0, "files_unmodified": 12}


def test_check_skipped_when_nothing_changed_and_last_check_is_recent(pb, tmp_path):
    config, state, restic = check_fixture(pb, tmp_path)
    reason = pb.check_skip_reason(config, state, UNCHANGED, restic)
    assert reason is not None and "check_max_age 86400s" in reason and "1.0h ago" in reason


@pytest.mark.parametrize("summary", [
    {}, None, dict(UNCHANGED, files_new=1), dict(UNCHANGED, files_changed=2),
    {"message_type": "summary", "files_changed": 0},  # files_new unknown
    {"message_type": "summary", "files_new": 0},  # files_changed unknown
])
def test_check_runs_when_a_file_changed_or_the_summary_is_unknown(pb, tmp_path, summary):
    config, state, restic = check_fixture(pb, tmp_path)
    assert pb.check_skip_reason(config, state, summary, restic) is None


@pytest.mark.parametrize("max_age", [0, None, "0"])
def test_check_every_run_when_check_max_age_is_zero(pb, tmp_path, max_age):
    config, state, restic = check_fixture(pb, tmp_path, max_age=max_age)
    assert pb.check_skip_reason(config, state, UNCHANGED, restic) is None


def test_check_runs_when_the_last_check_is_too_old_or_missing(pb, tmp_path):
    config, state, restic = check_fixture(pb, tmp_path, max_age=7200, check_age=7201)
    assert pb.check_skip_reason(config, state, UNCHANGED, restic) is None
    config, state, restic = check_fixture(pb, tmp_path, check_age=None)
    assert pb.check_skip_reason(config, state, UNCHANGED, restic) is None
    config, state, restic = check_fixture(pb, tmp_path, max_age=7200, check_age=7000)
    assert pb.check_skip_reason(config, state, UNCHANGED, restic) is not None


@pytest.mark.parametrize("last_run_success", [0, None])
def test_check_runs_after_a_failed_or_unknown_previous_run(pb, tmp_path, last_run_success):
    config, state, restic = check_fixture(pb, tmp_path, last_run_success=last_run_success)
    assert pb.check_skip_reason(config, state, UNCHANGED, restic) is None


def test_check_runs_after_a_stale_lock_was_removed(pb, tmp_path):
    config, state, restic = check_fixture(pb, tmp_path)
    restic.unlocked = True
    assert pb.check_skip_reason(config, state, UNCHANGED, restic) is None


def test_check_of_another_repository_or_host_does_not_count(pb, tmp_path):
    config, state, restic = check_fixture(pb, tmp_path, repository="0123456789abcdef")
    assert pb.check_skip_reason(config, state, UNCHANGED, restic) is None
    # The key follows both the repository URL and the host name.
    key = pb.repository_key(restic, config)
    assert key != pb.repository_key(pb.Restic(config, dict(SECRETS, RESTIC_REPOSITORY="s3:http://x/other")), config)
    assert key != pb.repository_key(restic, dict(config, hostname="web2"))


# ------------------------------------------------------------------------------ causes

ENDPOINT_DOWN = ('Fatal: unable to open config file: Stat: Get "http://127.0.0.1:9/bucket/?location=": '
                 "dial tcp 127.0.0.1:9: connect: connection refused\n"
                 "Is there a repository at the following location?\ns3:http://127.0.0.1:9/bucket\n")


@pytest.mark.parametrize("stderr, cause", [
    (ENDPOINT_DOWN, "endpoint_unreachable"),
    ("Fatal: ... dial tcp: lookup minio.invalid: no such host\n", "endpoint_unreachable"),
    ("Fatal: ... x509: certificate signed by unknown authority\n", "endpoint_unreachable"),
    ("Fatal: unable to open config file: Stat: The access key ID you provided does not exist in our records.\n",
     "s3_keys_rejected"),
    ("Fatal: ... SignatureDoesNotMatch: The request signature we calculated does not match\n", "s3_keys_rejected"),
    ("Fatal: wrong password or no key found\n", "wrong_password"),
    ("Fatal: unable to open config file: Stat: The specified bucket does not exist.\n"
     "Is there a repository at the following location?\n", "bucket_missing"),
    ("Fatal: unable to open config file: Stat: stat /srv/repo/config: no such file or directory\n"
     "Is there a repository at the following location?\n/srv/repo\n", "repository_missing"),
    ("unable to create lock in backend: repository is already locked by PID 11 on web1 by root\n",
     "repository_locked"),
    ("error: load <snapshot/0123abcd>: ciphertext verification failed\n", "repository_damaged"),
    ("Fatal: something nobody foresaw\n", "unknown"),
    ("", "unknown"),
    (None, "unknown"),
])
def test_classify(pb, stderr, cause):
    assert pb.classify(stderr) == cause
    assert cause in pb.CAUSE_TEXT


def test_every_cause_has_an_operator_text(pb):
    assert {cause for cause, dummy in pb.CAUSES} <= set(pb.CAUSE_TEXT)


def test_last_line_prefers_the_fatal_line(pb):
    assert pb.last_line(ENDPOINT_DOWN).startswith("Fatal: unable to open config file")
    assert pb.last_line("a\n\n b \n") == "b"
    assert pb.last_line("") == "" and pb.last_line(None) == ""
    assert len(pb.last_line("Fatal: " + "x" * 1000)) == 400


def test_locked_line(pb):
    stderr = "reading\nunable to create lock in backend: repository is already locked by PID 1\nlock was created\n"
    assert pb.locked_line(stderr) == "unable to create lock in backend: repository is already locked by PID 1"
    assert pb.locked_line("Fatal: other\n") == "Fatal: other"


# ------------------------------------------------------------------------------ secrets, hooks

def test_load_env_file(pb, tmp_path):
    path = tmp_path / "restic.env"
    path.write_text("# comment\n\nRESTIC_REPOSITORY='s3:http://h/b'\nRESTIC_PASSWORD=\"p=w\"\n"
                    "AWS_ACCESS_KEY_ID = ak\nAWS_SECRET_ACCESS_KEY=sk'\n")
    env = pb.load_env_file(str(path))
    assert env == {"RESTIC_REPOSITORY": "s3:http://h/b", "RESTIC_PASSWORD": "p=w", "AWS_ACCESS_KEY_ID": "ak",
                   "AWS_SECRET_ACCESS_KEY": "sk'"}
    path.write_text("RESTIC_REPOSITORY=x\nRESTIC_PASSWORD=\n")
    with pytest.raises(pb.StepError) as raised:
        pb.load_env_file(str(path))
    assert raised.value.cause == "config" and "RESTIC_PASSWORD" in raised.value.detail
    assert "pw" not in raised.value.detail
    path.write_text("RESTIC_REPOSITORY\n")
    with pytest.raises(pb.StepError, match="config"):
        pb.load_env_file(str(path))


def test_require_fresh_hooks(pb, tmp_path):
    config = make_config(tmp_path, hooks_max_age=600)
    os.makedirs(os.path.dirname(config["state_file"]))
    status_path = pb.hooks_status_path(config)
    started = time.time()
    with pytest.raises(pb.StepError, match="hook_failed"):
        pb.require_fresh_hooks(config, started)
    with open(status_path, "w") as handle:
        json.dump({"ok": False, "step": "hook db", "detail": "exit 1: boom"}, handle)
    with pytest.raises(pb.StepError) as raised:
        pb.require_fresh_hooks(config, started)
    assert "boom" in raised.value.detail
    with open(status_path, "w") as handle:
        json.dump({"ok": True, "finished": started - 601}, handle)
    with pytest.raises(pb.StepError, match="hook_failed"):
        pb.require_fresh_hooks(config, started)
    with open(status_path, "w") as handle:
        json.dump({"ok": True, "finished": started - 10}, handle)
    pb.require_fresh_hooks(config, started)


# ------------------------------------------------------------------------------ metrics

def read_metrics(pb, config):
    path = os.path.join(config["metrics_dir"], "prodready_backup.prom")
    return {(name, tuple(sorted(labels.items()))): value for name, labels, value in pb.textfile.read_textfile(path)}


def test_metrics_after_success_and_failure(pb, tmp_path):
    config = make_config(tmp_path, interval_seconds=3600)
    state = pb.State(config)
    state.data.update({"last_run": 1000.0, "last_success": 1000.0, "last_run_success": 1, "last_run_duration": 2.5,
                       "snapshots": 3, "check": {"repository": "k", "time": 990.0}})
    state.save()
    metrics = read_metrics(pb, config)
    assert metrics[("prodready_backup_check_last_success_timestamp_seconds", ())] == 990.0
    assert metrics[("prodready_backup_snapshots", ())] == 3
    assert metrics[("prodready_backup_interval_seconds", ())] == 3600
    assert not [key for key in metrics if key[0] == "prodready_backup_last_run_failure_info"]
    # A failed run keeps the last success and the last passed check, and names step and cause.
    state = pb.State(config)
    state.data.update({"last_run": 2000.0, "last_run_success": 0, "last_failure_step": "backup",
                       "last_failure_cause": "endpoint_unreachable"})
    state.save()
    metrics = read_metrics(pb, config)
    assert metrics[("prodready_backup_last_success_timestamp_seconds", ())] == 1000.0
    assert metrics[("prodready_backup_check_last_success_timestamp_seconds", ())] == 990.0
    assert metrics[("prodready_backup_last_run_status", ())] == 0
    assert metrics[("prodready_backup_last_run_failure_info",
                    (("cause", "endpoint_unreachable"), ("step", "backup")))] == 1


def test_no_check_metric_before_a_check_passed(pb, tmp_path):
    config = make_config(tmp_path)
    state = pb.State(config)
    state.data.update({"last_run": 1.0, "last_run_success": 1, "check": {"repository": "k"}})
    state.save()
    assert not [key for key in read_metrics(pb, config) if "check" in key[0]]


def test_docs_list_every_metric_the_runner_writes():
    with open(RUNNER) as handle:
        written = set(re.findall(r'"(prodready_backup_[a-z_]+)"', handle.read()))
    with open(os.path.join(ROOT, "docs", "monitoring.md")) as handle:
        documented = set(re.findall(r"`(prodready_backup_[a-z_]+)`", handle.read()))
    assert "prodready_backup_check_last_success_timestamp_seconds" in written
    assert written - documented == set()


# ------------------------------------------------------------------------------ restic calls

def fake_restic(tmp_path, body):
    """A stand-in ``restic`` (one Python process, so a kill leaves no child holding the pipes)."""
    path = tmp_path / "restic"
    path.write_text("#!%s\nimport os, sys, time\n%s" % (sys.executable, textwrap.dedent(body)))
    path.chmod(0o755)
    return str(path)


RETRY_LINE = ('Load(<lock/0123abcd>, 0, 0) returned error, retrying after 1.2s: Get "http://127.0.0.1:9/b": '
              "dial tcp 127.0.0.1:9: connect: connection refused")


def test_endpoint_down_stops_restic_after_endpoint_down_timeout(pb, tmp_path):
    binary = fake_restic(tmp_path, """
        while True:
            sys.stderr.write(%r + "\\n")
            sys.stderr.flush()
            time.sleep(0.2)
    """ % RETRY_LINE)
    restic = pb.Restic(make_config(tmp_path, restic_binary=binary, endpoint_down_timeout=1), SECRETS)
    started = time.monotonic()
    with pytest.raises(pb.StepError) as raised:
        restic.run("backup", ["backup", "/srv"])
    assert raised.value.cause == "endpoint_unreachable"
    assert "connection refused" in raised.value.detail and "retried for" in raised.value.detail
    assert time.monotonic() - started < 15
    assert not restic.unlocked  # an endpoint outage is no lock: no unlock, no retry


def test_endpoint_recovery_resets_the_outage_clock(pb, tmp_path):
    binary = fake_restic(tmp_path, """
        for dummy in range(3):
            sys.stderr.write(%r + "\\n")
            sys.stderr.flush()
            time.sleep(0.1)
        sys.stderr.write("Load(<lock/0123abcd>, 0, 0) operation successful after 3 retries\\n")
        sys.stderr.flush()
        time.sleep(1.8)
        sys.stdout.write("done\\n")
    """ % RETRY_LINE)
    restic = pb.Restic(make_config(tmp_path, restic_binary=binary, endpoint_down_timeout=1), SECRETS)
    result, stderr = restic.run("backup", ["backup", "/srv"])
    assert result.returncode == 0 and result.stdout == b"done\n"
    assert "successful after" in stderr


def test_retries_of_other_errors_are_not_an_endpoint_outage(pb, tmp_path):
    binary = fake_restic(tmp_path, """
        for dummy in range(10):
            sys.stderr.write("List(lock) returned error, retrying after 1s: 500 Internal Server Error\\n")
            sys.stderr.flush()
            time.sleep(0.2)
    """)
    restic = pb.Restic(make_config(tmp_path, restic_binary=binary, endpoint_down_timeout=1), SECRETS)
    assert restic.run("backup", ["backup", "/srv"])[0].returncode == 0


def test_restic_timeout(pb, tmp_path):
    binary = fake_restic(tmp_path, "time.sleep(60)\n")
    restic = pb.Restic(make_config(tmp_path, restic_binary=binary, restic_timeout=1), SECRETS)
    started = time.monotonic()
    with pytest.raises(pb.StepError) as raised:
        restic.run("check", ["check"])
    assert raised.value.cause == "timeout" and "check" in raised.value.detail
    assert time.monotonic() - started < 15


def test_secrets_go_to_restics_environment_not_its_command_line(pb, tmp_path):
    binary = fake_restic(tmp_path, """
        sys.stdout.write(repr(sys.argv[1:]) + "\\n" + os.environ["RESTIC_PASSWORD"] + "\\n"
                         + os.environ["RESTIC_PROGRESS_FPS"] + "\\n" + os.environ["RESTIC_CACHE_DIR"])
    """)
    config = make_config(tmp_path, restic_binary=binary, restic_options=["--limit-upload", "100"],
                         cache_dir=str(tmp_path / "cache"))
    out = pb.Restic(config, SECRETS).run("snapshots", ["snapshots", "--json"])[0].stdout.decode().splitlines()
    assert out == ["['--limit-upload', '100', 'snapshots', '--json']", "pw", "0.1", str(tmp_path / "cache")]


# ------------------------------------------------------------------ the repository record

def repository_setup(tmp_path, restic_body):
    """A config and env file as the role writes them, and a fake restic answering ``cat config``."""
    config = make_config(tmp_path, restic_binary=fake_restic(tmp_path, restic_body),
                         repository_marker=str(tmp_path / "state" / "repository-opened"))
    config_path, env_path = tmp_path / "config.json", tmp_path / "restic.env"
    config_path.write_text("# managed\n" + json.dumps(config))
    env_path.write_text("".join("%s=%s\n" % item for item in sorted(SECRETS.items())))
    return config, str(config_path), str(env_path)


def role_probe(config, config_path, env_path):
    """What backup_facts says about the record (the other answers are not looked at here)."""
    return backup_facts.read_facts({"calendars": [], "paths": [], "packages": [], "restic": config["restic_binary"],
                                    "env_file": env_path, "config_file": config_path,
                                    "marker": config["repository_marker"]}, None)["repository_known"]


def test_probe_records_an_open_repository_and_the_role_recognises_the_record(pb, tmp_path, capsys):
    config, config_path, env_path = repository_setup(tmp_path, "sys.exit(0)")
    assert not role_probe(config, config_path, env_path)
    assert pb.main(["--config", config_path, "--env-file", env_path, "probe"]) == 0
    assert not os.path.exists(config["repository_marker"])  # without --record (check mode) nothing is written
    assert pb.main(["--config", config_path, "--env-file", env_path, "probe", "--record"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["state"] == "ready"
    assert role_probe(config, config_path, env_path)
    # Other secrets (a new password or repository): the record no longer vouches for them.
    with open(env_path, "a") as handle:
        handle.write("AWS_DEFAULT_REGION=eu-west-1\n")
    assert not role_probe(config, config_path, env_path)


def test_probe_records_nothing_when_the_repository_does_not_open(pb, tmp_path, capsys):
    config, config_path, env_path = repository_setup(
        tmp_path, 'sys.stderr.write("Fatal: wrong password or no key found\\n"); sys.exit(1)')
    assert pb.main(["--config", config_path, "--env-file", env_path, "probe", "--record"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["state"] == "wrong_password"
    assert not os.path.exists(config["repository_marker"])
    assert not role_probe(config, config_path, env_path)


def test_init_records_the_repository_it_found(pb, tmp_path):
    config, config_path, env_path = repository_setup(tmp_path, "sys.exit(0)")
    assert pb.main(["--config", config_path, "--env-file", env_path, "init"]) == 0
    assert role_probe(config, config_path, env_path)


@needs_restic
def test_real_restic_closed_port_is_endpoint_unreachable(pb, tmp_path):
    """restic against a closed loopback port prints "connection refused" and "Is there a
    repository ...": the cause must be the endpoint, not a missing repository. (The REST backend
    fails at once; the S3 backend's client retries silently for about 13 s first.)"""
    secrets = dict(SECRETS, RESTIC_REPOSITORY="rest:http://127.0.0.1:9/")
    restic = pb.Restic(make_config(tmp_path, restic_binary=RESTIC, cache_dir=str(tmp_path / "cache")), secrets)
    with pytest.raises(pb.StepError) as raised:
        restic.run("probe", ["cat", "config"])
    assert raised.value.cause == "endpoint_unreachable"
    assert "connection refused" in raised.value.detail


@pytest.fixture(scope="module")
def local_repository(tmp_path_factory):
    if RESTIC is None:
        pytest.skip("restic is not installed")
    path = tmp_path_factory.mktemp("restic") / "repo"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "RESTIC_PASSWORD": "pw", "RESTIC_REPOSITORY": str(path),
           "RESTIC_CACHE_DIR": str(path) + "-cache"}
    subprocess.run([RESTIC, "init", "-q"], env=env, check=True, stdout=subprocess.PIPE, timeout=120)
    return str(path)


class HeldLock(object):
    """A real restic holding a (non-exclusive) lock: ``restic backup --stdin`` waiting for input."""

    def __init__(self, restic, repo):
        self.proc = subprocess.Popen(restic.command(["backup", "--stdin", "-q"]), env=restic.env,
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        locks = os.path.join(repo, "locks")
        deadline = time.monotonic() + 60
        # The local backend writes ID-tmp-NNN and renames it: only a full ID is a finished lock.
        while not [name for name in os.listdir(locks) if re.match(r"^[0-9a-f]{64}$", name)]:
            assert self.proc.poll() is None and time.monotonic() < deadline, "restic backup --stdin took no lock"
            time.sleep(0.1)

    def kill(self):
        self.proc.kill()
        self.proc.wait()


def local_restic(pb, tmp_path, source):
    repo = str(tmp_path / "repo")
    shutil.copytree(source, repo)
    restic = pb.Restic(make_config(tmp_path, restic_binary=RESTIC, cache_dir=str(tmp_path / "cache")),
                       dict(SECRETS, RESTIC_REPOSITORY=repo))
    return restic, repo


@needs_restic
def test_real_stale_lock_is_removed_and_the_call_retried(pb, tmp_path, local_repository, capsys):
    restic, repo = local_restic(pb, tmp_path, local_repository)
    HeldLock(restic, repo).kill()  # a run killed mid-way leaves its lock behind
    assert os.listdir(os.path.join(repo, "locks"))
    result = restic.run("forget", ["forget", "--json", "--keep-last", "1"])[0]  # exclusive lock
    assert result.returncode == 0
    assert restic.unlocked
    assert os.listdir(os.path.join(repo, "locks")) == []
    assert "removing stale locks (restic unlock) and retrying" in capsys.readouterr().out


@needs_restic
def test_real_live_lock_is_left_alone_and_reported_and_unlock_runs_once(pb, tmp_path, local_repository, capsys):
    restic, repo = local_restic(pb, tmp_path, local_repository)
    holder = HeldLock(restic, repo)
    try:
        for dummy in range(2):
            with pytest.raises(pb.StepError) as raised:
                restic.run("forget", ["forget", "--json", "--keep-last", "1"])
            assert raised.value.cause == "repository_locked"
            assert restic.unlocked  # it tried `restic unlock`; the live process's lock survived it
            assert holder.proc.poll() is None and os.listdir(os.path.join(repo, "locks"))
    finally:
        holder.kill()
    # One `restic unlock` and retry per run: the second locked call failed at once.
    assert capsys.readouterr().out.count("removing stale locks (restic unlock) and retrying") == 1


@needs_restic
def test_real_wrong_password_and_missing_repository(pb, tmp_path, local_repository):
    config = make_config(tmp_path, restic_binary=RESTIC, cache_dir=str(tmp_path / "cache"))
    restic = pb.Restic(config, dict(SECRETS, RESTIC_REPOSITORY=local_repository, RESTIC_PASSWORD="wrong"))
    with pytest.raises(pb.StepError) as raised:
        restic.run("probe", ["cat", "config"])
    assert raised.value.cause == "wrong_password"
    assert not restic.unlocked
    restic = pb.Restic(config, dict(SECRETS, RESTIC_REPOSITORY=str(tmp_path / "nothing-here")))
    with pytest.raises(pb.StepError) as raised:
        restic.run("probe", ["cat", "config"])
    assert raised.value.cause == "repository_missing"


# ------------------------------------------------------------------ runs that crash or are killed

SUMMARY = json.dumps({"message_type": "summary", "snapshot_id": "ab" * 32, "files_new": 1, "files_changed": 0,
                      "files_unmodified": 0, "data_added": 10, "total_bytes_processed": 20})


def run_setup(tmp_path, restic_body=None, **extra):
    """A config and env file as the role writes them, for ``main([... "run"])``."""
    if restic_body is not None:
        extra.setdefault("restic_binary", fake_restic(tmp_path, restic_body))
    config = make_config(tmp_path, retention={"keep_last": 3}, **extra)
    config_path, env_path = tmp_path / "config.json", tmp_path / "restic.env"
    config_path.write_text("# managed\n" + json.dumps(config))
    env_path.write_text("".join("%s=%s\n" % item for item in sorted(SECRETS.items())))
    return config, ["--config", str(config_path), "--env-file", str(env_path)]


def seed_success(pb, config, when=1000.0):
    state = pb.State(config)
    state.data.update({"last_run": when, "last_success": when, "last_run_success": 1, "last_run_duration": 1.0})
    state.save()


def failure_info(metrics):
    return {dict(labels)["cause"]: dict(labels)["step"] for name, labels in metrics
            if name == "prodready_backup_last_run_failure_info"}


def saved_state(config):
    with open(config["state_file"]) as handle:
        return json.load(handle)


def test_missing_restic_binary_is_a_recorded_failure(pb, tmp_path, capsys):
    config, argv = run_setup(tmp_path, restic_binary=str(tmp_path / "no-such-restic"))
    seed_success(pb, config)
    assert pb.main(argv + ["run"]) != 0
    metrics = read_metrics(pb, config)
    assert metrics[("prodready_backup_last_run_status", ())] == 0
    assert failure_info(metrics) == {"crash": "backup"}
    assert metrics[("prodready_backup_last_success_timestamp_seconds", ())] == 1000.0
    assert "current_run_started" not in saved_state(config)
    captured = capsys.readouterr()
    assert "FAILED at step backup: crash" in captured.out and "FileNotFoundError" in captured.out
    assert "Traceback" in captured.err


def test_unexpected_exception_in_a_step_is_a_recorded_crash(pb, tmp_path, monkeypatch, capsys):
    config, argv = run_setup(tmp_path, "print(%r)\n" % SUMMARY)
    seed_success(pb, config)

    def broken(*args):
        raise KeyError("a bug")

    monkeypatch.setattr(pb, "forget_reason", broken)
    assert pb.main(argv + ["run"]) == 1
    metrics = read_metrics(pb, config)
    assert metrics[("prodready_backup_last_run_status", ())] == 0
    assert failure_info(metrics) == {"crash": "forget"}
    state = saved_state(config)
    assert "current_run_started" not in state and "current_run_step" not in state
    assert "crash" in pb.CAUSE_TEXT
    assert "KeyError: 'a bug'" in capsys.readouterr().out


def test_a_successful_run_clears_the_run_marker(pb, tmp_path):
    config, argv = run_setup(tmp_path, "print(%r)\n" % SUMMARY)
    assert pb.main(argv + ["run"]) == 0
    state = saved_state(config)
    assert state["last_run_success"] == 1
    assert "current_run_started" not in state and "current_run_step" not in state
    assert failure_info(read_metrics(pb, config)) == {}


def test_sigterm_is_a_recorded_failure_and_restic_is_stopped(pb, tmp_path):
    started_flag = tmp_path / "restic-started"
    config, argv = run_setup(tmp_path, """
        open(%r, "w").write(str(os.getpid()))
        time.sleep(60)
    """ % str(started_flag))
    seed_success(pb, config)
    runner = os.path.join(os.path.dirname(pb.__file__), "prodready_backup.py")
    proc = subprocess.Popen([sys.executable, runner] + argv + ["run"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    # Generous bounds: two Python start-ups on a loaded machine (load 30) took over 20 s.
    deadline = time.monotonic() + 180
    while not started_flag.exists() or not started_flag.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(15)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 128 + 15, (out, err)
    assert b"FAILED at step backup: signal" in out
    metrics = read_metrics(pb, config)
    assert metrics[("prodready_backup_last_run_status", ())] == 0
    assert failure_info(metrics) == {"signal": "backup"}
    assert "current_run_started" not in saved_state(config)
    restic_pid = int(started_flag.read_text())
    with pytest.raises(OSError):  # restic did not outlive the run
        os.kill(restic_pid, 0)


def test_sigterm_while_restic_starts_still_stops_restic(pb, tmp_path, monkeypatch):
    # The signal lands inside Popen (after the fork, before the handle is returned): the run must
    # still know the child and stop it.
    config, argv = run_setup(tmp_path, "time.sleep(60)\n")
    seed_success(pb, config)
    real_popen = subprocess.Popen
    children = []

    def popen_then_sigterm(*args, **kwargs):
        child = real_popen(*args, **kwargs)
        children.append(child)
        os.kill(os.getpid(), signal.SIGTERM)
        return child

    monkeypatch.setattr(pb.subprocess, "Popen", popen_then_sigterm)
    try:
        assert pb.main(argv + ["run"]) == 128 + signal.SIGTERM
        assert len(children) == 1
        assert children[0].returncode is not None  # stopped and reaped by the run, not left sleeping
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    metrics = read_metrics(pb, config)
    assert failure_info(metrics) == {"signal": "backup"}
    assert "current_run_started" not in saved_state(config)


def record_exit(pb, monkeypatch, argv, **environ):
    for key in ("SERVICE_RESULT", "EXIT_CODE", "EXIT_STATUS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    return pb.main(argv[:2] + ["record-exit"])


@pytest.mark.parametrize("environ, cause", [
    ({"SERVICE_RESULT": "signal", "EXIT_CODE": "killed", "EXIT_STATUS": "KILL"}, "killed"),
    ({"SERVICE_RESULT": "oom-kill", "EXIT_CODE": "killed", "EXIT_STATUS": "KILL"}, "killed"),
    ({"SERVICE_RESULT": "timeout", "EXIT_CODE": "killed", "EXIT_STATUS": "KILL"}, "timeout"),
    ({"SERVICE_RESULT": "signal", "EXIT_CODE": "killed", "EXIT_STATUS": "TERM"}, "signal"),
    ({"SERVICE_RESULT": "exit-code", "EXIT_CODE": "exited", "EXIT_STATUS": "1"}, "crash"),
])
def test_record_exit_records_a_run_that_recorded_nothing(pb, tmp_path, monkeypatch, environ, cause):
    config, argv = run_setup(tmp_path)
    seed_success(pb, config)
    state = pb.State(config)
    state.start_run(time.time() - 5)
    state.enter_step("backup")
    assert read_metrics(pb, config)[("prodready_backup_last_run_status", ())] == 1  # what the bug left
    assert record_exit(pb, monkeypatch, argv, **environ) == 0
    metrics = read_metrics(pb, config)
    assert metrics[("prodready_backup_last_run_status", ())] == 0
    assert failure_info(metrics) == {cause: "backup"}
    assert metrics[("prodready_backup_last_success_timestamp_seconds", ())] == 1000.0
    assert metrics[("prodready_backup_last_run_duration_seconds", ())] >= 5
    assert cause in pb.CAUSE_TEXT
    assert "current_run_started" not in saved_state(config)
    # Once recorded, a second call changes nothing.
    before = saved_state(config)
    assert record_exit(pb, monkeypatch, argv, **environ) == 0
    assert saved_state(config) == before


def snapshot_files(config):
    with open(config["state_file"], "rb") as state, \
            open(os.path.join(config["metrics_dir"], "prodready_backup.prom"), "rb") as metrics:
        return state.read(), metrics.read()


@pytest.mark.parametrize("environ", [
    {"SERVICE_RESULT": "signal", "EXIT_CODE": "killed", "EXIT_STATUS": "KILL"},
    {"SERVICE_RESULT": "exit-code", "EXIT_CODE": "exited", "EXIT_STATUS": "1"},
    {"SERVICE_RESULT": "timeout", "EXIT_CODE": "killed", "EXIT_STATUS": "TERM"},
    {"SERVICE_RESULT": "success", "EXIT_CODE": "exited", "EXIT_STATUS": "0"},
    {},
])
def test_record_exit_leaves_a_recorded_result_alone(pb, tmp_path, monkeypatch, environ):
    # After a recorded success.
    config, argv = run_setup(tmp_path, "print(%r)\n" % SUMMARY)
    assert pb.main(argv + ["run"]) == 0
    before = snapshot_files(config)
    assert record_exit(pb, monkeypatch, argv, **environ) == 0
    assert snapshot_files(config) == before
    # After a recorded failure (its own cause, never replaced, never turned into a success).
    config, argv = run_setup(tmp_path, 'sys.stderr.write("Fatal: wrong password or no key found\\n"); sys.exit(1)')
    assert pb.main(argv + ["run"]) == 1
    before = snapshot_files(config)
    assert failure_info(read_metrics(pb, config)) == {"wrong_password": "backup"}
    assert record_exit(pb, monkeypatch, argv, **environ) == 0
    assert snapshot_files(config) == before


def test_record_exit_is_in_the_units_exec_stop_post():
    with open(os.path.join(ROOT, "roles", "backup", "templates", "prodready-backup.service.j2")) as handle:
        unit = handle.read()
    lines = [line for line in unit.splitlines() if line.startswith("ExecStopPost=")]
    assert len(lines) == 1 and lines[0].startswith("ExecStopPost=-/") and lines[0].endswith(" record-exit")


# ------------------------------------------------------------------------------- redis hook
# Against a real redis-server (REDIS_SERVER, else the one on PATH): an ACL file with the redis
# role's backup user, a Unix socket in tmp_path; skipped where Redis is not installed.
REDIS_SERVER = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
needs_redis = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")


@pytest.fixture
def redis_server(tmp_path):
    import hashlib as _hashlib
    import socket as _socket
    password = "backup-password-0123456789"
    acl = tmp_path / "users.acl"
    acl.write_text("user default off resetpass -@all\n"
                   "user app on #%s ~* +@all\n"
                   "user prodready-backup on #%s -@all +@connection +ping +info +bgsave +lastsave\n"
                   % (_hashlib.sha256(b"app-password").hexdigest(), _hashlib.sha256(password.encode()).hexdigest()))
    (tmp_path / "data").mkdir()
    sock = str(tmp_path / "redis.sock")
    proc = subprocess.Popen([REDIS_SERVER, "--port", "0", "--unixsocket", sock, "--dir", str(tmp_path / "data"),
                             "--aclfile", str(acl), "--save", "", "--logfile", ""],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for attempt in range(100):
        if attempt and os.path.exists(sock):
            try:
                client = _socket.socket(_socket.AF_UNIX)
                client.connect(sock)
                client.close()
                break
            except OSError:
                pass
        time.sleep(0.05)
    (tmp_path / "backup.password").write_text(password + "\n")
    yield {"socket": sock, "rdb": str(tmp_path / "data" / "dump.rdb"), "password_file": str(tmp_path / "backup.password")}
    proc.terminate()
    proc.wait(10)


@needs_redis
def test_redis_hook_snapshots_what_was_written(pb, tmp_path, redis_server):
    client = pb.RedisClient(redis_server["socket"], 5)
    client.call("AUTH", "app", "app-password")
    client.call("SET", "k1", "v1")
    hook = {"name": "cache", "type": "redis", "timeout": 30, **redis_server}
    target = pb.hook_redis(hook, str(tmp_path / "dumps"))
    assert target == str(tmp_path / "dumps" / "redis" / "cache.rdb")
    first = open(target, "rb").read()
    assert first.startswith(b"REDIS") and b"k1" in first and b"v1" in first
    # A second run in the same second still waits for its own save: the new key is in the copy.
    client.call("SET", "k2", "v2")
    pb.hook_redis(hook, str(tmp_path / "dumps"))
    assert b"k2" in open(target, "rb").read()
    client.close()


@needs_redis
def test_redis_hook_refuses_a_wrong_password_and_a_missing_socket(pb, tmp_path, redis_server):
    (tmp_path / "wrong.password").write_text("not-the-password")
    hook = {"name": "cache", "type": "redis", "timeout": 5, **redis_server,
            "password_file": str(tmp_path / "wrong.password")}
    with pytest.raises(pb.StepError) as info:
        pb.hook_redis(hook, str(tmp_path / "dumps"))
    assert info.value.cause == "hook_failed" and "Redis refused" in info.value.detail
    hook.update(password_file=redis_server["password_file"], socket=str(tmp_path / "none.sock"))
    with pytest.raises(pb.StepError) as info:
        pb.hook_redis(hook, str(tmp_path / "dumps"))
    assert "none.sock" in info.value.detail
    assert not os.listdir(str(tmp_path / "dumps" / "redis"))
