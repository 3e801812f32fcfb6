# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File integrity: package updates, the changes a dpkg upgrade explains.

Reads the dpkg database (status, md5sums, diversions, log) and compares Debian versions; see
docs/integrity.md, "Package updates"."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.prodready.platform.plugins.module_utils._integrity import common
from ansible_collections.prodready.platform.plugins.module_utils._integrity import scan


DPKG_ADMIN_DIR = "/var/lib/dpkg"
DPKG_LOG = "/var/log/dpkg.log"
PACKAGE_UPDATE = "package-update"
# What dpkg does to a file it upgrades: new content and size, and since it unpacks to a
# temporary name and renames, new mtime, ctime and inode. Mode, owner, SUID, type, symlink
# target and unreadable files are never explained by an upgrade.
_UPGRADE_REASONS = frozenset(("content", "size", "mtime", "ctime", "inode"))
_METADATA_REASONS = frozenset(("mtime", "ctime", "inode"))
# Package states in which the new version's files and md5sums are unpacked (Status, 3rd word).
_UNPACKED_STATES = frozenset(("unpacked", "half-configured", "triggers-awaited", "triggers-pending", "installed"))
# Top-level directories that are symlinks into /usr on a merged-/usr system (Debian 12 and later):
# dpkg still lists many files under /bin, /sbin, /lib.
_MERGED_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_HEX32 = re.compile(r"\A[0-9a-f]{32}\Z")
_CONFFILE_LINE = re.compile(r"\A(/.*?) (\S+)((?: obsolete| remove-on-upgrade)*)\Z")
_STATUS_FIELD = dict((name, re.compile(r"^%s:[ \t]*(.*?)[ \t]*$" % name, re.M | re.I)) for name in (
    "Package", "Status", "Version", "Architecture", "Multi-Arch"))
_CONFFILES_FIELD = re.compile(r"^Conffiles:[ \t]*\n((?:[ \t].*(?:\n|\Z))*)", re.M | re.I)
_LOG_UPGRADE = re.compile(r"^\S+ \S+ upgrade (\S+) (\S+) (\S+)\s*$")


def _text(data):
    return data.decode("utf-8", "surrogateescape") if isinstance(data, bytes) else data


def usrmerge_aliases(root="/"):
    """``{"/bin/": "/usr/bin/", ...}`` for the top-level directories of ``root`` that are
    symlinks into /usr, so a file dpkg lists as /bin/ls is the /usr/bin/ls a scan records."""
    aliases = {}
    for name in _MERGED_DIRS:
        try:
            target = os.readlink(os.path.join(root, name))
        except OSError:
            continue
        if target.rstrip("/") in ("usr/" + name, "/usr/" + name):
            aliases["/%s/" % name] = "/usr/%s/" % name
    return aliases


def canonical_package_path(path, aliases):
    """A path as dpkg lists it, in the form a scan records (``/bin/ls`` -> ``/usr/bin/ls``)."""
    for short, full in aliases.items():
        if path.startswith(short):
            return full + path[len(short):]
    return path


def parse_dpkg_list(data):
    """The paths of a ``/var/lib/dpkg/info/<package>.list`` file (files and directories)."""
    return [line for line in _text(data).split("\n") if line.startswith("/")]


def parse_md5sums(data):
    """``{absolute path: md5}`` of a dpkg md5sums file (``<32 hex>  <path relative to />``);
    malformed lines are ignored (they then match nothing, so nothing is accepted through them)."""
    out = {}
    for line in _text(data).split("\n"):
        digest, sep, path = line[:32].lower(), line[32:34], line[34:]
        if sep == "  " and path and _HEX32.match(digest):
            out["/" + path.lstrip("/")] = digest
    return out


