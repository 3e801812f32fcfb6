"""Unit tests for the compliance check engine (plugins/module_utils/_compliance/).

Host state is a fake file tree under tmp_path (Probe(root=...)) and a fake command runner, so
every check type is evaluated for real without touching this machine.
"""
import datetime
import os
import socket
import subprocess
import time

import pytest
from hypothesis import given, strategies as st

from ansible_collections.prodready.platform.plugins.module_utils._compliance import audit as engine
from ansible_collections.prodready.platform.plugins.module_utils._compliance import catalog
from ansible_collections.prodready.platform.plugins.module_utils._compliance import common
from ansible_collections.prodready.platform.plugins.module_utils._compliance import compare as comparisons
from ansible_collections.prodready.platform.plugins.module_utils._compliance import parsers
from ansible_collections.prodready.platform.plugins.module_utils._compliance import probe as host_probe

FW = {"gdpr": ["Art. 32"], "soc2": ["CC6.1"]}


def control(cid="T-001", check=None, severity="high", **extra):
    entry = {"id": cid, "title": "title " + cid, "rationale": "why " + cid, "severity": severity,
             "check": check or {"type": "file", "path": "/etc/x"}, "frameworks": dict(FW)}
    entry.update(extra)
    return entry


class FakeRunner(object):
    """Answers commands from a dict keyed by argv[0:2]; records every call."""

    def __init__(self, answers=None):
        self.answers = answers or {}
        self.calls = []

    def __call__(self, argv, timeout, env=None):
        self.calls.append(list(argv))
        for key, answer in self.answers.items():
            if tuple(argv[:len(key)]) == key:
                if isinstance(answer, Exception):
                    raise answer
                return answer(argv) if callable(answer) else answer
        return 127, "", "%s: not found" % argv[0]


def write(root, path, text="", mode=0o644):
    full = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as handle:
        handle.write(text)
    os.chmod(full, mode)
    return full


def audit(tmp_path, controls, runner=None, **kwargs):
    probe = host_probe.Probe(runner=runner or FakeRunner(), root=str(tmp_path), textfile_dir="/metrics",
                             live_sysctl=kwargs.pop("live_sysctl", "never"), now=kwargs.pop("now", None))
    return engine.run_audit(controls, probe=probe, **kwargs)


def status(result, cid="T-001"):
    return [r for r in result["controls"] if r["id"] == cid][0]


# ----------------------------------------------------------------------------- validation

@pytest.mark.parametrize("mutate, message", [
    (lambda e: e["check"].update(type="bogus"), "control T-001: unknown check type 'bogus'"),
    (lambda e: e.update(severity="urgent"), "control T-001: 'severity' must be one of"),
    (lambda e: e.update(frameworks={"hipaa": ["x"]}), "control T-001: unknown framework 'hipaa'"),
    (lambda e: e.update(frameworks={}), "control T-001: 'frameworks' must map"),
    (lambda e: e.pop("title"), "control T-001: 'title' is required"),
    (lambda e: e.update(colour="red"), "control T-001: unknown key(s) colour"),
    (lambda e: e.update(applies_when=[{"kernel": "6"}]), "control T-001: unknown applies_when condition 'kernel'"),
    (lambda e: e.update(check={"type": "sshd_setting", "key": "x", "expect": {"approx": 1}}), "unknown comparison 'approx'"),
    (lambda e: e.update(check={"type": "file", "path": "/x", "mode_max": "rwx"}), "octal mode"),
    (lambda e: e.update(check={"type": "command", "argv": "ls -l"}), "must be a list of strings (no shell)"),
    (lambda e: e.update(check={"type": "tls_endpoint", "port": 443, "refuse": ["SSLv2"]}), "unknown TLS version 'SSLv2'"),
    (lambda e: e.update(check={"type": "file_content", "paths": ["/x"], "pattern": "("}), "not a valid regex"),
    (lambda e: e.update(check={"type": "metric", "name": "m"}), "needs 'expect', 'max_age_seconds'"),
    (lambda e: e.update(check={"type": "service", "unit": "x"}), "needs 'enabled' and/or 'active'"),
    (lambda e: e.update(check={"type": "sysctl", "key": "a.b", "expect": {"equals": "${nope}"}}), "unknown parameter ${nope}"),
    (lambda e: e.update(id="bad id"), "'id' must match"),
])
def test_bad_catalog_entries_name_the_entry(mutate, message):
    entry = control()
    mutate(entry)
    with pytest.raises(common.CatalogError) as err:
        catalog.validate_catalog([entry])
    assert message in str(err.value)


def test_duplicate_ids_rejected():
    with pytest.raises(common.CatalogError, match="control T-001: duplicate id"):
        catalog.validate_catalog([control(), control()])


def test_unknown_framework_filter_is_an_error(tmp_path):
    with pytest.raises(common.CatalogError, match="framework filter 'hipaa' does not exist"):
        audit(tmp_path, [control()], frameworks=["hipaa"])


@pytest.mark.parametrize("waiver, message", [
    ({"control": "T-001", "reason": "accepted"}, "waiver #1 for control T-001: 'expires' (YYYY-MM-DD) is required"),
    ({"control": "T-001", "expires": "2030-01-01"}, "waiver #1 for control T-001: 'reason' is required"),
    ({"control": "T-404", "reason": "r", "expires": "2030-01-01"}, "waiver #1 for control T-404: no such control"),
    ({"control": "T-001", "reason": "r", "expires": "next year"}, "must be a date YYYY-MM-DD"),
])
def test_bad_waivers_name_the_control(tmp_path, waiver, message):
    with pytest.raises(common.CatalogError) as err:
        audit(tmp_path, [control()], waivers=[waiver])
    assert message in str(err.value)


def test_skip_of_unknown_control_is_an_error(tmp_path):
    with pytest.raises(common.CatalogError, match="T-999"):
        audit(tmp_path, [control()], skip=["T-999"])


def test_parameters_are_substituted_with_their_type():
    entry = control(check={"type": "sysctl", "key": "a.b", "expect": {"max": "${limit}"}},
                    applies_when=[{"unit": "${units}"}])
    [normalized] = catalog.validate_catalog([entry], {"limit": 4, "units": ["a.service"]})
    assert normalized["check"]["expect"]["max"] == 4
    assert normalized["applies_when"] == [{"unit": ["a.service"]}]
    assert catalog.parameter_names(entry) == {"limit", "units"}


# ----------------------------------------------------------------------------- check types

def test_file_mode_owner_and_absence(tmp_path):
    write(tmp_path, "/etc/shadow", "root:*:1::::::\n", 0o640)
    write(tmp_path, "/etc/open", "", 0o666)
    owner = __import__("pwd").getpwuid(os.getuid()).pw_name
    result = audit(tmp_path, [
        control("F-1", {"type": "file", "path": "/etc/shadow", "mode_max": "0640", "owner": owner}),
        control("F-2", {"type": "file", "path": "/etc/open", "mode_max": "0644"}),
        control("F-3", {"type": "file", "path": "/etc/missing"}),
        control("F-4", {"type": "file", "path": "/etc/telnet*", "state": "absent"}),
        control("F-5", {"type": "file", "path": "/etc/shadow", "owner": "nobody-such-user"}),
    ])
    assert status(result, "F-1")["status"] == "pass"
    assert status(result, "F-2")["status"] == "fail" and "0666 exceeds 0644" in status(result, "F-2")["evidence"]
    assert status(result, "F-3")["status"] == "fail" and "missing: /etc/missing" in status(result, "F-3")["evidence"]
    assert status(result, "F-4")["status"] == "pass"
    assert status(result, "F-5")["status"] == "fail"


