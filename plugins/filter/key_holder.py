# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a signing key may live: the one decision every role with a CA makes before any change.

A CA key signs certificates for any name: root on the host that holds it can impersonate every
server or client the CA vouches for. The roles keep such keys on the controller, or on an
inventory host whose own variables say it is trusted with them (a dedicated CA host, an AWX
delegate), never on a host the play guards without that decision.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: trusted_key_holder
short_description: Whether a host may hold a CA's private key
version_added: 1.0.0
description:
  - True for the controller, named C(localhost), C(127.0.0.1) or C(::1), or an inventory host whose
    C(ansible_connection) is C(local).
  - True for any other inventory host only if its own inventory variables set O(flag) to a true value
    (read from that host's variables, not from the host the role runs on).
  - False otherwise, including for a name that is not in the inventory.
positional: _input, hostvars, flag
options:
  _input:
    description: The host name the role delegates the CA tasks to.
    type: str
    required: true
  hostvars:
    description: The play's C(hostvars).
    type: raw
    required: true
  flag:
    description: The variable that marks a host trusted with this key, e.g. C(tls_internal_ca_trusted).
    type: str
    required: true
author: prodready.platform maintainers (@prodready)
"""

EXAMPLES = r"""
- name: Check the CA stays on the controller or a host the inventory marks trusted
  ansible.builtin.assert:
    that:
      - tls_internal_ca_host | prodready.platform.trusted_key_holder(hostvars, 'tls_internal_ca_trusted')
    fail_msg: tls_internal_ca_host must be the controller or a host with tls_internal_ca_trusted=true
"""

RETURN = r"""
_value:
  description: Whether the host may hold the key.
  type: bool
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

CONTROLLER_NAMES = frozenset(("localhost", "127.0.0.1", "::1"))


def trusted_key_holder(host, hostvars, flag):
    """True when ``host`` is the controller or its own variables set ``flag`` true."""
    if not isinstance(host, str) or not host:
        raise AnsibleFilterError("trusted_key_holder: expects a host name, got %r" % (host,))
    if not isinstance(flag, str) or not flag:
        raise AnsibleFilterError("trusted_key_holder: expects the name of the trust flag, got %r" % (flag,))
    if host in CONTROLLER_NAMES:
        return True
    if host not in hostvars:
        return False
    variables = hostvars[host]
    if variables.get("ansible_connection") == "local":
        return True
    try:
        return boolean(variables.get(flag, False), strict=True)
    except TypeError as error:
        raise AnsibleFilterError("trusted_key_holder: %s on %s is not a boolean: %s" % (flag, host, error))


class FilterModule(object):
    """Key custody filters."""

    def filters(self):
        return {"trusted_key_holder": trusted_key_holder}
