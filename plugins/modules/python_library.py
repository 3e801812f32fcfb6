#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: python_library
short_description: Install this collection's module_utils on a host for its on-host scripts
version_added: "1.2.0"
description:
  - The on-host scripts of the roles (the integrity monitor, the backup runner, the certificate expiry
    exporter) use the same Python as the modules. This module writes the listed
    C(plugins/module_utils) modules under O(dest), at their collection path
    (C(ansible_collections/prodready/platform/plugins/module_utils/...), with an empty C(__init__.py) at
    every level), so a script imports them exactly as the modules do after
    C(sys.path.insert(0, dest)).
  - The source comes with the module itself (Ansible ships the module_utils a module imports), so no
    task reads plugin files by path and the library on the host is the one of the collection version
    that ran. Only modules listed in this module's C(SHIPPABLE) table can be installed; making a new
    module_utils module shippable is one import line and one table entry there. Shippable modules
    import only the standard library and each other.
  - Files are compared with what is on the host and written only where they differ (temporary file in
    the same directory, then renamed), mode 0644, directories 0755. C(.py) files under the managed
    C(module_utils) tree that are no longer listed are removed, so an upgraded host never imports a
    stale module.
author: prodready.platform maintainers (@prodready)
options:
  dest:
    description: Directory that the scripts put on C(sys.path).
    type: path
    required: true
  modules:
    description: Dotted names below C(plugins/module_utils), for example V(textfile) or V(_backup.retention).
    type: list
    elements: str
    required: true
notes:
  - Supports check mode and diff mode (one diff per written or removed file).
"""

EXAMPLES = r"""
- name: Install the library the backup runner imports
  prodready.platform.python_library:
    dest: /usr/local/lib/prodready/python
    modules: [textfile, _backup.retention]
"""

RETURN = r"""
written:
  description: Files written (new or different).
  returned: always
  type: list
  elements: str
removed:
  description: Stale module files removed.
  returned: always
  type: list
  elements: str
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text

# Shippable module_utils: dotted name below plugins/module_utils -> the imported module. Ansible bundles a
# module_utils file into this module's payload only when this file imports it, hence one import each.
from ansible_collections.prodready.platform.plugins.module_utils import textfile
from ansible_collections.prodready.platform.plugins.module_utils._backup import record as backup_record
from ansible_collections.prodready.platform.plugins.module_utils._backup import retention as backup_retention
from ansible_collections.prodready.platform.plugins.module_utils._integrity import common as integrity_common
from ansible_collections.prodready.platform.plugins.module_utils._integrity import compare as integrity_compare
from ansible_collections.prodready.platform.plugins.module_utils._integrity import dpkg as integrity_dpkg
from ansible_collections.prodready.platform.plugins.module_utils._integrity import manifest as integrity_manifest
from ansible_collections.prodready.platform.plugins.module_utils._integrity import notify as integrity_notify
from ansible_collections.prodready.platform.plugins.module_utils._integrity import offhost as integrity_offhost
from ansible_collections.prodready.platform.plugins.module_utils._integrity import pathrules as integrity_pathrules
from ansible_collections.prodready.platform.plugins.module_utils._integrity import results as integrity_results
from ansible_collections.prodready.platform.plugins.module_utils._integrity import scan as integrity_scan
from ansible_collections.prodready.platform.plugins.module_utils._integrity import signing as integrity_signing
from ansible_collections.prodready.platform.plugins.module_utils._integrity import verify as integrity_verify
from ansible_collections.prodready.platform.plugins.module_utils._logs import shipping as logs_shipping
from ansible_collections.prodready.platform.plugins.module_utils._postgresql import pgbackrest as postgresql_pgbackrest

