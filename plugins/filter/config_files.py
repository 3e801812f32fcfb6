# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: which items of a prodready.platform.config_files list differ from what a probe read."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: config_files_pending
short_description: The items of a config_files list that differ from the state a probe read
version_added: 1.1.0
description:
  - "Compares the items of a M(prodready.platform.config_files) list with the observed state of their
    paths and returns the paths that differ, in order. A role reads its files once (type, mode, owner,
    group and SHA-1 of the content: the probe of the hardening role does) and runs each config_files task
    only when this list is not empty, so a converged host skips the module runs."
  - "The comparison is the module's own (C(item_differences) of the collection's C(module_utils/config_files.py),
    which the module calls on the host): content as UTF-8 bytes, modes read like the module's O(files[].mode)
    (default 0644 for files, 0755 for directories), ownership not compared when O(files[].manage_ownership) is
    false. The one difference is that the controller compares owner and group by name or numeric id, where the
    module compares the ids the names resolve to on the host. A path missing from the observed state counts as
    different, so the module runs and decides."
options:
  _input:
    description: The O(files) list of a config_files task.
    type: list
    elements: dict
    required: true
  observed:
    description:
      - "Path to state: C(type) (file, directory, absent or other), C(mode) (octal text), C(uid), C(gid),
        C(owner), C(group) and for files C(sha1), or C(hmac) for a secret file a probe read with a key."
    type: dict
    required: true
  key:
    description:
      - "The key the C(hmac) of secret files is compared under (the content of the set's key file). A file
        observed with an C(hmac) differs when no key is given or the HMAC of its wanted content under the
        key is not the observed one."
    type: str
"""

EXAMPLES = r"""
- name: Write a secret file set (skipped when the probe's keyed digests match)
  prodready.platform.config_files:
    files: "{{ secret_files }}"
  no_log: true
  when: secret_files | prodready.platform.config_files_pending(probe['secret_states'], key=state_key) | length > 0

- name: Write the sysctl settings (skipped when the probe found them converged)
  prodready.platform.config_files:
    files: "{{ sysctl_files }}"
  when: sysctl_files | prodready.platform.config_files_pending(probe['files']) | length > 0
"""

RETURN = r"""
_value:
  description: The paths of the items that differ (or were not read), in the order given.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common._collections_compat import Mapping
from ansible_collections.prodready.platform.plugins.module_utils.config_files import item_differences


def config_files_pending(files, observed, key=None):
    if not isinstance(observed, Mapping):
        raise AnsibleFilterError("config_files_pending: observed must be a dict of path to state, got %s" % type(observed).__name__)
    if not isinstance(files, (list, tuple)):
        raise AnsibleFilterError("config_files_pending expects the files list of a config_files task")
    pending = []
    for item in files:
        if not isinstance(item, Mapping) or not item.get("path"):
            raise AnsibleFilterError("config_files_pending: every item needs a path, got %r" % (item,))
        if item_differences(item, observed.get(item["path"]), key=key):
            pending.append(item["path"])
    return pending


class FilterModule(object):
    def filters(self):
        return {"config_files_pending": config_files_pending}
