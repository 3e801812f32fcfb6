# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""On-host backup runner of the prodready.platform backup role (standard library only).

    prodready_backup.py [--config FILE] hooks
    prodready_backup.py [--config FILE] [--env-file FILE] run [--run-hooks]
    prodready_backup.py [--config FILE] record-exit
    prodready_backup.py [--config FILE] [--env-file FILE] probe | init
    prodready_backup.py [--config FILE] [--env-file FILE] restore-test
    prodready_backup.py [--config FILE] [--env-file FILE] restore [--snapshot ID] [--path P ...]
                                                              (--in-place | --target DIR)
    prodready_backup.py [--config FILE] [--env-file FILE] restore-plan [--snapshot ID] [--path P ...]
                            (--in-place | --target DIR) [--service UNIT ...] [--health-url URL]

``hooks`` (its own unit, run just before the backup unit): SQLite online backup, pg_dump, commands
with a timeout; the result is recorded. ``run``: refuse stale or failed hook results, ``restic
backup``, ``forget --prune`` with the configured keep-* policy (its kept list is the snapshot
count), ``restic check`` with a read-data subset (left out when no file changed and the last check
passed less than ``check_max_age`` seconds ago), then metrics through the collection's textfile contract
(module_utils ``textfile``, installed in ``python/`` beside this file). ``restore-test``: restore the latest snapshot to a
scratch directory, compare the SHA-256 of every file with the snapshot's own content (streamed by
``restic dump``), record the result, clean up. ``restore``: the same, then (``--in-place``) swap the
verified tree into place, keeping what was there as ``PATH.pre-restore-TIMESTAMP``.
``restore-plan``: what a restore is for, decided before anything is stopped: the input checked
(absolute, non-overlapping paths; a target outside what the backup scans and what is restored),
the snapshot resolved by restic (an unknown id fails here), and the services whose data paths
(the service role's descriptors in /etc/prodready-services) overlap the restored paths: the units
to stop before and start after an in-place restore and the health checks that must pass.

A run records its start (``current_run_started`` in state.json) and clears it with its result.
Any error in a run, not only restic's, is recorded as a failed run (cause ``crash``, the traceback
on stderr), and so are SIGTERM and SIGINT (cause ``signal``). What no handler sees (SIGKILL, the OOM
killer, TimeoutStartSec) is recorded by ``record-exit``, the unit's ExecStopPost: when systemd says
the run did not succeed and the run recorded nothing, it records a failed run (cause ``killed`` or
``timeout``), so the metrics never keep saying that the previous run succeeded.

Every restic call that meets a lock left by a dead run removes stale locks (``restic unlock``,
which never touches a live process's lock) and retries once. A call whose endpoint stops
answering is stopped after ``endpoint_down_timeout`` seconds of restic's retries (cause
``endpoint_unreachable``), so a run never hangs on a dead endpoint for restic's full 15 minutes.

Secrets (RESTIC_REPOSITORY, RESTIC_PASSWORD, AWS_*) come from a root-only env file: systemd's
credential directory when run by the unit (LoadCredential), else /etc/prodready-backup/restic.env.
They are passed to restic in its environment only, never on a command line or in output.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import calendar
import collections
import contextlib
import datetime
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import traceback

# The collection's module_utils, installed by the role (prodready.platform.python_library) in
# python/ beside this file.
LIBRARY_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "python")
sys.path.insert(0, LIBRARY_DIR)
from ansible_collections.prodready.platform.plugins.module_utils import textfile  # noqa: E402
from ansible_collections.prodready.platform.plugins.module_utils._backup import record as backup_record  # noqa: E402
from ansible_collections.prodready.platform.plugins.module_utils._backup import retention as backup_retention  # noqa: E402

DEFAULT_CONFIG = "/etc/prodready-backup/config.json"
DEFAULT_ENV_FILE = "/etc/prodready-backup/restic.env"
CREDENTIAL_NAME = "restic.env"
SECRET_KEYS = ("RESTIC_REPOSITORY", "RESTIC_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")

# restic's stderr -> the cause an operator can act on. First match wins; order matters
# (an unreachable endpoint also prints "Is there a repository at the following location?").
CAUSES = (
    ("endpoint_unreachable", ("connection refused", "no such host", "i/o timeout", "network is unreachable",
                              "connection reset", "dial tcp", "no route to host", "tls: ", "x509: ")),
    ("s3_keys_rejected", ("signature we calculated does not match", "invalidaccesskeyid",
                          "access key id you provided does not exist", "access denied", "accessdenied",
                          "forbidden", "signaturedoesnotmatch")),
    ("wrong_password", ("wrong password or no key found",)),
    ("bucket_missing", ("nosuchbucket", "bucket does not exist", "specified bucket does not exist")),
    ("repository_missing", ("is there a repository at the following location", "repository does not exist")),
    ("repository_locked", ("repository is already locked",)),
    ("repository_damaged", ("check failed", "error: load", "pack", "ciphertext verification failed")),
)
CAUSE_TEXT = {
    "endpoint_unreachable": "the S3 endpoint cannot be reached (down, wrong URL or blocked)",
    "s3_keys_rejected": "the S3 endpoint rejected the access key / secret key",
    "wrong_password": "wrong repository password (the key cannot open the repository)",
    "bucket_missing": "the bucket does not exist",
    "repository_missing": "no restic repository at the configured location (not initialised?)",
    "repository_locked": "the repository is locked by another live process",
    "repository_damaged": "restic check found errors in the repository",
    "source_unreadable": "some source files could not be read (snapshot incomplete)",
    "hook_failed": "a pre-backup hook failed",
    "restore_mismatch": "restored files differ from the snapshot",
    "bad_input": "the restore's input was refused before anything was stopped or changed",
    "timeout": "restic or the run did not finish within the configured timeout (restic_timeout, TimeoutStartSec)",
    "config": "the runner configuration or secrets are invalid",
    "crash": "the runner stopped on an unexpected error (restic missing? a bug?); see the traceback in the journal",
    "signal": "the run was stopped by SIGTERM or SIGINT (systemctl stop, shutdown, TimeoutStartSec, Ctrl-C)",
    "killed": "the run was killed without a chance to record it (SIGKILL, OOM killer); see the unit's journal",
    "unknown": "restic failed; see the log lines above",
}


class Stopped(BaseException):
    """SIGTERM or SIGINT during a run (a BaseException: no ``except Exception`` swallows it)."""

    def __init__(self, signum):
        BaseException.__init__(self, "stopped by signal %d" % signum)
        self.signum = signum


class StepError(Exception):
    def __init__(self, step, cause, detail=""):
        Exception.__init__(self, "%s: %s" % (step, cause))
        self.step = step
        self.cause = cause
        self.detail = detail


RETRY_GAP = 120


# What a finished restic call returns: exit status and stdout (bytes).
Result = collections.namedtuple("Result", "returncode stdout")


def stop(proc, graceful=True):
    """SIGTERM (restic then tries to remove its lock), SIGKILL when it does not exit within 5 s.
    Not graceful (the endpoint is gone, so the lock cannot be removed anyway): SIGKILL at once."""
    if graceful:
        proc.terminate()
        try:
            proc.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            pass
    proc.kill()
    proc.wait()


def log(message):
    sys.stdout.write("prodready-backup: %s\n" % message)
    sys.stdout.flush()


def classify(stderr):
    text = (stderr or "").lower()
    for cause, needles in CAUSES:
        for needle in needles:
            if needle in text:
                return cause
    return "unknown"


def last_line(stderr):
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith("Fatal:")]
    return (fatal or lines or [""])[-1][:400]


def locked_line(stderr):
    lines = [line.strip() for line in (stderr or "").splitlines() if "already locked" in line]
    return (lines or [last_line(stderr)])[0][:300]


def load_env_file(path):
    env = {}
    with open(path) as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if "=" not in line:
                raise StepError("config", "config", "%s line %d is not KEY=VALUE" % (path, number))
            key, value = line.split("=", 1)
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            env[key.strip()] = value
    missing = [key for key in SECRET_KEYS if not env.get(key)]
    if missing:
        raise StepError("config", "config", "%s lacks %s" % (path, ", ".join(missing)))
    return env


