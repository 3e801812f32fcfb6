"""Package-update classification: a fake dpkg database (status, info/*.list, info/*.md5sums,
diversions) and a fake dpkg log in temporary directories, passed in as the admin dir and log
path (no mocking), and a real tree the "packages" install files into."""
import gzip
import hashlib
import os
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.prodready.platform.plugins.module_utils._integrity import baseline as baseline_lib
from ansible_collections.prodready.platform.plugins.module_utils._integrity import compare
from ansible_collections.prodready.platform.plugins.module_utils._integrity import dpkg as dpkg_lib
from ansible_collections.prodready.platform.plugins.module_utils._integrity import manifest
from ansible_collections.prodready.platform.plugins.module_utils._integrity import signing
from ansible_collections.prodready.platform.plugins.module_utils._integrity import verify

KEY = signing.generate_private_key_text()
PUB = signing.public_key_text(signing.load_private_key(KEY))


class FakeDpkg(object):
    """Just enough of /var/lib/dpkg and /var/log/dpkg.log for the classification."""

    def __init__(self, base):
        self.admin = str(base / "dpkg")
        self.log = str(base / "log" / "dpkg.log")
        os.makedirs(os.path.join(self.admin, "info"))
        os.makedirs(os.path.dirname(self.log))
        self.packages = {}
        open(self.log, "w").close()
        self.write_status()

    def key(self, name):
        item = self.packages[name]
        return "%s:%s" % (name, item["arch"]) if item["multiarch"] else name

    def write_status(self):
        stanzas = []
        for name, item in sorted(self.packages.items()):
            lines = ["Package: %s" % name, "Status: install ok %s" % item["state"], "Priority: optional",
                     "Architecture: %s" % item["arch"]]
            if item["multiarch"]:
                lines.append("Multi-Arch: same")
            lines.append("Version: %s" % item["version"])
            if item["conffiles"]:
                lines.append("Conffiles:")
                lines += [" %s %s" % (p, hashlib.md5(c).hexdigest()) for p, c in sorted(item["conffiles"].items())]
            lines += ["Description: test package %s" % name, " with a second line", " ."]
            stanzas.append("\n".join(lines) + "\n")
        with open(os.path.join(self.admin, "status"), "w") as handle:
            handle.write("\n".join(stanzas))

    def install(self, name, version, files, conffiles=None, arch="amd64", multiarch=False, state="installed",
                log=True, write_files=True):
        """Install (or upgrade to) ``version``: write the files, the list, md5sums, status and a log line."""
        conffiles = conffiles or {}
        old = self.packages.get(name)
        self.packages[name] = {"version": version, "arch": arch, "multiarch": multiarch, "state": state,
                               "conffiles": conffiles}
        key = self.key(name)
        everything = dict(files, **conffiles)
        if write_files:
            for path, content in everything.items():
                os.makedirs(os.path.dirname(path), exist_ok=True)
                tmp = path + ".dpkg-new"
                with open(tmp, "wb") as handle:
                    handle.write(content)
                os.rename(tmp, path)  # like dpkg: a new inode
            if old:
                for path in set(old.get("files", {})) - set(everything):
                    if os.path.lexists(path):
                        os.unlink(path)
        self.packages[name]["files"] = everything
        dirs = sorted(set(os.path.dirname(p) for p in everything))
        with open(os.path.join(self.admin, "info", key + ".list"), "w") as handle:
            handle.write("/.\n" + "".join(d + "\n" for d in dirs) + "".join(p + "\n" for p in sorted(everything)))
        with open(os.path.join(self.admin, "info", key + ".md5sums"), "w") as handle:
            handle.write("".join("%s  %s\n" % (hashlib.md5(c).hexdigest(), p.lstrip("/"))
                                 for p, c in sorted(files.items())))
        self.write_status()
        if log:
            with open(self.log, "a") as handle:
                handle.write("2026-12-02 03:00:00 %s %s:%s %s %s\n" % (
                    "upgrade" if old else "install", name, arch, old["version"] if old else "<none>", version))

    def state(self):
        return dpkg_lib.PackageState(self.admin, self.log, aliases={})


