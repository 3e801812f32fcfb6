import errno
import os
import stat
import subprocess

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.prodready.platform.plugins.module_utils._files import lines as lines_utils
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
    """(changed paths, results, diffs) of a run (the missing attribute paths are left out)."""
    return config_files.run(items, check_mode, run_command)[:3]


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


def test_unmanaged_ownership_never_compares_or_changes_owner(tmp_path, monkeypatch):
    # Root would pass any chown: record the calls instead, and pretend the file has foreign ids.
    path = tmp_path / "report.json"
    path.write_text("{}\n")
    os.chmod(path, 0o640)
    foreign_uid, foreign_gid = os.getuid() + 4242, os.getgid() + 4242
    real_lstat = os.lstat

    def lstat(p, *args, **kwargs):
        result = real_lstat(p, *args, **kwargs)
        if str(p) != str(path):
            return result
        fields = list(result)
        fields[stat.ST_UID], fields[stat.ST_GID] = foreign_uid, foreign_gid
        return os.stat_result(fields)

    chowns = []
    monkeypatch.setattr(config_files.os, "lstat", lstat)
    monkeypatch.setattr(config_files.os, "chown", lambda p, u, g: chowns.append((str(p), u, g)))
    unmanaged = item(path, content="{}\n", mode="0640", owner="root", group="root", manage_ownership=False)
    assert apply([unmanaged])[0] == []
    # A mode change fixes the mode only: chown gets -1 (leave alone) for both ids.
    changed, results, diffs = apply([dict(unmanaged, mode="0600")])
    assert results[0]["reasons"] == ["mode"]
    assert chowns == [(str(path), -1, -1)]
    assert diffs[0]["after"] == "mode 0600, owner %d, group %d\n" % (foreign_uid, foreign_gid)
    # The same file with managed ownership (this user's ids) reports owner and group.
    managed = dict(unmanaged, mode="0600", manage_ownership=True, owner=ME, group=MY_GROUP)
    assert apply([managed], check_mode=True)[1][0]["reasons"] == ["owner", "group"]


def test_unmanaged_ownership_creates_as_the_running_user(tmp_path):
    reports = tmp_path / "reports"
    items = [item(reports, state="directory", mode="0750", manage_ownership=False),
             item(reports / "host.json", content="{}\n", mode="0640", manage_ownership=False)]
    changed, results, diffs = apply(items)
    assert changed == [str(reports), str(reports / "host.json")]
    for p in (reports, reports / "host.json"):
        assert (os.stat(p).st_uid, os.stat(p).st_gid) == (os.getuid(), os.getgid())
    assert "owner unmanaged" in diffs[0]["after"]
    assert apply(items)[0] == []


def test_directory_created_concurrently_is_not_an_error(tmp_path, monkeypatch):
    # Several hosts' runs on the controller create the same report directory at the same time.
    target = tmp_path / "parent" / "reports"
    real_mkdir = os.mkdir

    def racing_mkdir(p, mode=0o777, *args, **kwargs):
        real_mkdir(p, mode)
        raise OSError(errno.EEXIST, "File exists", p)

    monkeypatch.setattr(config_files.os, "mkdir", racing_mkdir)
    changed = apply([item(target, state="directory", mode="0750")])[0]
    assert changed == [str(target)]
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o750


def test_missing_parents_are_0755_whatever_the_umask(tmp_path):
    # A hardened Debian 13 host runs modules with umask 027 (pam_umask in sudo's session): the parents
    # of /etc/prometheus/node-exporter came out 0750 and node_exporter could not read its web.yml.
    target = tmp_path / "etc" / "prometheus" / "node-exporter"
    (tmp_path / "etc").mkdir(mode=0o700)
    old = os.umask(0o027)
    try:
        changed = apply([item(target, state="directory", mode="0750")])[0]
    finally:
        os.umask(old)
    assert changed == [str(target)]
    assert stat.S_IMODE(os.stat(tmp_path / "etc" / "prometheus").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o750
    assert stat.S_IMODE(os.stat(tmp_path / "etc").st_mode) == 0o700, "an existing ancestor keeps its mode"


def test_an_existing_file_where_a_new_directory_goes_still_fails(tmp_path, monkeypatch):
    target = tmp_path / "reports"

    def mkdir_loses_to_a_file(p, mode=0o777, *args, **kwargs):
        (tmp_path / "reports").write_text("not a directory")
        raise OSError(errno.EEXIST, "File exists", p)

    monkeypatch.setattr(config_files.os, "mkdir", mkdir_loses_to_a_file)
    with pytest.raises(OSError):
        apply([item(target, state="directory")])


def test_link_is_made_switched_atomically_and_converges(tmp_path):
    (tmp_path / "releases" / "1").mkdir(parents=True)
    (tmp_path / "releases" / "2").mkdir()
    link = tmp_path / "current"
    changed, results, diffs = apply([item(link, state="link", src="releases/1")])
    assert changed == [str(link)] and results[0]["reasons"] == ["created"]
    assert os.readlink(link) == "releases/1"
    assert diffs[0]["before"] == "(absent)\n" and diffs[0]["after"] == "symbolic link to releases/1\n"
    assert apply([item(link, state="link", src="releases/1")])[0] == []
    changed, results, diffs = apply([item(link, state="link", src="releases/2")])
    assert results[0]["reasons"] == ["target"]
    assert os.readlink(link) == "releases/2"
    assert diffs[0]["before"] == "symbolic link to releases/1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current", "releases"]  # no temporary link left