def secrets_path(explicit):
    if explicit:
        return explicit
    cred_dir = os.environ.get("CREDENTIALS_DIRECTORY")
    if cred_dir and os.path.exists(os.path.join(cred_dir, CREDENTIAL_NAME)):
        return os.path.join(cred_dir, CREDENTIAL_NAME)
    return DEFAULT_ENV_FILE


class Restic(object):
    def __init__(self, config, secrets):
        self.binary = config.get("restic_binary", "/usr/bin/restic")
        self.options = list(config.get("restic_options", []))
        self.timeout = int(config.get("restic_timeout", 0)) or None
        # Seconds restic may keep retrying an endpoint that stopped answering before the runner
        # stops it (0: restic's own limit, about a minute on 0.14 and 15 minutes on 0.17+).
        self.endpoint_timeout = int(config.get("endpoint_down_timeout", 0)) or None
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}
        env.update(secrets)
        if config.get("cache_dir"):
            env["RESTIC_CACHE_DIR"] = config["cache_dir"]
        env.setdefault("AWS_DEFAULT_REGION", config.get("region", "us-east-1"))
        # --json progress lines nobody reads: one every 10 s instead of many per second.
        env.setdefault("RESTIC_PROGRESS_FPS", "0.1")
        self.env = env
        self.unlocked = False

    def command(self, args):
        return [self.binary] + self.options + list(args)

    def run(self, step, args, stdout=subprocess.PIPE, ok_codes=(0,)):
        """Run restic once; on a lock left by a dead run, remove stale locks and retry once.

        ``restic unlock`` removes only stale locks (older than 30 min, or of a dead process on
        this host), so a run killed mid-way (endpoint gone, reboot) never needs a manual unlock,
        and a healthy run pays no extra repository round trip for it."""
        retry = args[0] != "unlock" and not self.unlocked
        try:
            return self._run(step, args, stdout, ok_codes, quiet_locked=retry)
        except StepError as exc:
            if exc.cause != "repository_locked" or not retry:
                raise
            log("%s: %s; removing stale locks (restic unlock) and retrying" % (step, exc.detail))
        self.unlocked = True
        self._run(step, ["unlock"], subprocess.PIPE, (0,))
        return self._run(step, args, stdout, ok_codes)

    def _run(self, step, args, stdout, ok_codes, quiet_locked=False):
        started = time.time()
        proc = None
        out, err = [], []
        # Endpoint watch: restic prints "... returned error, retrying after ..." while it retries.
        # Lines less than RETRY_GAP apart belong to one outage (restic backs off 1 min at most).
        watch = {"down_since": None, "last": None}

        def read_stdout():
            out.append(proc.stdout.read())

        def read_stderr():
            for raw in proc.stderr:
                line = raw.decode("utf-8", "replace")
                err.append(line)
                lower = line.lower()
                if "retrying after" in lower and classify(lower) == "endpoint_unreachable":
                    now = time.time()
                    if watch["last"] is None or now - watch["last"] > RETRY_GAP:
                        watch["down_since"] = now
                    watch["last"] = now
                elif "successful after" in lower:
                    watch["down_since"] = None

        readers = []
        gave_up = None
        down_for = 0.0
        try:
            # A signal while Popen runs would leave a started restic without a handle to stop it.
            with signals_deferred():
                proc = subprocess.Popen(self.command(args), env=self.env, stdout=stdout, stderr=subprocess.PIPE)
            readers.append(threading.Thread(target=read_stderr))
            if stdout == subprocess.PIPE:
                readers.append(threading.Thread(target=read_stdout))
            for reader in readers:
                reader.daemon = True
                reader.start()
            while True:
                try:
                    proc.wait(timeout=0.5)
                    break
                except subprocess.TimeoutExpired:
                    pass
                now = time.time()
                if self.timeout and now - started > self.timeout:
                    gave_up = "timeout"
                # Read once: the stderr reader thread may reset down_since at any moment.
                down_since = watch["down_since"]
                if gave_up is None and self.endpoint_timeout and down_since and now - down_since > self.endpoint_timeout:
                    gave_up = "endpoint_unreachable"
                    down_for = now - down_since
                if gave_up:
                    stop(proc, graceful=gave_up == "timeout")
                    break
        except BaseException:
            # Stopped (SIGTERM/SIGINT) or an error here: restic must not outlive the run.
            if proc is not None and proc.poll() is None:
                stop(proc)
            raise
        for reader in readers:
            reader.join(10)
        stderr = "".join(err)
        if gave_up == "timeout":
            raise StepError(step, "timeout", "restic %s ran longer than %ss" % (args[0], self.timeout))
        if gave_up:
            retries = [line for line in stderr.splitlines() if "retrying after" in line]
            raise StepError(step, gave_up, "restic %s retried for %ds without an answer, stopped: %s" % (
                args[0], down_for, (retries or [""])[-1].strip()[:300]))
        if proc.returncode not in ok_codes:
            cause = classify(stderr)
            if cause == "repository_locked" and quiet_locked:
                raise StepError(step, cause, locked_line(stderr))
            # restic's own messages (never secrets) so the journal shows what went wrong.
            for line in [x for x in stderr.splitlines() if x.strip() and not x.startswith("Fatal:")][:5]:
                log("restic %s: %s" % (args[0], line.strip()[:300]))
            raise StepError(step, cause, last_line(stderr))
        return Result(proc.returncode, b"".join(chunk for chunk in out if chunk)), stderr

    def popen(self, args):
        return subprocess.Popen(self.command(args), env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


# ---------------------------------------------------------------------------------------- state

class State(object):
    """Last results, kept on disk so every command rewrites the whole metrics file and a failed
    run never loses the previous success timestamp."""

    def __init__(self, config):
        self.path = config.get("state_file", "/var/lib/prodready-backup/state.json")
        self.metrics_dir = config.get("metrics_dir", textfile.DEFAULT_TEXTFILE_DIR)
        # The schedule's nominal interval: BackupMissing fires after a multiple of it.
        self.interval_seconds = config.get("interval_seconds")
        self.metrics_file = config.get("metrics_file", "prodready_backup.prom")
        try:
            with open(self.path) as handle:
                self.data = json.load(handle)
        except (IOError, OSError, ValueError):
            self.data = {}

    def save(self, metrics=True):
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o700)
        fd, tmp = tempfile.mkstemp(prefix=".state.", dir=directory)
        with os.fdopen(fd, "w") as handle:
            json.dump(self.data, handle, indent=1, sort_keys=True)
        os.rename(tmp, self.path)
        if metrics:
            self.write_metrics()

    def start_run(self, started):
        """Mark a run as under way: ``record-exit`` records it as failed if it ends unrecorded."""
        self.data["current_run_started"] = started
        self.data["current_run_step"] = "start"
        self.save(metrics=False)

    def enter_step(self, step):
        if self.data.get("current_run_step") != step:
            self.data["current_run_step"] = step
            self.save(metrics=False)

    def record_failure(self, step, cause, started=None):
        """The run's result: failed at ``step`` with ``cause`` (keeps the last success)."""
        finish = time.time()
        started = self.data.get("current_run_started", started)
        self.data.update({"last_run": finish, "last_run_success": 0, "last_failure_step": step.split(" ")[0],
                          "last_failure_cause": cause})
        if started:
            self.data["last_run_duration"] = max(0.0, finish - started)
        self.data.pop("current_run_started", None)
        self.data.pop("current_run_step", None)
        self.save()

    def write_metrics(self):
        d = self.data
        metrics = []

        def gauge(name, help_text, key, labels=None):
            if key in d:
                metrics.append(textfile.Metric(name, help_text).add(d[key], labels))

        gauge("prodready_backup_last_success_timestamp_seconds",
              "Unix time the last backup run finished successfully.", "last_success")
        gauge("prodready_backup_last_run_timestamp_seconds", "Unix time the last backup run finished.", "last_run")
        gauge("prodready_backup_last_run_status", "1 if the last backup run succeeded, 0 if it failed.", "last_run_success")
        if self.interval_seconds:
            metrics.append(textfile.Metric("prodready_backup_interval_seconds",
                                           "Nominal interval between scheduled backups.")
                           .add(int(self.interval_seconds)))
        gauge("prodready_backup_last_run_duration_seconds", "Duration of the last backup run.", "last_run_duration")
        gauge("prodready_backup_last_run_added_bytes", "Bytes added to the repository by the last successful backup.",
              "last_added_bytes")
        gauge("prodready_backup_last_run_processed_bytes", "Bytes read from the sources by the last successful backup.",
              "last_processed_bytes")
        gauge("prodready_backup_snapshots", "Snapshots of this host in the repository after the last successful run.",
              "snapshots")
        if d.get("last_run_success") == 0 and d.get("last_failure_cause"):
            metrics.append(textfile.Metric("prodready_backup_last_run_failure_info",
                                           "Cause of the last failed backup run (value is always 1).")
                           .add(1, {"step": d.get("last_failure_step", ""), "cause": d["last_failure_cause"]}))
        if isinstance(d.get("check"), dict) and d["check"].get("time"):
            metrics.append(textfile.Metric("prodready_backup_check_last_success_timestamp_seconds",
                                           "Unix time `restic check` last passed on the repository.")
                           .add(d["check"]["time"]))
        gauge("prodready_backup_restore_test_success", "1 if the last restore test matched the snapshot, else 0.",
              "restore_test_success")
        gauge("prodready_backup_restore_test_timestamp_seconds", "Unix time the last restore test finished.",
              "restore_test_last_run")
        gauge("prodready_backup_restore_test_last_success_timestamp_seconds",
              "Unix time of the last restore test that matched the snapshot.", "restore_test_last_success")
        gauge("prodready_backup_restore_test_duration_seconds", "Duration of the last restore test.",
              "restore_test_duration")
        gauge("prodready_backup_restore_test_files", "Files compared by the last restore test.", "restore_test_files")
        textfile.write_textfile(self.metrics_file, metrics, directory=self.metrics_dir)


