# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The compliance check engine: validates a control catalog and evaluates it on one host.

Read-only by construction: it reads files, runs read-only commands (``dpkg-query``,
``systemctl show``, ``sshd -T``, ``systemd-analyze security``, operator-listed commands with a
timeout) and opens TLS connections. It never writes. Expensive probes run once per audit and
are cached (one ``dpkg-query``, one ``sshd -T``, one batched ``systemctl show``, one batched
``systemd-analyze security``, one parse of the textfile directory).

A control::

    id: SSH-001                      # unique, [A-Z0-9][A-Z0-9._-]*
    title: SSH root login is disabled
    rationale: Why it matters.
    severity: critical|high|medium|low|info
    component: hardening             # free text, used to group reports
    applies_when: [{package: openssh-server}]   # all must hold, else not_applicable
    check: {type: sshd_setting, key: permitrootlogin, expect: {equals: "no"}}
    frameworks: {cis_debian12: ["5.1.20"], gdpr: ["Art. 32"], soc2: ["CC6.1"], ...}

A check value that is exactly ``"${name}"`` is replaced by ``parameters[name]`` (type kept), so
operators tune thresholds without editing the catalog. Standard library only; the metric checks
read the textfile directory with :mod:`textfile`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import fnmatch
import glob
import grp
import os
import pwd
import re
import socket
import ssl
import stat
import subprocess
import time
import warnings

try:
    from ansible_collections.prodready.platform.plugins.module_utils.textfile import (
        DEFAULT_TEXTFILE_DIR, MetricError, parse as parse_metrics)
except ImportError:  # on-host use next to textfile.py
    from textfile import DEFAULT_TEXTFILE_DIR, MetricError, parse as parse_metrics  # type: ignore

REPORT_SCHEMA_VERSION = "1.0"

STATUSES = ("pass", "fail", "error", "not_applicable", "waived")
SEVERITIES = ("critical", "high", "medium", "low", "info")
# Score weights: a failed critical control costs ten low ones; info controls are reported only.
SEVERITY_WEIGHTS = {"critical": 10, "high": 5, "medium": 3, "low": 1, "info": 0}
FRAMEWORKS = {
    "cis_debian12": "CIS Debian Linux 12 Benchmark v1.1.0",
    "gdpr": "EU GDPR (Regulation 2016/679)",
    "soc2": "SOC 2 Trust Services Criteria (2017, rev. 2022)",
    "pci_dss_4": "PCI DSS v4.0",
    "nist_800_53": "NIST SP 800-53 Rev. 5",
}
CONTROL_ID_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]*\Z")
CONTROL_KEYS = ("id", "title", "rationale", "severity", "component", "applies_when", "check", "frameworks", "source",
                "remediation")
CONDITION_KEYS = ("package", "package_absent", "path", "unit", "container", "metric", "parameter", "any")
COMPARATOR_KEYS = ("equals", "not_equals", "in", "not_in", "min", "max", "regex", "not_regex", "items_exclude",
                   "items_include", "min_seconds", "max_seconds", "present")
EVIDENCE_MAX = 600
CONTAINER_TYPES = ("docker", "podman", "lxc", "lxc-libvirt", "container", "systemd-nspawn", "openvz", "wsl")
ENABLED_STATES = ("enabled", "enabled-runtime", "alias", "static", "generated", "indirect")
TLS_VERSIONS = {
    "TLSv1": "TLSv1", "TLSv1.0": "TLSv1", "TLSv1.1": "TLSv1_1", "TLSv1.2": "TLSv1_2", "TLSv1.3": "TLSv1_3",
}


class CatalogError(ValueError):
    """A catalog entry, waiver, parameter or filter that cannot be evaluated; names the entry."""


class CheckError(Exception):
    """A check could not be evaluated on this host (status ``error``)."""


def _short(text, limit=EVIDENCE_MAX):
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


# --------------------------------------------------------------------------- comparisons

_SPAN_UNITS = [
    (("us", "usec"), 1e-6), (("ms", "msec"), 1e-3), (("s", "sec", "second", "seconds"), 1),
    (("m", "min", "minute", "minutes"), 60), (("h", "hr", "hour", "hours"), 3600),
    (("d", "day", "days"), 86400), (("w", "week", "weeks"), 604800),
    (("M", "month", "months"), 2629800), (("y", "year", "years"), 31557600),
]


def parse_timespan(text):
    """Parse a systemd time span (``365day``, ``1y 2w``, ``90``) into seconds; None if not one."""
    text = str(text).strip()
    if not text:
        return None
    if re.match(r"^\d+(\.\d+)?$", text):
        return float(text)
    total = 0.0
    position = 0
    for match in re.finditer(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*", text):
        if match.start() != position:
            return None
        unit = match.group(2)
        for names, factor in _SPAN_UNITS:
            if unit in names or (unit.lower() in names and unit != "M"):
                total += float(match.group(1)) * factor
                break
        else:
            return None
        position = match.end()
    return total if position == len(text) else None


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _same(text, operand):
    """Case-insensitive equality; numbers compare as numbers (a metric's 1.0 equals 1)."""
    left, right = _number(text), _number(operand)
    if left is not None and right is not None:
        return left == right
    return text.lower() == str(operand).strip().lower()


def _items(value):
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            out.extend(_items(item))
        return out
    return [item for item in re.split(r"[,\s]+", str(value).strip()) if item]


def validate_comparator(spec, where):
    if not isinstance(spec, dict) or not spec:
        raise CatalogError("%s: 'expect' must be a non-empty mapping with any of %s" % (where, ", ".join(COMPARATOR_KEYS)))
    for key, operand in spec.items():
        if key not in COMPARATOR_KEYS:
            raise CatalogError("%s: unknown comparison %r in 'expect'; known: %s" % (where, key, ", ".join(COMPARATOR_KEYS)))
        if key in ("min", "max", "min_seconds", "max_seconds") and _number(operand) is None:
            raise CatalogError("%s: 'expect.%s' must be a number, got %r" % (where, key, operand))
        if key in ("in", "not_in", "items_exclude", "items_include") and not isinstance(operand, list):
            raise CatalogError("%s: 'expect.%s' must be a list" % (where, key))
        if key in ("regex", "not_regex"):
            try:
                re.compile(str(operand))
            except re.error as exc:
                raise CatalogError("%s: 'expect.%s' is not a valid regex: %s" % (where, key, exc))


def compare(value, spec):
    """Return ``(ok, explanation)``; ``value`` None means "not set"."""
    if value is None:
        if spec.get("present") is False:
            return True, "not set"
        return False, "not set"
    text = str(value).strip()
    problems = []
    for key, operand in spec.items():
        if key == "present":
            if not operand:
                problems.append("is set (%r) but must not be" % text)
        elif key == "equals":
            if not _same(text, operand):
                problems.append("%r != %r" % (text, str(operand)))
        elif key == "not_equals":
            if _same(text, operand):
                problems.append("%r must not be %r" % (text, str(operand)))
        elif key == "in":
            if not any(_same(text, o) for o in operand):
                problems.append("%r not in %s" % (text, operand))
        elif key == "not_in":
            if any(_same(text, o) for o in operand):
                problems.append("%r is one of %s" % (text, operand))
        elif key in ("min", "max"):
            number = _number(text)
            if number is None:
                problems.append("%r is not a number" % text)
            elif key == "min" and number < float(operand):
                problems.append("%s < %s" % (text, operand))
            elif key == "max" and number > float(operand):
                problems.append("%s > %s" % (text, operand))
        elif key in ("min_seconds", "max_seconds"):
            seconds = parse_timespan(text)
            if seconds is None:
                problems.append("%r is not a time span" % text)
            elif key == "min_seconds" and seconds < float(operand):
                problems.append("%s (%ds) < %ds" % (text, seconds, float(operand)))
            elif key == "max_seconds" and seconds > float(operand):
                problems.append("%s (%ds) > %ds" % (text, seconds, float(operand)))
        elif key == "regex":
            if not re.search(str(operand), text):
                problems.append("%r does not match /%s/" % (text, operand))
        elif key == "not_regex":
            if re.search(str(operand), text):
                problems.append("%r matches forbidden /%s/" % (text, operand))
        elif key == "items_exclude":
            bad = [i for i in _items(text) if any(fnmatch.fnmatch(i.lower(), str(p).lower()) for p in operand)]
            if bad:
                problems.append("contains forbidden %s" % ", ".join(bad))
        elif key == "items_include":
            have = [i.lower() for i in _items(text)]
            missing = [str(p) for p in operand if str(p).lower() not in have]
            if missing:
                problems.append("lacks %s" % ", ".join(missing))
    if problems:
        return False, "; ".join(problems)
    return True, repr(text)


# --------------------------------------------------------------------------- host probes

def default_runner(argv, timeout, env=None):
    """Run ``argv`` without a shell; return ``(rc, stdout, stderr)``. Raises CheckError on timeout."""
    run_env = dict(os.environ)
    run_env.update({"LC_ALL": "C", "LANG": "C", "SYSTEMD_PAGER": "", "PAGER": "cat", "SYSTEMD_COLORS": "0"})
    if env:
        run_env.update(env)
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=run_env, close_fds=True)
    except OSError as exc:
        raise CheckError("cannot run %s: %s" % (argv[0], exc.strerror or exc))
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise CheckError("%s timed out after %ss" % (" ".join(argv), timeout))
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


