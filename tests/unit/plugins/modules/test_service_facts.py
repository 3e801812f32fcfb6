"""service_facts: what the service role's deploy reads before it changes anything."""
import os

from ansible_collections.prodready.platform.plugins.modules import service_facts


def layout(tmp_path):
    root, config, store = tmp_path / "opt", tmp_path / "etc", tmp_path / "credstore"
    for directory in (root / "releases" / "1.0.0", root / "releases" / "2.0.0", root / "releases" / ".3.0.0.download",
                      root / "slots", config / "releases" / "1.0.0", store):
        directory.mkdir(parents=True, exist_ok=True)
    os.symlink("releases/1.0.0", str(root / "current"))
    os.symlink("../releases/2.0.0", str(root / "slots" / "green"))
    os.symlink("slots/green", str(root / "active"))
    os.symlink(str(root / "releases" / "1.0.0"), str(root / "releases" / "link-not-a-release"))
    (store / "hmac_key").write_text("secret")
    (store / "environment").write_text("A=1")
    (store / "subdir").mkdir()
    return {"root": str(root), "config_dir": str(config), "credstore_dir": str(store), "slots": ["blue", "green"]}


def test_links_as_written_and_null_where_there_is_none(tmp_path):
    params = layout(tmp_path)
    links = service_facts.read_facts(params)["links"]
    root, config = params["root"], params["config_dir"]
    assert links == {root + "/current": "releases/1.0.0", config + "/current": None, root + "/active": "slots/green",
                     root + "/slots/blue": None, root + "/slots/green": "../releases/2.0.0",
                     config + "/slots/blue": None, config + "/slots/green": None}


def test_releases_are_directories_only_with_their_mtime(tmp_path):
    params = layout(tmp_path)
    os.utime(os.path.join(params["root"], "releases", "1.0.0"), (1000, 1000))
    releases = service_facts.read_facts(params)["releases"]
    assert sorted(releases) == ["1.0.0", "2.0.0"]
    assert releases["1.0.0"] == 1000


def test_credstore_lists_files_only_and_reads_no_content(tmp_path):
    params = layout(tmp_path)
    facts = service_facts.read_facts(params)
    assert facts["credstore_files"] == [params["credstore_dir"] + "/environment", params["credstore_dir"] + "/hmac_key"]
    assert "secret" not in repr(facts)


def test_fresh_host_reports_nothing_present(run_module, tmp_path):
    result = run_module(service_facts, {"root": str(tmp_path / "none"), "config_dir": str(tmp_path / "none-etc"),
                                        "credstore_dir": str(tmp_path / "none-store"), "_ansible_check_mode": True})
    assert result["changed"] is False
    assert result["releases"] == {} and result["credstore_files"] == []
    assert set(result["links"].values()) == {None}
    assert len(result["links"]) == 7