def test_tree_permissions_finds_world_writable_and_skips_sticky_dirs(tmp_path):
    write(tmp_path, "/etc/a/b/ok.conf", "", 0o644)
    write(tmp_path, "/etc/a/bad.conf", "", 0o646)
    sticky = os.path.join(str(tmp_path), "etc/tmpdir")
    os.makedirs(sticky)
    os.chmod(sticky, 0o1777)
    result = audit(tmp_path, [control(check={"type": "tree_permissions", "root": "/etc", "forbid_bits": "0002"})])
    entry = status(result)
    assert entry["status"] == "fail"
    assert "/etc/a/bad.conf 0646" in entry["evidence"] and "tmpdir" not in entry["evidence"]


def test_file_content_present_absent_across_globs_ignores_comments(tmp_path):
    write(tmp_path, "/etc/ssh/sshd_config.d/10-ours.conf", "# PermitRootLogin yes\nPermitRootLogin no\n")
    write(tmp_path, "/etc/ssh/sshd_config.d/00-evil.conf", "PermitRootLogin yes\n")
    result = audit(tmp_path, [
        control("C-1", {"type": "file_content", "paths": ["/etc/ssh/sshd_config.d/*.conf"],
                        "pattern": r"^\s*PermitRootLogin\s+yes", "expect": "absent"}),
        control("C-2", {"type": "file_content", "paths": ["/etc/ssh/sshd_config.d/*.conf"], "pattern": "PermitRootLogin no"}),
        control("C-3", {"type": "file_content", "paths": ["/etc/none/*"], "pattern": "x"}),
    ])
    assert status(result, "C-1")["status"] == "fail"
    assert "00-evil.conf:1" in status(result, "C-1")["evidence"]
    assert "10-ours.conf" not in status(result, "C-1")["evidence"]
    assert status(result, "C-2")["status"] == "pass"
    assert status(result, "C-3")["status"] == "fail" and "no file matches" in status(result, "C-3")["evidence"]


def test_config_value_last_wins_and_all_occurrences(tmp_path):
    write(tmp_path, "/etc/systemd/journald.conf", "[Journal]\nMaxRetentionSec=1month\n")
    write(tmp_path, "/etc/systemd/journald.conf.d/90-ret.conf", "[Journal]\nMaxRetentionSec=365day\n")
    write(tmp_path, "/etc/logrotate.d/prodready-a", "/x {\n  maxage 30\n}\n")
    write(tmp_path, "/etc/logrotate.d/prodready-b", "/y {\n  maxage 7\n}\n")
    paths = ["/etc/systemd/journald.conf", "/etc/systemd/journald.conf.d/*.conf"]
    result = audit(tmp_path, [
        control("J-1", {"type": "config_value", "paths": paths, "key": "MaxRetentionSec", "expect": {"min_seconds": 31536000}}),
        control("L-1", {"type": "config_value", "paths": ["/etc/logrotate.d/prodready-*"], "key": "maxage",
                        "separator": r"\s+", "occurrences": "all", "expect": {"min": 30}}),
        control("L-2", {"type": "config_value", "paths": ["/etc/logrotate.d/prodready-*"], "key": "maxage",
                        "separator": r"\s+", "expect": {"min": 5}}),
    ])
    assert status(result, "J-1")["status"] == "pass" and "90-ret.conf:2" in status(result, "J-1")["evidence"]
    assert status(result, "L-1")["status"] == "fail" and "prodready-b:2" in status(result, "L-1")["evidence"]
    assert status(result, "L-2")["status"] == "pass"


SSHD_T = "port 22\npermitrootlogin no\nciphers chacha20-poly1305@openssh.com,aes128-cbc\nmaxauthtries 3\nhostkey /a\nhostkey /b\n"


def test_sshd_effective_settings_run_sshd_once(tmp_path):
    runner = FakeRunner({("/usr/sbin/sshd", "-T"): (0, SSHD_T, "")})
    result = audit(tmp_path, [
        control("S-1", {"type": "sshd_setting", "key": "PermitRootLogin", "expect": {"equals": "no"}}),
        control("S-2", {"type": "sshd_setting", "key": "ciphers", "expect": {"items_exclude": ["*-cbc"]}}),
        control("S-3", {"type": "sshd_setting", "key": "maxauthtries", "expect": {"max": 4}}),
        control("S-4", {"type": "sshd_setting", "key": "banner", "expect": {"not_equals": "none"}}),
    ], runner=runner)
    assert [status(result, i)["status"] for i in ("S-1", "S-2", "S-3", "S-4")] == ["pass", "fail", "pass", "fail"]
    assert "aes128-cbc" in status(result, "S-2")["evidence"]
    assert sum(1 for call in runner.calls if call[0] == "/usr/sbin/sshd") == 1


def test_sshd_failure_is_error_with_stderr(tmp_path):
    runner = FakeRunner({("/usr/sbin/sshd", "-T"): (255, "", "Missing privilege separation directory: /run/sshd")})
    result = audit(tmp_path, [control(check={"type": "sshd_setting", "key": "x", "expect": {"equals": "y"}})], runner=runner)
    assert status(result)["status"] == "error" and "/run/sshd" in status(result)["evidence"]


def test_sysctl_persistent_precedence_and_live(tmp_path):
    write(tmp_path, "/usr/lib/sysctl.d/50-default.conf", "net.ipv4.tcp_syncookies = 0\nkernel.kptr_restrict=0\n")
    write(tmp_path, "/etc/sysctl.d/50-default.conf", "net.ipv4.tcp_syncookies = 1\n")  # same name overrides /usr/lib
    write(tmp_path, "/etc/sysctl.d/99-zz.conf", "kernel/kptr_restrict = 2\n")
    write(tmp_path, "/etc/sysctl.conf", "fs.suid_dumpable = 2\n")
    write(tmp_path, "/proc/sys/net/ipv4/tcp_syncookies", "0\n")
    checks = [
        control("Y-1", {"type": "sysctl", "key": "net.ipv4.tcp_syncookies", "expect": {"equals": 1}}),
        control("Y-2", {"type": "sysctl", "key": "kernel.kptr_restrict", "expect": {"min": 1}}),
        control("Y-3", {"type": "sysctl", "key": "fs.suid_dumpable", "expect": {"equals": 0}}),
    ]
    result = audit(tmp_path, checks)
    assert [status(result, i)["status"] for i in ("Y-1", "Y-2", "Y-3")] == ["pass", "pass", "fail"]
    assert "/etc/sysctl.d/50-default.conf:1" in status(result, "Y-1")["evidence"]
    live = audit(tmp_path, checks[:1], live_sysctl="always")
    assert status(live, "Y-1")["status"] == "fail" and "live net.ipv4.tcp_syncookies = 0" in status(live, "Y-1")["evidence"]


def test_sysctl_follows_sysctl_system_order(tmp_path):
    # /etc masks /run masks /usr/local/lib masks /usr/lib masks /lib for the same file name
    write(tmp_path, "/lib/sysctl.d/10-a.conf", "kernel.randomize_va_space = 0\n")
    write(tmp_path, "/usr/lib/sysctl.d/10-a.conf", "kernel.randomize_va_space = 2\n")
    write(tmp_path, "/run/sysctl.d/20-b.conf", "kernel.yama.ptrace_scope = 0\n")
    write(tmp_path, "/etc/sysctl.d/20-b.conf", "kernel.yama.ptrace_scope = 1\n")
    checks = [
        control("Y-1", {"type": "sysctl", "key": "kernel.randomize_va_space", "expect": {"equals": 2}}),
        control("Y-2", {"type": "sysctl", "key": "kernel.yama.ptrace_scope", "expect": {"equals": 1}}),
    ]
    result = audit(tmp_path, checks)
    assert [status(result, i)["status"] for i in ("Y-1", "Y-2")] == ["pass", "pass"]
    assert "/usr/lib/sysctl.d/10-a.conf:1" in status(result, "Y-1")["evidence"]