# ---------------------------------------------------------------------------------------- hooks

# Runs as the database file's owner: files SQLite creates next to the database (-wal, -shm)
# then belong to that owner, never to root, so the service keeps working.
SQLITE_COPY = """
import sqlite3, sys
src = sqlite3.connect(sys.argv[1], timeout=float(sys.argv[2]))
dst = sqlite3.connect(":memory:")
src.backup(dst, pages=1024)
src.close()
ok = dst.execute("PRAGMA integrity_check").fetchone()[0]
if ok != "ok":
    sys.stderr.write("integrity_check of the copy says %s\\n" % ok)
    sys.exit(2)
sys.stdout.buffer.write(dst.serialize())
"""


def hook_sqlite(hook, dump_dir):
    """Consistent copy through SQLite's online backup API, while writers keep going."""
    source = hook["source"]
    name = "hook %s" % hook["name"]
    try:
        owner = os.stat(source)
    except OSError as exc:
        raise StepError(name, "hook_failed", "SQLite database %s: %s" % (source, exc.strerror))
    target = os.path.join(dump_dir, "sqlite", hook["name"] + ".sqlite3")
    os.makedirs(os.path.dirname(target), 0o700, exist_ok=True)
    timeout = int(hook.get("timeout", 300))
    kwargs = {}
    if owner.st_uid != os.geteuid():
        kwargs = {"user": owner.st_uid, "group": owner.st_gid, "extra_groups": []}
    try:
        proc = subprocess.run([sys.executable, "-c", SQLITE_COPY, source, str(timeout)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout, check=False, cwd="/", **kwargs)
    except subprocess.TimeoutExpired:
        raise StepError(name, "hook_failed", "SQLite copy of %s did not finish within %ss" % (source, timeout))
    if proc.returncode != 0 or not proc.stdout:
        raise StepError(name, "hook_failed", "SQLite copy of %s failed: %s" % (
            source, last_line(proc.stderr.decode("utf-8", "replace"))))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % hook["name"], dir=os.path.dirname(target))
    with os.fdopen(fd, "wb") as handle:
        handle.write(proc.stdout)
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(tmp, target)
    return target


def _run_hook_command(hook, argv, stdout_path=None):
    timeout = int(hook.get("timeout", 600))
    user = hook.get("user") or None
    kwargs = {}
    if user:
        kwargs["user"] = user
        kwargs["group"] = hook.get("group") or user
        kwargs["extra_groups"] = []
        kwargs["cwd"] = "/"
    out = open(stdout_path + ".tmp", "wb") if stdout_path else subprocess.DEVNULL
    try:
        proc = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE, timeout=timeout, check=False,
                              env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}, **kwargs)
    except subprocess.TimeoutExpired:
        raise StepError("hook %s" % hook["name"], "hook_failed", "did not finish within %ss" % timeout)
    except OSError as exc:
        raise StepError("hook %s" % hook["name"], "hook_failed", str(exc))
    finally:
        if stdout_path:
            out.close()
    if proc.returncode != 0:
        if stdout_path and os.path.exists(stdout_path + ".tmp"):
            os.unlink(stdout_path + ".tmp")
        raise StepError("hook %s" % hook["name"], "hook_failed", "exit %d: %s" % (
            proc.returncode, last_line(proc.stderr.decode("utf-8", "replace"))))
    if stdout_path:
        os.rename(stdout_path + ".tmp", stdout_path)


def hook_postgresql(hook, dump_dir):
    target = os.path.join(dump_dir, "postgresql", hook["name"] + ".dump")
    os.makedirs(os.path.dirname(target), 0o700, exist_ok=True)
    argv = [hook.get("pg_dump", "/usr/bin/pg_dump"), "--format=custom", "--no-password"]
    if hook.get("host"):
        argv += ["--host", hook["host"]]
    if hook.get("port"):
        argv += ["--port", str(hook["port"])]
    argv.append(hook["database"])
    hook = dict(hook)
    hook.setdefault("user", "postgres")
    _run_hook_command(hook, argv, stdout_path=target)
    return target


def hook_command(hook, dump_dir):
    _run_hook_command(hook, list(hook["command"]))
    return None


class RedisClient(object):
    """The few RESP commands the redis hook sends over Redis' Unix socket (standard library only)."""

    def __init__(self, path, timeout):
        import socket
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buffer = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("Redis closed the connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:].decode("utf-8", "replace")
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RedisReplyError(rest)
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            while len(self.buffer) < size + 2:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise OSError("Redis closed the connection")
                self.buffer += chunk
            data, self.buffer = self.buffer[:size], self.buffer[size + 2:]
            return data.decode("utf-8", "replace")
        raise OSError("unexpected Redis reply %r" % line[:40])

    def call(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg.encode("utf-8") if not isinstance(arg, bytes) else arg
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(parts))
        return self._reply()


class RedisReplyError(Exception):
    pass


def redis_info(client, section):
    fields = {}
    for line in client.call("INFO", section).splitlines():
        if ":" in line and not line.startswith("#"):
            key, value = line.split(":", 1)
            fields[key] = value.strip()
    return fields


def hook_redis(hook, dump_dir):
    """A consistent RDB snapshot: BGSAVE, wait for LASTSAVE to move past the time before it and
    for the save to report ok, then copy the dump (Redis renames a finished dump into place, so the
    copy never sees a partial one). Authenticates as the redis role's backup ACL user (PING, INFO,
    BGSAVE, LASTSAVE only) with the password from a root-only file, over the Unix socket (the
    hooks unit has no network)."""
    name = "hook %s" % hook["name"]
    timeout = int(hook.get("timeout", 600))
    deadline = time.time() + timeout
    socket_path = hook.get("socket", "/run/redis/redis-server.sock")
    rdb = hook.get("rdb", "/var/lib/redis/dump.rdb")
    try:
        with open(hook.get("password_file", "/etc/redis/prodready-backup.password")) as handle:
            password = handle.read().strip()
    except (IOError, OSError) as exc:
        raise StepError(name, "hook_failed", "Redis password file: %s" % exc)
    target = os.path.join(dump_dir, "redis", hook["name"] + ".rdb")
    os.makedirs(os.path.dirname(target), 0o700, exist_ok=True)
    try:
        client = RedisClient(socket_path, min(timeout, 30))
        try:
            client.call("AUTH", hook.get("redis_user", "prodready-backup"), password)
            before = int(client.call("LASTSAVE"))
            while True:
                # LASTSAVE counts seconds: start the save in a later second than the last one, so
                # that its own LASTSAVE is always greater.
                while int(time.time()) <= before:
                    time.sleep(0.1)
                try:
                    client.call("BGSAVE")
                    break
                except RedisReplyError as exc:
                    # A save already running started before this hook: let it end, then start ours.
                    if "in progress" not in str(exc) or time.time() > deadline:
                        raise
                    time.sleep(0.2)
            while int(client.call("LASTSAVE")) <= before:
                if time.time() > deadline:
                    raise StepError(name, "hook_failed", "BGSAVE did not finish within %ss" % timeout)
                time.sleep(0.2)
            status = redis_info(client, "persistence").get("rdb_last_bgsave_status")
            if status != "ok":
                raise StepError(name, "hook_failed", "BGSAVE finished with status %s" % status)
        finally:
            client.close()
    except RedisReplyError as exc:
        raise StepError(name, "hook_failed", "Redis refused: %s" % exc)
    except (OSError, IOError, ValueError) as exc:
        raise StepError(name, "hook_failed", "Redis at %s: %s" % (socket_path, exc))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % hook["name"], dir=os.path.dirname(target))
    try:
        with os.fdopen(fd, "wb") as handle, open(rdb, "rb") as source:
            if source.read(5) != b"REDIS":
                raise StepError(name, "hook_failed", "%s is not an RDB file" % rdb)
            source.seek(0)
            shutil.copyfileobj(source, handle, 1024 * 1024)
            handle.flush()
            os.fsync(handle.fileno())
    except (IOError, OSError) as exc:
        os.unlink(tmp)
        raise StepError(name, "hook_failed", "copy of %s: %s" % (rdb, exc))
    except StepError:
        os.unlink(tmp)
        raise
    os.rename(tmp, target)
    return target