SHIPPABLE = {
    "textfile": textfile,
    "_backup.record": backup_record,
    "_backup.retention": backup_retention,
    "_integrity.common": integrity_common,
    "_integrity.compare": integrity_compare,
    "_integrity.dpkg": integrity_dpkg,
    "_integrity.manifest": integrity_manifest,
    "_integrity.notify": integrity_notify,
    "_integrity.offhost": integrity_offhost,
    "_integrity.pathrules": integrity_pathrules,
    "_integrity.results": integrity_results,
    "_integrity.scan": integrity_scan,
    "_integrity.signing": integrity_signing,
    "_integrity.verify": integrity_verify,
    "_logs.shipping": logs_shipping,
    "_postgresql.pgbackrest": postgresql_pgbackrest,
}

PACKAGE_PATH = ("ansible_collections", "prodready", "platform", "plugins", "module_utils")


def module_source(module):
    """The source text of an imported module, from its loader (a zip inside the module payload) or its file."""
    loader = getattr(module, "__loader__", None)
    source = None
    if loader is not None and hasattr(loader, "get_source"):
        source = loader.get_source(module.__name__)
    if source is None:
        with open(module.__file__, "rb") as handle:
            source = handle.read()
    return to_text(source)


def wanted_files(dest, names):
    """Path -> text of every file the library needs under dest, __init__.py files included."""
    files = {}
    root = os.path.join(dest, *PACKAGE_PATH)
    for depth in range(1, len(PACKAGE_PATH) + 1):
        files[os.path.join(dest, *(PACKAGE_PATH[:depth] + ("__init__.py",)))] = u""
    for name in names:
        parts = name.split(".")
        for depth in range(1, len(parts)):
            files[os.path.join(root, *(parts[:depth] + ["__init__.py"]))] = u""
        files[os.path.join(root, *parts) + ".py"] = module_source(SHIPPABLE[name])
    return files


def stale_files(dest, wanted):
    root = os.path.join(dest, *PACKAGE_PATH)
    stale = []
    if not os.path.isdir(root):
        return stale
    for directory, subdirs, filenames in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        for filename in sorted(filenames):
            path = os.path.join(directory, filename)
            if filename.endswith(".py") and path not in wanted:
                stale.append(path)
    return stale


def read_text(path):
    try:
        with open(path, "rb") as handle:
            return to_text(handle.read(), errors="surrogate_or_strict")
    except (IOError, OSError):
        return None


def write_file(path, text):
    directory = os.path.dirname(path)
    missing = []
    while not os.path.isdir(directory):
        missing.append(directory)
        directory = os.path.dirname(directory)
    for directory in reversed(missing):
        os.mkdir(directory, 0o755)
        os.chmod(directory, 0o755)
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".prodready-")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(to_bytes(text))
        os.chmod(temporary, 0o644)
        os.rename(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type="path", required=True),
            modules=dict(type="list", elements="str", required=True),
        ),
        supports_check_mode=True,
    )
    dest = module.params["dest"]
    names = module.params["modules"]
    if not os.path.isabs(dest):
        module.fail_json(msg="dest must be an absolute path, got %r" % dest)
    unknown = sorted(set(name for name in names if name not in SHIPPABLE))
    if unknown:
        module.fail_json(msg="not shippable: %s (shippable: %s; add an import and a SHIPPABLE entry in "
                             "plugins/modules/python_library.py)" % (", ".join(unknown), ", ".join(sorted(SHIPPABLE))))

    wanted = wanted_files(dest, names)
    written = []
    diffs = []
    for path in sorted(wanted):
        current = read_text(path)
        mode_ok = current is not None and (os.stat(path).st_mode & 0o7777) == 0o644
        if current == wanted[path] and mode_ok:
            continue
        written.append(path)
        diffs.append(dict(before_header=path, after_header=path, before=current or u"", after=wanted[path]))
    removed = stale_files(dest, wanted)
    for path in removed:
        diffs.append(dict(before_header=path, after_header="(removed)", before=read_text(path) or u"", after=u""))

    result = dict(changed=bool(written or removed), written=written, removed=removed)
    if module._diff:
        result["diff"] = diffs
    if not module.check_mode:
        try:
            for path in written:
                write_file(path, wanted[path])
            for path in removed:
                os.unlink(path)
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot install the library under %s: %s" % (dest, to_native(exc)), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
