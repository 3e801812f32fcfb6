"""The integrity library: path rules, the tree walk, hashing, dpkg --verify (_integrity/pathrules.py, scan.py)."""
import hashlib
import os
import stat

import pytest
from hypothesis import given, strategies as st

from ansible_collections.prodready.platform.plugins.module_utils._integrity import common
from ansible_collections.prodready.platform.plugins.module_utils._integrity import pathrules
from ansible_collections.prodready.platform.plugins.module_utils._integrity import scan


segments = st.from_regex(r"\A[a-zA-Z0-9_.-]{1,12}\Z").filter(lambda s: s not in (".", ".."))
abs_paths = st.lists(segments, min_size=1, max_size=5).map(lambda parts: "/" + "/".join(parts))


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


def test_dpkg_verify_parser(monkeypatch):
    class Proc(object):
        returncode = 1

        def communicate(self, timeout=None):
            return (b"??5??????   /usr/bin/login\n??5?????? c /etc/ssh/sshd_config\nmissing     /usr/share/doc/x\n", b"")

    monkeypatch.setattr(scan.subprocess, "Popen", lambda *a, **k: Proc())
    monkeypatch.setattr(scan.os.path, "exists", lambda p: p == "/usr/bin/dpkg")
    assert scan.dpkg_verify() == {"/usr/bin/login": "??5??????", "/etc/ssh/sshd_config": "??5?????? conffile",
                                  "/usr/share/doc/x": "missing"}
