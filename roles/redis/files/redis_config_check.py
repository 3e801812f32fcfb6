# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check a candidate redis.conf or ACL file with Redis itself, before it replaces the real one.

redis-server has no "test the configuration" switch (`--test-memory` tests RAM, `--check-system`
the kernel). What it does do is refuse to start on a configuration or ACL file it cannot load:
"FATAL CONFIG FILE ERROR" while parsing, "Aborting Redis startup because of ACL errors" for the
ACL file, a TLS error for certificate, key or CA files that do not load. So this starts a throwaway
server on the candidate with everything that could touch the real one overridden from the command
line (which wins over the file): no TCP port (`port 0`, `tls-port 0`: nothing binds, so the real
server's port and addresses do not matter), a Unix socket and working directory in a private
temporary directory, no persistence, no log file, not supervised. It answers a PING (any answer,
-NOAUTH included: Redis only serves after it loaded the ACL file) → exit 0; it exits → exit 1 with
Redis' own message. `--tls` also loads the TLS files (tls-replication yes makes Redis configure TLS
at start without a TLS port). Standard library only; run as root by config_files' validate.

usage: redis_config_check.py [--tls] [--redis-server PATH] [--timeout S] {conf,acl} FILE
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def overrides(workdir, tls):
    args = ["--port", "0", "--tls-port", "0", "--unixsocket", os.path.join(workdir, "check.sock"),
            "--unixsocketperm", "700", "--dir", workdir, "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--supervised", "no", "--logfile", "",
            "--pidfile", os.path.join(workdir, "check.pid")]
    if tls:
        args += ["--tls-replication", "yes"]
    return args


def answers(path):
    """True when the server behind the socket answers a PING with anything."""
    try:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.settimeout(1.0)
        client.connect(path)
        client.sendall(b"PING\r\n")
        reply = client.recv(256)
        client.close()
        return reply[:1] in (b"+", b"-")
    except (OSError, socket.timeout):
        return False


def check(kind, path, server, tls, timeout):
    workdir = tempfile.mkdtemp(prefix="redis-config-check.")
    try:
        if kind == "conf":
            argv = [server, os.path.abspath(path)] + overrides(workdir, tls)
        else:
            argv = [server] + overrides(workdir, False) + ["--aclfile", os.path.abspath(path)]
        try:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=workdir)
        except OSError as exc:
            return 1, "cannot run %s: %s" % (server, exc)
        sock = os.path.join(workdir, "check.sock")
        deadline = time.time() + timeout
        ok = False
        while time.time() < deadline:
            if proc.poll() is not None:
                break
            if os.path.exists(sock) and answers(sock):
                ok = True
                break
            time.sleep(0.05)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        output = proc.stdout.read().decode("utf-8", "replace")
        if ok:
            return 0, ""
        lines = [line for line in output.splitlines() if line.strip()]
        if proc.returncode is None or not lines:
            return 1, "redis-server did not answer on %s within %ss" % (path, timeout)
        # Redis' own reason: the FATAL CONFIG FILE ERROR block, or the line that aborted the start.
        noise = re.compile(r"Redis is starting|Redis version=|Configuration loaded|monotonic clock|Running mode=|"
                           r"Server initialized|WARNING Memory overcommit")
        reasons = [line for line in lines if not noise.search(line)]
        return 1, "redis-server refuses %s %s:\n%s" % (kind, path, "\n".join((reasons or lines)[-8:]))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Check a redis.conf or ACL file by loading it in a throwaway redis-server.")
    parser.add_argument("--tls", action="store_true", help="also load the TLS certificate, key and CA files")
    parser.add_argument("--redis-server", default="/usr/bin/redis-server")
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("kind", choices=["conf", "acl"])
    parser.add_argument("path")
    args = parser.parse_args(argv)
    code, message = check(args.kind, args.path, args.redis_server, args.tls, args.timeout)
    if message:
        sys.stderr.write(message + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
