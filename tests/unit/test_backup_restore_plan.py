"""The restore decision of the backup runner (roles/backup/files/prodready_backup.py ``restore-plan``):
bad input refused before anything is stopped, the services whose data paths overlap the restored
paths found from the service role's descriptors, the operator's overrides, and the restore test's
report. Path logic is checked against properties (hypothesis), restic by a fake ``restic`` script.
"""
import json
import posixpath
import sys
import textwrap

import pytest
from hypothesis import given, strategies as st

# The runner loaded the way it runs on a host (the fixture ``pb``), and the secrets file's keys.
from test_backup_runner import SECRETS, pb  # noqa: F401  pylint: disable=unused-import

SNAPSHOT = {"id": "ab" * 32, "short_id": "abababab", "time": "2026-12-06T10:00:00.5Z",
            "paths": ["/var/backups/prodready-backup", "/var/lib/prodready-demo", "/srv/files"]}


def descriptor(name="prodready-demo", units=None, data_paths=None, health=None):
    units = units or ["%s.service" % name]
    return {"name": name, "units": units,
            "data_paths": data_paths or ["/var/lib/%s" % name, "/var/cache/%s" % name, "/var/log/%s" % name],
            "health": health if health is not None else {units[0]: "http://127.0.0.1:8080/health"},
            "health_status_codes": [200], "health_json_field": "status", "health_json_value": "ok"}


# ------------------------------------------------------------------------------ path properties

SEGMENT = st.text(alphabet="abc.-_", min_size=1, max_size=4).filter(lambda s: s not in (".", ".."))
ABSOLUTE = st.lists(SEGMENT, min_size=0, max_size=4).map(lambda parts: "/" + "/".join(parts))


def reference_inside(path, parent):
    """The same question asked through posixpath.commonpath (an independent formulation)."""
    return posixpath.commonpath([path, parent]) == parent


@given(ABSOLUTE, ABSOLUTE)
def test_path_inside_agrees_with_commonpath(pb, path, parent):
    assert pb.path_inside(path, parent) == reference_inside(path, parent)


@given(ABSOLUTE, ABSOLUTE)
def test_overlap_is_symmetric_and_means_one_inside_the_other(pb, first, second):
    assert pb.paths_overlap(first, second) == pb.paths_overlap(second, first)
    assert pb.paths_overlap(first, second) == (reference_inside(first, second) or reference_inside(second, first))


@given(st.lists(ABSOLUTE, min_size=1, max_size=5))
def test_input_problems_are_exactly_the_overlapping_pairs(pb, paths):
    problems = pb.restore_input_problems(paths, None, [])
    overlapping = any(pb.paths_overlap(a, b) for i, a in enumerate(paths) for b in paths[i + 1:])
    assert bool(problems) == overlapping
    assert all("overlap" in problem for problem in problems)


@given(ABSOLUTE, st.lists(ABSOLUTE, max_size=3), st.lists(ABSOLUTE, max_size=3))
def test_a_target_is_refused_exactly_inside_a_scanned_or_restored_path(pb, target, scanned, restored):
    restored = [p for i, p in enumerate(restored) if not any(pb.paths_overlap(p, q) for q in restored[:i])]
    problems = pb.restore_input_problems(restored, target, scanned)
    bad = target == "/" or any(reference_inside(target, p) for p in scanned + restored)
    assert bool(problems) == bad


def test_relative_and_overlapping_paths_are_named(pb):
    problems = pb.restore_input_problems(["var/lib/app", "/srv/data", "/srv/data/sub", "/srv/other"], None, [])
    assert problems == ["restore paths must be absolute: var/lib/app",
                        "restore paths overlap: /srv/data and /srv/data/sub (list only the outer one)"]


@pytest.mark.parametrize("target, message", [
    ("restore", "the restore target must be an absolute path: restore"),
    ("/", "the restore target / would overwrite"),
    ("/var/lib/app/restored", "inside /var/lib/app, which the backup scans"),
    ("/srv/data/x", "inside the restored path /srv/data"),
])
def test_bad_targets_are_named(pb, target, message):
    problems = pb.restore_input_problems(["/srv/data"], target, ["/var/lib/app"])
    assert any(message in problem for problem in problems), problems


def test_a_target_beside_the_data_is_fine(pb):
    assert pb.restore_input_problems(["/var/lib/app"], "/srv/restore", ["/var/lib/app"]) == []


# ------------------------------------------------------------------------------ the services

@pytest.mark.parametrize("restored, expected", [
    (["/var/lib/prodready-demo"], ["prodready-demo"]),        # the data directory itself
    (["/var/lib"], ["prodready-demo"]),                       # a parent of it
    (["/var/lib/prodready-demo/records.sqlite3"], ["prodready-demo"]),  # a file inside it
    (["/var/lib/prodready-demo-other"], []),                  # a sibling with the same prefix
    (["/srv/files"], []),
])
def test_services_whose_data_paths_overlap(pb, restored, expected):
    assert [d["name"] for d in pb.services_using(restored, [descriptor()])] == expected


