# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check types that judge effective configuration: sshd_setting (sshd -T, Match contexts), sysctl
(persisted + live), apt_config (apt-config dump), sudoers (includes followed), kernel_module (modprobe.d
as kmod reads it + live)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.prodready.platform.plugins.module_utils._compliance.common import CatalogError, as_list, require
from ansible_collections.prodready.platform.plugins.module_utils._compliance.compare import compare, validate_comparator
from ansible_collections.prodready.platform.plugins.module_utils._compliance.parsers import nopasswd_all


# sshd_setting: the effective value from `sshd -T` (sshd_config with its Include files), and with
# `contexts` also for each listed connection (`sshd -T -C user=,host=,addr=`: the Match blocks that
# apply to it), so a Match block that weakens a setting for some clients fails the control too.
SSHD_CONTEXT_KEYS = ("user", "host", "addr", "laddr", "lport", "rdomain")
SSHD_CONTEXT_REQUIRED = ("user", "host", "addr")


def _validate_sshd(check, where):
    require(check, where, "key", "expect")
    validate_comparator(check["expect"], where)
    contexts = check.get("contexts", [])
    if not isinstance(contexts, list):
        raise CatalogError("%s: sshd_setting 'contexts' must be a list of connections {user, host, addr}" % where)
    for context in contexts:
        if not isinstance(context, dict) or any(k not in SSHD_CONTEXT_KEYS for k in context) \
                or any(not context.get(k) for k in SSHD_CONTEXT_REQUIRED):
            raise CatalogError("%s: each sshd_setting context needs %s (optional %s), got %r"
                               % (where, ", ".join(SSHD_CONTEXT_REQUIRED), ", ".join(SSHD_CONTEXT_KEYS[3:]), context))
        for value in context.values():
            if not isinstance(value, (str, int)) or any(c in str(value) for c in ", \t\n="):
                raise CatalogError("%s: sshd_setting context value %r must be one word (no comma, space or '=')"
                                   % (where, value))


def _sshd_value(settings, key):
    values = settings.get(key)
    return None if values is None else " ".join(values)


def _eval_sshd(check, probe):
    key = str(check["key"]).lower()
    value = _sshd_value(probe.sshd(), key)
    ok, why = compare(value, check["expect"])
    evidence = ["sshd -T: %s %s (%s)" % (key, "unset" if value is None else value, why)]
    contexts = check.get("contexts") or []
    for context in contexts:
        spec = ",".join("%s=%s" % (k, context[k]) for k in sorted(context))
        matched = _sshd_value(probe.sshd(context), key)
        if matched == value:
            continue
        good, matched_why = compare(matched, check["expect"])
        ok = ok and good
        evidence.append("Match for %s: %s %s (%s)" % (spec, key, "unset" if matched is None else matched, matched_why))
    if contexts and len(evidence) == 1:
        evidence.append("same for %d Match context(s)" % len(contexts))
    return ok, "; ".join(evidence)


# sysctl: persistent value (sysctl.d + sysctl.conf) and, outside containers, the live one
def _validate_sysctl(check, where):
    require(check, where, "key", "expect")
    validate_comparator(check["expect"], where)


def _eval_sysctl(check, probe):
    key = str(check["key"]).replace("/", ".")
    assignments = probe.sysctl_persistent().get(key) or []
    persistent = assignments[-1] if assignments else None
    ok, why = compare(persistent[0] if persistent else None, check["expect"])
    evidence = ["persistent %s = %s (%s)" % (key, persistent[0], persistent[1]) if persistent
                else "%s not set in sysctl.d/sysctl.conf" % key]
    if not ok and persistent:
        evidence[0] += ": " + why
    # Name the assignments the winning one overrides: the usual finding is a compliant file the
    # operator reads and a later drop-in that silently wins over it.
    overridden = ["%s at %s" % (value, where) for value, where in assignments[:-1]]
    if overridden:
        evidence.append("overrides " + ", ".join(overridden))
    if probe.check_live_sysctl():
        live = probe.sysctl_live(key)
        live_ok, live_why = compare(live, check["expect"])
        evidence.append("live %s = %s%s" % (key, live, "" if live_ok else ": " + live_why))
        ok = ok and live_ok
    else:
        evidence.append("live value not checked (container: /proc/sys belongs to the host)")
    return ok, "; ".join(evidence)


# apt_config: the effective value from `apt-config dump` (a later apt.conf.d file wins)
def _validate_apt_config(check, where):
    require(check, where, "key", "expect")
    validate_comparator(check["expect"], where)