# systemd-sysctl(8) and procps `sysctl --system` (sysctl.d(5)): a file name in an earlier directory
# masks the same name in a later one; the surviving files apply in lexical order of their names
# across all directories, /etc/sysctl.conf last; a later assignment of a key overrides an earlier one.
SYSCTL_DIRS = ("/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d")


def parse_sysctl_conf(text):
    """``[(key, value, line_number)]`` of one sysctl.d file, as systemd-sysctl reads it.

    Comments start a line with ``#`` or ``;``; a leading ``-`` only silences errors; ``/`` in a
    key is ``.``; runs of whitespace in a value are one space (as /proc/sys prints them).
    """
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.strip().lstrip("-").strip()
        if "/" in key:
            key = key.replace("/", ".")
        if key:
            found.append((key, " ".join(value.split()), number))
    return found


# The filesystem-wide walk (check type ``filesystem``). Never descended: kernel and runtime trees
# that hold no persistent files; container image storage, whose trees are other systems' root
# filesystems (audit those containers themselves); and mount points of pseudo or network
# filesystems, whose walk is either meaningless or slow and belongs to the host that exports them.
FS_SKIP_TREES = ("/proc", "/sys", "/dev", "/run", "/var/lib/docker", "/var/lib/containers/storage")
FS_SKIP_TYPES = frozenset((
    "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "securityfs", "debugfs", "tracefs", "configfs",
    "fusectl", "mqueue", "hugetlbfs", "pstore", "bpf", "binfmt_misc", "autofs", "efivarfs", "selinuxfs",
    "rpc_pipefs", "nsfs", "nfsd", "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "ceph", "glusterfs",
    "lustre", "gpfs", "9p", "davfs", "sshfs", "fuse", "fuseblk"))
# Bounds: a host with more than this is audited with error, not with a silently partial pass.
FS_SCAN_MAX_ENTRIES = 3000000
FS_SCAN_MAX_SECONDS = 60.0
FS_PROPERTIES = ("suid_sgid", "world_writable_dirs", "world_writable_files", "unowned", "root_path")
FS_EVIDENCE_ITEMS = 20


def parse_mounts(text):
    """``[(mount_point, fstype)]`` from /proc/self/mounts (octal escapes such as ``\\040`` decoded)."""
    found = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), parts[1])
            found.append((point, parts[2]))
    return found


def parse_apt_config_dump(text):
    """``{key: value}`` from ``apt-config dump``; a list (``Key:: "item";``) becomes its items joined by ", ".

    apt-config has already merged apt.conf, every apt.conf.d file in order and APT_CONFIG, so
    this is the configuration apt and unattended-upgrades actually use.
    """
    values, lists = {}, {}
    for line in text.splitlines():
        line = line.strip()
        match = re.match(r'^(\S+?)(::)?\s+"(.*)";$', line)
        if not match:
            continue
        key, is_item, value = match.group(1), match.group(2), match.group(3)
        if is_item:
            lists.setdefault(key, []).append(value)
            values[key] = ", ".join(lists[key])
        elif key not in lists or value:
            values[key] = value
    return values


# sudoers(5): what sudo reads, includes followed. Files an includedir skips: names that end in
# "~" or contain "." (editor backups, dpkg leftovers).
SUDOERS_MAX_DEPTH = 8
_SUDO_INCLUDE_RE = re.compile(r"^[#@](include|includedir)\s+(.+?)\s*$")
_SUDO_DEFAULTS_RE = re.compile(r"^Defaults([:@!>]\S+)?\s+(.*)$")


def _split_outside_quotes(text, separator=","):
    parts, current, quoted, escaped = [], "", False, False
    for char in text:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            current += char
            escaped = True
        elif char == '"':
            quoted = not quoted
            current += char
        elif char == separator and not quoted:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return [p for p in parts if p]


def parse_sudoers_lines(text):
    """``[(kind, payload, line_number)]`` of one sudoers file; kinds: include, includedir, defaults, rule.

    ``defaults`` payload: ``(scope, [(name, value)])`` where a bare flag is ``"on"`` and ``!flag``
    is ``"off"``; ``rule`` payload: the user specification, continuation lines joined.
    """
    found = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        line = (pending + raw).strip()
        pending = ""
        include = _SUDO_INCLUDE_RE.match(line)
        if include:
            found.append((include.group(1), include.group(2).strip('"'), start))
            continue
        # "#" starts a comment, except "#123" (a uid in a user list)
        line = re.sub(r"(^|\s)#(?!\d).*$", "", line).strip()
        if not line or re.match(r"^(User|Runas|Host|Cmnd|Cmd)_Alias\b", line):
            continue
        defaults = _SUDO_DEFAULTS_RE.match(line)
        if defaults:
            settings = []
            for item in _split_outside_quotes(defaults.group(2)):
                match = re.match(r"^(!*)\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:([+-]?=)\s*(.*))?$", item)
                if not match:
                    continue
                if match.group(3):
                    settings.append((match.group(2), match.group(4).strip().strip('"')))
                else:
                    settings.append((match.group(2), "off" if len(match.group(1)) % 2 else "on"))
            found.append(("defaults", (defaults.group(1) or "", settings), start))
        else:
            found.append(("rule", " ".join(line.split()), start))
    return found


def nopasswd_all(rule):
    """True when a user specification lets its users run ALL without a password."""
    if "=" not in rule:
        return False
    nopasswd = False
    for command in _split_outside_quotes(rule.split("=", 1)[1]):
        command = re.sub(r"^\([^)]*\)\s*", "", command)
        while True:
            tag = re.match(r"^([A-Z_]+)\s*:\s*", command)
            if not tag:
                break
            if tag.group(1) in ("NOPASSWD", "PASSWD"):
                nopasswd = tag.group(1) == "NOPASSWD"
            command = command[tag.end():]
        if nopasswd and command.strip() == "ALL":
            return True
    return False