HOOKS = {"sqlite": hook_sqlite, "postgresql": hook_postgresql, "redis": hook_redis, "command": hook_command}


def hooks_status_path(config):
    return os.path.join(os.path.dirname(config.get("state_file", "/var/lib/prodready-backup/state.json")),
                        "hooks.json")


def run_hooks(config):
    dump_dir = config.get("dump_dir", "/var/backups/prodready-backup")
    for hook in config.get("hooks", []):
        started = time.time()
        produced = HOOKS[hook["type"]](hook, dump_dir)
        log("hook %s (%s) done in %.1fs%s"
            % (hook["name"], hook["type"], time.time() - started, " -> %s" % produced if produced else ""))


def cmd_hooks(config):
    """Run the hooks (the unit prodready-backup-hooks.service, sandboxed apart from the network
    side) and record the outcome for the backup run that follows."""
    started = time.time()
    status = {"started": started, "ok": True}
    try:
        run_hooks(config)
    except StepError as exc:
        log("HOOK FAILED: %s -- %s" % (exc.step, exc.detail))
        status.update(ok=False, step=exc.step, detail=exc.detail)
    status["finished"] = time.time()
    path = hooks_status_path(config)
    fd, tmp = tempfile.mkstemp(prefix=".hooks.", dir=os.path.dirname(path))
    with os.fdopen(fd, "w") as handle:
        json.dump(status, handle)
    os.rename(tmp, path)
    return 0 if status["ok"] else 1


def require_fresh_hooks(config, run_started):
    """The hooks unit runs just before the backup unit (After=/Wants=); refuse stale dumps."""
    max_age = int(config.get("hooks_max_age", 3600))
    try:
        with open(hooks_status_path(config)) as handle:
            status = json.load(handle)
    except (IOError, OSError, ValueError):
        raise StepError("hooks", "hook_failed", "no hook result: prodready-backup-hooks.service did not run")
    if not status.get("ok"):
        raise StepError("hooks", "hook_failed", "%s: %s" % (status.get("step"), status.get("detail")))
    if status.get("finished", 0) < run_started - max_age:
        raise StepError("hooks", "hook_failed", "the last hook run is older than %ss" % max_age)


# ---------------------------------------------------------------------------------------- backup

def count_snapshots(restic, host):
    proc = restic.run("snapshots", ["snapshots", "--json", "--host", host])[0]
    return len(json.loads(proc.stdout.decode("utf-8") or "[]"))


# Retention without a repository round trip: the runner keeps the list of this host's snapshots
# (from the last `forget --json`, plus each new snapshot) and runs forget only when that list
# shows a snapshot the policy may remove, when it is older than FORGET_MAX_AGE (snapshots made
# by someone else), or for calendar-bucket policies (keep hourly/daily/...), which always run.
FORGET_MAX_AGE = 86400
# Seconds of slack at the keep-within boundary (the new snapshot's time is the runner's clock).
WITHIN_MARGIN = 300
# Lower bounds of restic's duration units (calendar months and years vary in length).
DURATION_UNITS = {"y": 365 * 86400, "m": 28 * 86400, "d": 86400, "h": 3600}