@pytest.fixture
def dpkg(tmp_path):
    return FakeDpkg(tmp_path)


@pytest.fixture
def root(tmp_path):
    path = tmp_path / "root"
    (path / "bin").mkdir(parents=True)
    (path / "etc").mkdir()
    (path / "bin" / "local-script").write_text("#!/bin/sh\n")
    return path


def baseline(root, dpkg, system_paths=None):
    body = baseline_lib.create_baseline([str(root)], system_paths=system_paths if system_paths is not None else {},
                                        packages=False, dpkg_admin_dir=dpkg.admin)[0]
    return manifest.sign_manifest(body, KEY)


def check(data, dpkg, level="standard", accept=True):
    return verify.verify(data, PUB, level, packages=False, system_paths={}, accept_package_updates=accept,
                         package_state=dpkg.state())


def tool_files(root, version):
    return {str(root / "bin" / "tool"): ("tool %s\n" % version).encode(),
            str(root / "bin" / "tool-helper"): ("helper %s\n" % version).encode()}


# ---------------------------------------------------------------- the baseline records owners

def test_baseline_records_owner_and_version_but_not_conffiles(root, dpkg):
    dpkg.install("tool", "1.0-1", tool_files(root, "1.0"), conffiles={str(root / "etc" / "tool.conf"): b"a=1\n"})
    body = manifest.load_manifest(baseline(root, dpkg), PUB)
    owners = body["packages"]["dpkg_owners"]
    assert owners == {"tool": {"version": "1.0-1", "files": sorted(tool_files(root, "1.0"))}}


def test_no_dpkg_database_records_nothing(root, tmp_path):
    body = baseline_lib.create_baseline([str(root)], system_paths={}, packages=False,
                                        dpkg_admin_dir=str(tmp_path / "none"))[0]
    assert "dpkg_owners" not in body["packages"]
    assert baseline_lib.create_baseline([str(root)], system_paths={}, packages=False, package_owners=False,
                                        dpkg_admin_dir=str(tmp_path / "none"))[0]["packages"] == {}


def test_shared_and_diverted_paths_are_not_recorded(root, dpkg):
    shared = str(root / "bin" / "shared")
    dpkg.install("one", "1", {shared: b"x\n", str(root / "bin" / "one"): b"1\n"})
    dpkg.install("two", "1", {shared: b"x\n", str(root / "bin" / "two"): b"2\n"})
    with open(os.path.join(dpkg.admin, "diversions"), "w") as handle:
        handle.write("%s\n%s.distrib\nlocal\n" % (root / "bin" / "two", root / "bin" / "two"))
    owners = manifest.load_manifest(baseline(root, dpkg), PUB)["packages"]["dpkg_owners"]
    assert owners == {"one": {"version": "1", "files": [str(root / "bin" / "one")]}}


def test_merged_usr_aliases(tmp_path):
    (tmp_path / "usr" / "bin").mkdir(parents=True)
    os.symlink("usr/bin", str(tmp_path / "bin"))
    os.symlink("/elsewhere", str(tmp_path / "sbin"))
    aliases = dpkg_lib.usrmerge_aliases(str(tmp_path))
    assert aliases == {"/bin/": "/usr/bin/"}
    assert dpkg_lib.canonical_package_path("/bin/ls", aliases) == "/usr/bin/ls"
    assert dpkg_lib.canonical_package_path("/binary", aliases) == "/binary"
    assert dpkg_lib._list_prefixes(["/usr/bin", "/etc", "/usr/bin/sub"], aliases) == ["/bin", "/etc", "/usr/bin"]
    assert dpkg_lib._list_prefixes(["/"], aliases) == ["/"]


def test_merged_usr_ownership_is_found_under_usr(tmp_path):
    admin = tmp_path / "dpkg"
    (admin / "info").mkdir(parents=True)
    (admin / "status").write_text("Package: coreutils\nStatus: install ok installed\nArchitecture: amd64\nVersion: 9.1-1\n")
    (admin / "info" / "coreutils.list").write_text("/.\n/bin\n/bin/ls\n/usr/bin/env\n")
    entries = {"/usr/bin/ls": {"type": "file"}, "/usr/bin/env": {"type": "file"}, "/usr/bin/other": {"type": "file"}}
    owners = dpkg_lib.dpkg_package_owners(entries, ["/usr/bin"], str(admin), aliases={"/bin/": "/usr/bin/"})
    assert owners == {"coreutils": {"version": "9.1-1", "files": ["/usr/bin/env", "/usr/bin/ls"]}}


