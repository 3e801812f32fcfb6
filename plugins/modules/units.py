#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: units
short_description: Bring several systemd units to their wanted state in one module run
version_added: "1.2.0"
description:
  - Reads the state of every listed unit with one C(systemctl show), decides per unit what differs
    (enabled at boot, running, masked) and acts with one batched C(systemctl) call per verb
    (C(unmask), C(disable), C(enable), C(stop), C(mask), C(start), in that order). A role's units cost
    one module run, where M(ansible.builtin.systemd_service) costs one per unit.
  - A unit whose C(UnitFileState) is C(static), C(generated), C(indirect), C(alias), C(transient) or
    C(enabled-runtime) counts as enabled, as for C(systemctl is-enabled); C(activating) and
    C(reloading) count as running.
  - Restarts and reloads are not this module's business. Notify a handler
    (M(ansible.builtin.systemd_service) with O(ansible.builtin.systemd_service#module:state=restarted))
    after the configuration was validated.
author: prodready.platform maintainers (@prodready)
options:
  units:
    description: The units and their wanted state. An option left out is left as it is.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Full unit name, for example V(auditd.service) or V(backup.timer).
        type: str
        required: true
      enabled:
        description: Whether the unit starts at boot.
        type: bool
      state:
        description: V(started) starts a unit that is not running; V(stopped) stops one that is.
        type: str
        choices: [started, stopped]
      masked:
        description:
          - V(true) stops the unit (unless O(units[].state=started), which is refused) and masks it;
            V(false) unmasks a masked unit before the other changes.
        type: bool
      missing_ok:
        description:
          - Skip the unit when systemd does not know it (C(LoadState=not-found)), instead of failing.
            Masking never needs the unit to exist.
        type: bool
        default: false
  daemon_reload:
    description:
      - Run C(systemctl daemon-reload) before reading the units, for unit files changed earlier in the
        same run. Not reported as a change (it changes no unit's state); skipped in check mode.
    type: bool
    default: false
notes:
  - Supports check mode (reports what it would do) and diff mode (each changed unit's state before and
    after).
"""

EXAMPLES = r"""
- name: Enable and start the hardening services, mask the debug shell
  prodready.platform.units:
    units:
      - {name: auditd.service, enabled: true, state: started}
      - {name: nftables.service, enabled: true, state: started}
      - {name: debug-shell.service, masked: true}
      - {name: dailyaidecheck.timer, enabled: true, state: started, missing_ok: true}

- name: Start the timers whose unit files were just written
  prodready.platform.units:
    daemon_reload: "{{ unit_files.changed }}"
    units:
      - {name: backup.timer, enabled: true, state: started}
      - {name: restore-test.timer, enabled: true, state: started}
"""

RETURN = r"""
units:
  description: Per unit, its state before and after (predicted in check mode) and the verbs applied.
  returned: always
  type: dict
  sample:
    auditd.service:
      before: {load_state: loaded, unit_file_state: disabled, active_state: inactive}
      after: {load_state: loaded, unit_file_state: enabled, active_state: active}
      actions: [enable, start]
skipped_missing:
  description: Units skipped because systemd does not know them (O(units[].missing_ok)).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.prodready.platform.plugins.module_utils._systemd.units import (
    ACTION_ORDER,
    SHOW_PROPERTIES,
    is_masked,
    is_missing,
    parse_show,
    plan_actions,
    summary,
    validate_want,
)


def show(module, systemctl, names):
    argv = [systemctl, "show", "--property=" + ",".join(SHOW_PROPERTIES), "--"] + list(names)
    rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg="systemctl show failed: %s" % (err or out).strip(), rc=rc)
    blocks = parse_show(out)
    if len(blocks) != len(names):
        module.fail_json(msg="systemctl show answered for %d units, %d were asked" % (len(blocks), len(names)),
                         stdout=out)
    return dict(zip(names, blocks))


def diff_text(name, state):
    return "%s: %s\n" % (name, ", ".join("%s=%s" % item for item in sorted(summary(state).items())))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            units=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                enabled=dict(type="bool"),
                state=dict(type="str", choices=["started", "stopped"]),
                masked=dict(type="bool"),
                missing_ok=dict(type="bool", default=False),
            )),
            daemon_reload=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    wants = module.params["units"]
    problems = []
    names = []
    for want in wants:
        problems.extend(validate_want(want))
        if want["name"] in names:
            problems.append("%s is listed twice" % want["name"])
        names.append(want["name"])
    if problems:
        module.fail_json(msg="; ".join(problems))

    systemctl = module.get_bin_path("systemctl", required=True)
    if module.params["daemon_reload"] and not module.check_mode:
        rc, out, err = module.run_command([systemctl, "daemon-reload"])
        if rc != 0:
            module.fail_json(msg="systemctl daemon-reload failed: %s" % (err or out).strip(), rc=rc)

    result = dict(changed=False, units={}, skipped_missing=[])
    if not wants:
        module.exit_json(**result)
    before = show(module, systemctl, names)
    batches = dict((verb, []) for verb in ACTION_ORDER)
    predicted = {}
    for want in wants:
        name = want["name"]
        state = before[name]
        if is_missing(state) and not want.get("masked"):
            if want["missing_ok"]:
                result["skipped_missing"].append(name)
                continue
            problems.append("%s: systemd does not know this unit (LoadState=not-found)" % name)
            continue
        if is_masked(state) and want.get("masked") is None and (want.get("enabled") or want.get("state") == "started"):
            problems.append("%s is masked: set masked: false to unmask it" % name)
            continue
        actions, after = plan_actions(want, state)
        predicted[name] = after
        for verb in actions:
            batches[verb].append(name)
        result["units"][name] = dict(before=summary(state), after=summary(after), actions=actions)
    if problems:
        module.fail_json(msg="; ".join(problems), **result)

    changed_names = [name for name, entry in result["units"].items() if entry["actions"]]
    result["changed"] = bool(changed_names)
    if module._diff and changed_names:
        result["diff"] = dict(
            before="".join(diff_text(name, before[name]) for name in changed_names),
            after="".join(diff_text(name, predicted[name]) for name in changed_names),
        )
    if module.check_mode or not changed_names:
        module.exit_json(**result)

    for verb in ACTION_ORDER:
        if not batches[verb]:
            continue
        rc, out, err = module.run_command([systemctl, verb, "--"] + batches[verb])
        if rc != 0:
            module.fail_json(msg="systemctl %s %s failed: %s" % (verb, " ".join(batches[verb]), (err or out).strip()),
                             rc=rc, **result)
    actual = show(module, systemctl, changed_names)
    for name in changed_names:
        result["units"][name]["after"] = summary(actual[name])
    if module._diff:
        result["diff"]["after"] = "".join(diff_text(name, actual[name]) for name in changed_names)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
