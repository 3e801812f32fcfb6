# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File integrity: tree scans (os.scandir, no subprocess per file), parallel SHA-256, ``dpkg --verify``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.prodready.platform.plugins.module_utils._integrity import common
from ansible_collections.prodready.platform.plugins.module_utils._integrity import pathrules


def _type_of(mode):
    if stat.S_ISREG(mode):
        return common.TYPE_FILE
    if stat.S_ISDIR(mode):
        return common.TYPE_DIR
    if stat.S_ISLNK(mode):
        return common.TYPE_LINK
    return common.TYPE_OTHER


def entry_from_stat(path, st):
    """The metadata record of one path (no hash yet)."""
    kind = _type_of(st.st_mode)
    entry = {
        "type": kind,
        "size": st.st_size if kind in (common.TYPE_FILE, common.TYPE_LINK) else 0,
        "mode": stat.S_IMODE(st.st_mode),
        "uid": st.st_uid,
        "gid": st.st_gid,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
        "inode": st.st_ino,
    }
    if kind == common.TYPE_LINK:
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
        raise common.ConfigError("at least one path to scan is required")
    roots = []
    for path in paths:
        if not isinstance(path, str) or not path.startswith("/"):
            raise common.ConfigError("paths must be absolute, got %r" % (path,))
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
    rules = rules or pathrules.PathRules()
    entries = {}
    for root in normalise_roots(paths):
        try:
            st = os.lstat(root)
        except FileNotFoundError:
            if missing_ok:
                continue
            raise common.ConfigError("path %s does not exist" % root)
        except OSError as exc:
            raise common.ConfigError("cannot read %s: %s" % (root, exc))
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
            entries.setdefault(directory, {"type": common.TYPE_DIR}).setdefault("error", str(exc))
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
        data = os.read(fd, common.SMALL_FILE)
        digest.update(data)
        if len(data) == common.SMALL_FILE:
            view = memoryview(buffer if buffer is not None else bytearray(common.READ_CHUNK))
            while True:
                count = os.readv(fd, [view])
                if not count:
                    break
                digest.update(view[:count])
        return digest.hexdigest()
    finally:
        os.close(fd)


def _hash_chunk(paths):
    buffer = bytearray(common.READ_CHUNK)
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
    targets = [p for p, e in entries.items() if e.get("type") == common.TYPE_FILE and (only is None or p in only)]
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
        raise common.IntegrityError("dpkg --verify failed (%d): %s" % (proc.returncode, err.decode("utf-8", "replace").strip()))
    result = {}
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        match = _DPKG_LINE.match(line.strip())
        if match:
            result[match.group(3)] = match.group(1) + (" conffile" if match.group(2) else "")
    return result


def scan_system(system_paths=None, workers=None, hashes=True):
    """Scan and hash the unit-file and sudoers locations: ``{group: {path: entry}}``
    (``hashes=False``: metadata only)."""
    groups = common.DEFAULT_SYSTEM_PATHS if system_paths is None else system_paths
    out = {}
    for group in sorted(groups):
        roots = [p for p in groups[group] if p]
        entries = walk(roots, missing_ok=True) if roots else {}
        out[group] = add_hashes(entries, workers) if hashes and entries else entries
    return out