def test_sysctl_later_drop_in_that_silently_wins_fails(tmp_path):
    write(tmp_path, "/etc/sysctl.d/60-prodready.conf", "net.ipv4.conf.all.rp_filter = 1\n")
    check = control("SYS-001", {"type": "sysctl", "key": "net.ipv4.conf.all.rp_filter", "expect": {"equals": 1}})
    assert status(audit(tmp_path, [check]), "SYS-001")["status"] == "pass"
    # lexically later, in a directory that sorts "lower": it still applies after 60-prodready.conf
    write(tmp_path, "/usr/local/lib/sysctl.d/99-vendor.conf", "net.ipv4.conf.all.rp_filter = 0\n")
    entry = status(audit(tmp_path, [check]), "SYS-001")
    assert entry["status"] == "fail"
    assert "/usr/local/lib/sysctl.d/99-vendor.conf:1" in entry["evidence"]
    assert "overrides 1 at /etc/sysctl.d/60-prodready.conf:1" in entry["evidence"]
    # /etc/sysctl.conf applies after every drop-in
    write(tmp_path, "/etc/sysctl.conf", "net.ipv4.conf.all.rp_filter=1\n")
    assert status(audit(tmp_path, [check]), "SYS-001")["status"] == "pass"


def test_sysctl_live_value_differs_from_persisted_fails(tmp_path):
    write(tmp_path, "/etc/sysctl.d/60-prodready.conf", "net.ipv4.tcp_rmem = 4096\t131072   6291456\n")
    write(tmp_path, "/proc/sys/net/ipv4/tcp_rmem", "4096\t131072\t6291456\n")
    check = control("Y-1", {"type": "sysctl", "key": "net.ipv4.tcp_rmem", "expect": {"equals": "4096 131072 6291456"}})
    assert status(audit(tmp_path, [check], live_sysctl="always"), "Y-1")["status"] == "pass"
    write(tmp_path, "/proc/sys/net/ipv4/tcp_rmem", "4096 87380 6291456\n")  # `sysctl -w` after boot
    entry = status(audit(tmp_path, [check], live_sysctl="always"), "Y-1")
    assert entry["status"] == "fail" and "live net.ipv4.tcp_rmem = 4096 87380 6291456" in entry["evidence"]


_SYSCTL_KEY = st.from_regex(r"\A[a-z][a-z0-9_]{0,8}(\.[a-z0-9_]{1,8}){0,3}\Z")
_SYSCTL_VALUE = st.from_regex(r"\A[0-9a-z]{1,6}( [0-9a-z]{1,6}){0,2}\Z")


@given(st.lists(st.tuples(_SYSCTL_KEY, _SYSCTL_VALUE, st.sampled_from(["", " ", "\t"]), st.booleans()), max_size=8),
       st.lists(st.sampled_from(["", "# c = 1", "; c = 2", "   ", "junk"]), max_size=4))
def test_sysctl_parser_round_trips_assignments(assignments, noise):
    lines = list(noise)
    for key, value, pad, slash in assignments:
        lines.append("%s%s%s=%s%s" % ("-" if slash else "", key.replace(".", "/") if slash else key, pad, pad, value))
    parsed = parsers.parse_sysctl_conf("\n".join(lines))
    assert [(item[0], item[1]) for item in parsed] == [(item[0], item[1]) for item in assignments]
    assert all(lines[item[2] - 1].strip() and "=" in lines[item[2] - 1] for item in parsed)


@given(st.text(max_size=200))
def test_sysctl_parser_never_raises(text):
    for key, value, number in parsers.parse_sysctl_conf(text):
        assert key and "/" not in key and number >= 1 and value == " ".join(value.split())


SHOW = {
    "ssh.service": "Id=ssh.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled",
    "nginx.service": "Id=nginx.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled",
    "off.timer": "Id=off.timer\nLoadState=loaded\nActiveState=inactive\nSubState=dead\nUnitFileState=disabled",
    "gone.service": "Id=gone.service\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=",
}


def systemctl_show(argv):
    names = argv[argv.index("--") + 1:]
    return 0, "\n\n".join(SHOW.get(n, "Id=%s\nLoadState=not-found\nActiveState=inactive" % n) for n in names) + "\n", ""


def analyze(argv):
    levels = {"ssh.service": 9.6, "nginx.service": 4.2}
    return 0, "".join("NAME DESCRIPTION EXPOSURE\n→ Overall exposure level for %s: %.1f OK\n" % (n, levels[n])
                      for n in argv[3:]), ""


def test_services_and_exposure_are_batched(tmp_path):
    runner = FakeRunner({("systemctl", "show"): systemctl_show, ("systemd-analyze", "security"): analyze})
    result = audit(tmp_path, [
        control("U-1", {"type": "service", "unit": "ssh.service", "enabled": True, "active": True}),
        control("U-2", {"type": "service", "unit": "off.timer", "enabled": True}),
        control("U-3", {"type": "service", "unit": ["gone.service", "ssh.service"], "enabled": True}),
        control("U-4", {"type": "unit_exposure", "unit": "nginx.service", "max": 4.5}),
        control("U-5", {"type": "unit_exposure", "unit": ["ssh.service", "nginx.service"], "max": 4.5}),
        control("U-6", {"type": "service", "unit": "x.service", "enabled": True}, applies_when=[{"unit": "gone.service"}]),
    ], runner=runner)
    got = dict((r["id"], r["status"]) for r in result["controls"])
    assert got == {"U-1": "pass", "U-2": "fail", "U-3": "pass", "U-4": "pass", "U-5": "fail", "U-6": "not_applicable"}
    assert "ssh.service exposure 9.6 > 4.5" in status(result, "U-5")["evidence"]
    assert sum(1 for call in runner.calls if call[:2] == ["systemctl", "show"]) == 1
    assert sum(1 for call in runner.calls if call[:2] == ["systemd-analyze", "security"]) == 1


DPKG = "openssh-server\tii \t1:9.2p1-2\nnginx\trc \t1.22\ntelnetd\tii \t0.17\n"


def test_packages_and_applies_when(tmp_path):
    runner = FakeRunner({("dpkg-query",): (0, DPKG, "")})
    result = audit(tmp_path, [
        control("P-1", {"type": "package", "name": "openssh-server"}),
        control("P-2", {"type": "package", "name": ["telnetd", "rsh-server"], "state": "absent"}),
        control("P-3", {"type": "package", "name": "x"}, applies_when=[{"package": "nginx"}]),
        control("P-4", {"type": "package", "name": "openssh-server"},
                applies_when=[{"any": [{"package": "nginx"}, {"path": "/etc/nothing"}]}]),
    ], runner=runner)
    assert status(result, "P-1")["status"] == "pass"
    assert status(result, "P-2")["status"] == "fail" and "telnetd 0.17" in status(result, "P-2")["evidence"]
    assert status(result, "P-3")["status"] == "not_applicable"  # "rc" = removed, config left
    assert "package nginx not installed" in status(result, "P-3")["evidence"]
    assert status(result, "P-4")["status"] == "not_applicable"
    assert sum(1 for call in runner.calls if call[0] == "dpkg-query") == 1


