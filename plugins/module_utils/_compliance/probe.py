# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reads host state once per audit and caches it for every control (read-only by construction)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import grp
import os
import pwd
import re
import stat
import subprocess
import time

from ansible_collections.prodready.platform.plugins.module_utils.textfile import (
    DEFAULT_TEXTFILE_DIR, MetricError, parse as parse_metrics)
from ansible_collections.prodready.platform.plugins.module_utils._compliance.common import CheckError, short
from ansible_collections.prodready.platform.plugins.module_utils._compliance.parsers import (
    FS_DYNAMIC_USER_IDS, FS_DYNAMIC_USER_TREES, FS_PROPERTIES, FS_SCAN_MAX_ENTRIES, FS_SCAN_MAX_SECONDS, FS_SKIP_TREES,
    FS_SKIP_TYPES, SUDOERS_MAX_DEPTH,
    MODPROBE_DIRS, SYSCTL_DIRS, parse_apt_config_dump, parse_modprobe_conf, parse_mounts, parse_sudoers_lines,
    parse_sysctl_conf)

# What every unit read reports; checks of type systemd ask for more properties in the same call.
UNIT_PROPERTIES = ("Id", "LoadState", "ActiveState", "SubState", "UnitFileState")


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

    def sshd(self, connection=None):
        """``{keyword: [values]}`` of ``sshd -T``: the configuration sshd uses, Include files read.

        ``connection`` (``{"user": ..., "host": ..., "addr": ...}``) adds ``-C``: the Match blocks
        that apply to such a connection are applied too, as sshd does when the client connects.
        """
        spec = ",".join("%s=%s" % (key, connection[key]) for key in sorted(connection)) if connection else ""

        def read():
            argv = ["/usr/sbin/sshd", "-T"] + (["-C", spec] if spec else [])
            rc, out, err = self.run(argv, self.command_timeout)
            if rc != 0:
                raise CheckError("sshd %s failed (rc %d): %s" % (" ".join(argv[1:]), rc, short(err.strip(), 300)))
            settings = {}
            for line in out.splitlines():
                parts = line.strip().split(None, 1)
                if parts:
                    settings.setdefault(parts[0].lower(), []).append(parts[1] if len(parts) > 1 else "")
            return settings
        return self._timed("sshd" + (":" + spec if spec else ""), read)

    def apt_config(self):
        """The effective apt configuration, one ``apt-config dump`` per audit."""
        def read():
            rc, out, err = self.run(["apt-config", "dump"], self.command_timeout)
            if rc != 0:
                raise CheckError("apt-config dump failed (rc %d): %s" % (rc, short(err.strip(), 300)))
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
        files = self.conf_d_files(SYSCTL_DIRS)
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

    def conf_d_files(self, directories):
        """``*.conf`` of ``directories`` as systemd-style tools read them: an earlier directory's file
        masks the same name in a later one; the survivors in lexical order of their names."""
        by_name = {}
        for directory in directories:
            for path in self.glob(directory + "/*.conf"):
                by_name.setdefault(os.path.basename(path), path)
        return [by_name[name] for name in sorted(by_name)]

    def modprobe(self):
        """``{"install": {module: (command, where)}, "blacklist": {module: where}}``: the first install
        command of a module wins (as kmod), every blacklist line counts."""
        def read():
            config = {"install": {}, "blacklist": {}}
            for path in self.conf_d_files(MODPROBE_DIRS):
                try:
                    with open(path) as handle:
                        text = handle.read()
                except (IOError, OSError):
                    continue
                for command, module, rest, number in parse_modprobe_conf(text):
                    where = "%s:%d" % (self.unroot(path), number)
                    if command == "install":
                        config["install"].setdefault(module, (rest, where))
                    elif command == "blacklist":
                        config["blacklist"].setdefault(module, where)
            return config
        return self._timed("modprobe", read)

    def loaded_modules(self):
        """Names of the modules the running kernel has loaded (/proc/modules)."""
        def read():
            try:
                with open(self.path("/proc/modules")) as handle:
                    return set(line.split()[0] for line in handle if line.strip())
            except (IOError, OSError) as exc:
                raise CheckError("cannot read /proc/modules: %s" % exc.strerror)
        return self._timed("loaded_modules", read)

    def sysctl_live(self, key):
        path = self.path("/proc/sys/" + key.replace(".", "/"))
        try:
            with open(path) as handle:
                return " ".join(handle.read().split())
        except (IOError, OSError) as exc:
            raise CheckError("cannot read %s: %s" % (path, exc.strerror))

    def check_live_sysctl(self):
        """Whether live kernel state (/proc/sys, /proc/modules) is this host's: not inside a container."""
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
            dynamic_real = tuple(self.path(p).rstrip("/") + "/" for p in FS_DYNAMIC_USER_TREES)
            low, high = FS_DYNAMIC_USER_IDS
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
                        if unknown[ids] and not (entry.path.startswith(dynamic_real)
                                                 and low <= info.st_uid <= high and low <= info.st_gid <= high):
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

    def prefetch_units(self, names, properties=()):
        """One ``systemctl show`` for every unit the audit needs (UNIT_PROPERTIES plus ``properties``)."""
        names = sorted(set(n for n in names if n))
        units = self._cache.setdefault("units", {})
        fetched = self._cache.setdefault("unit_properties", {})
        asked = tuple(UNIT_PROPERTIES) + tuple(sorted(set(properties) - set(UNIT_PROPERTIES)))
        wanted = [n for n in names if n not in units or not set(asked) <= fetched.get(n, set())]
        if not wanted:
            return
        start = time.time()
        rc, out, err = self.run(["systemctl", "show", "--no-pager", "--property=" + ",".join(asked), "--"] + wanted,
                                self.command_timeout)
        blocks = [b for b in re.split(r"\n\s*\n", out.strip()) if b.strip()] if out.strip() else []
        if rc != 0 and len(blocks) != len(wanted):
            for name in wanted:
                units[name] = CheckError("systemctl show failed (rc %d): %s" % (rc, short(err.strip(), 200)))
        else:
            for name, block in zip(wanted, blocks):
                props = dict(units[name]) if isinstance(units.get(name), dict) else {}
                for line in block.splitlines():
                    if "=" in line:
                        key, value = line.split("=", 1)
                        props[key] = value
                units[name] = props
                fetched[name] = fetched.get(name, set()) | set(asked)
        self.timings["systemctl_show"] = round(self.timings.get("systemctl_show", 0) + time.time() - start, 4)

    def unit(self, name, properties=()):
        """A unit's properties as systemd applies them (unit file and drop-ins merged)."""
        self.prefetch_units([name], properties)
        value = self._cache["units"].get(name)
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
                                            % (name, rc, short(err.strip(), 200)))
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
