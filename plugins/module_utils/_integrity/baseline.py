# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File integrity: creating a baseline (scan, hash, sign)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prodready.platform.plugins.module_utils._integrity import common
from ansible_collections.prodready.platform.plugins.module_utils._integrity import dpkg
from ansible_collections.prodready.platform.plugins.module_utils._integrity import manifest
from ansible_collections.prodready.platform.plugins.module_utils._integrity import pathrules
from ansible_collections.prodready.platform.plugins.module_utils._integrity import scan


def create_baseline(paths, rules=None, private_key=None, system_paths=None, packages=True, workers=None, host=None,
                    package_owners=True, dpkg_admin_dir=dpkg.DPKG_ADMIN_DIR):
    """Scan, hash and (when a key is given) sign. Returns ``(body, file_bytes_or_None)``.

    ``package_owners`` records the owning dpkg package and its version of every scanned file
    (for the package-update classification); nothing is recorded without a dpkg database."""
    rules = rules or pathrules.PathRules()
    entries = scan.add_hashes(scan.walk(paths, rules), workers)
    system = scan.scan_system(system_paths, workers) if system_paths != {} else {}
    dpkg_drift = scan.dpkg_verify() if packages else None
    owners = None
    if package_owners:
        every = dict(entries)
        roots = list(scan.normalise_roots(paths))
        for group, group_entries in system.items():
            every.update(group_entries)
            roots.extend((system_paths if system_paths is not None else common.DEFAULT_SYSTEM_PATHS).get(group, []))
        owners = dpkg.dpkg_package_owners(every, roots, admin_dir=dpkg_admin_dir)
    body = manifest.build_manifest(entries, paths, rules, system=system, packages=dpkg_drift, host=host, owners=owners)
    data = manifest.sign_manifest(body, private_key) if private_key is not None else None
    return body, data


def same_state(old_body, new_body):
    """True when two manifest bodies describe the same tree and configuration (the creation
    time and host name do not count)."""
    keys = ("config", "entries", "system", "packages")
    return all(old_body.get(k) == new_body.get(k) for k in keys)