# ---------------------------------------------------------------- verification

def test_upgrade_is_a_package_update_not_a_violation(root, dpkg):
    dpkg.install("tool", "1.0-1", tool_files(root, "1.0"))
    data = baseline(root, dpkg)
    dpkg.install("tool", "1.0-2", tool_files(root, "1.0 patched"))
    for level in ("minimal", "standard", "comprehensive"):
        result = check(data, dpkg, level)
        assert result["ok"] and result["violations"] == [], level
        assert [i["path"] for i in result["package_updates"]] == sorted(tool_files(root, "x"))
        item = result["package_updates"][0]
        assert (item["kind"], item["change"], item["package"], item["from_version"], item["to_version"]) == (
            "package-update", "changed", "tool", "1.0-1", "1.0-2")
        assert result["counts"]["package_updates"] == 2 and result["counts"]["violations"] == 0
        assert "tool 1.0-1 -> 1.0-2" in result["checks"]["package_updates"]


def test_switched_off_every_change_is_a_violation(root, dpkg):
    dpkg.install("tool", "1.0-1", tool_files(root, "1.0"))
    data = baseline(root, dpkg)
    dpkg.install("tool", "1.0-2", tool_files(root, "1.1"))
    result = check(data, dpkg, accept=False)
    assert sorted(v["kind"] for v in result["violations"]) == ["content", "content"]
    assert result["package_updates"] == [] and "switched off" in result["skipped"]["package_updates"]


def test_tampering_after_the_upgrade_is_content(root, dpkg):
    dpkg.install("tool", "1.0-1", tool_files(root, "1.0"))
    data = baseline(root, dpkg)
    dpkg.install("tool", "1.0-2", tool_files(root, "1.1"))
    with open(str(root / "bin" / "tool"), "ab") as handle:
        handle.write(b"backdoor\n")
    result = check(data, dpkg)
    assert [(v["path"], v["kind"]) for v in result["violations"]] == [(str(root / "bin" / "tool"), "content")]
    tool = [c for c in result["changed"] if c["path"].endswith("/tool")][0]
    assert "content differs from the md5sums of tool 1.0-2" in tool["details"]["package_update"]
    assert [i["path"] for i in result["package_updates"]] == [str(root / "bin" / "tool-helper")]


def test_same_version_is_tampering_even_with_forged_md5sums(root, dpkg):
    dpkg.install("tool", "1.0-1", tool_files(root, "1.0"))
    data = baseline(root, dpkg)
    dpkg.install("tool", "1.0-1", tool_files(root, "evil"))  # md5sums rewritten, version unchanged
    result = check(data, dpkg)
    assert sorted(v["kind"] for v in result["violations"]) == ["content", "content"]
    assert result["package_updates"] == []


def test_downgrade_is_a_violation(root, dpkg):
    dpkg.install("tool", "2.0-1", tool_files(root, "2.0"))
    data = baseline(root, dpkg)
    dpkg.install("tool", "1.9-1", tool_files(root, "1.9"))
    result = check(data, dpkg)
    assert len(result["violations"]) == 2 and result["package_updates"] == []


def test_upgrade_missing_from_the_log_is_a_violation(root, dpkg):
    dpkg.install("tool", "1.0-1", tool_files(root, "1.0"))
    data = baseline(root, dpkg)
    dpkg.install("tool", "1.0-2", tool_files(root, "1.1"), log=False)
    result = check(data, dpkg)
    assert len(result["violations"]) == 2
    assert "records no upgrade of tool to 1.0-2" in result["changed"][0]["details"]["package_update"]