def parse_restic_time(text):
    """restic's RFC 3339 timestamp (nanoseconds, Z or an offset) -> Unix seconds."""
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", text or "")
    if not match:
        raise ValueError("not a restic timestamp: %r" % text)
    base = calendar.timegm(datetime.datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").timetuple())
    zone = match.group(3)
    offset = 0 if zone == "Z" else (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60) * (1 if zone[0] == "+" else -1)
    return base - offset + float(match.group(2) or 0)


def within_lower_bound(duration):
    """Seconds that are surely inside restic's --keep-within DURATION; None when not understood."""
    duration = str(duration or "")
    parts = re.findall(r"([0-9]+)([a-zA-Z])", duration)
    if "".join(n + u for n, u in parts) != duration or any(unit not in DURATION_UNITS for dummy, unit in parts):
        return None
    return sum(int(n) * DURATION_UNITS[u] for n, u in parts)


def repository_key(restic, config):
    text = "%s\0%s" % (restic.env.get("RESTIC_REPOSITORY", ""), config.get("hostname", ""))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def new_snapshot_model(restic, config, snapshots):
    return {"repository": repository_key(restic, config), "forget_time": time.time(), "snapshots": snapshots}


def forget_reason(config, model, now):
    """Why forget must run now; None when the snapshot list proves it would remove nothing."""
    retention = config.get("retention", {})
    if any(int(retention.get("keep_" + key) or 0) > 0 for key in ("hourly", "daily", "weekly", "monthly", "yearly")):
        return "the policy keeps calendar buckets"
    if not model:
        return "no snapshot list of this repository yet"
    if now - model.get("forget_time", 0) > FORGET_MAX_AGE:
        return "the last forget is older than %ds" % FORGET_MAX_AGE
    within = within_lower_bound(retention.get("keep_within")) if retention.get("keep_within") else 0
    if within is None:
        return "keep_within %r is not understood here" % retention.get("keep_within")
    keep_last = int(retention.get("keep_last") or 0)
    snapshots = sorted(model.get("snapshots", []), key=lambda item: item["time"], reverse=True)
    latest = snapshots[0]["time"] if snapshots else 0
    for index, snapshot in enumerate(snapshots):
        # restic keeps a snapshot when any rule keeps it; keep-within counts from the newest one.
        if index < keep_last or (within and snapshot["time"] > latest - within + WITHIN_MARGIN):
            continue
        return "snapshot %s may be past the retention policy" % str(snapshot.get("id", "?"))[:8]
    return None


def kept_list(forget_stdout):
    """Snapshots restic kept, from ``forget --json`` (the line before prune's own output)."""
    for line in forget_stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("["):
            try:
                return [{"id": item["id"], "time": parse_restic_time(item["time"])}
                        for group in json.loads(line) for item in (group.get("keep") or [])]
            except (ValueError, KeyError, AttributeError, TypeError):
                return None
    return None


def check_skip_reason(config, state, summary, restic):
    """Why `restic check` may be left out of this run; None when it must run.

    It may only when ``check_max_age`` allows it, no file was new or changed (the run wrote
    nothing but a snapshot of data the last check verified), the last check of this repository
    passed less than ``check_max_age`` seconds ago, the previous run succeeded and no stale lock
    of a dead run was met."""
    max_age = int(config.get("check_max_age", 0) or 0)
    last = state.data.get("check") or {}
    if max_age <= 0 or restic.unlocked or state.data.get("last_run_success") != 1:
        return None
    if not summary or summary.get("files_new", 1) or summary.get("files_changed", 1):
        return None
    if last.get("repository") != repository_key(restic, config):
        return None
    age = time.time() - last.get("time", 0)
    if age >= max_age:
        return None
    return "no file new or changed, the last check passed %.1fh ago (check_max_age %ds)" % (age / 3600, max_age)


def retention_args(retention):
    try:
        return backup_retention.retention_args(retention)
    except backup_retention.RetentionError as exc:
        raise StepError("forget", "config", str(exc))


# SIGTERM/SIGINT inside signals_deferred() is raised when the block ends, not inside it.
_SIGNALS = {"deferred": 0, "pending": None}


def stop_on_signal(signum, frame):
    # Once: a second signal while the failure is being recorded is ignored.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if _SIGNALS["deferred"]:
        _SIGNALS["pending"] = signum
        return
    raise Stopped(signum)


@contextlib.contextmanager
def signals_deferred():
    """Holds Stopped back until the block is done (starting a child and keeping its handle must
    not be split by a signal; the caller's handler then stops the child it knows of)."""
    _SIGNALS["deferred"] += 1
    try:
        yield
    finally:
        _SIGNALS["deferred"] -= 1
        pending = _SIGNALS["pending"]
        if pending is not None and not _SIGNALS["deferred"]:
            _SIGNALS["pending"] = None
            raise Stopped(pending)


def cmd_run(config, restic, state, inline_hooks=False, started=None):
    """One backup run; every way it ends is recorded (see the module's docstring). ``started``:
    the run was already marked as started (State.start_run) at that time."""
    if started is None:
        started = time.time()
        state.start_run(started)
    previous = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, stop_on_signal)
    step = "start"
    try:
        return _cmd_run(config, restic, state, inline_hooks, started)
    except Stopped as exc:
        step = state.data.get("current_run_step") or step
        log("FAILED at step %s: signal -- %s (signal %d)" % (step, CAUSE_TEXT["signal"], exc.signum))
        state.record_failure(step, "signal", started)
        return 128 + exc.signum
    except Exception as exc:  # pylint: disable=broad-except
        step = state.data.get("current_run_step") or step
        traceback.print_exc()
        sys.stderr.flush()
        log("FAILED at step %s: crash -- %s (%s: %s)" % (
            step, CAUSE_TEXT["crash"], type(exc).__name__, str(exc)[:400]))
        state.record_failure(step, "crash", started)
        return 1
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _cmd_run(config, restic, state, inline_hooks, started):
    host = config["hostname"]
    step = "start"
    try:
        # No unlock up front: Restic.run removes stale locks only when one is in the way.
        step = "hooks"
        state.enter_step(step)
        if config.get("hooks"):
            if inline_hooks:
                run_hooks(config)
            else:
                require_fresh_hooks(config, started)
        step = "backup"
        state.enter_step(step)
        args = ["backup", "--json", "--host", host]
        for tag in config.get("tags", []):
            args += ["--tag", tag]
        for pattern in config.get("excludes", []):
            args += ["--exclude", pattern]
        if config.get("exclude_caches", True):
            args.append("--exclude-caches")
        if config.get("one_file_system"):
            args.append("--one-file-system")
        if config.get("compression"):
            args += ["--compression", config["compression"]]
        args += list(config["paths"])
        if config.get("hooks"):
            args.append(config.get("dump_dir", "/var/backups/prodready-backup"))
        timings = {}
        mark = backup_started = time.time()
        proc, stderr = restic.run(step, args, ok_codes=(0, 3))
        timings["backup"], mark = time.time() - mark, time.time()
        summary = {}
        for line in proc.stdout.decode("utf-8", "replace").splitlines():
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("message_type") == "summary":
                summary = message
        model = state.data.get("snapshot_model")
        if not model or model.get("repository") != repository_key(restic, config):
            model = None
        elif summary.get("snapshot_id"):
            # Exit 3 (unreadable sources) still made a snapshot: it counts for retention.
            model["snapshots"].append({"id": summary["snapshot_id"], "time": backup_started})
        state.data["snapshot_model"] = model
        if proc.returncode == 3:
            raise StepError(step, "source_unreadable", last_line(stderr))
        log("backup: snapshot %s, %d new / %d changed / %d unmodified files, %d bytes added" % (
            (summary.get("snapshot_id") or "")[:8], summary.get("files_new", 0), summary.get("files_changed", 0),
            summary.get("files_unmodified", 0), summary.get("data_added", 0)))
        step = "forget"
        state.enter_step(step)
        # Without "retention" in the configuration (the default) this host cannot delete: the
        # retention policy is applied from the trusted side (backup_retention module).
        retention = config.get("retention")
        reason = forget_reason(config, model, time.time()) if retention else None
        if not retention:
            log("forget: left to the trusted side (this host's identity cannot delete)")
            model = state.data["snapshot_model"] = None
        elif reason:
            forget_args = ["forget", "--json", "--prune", "--host", host] + retention_args(retention)
            kept = kept_list(restic.run(step, forget_args)[0].stdout)
            model = new_snapshot_model(restic, config, kept) if kept is not None else None
            state.data["snapshot_model"] = model
        else:
            log("forget: nothing to remove: all %d snapshots are inside the retention policy (last forget %.1fh ago)"
                % (len(model["snapshots"]), (time.time() - model["forget_time"]) / 3600))
        snapshots = len(model["snapshots"]) if model else None
        timings["forget"], mark = time.time() - mark, time.time()
        step = "check"
        state.enter_step(step)
        skip = check_skip_reason(config, state, summary, restic)
        if skip:
            log("check: skipped: %s" % skip)
        else:
            check_args = ["check"]
            subset = str(config.get("check_read_data_subset", "") or "")
            if subset:
                check_args.append("--read-data-subset=%s" % subset)
            restic.run(step, check_args)
            state.data["check"] = {"repository": repository_key(restic, config), "time": time.time()}
        timings["check"], mark = time.time() - mark, time.time()
        if snapshots is None:
            step = "snapshots"
            state.enter_step(step)
            snapshots = count_snapshots(restic, host)
    except StepError as exc:
        finish = time.time()
        log("FAILED at step %s: %s -- %s (%s)"
            % (exc.step, exc.cause, CAUSE_TEXT.get(exc.cause, exc.cause), exc.detail))
        state.record_failure(exc.step, exc.cause, started)
        return 1
    finish = time.time()
    state.data.update({"last_run": finish, "last_success": finish, "last_run_success": 1,
                       "last_run_duration": finish - started, "last_added_bytes": summary.get("data_added", 0),
                       "last_processed_bytes": summary.get("total_bytes_processed", 0), "snapshots": snapshots,
                       "last_snapshot": summary.get("snapshot_id")})
    state.data.pop("last_failure_cause", None)
    state.data.pop("last_failure_step", None)
    state.data.pop("current_run_started", None)
    state.data.pop("current_run_step", None)
    state.save()
    log("OK in %.1fs: snapshot %s, %d snapshots of %s kept (backup %.1fs, forget %.1fs, check %.1fs)" % (
        finish - started, (summary.get("snapshot_id") or "")[:8], snapshots, host,
        timings["backup"], timings["forget"], timings["check"]))
    return 0


# ---------------------------------------------------------------------------------------- restore

def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def snapshot_digests(restic, snapshot, paths):
    """SHA-256 of every regular file of ``paths`` in the snapshot, read by streaming ``restic dump``
    (an independent read path from ``restic restore``). Keys are absolute paths."""
    digests = {}
    for path in paths:
        proc = restic.popen(["dump", snapshot, path])
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|") as archive:
                for member in archive:
                    if not member.isfile():
                        continue
                    digest = hashlib.sha256()
                    handle = archive.extractfile(member)
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
                    digests["/" + member.name.lstrip("/")] = digest.hexdigest()
        except tarfile.TarError:
            # `restic dump` of a single file prints the file itself, not a tar.
            proc.kill()
            proc.wait()
            proc = restic.popen(["dump", snapshot, path])
            digest = hashlib.sha256()
            for block in iter(lambda: proc.stdout.read(1 << 20), b""):
                digest.update(block)
            digests["/" + path.lstrip("/")] = digest.hexdigest()
        stderr = proc.stderr.read().decode("utf-8", "replace")
        if proc.wait() != 0:
            raise StepError("verify", classify(stderr), last_line(stderr))
    return digests


