# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File integrity: tree scans, signed manifests, verification levels, off-host copies.

The one core library behind the ``integrity_baseline`` / ``integrity_verify`` modules, the
``integrity`` filters and the on-host monitor of the ``integrity`` role (which ships this file
next to its CLI and imports it as ``integrity``). Standard library only at import time;
Ed25519 signatures need ``cryptography`` and the off-host copy needs ``boto3``, both imported
lazily so a host without them can still scan and compare.

Manifest file format (version 1), two lines::

    {"algorithm":"ed25519","body_sha256":"...","format":"prodready-integrity-manifest",
     "format_version":1,"key_id":"...","signature":"<base64>"}
    {"config":{...},"entries":{...},...}            <- the body, canonical JSON

The signature covers the exact body bytes; the header must be canonical JSON too, so any
changed byte anywhere in the file makes loading fail.

Levels (see docs/integrity.md for the table of what each catches):

* ``minimal``  - type, size, mode, owner, group, link target, added/removed. No hashing.
* ``standard`` - minimal + mtime, ctime and inode; files whose metadata changed are rehashed.
  ctime cannot be set from user space, so ``touch -r`` after a content change is still seen.
* ``comprehensive`` - every file rehashed + ``dpkg --verify`` drift since the baseline + new
  SUID/SGID files + systemd unit and sudoers drift.
* ``full`` - comprehensive + the local manifest compared with the off-host copy (the tree is
  checked against the off-host copy), backup restore-test status, certificate chains.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import datetime
import hashlib
import hmac
import json
import os
import re
import socket
import stat
import subprocess
import time

try:
    from ansible_collections.prodready.platform.plugins.module_utils.textfile import write_atomic
except ImportError:  # on-host use next to textfile.py
    from textfile import write_atomic  # type: ignore

try:
    from concurrent.futures import ThreadPoolExecutor
except ImportError:  # pragma: no cover - Python 2 is not supported by this library
    ThreadPoolExecutor = None

FORMAT_NAME = "prodready-integrity-manifest"
FORMAT_VERSION = 1
SIGNATURE_ALGORITHM = "ed25519"
LEVELS = ("minimal", "standard", "comprehensive", "full")

# Where unit files and sudoers live; checked from the comprehensive level on.
DEFAULT_SYSTEM_PATHS = {
    "unit": ["/etc/systemd/system", "/usr/lib/systemd/system"],
    "sudoers": ["/etc/sudoers", "/etc/sudoers.d"],
}

# One violation kind per finding, in the order of severity used to pick the kind of a
# change with several reasons. Metrics export one series per kind.
VIOLATION_KINDS = (
    "signature", "offhost", "binding", "suid", "type", "target", "content", "mode", "owner", "metadata",
    "added", "removed", "unreadable", "package", "unit", "sudoers", "backup", "certificate",
)
_REASON_KIND = {
    "suid": "suid", "type": "type", "target": "target", "content": "content", "size": "content",
    "mode": "mode", "owner": "owner", "group": "owner", "mtime": "metadata", "ctime": "metadata",
    "inode": "metadata", "unreadable": "unreadable", "added": "added", "removed": "removed",
}

TYPE_FILE = "file"
TYPE_DIR = "dir"
TYPE_LINK = "symlink"
TYPE_OTHER = "other"

SMALL_FILE = 1 << 20  # read in one call up to 1 MiB, stream above
READ_CHUNK = 1 << 20


class IntegrityError(Exception):
    """Base class: every error this library raises on bad input or bad manifests."""


class ConfigError(IntegrityError):
    """Bad configuration: unknown level, missing path, bad pattern, bad key text."""


class ManifestError(IntegrityError):
    """A manifest that cannot be read: malformed, not canonical, wrong format."""


class UnsupportedVersionError(ManifestError):
    """A manifest written by a newer format version than this library understands."""


class SignatureError(ManifestError):
    """The signature does not verify: the manifest changed or another key signed it."""


class MissingDependencyError(IntegrityError):
    """An optional library (cryptography, boto3) is needed for this operation."""


# --------------------------------------------------------------------------------------
# Path rules
# --------------------------------------------------------------------------------------

def glob_to_regex(pattern):
    """Translate a path glob: ``*`` and ``?`` stay within one path component, ``**`` spans
    components, ``[...]`` is a character class. A trailing ``/**`` also matches the directory
    itself so excluding ``/srv/cache/**`` prunes ``/srv/cache``."""
    if not isinstance(pattern, str) or not pattern:
        raise ConfigError("path pattern must be a non-empty string, got %r" % (pattern,))
    out = []
    i = 0
    n = len(pattern)
    while i < n:
        char = pattern[i]
        if char == "*":
            if pattern[i:i + 2] == "**":
                if pattern[i + 2:i + 3] == "/":
                    out.append("(?:.*/)?")
                    i += 3
                    continue
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1:i + 2] in ("!", "]") else i + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1:end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("(?!/)[" + body.replace("\\", "\\\\") + "]")
                i = end
        elif char == "/" and pattern[i:] == "/**":
            out.append("(?:/.*)?")
            break
        else:
            out.append(re.escape(char))
        i += 1
    try:
        return re.compile("".join(out) + r"\Z", re.DOTALL)
    except re.error as exc:
        raise ConfigError("invalid path pattern %r: %s" % (pattern, exc))


class PathRules(object):
    """Include/exclude globs. Patterns with a ``/`` match the absolute path, patterns without
    one match the last component (``*.log``). Exclude wins; an empty include list includes
    everything; an excluded directory is not descended into."""

    def __init__(self, include=None, exclude=None):
        self.include = list(include or [])
        self.exclude = list(exclude or [])
        self._include = [self._compile(p) for p in self.include]
        self._exclude = [self._compile(p) for p in self.exclude]

    @staticmethod
    def _compile(pattern):
        return ("/" in pattern, glob_to_regex(pattern))

    @staticmethod
    def _match(compiled, path):
        base = path.rsplit("/", 1)[-1]
        for has_slash, regex in compiled:
            if regex.match(path if has_slash else base):
                return True
        return False

    def excluded(self, path):
        return self._match(self._exclude, path)

    def included(self, path):
        if self.excluded(path):
            return False
        return not self._include or self._match(self._include, path)

    def as_dict(self):
        return {"include": list(self.include), "exclude": list(self.exclude)}


# --------------------------------------------------------------------------------------
# Scanning and hashing
# --------------------------------------------------------------------------------------

def _type_of(mode):
    if stat.S_ISREG(mode):
        return TYPE_FILE
    if stat.S_ISDIR(mode):
        return TYPE_DIR
    if stat.S_ISLNK(mode):
        return TYPE_LINK
    return TYPE_OTHER


def entry_from_stat(path, st):
    """The metadata record of one path (no hash yet)."""
    kind = _type_of(st.st_mode)
    entry = {
        "type": kind,
        "size": st.st_size if kind in (TYPE_FILE, TYPE_LINK) else 0,
        "mode": stat.S_IMODE(st.st_mode),
        "uid": st.st_uid,
        "gid": st.st_gid,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
        "inode": st.st_ino,
    }
    if kind == TYPE_LINK:
        try:
            entry["target"] = os.readlink(path)
        except OSError as exc:
            entry["target"] = None
            entry["error"] = str(exc)
    return entry


