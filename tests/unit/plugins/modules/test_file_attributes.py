# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ansible_collections.prodready.platform.plugins.module_utils._files import attributes as file_attributes

ME = str(os.getuid())
MY_GROUP = str(os.getgid())


def item(path, mode, **kw):
    base = dict(path=str(path), owner=ME, group=MY_GROUP, mode=mode, follow=False, statoverride=False)
    base.update(kw)
    return base


def test_sets_mode_skips_missing_and_is_idempotent(tmp_path):
    target = tmp_path / "shadow"
    target.write_text("x")
    os.chmod(target, 0o644)
    items = [item(target, "0640"), item(tmp_path / "absent", "0600")]
    changed, missing, diffs = file_attributes.run(items, False, None)
    assert changed == [str(target)] and missing == [str(tmp_path / "absent")]
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert diffs[0]["before"].startswith("mode 0644")
    assert file_attributes.run(items, False, None)[0] == []


def test_check_mode_changes_nothing(tmp_path):
    target = tmp_path / "f"
    target.write_text("x")
    os.chmod(target, 0o644)
    changed, _missing, _diffs = file_attributes.run([item(target, "0600")], True, None)
    assert changed == [str(target)]
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644


def test_follow_changes_each_target_once(tmp_path):
    target = tmp_path / "x86_64-linux-gnu-as"
    target.write_text("x")
    os.chmod(target, 0o755)
    os.symlink(target, tmp_path / "as")
    os.symlink(target, tmp_path / "as2")
    items = [item(tmp_path / "as", "0750", follow=True), item(tmp_path / "as2", "0750", follow=True),
             item(tmp_path / "as", "0750")]  # a link without follow is left alone
    changed, _missing, _diffs = file_attributes.run(items, False, None)
    assert changed == [str(target)]
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o750


def test_statoverride_entry_is_compared_and_written(tmp_path):
    target = tmp_path / "gcc"
    target.write_text("x")
    os.chmod(target, 0o750)
    calls = []
    overrides = {"out": ""}

    def run_command(argv):
        calls.append(argv)
        if argv[1] == "--list":
            return 0, overrides["out"], ""
        return 0, "", ""

    items = [item(target, "0750", owner="root", group="root", statoverride=True)]
    # Owner root cannot be set by an unprivileged test: check mode only.
    changed, _missing, diffs = file_attributes.run(items, True, run_command)
    assert changed == [str(target)] and "dpkg-statoverride" in diffs[0]["after"]
    assert calls == [["dpkg-statoverride", "--list"]]
    planned, _missing = file_attributes.plan(items, {str(target): ("root", "root", 0o750)})
    assert all("statoverride" not in reasons for _t, _i, reasons, _st in planned)