class Probe(object):
    """Reads host state once and caches it for every control of one audit."""

    def __init__(self, runner=None, root="/", textfile_dir=DEFAULT_TEXTFILE_DIR, live_sysctl="auto",
                 command_timeout=10, now=None):
        self.run = runner or default_runner
        self.root = root
        self.textfile_dir = textfile_dir
        self.live_sysctl = live_sysctl
        self.command_timeout = command_timeout
        self.now = now if now is not None else time.time()
        self._cache = {}
        self.timings = {}

    # paths are resolved under ``root`` so unit tests can audit a fake tree
    def path(self, path):
        if self.root in ("/", ""):
            return path
        return os.path.join(self.root, path.lstrip("/"))

    def unroot(self, path):
        if self.root in ("/", ""):
            return path
        return "/" + os.path.relpath(path, self.root)

    def glob(self, pattern):
        return sorted(glob.glob(self.path(pattern)))

    def _timed(self, name, func):
        if name not in self._cache:
            start = time.time()
            try:
                self._cache[name] = (True, func())
            except CheckError as exc:
                self._cache[name] = (False, exc)
            self.timings[name] = round(time.time() - start, 4)
        ok, value = self._cache[name]
        if not ok:
            raise value
        return value

    def container(self):
        def detect():
            marker = self.path("/run/systemd/container")
            if os.path.exists(marker):
                with open(marker) as handle:
                    return handle.read().strip() or "container"
            if os.path.exists(self.path("/.dockerenv")):
                return "docker"
            if os.path.exists(self.path("/run/.containerenv")):
                return "podman"
            return ""
        return self._timed("container", detect)

    def packages(self):
        def read():
            rc, out, err = self.run(["dpkg-query", "-W", "-f", "${Package}\t${db:Status-Abbrev}\t${Version}\n"],
                                    self.command_timeout)
            if rc != 0:
                raise CheckError("dpkg-query failed (rc %d): %s" % (rc, err.strip()))
            installed = {}
            for line in out.splitlines():
                parts = line.split("\t")
                if len(parts) == 3 and parts[1].strip() in ("ii", "hi"):
                    installed[parts[0].split(":")[0]] = parts[2]
            return installed
        return self._timed("packages", read)

    def sshd(self):
        def read():
            binary = "/usr/sbin/sshd"
            rc, out, err = self.run([binary, "-T"], self.command_timeout)
            if rc != 0:
                raise CheckError("sshd -T failed (rc %d): %s" % (rc, _short(err.strip(), 300)))
            settings = {}
            for line in out.splitlines():
                parts = line.strip().split(None, 1)
                if parts:
                    settings.setdefault(parts[0].lower(), []).append(parts[1] if len(parts) > 1 else "")
            return settings
        return self._timed("sshd", read)

    def apt_config(self):
        """The effective apt configuration, one ``apt-config dump`` per audit."""
        def read():
            rc, out, err = self.run(["apt-config", "dump"], self.command_timeout)
            if rc != 0:
                raise CheckError("apt-config dump failed (rc %d): %s" % (rc, _short(err.strip(), 300)))
            return parse_apt_config_dump(out)
        return self._timed("apt_config", read)

    def sudoers(self):
        """``[(kind, payload, "file:line")]`` of /etc/sudoers and everything it includes, in sudo's order."""
        def read():
            entries, seen = [], set()

            def read_file(path, depth):
                real = os.path.realpath(path)
                if depth > SUDOERS_MAX_DEPTH or real in seen:
                    return  # sudo refuses include loops too
                seen.add(real)
                try:
                    with open(path) as handle:
                        text = handle.read()
                except (IOError, OSError) as exc:
                    if depth == 0:
                        raise CheckError("cannot read %s: %s" % (self.unroot(path), exc.strerror))
                    return
                for kind, payload, number in parse_sudoers_lines(text):
                    where = "%s:%d" % (self.unroot(path), number)
                    if kind in ("include", "includedir"):
                        # sudo 1.9: a relative path is relative to the including file's directory
                        target = payload if payload.startswith("/") else os.path.join(
                            os.path.dirname(self.unroot(path)), payload)
                        if kind == "include":
                            read_file(self.path(target), depth + 1)
                            continue
                        try:
                            names = sorted(os.listdir(self.path(target)))
                        except OSError:
                            continue
                        for name in names:
                            full = os.path.join(self.path(target), name)
                            if not name.endswith("~") and "." not in name and os.path.isfile(full):
                                read_file(full, depth + 1)
                    else:
                        entries.append((kind, payload, where))

            read_file(self.path("/etc/sudoers"), 0)
            return entries
        return self._timed("sudoers", read)

    def sysctl_files(self):
        """The files ``sysctl --system`` reads, in the order it applies them (see SYSCTL_DIRS)."""
        by_name = {}
        for directory in SYSCTL_DIRS:
            for path in self.glob(directory + "/*.conf"):
                # the first directory holding a name wins: /etc/sysctl.d/x.conf masks /usr/lib/sysctl.d/x.conf
                by_name.setdefault(os.path.basename(path), path)
        files = [by_name[name] for name in sorted(by_name)]
        conf = self.path("/etc/sysctl.conf")
        # Debian links /etc/sysctl.d/99-sysctl.conf to ../sysctl.conf: read it once, where it applies.
        if os.path.isfile(conf) and not any(os.path.realpath(f) == os.path.realpath(conf) for f in files):
            files.append(conf)
        return files

    def sysctl_persistent(self):
        """``{key: [(value, "file:line"), ...]}``: every assignment in apply order, the last one wins."""
        def read():
            values = {}
            for path in self.sysctl_files():
                try:
                    with open(path) as handle:
                        text = handle.read()
                except (IOError, OSError):
                    continue
                for key, value, number in parse_sysctl_conf(text):
                    values.setdefault(key, []).append((value, "%s:%d" % (self.unroot(path), number)))
            return values
        return self._timed("sysctl", read)

    def sysctl_live(self, key):
        path = self.path("/proc/sys/" + key.replace(".", "/"))
        try:
            with open(path) as handle:
                return " ".join(handle.read().split())
        except (IOError, OSError) as exc:
            raise CheckError("cannot read %s: %s" % (path, exc.strerror))

    def check_live_sysctl(self):
        if self.live_sysctl == "never":
            return False
        if self.live_sysctl == "always":
            return True
        return not self.container()

    def skipped_mounts(self):
        """Mount points the walk does not enter: pseudo, network and FUSE filesystems."""
        try:
            with open(self.path("/proc/self/mounts")) as handle:
                mounts = parse_mounts(handle.read())
        except (IOError, OSError):
            mounts = []
        return sorted(set(point for point, fstype in mounts
                          if fstype in FS_SKIP_TYPES or fstype.startswith("fuse.")) - set(["/"]))

    def id_names(self):
        """uids and gids that have a passwd/group entry (NSS on the real root, the files under a fake one)."""
        def read():
            if self.root not in ("/", ""):
                ids = []
                for name in ("/etc/passwd", "/etc/group"):
                    known = set()
                    try:
                        with open(self.path(name)) as handle:
                            for line in handle:
                                parts = line.split(":")
                                if len(parts) > 2 and parts[2].strip().isdigit():
                                    known.add(int(parts[2]))
                    except (IOError, OSError):
                        pass
                    ids.append(known)
                return tuple(ids)
            return set(e.pw_uid for e in pwd.getpwall()), set(e.gr_gid for e in grp.getgrall())
        return self._timed("id_names", read)

    def _known_id(self, number, users):
        # NSS sources that do not enumerate (LDAP, sssd) still answer a lookup: ask once per id.
        known = self.id_names()[0 if users else 1]
        if number in known:
            return True
        if self.root not in ("/", ""):
            return False
        try:
            (pwd.getpwuid if users else grp.getgrgid)(number)
        except KeyError:
            return False
        known.add(number)
        return True

    def filesystem(self):
        """One walk of the local filesystems, shared by every ``filesystem`` control.

        ``{property: [(path, mode, uid, gid)], "entries": n, "seconds": s, "skipped": [...]}``.
        Only offenders are kept, so memory stays small on large trees.
        """
        def walk():
            start = time.time()
            skipped = set(FS_SKIP_TREES) | set(self.skipped_mounts())
            skip_real = set(self.path(p).rstrip("/") for p in skipped)
            found = dict((name, []) for name in FS_PROPERTIES if name != "root_path")
            unknown = {}
            entries = 0
            stack = [self.path("/")]
            while stack:
                directory = stack.pop()
                try:
                    iterator = os.scandir(directory)
                except OSError:
                    continue  # vanished or unreadable: nothing to judge
                with iterator:
                    for entry in iterator:
                        entries += 1
                        if entries % 10000 == 0 and time.time() - start > FS_SCAN_MAX_SECONDS:
                            raise CheckError("filesystem walk stopped after %ds (%d entries): set narrower "
                                             "mounts or raise FS_SCAN_MAX_SECONDS" % (FS_SCAN_MAX_SECONDS, entries))
                        if entries > FS_SCAN_MAX_ENTRIES:
                            raise CheckError("filesystem walk stopped after %d entries" % FS_SCAN_MAX_ENTRIES)
                        try:
                            info = entry.stat(follow_symlinks=False)
                        except OSError:
                            continue
                        mode = info.st_mode
                        if stat.S_ISLNK(mode):
                            continue  # a link's own mode is always 0777; its target is judged where it lives
                        row = None
                        is_dir = stat.S_ISDIR(mode)
                        if is_dir:
                            if entry.path not in skip_real:
                                stack.append(entry.path)
                            if mode & stat.S_IWOTH and not mode & stat.S_ISVTX:
                                row = (self.unroot(entry.path), stat.S_IMODE(mode), info.st_uid, info.st_gid)
                                found["world_writable_dirs"].append(row)
                        elif stat.S_ISREG(mode):
                            if mode & (stat.S_ISUID | stat.S_ISGID):
                                row = (self.unroot(entry.path), stat.S_IMODE(mode), info.st_uid, info.st_gid)
                                found["suid_sgid"].append(row)
                            if mode & stat.S_IWOTH:
                                row = row or (self.unroot(entry.path), stat.S_IMODE(mode), info.st_uid, info.st_gid)
                                found["world_writable_files"].append(row)
                        ids = (info.st_uid, info.st_gid)
                        if ids not in unknown:
                            unknown[ids] = not (self._known_id(info.st_uid, True) and self._known_id(info.st_gid, False))
                        if unknown[ids]:
                            found["unowned"].append(
                                row or (self.unroot(entry.path), stat.S_IMODE(mode), info.st_uid, info.st_gid))
            found["entries"] = entries
            found["seconds"] = round(time.time() - start, 3)
            found["skipped"] = sorted(skipped)
            return found
        return self._timed("filesystem", walk)

    def root_path_dirs(self, extra):
        """The directories of root's PATH: ``extra`` PATH strings plus ENV_SUPATH/ENV_PATH of login.defs."""
        paths = [str(p) for p in extra]
        try:
            with open(self.path("/etc/login.defs")) as handle:
                for line in handle:
                    match = re.match(r"^\s*ENV_(?:SU)?PATH\s+(?:PATH=)?(\S+)", line)
                    if match:
                        paths.append(match.group(1))
        except (IOError, OSError):
            pass
        dirs = []
        for value in paths:
            for item in value.split(":"):
                if item not in dirs:
                    dirs.append(item)
        return dirs

    def prefetch_units(self, names):
        """One ``systemctl show`` for every unit the audit needs."""
        names = sorted(set(n for n in names if n))
        wanted = [n for n in names if n not in self._cache.get("units", {})]
        if not wanted:
            return
        start = time.time()
        units = self._cache.setdefault("units", {})
        rc, out, err = self.run(["systemctl", "show", "--no-pager",
                                 "--property=Id,LoadState,ActiveState,SubState,UnitFileState", "--"] + wanted,
                                self.command_timeout)
        blocks = [b for b in re.split(r"\n\s*\n", out.strip()) if b.strip()] if out.strip() else []
        if rc != 0 and len(blocks) != len(wanted):
            for name in wanted:
                units[name] = CheckError("systemctl show failed (rc %d): %s" % (rc, _short(err.strip(), 200)))
        else:
            for name, block in zip(wanted, blocks):
                props = {}
                for line in block.splitlines():
                    if "=" in line:
                        key, value = line.split("=", 1)
                        props[key] = value
                units[name] = props
        self.timings["systemctl_show"] = round(self.timings.get("systemctl_show", 0) + time.time() - start, 4)

    def unit(self, name):
        units = self._cache.get("units", {})
        if name not in units:
            self.prefetch_units([name])
            units = self._cache["units"]
        value = units.get(name)
        if isinstance(value, CheckError):
            raise value
        return value or {"LoadState": "not-found"}

    def prefetch_exposure(self, names):
        """One ``systemd-analyze security`` for every loaded unit whose exposure is checked."""
        exposure = self._cache.setdefault("exposure", {})
        loaded = [n for n in sorted(set(names)) if n not in exposure and self.unit(n).get("LoadState") == "loaded"]
        if not loaded:
            return
        start = time.time()
        rc, out, err = self.run(["systemd-analyze", "security", "--no-pager"] + loaded, self.command_timeout * 3)
        found = dict((m.group(1), float(m.group(2)))
                     for m in re.finditer(r"Overall exposure level for (\S+):\s*([0-9.]+)", out))
        for name in loaded:
            if name in found:
                exposure[name] = found[name]
            else:
                exposure[name] = CheckError("systemd-analyze security gave no exposure for %s (rc %d): %s"
                                            % (name, rc, _short(err.strip(), 200)))
        self.timings["systemd_analyze"] = round(self.timings.get("systemd_analyze", 0) + time.time() - start, 4)

    def exposure(self, name):
        exposure = self._cache.setdefault("exposure", {})
        if name not in exposure:
            self.prefetch_exposure([name])
        value = exposure.get(name)
        if value is None:
            raise CheckError("unit %s is not loaded" % name)
        if isinstance(value, CheckError):
            raise value
        return value

    def metrics(self):
        """Every sample in the textfile directory: ``[(name, labels, value, file, mtime)]`` and parse errors."""
        def read():
            samples, errors = [], []
            for path in sorted(glob.glob(os.path.join(self.path(self.textfile_dir), "*.prom"))):
                try:
                    with open(path) as handle:
                        text = handle.read()
                    mtime = os.stat(path).st_mtime
                    for name, labels, value in parse_metrics(text):
                        samples.append((name, labels, value, os.path.basename(path), mtime))
                except (IOError, OSError, MetricError) as exc:
                    errors.append("%s: %s" % (os.path.basename(path), exc))
            return samples, errors
        return self._timed("metrics", read)