def parse_dpkg_status(data, wanted=None):
    """``{key: record}`` of a dpkg status file. ``key`` is the package name, or ``name:arch``
    for ``Multi-Arch: same`` packages (the names of their files in ``info/``). A record has
    ``package``, ``version``, ``state`` (the third word of Status) and ``conffiles`` (a set of
    paths; parsed only for the keys in ``wanted`` when given)."""
    out = {}
    for stanza in re.split(r"\n[ \t]*\n", _text(data)):
        fields = {}
        for name, regex in _STATUS_FIELD.items():
            match = regex.search(stanza)
            fields[name] = match.group(1) if match else ""
        if not fields["Package"]:
            continue
        key = fields["Package"]
        if fields["Multi-Arch"] == "same" and fields["Architecture"]:
            key = "%s:%s" % (key, fields["Architecture"])
        words = fields["Status"].split()
        record = {"package": fields["Package"], "arch": fields["Architecture"], "version": fields["Version"],
                  "state": words[2] if len(words) == 3 else "", "conffiles": set()}
        if wanted is None or key in wanted:
            match = _CONFFILES_FIELD.search(stanza)
            for line in (match.group(1).split("\n") if match else []):
                conffile = _CONFFILE_LINE.match(line.strip())
                if conffile:
                    record["conffiles"].add(conffile.group(1))
        out[key] = record
    return out


def parse_diversions(data):
    """Every path named by ``/var/lib/dpkg/diversions`` (diverted and diverted-to): such a file
    is not the one its package shipped, so it is never classified as a package update."""
    lines = _text(data).split("\n")
    paths = set()
    for index in range(0, len(lines) - 2, 3):
        paths.update(p for p in lines[index:index + 2] if p.startswith("/"))
    return paths


def parse_dpkg_log(data):
    """``[(package, old_version, new_version)]`` of the ``upgrade`` lines of a dpkg log.
    ``package`` is as logged (``name:arch``)."""
    out = []
    for line in _text(data).split("\n"):
        match = _LOG_UPGRADE.match(line)
        if match:
            out.append(match.groups())
    return out


def _dpkg_order(char):
    if not char or "0" <= char <= "9":
        return 0
    if ("a" <= char <= "z") or ("A" <= char <= "Z"):
        return ord(char)
    if char == "~":
        return -1
    return ord(char) + 256


def _dpkg_verrevcmp(a, b):
    """dpkg's verrevcmp (lib/dpkg/version.c) on one upstream version or revision."""
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _dpkg_order(a[i] if i < len(a) else "")
            bc = _dpkg_order(b[j] if j < len(b) else "")
            if ac != bc:
                return -1 if ac < bc else 1
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and j < len(b) and a[i].isdigit() and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return -1 if first_diff < 0 else 1
    return 0


def _split_version(version):
    epoch, sep, rest = version.partition(":")
    if not sep:
        epoch, rest = "0", version
    if not epoch.isdigit() or not rest:
        raise ValueError("invalid Debian version %r" % version)
    upstream, sep, revision = rest.rpartition("-")
    if not sep:
        upstream, revision = rest, ""
    return int(epoch), upstream, revision


