# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load loop for zero-downtime deploys: sends requests through nginx while a command runs.

    python3 benchmarks/service/load_loop.py --connect 172.30.100.130 --cafile ca.crt \\
        --url https://web-1/ --url https://web-1/health --workers 4 --log deploy.log \\
        -- ansible-playbook playbooks/deploy.yml -e service_version=2.0.0

Workers start first; the command starts once every URL has answered 2xx (``--warmup``), and the
load goes on ``--after`` seconds after the command ended. Each worker keeps one keep-alive
HTTPS connection (as a browser does) and sends GETs round-robin over the URLs, pausing
``--pause`` seconds between requests. ``--connect`` pins the TCP address while SNI, the
certificate check and ``Host`` use the URL's name (like ``curl --resolve``). Bounds: the command is
killed after ``--command-timeout`` seconds and the workers stop after ``--max-requests`` requests
(either makes the run fail: the load did not cover the whole command).

A request FAILS when it gets no answer (refused, reset, timeout, TLS error) or a status outside
2xx. Like urllib3 and browsers (RFC 9112 section 9.3.1), a GET that fails on a *reused*
keep-alive connection before any byte of the answer arrived (the server closed the idle
connection, e.g. an nginx worker retiring after a reload) is retried once on a new connection;
those retries are counted in ``stale_retries``, and the request still fails if the retry fails.

The command's output goes to ``--log``. The last line of stdout is one JSON object::

    {"requests": 5210, "errors": 0, "stale_retries": 0, "status": {"200": 5210},
     "versions": {"https://web-1/": {"1.0.0": 2000, "2.0.0": 3210}}, "error_samples": [],
     "command": {"rc": 0, "seconds": 41.2}, "load_seconds": 43.0, "rate": 121.2,
     "latency_ms": {"p50": 4.1, "p99": 38.0, "max": 120.5}}

