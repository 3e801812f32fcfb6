#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: packages
short_description: Install the Debian packages a role needs, at the cost of one dpkg-query when all are there
version_added: "1.2.0"
description:
  - Asks dpkg which of O(names) are installed (one C(dpkg-query), a few milliseconds) and, only when
    some are missing, refreshes apt's package lists if they are absent or older than
    O(cache_valid_time) and installs the missing ones with one non-interactive C(apt-get install).
    On a converged host it is one cheap read, where M(ansible.builtin.apt) opens apt's cache (most of a
    second) on every run.
  - Configuration files the packages ship keep the local version (C(--force-confold)); dpkg's lock is
    waited for up to O(lock_timeout) seconds.
  - Installing only; removing packages is not this module's business.
author: prodready.platform maintainers (@prodready)
options:
  names:
    description:
      - Package names as apt takes them (V(nginx), V(nginx=1.22.1-9), V(libc6:amd64)). A version pin
        counts as installed when the package is installed at any version.
    type: list
    elements: str
    required: true
  install_recommends:
    description: Install the packages' recommended packages as well.
    type: bool
    default: false
  cache_valid_time:
    description:
      - Refresh the package lists before installing when they are older than this many seconds (or
        absent, as on a fresh image). Only when something is missing.
    type: int
    default: 3600
  lock_timeout:
    description: Seconds to wait for another apt or dpkg run to release its lock.
    type: int
    default: 300
notes:
  - Supports check mode (reports the missing packages as what it would install; when the package
    lists exist, C(apt-get install --simulate) also lists the dependencies it would bring) and diff
    mode (the installed set before and after).
"""

EXAMPLES = r"""
- name: Install logrotate and auditd
  prodready.platform.packages:
    names: [logrotate, auditd, audispd-plugins]

- name: Install restic with its recommends (fuse for restic mount)
  prodready.platform.packages:
    names: [restic]
    install_recommends: true
"""

RETURN = r"""
missing:
  description: The requested packages that were not installed before this run.
  returned: always
  type: list
  elements: str
  sample: [auditd]
installed:
  description: >-
    The packages this run installed (in check mode, the ones it would install, dependencies included
    when apt could simulate).
  returned: always
  type: list
  elements: str
  sample: [auditd, libauparse0]
cache_updated:
  description: Whether the package lists were refreshed.
  returned: always
  type: bool
"""

import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.prodready.platform.plugins.module_utils._debian.packages import (
    PACKAGE_NAME_RE,
    apt_lists_age,
    missing_packages,
)

APT_ENV = {"DEBIAN_FRONTEND": "noninteractive", "APT_LISTCHANGES_FRONTEND": "none", "LC_ALL": "C"}
# "Inst pkg (version ...)" lines of apt-get --simulate.
SIMULATED_INSTALL_RE = re.compile(r"^Inst (\S+)", re.MULTILINE)


def apt_options(lock_timeout):
    return ["-o", "DPkg::Lock::Timeout=%d" % lock_timeout, "-o", "Dpkg::Options::=--force-confdef",
            "-o", "Dpkg::Options::=--force-confold"]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            names=dict(type="list", elements="str", required=True),
            install_recommends=dict(type="bool", default=False),
            cache_valid_time=dict(type="int", default=3600),
            lock_timeout=dict(type="int", default=300),
        ),
        supports_check_mode=True,
    )
    params = module.params
    bad = [name for name in params["names"] if not PACKAGE_NAME_RE.match(name or "")]
    if bad:
        module.fail_json(msg="not Debian package names: %s" % ", ".join(repr(name) for name in bad))
    if params["cache_valid_time"] < 0 or params["lock_timeout"] < 0:
        module.fail_json(msg="cache_valid_time and lock_timeout must not be negative")

    def run(argv):
        return module.run_command(argv, environ_update=APT_ENV)

    missing = missing_packages(run, params["names"])
    result = dict(changed=False, missing=missing, installed=[], cache_updated=False)
    if not missing:
        module.exit_json(**result)

    result["changed"] = True
    age = apt_lists_age()
    lists_stale = age is None or age > params["cache_valid_time"]
    install = ["apt-get", "install", "--yes", "--quiet"] + apt_options(params["lock_timeout"])
    install.append("--install-recommends" if params["install_recommends"] else "--no-install-recommends")
    install += ["--"] + missing
    before = "\n".join(sorted(set(params["names"]) - set(missing))) + "\n"
    if module.check_mode:
        would = list(missing)
        if age is not None:
            rc, out, _err = run(install[:2] + ["--simulate"] + install[2:])
            if rc == 0:
                would = sorted(set(SIMULATED_INSTALL_RE.findall(out)) | set(missing))
        result["installed"] = would
        result["cache_updated"] = lists_stale
        if module._diff:
            result["diff"] = dict(before=before, after=before + "".join("%s (would install)\n" % n for n in would))
        module.exit_json(**result)

    if lists_stale:
        rc, out, err = run(["apt-get", "update", "--quiet"] + apt_options(params["lock_timeout"]))
        if rc != 0:
            module.fail_json(msg="apt-get update failed: %s" % (err or out).strip()[-2000:], rc=rc, missing=missing)
        result["cache_updated"] = True
    rc, out, err = run(install)
    if rc != 0:
        unknown = re.findall(r"Unable to locate package (\S+)", err + out)
        msg = ("apt does not know %s (check the name and the apt sources)" % ", ".join(unknown) if unknown
               else "apt-get install %s failed: %s" % (" ".join(missing), (err or out).strip()[-2000:]))
        module.fail_json(msg=msg, rc=rc, missing=missing, cache_updated=result["cache_updated"])
    result["installed"] = sorted(set(re.findall(r"^Setting up ([^ :]+)", out, re.MULTILINE)) | set(missing))
    still = missing_packages(run, missing)
    if still:
        module.fail_json(msg="apt-get reported success but %s is not installed" % ", ".join(still), stdout=out)
    if module._diff:
        result["diff"] = dict(before=before, after=before + "".join("%s\n" % n for n in result["installed"]))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