def normalise_roots(paths):
    if isinstance(paths, str):
        paths = [paths]
    if not paths:
        raise ConfigError("at least one path to scan is required")
    roots = []
    for path in paths:
        if not isinstance(path, str) or not path.startswith("/"):
            raise ConfigError("paths must be absolute, got %r" % (path,))
        path = os.path.normpath(path)
        if path.startswith("//"):
            path = "/" + path.lstrip("/")
        if path not in roots:
            roots.append(path)
    return roots


def walk(paths, rules=None, missing_ok=False):
    """Scan ``paths`` with ``os.scandir`` (no subprocesses, no symlinks followed).

    Returns ``{path: entry}``. A root that does not exist raises ``ConfigError`` unless
    ``missing_ok`` (then it is simply absent, which verification reports as removed).
    """
    rules = rules or PathRules()
    entries = {}
    for root in normalise_roots(paths):
        try:
            st = os.lstat(root)
        except FileNotFoundError:
            if missing_ok:
                continue
            raise ConfigError("path %s does not exist" % root)
        except OSError as exc:
            raise ConfigError("cannot read %s: %s" % (root, exc))
        if rules.excluded(root):
            continue
        if rules.included(root):
            entries[root] = entry_from_stat(root, st)
        if stat.S_ISDIR(st.st_mode):
            _walk_dir(root, rules, entries)
    return entries


def _walk_dir(top, rules, entries):
    stack = [top]
    while stack:
        directory = stack.pop()
        try:
            iterator = os.scandir(directory)
        except OSError as exc:
            entries.setdefault(directory, {"type": TYPE_DIR}).setdefault("error", str(exc))
            continue
        with iterator:
            for item in iterator:
                path = item.path
                if rules._exclude and rules.excluded(path):
                    continue
                try:
                    st = item.stat(follow_symlinks=False)
                except OSError:
                    continue  # vanished between readdir and lstat
                is_dir = stat.S_ISDIR(st.st_mode)
                if not rules._include or rules.included(path):
                    entries[path] = entry_from_stat(path, st)
                if is_dir:
                    stack.append(path)


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_NOATIME = getattr(os, "O_NOATIME", 0)


def sha256_file(path, buffer=None):
    """SHA-256 of a regular file. Opens with O_NOFOLLOW (a file swapped for a symlink is not
    followed) and O_NONBLOCK (a file swapped for a FIFO does not hang the scan). hashlib drops
    the GIL for buffers above 2 KiB, so threads hash in parallel."""
    return _digest_file(path, hashlib.sha256(), buffer)


def md5_file(path):
    """MD5 of a regular file, opened like ``sha256_file``: only to compare with dpkg's md5sums
    (what dpkg records), never as the integrity hash of the baseline."""
    try:
        digest = hashlib.md5(usedforsecurity=False)  # nosec B324 - dpkg's format, see docs/integrity.md
    except TypeError:  # pragma: no cover - Python < 3.9
        digest = hashlib.md5()  # nosec B324
    return _digest_file(path, digest)


def _digest_file(path, digest, buffer=None):
    try:
        fd = os.open(path, _OPEN_FLAGS | _NOATIME)
    except PermissionError:
        fd = os.open(path, _OPEN_FLAGS)  # O_NOATIME needs ownership or CAP_FOWNER
    try:
        data = os.read(fd, SMALL_FILE)
        digest.update(data)
        if len(data) == SMALL_FILE:
            view = memoryview(buffer if buffer is not None else bytearray(READ_CHUNK))
            while True:
                count = os.readv(fd, [view])
                if not count:
                    break
                digest.update(view[:count])
        return digest.hexdigest()
    finally:
        os.close(fd)


def _hash_chunk(paths):
    buffer = bytearray(READ_CHUNK)
    out = {}
    for path in paths:
        try:
            out[path] = (sha256_file(path, buffer), None)
        except OSError as exc:
            out[path] = (None, exc.strerror or str(exc))
    return out


def default_workers():
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    return max(1, min(count, 8))


def hash_files(paths, workers=None, sizes=None):
    """Hash many files in parallel. Returns ``{path: (sha256 or None, error or None)}``.

    Files are dealt into ``workers * 4`` interleaved chunks (largest first when ``sizes`` is
    given) so one huge file does not leave the other threads idle at the end.
    """
    paths = list(paths)
    if not paths:
        return {}
    workers = workers or default_workers()
    total = sum(sizes.get(p, 0) for p in paths) if sizes else None
    if workers == 1 or len(paths) < 16 or (total is not None and total < (8 << 20)):
        return _hash_chunk(paths)
    if sizes:
        paths.sort(key=lambda p: sizes.get(p, 0), reverse=True)
    chunk_count = min(len(paths), workers * 4)
    chunks = [paths[i::chunk_count] for i in range(chunk_count)]
    result = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for part in pool.map(_hash_chunk, chunks):
            result.update(part)
    return result


def add_hashes(entries, workers=None, only=None):
    """Fill ``sha256`` into the regular-file entries (all, or those in ``only``)."""
    targets = [p for p, e in entries.items() if e.get("type") == TYPE_FILE and (only is None or p in only)]
    sizes = dict((p, entries[p].get("size", 0)) for p in targets)
    for path, (digest, error) in hash_files(targets, workers, sizes).items():
        entries[path]["sha256"] = digest
        if error:
            entries[path]["error"] = error
    return entries


# --------------------------------------------------------------------------------------
# Package manager and system groups
# --------------------------------------------------------------------------------------

_DPKG_LINE = re.compile(r"^(missing|\S{9})\s+(c\s+)?(/.*)$")