``versions`` counts the ``version`` field of JSON answers per URL, which shows traffic moving
from one release to the next. Exit status: 0 when no request failed, 1 otherwise or when a bound
was hit (the command's exit status is in the JSON), 2 when the URLs never answered before the command (it is not run).
"""

import argparse
import http.client
import json
import socket
import ssl
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

# Failures on a reused connection that mean "the server had closed it": safe to retry a GET.
STALE_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                ssl.SSLEOFError, ssl.SSLZeroReturnError)
MAX_SAMPLES = 20


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a fixed address; SNI, certificate name and Host come from the URL."""

    def __init__(self, host, port, address, context, timeout):
        super().__init__(host, port, timeout=timeout, context=context)
        self.pinned_address = address
        self.pinned_context = context

    def connect(self):
        sock = socket.create_connection((self.pinned_address or self.host, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self.pinned_context.wrap_socket(sock, server_hostname=self.host)


class PinnedHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP to a fixed address; Host comes from the URL."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self.pinned_address = address

    def connect(self):
        self.sock = socket.create_connection((self.pinned_address or self.host, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Stats:
    def __init__(self, urls, max_requests=0, stop=None):
        self.lock = threading.Lock()
        self.max_requests = max_requests
        self.stop = stop
        self.requests = 0
        self.errors = 0
        self.stale_retries = 0
        self.status = {}
        self.versions = {url: {} for url in urls}
        self.ok_urls = set()
        self.samples = []
        self.latencies = []

    def record(self, url, elapsed, status=None, version=None, error=None, at=0.0):
        with self.lock:
            self.requests += 1
            if self.max_requests and self.requests >= self.max_requests:
                self.stop.set()
            self.latencies.append(elapsed)
            if status is not None:
                self.status[str(status)] = self.status.get(str(status), 0) + 1
            if error is None and status is not None and 200 <= status < 300:
                self.ok_urls.add(url)
                if version is not None:
                    self.versions[url][version] = self.versions[url].get(version, 0) + 1
                return
            self.errors += 1
            if len(self.samples) < MAX_SAMPLES:
                self.samples.append({"t": round(at, 3), "url": url, "status": status, "error": error})

    def stale(self):
        with self.lock:
            self.stale_retries += 1


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class Worker(threading.Thread):
    def __init__(self, index, args, targets, stats, stop, started):
        super().__init__(name="load-%d" % index, daemon=True)
        self.index = index
        self.args = args
        self.targets = targets
        self.stats = stats
        self.stop = stop
        self.started = started
        self.conns = {}

    def connection(self, scheme, host, port):
        key = (scheme, host, port)
        if key not in self.conns:
            if scheme == "https":
                self.conns[key] = PinnedHTTPSConnection(host, port, self.args.connect, self.args.context,
                                                        self.args.timeout)
            else:
                self.conns[key] = PinnedHTTPConnection(host, port, self.args.connect, self.args.timeout)
        return self.conns[key]

    def drop(self, key):
        conn = self.conns.pop(key, None)
        if conn is not None:
            conn.close()

    def once(self, target):
        """One GET; returns (status, body). Raises on transport errors."""
        scheme, host, port, path = target
        conn = self.connection(scheme, host, port)
        conn.request("GET", path, headers={"User-Agent": "prodready-load-loop"})
        answer = conn.getresponse()
        body = answer.read()
        return answer.status, body

    def run(self):
        turn = self.index
        while not self.stop.is_set():
            url, target = self.targets[turn % len(self.targets)]
            turn += 1
            key = target[:3]
            t0 = time.monotonic()
            reused = key in self.conns and self.conns[key].sock is not None
            try:
                try:
                    status, body = self.once(target)
                except STALE_ERRORS:
                    if not reused:
                        raise
                    self.stats.stale()
                    self.drop(key)
                    status, body = self.once(target)
            except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
                self.drop(key)
                self.stats.record(url, time.monotonic() - t0, error="%s: %s" % (type(exc).__name__, exc),
                                  at=time.monotonic() - self.started)
            else:
                version = None
                try:
                    document = json.loads(body.decode("utf-8"))
                    if isinstance(document, dict) and "version" in document:
                        version = str(document["version"])
                except ValueError:
                    pass
                self.stats.record(url, time.monotonic() - t0, status=status, version=version,
                                  at=time.monotonic() - self.started)
            if self.args.pause > 0:
                self.stop.wait(self.args.pause)
        for key in list(self.conns):
            self.drop(key)


def parse_targets(urls):
    targets = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SystemExit("load_loop: not an http(s) URL: %s" % url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        targets.append((url, (parts.scheme, parts.hostname, port, path)))
    return targets


def main(argv=None):
    parser = argparse.ArgumentParser(description="Send requests while a command (a deploy) runs; count failures.")
    parser.add_argument("--url", action="append", required=True, help="URL to GET (repeat for several)")
    parser.add_argument("--connect", help="address to connect to instead of resolving the URL's host")
    parser.add_argument("--cafile", help="CA bundle for HTTPS (default: the system store)")
    parser.add_argument("--insecure", action="store_true", help="do not verify certificates")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--pause", type=float, default=0.02, help="seconds each worker waits between requests")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.add_argument("--warmup", type=float, default=15.0,
                        help="seconds to wait for a 2xx from every URL before the command starts")
    parser.add_argument("--after", type=float, default=1.0, help="seconds of load after the command ended")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load when no command is given")
    parser.add_argument("--log", help="file for the command's output (default: inherit stdout/stderr)")
    parser.add_argument("--max-requests", type=int, default=0,
                        help="stop the workers after this many requests (0: no bound); reaching it fails the run")
    parser.add_argument("--command-timeout", type=float, default=0.0,
                        help="kill the command after this many seconds (0: no bound); a kill fails the run")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- command to run under load")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command

    context = ssl.create_default_context(cafile=args.cafile)
    if args.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    args.context = context
    targets = parse_targets(args.url)
    stop = threading.Event()
    stats = Stats(args.url, max(0, args.max_requests), stop)
    started = time.monotonic()
    workers = [Worker(i, args, targets, stats, stop, started) for i in range(max(1, args.workers))]
    for worker in workers:
        worker.start()

    result = {"command": None}
    deadline = time.monotonic() + args.warmup
    while len(stats.ok_urls) < len(args.url) and time.monotonic() < deadline:
        time.sleep(0.05)
    if len(stats.ok_urls) < len(args.url):
        stop.set()
        for worker in workers:
            worker.join(args.timeout + 1)
        result["warmup_failed"] = sorted(set(args.url) - stats.ok_urls)
    elif command:
        log = open(args.log, "w", encoding="utf-8") if args.log else None  # pylint: disable=consider-using-with
        t0 = time.monotonic()
        try:
            rc = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT if log else None,
                                 timeout=args.command_timeout if args.command_timeout > 0 else None)
        except subprocess.TimeoutExpired:
            rc = None
            result["command_timed_out"] = True
        finally:
            if log:
                log.close()
        result["command"] = {"rc": rc, "seconds": round(time.monotonic() - t0, 2)}
        stop.wait(args.after)
    else:
        stop.wait(args.duration)
    stop.set()
    for worker in workers:
        worker.join(args.timeout + 1)

    elapsed = time.monotonic() - started
    with stats.lock:
        latencies = stats.latencies
        result.update({
            "requests": stats.requests,
            "max_requests_reached": bool(stats.max_requests and stats.requests >= stats.max_requests),
            "errors": stats.errors,
            "stale_retries": stats.stale_retries,
            "status": stats.status,
            "versions": stats.versions,
            "error_samples": stats.samples,
            "load_seconds": round(elapsed, 2),
            "rate": round(stats.requests / elapsed, 1) if elapsed > 0 else 0.0,
            "latency_ms": {name: (round(value * 1000, 1) if value is not None else None) for name, value in
                           (("p50", percentile(latencies, 0.5)), ("p99", percentile(latencies, 0.99)),
                            ("max", max(latencies) if latencies else None))},
        })
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    if "warmup_failed" in result:
        return 2
    if result["max_requests_reached"] or result.get("command_timed_out"):
        return 1
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
