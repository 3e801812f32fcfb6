# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the compliance catalog files on the controller, then run the compliance_audit module.

The role's catalog is 14 YAML files, 72 KB, 149 controls. Passed as a templated argument
(`query('file', ...) | map('from_yaml')`), every host parsed it with Ansible's YAML loader and
templating walked every value of it before the module ran: about 0.2 s of controller CPU per host
and run. Here each worker reads the files with PyYAML's safe loader (the C one when present) and
hands the controls to the module as they are; nothing in them is templated (the catalog's
placeholders are ${name}, filled in by the module from O(parameters)).

With C(cis_reference) (the role's C(files/cis/debian12.yml)) the action reads the CIS benchmark's
recommendation ids and passes them as C(cis_ids): a control citing an id the benchmark does not
have fails the audit before anything is evaluated.

The module's invocation is not logged on the host (ansible_no_target_syslog, unless the play sets
it): AnsibleModule writes every argument to the journal, here the whole catalog, tens of KB on
every run of every host. The audit's own report and metrics record what was checked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase

import yaml

try:
    _SafeLoader = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _SafeLoader = yaml.SafeLoader

MODULE = "prodready.platform.compliance_audit"
CIS_BENCHMARK = "CIS Debian Linux 12 Benchmark v1.1.0"


def _load_yaml(path, what):
    try:
        with open(path, "rb") as handle:
            return yaml.load(handle, Loader=_SafeLoader)  # nosec B506 - a safe loader
    except (OSError, yaml.YAMLError) as exc:
        raise AnsibleActionFail("cannot read the %s %s: %s" % (what, path, to_native(exc)))


def load_catalog_file(path):
    """The controls of one catalog file: a mapping whose C(controls) is a list of mappings."""
    document = _load_yaml(path, "compliance catalog file")
    controls = document.get("controls") if isinstance(document, dict) else None
    if not isinstance(controls, list) or not all(isinstance(control, dict) for control in controls):
        raise AnsibleActionFail("the compliance catalog file %s must be a mapping with a list of controls under 'controls'" % path)
    return controls


def load_cis_reference(path):
    """The recommendation ids of a CIS benchmark reference file (``benchmark``, ``recommendations: [{id, ...}]``)."""
    document = _load_yaml(path, "CIS benchmark reference")
    recommendations = document.get("recommendations") if isinstance(document, dict) else None
    if not isinstance(recommendations, list) or not recommendations \
            or not all(isinstance(r, dict) and isinstance(r.get("id"), str) and r["id"] for r in recommendations):
        raise AnsibleActionFail("the CIS benchmark reference %s must be a mapping with a non-empty list "
                                "'recommendations' of {id, title, ...} (ids as strings)" % path)
    if document.get("benchmark") != CIS_BENCHMARK:
        raise AnsibleActionFail("the CIS benchmark reference %s is for %r; the catalog's cis_debian12 ids cite %r"
                                % (path, document.get("benchmark"), CIS_BENCHMARK))
    return sorted(set(r["id"] for r in recommendations))


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        module_args = dict(self._task.args)
        files = module_args.pop("catalog_files", None) or []
        if not isinstance(files, list) or not all(isinstance(path, str) for path in files):
            raise AnsibleActionFail("catalog_files must be a list of file paths")
        if files:
            controls = []
            for path in files:
                try:
                    # The role's files/ directory first for a relative path, as the copy action searches.
                    found = self._find_needle("files", path)
                except AnsibleFileNotFound as exc:
                    raise AnsibleActionFail("compliance catalog file not found: %s" % to_native(exc))
                # each control names its file in catalog errors ("control SSH-001 (ssh.yml): ...")
                source = os.path.basename(found)
                controls.extend(dict(control, source=control.get("source") or source) for control in load_catalog_file(found))
            # The files' controls first, then the ones given inline (compliance_catalog_extra_controls).
            module_args["catalog"] = controls + list(module_args.get("catalog") or [])
        reference = module_args.pop("cis_reference", None)
        if reference:
            try:
                found = self._find_needle("files", reference)
            except AnsibleFileNotFound as exc:
                raise AnsibleActionFail("the CIS benchmark reference (cis_reference) was not found: %s; the catalog's "
                                        "cis_debian12 ids are validated against it" % to_native(exc))
            module_args["cis_ids"] = load_cis_reference(found)
        if "ansible_no_target_syslog" not in (task_vars or {}):
            task_vars = dict(task_vars or {}, ansible_no_target_syslog=True)
        result.update(self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars))
        return result