def test_metric_value_and_age(tmp_path):
    now = 1700000000.0
    write(tmp_path, "/metrics/backup.prom", "# HELP x y\nprodready_backup_last_success_timestamp_seconds %d\n" % (now - 100000))
    write(tmp_path, "/metrics/integrity.prom", 'prodready_integrity_violations{kind="changed"} 2\nprodready_integrity_violations{kind="added"} 0\n')
    write(tmp_path, "/metrics/broken.prom", "this is not a metric\n")
    result = audit(tmp_path, [
        control("M-1", {"type": "metric", "name": "prodready_backup_last_success_timestamp_seconds", "max_age_seconds": 43200}),
        control("M-2", {"type": "metric", "name": "prodready_integrity_violations", "aggregate": "sum", "expect": {"max": 0}}),
        control("M-3", {"type": "metric", "name": "prodready_integrity_violations", "labels": {"kind": "added"}, "expect": {"max": 0}}),
        control("M-4", {"type": "metric", "name": "prodready_missing", "expect": {"max": 0}}),
    ], now=now)
    assert status(result, "M-1")["status"] == "fail" and "100000s old > 43200s" in status(result, "M-1")["evidence"]
    assert status(result, "M-2")["status"] == "fail"
    assert status(result, "M-3")["status"] == "pass"
    assert status(result, "M-4")["status"] == "error" and "broken.prom" in status(result, "M-4")["evidence"]


def test_command_rc_stdout_and_timeout(tmp_path):
    probe_runner = host_probe.default_runner
    result = audit(tmp_path, [
        control("X-1", {"type": "command", "argv": ["echo", "policy drop;"], "stdout": {"regex": "policy drop"}}),
        control("X-2", {"type": "command", "argv": ["false"]}),
        control("X-3", {"type": "command", "argv": ["sleep", "5"], "timeout": 0.3}),
        control("X-4", {"type": "command", "argv": ["/nonexistent/tool"]}),
    ], runner=probe_runner)
    assert [status(result, i)["status"] for i in ("X-1", "X-2", "X-3", "X-4")] == ["pass", "fail", "error", "error"]
    assert "timed out" in status(result, "X-3")["evidence"]


# ----------------------------------------------------------------------------- TLS endpoint

@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """A local TLS 1.2+ server (openssl s_server) on 127.0.0.1: refuses 1.0/1.1 as a good front does."""
    directory = tmp_path_factory.mktemp("tls")
    key, cert = str(directory / "k.pem"), str(directory / "c.pem")
    subprocess.check_call(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                           "-keyout", key, "-out", cert], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-cert", cert, "-key", key, "-www",
                             "-tls1_2", "-quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield port
    proc.terminate()
    proc.wait()


def test_tls_endpoint_protocols(tmp_path, tls_server):
    result = audit(tmp_path, [
        control("L-1", {"type": "tls_endpoint", "port": tls_server, "refuse": ["TLSv1", "TLSv1.1"], "accept": ["TLSv1.2"]}),
        control("L-2", {"type": "tls_endpoint", "port": tls_server, "refuse": ["TLSv1.2"]}),
        control("L-3", {"type": "tls_endpoint", "port": tls_server, "refuse_ciphers": "RC4:3DES:NULL:aNULL"}),
        control("L-4", {"type": "tls_endpoint", "port": 1, "accept": ["TLSv1.2"]}),
    ])
    assert status(result, "L-1")["status"] == "pass", status(result, "L-1")["evidence"]
    assert status(result, "L-2")["status"] == "fail" and "TLSv1.2 ACCEPTED" in status(result, "L-2")["evidence"]
    assert status(result, "L-3")["status"] == "pass"
    assert status(result, "L-4")["status"] == "error"


# ----------------------------------------------------------------------------- waivers, scores

def test_waivers_active_expired_and_unused(tmp_path):
    controls = [control("W-1", {"type": "file", "path": "/nope"}), control("W-2", {"type": "file", "path": "/nope"}),
                control("W-3", {"type": "file", "path": "/etc"})]
    os.makedirs(os.path.join(str(tmp_path), "etc"))
    today = datetime.date(2026, 6, 1)
    waivers = [{"control": "W-1", "reason": "legacy box", "expires": "2026-12-31"},
               {"control": "W-2", "reason": "was fine", "expires": "2026-05-31"},
               {"control": "W-3", "reason": "unused", "expires": datetime.date(2027, 1, 1)}]
    probe = host_probe.Probe(runner=FakeRunner(), root=str(tmp_path))
    result = engine.run_audit(controls, waivers=waivers, probe=probe, today=today)
    assert status(result, "W-1")["status"] == "waived" and "legacy box" in status(result, "W-1")["evidence"]
    assert status(result, "W-2")["status"] == "fail" and status(result, "W-2")["evidence"].startswith("waiver expired 2026-05-31")
    assert status(result, "W-3")["status"] == "pass" and status(result, "W-3")["waiver"]["state"] == "active"


def test_scores_are_weighted_per_framework(tmp_path):
    os.makedirs(os.path.join(str(tmp_path), "etc"))
    controls = [
        control("A-1", {"type": "file", "path": "/etc"}, severity="critical", frameworks={"gdpr": ["Art. 32"]}),
        control("A-2", {"type": "file", "path": "/nope"}, severity="low", frameworks={"gdpr": ["Art. 32"], "soc2": ["CC6.1"]}),
        control("A-3", {"type": "file", "path": "/nope"}, severity="info", frameworks={"soc2": ["CC6.1"]}),
        control("A-4", {"type": "file", "path": "/x"}, applies_when=[{"path": "/nope"}], frameworks={"pci_dss_4": ["1"]}),
    ]
    result = audit(tmp_path, controls)
    assert result["frameworks"]["gdpr"]["score_percent"] == round(100.0 * 10 / 11, 1)
    assert result["frameworks"]["soc2"]["score_percent"] == 0.0
    assert result["frameworks"]["pci_dss_4"]["score_percent"] is None  # only not_applicable
    assert result["summary"]["failed_by_severity"]["low"] == 1 and result["summary"]["fail"] == 2
    only_gdpr = audit(tmp_path, controls, frameworks=["gdpr"])
    assert [r["id"] for r in only_gdpr["controls"]] == ["A-1", "A-2"] and list(only_gdpr["frameworks"]) == ["gdpr"]


def test_an_unexpected_exception_is_one_error_not_a_crash(tmp_path):
    def explode(argv, timeout, env=None):
        raise RuntimeError("boom")
    result = audit(tmp_path, [control("E-1", {"type": "package", "name": "x"}), control("E-2", {"type": "file", "path": "/"})],
                   runner=explode)
    assert status(result, "E-1")["status"] == "error" and "boom" in status(result, "E-1")["evidence"]
    assert status(result, "E-2")["status"] == "pass"


# ----------------------------------------------------------------------------- properties

spans = st.lists(st.tuples(st.integers(0, 5000), st.sampled_from(["s", "min", "h", "d", "day", "w"])), min_size=1, max_size=4)


@given(spans)
def test_timespan_sums_units(parts):
    factor = {"s": 1, "min": 60, "h": 3600, "d": 86400, "day": 86400, "w": 604800}
    text = " ".join("%d%s" % (n, unit) for n, unit in parts)
    assert comparisons.parse_timespan(text) == sum(n * factor[unit] for n, unit in parts)


@given(st.text(max_size=40))
def test_timespan_never_raises(text):
    value = comparisons.parse_timespan(text)
    assert value is None or value >= 0


@given(st.integers(-10 ** 6, 10 ** 6), st.integers(-10 ** 6, 10 ** 6))
def test_compare_min_max_agree_with_arithmetic(value, bound):
    assert comparisons.compare(value, {"min": bound})[0] == (value >= bound)
    assert comparisons.compare(value, {"max": bound})[0] == (value <= bound)