# --------------------------------------------------------------------------- check types

def _require(check, where, *keys):
    # An empty list is allowed: it comes from a list parameter (e.g. no service units deployed)
    # and the control's applies_when decides whether it is evaluated at all.
    for key in keys:
        if key not in check or check[key] is None or check[key] == "":
            raise CatalogError("%s: check type %s needs '%s'" % (where, check.get("type"), key))


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _mode(value, where, key):
    try:
        mode = int(str(value), 8)
    except ValueError:
        raise CatalogError("%s: '%s' must be an octal mode string such as \"0644\", got %r" % (where, key, value))
    if mode < 0 or mode > 0o7777:
        raise CatalogError("%s: '%s' out of range: %r" % (where, key, value))
    return mode


# file: path (glob), state present|absent, type, owner, group, mode (exact) or mode_max (no extra bits)
def _validate_file(check, where):
    _require(check, where, "path")
    if check.get("state", "present") not in ("present", "absent"):
        raise CatalogError("%s: 'state' must be present or absent" % where)
    if check.get("file_type", "any") not in ("any", "file", "directory", "link"):
        raise CatalogError("%s: 'file_type' must be any, file, directory or link" % where)
    for key in ("mode", "mode_max"):
        if key in check:
            _mode(check[key], where, key)


def _eval_file(check, probe):
    paths = []
    for pattern in _as_list(check["path"]):
        paths.extend(probe.glob(pattern))
    if check.get("state", "present") == "absent":
        if paths:
            return False, "exists: %s" % ", ".join(probe.unroot(p) for p in paths[:5])
        return True, "absent: %s" % ", ".join(_as_list(check["path"]))
    if not paths:
        return False, "missing: %s" % ", ".join(_as_list(check["path"]))
    problems, seen = [], []
    for path in paths:
        info = os.lstat(path)
        shown = probe.unroot(path)
        kind = check.get("file_type", "any")
        if kind == "file" and not stat.S_ISREG(info.st_mode) or kind == "directory" and not stat.S_ISDIR(info.st_mode) \
                or kind == "link" and not stat.S_ISLNK(info.st_mode):
            problems.append("%s is not a %s" % (shown, kind))
            continue
        if stat.S_ISLNK(info.st_mode) and kind != "link":
            info = os.stat(path)
        mode = stat.S_IMODE(info.st_mode)
        try:
            owner = pwd.getpwuid(info.st_uid).pw_name
        except KeyError:
            owner = str(info.st_uid)
        try:
            group = grp.getgrgid(info.st_gid).gr_name
        except KeyError:
            group = str(info.st_gid)
        seen.append("%s %04o %s:%s" % (shown, mode, owner, group))
        if "mode" in check and mode != int(str(check["mode"]), 8):
            problems.append("%s mode %04o, expected %s" % (shown, mode, check["mode"]))
        if "mode_max" in check and mode & ~int(str(check["mode_max"]), 8):
            problems.append("%s mode %04o exceeds %s" % (shown, mode, check["mode_max"]))
        if "owner" in check and owner not in _as_list(check["owner"]):
            problems.append("%s owner %s, expected %s" % (shown, owner, "/".join(_as_list(check["owner"]))))
        if "group" in check and group not in _as_list(check["group"]):
            problems.append("%s group %s, expected %s" % (shown, group, "/".join(_as_list(check["group"]))))
    if problems:
        return False, "; ".join(problems)
    return True, "; ".join(seen[:5]) + (" (+%d more)" % (len(seen) - 5) if len(seen) > 5 else "")


# tree_permissions: no file below root(s) has a forbidden mode bit (e.g. world-writable)
def _validate_tree(check, where):
    _require(check, where, "root")
    _mode(check.get("forbid_bits", "0002"), where, "forbid_bits")
    depth = check.get("max_depth", 4)
    if not isinstance(depth, int) or depth < 0:
        raise CatalogError("%s: 'max_depth' must be a non-negative integer" % where)