def test_in_place_plan_stops_running_units_and_checks_their_health(pb):
    blue_green = descriptor("bg", units=["bg@blue.service", "bg@green.service"],
                            health={"bg@blue.service": "http://127.0.0.1:8091/health",
                                    "bg@green.service": "http://127.0.0.1:8092/health"})
    states = {"prodready-demo.service": "active", "bg@blue.service": "inactive", "bg@green.service": "failed"}
    plan = pb.plan_services(["/var/lib"], True, [descriptor(), blue_green], states)
    # The idle slot stays stopped; a failed unit was meant to run (its data went missing).
    assert plan["stop"] == plan["start"] == ["prodready-demo.service", "bg@green.service"]
    assert [c["url"] for c in plan["health"]] == ["http://127.0.0.1:8080/health", "http://127.0.0.1:8092/health"]
    assert plan["health"][0]["json_field"] == "status" and plan["health"][0]["status_codes"] == [200]
    assert plan["services"] == ["prodready-demo", "bg"]


def test_a_restore_to_another_directory_stops_nothing(pb):
    plan = pb.plan_services(["/var/lib/prodready-demo"], False, [descriptor()], {"prodready-demo.service": "active"},
                            services=["x.service"], health_url="http://127.0.0.1:1/health")
    assert plan == {"services": [], "stop": [], "start": [], "health": []}


def test_explicit_services_and_health_url_override(pb):
    plan = pb.plan_services(["/srv/files"], True, [descriptor()], {}, services=["prodready-demo.service", "x.service"])
    assert plan["stop"] == plan["start"] == ["prodready-demo.service", "x.service"]
    assert [c["url"] for c in plan["health"]] == ["http://127.0.0.1:8080/health"]
    plan = pb.plan_services(["/var/lib/prodready-demo"], True, [descriptor()], {"prodready-demo.service": "active"},
                            health_url="http://127.0.0.1:9/ready", health_status=204)
    assert plan["stop"] == ["prodready-demo.service"]
    assert plan["health"] == [{"unit": "", "url": "http://127.0.0.1:9/ready", "status_codes": [204],
                               "json_field": "", "json_value": ""}]


def test_descriptors_are_read_and_a_broken_one_is_an_error(pb, tmp_path):
    assert pb.load_service_descriptors(str(tmp_path / "missing")) == []
    (tmp_path / "a.json").write_text(json.dumps({"name": "a", "units": ["a.service"], "data_paths": ["/var/lib/a/"]}))
    (tmp_path / "notes.txt").write_text("not a descriptor")
    loaded = pb.load_service_descriptors(str(tmp_path))
    assert [(d["name"], d["data_paths"], d["health_status_codes"]) for d in loaded] == [("a", ["/var/lib/a"], [200])]
    (tmp_path / "b.json").write_text("{")
    with pytest.raises(pb.StepError) as raised:
        pb.load_service_descriptors(str(tmp_path))
    assert "b.json" in raised.value.detail


# ------------------------------------------------------------------------------ the whole plan

def plan_setup(tmp_path, snapshots, services=None):
    """A config as the role writes it, a fake restic answering ``snapshots``, descriptors."""
    calls = tmp_path / "restic-calls"
    restic = tmp_path / "restic"
    restic.write_text("#!%s\nimport json, sys\n%s" % (sys.executable, textwrap.dedent("""
        open(%r, "a").write(" ".join(sys.argv[1:]) + "\\n")
        known = %r
        wanted = [a for a in sys.argv[1:] if not a.startswith("-") and a not in ("snapshots", "web1")]
        print(json.dumps([s for s in known if not wanted or s["id"].startswith(wanted[0])]))
    """ % (str(calls), snapshots))))
    restic.chmod(0o755)
    services_dir = tmp_path / "services"
    services_dir.mkdir()
    for item in services or []:
        (services_dir / ("%s.json" % item["name"])).write_text(json.dumps(item))
    config = {"hostname": "web1", "state_file": str(tmp_path / "state" / "state.json"),
              "metrics_dir": str(tmp_path / "textfile"), "paths": ["/var/lib/prodready-demo", "/srv/files"],
              "hooks": [{"name": "db", "type": "sqlite", "source": "/var/lib/prodready-demo/records.sqlite3"}],
              "dump_dir": "/var/backups/prodready-backup", "restic_binary": str(restic),
              "services_dir": str(services_dir)}
    config_path, env_path = tmp_path / "config.json", tmp_path / "restic.env"
    config_path.write_text("# managed\n" + json.dumps(config))
    env_path.write_text("".join("%s=%s\n" % item for item in sorted(SECRETS.items())))
    return config, ["--config", str(config_path), "--env-file", str(env_path)], calls