def compare_debian_versions(a, b):
    """-1, 0 or 1 like ``dpkg --compare-versions a lt/eq/gt b``. Raises ValueError on a
    malformed version."""
    (ea, ua, ra), (eb, ub, rb) = _split_version(a), _split_version(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _dpkg_verrevcmp(ua, ub) or _dpkg_verrevcmp(ra, rb)


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def _list_prefixes(roots, aliases):
    """The path prefixes worth looking for in dpkg's file lists: each scanned root and its
    merged-/usr alias (``/usr/bin`` -> ``/bin``), nested ones dropped."""
    prefixes = set()
    for root in roots:
        root = root.rstrip("/")
        prefixes.add(root or "/")
        for short, full in aliases.items():
            short, full = short.rstrip("/"), full.rstrip("/")
            if root == full or root.startswith(full + "/"):
                prefixes.add(short + root[len(full):])
            elif full.startswith(root + "/"):
                prefixes.add(short)
    kept = []
    for prefix in sorted(prefixes, key=lambda p: (len(p), p)):
        if not any(prefix.startswith(k) for k in kept):
            kept.append(prefix)
    return kept


def dpkg_package_owners(entries, roots, admin_dir=DPKG_ADMIN_DIR, aliases=None):
    """The installed dpkg package of each regular file and symlink in ``entries`` (paths
    under ``roots``) and its version: ``{key: {"version": ..., "files": [paths]}}``, or None
    when there is no dpkg database at ``admin_dir``.

    Cost: one read of every ``info/*.list`` file and of ``status``; only lines under the
    scanned roots are looked at. Left out (and so never classified as a package update):
    paths listed by more than one package, diverted paths and conffiles."""
    info = os.path.join(admin_dir, "info")
    if not os.path.exists(os.path.join(admin_dir, "status")):
        return None
    try:
        names = [item.name for item in os.scandir(info) if item.name.endswith(".list")]
    except FileNotFoundError:
        return None
    aliases = usrmerge_aliases() if aliases is None else aliases
    wanted = set(p for p, e in entries.items() if e.get("type") in (common.TYPE_FILE, common.TYPE_LINK))
    if not wanted:
        return {}
    needles = []
    for prefix in _list_prefixes(roots, aliases):
        canonical = canonical_package_path(prefix + "/", aliases)[:-1]
        needles.append((("\n" + prefix).encode("utf-8", "surrogateescape"), len(prefix) + 1,
                        canonical if canonical != prefix else None))
    owners = {}
    for name in names:
        data = b"\n" + _read(os.path.join(info, name))
        for needle, skip, canonical in needles:
            start = data.find(needle)
            while start >= 0:
                end = data.find(b"\n", start + 1)
                end = len(data) if end < 0 else end
                path = data[start + 1:end].decode("utf-8", "surrogateescape")
                if canonical is not None:
                    path = canonical + path[skip - 1:]
                if path in wanted:
                    owners.setdefault(path, set()).add(name[:-5])
                start = data.find(needle, end)
    try:
        diverted = parse_diversions(_read(os.path.join(admin_dir, "diversions")))
    except FileNotFoundError:
        diverted = set()
    diverted = set(canonical_package_path(p, aliases) for p in diverted)
    keys = set(next(iter(k)) for p, k in owners.items() if len(k) == 1)
    status = parse_dpkg_status(_read(os.path.join(admin_dir, "status")), wanted=keys) if keys else {}
    conffiles = set(canonical_package_path(c, aliases) for r in status.values() for c in r["conffiles"])
    out = {}
    for path in sorted(owners):
        if len(owners[path]) != 1 or path in diverted or path in conffiles:
            continue
        key = next(iter(owners[path]))
        record = status.get(key)
        if not record or not record["version"]:
            continue
        out.setdefault(key, {"version": record["version"], "files": []})["files"].append(path)
    return out


class PackageState(object):
    """dpkg's current state, read lazily and only for what is asked (the standard check of an
    unchanged tree never gets here): status, file lists, md5sums and the upgrade log."""

    def __init__(self, admin_dir=DPKG_ADMIN_DIR, dpkg_log=DPKG_LOG, aliases=None):
        self.admin_dir = admin_dir
        self.dpkg_log = dpkg_log
        self.aliases = usrmerge_aliases() if aliases is None else aliases
        self._status = None
        self._lists = {}
        self._md5sums = {}
        self._log = None
        self._log_pending = []

    def status(self):
        if self._status is None:
            self._status = parse_dpkg_status(_read(os.path.join(self.admin_dir, "status")))
        return self._status

    def _info(self, key, suffix, parse):
        try:
            data = _read(os.path.join(self.admin_dir, "info", key + suffix))
        except FileNotFoundError:
            return None
        return parse(data)

    def files(self, key):
        """Paths the installed version of ``key`` ships (canonical form), or an empty set."""
        if key not in self._lists:
            paths = self._info(key, ".list", parse_dpkg_list) or []
            self._lists[key] = set(canonical_package_path(p, self.aliases) for p in paths)
        return self._lists[key]

    def md5sums(self, key):
        if key not in self._md5sums:
            sums = self._info(key, ".md5sums", parse_md5sums) or {}
            self._md5sums[key] = dict((canonical_package_path(p, self.aliases), d) for p, d in sums.items())
        return self._md5sums[key]

    def conffiles(self, key):
        record = self.status().get(key) or {}
        return set(canonical_package_path(p, self.aliases) for p in record.get("conffiles", ()))

    def _log_files(self):
        """The dpkg log and its rotations, newest first (``dpkg.log``, ``.1``, ``.2.gz``, ...)."""
        directory, base = os.path.split(self.dpkg_log)
        try:
            names = [n for n in os.listdir(directory or ".") if n == base or n.startswith(base + ".")]
        except OSError:
            return []

        def age(name):
            number = name[len(base) + 1:].split(".", 1)[0]
            return (0, 0) if name == base else (1, int(number)) if number.isdigit() else (2, 0)
        return [os.path.join(directory, n) for n in sorted(names, key=lambda n: (age(n), n))]

    def _read_next_log(self):
        path = self._log_pending.pop(0)
        try:
            if path.endswith(".gz"):
                import gzip
                with gzip.open(path, "rb") as handle:
                    data = handle.read()
            else:
                data = _read(path)
        except (OSError, EOFError):
            return
        for package, _old, new in parse_dpkg_log(data):
            name, _sep, arch = package.partition(":")
            self._log.setdefault((name, arch or None), set()).add(new)

    def upgrade_logged(self, key, version):
        """True when the dpkg log or a rotation records an upgrade of ``key`` (``name`` or
        ``name:arch``) to ``version``. Reads the newest file first and stops once found."""
        if self._log is None:
            self._log = {}
            self._log_pending = self._log_files()
        name, _sep, arch = key.partition(":")
        while True:
            if arch:
                found = version in self._log.get((name, arch), ())
            else:
                found = any(version in versions for (logged, _arch), versions in self._log.items() if logged == name)
            if found or not self._log_pending:
                return found
            self._read_next_log()


def _baseline_owners(body):
    """``({path: key}, {key: version})`` of a manifest body, or None when it recorded none."""
    recorded = (body.get("packages") or {}).get("dpkg_owners")
    if not isinstance(recorded, dict):
        return None
    owner, versions = {}, {}
    for key, item in recorded.items():
        versions[key] = item.get("version")
        for path in item.get("files") or []:
            owner[path] = key
    return owner, versions


def classify_package_updates(body, result, state=None):
    """Move the changes a package upgrade explains from ``result``'s added/removed/changed
    lists into ``result["package_updates"]`` (kind ``package-update``; not violations).

    A change is accepted only when all hold: the owning package recorded in the signed
    baseline is installed now (files unpacked) at a **newer** version, the dpkg log records
    an upgrade to that version, the path is not a conffile nor diverted, and

    * changed file: only content/size/mtime/ctime/inode changed and the content matches the
      package's md5sums entry; changed symlink: only mtime/ctime/inode (same target);
    * added regular file (no SUID/SGID): listed by the new version of a package the baseline
      recorded, content matching its md5sums;
    * removed file or symlink: the new version of its package no longer lists it.

    Everything else stays a violation; an item owned by an upgraded package that fails a test
    says why in ``details["package_update"]``. Returns the number of items moved."""
    recorded = _baseline_owners(body)
    result.setdefault("package_updates", [])
    if recorded is None:
        result["skipped"]["package_updates"] = "the baseline recorded no package ownership (re-sign it to enable)"
        return 0
    owner, versions = recorded
    candidates = []
    for bucket in ("changed", "added", "removed"):
        for item in result[bucket]:
            reasons = set(item.get("reasons") or [])
            if bucket == "changed" and item["path"] in owner and reasons and reasons <= _UPGRADE_REASONS:
                if item.get("type") == common.TYPE_FILE or (item.get("type") == common.TYPE_LINK and reasons <= _METADATA_REASONS):
                    candidates.append((bucket, item))
            elif bucket == "removed" and item["path"] in owner and item.get("type") in (common.TYPE_FILE, common.TYPE_LINK):
                candidates.append((bucket, item))
            elif bucket == "added" and reasons == set(["added"]) and item.get("type") == common.TYPE_FILE:
                candidates.append((bucket, item))
    if not candidates:
        result["checks"]["package_updates"] = "no changed file is a package candidate"
        return 0
    state = state or PackageState()
    try:
        status = state.status()
    except OSError as exc:
        result["skipped"]["package_updates"] = "cannot read the dpkg status: %s" % exc
        return 0
    upgraded = {}
    for key, old in versions.items():
        record = status.get(key)
        if not record or record["state"] not in _UNPACKED_STATES or not old:
            continue
        try:
            newer = compare_debian_versions(record["version"], old) > 0
        except ValueError:
            newer = False
        if newer:
            upgraded[key] = (old, record["version"])
    diverted = set()
    try:
        diverted = set(canonical_package_path(p, state.aliases)
                       for p in parse_diversions(_read(os.path.join(state.admin_dir, "diversions"))))
    except OSError:
        pass
    new_owner = None
    moved = set()
    for bucket, item in candidates:
        path = item["path"]
        key = owner.get(path)
        if bucket == "added":
            if new_owner is None:
                new_owner = {}
                for upgraded_key in upgraded:
                    for listed in state.files(upgraded_key):
                        new_owner.setdefault(listed, set()).add(upgraded_key)
            keys = new_owner.get(path, set())
            key = next(iter(keys)) if len(keys) == 1 else None
        if key not in upgraded:
            continue
        old, new = upgraded[key]
        why = None
        if path in diverted:
            why = "the path is diverted (dpkg-divert)"
        elif path in state.conffiles(key):
            why = "a conffile of %s (configuration changes are always reviewed)" % key
        elif not state.upgrade_logged(key, new):
            why = "the dpkg log records no upgrade of %s to %s" % (key, new)
        elif bucket == "removed":
            if path in state.files(key):
                why = "%s %s still ships it" % (key, new)
        elif item.get("type") == common.TYPE_FILE:
            expected = state.md5sums(key).get(path)
            try:
                actual = scan.md5_file(path)
            except OSError as exc:
                actual = None
                why = "cannot read it: %s" % (exc.strerror or exc)
            if why is None and expected is None:
                why = "%s %s has no md5sums entry for it" % (key, new)
            elif why is None and actual != expected:
                why = "content differs from the md5sums of %s %s" % (key, new)
        if why:
            item.setdefault("details", {})["package_update"] = "not a package update: " + why
            continue
        moved.add(id(item))
        result["package_updates"].append({
            "path": path, "type": item.get("type"), "kind": PACKAGE_UPDATE, "change": bucket,
            "reasons": list(item.get("reasons") or []), "package": key, "from_version": old, "to_version": new})
    for bucket in ("changed", "added", "removed"):
        result[bucket] = [i for i in result[bucket] if id(i) not in moved]
    result["package_updates"].sort(key=lambda i: i["path"])
    result["checks"]["package_updates"] = "%d change(s) explained by %d upgraded package(s)%s" % (
        len(moved), len(set(i["package"] for i in result["package_updates"])),
        ": " + ", ".join("%s %s -> %s" % (k, upgraded[k][0], upgraded[k][1])
                         for k in sorted(set(i["package"] for i in result["package_updates"]))) if moved else "")
    return len(moved)