def _eval_tree(check, probe):
    forbid = int(str(check.get("forbid_bits", "0002")), 8)
    excludes = _as_list(check.get("exclude"))
    max_depth = check.get("max_depth", 4)
    allow_sticky_dirs = check.get("allow_sticky_dirs", True)
    offenders, scanned = [], 0
    for root in _as_list(check["root"]):
        top = probe.path(root)
        if not os.path.isdir(top):
            continue
        base_depth = top.rstrip("/").count("/")
        for dirpath, dirnames, filenames in os.walk(top):
            if dirpath.count("/") - base_depth >= max_depth:
                dirnames[:] = []
            for name in dirnames + filenames:
                full = os.path.join(dirpath, name)
                shown = probe.unroot(full)
                if any(fnmatch.fnmatch(shown, pattern) for pattern in excludes):
                    continue
                try:
                    info = os.lstat(full)
                except OSError:
                    continue
                scanned += 1
                if stat.S_ISLNK(info.st_mode):
                    continue
                if stat.S_ISDIR(info.st_mode) and allow_sticky_dirs and info.st_mode & stat.S_ISVTX:
                    continue
                if stat.S_IMODE(info.st_mode) & forbid:
                    offenders.append("%s %04o" % (shown, stat.S_IMODE(info.st_mode)))
    if offenders:
        return False, "%d path(s) with forbidden bits %s: %s" % (
            len(offenders), check.get("forbid_bits", "0002"), ", ".join(offenders[:10]))
    roots = ", ".join(_as_list(check["root"]))
    return True, "%d paths under %s, none with bits %s" % (scanned, roots, check.get("forbid_bits", "0002"))


# file_content: a regex is present / absent across a set of globs (comment lines ignored)
def _validate_content(check, where):
    _require(check, where, "paths", "pattern")
    if check.get("expect", "present") not in ("present", "absent"):
        raise CatalogError("%s: file_content 'expect' must be present or absent" % where)
    try:
        re.compile(check["pattern"])
    except re.error as exc:
        raise CatalogError("%s: 'pattern' is not a valid regex: %s" % (where, exc))


def _read_lines(path, ignore_comments):
    with open(path, "rb") as handle:
        text = handle.read(4 * 1024 * 1024).decode("utf-8", "replace")
    lines = text.splitlines()
    if ignore_comments:
        lines = ["" if line.lstrip().startswith(("#", ";")) else line for line in lines]
    return lines


def _eval_content(check, probe):
    files = []
    for pattern in _as_list(check["paths"]):
        files.extend(p for p in probe.glob(pattern) if os.path.isfile(p))
    regex = re.compile(check["pattern"], 0 if check.get("case_sensitive", True) else re.IGNORECASE)
    expect = check.get("expect", "present")
    hits = []
    for path in files:
        try:
            lines = _read_lines(path, check.get("ignore_comments", True))
        except (IOError, OSError) as exc:
            raise CheckError("cannot read %s: %s" % (probe.unroot(path), exc.strerror))
        for number, line in enumerate(lines, 1):
            if regex.search(line):
                hits.append("%s:%d: %s" % (probe.unroot(path), number, line.strip()[:160]))
    searched = ", ".join(_as_list(check["paths"]))
    if expect == "present":
        if hits:
            return True, "; ".join(hits[:3])
        if not files:
            return False, "no file matches %s" % searched
        return False, "/%s/ not found in %d file(s) matching %s" % (check["pattern"], len(files), searched)
    if hits:
        return False, "forbidden /%s/ found: %s" % (check["pattern"], "; ".join(hits[:5]))
    return True, "/%s/ absent from %d file(s) matching %s" % (check["pattern"], len(files), searched)


# config_value: the effective value of KEY across files read in order (last wins)
def _validate_config(check, where):
    _require(check, where, "paths", "key", "expect")
    validate_comparator(check["expect"], where)
    if check.get("occurrences", "last") not in ("last", "all"):
        raise CatalogError("%s: config_value 'occurrences' must be last or all" % where)


def _eval_config(check, probe):
    key = str(check["key"])
    separator = check.get("separator", r"\s*=\s*|\s+")
    regex = re.compile(r"^\s*(%s)(?:%s)(.*?)\s*$" % (re.escape(key), separator),
                       0 if check.get("case_sensitive", False) else re.IGNORECASE)
    found, files = [], 0
    for pattern in _as_list(check["paths"]):
        for path in probe.glob(pattern):
            if not os.path.isfile(path):
                continue
            files += 1
            try:
                lines = _read_lines(path, True)
            except (IOError, OSError) as exc:
                raise CheckError("cannot read %s: %s" % (probe.unroot(path), exc.strerror))
            section = None
            for number, line in enumerate(lines, 1):
                header = re.match(r"^\s*\[([^\]]+)\]\s*$", line)
                if header:
                    section = header.group(1)
                    continue
                if check.get("section") and section != check["section"]:
                    continue
                match = regex.match(line)
                if match:
                    found.append((match.group(2).strip().strip('"'), "%s:%d" % (probe.unroot(path), number)))
    if not found:
        ok, why = compare(None, check["expect"])
        return ok, "%s not set in %d file(s) matching %s" % (key, files, ", ".join(_as_list(check["paths"])))
    # "last": the effective value (later files and lines win); "all": every occurrence must comply
    # (e.g. one logrotate file per policy).
    chosen = found if check.get("occurrences", "last") == "all" else found[-1:]
    ok, parts = True, []
    for value, where in chosen:
        good, why = compare(value, check["expect"])
        ok = ok and good
        parts.append("%s = %s at %s%s" % (key, value, where, "" if good else ": " + why))
    return ok, "; ".join(parts)


# sshd_setting: the effective value from `sshd -T`
def _validate_sshd(check, where):
    _require(check, where, "key", "expect")
    validate_comparator(check["expect"], where)


def _eval_sshd(check, probe):
    settings = probe.sshd()
    key = str(check["key"]).lower()
    values = settings.get(key)
    value = None if values is None else " ".join(values)
    ok, why = compare(value, check["expect"])
    return ok, "sshd -T: %s %s (%s)" % (key, "unset" if value is None else value, why)


# sysctl: persistent value (sysctl.d + sysctl.conf) and, outside containers, the live one
def _validate_sysctl(check, where):
    _require(check, where, "key", "expect")
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


# service: enabled / active state of a unit (any of several alternatives)
def _validate_service(check, where):
    _require(check, where, "unit")
    if "enabled" not in check and "active" not in check:
        raise CatalogError("%s: service check needs 'enabled' and/or 'active'" % where)


def _service_units(check):
    return _as_list(check["unit"])


def _eval_service(check, probe):
    states = []
    check = dict(check)
    note = ""
    if check.get("active_outside_container_only") and probe.container() and "active" in check:
        del check["active"]  # e.g. auditd: enabled everywhere, running only where the kernel lets it
        note = " (active state not required in a container)"
        if "enabled" not in check:
            return True, "container: active state not required"
    for name in _service_units(check):
        props = probe.unit(name)
        enabled = props.get("UnitFileState", "") in ENABLED_STATES
        active = props.get("ActiveState") == "active"
        ok = True
        if "enabled" in check and bool(check["enabled"]) != enabled:
            ok = False
        if "active" in check and bool(check["active"]) != active:
            ok = False
        states.append((ok, "%s load=%s enabled=%s active=%s" % (
            name, props.get("LoadState", "?"), props.get("UnitFileState", "") or "-", props.get("ActiveState", "?"))))
    good = [s for ok, s in states if ok]
    if good:
        return True, good[0] + note
    return False, "; ".join(text for _ok, text in states) + " (wanted%s%s)" % (
        " enabled=%s" % check["enabled"] if "enabled" in check else "",
        " active=%s" % check["active"] if "active" in check else "")


# package: present / absent (all listed names)
def _validate_package(check, where):
    _require(check, where, "name")
    if check.get("state", "present") not in ("present", "absent"):
        raise CatalogError("%s: package 'state' must be present or absent" % where)


def _eval_package(check, probe):
    installed = probe.packages()
    names = _as_list(check["name"])
    if check.get("state", "present") == "present":
        missing = [n for n in names if n not in installed]
        if missing:
            return False, "not installed: %s" % ", ".join(missing)
        return True, ", ".join("%s %s" % (n, installed[n]) for n in names)
    present = [n for n in names if n in installed]
    if present:
        return False, "installed: %s" % ", ".join("%s %s" % (n, installed[n]) for n in present)
    return True, "none installed: %s" % ", ".join(names)