def run_plan(pb, capsys, argv):
    rc = pb.main(argv)
    return rc, json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_plan_in_place_names_the_snapshot_paths_and_services(pb, tmp_path, capsys, monkeypatch):
    config, argv, calls = plan_setup(tmp_path, [SNAPSHOT], [descriptor()])
    monkeypatch.setattr(pb, "unit_states", lambda units: dict((u, "active") for u in units))
    rc, plan = run_plan(pb, capsys, argv + ["restore-plan", "--in-place"])
    assert rc == 0 and plan["ok"]
    assert plan["snapshot"] == SNAPSHOT["id"] and plan["in_place"]
    # Every path of the snapshot but the hook dumps (their SQLite copies replace the live files).
    assert plan["paths"] == ["/var/lib/prodready-demo", "/srv/files"]
    assert plan["stop"] == plan["start"] == ["prodready-demo.service"]
    assert plan["health"][0]["url"] == "http://127.0.0.1:8080/health"


def test_plan_to_a_target_stops_nothing(pb, tmp_path, capsys, monkeypatch):
    config, argv, calls = plan_setup(tmp_path, [SNAPSHOT], [descriptor()])
    monkeypatch.setattr(pb, "unit_states", lambda units: pytest.fail("systemd asked for a restore elsewhere"))
    rc, plan = run_plan(pb, capsys, argv + ["restore-plan", "--target", "/srv/restore"])
    assert rc == 0 and plan["stop"] == [] and plan["target"] == "/srv/restore"


@pytest.mark.parametrize("args, message", [
    (["--in-place", "--path", "var/lib/prodready-demo"], "restore paths must be absolute"),
    (["--in-place", "--path", "/var/lib", "--path", "/var/lib/prodready-demo"], "restore paths overlap"),
    (["--target", "/var/lib/prodready-demo/restored"], "which the backup scans"),
    (["--target", "/srv/files/restored", "--path", "/srv/files"], "inside /srv/files"),
    (["--in-place", "--snapshot", "not-an-id"], "snapshot must be 'latest' or a snapshot id"),
])
def test_bad_input_is_refused_before_restic_is_asked(pb, tmp_path, capsys, args, message):
    config, argv, calls = plan_setup(tmp_path, [SNAPSHOT], [descriptor()])
    rc, result = run_plan(pb, capsys, argv + ["restore-plan"] + args)
    assert rc == 2 and not result["ok"] and result["cause"] == "bad_input"
    assert message in result["detail"]
    assert not calls.exists()


@pytest.mark.parametrize("args, message", [
    (["--in-place", "--snapshot", "deadbeef"], "unknown snapshot deadbeef"),
    (["--in-place", "--path", "/etc"], "not in snapshot abababab"),
])
def test_snapshot_and_its_paths_are_checked_before_anything_is_stopped(pb, tmp_path, capsys, args, message):
    config, argv, calls = plan_setup(tmp_path, [SNAPSHOT], [descriptor()])
    rc, result = run_plan(pb, capsys, argv + ["restore-plan"] + args)
    assert rc == 2 and result["cause"] == "bad_input" and message in result["detail"], result
    assert "snapshots" in calls.read_text()


def test_a_target_inside_a_path_only_the_snapshot_holds_is_refused(pb, tmp_path, capsys):
    # An older backup set: /srv/old is no longer scanned but is restored with the whole snapshot.
    old = dict(SNAPSHOT, paths=SNAPSHOT["paths"] + ["/srv/old"])
    config, argv, calls = plan_setup(tmp_path, [old], [descriptor()])
    rc, result = run_plan(pb, capsys, argv + ["restore-plan", "--target", "/srv/old/restore"])
    assert rc == 2 and "inside the restored path /srv/old" in result["detail"], result
    assert "snapshots" in calls.read_text()


def test_restore_refuses_bad_input_itself(pb, tmp_path, capsys):
    config, argv, calls = plan_setup(tmp_path, [SNAPSHOT])
    rc, result = run_plan(pb, capsys, argv + ["restore", "--in-place", "--path", "/srv", "--path", "/srv/files"])
    assert rc == 1 and result["cause"] == "bad_input" and "overlap" in result["detail"]
    assert not calls.exists()


def test_restore_test_reports_what_an_in_place_restore_would_stop(pb, tmp_path, capsys):
    config, argv, calls = plan_setup(tmp_path, [SNAPSHOT], [descriptor()])
    pb.report_restore_services(config, SNAPSHOT)
    out = capsys.readouterr().out
    assert "an in-place restore of /var/lib/prodready-demo, /srv/files would stop and health-check" in out
    assert out.rstrip().endswith("prodready-demo.service")