def compare_tree(root, digests):
    """Compare files restored under ``root`` with the snapshot digests; return (files, problems)."""
    problems = []
    for path, expected in sorted(digests.items()):
        restored = os.path.join(root, path.lstrip("/"))
        if not os.path.isfile(restored):
            problems.append("missing %s" % path)
            continue
        actual = sha256_file(restored)
        if actual != expected:
            problems.append("sha256 differs for %s (snapshot %s, restored %s)" % (path, expected[:12], actual[:12]))
    return len(digests), problems


def resolve_snapshot(restic, config, snapshot):
    args = ["snapshots", "--json", "--host", config["hostname"]]
    if snapshot not in (None, "", "latest"):
        args.append(snapshot)
    proc = restic.run("snapshots", args)[0]
    found = json.loads(proc.stdout.decode("utf-8") or "[]")
    if not found:
        raise StepError("snapshots", "unknown", "no snapshot %s of host %s" % (snapshot or "latest", config["hostname"]))
    found.sort(key=lambda item: item["time"])
    return found[-1]


def restore_verified(restic, config, snapshot, paths, scratch):
    """Restore ``paths`` of ``snapshot`` under ``scratch`` and compare every file's SHA-256."""
    args = ["restore", snapshot["id"], "--target", scratch]
    for path in paths:
        args += ["--include", path]
    restic.run("restore", args)
    digests = snapshot_digests(restic, snapshot["id"], paths)
    return compare_tree(scratch, digests)


def report_restore_services(config, snapshot):
    """The restore test's report: what an in-place restore of this snapshot would stop (the same
    decision as ``restore-plan``; the test's sandbox cannot ask systemd, so: when running)."""
    try:
        descriptors = load_service_descriptors(config.get("services_dir", SERVICES_DIR))
        paths = snapshot_restore_paths(config, snapshot, [])
    except StepError as exc:
        log("restore test: cannot tell which services an in-place restore would stop: %s" % exc.detail)
        return
    units = [unit for d in services_using(paths, descriptors) for unit in d["units"]]
    log("restore test: an in-place restore of %s would stop and health-check (when running): %s" % (
        ", ".join(paths) or "nothing", ", ".join(units) or "no service (none uses these paths)"))


def cmd_restore_test(config, restic, state):
    started = time.time()
    base = config.get("scratch_dir", "/var/lib/prodready-backup/restore-test")
    os.makedirs(base, 0o700, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="run-", dir=base)
    files = 0
    try:
        snapshot = resolve_snapshot(restic, config, "latest")
        files, problems = restore_verified(restic, config, snapshot, snapshot["paths"], scratch)
        if problems:
            raise StepError("verify", "restore_mismatch", "; ".join(problems[:5]))
        if files == 0:
            raise StepError("verify", "restore_mismatch", "the snapshot holds no files to compare")
    except StepError as exc:
        log("RESTORE TEST FAILED at step %s: %s -- %s (%s)" % (exc.step, exc.cause, CAUSE_TEXT.get(exc.cause, ""),
                                                               exc.detail))
        ok = 0
    else:
        log("restore test OK: snapshot %s, %d files match their SHA-256 in %.1fs" % (
            snapshot["short_id"], files, time.time() - started))
        ok = 1
        report_restore_services(config, snapshot)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    finish = time.time()
    state.data.update({"restore_test_success": ok, "restore_test_last_run": finish,
                       "restore_test_duration": finish - started, "restore_test_files": files})
    if ok:
        state.data["restore_test_last_success"] = finish
    state.save()
    return 0 if ok else 1


def _sqlite_substitutions(config, paths):
    """Map each SQLite source inside the restored paths to its consistent hook copy."""
    dump_dir = config.get("dump_dir", "/var/backups/prodready-backup")
    subs = []
    for hook in config.get("hooks", []):
        if hook["type"] != "sqlite":
            continue
        source = hook["source"]
        if any(source == p or source.startswith(p.rstrip("/") + "/") for p in paths):
            subs.append((source, os.path.join(dump_dir, "sqlite", hook["name"] + ".sqlite3")))
    return subs


# ------------------------------------------------------------------------------- restore plan
# What an in-place restore is for: the service role writes one JSON file per service here
# (units, data directories, health URLs); a restore stops the services whose data it replaces.
SERVICES_DIR = "/etc/prodready-services"
# systemctl is-active states of a unit that was meant to run: it is stopped before the restore and
# started after it ("failed": typically the service crashed because its data went missing).
RUNNING_STATES = ("active", "activating", "reloading", "deactivating", "failed")
SNAPSHOT_ID = re.compile(r"^(latest|[0-9a-f]{8,64})$")


def path_inside(path, parent):
    """``path`` is ``parent`` or below it (both absolute and normalised)."""
    return path == parent or parent == "/" or path.startswith(parent.rstrip("/") + "/")


def paths_overlap(first, second):
    return path_inside(first, second) or path_inside(second, first)


def restore_input_problems(paths, target, scanned):
    """What is wrong with the operator's restore input, as messages (empty: fine).

    ``paths``: the paths to restore as given; ``target``: None for in place, else the directory;
    ``scanned``: what the backup reads (a target there would be backed up again, a target inside
    a restored path would be moved aside or overwritten by the restore itself)."""
    problems = []
    relative = [p for p in paths if not str(p).startswith("/")]
    if relative:
        problems.append("restore paths must be absolute: %s" % ", ".join(relative))
    absolute = [os.path.normpath(p) for p in paths if str(p).startswith("/")]
    for index, first in enumerate(absolute):
        for second in absolute[index + 1:]:
            if paths_overlap(first, second):
                problems.append("restore paths overlap: %s and %s (list only the outer one)" % (first, second))
    if target is None:
        return problems
    if not str(target).startswith("/"):
        problems.append("the restore target must be an absolute path: %s" % target)
        return problems
    target = os.path.normpath(target)
    if target == "/":
        problems.append("the restore target / would overwrite the data without its safeguards; restore in place")
        return problems
    for path in sorted(set(os.path.normpath(p) for p in scanned)):
        if path_inside(target, path):
            problems.append("the restore target %s is inside %s, which the backup scans (the restored copy would be"
                            " backed up as data)" % (target, path))
    for path in absolute:
        if path_inside(target, path):
            problems.append("the restore target %s is inside the restored path %s" % (target, path))
    return problems


def load_service_descriptors(directory):
    """The service role's descriptors (``<name>.json``), sorted by name; none when the directory is
    missing (no service role on this host)."""
    descriptors = []
    try:
        names = sorted(name for name in os.listdir(directory) if name.endswith(".json"))
    except OSError:
        return descriptors
    for name in names:
        path = os.path.join(directory, name)
        try:
            with open(path) as handle:
                data = json.load(handle)
            units = [str(unit) for unit in data["units"]]
            data_paths = [os.path.normpath(str(p)) for p in data.get("data_paths", []) if str(p).startswith("/")]
        except (IOError, OSError, ValueError, KeyError, TypeError) as exc:
            raise StepError("plan", "config", "service descriptor %s is unreadable: %s" % (path, exc))
        descriptors.append({"name": data.get("name", name[:-5]), "units": units, "data_paths": data_paths,
                            "health": dict(data.get("health") or {}),
                            "health_status_codes": list(data.get("health_status_codes") or [200]),
                            "health_json_field": data.get("health_json_field") or "",
                            "health_json_value": data.get("health_json_value") or ""})
    return descriptors


def services_using(paths, descriptors):
    """Descriptors with a data path that overlaps a restored path (inside it, or containing it)."""
    paths = [os.path.normpath(p) for p in paths]
    return [d for d in descriptors if any(paths_overlap(data, path) for data in d["data_paths"] for path in paths)]