# unit_exposure: `systemd-analyze security` overall exposure <= max for every listed unit
def _validate_exposure(check, where):
    _require(check, where, "unit", "max")
    if _number(check["max"]) is None:
        raise CatalogError("%s: unit_exposure 'max' must be a number" % where)


def _eval_exposure(check, probe):
    results, ok = [], True
    units = _as_list(check["unit"])
    probe.prefetch_exposure(units)
    for name in units:
        if probe.unit(name).get("LoadState") != "loaded":
            results.append("%s not loaded" % name)
            ok = False
            continue
        level = probe.exposure(name)
        if level > float(check["max"]):
            ok = False
            results.append("%s exposure %.1f > %s" % (name, level, check["max"]))
        else:
            results.append("%s exposure %.1f <= %s" % (name, level, check["max"]))
    return ok, "; ".join(results)


# tls_endpoint: protocols refused/accepted and weak ciphers refused, with Python's ssl
def _validate_tls(check, where):
    _require(check, where, "port")
    for key in ("refuse", "accept"):
        for version in _as_list(check.get(key)):
            if version not in TLS_VERSIONS:
                raise CatalogError("%s: unknown TLS version %r in '%s'; known: %s" % (where, version, key,
                                                                                      ", ".join(sorted(TLS_VERSIONS))))
    if not check.get("refuse") and not check.get("accept") and not check.get("refuse_ciphers"):
        raise CatalogError("%s: tls_endpoint needs 'refuse', 'accept' or 'refuse_ciphers'" % where)


def _tls_handshake(host, port, server_name, version=None, ciphers=None, timeout=5):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # Security level 0 so the client can offer what it must prove the server refuses.
    context.set_ciphers((ciphers or "ALL") + ":@SECLEVEL=0")
    if version:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # offering TLS 1.0/1.1 is the point of the probe
            tls_version = getattr(ssl.TLSVersion, TLS_VERSIONS[version])
            context.minimum_version = tls_version
            context.maximum_version = tls_version
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as sock:
            with context.wrap_socket(sock, server_hostname=server_name or None) as tls:
                return True, "%s %s" % (tls.version(), (tls.cipher() or ("?",))[0])
    except ssl.SSLError as exc:
        return False, (exc.reason or str(exc))
    except ConnectionRefusedError:
        raise CheckError("cannot connect to %s:%s: connection refused" % (host, port))
    except (socket.timeout, ConnectionError) as exc:
        return False, "handshake aborted: %s" % exc
    except OSError as exc:
        raise CheckError("cannot connect to %s:%s: %s" % (host, port, exc.strerror or exc))


def _eval_tls(check, probe):
    host = check.get("host", "127.0.0.1")
    port = check["port"]
    name = check.get("server_name")
    timeout = min(float(check.get("timeout", 5)), float(probe.command_timeout))
    ok, evidence = True, []
    accepted_any = not check.get("accept")
    for version in _as_list(check.get("accept")):
        done, what = _tls_handshake(host, port, name, version, timeout=timeout)
        evidence.append("%s %s (%s)" % (version, "accepted" if done else "refused", what))
        accepted_any = accepted_any or done
    if not accepted_any:
        ok = False
    for version in _as_list(check.get("refuse")):
        done, what = _tls_handshake(host, port, name, version, timeout=timeout)
        evidence.append("%s %s (%s)" % (version, "ACCEPTED" if done else "refused", what))
        ok = ok and not done
    if check.get("refuse_ciphers"):
        done, what = _tls_handshake(host, port, name, "TLSv1.2", ciphers=check["refuse_ciphers"], timeout=timeout)
        evidence.append("weak ciphers %s %s (%s)" % (check["refuse_ciphers"], "ACCEPTED" if done else "refused", what))
        ok = ok and not done
    return ok, "%s:%s: %s" % (host, port, "; ".join(evidence))


# metric: a textfile sample's value (or its age when it is a timestamp) across matching samples
def _validate_metric(check, where):
    _require(check, where, "name")
    if "expect" not in check and "max_age_seconds" not in check and "file_max_age_seconds" not in check:
        raise CatalogError("%s: metric check needs 'expect', 'max_age_seconds' or 'file_max_age_seconds'" % where)
    if "expect" in check:
        validate_comparator(check["expect"], where)
    for key in ("max_age_seconds", "file_max_age_seconds"):
        if key in check and _number(check[key]) is None:
            raise CatalogError("%s: '%s' must be a number of seconds, got %r" % (where, key, check[key]))
    if check.get("aggregate", "each") not in ("each", "sum", "min", "max"):
        raise CatalogError("%s: metric 'aggregate' must be each, sum, min or max" % where)


def _eval_metric(check, probe):
    samples, errors = probe.metrics()
    labels = check.get("labels") or {}
    chosen = [s for s in samples if s[0] == check["name"]
              and all(s[1].get(k) == str(v) for k, v in labels.items())]
    if not chosen:
        if errors:
            raise CheckError("metric %s not found; unreadable textfiles: %s" % (check["name"], "; ".join(errors)))
        if check.get("missing_ok"):
            return True, "metric %s absent (allowed)" % check["name"]
        return False, "metric %s not found in %s/*.prom" % (check["name"], probe.textfile_dir)
    aggregate = check.get("aggregate", "each")
    values = [s[2] for s in chosen]
    if aggregate != "each":
        values = [{"sum": sum, "min": min, "max": max}[aggregate](values)]
    ok, evidence = True, []
    for index, value in enumerate(values):
        if aggregate == "each":
            label = chosen[index]
        else:
            label = (check["name"] + "(" + aggregate + ")", {}, value, chosen[0][3], chosen[0][4])
        label_text = "{%s}" % ",".join("%s=%s" % kv for kv in sorted(label[1].items())) if label[1] else ""
        shown = "%s%s=%s (%s)" % (label[0], label_text, "%g" % value, label[3])
        if "expect" in check:
            good, why = compare(value, check["expect"])
            if not good:
                ok = False
                shown += ": " + why
        if "max_age_seconds" in check:
            age = probe.now - value
            if age > float(check["max_age_seconds"]):
                ok = False
                shown += ": %ds old > %ss" % (age, check["max_age_seconds"])
            else:
                shown += ", %ds old" % age
        if "file_max_age_seconds" in check:
            age = probe.now - label[4]
            if age > float(check["file_max_age_seconds"]):
                ok = False
                shown += ": file written %ds ago > %ss" % (age, check["file_max_age_seconds"])
        evidence.append(shown)
    return ok, "; ".join(evidence[:6]) + (" (+%d more)" % (len(evidence) - 6) if len(evidence) > 6 else "")


# command: argv (no shell) with a timeout; expected exit codes and stdout comparison
def _validate_command(check, where):
    _require(check, where, "argv")
    if not isinstance(check["argv"], list) or not all(isinstance(a, (str, int)) for a in check["argv"]):
        raise CatalogError("%s: command 'argv' must be a list of strings (no shell)" % where)
    if "stdout" in check:
        validate_comparator(check["stdout"], where)
    if "timeout" in check and (_number(check["timeout"]) is None or float(check["timeout"]) <= 0):
        raise CatalogError("%s: command 'timeout' must be a positive number" % where)


def _eval_command(check, probe):
    argv = [str(a) for a in check["argv"]]
    timeout = float(check.get("timeout", probe.command_timeout))
    rc, out, err = probe.run(argv, timeout)
    allowed = [int(r) for r in _as_list(check.get("rc", [0]))]
    text = (out + (err if check.get("include_stderr") else "")).strip()
    if rc not in allowed:
        return False, "%s: rc %d not in %s: %s" % (" ".join(argv), rc, allowed, _short((err or out).strip(), 300))
    if "stdout" in check:
        ok, why = compare(text, check["stdout"])
        return ok, "%s: %s" % (" ".join(argv), _short(why, 400))
    return True, "%s: rc %d" % (" ".join(argv), rc)


# apt_config: the effective value from `apt-config dump` (a later apt.conf.d file wins)
def _validate_apt_config(check, where):
    _require(check, where, "key", "expect")
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
        _require(check, where, "setting", "expect")
        validate_comparator(check["expect"], where)
    elif check["forbid"] not in SUDOERS_FORBID:
        raise CatalogError("%s: sudoers 'forbid' must be one of %s" % (where, ", ".join(SUDOERS_FORBID)))