def dpkg_verify(timeout=600):
    """Files that fail ``dpkg --verify``: ``{path: flags}`` (flags like ``??5??????`` or
    ``missing``), or ``None`` when dpkg is not installed."""
    dpkg = None
    for candidate in ("/usr/bin/dpkg", "/bin/dpkg"):
        if os.path.exists(candidate):
            dpkg = candidate
            break
    if dpkg is None:
        return None
    env = dict(os.environ, LC_ALL="C")
    proc = subprocess.Popen([dpkg, "--verify"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = proc.communicate(timeout=timeout)
    if proc.returncode not in (0, 1):
        raise IntegrityError("dpkg --verify failed (%d): %s" % (proc.returncode, err.decode("utf-8", "replace").strip()))
    result = {}
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        match = _DPKG_LINE.match(line.strip())
        if match:
            result[match.group(3)] = match.group(1) + (" conffile" if match.group(2) else "")
    return result


def scan_system(system_paths=None, workers=None, hashes=True):
    """Scan and hash the unit-file and sudoers locations: ``{group: {path: entry}}``
    (``hashes=False``: metadata only)."""
    groups = DEFAULT_SYSTEM_PATHS if system_paths is None else system_paths
    out = {}
    for group in sorted(groups):
        roots = [p for p in groups[group] if p]
        entries = walk(roots, missing_ok=True) if roots else {}
        out[group] = add_hashes(entries, workers) if hashes and entries else entries
    return out


# --------------------------------------------------------------------------------------
# Package updates: changes a dpkg upgrade explains (see docs/integrity.md, "Package updates")
# --------------------------------------------------------------------------------------

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
    wanted = set(p for p, e in entries.items() if e.get("type") in (TYPE_FILE, TYPE_LINK))
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
                if item.get("type") == TYPE_FILE or (item.get("type") == TYPE_LINK and reasons <= _METADATA_REASONS):
                    candidates.append((bucket, item))
            elif bucket == "removed" and item["path"] in owner and item.get("type") in (TYPE_FILE, TYPE_LINK):
                candidates.append((bucket, item))
            elif bucket == "added" and reasons == set(["added"]) and item.get("type") == TYPE_FILE:
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
        elif item.get("type") == TYPE_FILE:
            expected = state.md5sums(key).get(path)
            try:
                actual = md5_file(path)
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


# --------------------------------------------------------------------------------------
# Keys and signatures (Ed25519 via cryptography)
# --------------------------------------------------------------------------------------

def _crypto():
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
        from cryptography.exceptions import InvalidSignature
    except ImportError:
        raise MissingDependencyError(
            "Ed25519 signatures need the Python 'cryptography' library "
            "(Debian: apt-get install python3-cryptography; pip: cryptography)")
    return serialization, ed25519, InvalidSignature


def _decode_key_text(text, what):
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("%s is empty" % what)
    return text.strip()


def load_private_key(text):
    """An Ed25519 private key from PEM (PKCS#8) or base64 of the 32-byte seed."""
    serialization, ed25519, _unused = _crypto()
    text = _decode_key_text(text, "the private key")
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        else:
            raw = base64.b64decode(text, validate=True)
            if len(raw) != 32:
                raise ValueError("expected 32 bytes, got %d" % len(raw))
            key = ed25519.Ed25519PrivateKey.from_private_bytes(raw)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ConfigError("the private key is not an Ed25519 key (PEM or base64 of 32 bytes): %s" % exc)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ConfigError("the private key is not an Ed25519 key")
    return key


def load_public_key(text):
    """An Ed25519 public key from PEM (SubjectPublicKeyInfo) or base64 of the 32 bytes."""
    serialization, ed25519, _unused = _crypto()
    text = _decode_key_text(text, "the public key")
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode("ascii"))
        else:
            raw = base64.b64decode(text, validate=True)
            if len(raw) != 32:
                raise ValueError("expected 32 bytes, got %d" % len(raw))
            key = ed25519.Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ConfigError("the public key is not an Ed25519 key (PEM or base64 of 32 bytes): %s" % exc)
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise ConfigError("the public key is not an Ed25519 key")
    return key


def _raw_public(public_key):
    serialization = _crypto()[0]
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_text(key):
    """base64 of the raw public key, for a private or a public key object."""
    if hasattr(key, "public_key"):
        key = key.public_key()
    return base64.b64encode(_raw_public(key)).decode("ascii")


def key_id(key):
    """A short fingerprint naming the key in manifests and error messages."""
    if hasattr(key, "public_key"):
        key = key.public_key()
    return hashlib.sha256(_raw_public(key)).hexdigest()[:16]


def generate_private_key_text():
    """base64 of a new random 32-byte Ed25519 seed (the value to keep in vault)."""
    serialization, ed25519, _unused = _crypto()
    key = ed25519.Ed25519PrivateKey.generate()
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return base64.b64encode(raw).decode("ascii")


HOST_KEY_LABEL = b"prodready.platform integrity signing key v1\0"


def derive_host_key_text(secret, host):
    """The Ed25519 signing key of one host (base64 of its seed), derived on the controller from
    the fleet's signing secret: HMAC-SHA256(secret, label || host). Each host's baselines are
    signed with its own key, so one host's manifest never verifies on another, and the secret
    itself never leaves the controller (only public keys are sent to hosts)."""
    secret = _decode_key_text(secret, "the signing secret")
    if len(secret) < 32:
        raise ConfigError("the signing secret must be at least 32 characters (e.g. openssl rand -base64 48)")
    if not isinstance(host, str) or not host:
        raise ConfigError("a host name is required to derive its signing key")
    seed = hmac.new(secret.encode("utf-8"), HOST_KEY_LABEL + host.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(seed).decode("ascii")


# --------------------------------------------------------------------------------------
# Manifest format
# --------------------------------------------------------------------------------------

def canonical_json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def utc_now_text():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_manifest(entries, paths, rules=None, system=None, packages=None, host=None, created=None, owners=None):
    """The manifest body (a dict) for scanned ``entries``. ``packages`` is the ``dpkg --verify``
    state, ``owners`` the owning packages and versions (``dpkg_package_owners``)."""
    rules = rules or PathRules()
    body = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "created": created or utc_now_text(),
        "host": host if host is not None else socket.gethostname(),
        "config": {"paths": normalise_roots(paths), "include": rules.include, "exclude": rules.exclude},
        "entries": entries,
        "system": system if system is not None else {},
        "packages": {},
    }
    if packages is not None:
        body["packages"]["dpkg_verify"] = packages
    if owners is not None:
        body["packages"]["dpkg_owners"] = owners
    return body


def sign_manifest(body, private_key):
    """Serialise and sign a manifest body; returns the file content (bytes)."""
    if isinstance(private_key, (str, bytes)):
        private_key = load_private_key(private_key)
    body_bytes = canonical_json(body)
    header = {
        "algorithm": SIGNATURE_ALGORITHM,
        "body_sha256": hashlib.sha256(body_bytes).hexdigest(),
        "format": FORMAT_NAME,
        "format_version": body.get("format_version", FORMAT_VERSION),
        "key_id": key_id(private_key),
        "signature": base64.b64encode(private_key.sign(body_bytes)).decode("ascii"),
    }
    return canonical_json(header) + b"\n" + body_bytes + b"\n"


def _split(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray)):
        raise ManifestError("a manifest must be bytes or text")
    data = bytes(data)
    first = data.find(b"\n")
    if first < 0 or not data.endswith(b"\n") or data.count(b"\n") != 2:
        raise ManifestError("not a prodready integrity manifest: expected a header line and a body line")
    header_bytes, body_bytes = data[:first], data[first + 1:-1]
    try:
        header = json.loads(header_bytes.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ManifestError("manifest header is not valid JSON: %s" % exc)
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ManifestError("not a prodready integrity manifest (format field is %r)" % (
            header.get("format") if isinstance(header, dict) else header,))
    version = header.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ManifestError("manifest header has an invalid format_version %r" % (version,))
    if version > FORMAT_VERSION:
        raise UnsupportedVersionError(
            "manifest format version %d is newer than this library supports (%d): upgrade "
            "prodready.platform (and the on-host monitor) before using this manifest" % (version, FORMAT_VERSION))
    if canonical_json(header) != header_bytes:
        raise ManifestError("manifest header is not in canonical form (it was edited)")
    return header, body_bytes


def manifest_header(data):
    """The header of a manifest without checking its signature (never trust it)."""
    return _split(data)[0]


def _parse_body(header, body_bytes):
    try:
        body = json.loads(body_bytes.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ManifestError("manifest body is not valid JSON: %s" % exc)
    if not isinstance(body, dict) or body.get("format") != FORMAT_NAME:
        raise ManifestError("manifest body has the wrong format field")
    if body.get("format_version") != header["format_version"]:
        raise ManifestError("manifest body and header disagree on format_version")
    if not isinstance(body.get("entries"), dict) or not isinstance(body.get("config"), dict):
        raise ManifestError("manifest body lacks entries or config")
    return body


def load_manifest(data, public_keys):
    """Verify and parse manifest file content. ``public_keys`` is one key (object or text) or
    a list (key rotation). Raises ``SignatureError``, ``UnsupportedVersionError`` or
    ``ManifestError`` with a message that says what is wrong."""
    header, body_bytes = _split(data)
    InvalidSignature = _crypto()[2]
    if not isinstance(public_keys, (list, tuple)):
        public_keys = [public_keys]
    keys = [load_public_key(k) if isinstance(k, (str, bytes)) else k for k in public_keys if k]
    if not keys:
        raise ConfigError("a public key is required to verify a manifest")
    if header.get("algorithm") != SIGNATURE_ALGORITHM:
        raise SignatureError("manifest is signed with %r; only %s is accepted" % (header.get("algorithm"), SIGNATURE_ALGORITHM))
    if hashlib.sha256(body_bytes).hexdigest() != header.get("body_sha256"):
        raise SignatureError("manifest body does not match the digest in its header (the body was changed)")
    try:
        signature = base64.b64decode(header.get("signature", ""), validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise SignatureError("manifest signature is not valid base64")
    if base64.b64encode(signature).decode("ascii") != header.get("signature"):
        raise SignatureError("manifest signature is not in canonical base64")
    by_id = dict((key_id(k), k) for k in keys)
    key = by_id.get(header.get("key_id"))
    if key is None:
        raise SignatureError("manifest was signed by key %s, which is not a trusted key (trusted: %s)" % (
            header.get("key_id"), ", ".join(sorted(by_id))))
    try:
        key.verify(signature, body_bytes)
    except InvalidSignature:
        raise SignatureError("manifest signature does not verify with key %s (the manifest was changed)" % header.get("key_id"))
    body = _parse_body(header, body_bytes)
    return body


def load_manifest_unverified(data):
    """Parse without checking the signature: for showing and comparing, never for trusting."""
    header, body_bytes = _split(data)
    return _parse_body(header, body_bytes)


def manifest_digest(data):
    """sha256 of the body bytes of a manifest file (what the off-host comparison compares)."""
    return hashlib.sha256(_split(data)[1]).hexdigest()


def manifest_config(paths, include=None, exclude=None):
    """The path set a manifest is bound to (its body's ``config``)."""
    return {"paths": normalise_roots(paths), "include": list(include or []), "exclude": list(exclude or [])}


def binding_errors(body, host=None, config=None):
    """Why a verified manifest body is not this host's baseline for this path set: a list of
    messages naming both sides, empty when it is (``None`` skips a check). The signature proves
    who signed a body, not which host and rule set it was signed for: a genuine manifest of
    another host, or a narrower one of this host, must not verify clean."""
    errors = []
    if host is not None and body.get("host") != host:
        errors.append("the manifest was signed for host %r, this host is %r" % (body.get("host"), host))
    if config is not None:
        signed = body.get("config") or {}
        for name in ("paths", "include", "exclude"):
            if list(signed.get(name) or []) != list(config.get(name) or []):
                errors.append("the manifest covers %s %s, this host is configured for %s" % (
                    name, json.dumps(signed.get(name) or []), json.dumps(config.get(name) or [])))
    return errors


def read_file(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise ConfigError("manifest %s does not exist (create it with integrity_baseline first)" % path)
    except OSError as exc:
        raise ConfigError("cannot read manifest %s: %s" % (path, exc))


def write_file_atomic(path, data, mode=0o640):
    """Manifests and state files: the textfile contract's atomic writer, private directory."""
    return write_atomic(path, data, mode=mode, dir_mode=0o750)


# --------------------------------------------------------------------------------------
# Shared by the integrity_baseline and integrity_verify modules
# --------------------------------------------------------------------------------------

def offhost_argument_spec(retention=False):
    """The ``offhost`` suboptions (S3 location and credentials); ``retention`` adds object lock."""
    spec = dict(
        endpoint_url=dict(type="str"),
        bucket=dict(type="str", required=True),
        key=dict(type="str", required=True, no_log=False),
        access_key=dict(type="str", no_log=True),
        secret_key=dict(type="str", no_log=True),
        region=dict(type="str", default="us-east-1"),
        ca_bundle=dict(type="path"),
    )
    if retention:
        spec.update(
            retention_days=dict(type="int", default=30),
            retention_mode=dict(type="str", choices=["GOVERNANCE", "COMPLIANCE"], default="GOVERNANCE"),
        )
    return spec


def missing_library(offhost=False):
    """The first optional library a module run needs but cannot import, or None.

    Signatures always need ``cryptography``; the off-host copy needs ``boto3``.
    """
    import importlib
    for name in ("cryptography",) + (("boto3",) if offhost else ()):
        try:
            importlib.import_module(name)
        except ImportError:
            return name
    return None


# --------------------------------------------------------------------------------------
# Creating baselines
# --------------------------------------------------------------------------------------

def create_baseline(paths, rules=None, private_key=None, system_paths=None, packages=True, workers=None, host=None,
                    package_owners=True, dpkg_admin_dir=DPKG_ADMIN_DIR):
    """Scan, hash and (when a key is given) sign. Returns ``(body, file_bytes_or_None)``.

    ``package_owners`` records the owning dpkg package and its version of every scanned file
    (for the package-update classification); nothing is recorded without a dpkg database."""
    rules = rules or PathRules()
    entries = add_hashes(walk(paths, rules), workers)
    system = scan_system(system_paths, workers) if system_paths != {} else {}
    dpkg = dpkg_verify() if packages else None
    owners = None
    if package_owners:
        every = dict(entries)
        roots = list(normalise_roots(paths))
        for group, group_entries in system.items():
            every.update(group_entries)
            roots.extend((system_paths if system_paths is not None else DEFAULT_SYSTEM_PATHS).get(group, []))
        owners = dpkg_package_owners(every, roots, admin_dir=dpkg_admin_dir)
    body = build_manifest(entries, paths, rules, system=system, packages=dpkg, host=host, owners=owners)
    data = sign_manifest(body, private_key) if private_key is not None else None
    return body, data


def same_state(old_body, new_body):
    """True when two manifest bodies describe the same tree and configuration (the creation
    time and host name do not count)."""
    keys = ("config", "entries", "system", "packages")
    return all(old_body.get(k) == new_body.get(k) for k in keys)


# --------------------------------------------------------------------------------------
# Confirmation record: the integrity_baseline module's fast path on a converged host
# --------------------------------------------------------------------------------------
#
# A full run of integrity_baseline hashes every scanned file, runs `dpkg --verify` and reads the
# off-host copy: seconds to minutes, only to find on a converged host that nothing changed. After
# such a run found the baseline current (or wrote it) and the off-host copy holding the same body,
# the controller signs a record of it with the host's baseline key (the key never reaches the
# host), bound to the manifest's digest, the host, the options, the dpkg database and the off-host
# location. A later run trusts
# the record only when all of those are still the same and a metadata walk of the scanned and
# system paths (lstat, no hashing) matches the baseline exactly; otherwise it runs in full.
#
# What the fast path does not redo, and why that keeps the module's guarantees:
# - Hashing: a content change also changes size, mtime or ctime (ctime cannot be set back without
#   moving the clock), the same rule the monitor's standard level relies on; the comprehensive
#   level rehashes everything on its schedule.
# - The off-host read: the local manifest cannot change without a new digest, which voids
#   the record (an attacker cannot sign a new one without the controller's key), so a rebaseline
#   or a restored older manifest on the host still meets the off-host comparison on the next run.
#   A change made to the off-host object itself is no longer noticed by a converged run: the
#   monitor's full level, the rebaseline playbook and any full run still compare it.
# - `dpkg --verify`: package installs and upgrades change the dpkg status file, which voids the
#   record (so package updates are still re-signed); an edited package file outside the scanned
#   paths is reported by the monitor's comprehensive level, no longer by the role's drift message.

CONFIRMATION_FORMAT = "prodready-integrity-confirmation"
# Signed bytes of a record start with this, so a record's signature can never pass for a manifest's.
_RECORD_DOMAIN = b"prodready-integrity-confirmation-v2\n"


def confirmation_path(manifest_path):
    """Where integrity_baseline keeps the confirmation record of ``manifest_path``."""
    return manifest_path + ".confirmed"


def dpkg_status_digest(admin_dir=DPKG_ADMIN_DIR):
    """sha256 of dpkg's status file (every install, upgrade and removal rewrites it), or None."""
    try:
        digest = hashlib.sha256()
        with open(os.path.join(admin_dir, "status"), "rb") as handle:
            for chunk in iter(lambda: handle.read(READ_CHUNK), b""):
                digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return None


def sign_record(record, private_key):
    """A small signed JSON document: a header line (key id, signature) and the record line.
    Signed on the controller only (the action of integrity_baseline)."""
    body = canonical_json(record)
    header = {"format": CONFIRMATION_FORMAT, "key_id": key_id(private_key),
              "signature": base64.b64encode(private_key.sign(_RECORD_DOMAIN + body)).decode("ascii")}
    return canonical_json(header) + b"\n" + body + b"\n"


def load_record(data, key):
    """The record ``sign_record`` wrote, or None when it is malformed or not signed by this key
    (a private key, or its public key: verifying needs only the public half)."""
    InvalidSignature = _crypto()[2]
    public_key = key.public_key() if hasattr(key, "public_key") else key
    try:
        header_bytes, body, rest = data.split(b"\n")
        header = json.loads(header_bytes.decode("ascii"))
        if rest or header.get("format") != CONFIRMATION_FORMAT or header.get("key_id") != key_id(public_key):
            return None
        public_key.verify(base64.b64decode(header["signature"], validate=True), _RECORD_DOMAIN + body)
        record = json.loads(body.decode("ascii"))
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, InvalidSignature):
        return None
    return record if isinstance(record, dict) else None


# The options of integrity_baseline a confirmation record is bound to (besides the roots and host).
CONFIRMATION_OPTIONS = ("include", "exclude", "system_checks", "packages", "package_owners", "accept_package_updates",
                        "dpkg_admin_dir", "dpkg_log")


def confirmation_bindings(params, manifest_data, dpkg_status_sha256):
    """What a confirmation record is bound to: the manifest's body (its digest: a restored or
    replaced manifest has another), the baseline options (``params`` as integrity_baseline
    receives them), the host, dpkg's status (its digest, read on the host) and the off-host
    location. A pure function: the host computes it to compare, the controller to sign."""
    options = dict((name, params[name]) for name in CONFIRMATION_OPTIONS)
    options["paths"] = normalise_roots(params["paths"])
    offhost = params.get("offhost")
    return {
        "manifest_sha256": manifest_digest(manifest_data),
        "host": params.get("host"),
        "options": options,
        "dpkg_status_sha256": dpkg_status_sha256,
        "offhost": dict((name, offhost.get(name)) for name in ("endpoint_url", "bucket", "key")) if offhost else None,
    }


def baseline_confirmed(params, key, manifest_data, body):
    """True when the confirmation record of an earlier full run still holds: signed by ``key``
    (a public key on the host), bound to exactly what ``confirmation_bindings`` reads now, the
    manifest signed by the same key, and an lstat walk finding the tree's metadata unchanged.
    Used by integrity_baseline's scan and by the integrity role's probe."""
    try:
        record = load_record(read_file(confirmation_path(params["path"])), key)
        bindings = confirmation_bindings(params, manifest_data, dpkg_status_digest(params["dpkg_admin_dir"]))
        if record is None or record != bindings:
            return False
        if manifest_header(manifest_data)["key_id"] != key_id(key):
            return False
        rules = PathRules(params["include"], params["exclude"])
    except (IntegrityError, OSError):
        return False
    return tree_metadata_unchanged(body, params["paths"], rules, None if params["system_checks"] else {})


def metadata_only(entries):
    """Entries without what only hashing fills in."""
    return dict((path, dict((k, v) for k, v in entry.items() if k not in ("sha256", "error")))
                for path, entry in entries.items())


def tree_metadata_unchanged(body, paths, rules, system_paths=None):
    """True when an lstat walk of ``paths`` (and the system paths the body recorded) finds
    exactly the entries of the baseline ``body``: same paths, types, sizes, modes, owners,
    times, inodes and link targets."""
    try:
        if metadata_only(walk(paths, rules)) != metadata_only(body.get("entries", {})):
            return False
        recorded = body.get("system", {})
        if not recorded:
            return system_paths == {}
        current = scan_system(system_paths, hashes=False)
    except IntegrityError:
        return False
    return sorted(current) == sorted(recorded) and all(
        metadata_only(current[group]) == metadata_only(recorded[group]) for group in current)


# --------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------

def _kind_of(reasons):
    ordered = [_REASON_KIND[r] for r in reasons if r in _REASON_KIND]
    if not ordered:
        return "metadata"
    return min(ordered, key=VIOLATION_KINDS.index)


def _is_special(mode):
    return bool(mode & (stat.S_ISUID | stat.S_ISGID))


def compare_entries(old, new, level, rehash_all=False, workers=None, group=None, rehash=True):
    """Compare baseline entries with a fresh scan at ``level``. Hashes in ``new`` as needed.

    Returns ``(added, removed, changed, files_hashed)`` where each item is a dict with
    ``path``, ``kind`` and ``reasons`` (and ``details`` for changes).
    """
    level_index = LEVELS.index(level)
    check_times = level_index >= 1
    check_suid = level_index >= 2
    to_hash = set()
    for path, cur in new.items():
        if cur.get("type") != TYPE_FILE:
            continue
        base = old.get(path)
        if base is None or base.get("type") != TYPE_FILE:
            continue
        if rehash_all:
            to_hash.add(path)
        elif check_times and any(cur.get(f) != base.get(f) for f in ("size", "mtime_ns", "ctime_ns", "inode")):
            to_hash.add(path)
    if to_hash and rehash:
        add_hashes(new, workers, only=to_hash)
    elif not rehash:
        to_hash = set()

    added = []
    for path in sorted(set(new) - set(old)):
        cur = new[path]
        reasons = ["added"]
        if check_suid and cur.get("type") == TYPE_FILE and _is_special(cur.get("mode", 0)):
            reasons.append("suid")
        added.append({"path": path, "type": cur.get("type"), "reasons": reasons,
                      "kind": group or _kind_of(reasons), "mode": "%04o" % cur.get("mode", 0)})
    removed = [{"path": p, "type": old[p].get("type"), "reasons": ["removed"], "kind": group or "removed"}
               for p in sorted(set(old) - set(new))]
    changed = []
    for path in sorted(set(old) & set(new)):
        base, cur = old[path], new[path]
        reasons = []
        details = {}

        def differ(field, reason, fmt=None):
            if base.get(field) != cur.get(field):
                reasons.append(reason)
                before, after = base.get(field), cur.get(field)
                details[reason] = [fmt(before) if (fmt and before is not None) else before,
                                   fmt(after) if (fmt and after is not None) else after]

        differ("type", "type")
        if base.get("type") == cur.get("type"):
            if cur.get("type") == TYPE_FILE:
                differ("size", "size")
            differ("mode", "mode", lambda m: "%04o" % m)
            differ("uid", "owner")
            differ("gid", "group")
            if cur.get("type") == TYPE_LINK:
                differ("target", "target")
            if check_times:
                # A directory's times change whenever an entry is added or removed, which is
                # already reported per entry; its mode, owner and inode still count.
                if cur.get("type") != TYPE_DIR:
                    differ("mtime_ns", "mtime")
                    differ("ctime_ns", "ctime")
                differ("inode", "inode")
            if cur.get("type") == TYPE_FILE and "sha256" in cur:
                if cur.get("sha256") is None:
                    reasons.append("unreadable")
                    details["unreadable"] = cur.get("error")
                elif cur["sha256"] != base.get("sha256"):
                    reasons.append("content")
                    details["content"] = [base.get("sha256"), cur["sha256"]]
            if check_suid and _is_special(cur.get("mode", 0)) and \
                    (cur.get("mode", 0) & ~base.get("mode", 0) & (stat.S_ISUID | stat.S_ISGID)):
                reasons.append("suid")
        if reasons:
            changed.append({"path": path, "type": cur.get("type"), "reasons": reasons,
                            "kind": group or _kind_of(reasons), "details": details})
    return added, removed, changed, len(to_hash)


def compare_manifests(old_body, new_body):
    """Entry-level differences between two manifest bodies (as stored, no rehashing)."""
    added, removed, changed = compare_entries(old_body.get("entries", {}), dict(
        (p, dict(e)) for p, e in new_body.get("entries", {}).items()), "comprehensive", rehash=False)[:3]
    return {"added": added, "removed": removed, "changed": changed}


def package_update_drift(old_body, new_body, state=None):
    """Classify everything between a signed baseline and a fresh baseline body of the same
    host: ``(package_updates, violations)``. When ``violations`` is empty the only differences
    are package updates (or the recorded package data), and the controller may re-sign the new
    body without hiding anything else: ``integrity_baseline accept_package_updates``."""
    result = new_result("comprehensive")
    if old_body.get("config") != new_body.get("config"):
        signature_violation(result, "config", "the scanned paths or rules changed", kind="metadata")
    diff = compare_manifests(old_body, new_body)
    for bucket in ("added", "removed", "changed"):
        result[bucket].extend(diff[bucket])
    old_system, new_system = old_body.get("system") or {}, new_body.get("system") or {}
    for group in sorted(set(old_system) | set(new_system)):
        added, removed, changed = compare_entries(old_system.get(group, {}), dict(
            (p, dict(e)) for p, e in new_system.get(group, {}).items()), "comprehensive", group=group, rehash=False)[:3]
        result["added"].extend(added)
        result["removed"].extend(removed)
        result["changed"].extend(changed)
    old_dpkg = (old_body.get("packages") or {}).get("dpkg_verify")
    new_dpkg = (new_body.get("packages") or {}).get("dpkg_verify")
    if (old_dpkg is None) != (new_dpkg is None):
        signature_violation(result, "dpkg --verify", "dpkg --verify recording switched on or off", kind="package")
    for path in sorted(set(new_dpkg or {}) - set(old_dpkg or {})):
        result["changed"].append({"path": path, "type": TYPE_FILE, "reasons": ["package"], "kind": "package",
                                  "details": {"package": new_dpkg[path]}})
    classify_package_updates(old_body, result, state)
    violations = [_violation(i) for i in result["added"] + result["removed"] + result["changed"]]
    return result["package_updates"], violations


# --------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------

def _violation(item):
    return {"path": item["path"], "kind": item["kind"], "reasons": list(item.get("reasons", []))}


def summarise_counts(result):
    by_kind = dict((k, 0) for k in VIOLATION_KINDS)
    for item in result["violations"]:
        by_kind[item["kind"]] = by_kind.get(item["kind"], 0) + 1
    return {
        "added": len(result["added"]), "removed": len(result["removed"]), "changed": len(result["changed"]),
        "violations": len(result["violations"]), "by_kind": by_kind,
        "package_updates": len(result.get("package_updates") or []),
    }


def new_result(level):
    if level not in LEVELS:
        raise ConfigError("unknown level %r: choose one of %s" % (level, ", ".join(LEVELS)))
    return {"level": level, "ok": True, "added": [], "removed": [], "changed": [], "violations": [],
            "package_updates": [], "checks": {}, "skipped": {}, "files_checked": 0, "files_hashed": 0}


def verify_tree(body, level, workers=None, system_paths=None, packages=True, result=None,
                accept_package_updates=True, package_state=None):
    """Verify the live tree against a (verified) manifest body at ``level``. With
    ``accept_package_updates`` the changes a dpkg upgrade explains are moved to
    ``package_updates`` (``classify_package_updates``; ``package_state`` is the dpkg state to
    read, by default the host's)."""
    result = result or new_result(level)
    level_index = LEVELS.index(level)
    config = body.get("config", {})
    rules = PathRules(config.get("include"), config.get("exclude"))
    current = walk(config.get("paths") or [], rules, missing_ok=True)
    added, removed, changed, hashed = compare_entries(body["entries"], current, level,
                                                      rehash_all=level_index >= 2, workers=workers)
    result["files_checked"] += len(current)
    result["files_hashed"] += hashed
    result["added"].extend(added)
    result["removed"].extend(removed)
    result["changed"].extend(changed)
    result["checks"]["tree"] = "checked %d entries" % len(current)
    if level_index >= 2:
        baseline_system = body.get("system") or {}
        if not baseline_system:
            result["skipped"]["system"] = "the baseline recorded no unit/sudoers locations"
        else:
            groups = system_paths if system_paths is not None else DEFAULT_SYSTEM_PATHS
            for group in sorted(baseline_system):
                now = walk(groups.get(group, []), missing_ok=True) if groups.get(group) else {}
                a, r, c, h = compare_entries(baseline_system[group], now, level, rehash_all=True,
                                             workers=workers, group=group)
                result["files_checked"] += len(now)
                result["files_hashed"] += h
                result["added"].extend(a)
                result["removed"].extend(r)
                result["changed"].extend(c)
                result["checks"][group] = "checked %d entries" % len(now)
    if accept_package_updates:
        classify_package_updates(body, result, package_state)
    else:
        result["skipped"]["package_updates"] = "accepting package updates is switched off"
    if level_index >= 2:
        baseline_dpkg = (body.get("packages") or {}).get("dpkg_verify")
        if not packages:
            result["skipped"]["package"] = "package verification disabled"
        elif baseline_dpkg is None:
            result["skipped"]["package"] = "the baseline recorded no dpkg --verify state"
        else:
            now = dpkg_verify()
            if now is None:
                result["skipped"]["package"] = "dpkg is not installed"
            else:
                for path in sorted(set(now) - set(baseline_dpkg)):
                    result["changed"].append({"path": path, "type": TYPE_FILE, "reasons": ["package"],
                                              "kind": "package", "details": {"package": now[path]}})
                result["checks"]["package"] = "dpkg --verify: %d files differ, %d already at baseline" % (
                    len(now), len(set(now) & set(baseline_dpkg)))
    return result


def read_metric_value(path, name):
    """The first sample of ``name`` in a Prometheus textfile, or None. Small on purpose: the
    library stays independent of textfile.py so it can run anywhere."""
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if line.startswith("#") or not line:
                continue
            metric = re.split(r"[{\s]", line, 1)[0]
            if metric == name:
                try:
                    return float(line.rsplit(None, 1)[-1])
                except ValueError:
                    return None
    return None


def check_backup_status(metric_file, metric_name, result, max_age_seconds=None):
    if not metric_file or not os.path.exists(metric_file):
        result["skipped"]["backup"] = "backup restore-test metric not deployed (%s)" % (metric_file or "not configured")
        return
    value = read_metric_value(metric_file, metric_name)
    problem = None
    if value is None:
        problem = "metric %s missing from %s" % (metric_name, metric_file)
    elif value != 1:
        problem = "last backup restore test failed (%s = %s)" % (metric_name, value)
    elif max_age_seconds and time.time() - os.stat(metric_file).st_mtime > max_age_seconds:
        problem = "restore-test status in %s is older than %d s" % (metric_file, max_age_seconds)
    if problem:
        result["changed"].append({"path": metric_file, "type": TYPE_FILE, "reasons": ["backup"], "kind": "backup",
                                  "details": {"backup": problem}})
    result["checks"]["backup"] = problem or "restore test passing"


def check_certificates(certificates, result, openssl="openssl"):
    """``certificates``: list of ``{"path": fullchain, "ca_file": optional}``; each must
    verify as a chain with ``openssl verify`` (which also rejects expired certificates)."""
    if not certificates:
        result["skipped"]["certificate"] = "no certificates configured"
        return
    problems = 0
    for item in certificates:
        path = item.get("path") if isinstance(item, dict) else item
        ca_file = item.get("ca_file") if isinstance(item, dict) else None
        if not path or not os.path.exists(path):
            problem = "certificate %s does not exist" % path
        else:
            cmd = [openssl, "verify"]
            if ca_file:
                cmd += ["-CAfile", ca_file]
            cmd += ["-untrusted", path, path]
            try:
                proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                out = proc.communicate(timeout=60)[0].decode("utf-8", "replace").strip()
                problem = None if proc.returncode == 0 else (out.splitlines() or ["openssl verify failed"])[-1]
            except OSError as exc:
                problem = "cannot run openssl: %s" % exc
        if problem:
            problems += 1
            result["changed"].append({"path": path, "type": TYPE_FILE, "reasons": ["certificate"],
                                      "kind": "certificate", "details": {"certificate": problem}})
    result["checks"]["certificate"] = "%d of %d chains failed" % (problems, len(certificates))


def finish(result, started):
    result["duration_seconds"] = round(time.monotonic() - started, 4)
    result["checked_at"] = int(time.time())
    result["violations"] = [_violation(i) for i in result["added"] + result["removed"] + result["changed"]]
    result["counts"] = summarise_counts(result)
    result["ok"] = not result["violations"]
    return result


def signature_violation(result, path, message, kind="signature"):
    result["changed"].append({"path": path, "type": TYPE_FILE, "reasons": [kind], "kind": kind,
                              "details": {kind: message}})


def verify(manifest_data, public_keys, level, reference_data=None, workers=None, system_paths=None,
           packages=True, backup=None, certificates=None, manifest_path="manifest",
           accept_package_updates=True, package_state=None, expected_host=None, expected_config=None):
    """Verify a host against its manifest at ``level``.

    ``reference_data`` is the off-host copy (file content) used from the ``full`` level on:
    it must verify with the same trusted keys, the local manifest must have the same body, and
    the tree is checked against the reference (so a rebaseline on the host shows as changes).
    A local manifest whose signature fails is a ``signature`` violation (the tree is then
    checked against the reference if there is one, otherwise not at all). A manifest of a newer
    format version raises ``UnsupportedVersionError``. ``accept_package_updates`` and
    ``package_state``: see ``verify_tree``. ``expected_host`` and ``expected_config`` (see
    ``manifest_config``) bind the manifest: a genuine manifest of another host or of another path
    set is a ``binding`` violation, and the tree is not judged against it.
    """
    started = time.monotonic()
    result = new_result(level)
    level_index = LEVELS.index(level)
    body = None

    def bound(loaded, path):
        errors = binding_errors(loaded, expected_host, expected_config)
        for message in errors:
            signature_violation(result, path, message, kind="binding")
        return None if errors else loaded

    try:
        body = bound(load_manifest(manifest_data, public_keys), manifest_path)
        result["manifest_sha256"] = manifest_digest(manifest_data)
    except UnsupportedVersionError:
        raise
    except ManifestError as exc:
        signature_violation(result, manifest_path, str(exc))
    reference = None
    if level_index >= 3:
        if reference_data is None:
            result["skipped"]["offhost"] = "no off-host copy configured"
        else:
            try:
                reference = load_manifest(reference_data, public_keys)
            except UnsupportedVersionError:
                raise
            except ManifestError as exc:
                signature_violation(result, "offhost:" + manifest_path, "off-host copy: %s" % exc, kind="offhost")
            if reference is not None:
                remote_digest = manifest_digest(reference_data)
                result["offhost_sha256"] = remote_digest
                local_digest = result.get("manifest_sha256")
                if local_digest != remote_digest:
                    signature_violation(result, manifest_path, "local manifest differs from the off-host copy "
                                        "(local %s, off-host %s): the host was rebaselined outside the playbook" % (
                                            local_digest or "unverifiable", remote_digest), kind="offhost")
                result["checks"]["offhost"] = "off-host copy verified (%s)" % remote_digest[:16]
                body = bound(reference, "offhost:" + manifest_path)
    if body is not None:
        verify_tree(body, level, workers=workers, system_paths=system_paths, packages=packages, result=result,
                    accept_package_updates=accept_package_updates, package_state=package_state)
    if level_index >= 3:
        backup = backup or {}
        check_backup_status(backup.get("metric_file"), backup.get("metric_name", "prodready_backup_restore_test_success"),
                            result, backup.get("max_age_seconds"))
        check_certificates(certificates or [], result)
    return finish(result, started)


def error_result(level, message, kind="signature", path="manifest"):
    """A result for a check that could not run at all (for metrics and alerts)."""
    result = new_result(level if level in LEVELS else "standard")
    signature_violation(result, path, message, kind=kind)
    return finish(result, time.monotonic())


# --------------------------------------------------------------------------------------
# Result cache with a TTL
# --------------------------------------------------------------------------------------

class ResultCache(object):
    """Verification results kept for ``ttl`` seconds in a JSON file, keyed by level, manifest
    digest and options, so repeated checks (a dashboard, a playbook run right after the timer)
    do not rescan. A TTL of 0 disables the cache."""

    def __init__(self, path, ttl):
        self.path = path
        self.ttl = int(ttl or 0)

    @staticmethod
    def key(*parts):
        return hashlib.sha256(canonical_json(list(parts))).hexdigest()

    def _load(self):
        try:
            with open(self.path) as handle:
                data = json.load(handle)
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def get(self, key, now=None):
        if self.ttl <= 0 or not self.path:
            return None
        item = self._load().get(key)
        now = time.time() if now is None else now
        if not item or now - item.get("stored_at", 0) > self.ttl or item.get("stored_at", 0) > now:
            return None
        result = dict(item["result"])
        result["cached"] = True
        result["cache_age_seconds"] = round(now - item["stored_at"], 3)
        return result

    def put(self, key, result, now=None):
        if self.ttl <= 0 or not self.path:
            return
        now = time.time() if now is None else now
        data = dict((k, v) for k, v in self._load().items() if now - v.get("stored_at", 0) <= self.ttl)
        data[key] = {"stored_at": now, "result": result}
        write_file_atomic(self.path, canonical_json(data), mode=0o600)


# --------------------------------------------------------------------------------------
# Off-host copy (S3)
# --------------------------------------------------------------------------------------

def _s3_client(options):
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise MissingDependencyError("the off-host copy needs boto3 (Debian: apt-get install python3-boto3; pip: boto3)")
    kwargs = {"config": Config(retries={"max_attempts": 3}, connect_timeout=10, read_timeout=30,
                               s3={"addressing_style": "path"})}
    for option, arg in (("endpoint_url", "endpoint_url"), ("access_key", "aws_access_key_id"),
                        ("secret_key", "aws_secret_access_key"), ("region", "region_name")):
        if options.get(option):
            kwargs[arg] = options[option]
    if "region_name" not in kwargs:
        kwargs["region_name"] = "us-east-1"
    if options.get("ca_bundle"):
        kwargs["verify"] = options["ca_bundle"]
    return boto3.client("s3", **kwargs)


def s3_get(options):
    """The off-host manifest (bytes), or None when the object does not exist."""
    client = _s3_client(options)
    from botocore.exceptions import BotoCoreError, ClientError
    try:
        response = client.get_object(Bucket=options["bucket"], Key=options["key"])
        return response["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise IntegrityError("cannot read s3://%s/%s: %s" % (options["bucket"], options["key"], exc))
    except BotoCoreError as exc:  # no connection, timeouts, bad endpoint: not an S3 answer
        raise IntegrityError("cannot reach the S3 endpoint for s3://%s/%s: %s" % (options["bucket"], options["key"], exc))


def s3_put(options, data):
    """Upload a signed manifest. When the bucket has Object Lock enabled the object is written
    with a retention (``retention_days``, ``retention_mode`` GOVERNANCE or COMPLIANCE), so
    a stolen host credential cannot delete or overwrite the version in place. Returns a dict
    describing what was done."""
    client = _s3_client(options)
    from botocore.exceptions import BotoCoreError, ClientError
    bucket, key = options["bucket"], options["key"]
    lock = False
    try:
        conf = client.get_object_lock_configuration(Bucket=bucket)
        lock = conf.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
    except ClientError:
        lock = False
    except BotoCoreError as exc:
        raise IntegrityError("cannot reach the S3 endpoint for s3://%s/%s: %s" % (bucket, key, exc))
    kwargs = {"Bucket": bucket, "Key": key, "Body": data, "ContentType": "application/x-ndjson",
              "Metadata": {"body-sha256": manifest_digest(data)}}
    days = int(options.get("retention_days") or 0)
    if lock and days > 0:
        until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)
        kwargs["ObjectLockMode"] = options.get("retention_mode") or "GOVERNANCE"
        kwargs["ObjectLockRetainUntilDate"] = until
        kwargs["ChecksumAlgorithm"] = "SHA256"
    try:
        response = client.put_object(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise IntegrityError("cannot write s3://%s/%s: %s" % (bucket, key, exc))
    return {"bucket": bucket, "key": key, "object_lock": bool(lock and days > 0),
            "version_id": response.get("VersionId"), "retention_days": days if lock else 0}


# --------------------------------------------------------------------------------------
# Notification de-duplication
# --------------------------------------------------------------------------------------

def violation_fingerprint(result):
    """A stable digest of the violation set: the same findings give the same fingerprint, so
    a persisting violation alerts once."""
    items = sorted((v["path"], v["kind"], sorted(v.get("reasons", []))) for v in result.get("violations", []))
    return hashlib.sha256(canonical_json(items)).hexdigest() if items else ""


def parse_level(level):
    if level not in LEVELS:
        raise ConfigError("unknown level %r: choose one of %s" % (level, ", ".join(LEVELS)))
    return level


def pattern_is_valid(pattern):
    try:
        glob_to_regex(pattern)
        return True
    except ConfigError:
        return False