@given(st.lists(st.sampled_from(["aes128-ctr", "aes128-cbc", "3des-cbc", "chacha20-poly1305@openssh.com"]), min_size=1))
def test_items_exclude_matches_globs(items):
    ok = comparisons.compare(",".join(items), {"items_exclude": ["*-cbc"]})[0]
    assert ok == (not any(i.endswith("-cbc") for i in items))


@given(st.integers(-10 ** 6, 10 ** 6))
def test_equals_compares_numbers_as_numbers(value):
    assert comparisons.compare(float(value), {"equals": value})[0]
    assert comparisons.compare("%d.0" % value, {"in": [value]})[0]
    assert not comparisons.compare(value, {"not_equals": float(value)})[0]


# --------------------------------------------------------------------------- filesystem-wide scan

def fs_tree(tmp_path):
    """A clean little host: accounts for the test user, a sticky /tmp, an allowlisted SUID binary."""
    write(tmp_path, "/etc/passwd", "root:x:0:0::/root:/bin/sh\nme:x:%d:%d::/:/bin/sh\n" % (os.getuid(), os.getgid()))
    write(tmp_path, "/etc/group", "root:x:0:\nme:x:%d:\n" % os.getgid())
    write(tmp_path, "/usr/bin/passwd", "", 0o4755)
    write(tmp_path, "/usr/bin/ls", "", 0o755)
    tmp = os.path.join(str(tmp_path), "tmp")
    os.makedirs(tmp)
    os.chmod(tmp, 0o1777)
    return tmp_path


FS_CONTROLS = [
    control("FS-001", {"type": "filesystem", "property": "suid_sgid", "allow": ["/usr/bin/passwd"]}),
    control("FS-002", {"type": "filesystem", "property": "world_writable_dirs"}),
    control("FS-003", {"type": "filesystem", "property": "world_writable_files"}),
    control("FS-004", {"type": "filesystem", "property": "unowned"}),
]


def fs_statuses(tmp_path, probe=None):
    probe = probe or host_probe.Probe(runner=FakeRunner(), root=str(tmp_path), live_sysctl="never")
    result = engine.run_audit(FS_CONTROLS, probe=probe)
    return dict((r["id"], r) for r in result["controls"]), probe


def test_filesystem_clean_tree_passes_and_is_walked_once(tmp_path):
    found, probe = fs_statuses(fs_tree(tmp_path))
    assert [found[i]["status"] for i in ("FS-001", "FS-002", "FS-003", "FS-004")] == ["pass"] * 4
    assert list(probe.timings).count("filesystem") == 1 and probe.filesystem()["entries"] >= 6


@pytest.mark.parametrize("plant, failing, shown", [
    (lambda r: write(r, "/usr/local/bin/backdoor", "", 0o4755), "FS-001", "/usr/local/bin/backdoor 4755"),
    (lambda r: write(r, "/opt/tool/helper", "", 0o2755), "FS-001", "/opt/tool/helper 2755"),
    (lambda r: os.chmod(write(r, "/srv/share/.keep") and os.path.join(str(r), "srv/share"), 0o777),
     "FS-002", "/srv/share 0777"),
    (lambda r: write(r, "/etc/cron.d/job", "", 0o666), "FS-003", "/etc/cron.d/job 0666"),
    (lambda r: os.chown(write(r, "/var/lib/orphan"), 4242, os.getgid()), "FS-004", "/var/lib/orphan 0644 4242"),
])
def test_filesystem_planted_violation_fails_the_named_control(tmp_path, plant, failing, shown):
    if failing == "FS-004" and os.getuid() != 0:
        pytest.skip("chown to a foreign uid needs root")
    fs_tree(tmp_path)
    plant(tmp_path)
    found = fs_statuses(tmp_path)[0]
    assert found[failing]["status"] == "fail" and shown in found[failing]["evidence"]
    assert all(found[i]["status"] == "pass" for i in found if i != failing)


def test_filesystem_dynamic_user_state_is_not_unowned_but_the_same_ids_elsewhere_are(tmp_path):
    if os.getuid() != 0:
        pytest.skip("chown to a foreign uid needs root")
    fs_tree(tmp_path)
    # systemd-journal-upload's StateDirectory= under DynamicUser=: an id of systemd's dynamic range.
    os.chown(write(tmp_path, "/var/lib/private/systemd/journal-upload/state"), 63150, 63150)
    os.chown(os.path.join(str(tmp_path), "var/lib/private/systemd/journal-upload"), 63150, 63150)
    assert fs_statuses(tmp_path)[0]["FS-004"]["status"] == "pass"
    # The same id outside the dynamic users' trees, or an id outside the range there, is unowned.
    os.chown(write(tmp_path, "/var/lib/stray"), 63150, 63150)
    os.chown(write(tmp_path, "/var/lib/private/orphan"), 4242, 4242)
    evidence = fs_statuses(tmp_path)[0]["FS-004"]["evidence"]
    assert "/var/lib/stray" in evidence and "/var/lib/private/orphan" in evidence and "journal-upload" not in evidence


def test_filesystem_unowned_group_without_entry_fails(tmp_path):
    fs_tree(tmp_path)
    write(tmp_path, "/etc/group", "other:x:4343:\n")  # the test user's gid loses its group entry
    found = fs_statuses(tmp_path)[0]
    assert found["FS-004"]["status"] == "fail" and "/usr/bin/ls" in found["FS-004"]["evidence"]


def test_filesystem_walk_skips_pseudo_network_and_runtime_trees(tmp_path):
    fs_tree(tmp_path)
    for path in ("/proc/1/environ", "/run/lock/x", "/mnt/nfs/share/x", "/media/sshfs/x"):
        write(tmp_path, path, "", 0o4777)
    write(tmp_path, "/proc/self/mounts", "srv:/x /mnt/nfs nfs4 rw 0 0\nme@h: /media/sshfs fuse.sshfs rw 0 0\n"
                                         "/dev/sda1 / ext4 rw 0 0\n")
    found, probe = fs_statuses(tmp_path)
    assert found["FS-001"]["status"] == "pass" and found["FS-003"]["status"] == "pass"
    assert "/mnt/nfs" in probe.filesystem()["skipped"] and "/media/sshfs" in probe.filesystem()["skipped"]
    write(tmp_path, "/mnt/local/x", "", 0o4755)  # a local mount is walked
    assert fs_statuses(tmp_path)[0]["FS-001"]["status"] == "fail"


def test_filesystem_walk_is_bounded(tmp_path, monkeypatch):
    fs_tree(tmp_path)
    monkeypatch.setattr(host_probe, "FS_SCAN_MAX_ENTRIES", 3)
    found = fs_statuses(tmp_path)[0]
    assert all(r["status"] == "error" and "walk stopped after 3 entries" in r["evidence"] for r in found.values())


def test_filesystem_root_path(tmp_path):
    for name in ("usr/bin", "usr/sbin"):
        os.makedirs(os.path.join(str(tmp_path), name))
    os.chmod(os.path.join(str(tmp_path), "usr/bin"), 0o755)
    os.chmod(os.path.join(str(tmp_path), "usr/sbin"), 0o755)
    check = {"type": "filesystem", "property": "root_path", "path": ["/usr/sbin:/usr/bin"]}
    owned_by_root = os.getuid() == 0
    result = audit(tmp_path, [control("FS-005", check)])
    assert status(result, "FS-005")["status"] == ("pass" if owned_by_root else "fail")
    write(tmp_path, "/etc/login.defs", "ENV_SUPATH PATH=/usr/sbin:/usr/bin:/opt/bin\n")  # missing dir
    entry = status(audit(tmp_path, [control("FS-005", check)]), "FS-005")
    assert entry["status"] == "fail" and "/opt/bin (missing" in entry["evidence"]
    os.remove(os.path.join(str(tmp_path), "etc/login.defs"))
    os.chmod(os.path.join(str(tmp_path), "usr/bin"), 0o775)  # group-writable
    entry = status(audit(tmp_path, [control("FS-005", dict(check, path=["/usr/sbin:/usr/bin:."]))]), "FS-005")
    assert entry["status"] == "fail" and "/usr/bin 0775" in entry["evidence"] and "'.'" in entry["evidence"]