def test_upgrade_found_in_a_rotated_compressed_log(root, dpkg):
    dpkg.install("tool", "1.0-1", tool_files(root, "1.0"))
    data = baseline(root, dpkg)
    dpkg.install("tool", "1.0-2", tool_files(root, "1.1"))
    with open(dpkg.log, "rb") as src, gzip.open(dpkg.log + ".2.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    open(dpkg.log, "w").close()
    assert check(data, dpkg)["ok"]


def test_log_rotations_are_read_newest_first_and_damaged_ones_skipped(root, dpkg):
    dpkg.install("tool", "1.0-1", tool_files(root, "1.0"))
    data = baseline(root, dpkg)
    dpkg.install("tool", "1.0-2", tool_files(root, "1.1"))
    os.rename(dpkg.log, dpkg.log + ".1")
    open(dpkg.log, "w").close()
    with open(dpkg.log + ".2.gz", "wb") as handle:
        handle.write(b"not gzip")
    state = dpkg.state()
    assert [os.path.basename(p) for p in state._log_files()] == ["dpkg.log", "dpkg.log.1", "dpkg.log.2.gz"]
    assert check(data, dpkg)["ok"]
    assert not state.upgrade_logged("tool", "9.9") and state._log_pending == []


def test_half_installed_package_is_not_accepted(root, dpkg):
    dpkg.install("tool", "1.0-1", tool_files(root, "1.0"))
    data = baseline(root, dpkg)
    dpkg.install("tool", "1.0-2", tool_files(root, "1.1"), state="half-installed")
    assert len(check(data, dpkg)["violations"]) == 2
    dpkg.install("tool", "1.0-2", tool_files(root, "1.1"), state="half-configured", log=False)
    assert check(data, dpkg)["ok"]


def test_changed_conffile_is_still_a_violation(root, dpkg):
    conf = str(root / "etc" / "tool.conf")
    dpkg.install("tool", "1.0-1", tool_files(root, "1.0"), conffiles={conf: b"a=1\n"})
    data = baseline(root, dpkg)
    dpkg.install("tool", "1.0-2", tool_files(root, "1.1"), conffiles={conf: b"a=2\n"})
    result = check(data, dpkg)
    assert [(v["path"], v["kind"]) for v in result["violations"]] == [(conf, "content")]
    assert len(result["package_updates"]) == 2


def test_conffile_of_the_new_version_is_not_accepted(root, dpkg):
    helper = str(root / "bin" / "tool-helper")
    dpkg.install("tool", "1.0-1", tool_files(root, "1.0"))
    data = baseline(root, dpkg)
    files = tool_files(root, "1.1")
    dpkg.install("tool", "1.0-2", {str(root / "bin" / "tool"): files[str(root / "bin" / "tool")]},
                 conffiles={helper: files[helper]})
    result = check(data, dpkg)
    assert [v["path"] for v in result["violations"]] == [helper]
    assert "conffile" in result["changed"][0]["details"]["package_update"]


def test_mode_change_is_never_a_package_update(root, dpkg):
    dpkg.install("tool", "1.0-1", tool_files(root, "1.0"))
    data = baseline(root, dpkg)
    dpkg.install("tool", "1.0-2", tool_files(root, "1.1"))
    os.chmod(str(root / "bin" / "tool"), 0o4755)
    result = check(data, dpkg, "comprehensive")
    assert [(v["path"], v["kind"]) for v in result["violations"]] == [(str(root / "bin" / "tool"), "suid")]


def test_added_and_removed_files_of_an_upgrade(root, dpkg):
    old = tool_files(root, "1.0")
    old[str(root / "bin" / "tool-old")] = b"dropped in 2.0\n"
    dpkg.install("tool", "1.0-1", old)
    data = baseline(root, dpkg)
    new = tool_files(root, "2.0")
    new[str(root / "bin" / "tool-new")] = b"new in 2.0\n"
    dpkg.install("tool", "2.0-1", new)
    (root / "bin" / "dropped-by-intruder").write_text("x\n")
    result = check(data, dpkg)
    changes = dict((i["path"], i["change"]) for i in result["package_updates"])
    assert changes[str(root / "bin" / "tool-new")] == "added"
    assert changes[str(root / "bin" / "tool-old")] == "removed"
    assert [(v["path"], v["kind"]) for v in result["violations"]] == [(str(root / "bin" / "dropped-by-intruder"), "added")]


def test_deleted_file_still_shipped_is_a_violation(root, dpkg):
    dpkg.install("tool", "1.0-1", tool_files(root, "1.0"))
    data = baseline(root, dpkg)
    dpkg.install("tool", "1.0-2", tool_files(root, "1.1"))
    os.unlink(str(root / "bin" / "tool-helper"))
    result = check(data, dpkg)
    assert [(v["path"], v["kind"]) for v in result["violations"]] == [(str(root / "bin" / "tool-helper"), "removed")]
    assert "still ships it" in result["removed"][0]["details"]["package_update"]


def test_added_file_with_a_matching_md5_but_not_listed_is_a_violation(root, dpkg):
    dpkg.install("tool", "1.0-1", tool_files(root, "1.0"))
    data = baseline(root, dpkg)
    dpkg.install("tool", "1.0-2", tool_files(root, "1.1"))
    shutil.copy(str(root / "bin" / "tool"), str(root / "bin" / "copy-of-tool"))
    result = check(data, dpkg)
    assert [(v["path"], v["kind"]) for v in result["violations"]] == [(str(root / "bin" / "copy-of-tool"), "added")]


def test_symlink_recreated_by_an_upgrade_is_accepted_retargeted_is_not(root, dpkg, tmp_path):
    link, other = str(root / "bin" / "tool-link"), str(root / "bin" / "other-link")
    os.symlink("tool", link)
    os.symlink("tool", other)
    files = tool_files(root, "1.0")
    dpkg.install("tool", "1.0-1", files)
    dpkg.install("links", "1", {str(root / "bin" / "links"): b"l\n"})
    for path, key in ((link, "tool"), (other, "links")):
        with open(os.path.join(dpkg.admin, "info", key + ".list"), "a") as handle:
            handle.write(path + "\n")
    data = baseline(root, dpkg)
    dpkg.install("tool", "1.0-2", tool_files(root, "1.1"))
    dpkg.install("links", "2", {str(root / "bin" / "links"): b"l2\n"})
    for path, key in ((link, "tool"), (other, "links")):
        with open(os.path.join(dpkg.admin, "info", key + ".list"), "a") as handle:
            handle.write(path + "\n")
    os.unlink(link)
    os.symlink("tool", link)  # recreated: new inode, same target
    os.unlink(other)
    os.symlink("/etc/shadow", other)
    result = check(data, dpkg)
    assert link in [i["path"] for i in result["package_updates"]]
    assert [(v["path"], v["kind"]) for v in result["violations"]] == [(other, "target")]


def test_multiarch_package_and_log_arch(root, dpkg):
    lib = {str(root / "bin" / "libx.so.1"): b"lib 1\n"}
    dpkg.install("libx1", "1.0", lib, multiarch=True, arch="amd64")
    data = baseline(root, dpkg)
    assert "libx1:amd64" in manifest.load_manifest(data, PUB)["packages"]["dpkg_owners"]
    dpkg.install("libx1", "1.1", {str(root / "bin" / "libx.so.1"): b"lib 1.1\n"}, multiarch=True, arch="amd64")
    assert check(data, dpkg)["package_updates"][0]["package"] == "libx1:amd64"


def test_unchanged_tree_never_reads_dpkg(root, dpkg):
    dpkg.install("tool", "1.0-1", tool_files(root, "1.0"))
    data = baseline(root, dpkg)
    shutil.rmtree(dpkg.admin)
    result = check(data, dpkg)
    assert result["ok"] and result["checks"]["package_updates"] == "no changed file is a package candidate"


def test_unreadable_dpkg_status_leaves_violations(root, dpkg):
    dpkg.install("tool", "1.0-1", tool_files(root, "1.0"))
    data = baseline(root, dpkg)
    dpkg.install("tool", "1.0-2", tool_files(root, "1.1"))
    os.unlink(os.path.join(dpkg.admin, "status"))
    result = check(data, dpkg)
    assert len(result["violations"]) == 2 and "dpkg status" in result["skipped"]["package_updates"]


def test_baseline_without_ownership_says_so(root, dpkg):
    dpkg.install("tool", "1.0-1", tool_files(root, "1.0"))
    body = baseline_lib.create_baseline([str(root)], system_paths={}, packages=False, package_owners=False)[0]
    dpkg.install("tool", "1.0-2", tool_files(root, "1.1"))
    result = check(manifest.sign_manifest(body, KEY), dpkg)
    assert len(result["violations"]) == 2 and "no package ownership" in result["skipped"]["package_updates"]


def test_system_group_files_are_classified_too(root, dpkg, tmp_path):
    units = tmp_path / "units"
    units.mkdir()
    unit = str(units / "tool.service")
    dpkg.install("tool", "1.0-1", dict(tool_files(root, "1.0"), **{unit: b"[Service]\n"}))
    system = {"unit": [str(units)]}
    data = baseline(root, dpkg, system_paths=system)
    assert unit in manifest.load_manifest(data, PUB)["packages"]["dpkg_owners"]["tool"]["files"]
    dpkg.install("tool", "1.0-2", dict(tool_files(root, "1.1"), **{unit: b"[Service]\nNice=5\n"}))
    result = verify.verify(data, PUB, "comprehensive", packages=False, system_paths=system,
                           package_state=dpkg.state())
    assert result["ok"] and unit in [i["path"] for i in result["package_updates"]]


# ---------------------------------------------------------------- re-signing (controller side)

def test_drift_of_only_package_updates_can_be_re_signed(root, dpkg):
    dpkg.install("tool", "1.0-1", tool_files(root, "1.0"))
    old = manifest.load_manifest(baseline(root, dpkg), PUB)
    dpkg.install("tool", "1.0-2", tool_files(root, "1.1"))
    new = baseline_lib.create_baseline([str(root)], system_paths={}, packages=False, dpkg_admin_dir=dpkg.admin)[0]
    updates, violations = compare.package_update_drift(old, new, dpkg.state())
    assert violations == [] and len(updates) == 2
    assert new["packages"]["dpkg_owners"]["tool"]["version"] == "1.0-2"
    (root / "bin" / "local-script").write_text("#!/bin/sh\nevil\n")
    new = baseline_lib.create_baseline([str(root)], system_paths={}, packages=False, dpkg_admin_dir=dpkg.admin)[0]
    updates, violations = compare.package_update_drift(old, new, dpkg.state())
    assert len(updates) == 2 and [v["path"] for v in violations] == [str(root / "bin" / "local-script")]


def test_drift_with_new_dpkg_verify_failures_is_not_only_updates(root, dpkg):
    dpkg.install("tool", "1.0-1", tool_files(root, "1.0"))
    old = manifest.load_manifest(baseline(root, dpkg), PUB)
    new = baseline_lib.create_baseline([str(root)], system_paths={}, packages=False, dpkg_admin_dir=dpkg.admin)[0]
    old["packages"]["dpkg_verify"] = {}
    new["packages"]["dpkg_verify"] = {"/usr/bin/passwd": "??5??????"}
    assert [v["kind"] for v in compare.package_update_drift(old, new, dpkg.state())[1]] == ["package"]


# ---------------------------------------------------------------- parsers (property-based)

names = st.from_regex(r"\A[a-z0-9][a-z0-9+.-]{0,15}\Z")
versions = st.from_regex(r"\A([0-9]{1,2}:)?[0-9][A-Za-z0-9.+~]{0,8}(-[A-Za-z0-9.+~]{1,6})?\Z")
rel_paths = st.lists(st.from_regex(r"\A[A-Za-z0-9_.+-]{1,10}\Z").filter(lambda s: s not in (".", "..")),
                     min_size=1, max_size=4).map("/".join)
md5s = st.text("0123456789abcdef", min_size=32, max_size=32)


@given(st.dictionaries(rel_paths, md5s, max_size=20))
def test_md5sums_round_trip(sums):
    text = "".join("%s  %s\n" % (digest, path) for path, digest in sums.items())
    assert dpkg_lib.parse_md5sums(text.encode()) == dict(("/" + p, d) for p, d in sums.items())


@given(st.lists(rel_paths, max_size=20))
def test_list_round_trip(paths):
    text = "/.\n" + "".join("/%s\n" % p for p in paths)
    assert dpkg_lib.parse_dpkg_list(text.encode()) == ["/."] + ["/" + p for p in paths]


@given(st.binary(max_size=400))
def test_parsers_never_raise_on_garbage(data):
    dpkg_lib.parse_md5sums(data)
    dpkg_lib.parse_dpkg_list(data)
    dpkg_lib.parse_dpkg_status(data)
    dpkg_lib.parse_diversions(data)
    dpkg_lib.parse_dpkg_log(data)


@given(st.dictionaries(names, st.fixed_dictionaries({
    "version": versions, "arch": st.sampled_from(["amd64", "arm64", "all"]), "same": st.booleans(),
    "state": st.sampled_from(["installed", "unpacked", "half-configured", "config-files"]),
    "conffiles": st.lists(rel_paths, max_size=3, unique=True), "obsolete": st.booleans()}), max_size=6))
def test_status_round_trip(packages):
    stanzas = []
    for name, item in packages.items():
        lines = ["Package: %s" % name, "Status: install ok %s" % item["state"], "Architecture: %s" % item["arch"]]
        if item["same"]:
            lines.append("Multi-Arch: same")
        lines.append("Version: %s" % item["version"])
        if item["conffiles"]:
            lines.append("Conffiles:")
            lines += [" /%s %s%s" % (p, "0" * 32, " obsolete" if item["obsolete"] else "") for p in item["conffiles"]]
        lines += ["Description: x", " Version: 0.0 (a continuation line, not a field)"]
        stanzas.append("\n".join(lines))
    parsed = dpkg_lib.parse_dpkg_status(("\n\n".join(stanzas) + "\n").encode())
    expected = dict(("%s:%s" % (n, i["arch"]) if i["same"] else n, i) for n, i in packages.items())
    assert set(parsed) == set(expected)
    for key, item in expected.items():
        assert parsed[key]["version"] == item["version"] and parsed[key]["state"] == item["state"]
        assert parsed[key]["conffiles"] == set("/" + p for p in item["conffiles"])


@given(st.lists(st.tuples(names, st.sampled_from(["amd64", "all"]), versions, versions), max_size=8))
def test_log_keeps_only_upgrades(upgrades):
    lines = ["2026-12-01 10:00:00 startup archives unpack"]
    for name, arch, old, new in upgrades:
        lines += ["2026-12-01 10:00:01 upgrade %s:%s %s %s" % (name, arch, old, new),
                  "2026-12-01 10:00:02 status unpacked %s:%s %s" % (name, arch, new),
                  "2026-12-01 10:00:03 install %s:%s <none> %s" % (name, arch, new)]
    assert dpkg_lib.parse_dpkg_log("\n".join(lines).encode()) == [
        ("%s:%s" % (n, a), o, v) for n, a, o, v in upgrades]


@given(versions, versions)
def test_version_order_is_antisymmetric(a, b):
    swapped = dpkg_lib.compare_debian_versions(b, a)  # pylint: disable=arguments-out-of-order
    assert dpkg_lib.compare_debian_versions(a, b) == -swapped
    assert dpkg_lib.compare_debian_versions(a, a) == 0


@pytest.mark.skipif(not shutil.which("dpkg"), reason="needs dpkg")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(versions, versions)
def test_version_order_matches_dpkg(a, b):
    ours = dpkg_lib.compare_debian_versions(a, b)
    for op, want in (("lt", ours < 0), ("eq", ours == 0), ("gt", ours > 0)):
        assert (subprocess.call(["dpkg", "--compare-versions", a, op, b]) == 0) == want, (a, op, b)


def test_version_order_examples():
    ordered = ["1.0~rc1", "1.0", "1.0-1", "1.0-1+deb12u1", "1.0a", "1.0.1", "1:0.1"]
    for low, high in zip(ordered, ordered[1:]):
        assert dpkg_lib.compare_debian_versions(low, high) == -1, (low, high)
    assert dpkg_lib.compare_debian_versions("3.0.15-1~deb12u1", "3.0.14-1~deb12u2") == 1
    with pytest.raises(ValueError):
        dpkg_lib.compare_debian_versions("x:1", "1")
