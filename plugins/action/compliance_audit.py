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

The module's invocation is not logged on the host (ansible_no_target_syslog, unless the play sets
it): AnsibleModule writes every argument to the journal, here the whole catalog, tens of KB on
every run of every host. The audit's own report and metrics record what was checked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase

import yaml

try:
    _SafeLoader = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _SafeLoader = yaml.SafeLoader

MODULE = "prodready.platform.compliance_audit"


def load_catalog_file(path):
    """The controls of one catalog file: a mapping whose C(controls) is a list of mappings."""
    try:
        with open(path, "rb") as handle:
            document = yaml.load(handle, Loader=_SafeLoader)  # nosec B506 - a safe loader
    except (OSError, yaml.YAMLError) as exc:
        raise AnsibleActionFail("cannot read the compliance catalog file %s: %s" % (path, to_native(exc)))
    controls = document.get("controls") if isinstance(document, dict) else None
    if not isinstance(controls, list) or not all(isinstance(control, dict) for control in controls):
        raise AnsibleActionFail("the compliance catalog file %s must be a mapping with a list of controls under 'controls'" % path)
    return controls


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
                controls.extend(load_catalog_file(found))
            # The files' controls first, then the ones given inline (compliance_catalog_extra_controls).
            module_args["catalog"] = controls + list(module_args.get("catalog") or [])
        if "ansible_no_target_syslog" not in (task_vars or {}):
            task_vars = dict(task_vars or {}, ansible_no_target_syslog=True)
        result.update(self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars))
        return result