def _eval_sudoers(check, probe):
    entries = probe.sudoers()
    if "forbid" in check:
        allow = [str(a) for a in _as_list(check.get("allow"))]
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


# filesystem: one shared walk of the local filesystems (Probe.filesystem), one property per control
def _validate_filesystem(check, where):
    _require(check, where, "property")
    if check["property"] not in FS_PROPERTIES:
        raise CatalogError("%s: filesystem property must be one of %s, not %r"
                           % (where, ", ".join(FS_PROPERTIES), check["property"]))
    for key in ("allow", "path"):
        for item in _as_list(check.get(key)):
            if not isinstance(item, str):
                raise CatalogError("%s: '%s' must be a list of strings" % (where, key))


def _allowed(path, patterns):
    return any(path == p or fnmatch.fnmatch(path, p) for p in patterns)


def _root_path_offenders(check, probe):
    offenders = []
    for item in probe.root_path_dirs(_as_list(check.get("path"))):
        if item in ("", ".") or not item.startswith("/"):
            offenders.append("%r (empty, '.' or relative: the current directory is searched)" % item)
            continue
        try:
            info = os.stat(probe.path(item))  # follows /bin -> usr/bin: the directory actually searched
        except OSError:
            offenders.append("%s (missing: whoever creates it first plants commands)" % item)
            continue
        if not stat.S_ISDIR(info.st_mode):
            offenders.append("%s (not a directory)" % item)
        elif info.st_uid != 0 or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            offenders.append("%s %04o uid %d" % (item, stat.S_IMODE(info.st_mode), info.st_uid))
    return offenders


def _eval_filesystem(check, probe):
    prop = check["property"]
    allow = [str(p) for p in _as_list(check.get("allow"))]
    if prop == "root_path":
        offenders = [o for o in _root_path_offenders(check, probe) if not _allowed(o.split(" ")[0], allow)]
        scope = "root's PATH"
    else:
        scan = probe.filesystem()
        offenders = ["%s %04o %d:%d" % row for row in scan[prop] if not _allowed(row[0], allow)]
        # the fixed trees by name, mounts by count: a container lists dozens of cgroup mounts
        mounts = len(set(scan["skipped"]) - set(FS_SKIP_TREES))
        scope = "%d entries in %.2fs, not entering %s and %d pseudo/network mount(s)" % (
            scan["entries"], scan["seconds"], ", ".join(FS_SKIP_TREES), mounts)
    if offenders:
        shown = offenders[:FS_EVIDENCE_ITEMS]
        more = len(offenders) - len(shown)
        tail = "; and %d more" % more if more else ""
        return False, "%d %s: %s%s (%s)" % (len(offenders), prop, "; ".join(shown), tail, scope)
    return True, "no %s (%s)" % (prop, scope)


CHECK_TYPES = {
    "file": (_validate_file, _eval_file),
    "tree_permissions": (_validate_tree, _eval_tree),
    "filesystem": (_validate_filesystem, _eval_filesystem),
    "file_content": (_validate_content, _eval_content),
    "config_value": (_validate_config, _eval_config),
    "sshd_setting": (_validate_sshd, _eval_sshd),
    "sysctl": (_validate_sysctl, _eval_sysctl),
    "apt_config": (_validate_apt_config, _eval_apt_config),
    "sudoers": (_validate_sudoers, _eval_sudoers),
    "service": (_validate_service, _eval_service),
    "package": (_validate_package, _eval_package),
    "unit_exposure": (_validate_exposure, _eval_exposure),
    "tls_endpoint": (_validate_tls, _eval_tls),
    "metric": (_validate_metric, _eval_metric),
    "command": (_validate_command, _eval_command),
}


# --------------------------------------------------------------------------- catalog, waivers

_PARAM_RE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}\Z")


def _substitute(value, parameters, where, used):
    if isinstance(value, dict):
        return dict((k, _substitute(v, parameters, where, used)) for k, v in value.items())
    if isinstance(value, list):
        out = []
        for item in value:
            new = _substitute(item, parameters, where, used)
            if isinstance(item, str) and _PARAM_RE.match(item) and isinstance(new, list):
                out.extend(new)  # a list parameter spliced into a list
            else:
                out.append(new)
        return out
    if isinstance(value, str):
        match = _PARAM_RE.match(value)
        if match:
            name = match.group(1)
            if name not in parameters:
                raise CatalogError("%s: unknown parameter ${%s}; define it in the audit parameters" % (where, name))
            used.add(name)
            return parameters[name]
    return value


def parameter_names(value):
    """Every ``${name}`` referenced in a control (for catalog tests)."""
    names = set()
    if isinstance(value, dict):
        for item in value.values():
            names |= parameter_names(item)
    elif isinstance(value, list):
        for item in value:
            names |= parameter_names(item)
    elif isinstance(value, str):
        match = _PARAM_RE.match(value)
        if match:
            names.add(match.group(1))
    return names


def _validate_condition(condition, where):
    if not isinstance(condition, dict) or len(condition) != 1:
        raise CatalogError("%s: each applies_when entry must be a mapping with one of %s" % (where, ", ".join(CONDITION_KEYS)))
    key, value = list(condition.items())[0]
    if key not in CONDITION_KEYS:
        raise CatalogError("%s: unknown applies_when condition %r; known: %s" % (where, key, ", ".join(CONDITION_KEYS)))
    if key == "any":
        if not isinstance(value, list) or not value:
            raise CatalogError("%s: applies_when 'any' needs a non-empty list" % where)
        for item in value:
            _validate_condition(item, where)


def validate_control(control, parameters=None, known_ids=None):
    """Check one catalog entry and return it with parameters substituted. Raises CatalogError."""
    if not isinstance(control, dict):
        raise CatalogError("catalog entry %r is not a mapping" % (control,))
    cid = control.get("id")
    source = " (%s)" % control["source"] if control.get("source") else ""
    if not isinstance(cid, str) or not CONTROL_ID_RE.match(cid):
        raise CatalogError("catalog entry %r%s: 'id' must match %s" % (cid, source, CONTROL_ID_RE.pattern))
    where = "control %s%s" % (cid, source)
    if known_ids is not None:
        if cid in known_ids:
            raise CatalogError("%s: duplicate id" % where)
        known_ids.add(cid)
    unknown = [k for k in control if k not in CONTROL_KEYS]
    if unknown:
        raise CatalogError("%s: unknown key(s) %s; allowed: %s" % (where, ", ".join(sorted(unknown)), ", ".join(CONTROL_KEYS)))
    for key in ("title", "rationale"):
        if not isinstance(control.get(key), str) or not control[key].strip():
            raise CatalogError("%s: '%s' is required" % (where, key))
    if control.get("severity") not in SEVERITIES:
        raise CatalogError("%s: 'severity' must be one of %s, got %r" % (where, ", ".join(SEVERITIES), control.get("severity")))
    frameworks = control.get("frameworks")
    if not isinstance(frameworks, dict) or not frameworks:
        raise CatalogError("%s: 'frameworks' must map at least one framework to requirement ids" % where)
    for name, refs in frameworks.items():
        if name not in FRAMEWORKS:
            raise CatalogError("%s: unknown framework %r; known: %s" % (where, name, ", ".join(sorted(FRAMEWORKS))))
        if not isinstance(refs, list) or not refs or not all(isinstance(r, str) and r for r in refs):
            raise CatalogError("%s: framework %s needs a non-empty list of requirement ids (strings)" % (where, name))
    conditions = control.get("applies_when", [])
    if not isinstance(conditions, list):
        raise CatalogError("%s: 'applies_when' must be a list of conditions" % where)
    for condition in conditions:
        _validate_condition(condition, where)
    check = control.get("check")
    if not isinstance(check, dict) or "type" not in check:
        raise CatalogError("%s: 'check' must be a mapping with a 'type'" % where)
    if check["type"] not in CHECK_TYPES:
        raise CatalogError("%s: unknown check type %r; known: %s" % (where, check["type"], ", ".join(sorted(CHECK_TYPES))))
    used = set()
    normalized = dict(control)
    normalized["check"] = _substitute(check, parameters or {}, where, used)
    normalized["applies_when"] = _substitute(conditions, parameters or {}, where, used)
    CHECK_TYPES[check["type"]][0](normalized["check"], where)
    normalized.setdefault("component", "general")
    return normalized