def test_link_check_mode_reports_and_touches_nothing(tmp_path):
    link = tmp_path / "current"
    os.symlink("releases/1", link)
    changed, results, dummy = apply([item(link, state="link", src="releases/2")], check_mode=True)
    assert changed == [str(link)] and results[0]["reasons"] == ["target"]
    assert os.readlink(link) == "releases/1"


def test_link_never_replaces_a_file_or_directory(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(config_files.ItemError, match="not a symbolic link"):
        apply([item(tmp_path / "d", state="link", src="elsewhere")])
    assert (tmp_path / "d").is_dir()


@pytest.mark.parametrize("bad, message", [
    (dict(state="link"), "needs src"),
    (dict(state="file", content="x", src="t"), "src is only for state=link"),
])
def test_link_items_are_checked(tmp_path, bad, message):
    with pytest.raises(config_files.ItemError, match=message):
        apply([item(tmp_path / "l", **bad)])


def test_absent_removes_a_link_not_its_target(tmp_path):
    (tmp_path / "target").write_text("kept\n")
    os.symlink("target", tmp_path / "l")
    changed, dummy, dummy = apply([item(tmp_path / "l", state="absent")])
    assert changed == [str(tmp_path / "l")]
    assert not os.path.lexists(tmp_path / "l") and (tmp_path / "target").read_text() == "kept\n"


def test_secret_content_fills_its_item_as_a_secret(tmp_path):
    key = tmp_path / "key"
    items = config_files.attach_secret_content(
        [item(tmp_path / "plain", content="plain\n"), item(key, mode="0600")], {str(key): "hunter2\n"})
    changed, results, diffs = apply(items)
    assert changed == [str(tmp_path / "plain"), str(key)]
    assert [result["reasons"] for result in results] == [["created"], ["created"]]
    assert key.read_text() == "hunter2\n"
    assert "hunter2" not in diffs[1]["after"]
    assert "plain" in diffs[0]["after"]


@pytest.mark.parametrize("items, secret, message", [
    ([item("/etc/a", content="x")], {"/etc/a": "y"}, "both in files and in secret_content"),
    ([item("/etc/a", content="x")], {"/etc/b": "y"}, "no item of files has as path"),
])
def test_secret_content_must_match_its_items(items, secret, message):
    with pytest.raises(config_files.ItemError, match=message):
        config_files.attach_secret_content(items, secret)


def test_secret_content_stays_out_of_the_module_result(tmp_path):
    """Through AnsibleModule: the option is no_log, so neither the result nor its invocation carries
    the secret, while the other file's diff is still there."""
    import json
    import sys
    key, plain = tmp_path / "key", tmp_path / "plain"
    args = {"ANSIBLE_MODULE_ARGS": {
        "files": [{"path": str(plain), "content": "visible\n", "owner": ME, "group": MY_GROUP},
                  {"path": str(key), "mode": "0600", "owner": ME, "group": MY_GROUP}],
        "secret_content": {str(key): "hunter2-secret-value\n"},
        "_ansible_diff": True}}
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps(args))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run([sys.executable, config_files.__file__, str(args_file)],
                          capture_output=True, text=True, check=False, env=env)
    result = json.loads(proc.stdout)
    assert result["changed"] is True, result
    assert key.read_text() == "hunter2-secret-value\n"
    assert "hunter2" not in proc.stdout
    assert "visible" in json.dumps(result["diff"])


def existing(path, mode, text):
    """A file the module does not write (as a package would have installed it)."""
    path.write_text(text)
    os.chmod(path, mode)
    return path


LOGIN_DEFS = "# defaults\n#UMASK\t022\nUMASK\t022\n"
UMASK_LINE = {"regexp": r"^#?\s*UMASK\s", "line": "UMASK\t027", "insertafter": None, "insertbefore": None}