def _eval_apt_config(check, probe):
    key = str(check["key"])
    value = probe.apt_config().get(key)
    ok, why = compare(value, check["expect"])
    return ok, "apt-config dump: %s %s (%s)" % (key, "unset" if value is None else '"%s"' % value, why)


# sudoers: /etc/sudoers with its includes as sudo reads them; one Defaults setting, or no NOPASSWD ALL
SUDOERS_FORBID = ("nopasswd_all",)


def _validate_sudoers(check, where):
    if ("setting" in check) == ("forbid" in check):
        raise CatalogError("%s: sudoers check needs one of 'setting' (with 'expect') or 'forbid'" % where)
    if "setting" in check:
        require(check, where, "setting", "expect")
        validate_comparator(check["expect"], where)
    elif check["forbid"] not in SUDOERS_FORBID:
        raise CatalogError("%s: sudoers 'forbid' must be one of %s" % (where, ", ".join(SUDOERS_FORBID)))


def _eval_sudoers(check, probe):
    entries = probe.sudoers()
    if "forbid" in check:
        allow = [str(a) for a in as_list(check.get("allow"))]
        offenders = ["%s (%s)" % (rule, where) for kind, rule, where in entries
                     if kind == "rule" and nopasswd_all(rule) and rule.split()[0] not in allow]
        if offenders:
            return False, "NOPASSWD ALL: " + "; ".join(offenders)
        return True, "no rule grants ALL without a password (%d rules read)" % sum(1 for e in entries if e[0] == "rule")
    name = str(check["setting"])
    generic, scoped = [], []
    for kind, payload, where in entries:
        if kind != "defaults":
            continue
        scope, settings = payload
        for key, value in settings:
            if key == name:
                (scoped if scope else generic).append((value, where, scope))
    effective = generic[-1] if generic else None
    ok, why = compare(effective[0] if effective else None, check["expect"])
    evidence = ["Defaults %s = %s at %s%s" % (name, effective[0], effective[1], "" if ok else ": " + why)
                if effective else "Defaults %s not set (%s)" % (name, why)]
    if len(generic) > 1:
        evidence.append("overrides " + ", ".join("%s at %s" % (v, w) for v, w, unused_scope in generic[:-1]))
    # Defaults:alice !use_pty weakens the setting for alice alone: it fails the control as well.
    for value, where, scope in scoped:
        good, scoped_why = compare(value, check["expect"])
        ok = ok and good
        evidence.append("Defaults%s %s = %s at %s%s" % (scope, name, value, where, "" if good else ": " + scoped_why))
    return ok, "; ".join(evidence)


# kernel_module: a module cannot be loaded — its effective install command (the first one kmod reads
# across modprobe.d, an earlier-sorting drop-in wins) runs /bin/false or /bin/true, optionally it is
# blacklisted, and outside containers it is not loaded now.
_DISABLED_INSTALL_RE = re.compile(r"^/(usr/)?bin/(true|false)\b")


def _validate_kernel_module(check, where):
    require(check, where, "module")
    if "blacklisted" in check and not isinstance(check["blacklisted"], bool):
        raise CatalogError("%s: kernel_module 'blacklisted' must be true or false" % where)


def _eval_kernel_module(check, probe):
    module = str(check["module"]).replace("-", "_")
    config = probe.modprobe()
    install = config["install"].get(module)
    ok = bool(install and _DISABLED_INSTALL_RE.match(install[0]))
    evidence = ["install %s %s (%s)" % (module, install[0], install[1]) if install
                else "no install command for %s in modprobe.d" % module]
    if install and not ok:
        evidence[0] += ": must be /bin/false or /bin/true (the first install line kmod reads wins)"
    if check.get("blacklisted"):
        where = config["blacklist"].get(module)
        ok = ok and bool(where)
        evidence.append("blacklisted at %s" % where if where else "not blacklisted")
    if probe.check_live_sysctl():
        loaded = module in probe.loaded_modules()
        ok = ok and not loaded
        evidence.append("loaded now" if loaded else "not loaded")
    return ok, "; ".join(evidence)


CHECK_TYPES = {
    "sshd_setting": (_validate_sshd, _eval_sshd),
    "sysctl": (_validate_sysctl, _eval_sysctl),
    "apt_config": (_validate_apt_config, _eval_apt_config),
    "sudoers": (_validate_sudoers, _eval_sudoers),
    "kernel_module": (_validate_kernel_module, _eval_kernel_module),
}