def plan_services(paths, in_place, descriptors, unit_states, services=None, health_url="", health_status=200):
    """Which units to stop before and start after the restore, and which health checks must pass.

    ``unit_states``: unit -> ``systemctl is-active`` state. ``services``/``health_url``: the
    operator's explicit choice, which replaces the automatic one. A restore to another directory
    touches no service."""
    plan = {"services": [], "stop": [], "start": [], "health": []}
    if not in_place:
        return plan
    if services:
        units = list(dict.fromkeys(services))
        plan["stop"] = plan["start"] = units
        known = dict((unit, d) for d in descriptors for unit in d["units"])
        plan["services"] = sorted(set(known[unit]["name"] for unit in units if unit in known))
        checks = [(unit, known[unit]) for unit in units if unit in known and known[unit]["health"].get(unit)]
    else:
        matched = services_using(paths, descriptors)
        plan["services"] = [d["name"] for d in matched]
        running = [(unit, d) for d in matched for unit in d["units"]
                   if unit_states.get(unit, "active") in RUNNING_STATES]
        plan["stop"] = plan["start"] = [unit for unit, dummy in running]
        checks = [(unit, d) for unit, d in running if d["health"].get(unit)]
    if health_url:
        plan["health"] = [{"unit": "", "url": health_url, "status_codes": [int(health_status)],
                           "json_field": "", "json_value": ""}]
    else:
        plan["health"] = [{"unit": unit, "url": d["health"][unit], "status_codes": d["health_status_codes"],
                           "json_field": d["health_json_field"], "json_value": d["health_json_value"]}
                          for unit, d in checks]
    return plan


def unit_states(units):
    """``systemctl is-active`` of each unit (one line per unit, in order; exit 3 when one is not active)."""
    if not units:
        return {}
    proc = subprocess.run(["systemctl", "is-active"] + list(units), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          check=False)
    states = proc.stdout.decode("utf-8", "replace").split()
    if len(states) != len(units):
        raise StepError("plan", "config", "systemctl is-active %s answered %r" % (" ".join(units), states))
    return dict(zip(units, states))


def snapshot_restore_paths(config, snapshot, paths):
    """The paths a restore of ``snapshot`` puts back: the operator's (each must be in the snapshot),
    else every path of the snapshot except the hook dump directory (its SQLite copies replace the
    live database files instead)."""
    held = [os.path.normpath(p) for p in snapshot.get("paths", [])]
    if not paths:
        dump_dir = os.path.normpath(config.get("dump_dir", "/var/backups/prodready-backup"))
        return [p for p in held if p != dump_dir]
    missing = [p for p in paths if not any(path_inside(p, h) for h in held)]
    if missing:
        raise StepError("plan", "bad_input", "not in snapshot %s (it holds %s): %s" % (
            snapshot.get("short_id", snapshot.get("id", "?")[:8]), ", ".join(held), ", ".join(missing)))
    return paths


def scanned_paths(config):
    scanned = list(config.get("paths", []))
    if config.get("hooks"):
        scanned.append(config.get("dump_dir", "/var/backups/prodready-backup"))
    return scanned


def restore_plan(config, restic, snapshot_id, paths, target, services=None, health_url="", health_status=200,
                 states=None):
    """Check the input, resolve the snapshot (restic is asked, so an unknown id fails here, before
    anything is stopped) and decide which services to stop and health-check. Raises StepError."""
    problems = restore_input_problems(paths, target, scanned_paths(config))
    if problems:
        raise StepError("plan", "bad_input", "; ".join(problems))
    paths = [os.path.normpath(p) for p in paths]
    if not SNAPSHOT_ID.match(str(snapshot_id or "latest")):
        raise StepError("plan", "bad_input", "snapshot must be 'latest' or a snapshot id (hex): %r" % snapshot_id)
    try:
        snapshot = resolve_snapshot(restic, config, snapshot_id)
    except StepError as exc:
        # Our own "no snapshot ..." (restic listed none) or restic's "no matching ID found".
        if exc.cause != "unknown" or not re.search(r"no snapshot|no matching id|ignoring", exc.detail, re.I):
            raise
        raise StepError("plan", "bad_input", "unknown snapshot %s: %s (list them: restic snapshots --host %s)" % (
            snapshot_id, exc.detail, config["hostname"]))
    paths = snapshot_restore_paths(config, snapshot, paths)
    if target is not None:
        # Every path of the snapshot is restored: the target must not be inside any of them either.
        problems = restore_input_problems(paths, target, scanned_paths(config))
        if problems:
            raise StepError("plan", "bad_input", "; ".join(problems))
    descriptors = load_service_descriptors(config.get("services_dir", SERVICES_DIR))
    in_place = target is None
    units = [] if services or not in_place else [u for d in services_using(paths, descriptors) for u in d["units"]]
    plan = plan_services(paths, in_place, descriptors, (states or unit_states)(units) if units else {}, services,
                         health_url, health_status)
    plan.update({"ok": True, "snapshot": snapshot["id"], "short_id": snapshot.get("short_id", snapshot["id"][:8]),
                 "snapshot_time": snapshot["time"], "paths": paths, "in_place": in_place,
                 "target": "/" if in_place else os.path.normpath(target)})
    return plan


def cmd_restore_plan(config, restic, args):
    """Print the plan as one JSON line (exit 0), or the problem (exit 2) before anything changed."""
    try:
        plan = restore_plan(config, restic, args.snapshot, args.path or [], None if args.in_place else args.target,
                            args.service or [], args.health_url or "", args.health_status)
    except StepError as exc:
        log("RESTORE REFUSED at step %s: %s -- %s" % (exc.step, exc.cause, exc.detail))
        print(json.dumps({"ok": False, "step": exc.step, "cause": exc.cause, "detail": exc.detail}))
        return 2
    log("restore plan: snapshot %s, paths %s, %s; stop/start %s; health checks %s" % (
        plan["short_id"], ", ".join(plan["paths"]), "in place" if plan["in_place"] else "to " + plan["target"],
        ", ".join(plan["stop"]) or "nothing", ", ".join(c["url"] for c in plan["health"]) or "none"))
    print(json.dumps(plan))
    return 0


def cmd_restore(config, restic, args):
    started = time.time()
    problems = restore_input_problems(args.path or [], None if args.in_place else args.target, scanned_paths(config))
    paths = [os.path.normpath(p) for p in (args.path or [])]
    try:
        if problems:
            raise StepError("input", "bad_input", "; ".join(problems))
        snapshot = resolve_snapshot(restic, config, args.snapshot)
        if not paths:
            # Everything the operator backed up; the hook dump directory is not data to put back
            # (its SQLite copies are used below instead of the live database files).
            dump_dir = os.path.normpath(config.get("dump_dir", "/var/backups/prodready-backup"))
            paths = [p for p in snapshot["paths"] if os.path.normpath(p) != dump_dir]
        subs = _sqlite_substitutions(config, paths) if args.in_place and args.sqlite_from_dumps else []
        restore_paths = sorted(set(paths) | set(os.path.dirname(sub[1]) for sub in subs))
        if args.in_place:
            # Stage next to the data (same filesystem: the final swap is a rename).
            stage_parent = os.path.dirname(paths[0].rstrip("/")) or "/"
            os.makedirs(stage_parent, exist_ok=True)
            scratch = tempfile.mkdtemp(prefix=".prodready-restore-", dir=stage_parent)
        else:
            os.makedirs(args.target, 0o700, exist_ok=True)
            scratch = args.target
        files, problems = restore_verified(restic, config, snapshot, restore_paths, scratch)
        if problems:
            raise StepError("verify", "restore_mismatch", "; ".join(problems[:5]))
        moved = []
        if args.in_place:
            for source, dump in subs:
                staged_db = os.path.join(scratch, source.lstrip("/"))
                staged_dump = os.path.join(scratch, dump.lstrip("/"))
                if os.path.isfile(staged_dump):
                    # Keep the live file's owner and mode; take the content of the consistent copy.
                    owner = os.lstat(staged_db if os.path.exists(staged_db) else os.path.dirname(staged_db))
                    for suffix in ("-wal", "-shm", "-journal"):
                        if os.path.exists(staged_db + suffix):
                            os.unlink(staged_db + suffix)
                    shutil.copyfile(staged_dump, staged_db)
                    os.chown(staged_db, owner.st_uid, owner.st_gid)
                    log("restore: %s taken from its consistent SQLite hook copy" % source)
            stamp = time.strftime("%Y%m%dT%H%M%S")
            for path in paths:
                staged = os.path.join(scratch, path.lstrip("/"))
                if not os.path.lexists(staged):
                    continue
                if os.path.lexists(path):
                    aside = "%s.pre-restore-%s" % (path.rstrip("/"), stamp)
                    os.rename(path, aside)
                    moved.append(aside)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                os.rename(staged, path)
            shutil.rmtree(scratch, ignore_errors=True)
    except StepError as exc:
        log("RESTORE FAILED at step %s: %s -- %s (%s)" % (exc.step, exc.cause, CAUSE_TEXT.get(exc.cause, ""),
                                                          exc.detail))
        print(json.dumps({"ok": False, "step": exc.step, "cause": exc.cause, "detail": exc.detail}))
        return 1
    result = {"ok": True, "snapshot": snapshot["id"], "snapshot_time": snapshot["time"], "paths": paths,
              "files_verified": files, "in_place": bool(args.in_place),
              "target": "/" if args.in_place else args.target, "moved_aside": moved,
              "seconds": round(time.time() - started, 3)}
    log("restore OK: %d files verified by SHA-256 in %.1fs" % (files, result["seconds"]))
    print(json.dumps(result))
    return 0


