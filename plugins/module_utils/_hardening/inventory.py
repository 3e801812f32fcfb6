# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SUID/SGID and world-writable inventory of a few directory trees, cached as JSON.

Walking /usr takes seconds, so the inventory is kept in a cache file and reused while it is
younger than the TTL: a no-op run reads one small file instead of walking the filesystem."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
import tempfile
import time


def scan(paths):
    """Walk the existing paths without crossing filesystems; symlinks are not followed."""
    existing = [path for path in paths if os.path.exists(path)]
    suid, writable = set(), set()
    for top in existing:
        device = os.lstat(top).st_dev
        for root, dirs, files in os.walk(top, onerror=lambda _error: None):
            # -xdev: stay on the filesystem of the starting point.
            dirs[:] = [name for name in dirs if _same_device(os.path.join(root, name), device)]
            for name in files:
                path = os.path.join(root, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if not stat.S_ISREG(st.st_mode) or st.st_dev != device:
                    continue
                if st.st_mode & (stat.S_ISUID | stat.S_ISGID):
                    suid.add(path)
                if st.st_mode & stat.S_IWOTH:
                    writable.add(path)
    return {"scanned_at": int(time.time()), "paths": existing,
            "suid_sgid": sorted(suid), "world_writable": sorted(writable)}


def _same_device(path, device):
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_dev == device


def read_cache(cache, ttl_hours, now=None):
    """The cached inventory, or None when it is missing, unreadable or not younger than the TTL
    (a TTL of 0 never uses the cache)."""
    if ttl_hours <= 0:
        return None
    now = time.time() if now is None else now
    try:
        if now - os.stat(cache).st_mtime >= ttl_hours * 3600:
            return None
        with open(cache, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("suid_sgid"), list):
        return None
    return data


def write_cache(cache, inventory):
    """Replace the cache atomically (mode 0600, its directory made 0755 when missing)."""
    directory = os.path.dirname(cache) or "/"
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(cache), dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(inventory, handle)
            os.fchmod(handle.fileno(), 0o600)
        os.rename(tmp, cache)
        tmp = None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def inventory(paths, cache, ttl_hours, write=True):
    """The inventory from the cache while it is fresh, else a new scan (written to the cache when
    ``write``). Adds ``cached``: whether the answer came from the cache."""
    data = read_cache(cache, ttl_hours) if cache else None
    if data is not None:
        data = dict(data, cached=True)
        return data
    data = scan(paths)
    if cache and write:
        write_cache(cache, data)
    return dict(data, cached=False)