@pytest.mark.parametrize("check, message", [
    ({"type": "filesystem"}, "needs 'property'"),
    ({"type": "filesystem", "property": "suid"}, "filesystem property must be one of"),
    ({"type": "filesystem", "property": "suid_sgid", "allow": [1]}, "'allow' must be a list of strings"),
])
def test_filesystem_bad_entries_are_refused(check, message):
    with pytest.raises(common.CatalogError, match=message):
        catalog.validate_control(control(check=check))


@given(st.lists(st.tuples(st.from_regex(r"\A/[a-z ]{1,10}\Z"), st.sampled_from(["nfs", "ext4", "proc", "fuse.x"]))))
def test_mount_parser_decodes_escaped_points(mounts):
    text = "".join("dev %s %s rw 0 0\n" % (point.replace(" ", "\\040"), fstype) for point, fstype in mounts)
    assert parsers.parse_mounts(text) == mounts


# --------------------------------------------------------------------------- apt-config

APT_DUMP = ('APT "";\nAPT::Architecture "amd64";\nAPT::Periodic::Unattended-Upgrade "1";\n'
            'Unattended-Upgrade::Origins-Pattern "";\n'
            'Unattended-Upgrade::Origins-Pattern:: "origin=Debian,label=Debian-Security";\n'
            'Unattended-Upgrade::Origins-Pattern:: "origin=Debian,label=Debian";\n')


def test_apt_config_effective_value_and_later_override(tmp_path):
    check = control("UPD-002", {"type": "apt_config", "key": "APT::Periodic::Unattended-Upgrade",
                                "expect": {"equals": 1}})
    runner = FakeRunner({("apt-config", "dump"): (0, APT_DUMP, "")})
    assert status(audit(tmp_path, [check, control("T-2", dict(check["check"]))], runner=runner),
                  "UPD-002")["status"] == "pass"
    assert runner.calls.count(["apt-config", "dump"]) == 1  # one dump per audit
    # what apt-config prints once a later 99-override.conf sets "0" (it merges apt.conf.d in order)
    overridden = APT_DUMP + 'APT::Periodic::Unattended-Upgrade "0";\n'
    entry = status(audit(tmp_path, [check], runner=FakeRunner({("apt-config", "dump"): (0, overridden, "")})), "UPD-002")
    assert entry["status"] == "fail" and 'APT::Periodic::Unattended-Upgrade "0"' in entry["evidence"]
    broken = FakeRunner({("apt-config", "dump"): (100, "", "E: Syntax error /etc/apt/apt.conf.d/99x:1")})
    entry = status(audit(tmp_path, [check], runner=broken), "UPD-002")
    assert entry["status"] == "error" and "Syntax error" in entry["evidence"]


def test_apt_config_lists_join_items():
    values = parsers.parse_apt_config_dump(APT_DUMP)
    assert values["Unattended-Upgrade::Origins-Pattern"] == "origin=Debian,label=Debian-Security, origin=Debian,label=Debian"
    assert values["APT::Architecture"] == "amd64" and values["APT"] == ""


@given(st.dictionaries(st.from_regex(r"\A[A-Z][A-Za-z-]{0,6}(::[A-Za-z-]{1,6}){0,3}\Z"),
                       st.from_regex(r'\A[ !#-~]{0,12}\Z'), max_size=6))
def test_apt_config_parser_round_trips(settings):
    text = "".join('%s "%s";\n' % item for item in settings.items())
    assert parsers.parse_apt_config_dump(text) == settings


@given(st.text(max_size=200))
def test_apt_config_parser_never_raises(text):
    assert isinstance(parsers.parse_apt_config_dump(text), dict)


# --------------------------------------------------------------------------- sudoers

SUDO_CHECKS = [
    control("ACC-012", {"type": "sudoers", "setting": "use_pty", "expect": {"equals": "on"}}),
    control("ACC-011", {"type": "sudoers", "setting": "logfile", "expect": {"present": True, "not_equals": "off"}}),
    control("ACC-017", {"type": "sudoers", "forbid": "nopasswd_all", "allow": ["deploy"]}),
]


def sudo_tree(tmp_path):
    write(tmp_path, "/etc/sudoers", "Defaults env_reset\n%sudo ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n", 0o440)
    write(tmp_path, "/etc/sudoers.d/60-prodready", 'Defaults logfile="/var/log/sudo.log"\nDefaults use_pty\n', 0o440)
    write(tmp_path, "/etc/sudoers.d/70-deploy", "deploy ALL=(ALL) NOPASSWD: ALL\n", 0o440)
    write(tmp_path, "/etc/sudoers.d/README", "# ignored? no: no dot in the name, read\n", 0o440)


def sudo_statuses(tmp_path):
    result = audit(tmp_path, SUDO_CHECKS)
    return dict((r["id"], r) for r in result["controls"])


def test_sudoers_clean_tree_passes(tmp_path):
    sudo_tree(tmp_path)
    assert [r["status"] for r in sudo_statuses(tmp_path).values()] == ["pass"] * 3


@pytest.mark.parametrize("path, text, failing, shown", [
    ("/etc/sudoers.d/99-local", "Defaults !use_pty\n", "ACC-012", "use_pty = off at /etc/sudoers.d/99-local:1"),
    ("/etc/sudoers.d/99-local", "Defaults:alice !use_pty\n", "ACC-012", "Defaults:alice use_pty = off"),
    ("/etc/sudoers.d/99-local", "Defaults !logfile\n", "ACC-011", "logfile = off"),
    ("/etc/sudoers.d/99-local", "alice ALL=(ALL) NOPASSWD: ALL\n", "ACC-017", "alice ALL=(ALL) NOPASSWD: ALL"),
    ("/etc/sudoers.d/99-local", "bob ALL = (root) NOPASSWD: /bin/ls, \\\n    ALL\n", "ACC-017", "bob ALL"),
    ("/etc/sudoers.d/99-local", "#include /etc/extra-sudo\n", "ACC-017", "/etc/extra-sudo:1"),
    ("/etc/sudoers.d/99-local", "@include ../extra-sudo\n", "ACC-017", "/etc/extra-sudo:1"),
])
def test_sudoers_planted_drop_in_fails_the_named_control(tmp_path, path, text, failing, shown):
    sudo_tree(tmp_path)
    write(tmp_path, "/etc/extra-sudo", "carol ALL=NOPASSWD:ALL\n", 0o440)  # read only when included
    write(tmp_path, path, text, 0o440)
    found = sudo_statuses(tmp_path)
    assert found[failing]["status"] == "fail" and shown in found[failing]["evidence"], found[failing]
    assert all(found[i]["status"] == "pass" for i in found if i != failing)


def test_sudoers_includedir_skips_backups_and_dotted_names(tmp_path):
    sudo_tree(tmp_path)
    write(tmp_path, "/etc/sudoers.d/99-local~", "Defaults !use_pty\n", 0o440)
    write(tmp_path, "/etc/sudoers.d/99-local.dpkg-old", "Defaults !use_pty\n", 0o440)
    assert sudo_statuses(tmp_path)["ACC-012"]["status"] == "pass"


