"""backup_facts: the read-only answers the backup role checks before it changes anything."""
import os

from ansible_collections.prodready.platform.plugins.module_utils._backup import record
from ansible_collections.prodready.platform.plugins.modules import backup_facts


def fake_runner(answers, calls=None):
    """A runner answering by the command's first word; records every argv in ``calls``."""
    def run(argv):
        if calls is not None:
            calls.append(argv)
        return answers.get(argv[0], (0, "", ""))
    return run


def params(tmp_path, **kw):
    base = dict(calendars=[], paths=[], packages=[], restic=str(tmp_path / "restic"),
                env_file=str(tmp_path / "restic.env"), config_file=str(tmp_path / "config.json"),
                marker=str(tmp_path / "repository-opened"))
    base.update(kw)
    return base


def test_names_each_calendar_systemd_refuses():
    err = ("Failed to parse calendar specification 'every tuesday': Invalid argument\n"
           "Failed to parse calendar specification 'x y': Invalid argument\n")
    bad = backup_facts.bad_calendars(["daily", "every tuesday", "x y"], fake_runner({"systemd-analyze": (1, "", err)}))
    assert [entry["calendar"] for entry in bad] == ["every tuesday", "x y"]
    assert bad[0]["message"].startswith("Failed to parse calendar specification 'every tuesday'")


def test_an_unrecognised_refusal_names_every_calendar():
    bad = backup_facts.bad_calendars(["daily", "weekly"], fake_runner({"systemd-analyze": (1, "", "boom\n")}))
    assert bad == [{"calendar": "daily", "message": "boom"}, {"calendar": "weekly", "message": "boom"}]


def test_good_calendars_and_no_calendars():
    assert backup_facts.bad_calendars(["daily"], fake_runner({})) == []
    calls = []
    assert backup_facts.bad_calendars([], fake_runner({}, calls)) == []
    assert calls == []


def test_packages_missing_and_whether_apt_knows_them(tmp_path):
    dpkg = (1, "ii  restic\nun  bzip2\n", "dpkg-query: no packages found matching postgresql-client\n")
    calls = []
    facts = backup_facts.read_facts(params(tmp_path, packages=["restic", "bzip2", "postgresql-client"]),
                                    fake_runner({"dpkg-query": dpkg, "apt-cache": (100, "", "")}, calls))
    assert facts["installed_packages"] == ["restic"]
    assert facts["missing_packages"] == ["bzip2", "postgresql-client"]
    assert facts["apt_knows_missing"] is False
    assert ["apt-cache", "show", "bzip2", "postgresql-client"] in calls


def test_apt_is_not_asked_when_nothing_is_missing(tmp_path):
    calls = []
    facts = backup_facts.read_facts(params(tmp_path, packages=["restic"]),
                                    fake_runner({"dpkg-query": (0, "ii  restic\n", "")}, calls))
    assert facts["missing_packages"] == [] and facts["apt_knows_missing"] is True
    assert not [argv for argv in calls if argv[0] == "apt-cache"]


def test_missing_paths_count_a_dangling_symlink_as_present(tmp_path):
    (tmp_path / "data").mkdir()
    os.symlink(str(tmp_path / "nowhere"), str(tmp_path / "link"))
    wanted = [str(tmp_path / "data"), str(tmp_path / "link"), str(tmp_path / "gone")]
    facts = backup_facts.read_facts(params(tmp_path, paths=wanted), fake_runner({}))
    assert facts["missing_paths"] == [str(tmp_path / "gone")]


def test_repository_known_only_while_the_record_matches_both_files(tmp_path):
    p = params(tmp_path)
    run = fake_runner({})
    assert backup_facts.read_facts(p, run)["repository_known"] is False
    (tmp_path / "restic.env").write_text("RESTIC_PASSWORD=pw\n")
    (tmp_path / "config.json").write_text("{}\n")
    facts = backup_facts.read_facts(p, run)
    assert facts["secrets_present"] is True and facts["restic_present"] is False
    assert facts["repository_known"] is False
    (tmp_path / "repository-opened").write_text(record.repository_digest(p["config_file"], p["env_file"]) + "\n")
    assert backup_facts.read_facts(p, run)["repository_known"] is True
    (tmp_path / "config.json").write_text('{"paths": ["/srv"]}\n')
    assert backup_facts.read_facts(p, run)["repository_known"] is False


def test_module_changes_nothing_and_returns_no_secret(run_module, tmp_path):
    (tmp_path / "restic.env").write_text("RESTIC_PASSWORD=very-secret\n")
    result = run_module(backup_facts, params(tmp_path, paths=[str(tmp_path)], _ansible_check_mode=True))
    assert result["changed"] is False
    assert result["missing_paths"] == []
    assert "very-secret" not in repr(result)