def validate_catalog(controls, parameters=None):
    if not isinstance(controls, list) or not controls:
        raise CatalogError("the catalog is empty: give at least one control")
    known = set()
    return [validate_control(c, parameters, known) for c in controls]


def parse_date(value):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return datetime.datetime.strptime(str(value).strip(), "%Y-%m-%d").date()


def validate_waivers(waivers, control_ids):
    """``{control_id: waiver}``; a waiver without reason/expiry or for an unknown control is an error."""
    out = {}
    for index, waiver in enumerate(waivers or []):
        if not isinstance(waiver, dict):
            raise CatalogError("waiver #%d is not a mapping" % (index + 1))
        cid = waiver.get("control")
        where = "waiver #%d for control %s" % (index + 1, cid)
        unknown = [k for k in waiver if k not in ("control", "reason", "expires", "approved_by", "ticket")]
        if unknown:
            raise CatalogError("%s: unknown key(s) %s" % (where, ", ".join(sorted(unknown))))
        if not cid:
            raise CatalogError("waiver #%d: 'control' (the control id) is required" % (index + 1))
        if cid not in control_ids:
            raise CatalogError("%s: no such control in the catalog" % where)
        if not str(waiver.get("reason") or "").strip():
            raise CatalogError("%s: 'reason' is required" % where)
        if not waiver.get("expires"):
            raise CatalogError("%s: 'expires' (YYYY-MM-DD) is required; waivers must not be open-ended" % where)
        try:
            expires = parse_date(waiver["expires"])
        except ValueError:
            raise CatalogError("%s: 'expires' must be a date YYYY-MM-DD, got %r" % (where, waiver["expires"]))
        if cid in out:
            raise CatalogError("%s: the control already has a waiver" % where)
        entry = dict(waiver)
        entry["expires"] = expires.isoformat()
        out[cid] = entry
    return out


# --------------------------------------------------------------------------- evaluation

def _condition_holds(condition, probe, parameters):
    key, value = list(condition.items())[0]
    if key == "any":
        results = [_condition_holds(c, probe, parameters) for c in value]
        return any(r[0] for r in results), " or ".join(r[1] for r in results)
    if key == "package":
        names = _as_list(value)
        have = [n for n in names if n in probe.packages()]
        return bool(have), "package %s %s" % ("/".join(names), "installed" if have else "not installed")
    if key == "package_absent":
        has = value in probe.packages()
        return not has, "package %s %s" % (value, "installed" if has else "not installed")
    if key == "path":
        hits = [p for pattern in _as_list(value) for p in probe.glob(pattern)]
        return bool(hits), "%s %s" % ("/".join(_as_list(value)) or "(no path given)", "exists" if hits else "does not exist")
    if key == "unit":
        loaded = [n for n in _as_list(value) if probe.unit(n).get("LoadState") == "loaded"]
        return bool(loaded), "unit %s %s" % ("/".join(_as_list(value)), "loaded" if loaded else "not loaded")
    if key == "container":
        inside = bool(probe.container())
        return inside == bool(value), "host %s a container" % ("is" if inside else "is not")
    if key == "metric":
        samples = probe.metrics()[0]
        has = any(s[0] == value for s in samples)
        return has, "metric %s %s" % (value, "exported" if has else "not exported")
    if key == "parameter":
        current = parameters.get(value)
        return bool(current), "parameter %s is %s" % (value, "set" if current else "empty")
    return False, "unknown condition"


def _units_of(control):
    names = []
    check = control["check"]
    if check["type"] in ("service", "unit_exposure"):
        names.extend(_as_list(check["unit"]))

    def walk(conditions):
        for condition in conditions:
            key, value = list(condition.items())[0]
            if key == "unit":
                names.extend(_as_list(value))
            elif key == "any":
                walk(value)
    walk(control.get("applies_when", []))
    return names


def score(results, framework=None):
    """Weighted score (pass + waived over everything evaluated), None when nothing counts."""
    earned = total = 0
    for result in results:
        if framework and framework not in result["frameworks"]:
            continue
        if result["status"] == "not_applicable":
            continue
        weight = SEVERITY_WEIGHTS[result["severity"]]
        total += weight
        if result["status"] in ("pass", "waived"):
            earned += weight
    if total == 0:
        return None
    return round(100.0 * earned / total, 1)


def summarize(results, frameworks):
    summary = {"total": len(results), "score_percent": score(results)}
    for status in STATUSES:
        summary[status] = sum(1 for r in results if r["status"] == status)
    summary["failed_by_severity"] = dict((s, sum(1 for r in results if r["status"] in ("fail", "error")
                                                 and r["severity"] == s)) for s in SEVERITIES)
    per_framework = {}
    for name in frameworks:
        mapped = [r for r in results if name in r["frameworks"]]
        entry = {"title": FRAMEWORKS[name], "score_percent": score(mapped, name), "total": len(mapped)}
        for status in STATUSES:
            entry[status] = sum(1 for r in mapped if r["status"] == status)
        per_framework[name] = entry
    return summary, per_framework


def run_audit(controls, parameters=None, waivers=None, frameworks=None, skip=None, probe=None, today=None):
    """Validate everything first, then evaluate every control once. Returns a result dict."""
    parameters = dict(parameters or {})
    for name in frameworks or []:
        if name not in FRAMEWORKS:
            raise CatalogError("framework filter %r does not exist; known: %s" % (name, ", ".join(sorted(FRAMEWORKS))))
    catalog = validate_catalog(controls, parameters)
    ids = set(c["id"] for c in catalog)
    for cid in skip or []:
        if cid not in ids:
            raise CatalogError("skip list names control %s, which is not in the catalog" % cid)
    waiver_map = validate_waivers(waivers, ids)
    selected_frameworks = list(frameworks) if frameworks else sorted(FRAMEWORKS)
    selected = [c for c in catalog if c["id"] not in set(skip or [])
                and (not frameworks or any(f in c["frameworks"] for f in frameworks))]
    probe = probe or Probe()
    today = today or datetime.date.today()
    started = time.time()
    units = []
    for control in selected:
        units.extend(_units_of(control))
    try:
        probe.prefetch_units(units)
    except CheckError:
        pass  # reported per control when a unit is read
    exposure_units = [u for c in selected if c["check"]["type"] == "unit_exposure" for u in _as_list(c["check"]["unit"])]
    results = []
    for control in selected:
        begin = time.time()
        status, evidence = "pass", ""
        try:
            applicable, why = True, []
            for condition in control.get("applies_when", []):
                holds, reason = _condition_holds(condition, probe, parameters)
                why.append(reason)
                if not holds:
                    applicable = False
                    break
            if not applicable:
                status, evidence = "not_applicable", "not applicable: " + why[-1]
            else:
                if control["check"]["type"] == "unit_exposure" and exposure_units:
                    probe.prefetch_exposure(exposure_units)
                    exposure_units = []
                ok, evidence = CHECK_TYPES[control["check"]["type"]][1](control["check"], probe)
                status = "pass" if ok else "fail"
        except CheckError as exc:
            status, evidence = "error", str(exc)
        except Exception as exc:  # a bug or an unexpected host state must not hide the other controls
            status, evidence = "error", "%s: %s" % (type(exc).__name__, exc)
        waiver = waiver_map.get(control["id"])
        waiver_state = None
        if waiver:
            expired = parse_date(waiver["expires"]) < today
            waiver_state = "expired" if expired else "active"
            if status in ("fail", "error"):
                if expired:
                    evidence = "waiver expired %s (%s); %s" % (waiver["expires"], waiver["reason"], evidence)
                else:
                    status = "waived"
                    evidence = "waived until %s: %s; finding: %s" % (waiver["expires"], waiver["reason"], evidence)
        result = {
            "id": control["id"],
            "title": control["title"],
            "rationale": control["rationale"],
            "severity": control["severity"],
            "component": control.get("component", "general"),
            "check_type": control["check"]["type"],
            "status": status,
            "evidence": _short(evidence),
            "frameworks": control["frameworks"],
            "duration_ms": round((time.time() - begin) * 1000, 1),
        }
        if control.get("remediation"):
            result["remediation"] = control["remediation"]
        if waiver:
            result["waiver"] = {"reason": waiver["reason"], "expires": waiver["expires"], "state": waiver_state}
        results.append(result)
    summary, per_framework = summarize(results, selected_frameworks)
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "controls": results,
        "summary": summary,
        "frameworks": per_framework,
        "container": probe.container(),
        "duration_seconds": round(time.time() - started, 3),
        "probe_timings": probe.timings,
    }