def test_lines_item_edits_in_place_keeps_mode_and_converges(tmp_path):
    path = tmp_path / "login.defs"
    path.write_text(LOGIN_DEFS)
    os.chmod(path, 0o640)
    items = [item(path, state="lines", lines=[UMASK_LINE, {"line": "ENCRYPT_METHOD\tYESCRYPT"}])]
    changed, results, diffs, missing = config_files.run(items, True, run_command)
    assert changed == [str(path)] and results[0]["reasons"] == ["content"] and missing == []
    assert path.read_text() == LOGIN_DEFS  # check mode wrote nothing
    changed, results, diffs = apply(items)
    assert path.read_text() == "# defaults\n#UMASK\t022\nUMASK\t027\nENCRYPT_METHOD\tYESCRYPT\n"
    assert diffs[0]["before"] == LOGIN_DEFS and diffs[0]["after"] == path.read_text()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    inode = os.stat(path).st_ino
    assert apply(items)[0] == [] and os.stat(path).st_ino == inode


def test_lines_item_same_result_as_file_lines(tmp_path):
    path = tmp_path / "f"
    path.write_text("auth a\n@include common-auth\n")
    entries = [{"line": "new", "insertbefore": "^@include"}, {"line": "Include x", "insertbefore": "BOF"}]
    apply([item(path, state="lines", lines=entries)])
    assert path.read_text() == lines_utils.new_text("auth a\n@include common-auth\n", entries)


def test_lines_item_validation_and_missing_file(tmp_path):
    path = tmp_path / "sshd_config"
    path.write_text("a\n")
    with pytest.raises(config_files.ItemError, match="validation"):
        apply([item(path, state="lines", lines=[{"line": "b"}], validate="false %s")])
    assert path.read_text() == "a\n" and os.listdir(tmp_path) == ["sshd_config"]
    with pytest.raises(config_files.ItemError, match="does not exist"):
        apply([item(tmp_path / "nope", state="lines", lines=[{"line": "b"}])], check_mode=True)


def test_lines_item_after_a_file_item_in_one_run(tmp_path):
    path = tmp_path / "f"
    changed, results, diffs = apply([item(path, content="a\n"), item(path, state="lines", lines=[{"line": "b"}])])
    assert changed == [str(path), str(path)] and path.read_text() == "a\nb\n"


def test_attributes_item_sets_mode_skips_missing_and_converges(tmp_path):
    target = existing(tmp_path / "shadow", 0o644, "x")
    items = [item(target, state="attributes", mode="0640"), item(tmp_path / "gcc", state="attributes", mode="0750")]
    changed, results, diffs, missing = config_files.run(items, True, run_command)
    assert changed == [str(target)] and missing == [str(tmp_path / "gcc")]
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644
    changed, results, diffs, missing = config_files.run(items, False, run_command)
    assert [r["reasons"] for r in results] == [["mode"], []]
    assert diffs[0]["before"].startswith("mode 0644") and target.read_text() == "x"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert apply(items)[0] == []


def test_attributes_item_reports_the_link_target_it_changed(tmp_path):
    target = existing(tmp_path / "x86_64-linux-gnu-as", 0o755, "x")
    os.symlink(target, tmp_path / "as")
    changed, results, diffs = apply([item(tmp_path / "as", state="attributes", mode="0750", follow=True)])
    assert changed == [str(target)] and results[0]["path"] == str(tmp_path / "as")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o750


def test_attributes_statoverride_is_read_once(tmp_path):
    target = existing(tmp_path / "gcc", 0o750, "x")
    calls = []

    def fake(argv):
        calls.append(argv)
        return 0, "root root 0750 %s\n" % target, ""

    items = [item(target, state="attributes", mode="0750", owner="root", group="root", statoverride=True),
             item(tmp_path / "f", content="x\n")]
    changed, results, diffs, missing = config_files.run(items, True, fake)
    assert calls == [["dpkg-statoverride", "--list"]]
    assert "statoverride" not in results[0]["reasons"]


@pytest.mark.parametrize("bad,message", [
    ({"state": "file", "content": "x", "lines": [{"line": "a"}]}, "lines is only for state=lines"),
    ({"state": "lines"}, "state=lines needs lines"),
    ({"state": "attributes"}, "state=attributes needs mode"),
    ({"state": "directory", "follow": True}, "follow is only for state=attributes"),
    ({"state": "lines", "lines": [{"line": "a"}], "statoverride": True}, "statoverride is only for state=attributes"),
    ({"state": "attributes", "mode": "0644", "content": "x"}, "content is only for state=file"),
])
def test_state_only_options_fail_clearly(tmp_path, bad, message):
    with pytest.raises(config_files.ItemError, match=message):
        apply([item(tmp_path / "f", **bad)])
