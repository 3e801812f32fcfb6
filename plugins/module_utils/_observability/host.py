# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only host questions the observability roles' facts modules (exporters_facts,
monitoring_facts) ask: which Debian packages are installed, what a binary's --help offers.
Standard library only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

from ansible_collections.prodready.platform.plugins.module_utils._debian import packages as debian_packages


def run(argv, merge_stderr=True, timeout=30):
    """(exit code, output) of argv; 127 and the error text when it cannot run."""
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT if merge_stderr else subprocess.DEVNULL,
                              universal_newlines=True, errors="replace", timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, str(exc)
    return proc.returncode, proc.stdout


def installed_packages(names):
    """The names among ``names`` that dpkg reports installed (one dpkg-query, _debian.packages)."""
    def run3(argv):
        rc, out = run(argv, merge_stderr=False)
        return rc, out, ""
    return debian_packages.installed_packages(run3, names)


def binary_help(path):
    """Whether ``path`` is a file, and the exit code and text of ``path --help`` (kingpin and Go's
    flag package print it on stderr; the latter exits 2 after it). (False, None, "") when absent."""
    if not path or not os.path.isfile(path):
        return False, None, ""
    rc, text = run([path, "--help"])
    return True, rc, text


def missing_packages(names):
    """The names among ``names`` that are not installed, in order."""
    installed = installed_packages(names)
    return [name for name in names if name not in installed]