# systemd's $SERVICE_RESULT (set for ExecStopPost) -> the cause of a run that recorded nothing.
EXIT_CAUSES = {"timeout": "timeout", "exit-code": "crash", "signal": "killed", "core-dump": "killed",
               "oom-kill": "killed", "watchdog": "killed"}


def cmd_record_exit(config, environ=None):
    """The unit's ExecStopPost: record a run that ended without recording its result.

    Only when systemd says the run did not succeed AND state.json still marks a run as under way
    (``current_run_started``: the run never reached its own record, e.g. SIGKILL, the OOM killer,
    TimeoutStartSec's final SIGKILL). A result the run recorded itself is never touched, and this
    never records a success. Always exits 0 (the unit's result is systemd's, not this command's)."""
    environ = os.environ if environ is None else environ
    result = environ.get("SERVICE_RESULT", "")
    code, status = environ.get("EXIT_CODE", ""), environ.get("EXIT_STATUS", "")
    if not result:
        log("record-exit: no $SERVICE_RESULT (only systemd's ExecStopPost sets it); nothing recorded")
        return 0
    if result == "success":
        return 0
    state = State(config)
    if "current_run_started" not in state.data:
        # The run recorded its result (or never started): leave it as it is.
        return 0
    cause = EXIT_CAUSES.get(result, "killed")
    if result == "signal" and status in ("TERM", "INT", "15", "2"):
        cause = "signal"
    step = state.data.get("current_run_step") or "start"
    log("FAILED at step %s: %s -- %s (the run recorded nothing; systemd: SERVICE_RESULT=%s EXIT_CODE=%s "
        "EXIT_STATUS=%s)" % (step, cause, CAUSE_TEXT.get(cause, cause), result, code, status))
    state.record_failure(step, cause)
    return 0


def record_repository(config, config_path, env_path):
    """Record that the repository opens with these secrets and this configuration: the role asks
    restic again only when either changed (or this record is gone)."""
    path = config.get("repository_marker")
    if not path:
        return
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    fd, tmp = tempfile.mkstemp(prefix=".repository.", dir=directory)
    with os.fdopen(fd, "w") as handle:
        handle.write(backup_record.repository_digest(config_path, env_path) + "\n")
    os.rename(tmp, path)


def cmd_probe(restic, record=None):
    """Can the repository be opened? Prints one JSON line: state ready, missing or a cause.
    ``record`` (a callable) is called once the repository opened."""
    try:
        restic.run("probe", ["cat", "config"])
        state, detail = "ready", ""
    except StepError as exc:
        state = "missing" if exc.cause == "repository_missing" else exc.cause
        detail = exc.detail
    if state == "ready" and record:
        record()
    print(json.dumps({"state": state, "cause_text": CAUSE_TEXT.get(state, ""), "detail": detail}))
    return 0


def cmd_init(config, restic, state, record):
    """Initialise the repository unless one is there already (never over another one)."""
    try:
        restic.run("probe", ["cat", "config"])
        log("repository already initialised")
        record()
        return 0
    except StepError as exc:
        if exc.cause != "repository_missing":
            log("FAILED: %s -- %s (%s)" % (exc.cause, CAUSE_TEXT.get(exc.cause, ""), exc.detail))
            return 1
    try:
        restic.run("init", ["init"])
    except StepError as exc:
        log("FAILED at step init: %s -- %s (%s)" % (exc.cause, CAUSE_TEXT.get(exc.cause, ""), exc.detail))
        return 1
    # A new repository holds no snapshots: the first run needs no forget to learn that.
    state.data["snapshot_model"] = new_snapshot_model(restic, config, [])
    state.save()
    record()
    log("repository initialised")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="prodready-backup", description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    parser.add_argument("--env-file", default=None, help="secrets file (default: systemd credential or %s)"
                        % DEFAULT_ENV_FILE)
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="backup, forget --prune, check, metrics (hooks: see --run-hooks)")
    run.add_argument("--run-hooks", action="store_true",
                     help="run the hooks here instead of using the result of prodready-backup-hooks.service")
    sub.add_parser("hooks", help="run the pre-backup hooks and record their result")
    sub.add_parser("record-exit", help="ExecStopPost of the backup unit: record a run that ended (killed, "
                   "timed out) without recording its result, from systemd's $SERVICE_RESULT")
    probe = sub.add_parser("probe", help="print whether the repository opens (JSON)")
    probe.add_argument("--record", action="store_true",
                       help="once it opens, record the digest of the secrets and configuration (repository_marker)")
    sub.add_parser("init", help="initialise the repository if there is none")
    sub.add_parser("restore-test", help="restore the latest snapshot to scratch and compare SHA-256")
    restore = sub.add_parser("restore", help="restore a snapshot, verified, to a directory or in place")
    restore.add_argument("--snapshot", default="latest")
    restore.add_argument("--path", action="append", help="path inside the snapshot (repeatable; default all)")
    where = restore.add_mutually_exclusive_group(required=True)
    where.add_argument("--in-place", action="store_true")
    where.add_argument("--target")
    restore.add_argument("--no-sqlite-from-dumps", dest="sqlite_from_dumps", action="store_false")
    plan = sub.add_parser("restore-plan", help="check a restore's input and snapshot, print which services it "
                          "stops and health-checks (JSON); changes nothing")
    plan.add_argument("--snapshot", default="latest")
    plan.add_argument("--path", action="append", help="path inside the snapshot (repeatable; default all)")
    plan_where = plan.add_mutually_exclusive_group(required=True)
    plan_where.add_argument("--in-place", action="store_true")
    plan_where.add_argument("--target")
    plan.add_argument("--service", action="append", help="unit to stop and start (repeatable; replaces the units "
                      "found from the service descriptors in %s)" % SERVICES_DIR)
    plan.add_argument("--health-url", default="", help="replaces the services' own health checks")
    plan.add_argument("--health-status", type=int, default=200)
    args = parser.parse_args(argv)
    if not args.command:
        parser.error("a command is required: run, restore-test or restore")
    with open(args.config) as handle:
        # The role's template starts with an "ansible managed" comment block.
        config = json.loads("".join(line for line in handle if not line.startswith("#")))
    os.umask(0o077)
    if args.command == "hooks":
        return cmd_hooks(config)
    if args.command == "record-exit":
        return cmd_record_exit(config)
    state = State(config)
    started = None
    if args.command == "run":
        # From here on, a run that ends without a result is recorded by record-exit.
        started = time.time()
        state.start_run(started)
    env_path = secrets_path(args.env_file)
    try:
        restic = Restic(config, load_env_file(env_path))
    except Exception as exc:  # pylint: disable=broad-except
        log("FAILED: cannot read the secrets: %s" % getattr(exc, "detail", exc))
        if args.command == "probe":
            print(json.dumps({"state": "config", "cause_text": CAUSE_TEXT["config"], "detail": str(exc)}))
            return 0
        if args.command == "run":
            state.record_failure("config", "config", started)
        return 1

    def record():
        record_repository(config, args.config, env_path)

    if args.command == "probe":
        return cmd_probe(restic, record if args.record else None)
    if args.command == "init":
        return cmd_init(config, restic, state, record)
    if args.command == "run":
        return cmd_run(config, restic, state, inline_hooks=args.run_hooks, started=started)
    if args.command == "restore-test":
        return cmd_restore_test(config, restic, state)
    if args.command == "restore-plan":
        return cmd_restore_plan(config, restic, args)
    return cmd_restore(config, restic, args)


if __name__ == "__main__":
    sys.exit(main())
