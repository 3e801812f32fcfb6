# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that read the state of systemd units from one `systemctl show` call.

Roles ask systemd once for every unit they manage and run a systemd_service task only for units in
the wrong state: on a converged host that is one command instead of one module run per unit.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: systemd_units
short_description: Parse the output of C(systemctl show) for several units
version_added: 0.1.0
description:
  - "C(systemd_units) turns the output of C(systemctl show --property=Id,UnitFileState,ActiveState -- UNIT...)
    into a dict keyed by unit name (the C(Id) property), each value the dict of the properties read.
    Blocks without an C(Id) are ignored; a unit systemd does not know still has a block
    (C(LoadState=not-found), empty C(UnitFileState), C(ActiveState=inactive))."
  - "C(systemd_units_pending) takes that dict and returns, sorted, the units not yet in the wanted state:
    C(want=enabled) lists units whose C(UnitFileState) is not one that starts them at boot
    (those for which C(systemctl is-enabled) exits 0: C(enabled), C(enabled-runtime), C(static), C(generated),
    C(alias), C(indirect), C(transient)); C(want=active) lists units whose C(ActiveState) is not
    C(active) (C(activating) and C(reloading) count as active); C(want=disabled) and C(want=inactive)
    the opposite."
options:
  _input:
    description: The stdout of C(systemctl show) with the C(Id) property among those asked for.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Read whether the timers are enabled and running
  ansible.builtin.command:
    argv: [systemctl, show, "--property=Id,UnitFileState,ActiveState", --, backup.timer, restore-test.timer]
  register: unit_state
  changed_when: false
  check_mode: false

- name: Enable the timers that are not
  ansible.builtin.systemd_service:
    name: "{{ item }}"
    enabled: true
  loop: "{{ unit_state.stdout | prodready.platform.systemd_units | prodready.platform.systemd_units_pending('enabled') }}"
"""

RETURN = r"""
_value:
  description: "C(systemd_units): a dict of unit name to its properties. C(systemd_units_pending): a list of unit names."
  type: raw
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types

from ansible_collections.prodready.platform.plugins.module_utils._systemd.units import ACTIVE_STATES, ENABLED_STATES, parse_show

WANTS = ("enabled", "disabled", "active", "inactive")


def systemd_units(text):
    if text is None:
        return {}
    if not isinstance(text, string_types):
        raise AnsibleFilterError("systemd_units expects the text output of systemctl show, got %s" % type(text).__name__)
    # systemctl separates units with an empty line; the Id property names each block.
    return dict((block["Id"], block) for block in parse_show(to_text(text)) if block.get("Id"))


def systemd_units_pending(units, want):
    if want not in WANTS:
        raise AnsibleFilterError("systemd_units_pending: want must be one of %s, got %r" % (", ".join(WANTS), want))
    if not isinstance(units, dict):
        raise AnsibleFilterError("systemd_units_pending expects the dict systemd_units returns")
    pending = []
    for name, properties in units.items():
        if want in ("enabled", "disabled"):
            is_on = properties.get("UnitFileState", "") in ENABLED_STATES
        else:
            is_on = properties.get("ActiveState", "") in ACTIVE_STATES
        if is_on != (want in ("enabled", "active")):
            pending.append(name)
    return sorted(pending)


class FilterModule(object):
    def filters(self):
        return {
            "systemd_units": systemd_units,
            "systemd_units_pending": systemd_units_pending,
        }
