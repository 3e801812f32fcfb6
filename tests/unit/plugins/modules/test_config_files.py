import os
import stat
import subprocess

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.prodready.platform.plugins.modules import config_files

ME = str(os.getuid())
MY_GROUP = str(os.getgid())


def item(path, **kw):
    base = dict(path=str(path), state="file", content=None, mode=None, owner=ME, group=MY_GROUP,
                validate=None, secret=False)
    base.update(kw)
    return base


def run_command(argv):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def apply(items, check_mode=False):
    return config_files.run(items, check_mode, run_command)


def test_creates_directory_then_file_and_is_idempotent(tmp_path):
    conf = tmp_path / "etc" / "app"
    items = [item(conf, state="directory", mode="0750"),
             item(conf / "app.conf", content="a = 1\n", mode="0640")]
    changed, results, diffs = apply(items)
    assert changed == [str(conf), str(conf / "app.conf")]
    assert [r["reasons"] for r in results] == [["created"], ["created"]]
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o750
    assert stat.S_IMODE(os.stat(conf / "app.conf").st_mode) == 0o640
    assert (conf / "app.conf").read_text() == "a = 1\n"
    assert diffs[1]["before"] == "" and diffs[1]["after"] == "a = 1\n"
    # Second run: nothing to do, and the file keeps its inode (no rewrite).
    inode = os.stat(conf / "app.conf").st_ino
    changed, results, diffs = apply(items)
    assert changed == [] and diffs == []
    assert all(not r["changed"] for r in results)
    assert os.stat(conf / "app.conf").st_ino == inode


def test_content_change_is_written_atomically_with_diff(tmp_path):
    path = tmp_path / "f.conf"
    path.write_text("old\n")
    os.chmod(path, 0o644)
    changed, results, diffs = apply([item(path, content="new\n", mode="0644")])
    assert results[0]["reasons"] == ["content"]
    assert path.read_text() == "new\n"
    assert diffs == [{"before_header": str(path), "after_header": str(path), "before": "old\n", "after": "new\n"}]
    assert [p.name for p in tmp_path.iterdir()] == ["f.conf"]  # no temporary file left


def test_mode_only_change_keeps_the_inode(tmp_path):
    path = tmp_path / "script"
    path.write_text("#!/bin/sh\n")
    os.chmod(path, 0o644)
    inode = os.stat(path).st_ino
    changed, results, diffs = apply([item(path, content="#!/bin/sh\n", mode="0755")])
    assert results[0]["reasons"] == ["mode"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o755
    assert os.stat(path).st_ino == inode
    assert "mode 0644" in diffs[0]["before"] and "mode 0755" in diffs[0]["after"]


def test_check_mode_reports_and_touches_nothing(tmp_path):
    path = tmp_path / "d" / "f"
    items = [item(tmp_path / "d", state="directory"), item(path, content="x\n")]
    changed, results, diffs = apply(items, check_mode=True)
    assert changed == [str(tmp_path / "d"), str(path)]
    assert not (tmp_path / "d").exists()


def test_failed_validation_keeps_the_old_file(tmp_path):
    path = tmp_path / "cfg"
    path.write_text("good\n")
    os.chmod(path, 0o644)
    with pytest.raises(config_files.ItemError) as info:
        apply([item(path, content="bad\n", mode="0644", validate="grep -q good %s")])
    assert "validation of" in str(info.value)
    assert path.read_text() == "good\n"
    assert [p.name for p in tmp_path.iterdir()] == ["cfg"]
    changed = apply([item(path, content="good too\n", mode="0644", validate="grep -q good %s")])[0]
    assert changed == [str(path)] and path.read_text() == "good too\n"


def test_validate_needs_the_placeholder(tmp_path):
    with pytest.raises(config_files.ItemError, match="must contain %s"):
        apply([item(tmp_path / "x", content="x", validate="true")])


def test_partial_failure_reports_what_was_applied(tmp_path):
    items = [item(tmp_path / "a", content="a\n"), item(tmp_path / "missing" / "b", content="b\n")]
    with pytest.raises(config_files.ItemError) as info:
        apply(items)
    assert info.value.applied == [str(tmp_path / "a")]
    assert "does not exist" in str(info.value)


def test_secret_content_stays_out_of_the_diff(tmp_path):
    path = tmp_path / "key"
    diffs = apply([item(path, content="hunter2\n", mode="0600", secret=True)])[2]
    assert "hunter2" not in diffs[0]["after"]
    assert "secret content" in diffs[0]["after"]


def test_absent_removes_files_and_empty_directories(tmp_path):
    (tmp_path / "old.conf").write_text("x")
    (tmp_path / "olddir").mkdir()
    items = [item(tmp_path / "old.conf", state="absent"), item(tmp_path / "olddir", state="absent"),
             item(tmp_path / "never", state="absent")]
    changed = apply(items)[0]
    assert changed == [str(tmp_path / "old.conf"), str(tmp_path / "olddir")]
    assert not (tmp_path / "old.conf").exists() and not (tmp_path / "olddir").exists()
    assert apply(items)[0] == []


def test_an_unquoted_yaml_mode_is_the_mode_itself(tmp_path):
    path = tmp_path / "f"
    apply([item(path, content="x", mode=0o640)])  # YAML 1.1 reads unquoted 0640 as 416
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


@pytest.mark.parametrize("bad, message", [
    (dict(mode=True), "octal"),
    (dict(mode="rw-r--r--"), "octal"),
    (dict(mode="17777"), "out of range"),
    (dict(owner="no-such-user-prodready"), "does not exist"),
    (dict(group="no-such-group-prodready"), "does not exist"),
])
def test_bad_items_fail_clearly(tmp_path, bad, message):
    with pytest.raises(config_files.ItemError, match=message):
        apply([item(tmp_path / "f", content="x", **bad)])


def test_inputs_are_checked_before_anything_is_applied(tmp_path):
    items = [item(tmp_path / "first", content="x"), item("relative/path", content="y")]
    with pytest.raises(config_files.ItemError, match="not absolute"):
        apply(items)
    assert not (tmp_path / "first").exists()


def test_a_directory_where_a_file_belongs_is_an_error(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(config_files.ItemError, match="not a regular file"):
        apply([item(tmp_path / "d", content="x")])


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["0600", "0640", "0644", "0755"]))
def test_any_text_round_trips_and_converges(tmp_path_factory, content, mode):
    path = tmp_path_factory.mktemp("rt") / "f"
    apply([item(path, content=content, mode=mode)])
    assert path.read_bytes() == content.encode("utf-8", "surrogateescape")
    assert stat.S_IMODE(os.stat(path).st_mode) == int(mode, 8)
    assert apply([item(path, content=content, mode=mode)])[0] == []