def test_sudoers_missing_is_error_and_bad_entries_refused(tmp_path):
    assert sudo_statuses(tmp_path)["ACC-012"]["status"] == "error"
    for check, message in (({"type": "sudoers"}, "needs one of 'setting'"),
                           ({"type": "sudoers", "forbid": "root"}, "'forbid' must be one of"),
                           ({"type": "sudoers", "setting": "use_pty"}, "needs 'expect'")):
        with pytest.raises(common.CatalogError, match=message):
            catalog.validate_control(control(check=check))


@pytest.mark.parametrize("rule, expected", [
    ("alice ALL=(ALL) NOPASSWD: ALL", True),
    ("alice ALL=(ALL:ALL) NOPASSWD:ALL", True),
    ("alice ALL=(ALL) NOPASSWD: /usr/bin/apt, PASSWD: ALL", False),
    ("alice ALL=(ALL) NOPASSWD: /usr/bin/apt", False),
    ("alice ALL=(ALL) ALL", False),
    ("%wheel ALL=(ALL) NOPASSWD: SETENV: ALL", True),
])
def test_nopasswd_all(rule, expected):
    assert parsers.nopasswd_all(rule) is expected


@given(st.text(max_size=300))
def test_sudoers_parser_never_raises(text):
    for kind, payload, number in parsers.parse_sudoers_lines(text):
        assert kind in ("include", "includedir", "defaults", "rule") and number >= 1


# ----------------------------------------------------------------------------- systemd (systemctl show)

UNITS = {
    "nginx.service": {"LoadState": "loaded", "ActiveState": "active", "UnitFileState": "enabled",
                      "FragmentPath": "/lib/systemd/system/nginx.service",
                      "DropInPaths": "/etc/systemd/system/nginx.service.d/10-hardening.conf",
                      "ProtectSystem": "strict", "NoNewPrivileges": "yes", "PrivateTmp": "yes"},
    "weak.service": {"LoadState": "loaded", "ActiveState": "active", "UnitFileState": "enabled",
                     "FragmentPath": "/lib/systemd/system/weak.service",
                     "DropInPaths": "/etc/systemd/system/weak.service.d/10-hardening.conf /etc/systemd/system/weak.service.d/zz.conf",
                     "ProtectSystem": "no", "NoNewPrivileges": "yes", "PrivateTmp": "yes"},
    "ctrl-alt-del.target": {"LoadState": "masked", "ActiveState": "inactive", "UnitFileState": "masked",
                            "FragmentPath": "/dev/null", "DropInPaths": ""},
    "debug-shell.service": {"LoadState": "loaded", "ActiveState": "inactive", "UnitFileState": "disabled",
                            "FragmentPath": "/lib/systemd/system/debug-shell.service", "DropInPaths": ""},
    # systemd loads any instance name of an installed template: Debian 12's postgresql@.service with
    # only the 15 cluster, asked about 17 too (as `systemctl show` answers on such a host).
    "postgresql@15-main.service": {"LoadState": "loaded", "ActiveState": "active", "UnitFileState": "enabled-runtime",
                                   "FragmentPath": "/lib/systemd/system/postgresql@.service",
                                   "DropInPaths": "/etc/systemd/system/postgresql@15-main.service.d/prodready-hardening.conf",
                                   "User": "postgres", "NoNewPrivileges": "yes", "ProtectSystem": "strict"},
    "postgresql@17-main.service": {"LoadState": "loaded", "ActiveState": "inactive", "UnitFileState": "disabled",
                                   "FragmentPath": "/lib/systemd/system/postgresql@.service", "DropInPaths": "",
                                   "User": "", "NoNewPrivileges": "no", "ProtectSystem": "no"},
    "postgresql@16-main.service": {"LoadState": "loaded", "ActiveState": "inactive", "UnitFileState": "disabled",
                                   "FragmentPath": "/lib/systemd/system/postgresql@.service",
                                   "DropInPaths": "/etc/systemd/system/postgresql@16-main.service.d/weaker.conf",
                                   "User": "", "NoNewPrivileges": "no", "ProtectSystem": "no"},
    "postgresql@14-main.service": {"LoadState": "loaded", "ActiveState": "failed", "UnitFileState": "disabled",
                                   "FragmentPath": "/lib/systemd/system/postgresql@.service", "DropInPaths": "",
                                   "User": "", "NoNewPrivileges": "no", "ProtectSystem": "no"},
    "plain-disabled.service": {"LoadState": "loaded", "ActiveState": "inactive", "UnitFileState": "disabled",
                               "FragmentPath": "/lib/systemd/system/plain-disabled.service", "DropInPaths": "",
                               "User": "", "NoNewPrivileges": "no", "ProtectSystem": "no"},
}


def systemctl_show_properties(argv):
    asked = argv[[a.startswith("--property=") for a in argv].index(True)][len("--property="):].split(",")
    names = argv[argv.index("--") + 1:]
    blocks = []
    for name in names:
        props = dict(UNITS.get(name, {"LoadState": "not-found", "ActiveState": "inactive", "UnitFileState": ""}), Id=name)
        blocks.append("\n".join("%s=%s" % (key, props.get(key, "")) for key in asked))
    return 0, "\n\n".join(blocks) + "\n", ""


def test_systemd_state_and_properties_name_the_drop_in(tmp_path):
    runner = FakeRunner({("systemctl", "show"): systemctl_show_properties})
    sandbox = {"ProtectSystem": {"equals": "strict"}, "NoNewPrivileges": {"equals": "yes"}}
    result = audit(tmp_path, [
        control("D-1", {"type": "systemd", "unit": "nginx.service", "enabled": True, "active": True, "properties": sandbox}),
        control("D-2", {"type": "systemd", "unit": "weak.service", "properties": sandbox}),
        control("D-3", {"type": "systemd", "unit": "ctrl-alt-del.target", "masked": True}),
        control("D-4", {"type": "systemd", "unit": "debug-shell.service", "masked": True}),
        control("D-5", {"type": "systemd", "unit": ["gone.service"], "enabled": False, "absent_ok": True}),
        control("D-6", {"type": "systemd", "unit": "gone.service", "active": True}),
        control("D-7", {"type": "service", "unit": "nginx.service", "active": True}),
    ], runner=runner)
    got = dict((r["id"], r["status"]) for r in result["controls"])
    assert got == {"D-1": "pass", "D-2": "fail", "D-3": "pass", "D-4": "fail", "D-5": "pass", "D-6": "fail", "D-7": "pass"}
    assert "ProtectSystem 'no' != 'strict'" in status(result, "D-2")["evidence"]
    assert "/etc/systemd/system/weak.service.d/zz.conf" in status(result, "D-2")["evidence"]
    assert "masked=false, wanted true" in status(result, "D-4")["evidence"]
    # one systemctl show for every unit and every property of the audit
    shows = [call for call in runner.calls if call[:2] == ["systemctl", "show"]]
    assert len(shows) == 1 and "ProtectSystem" in shows[0][3]


