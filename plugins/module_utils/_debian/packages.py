# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Debian package questions every role asks: which packages dpkg has installed and how old apt's
package lists are. One dpkg-query run answers for any number of names (milliseconds), where opening
apt's cache (ansible.builtin.apt) takes most of a second. Standard library only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import time

APT_LISTS_DIR = "/var/lib/apt/lists"
# dpkg-query's format: the two-letter status abbreviation and the package (with :arch when multi-arch).
DPKG_QUERY_FORMAT = "${db:Status-Abbrev} ${Package}\n"
PACKAGE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?(=[A-Za-z0-9.+~:-]+)?\Z")


def dpkg_query_argv(names):
    return ["dpkg-query", "-W", "-f=" + DPKG_QUERY_FORMAT, "--"] + list(names)


def parse_installed(output):
    """The package names dpkg-query reports fully installed (status "ii"), without their :arch."""
    installed = set()
    for line in output.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "ii":
            installed.add(fields[1].split(":", 1)[0])
    return installed


def base_name(spec):
    """The package name of an apt spec such as ``nginx``, ``nginx=1.22-1`` or ``libc6:amd64``."""
    return spec.split("=", 1)[0].split(":", 1)[0]


def installed_packages(run, names):
    """Which of ``names`` dpkg has installed, sorted. ``run(argv)`` returns (rc, stdout, stderr);
    dpkg-query exits 1 when a name is unknown to it but still lists the others."""
    names = [name for name in names if name]
    if not names:
        return []
    _rc, out, _err = run(dpkg_query_argv([base_name(name) for name in names]))
    return sorted(parse_installed(out))


def missing_packages(run, names):
    """The names among ``names`` that are not installed, in their order."""
    installed = set(installed_packages(run, names))
    return [name for name in names if name and base_name(name) not in installed]


def apt_lists_age(directory=APT_LISTS_DIR, now=None):
    """Seconds since apt last fetched package lists, or None when there are none (a fresh image
    ships without them, with a recent directory mtime that would fool a cache_valid_time check)."""
    try:
        lists = [os.path.join(directory, name) for name in os.listdir(directory) if "_Packages" in name]
    except OSError:
        return None
    mtimes = []
    for path in lists:
        try:
            mtimes.append(os.stat(path).st_mtime)
        except OSError:
            continue
    if not mtimes:
        return None
    return max(0.0, (time.time() if now is None else now) - max(mtimes))