def test_systemd_absent_ok_passes_an_instance_name_the_host_does_not_run(tmp_path):
    """PG-004 on a Debian 12 host: postgresql@17-main.service is only a name systemd can load from the
    template; with absent_ok it counts as absent. A running instance, an instance with a drop-in of
    its own, a failed one and a plain disabled unit are still judged, and without absent_ok too."""
    runner = FakeRunner({("systemctl", "show"): systemctl_show_properties})
    sandbox = {"User": {"equals": "postgres"}, "NoNewPrivileges": {"equals": "yes"}, "ProtectSystem": {"equals": "strict"}}
    result = audit(tmp_path, [
        control("I-1", {"type": "systemd", "unit": ["postgresql@15-main.service", "postgresql@17-main.service"],
                        "absent_ok": True, "properties": sandbox}),
        control("I-2", {"type": "systemd", "unit": ["postgresql@15-main.service", "postgresql@17-main.service"],
                        "properties": sandbox}),
        control("I-3", {"type": "systemd", "unit": "postgresql@16-main.service", "absent_ok": True, "properties": sandbox}),
        control("I-4", {"type": "systemd", "unit": "postgresql@14-main.service", "absent_ok": True, "properties": sandbox}),
        control("I-5", {"type": "systemd", "unit": "plain-disabled.service", "absent_ok": True, "properties": sandbox}),
    ], runner=runner)
    got = dict((r["id"], r["status"]) for r in result["controls"])
    assert got == {"I-1": "pass", "I-2": "fail", "I-3": "fail", "I-4": "fail", "I-5": "fail"}
    evidence = status(result, "I-1")["evidence"]
    assert "postgresql@15-main.service enabled=enabled-runtime" in evidence
    assert "postgresql@17-main.service only an instance name of /lib/systemd/system/postgresql@.service" in evidence
    assert "ProtectSystem 'no' != 'strict'" in status(result, "I-2")["evidence"]
    assert "postgresql@16-main.service.d/weaker.conf" in status(result, "I-3")["evidence"]


@pytest.mark.parametrize("check, message", [
    ({"type": "systemd", "unit": "x.service"}, "needs 'enabled', 'active', 'masked' and/or 'properties'"),
    ({"type": "systemd", "unit": "x.service", "masked": "yes"}, "'masked' must be true or false"),
    ({"type": "systemd", "unit": "x.service", "properties": {"protect_system": {"equals": "strict"}}}, "not a systemctl show property"),
    ({"type": "systemd", "unit": "x.service", "properties": {"ProtectSystem": {"same": "strict"}}}, "unknown comparison"),
])
def test_systemd_bad_entries_are_refused(check, message):
    with pytest.raises(common.CatalogError, match=message):
        catalog.validate_control(control(check=check))


# ----------------------------------------------------------------------------- sshd -T with Match contexts

def sshd_with_match(argv):
    if "-C" in argv and "user=root" in argv[argv.index("-C") + 1]:
        return 0, SSHD_T.replace("permitrootlogin no", "permitrootlogin yes"), ""
    return 0, SSHD_T, ""


def test_sshd_match_block_that_weakens_a_setting_fails(tmp_path):
    runner = FakeRunner({("/usr/sbin/sshd", "-T"): sshd_with_match})
    contexts = [{"user": "root", "host": "audit.invalid", "addr": "192.0.2.10"},
                {"user": "nobody", "host": "audit.invalid", "addr": "192.0.2.10"}]
    result = audit(tmp_path, [
        control("S-1", {"type": "sshd_setting", "key": "permitrootlogin", "expect": {"equals": "no"}, "contexts": contexts}),
        control("S-2", {"type": "sshd_setting", "key": "maxauthtries", "expect": {"max": 4}, "contexts": contexts}),
    ], runner=runner)
    assert status(result, "S-1")["status"] == "fail"
    assert "Match for addr=192.0.2.10,host=audit.invalid,user=root: permitrootlogin yes" in status(result, "S-1")["evidence"]
    assert status(result, "S-2")["status"] == "pass" and "same for 2 Match context(s)" in status(result, "S-2")["evidence"]
    # one sshd -T for the global configuration and one per context, shared by every control
    assert sorted(" ".join(call) for call in runner.calls) == [
        "/usr/sbin/sshd -T", "/usr/sbin/sshd -T -C addr=192.0.2.10,host=audit.invalid,user=nobody",
        "/usr/sbin/sshd -T -C addr=192.0.2.10,host=audit.invalid,user=root"]


@pytest.mark.parametrize("contexts, message", [
    ({"user": "root"}, "must be a list"),
    ([{"user": "root", "addr": "192.0.2.1"}], "needs user, host, addr"),
    ([{"user": "root,x", "host": "h", "addr": "192.0.2.1"}], "must be one word"),
    ([{"user": "root", "host": "h", "addr": "192.0.2.1", "group": "x"}], "needs user, host, addr"),
])
def test_sshd_bad_contexts_are_refused(contexts, message):
    with pytest.raises(common.CatalogError, match=message):
        catalog.validate_control(control(check={"type": "sshd_setting", "key": "x", "expect": {"equals": "no"},
                                                "contexts": contexts}))


# ----------------------------------------------------------------------------- bad input: clear errors

def test_unknown_cis_id_is_refused_when_the_benchmark_ids_are_known(tmp_path):
    entry = control(check={"type": "file", "path": "/etc/x"})
    entry["frameworks"]["cis_debian12"] = ["1.1.1.1", "99.9.9"]
    with pytest.raises(common.CatalogError, match=r"control T-001: unknown CIS Debian Linux 12 Benchmark v1.1.0 "
                                                  r"recommendation id\(s\) 99.9.9"):
        engine.run_audit([entry], probe=host_probe.Probe(runner=FakeRunner(), root=str(tmp_path)), cis_ids=["1.1.1.1"])
    # without the benchmark's ids the reference is only checked for its form (catalog test)
    assert catalog.validate_catalog([entry])[0]["frameworks"]["cis_debian12"] == ["1.1.1.1", "99.9.9"]


def test_unknown_check_type_names_the_control_and_its_file():
    entry = control(check={"type": "sshd_effective", "key": "x"}, source="ssh.yml")
    with pytest.raises(common.CatalogError, match=r"control T-001 \(ssh.yml\): unknown check type 'sshd_effective'; "
                                                  r"known: .*systemd"):
        catalog.validate_catalog([entry])


# ----------------------------------------------------------------------------- kernel_module (modprobe.d as kmod reads it)

def test_kernel_module_first_install_wins_across_modprobe_dirs(tmp_path):
    write(tmp_path, "/etc/modprobe.d/hardening.conf", "blacklist cramfs\ninstall cramfs /bin/false\n"
                                                      "blacklist udf\ninstall udf /bin/false\ninstall sctp /bin/true\n")
    # an earlier-sorting drop-in in a lower-priority directory replaces udf's install command
    write(tmp_path, "/usr/local/lib/modprobe.d/00-planted.conf", "install udf /sbin/modprobe --ignore-install udf\n")
    # the same file name in /etc masks the one in /lib: its line does not count
    write(tmp_path, "/lib/modprobe.d/hardening.conf", "install rds /bin/false\n")
    write(tmp_path, "/proc/modules", "sctp 409600 2 - Live 0x0\n")
    controls = [control("K-%d" % i, {"type": "kernel_module", "module": name, "blacklisted": blacklisted})
                for i, (name, blacklisted) in enumerate([("cramfs", True), ("udf", True), ("sctp", False), ("rds", False)], 1)]
    result = audit(tmp_path, controls, live_sysctl="always")
    got = dict((r["id"], r["status"]) for r in result["controls"])
    assert got == {"K-1": "pass", "K-2": "fail", "K-3": "fail", "K-4": "fail"}
    assert "install udf /sbin/modprobe --ignore-install udf (/usr/local/lib/modprobe.d/00-planted.conf:1)" \
        in status(result, "K-2")["evidence"]
    assert "loaded now" in status(result, "K-3")["evidence"]
    assert "no install command for rds" in status(result, "K-4")["evidence"]
    # in a container /proc/modules is the host's: not judged
    assert status(audit(tmp_path, controls, live_sysctl="never"), "K-3")["status"] == "pass"


@given(st.text(max_size=200))
def test_modprobe_parser_never_raises(text):
    for command, module, unused_rest, number in parsers.parse_modprobe_conf(text):
        assert command and module and "-" not in module and number >= 1
