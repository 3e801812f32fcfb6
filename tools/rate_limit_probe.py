# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Count where a rate-limited path starts refusing: N sequential GETs from one client address.

    python3 tools/rate_limit_probe.py --url https://logi-web1/api/records --connect 127.0.0.1 \\
        --count 110 --expect-allowed 100 --within 8

Runs on the host that serves the front (stdlib only: tools/example-logistics-check.sh sends it to
the web host over SSH as `python3 -`): it connects to ``--connect`` (a loopback address) from
``--source``, by default a random address of 127.0.0.0/8 that no earlier run used, so nginx's
per-address bucket starts empty and every run counts from zero without waiting for it to refill.
SNI, the certificate check and ``Host`` use the URL's name; the certificate is checked against the
host's trust store (or ``--cafile``). Requests go one after the other on a keep-alive connection
(a new one from the same address if the server closes it).

Bounded: at most ``--count`` requests (1..1000) and ``--time-limit`` seconds. The last line of
stdout is one JSON object: the source address, the number of requests, the statuses in order
(run-length: ``[["200", 100], ["429", 10]]``), the 1-based number of the first refused request,
the seconds taken. With ``--expect-allowed N`` the exit status says whether the limit is exact:
0 when requests 1..N answered 2xx and every later one ``--limit-status`` (N = ``--count``: none
refused); 1 when not; 3 when the
run took longer than ``--within`` seconds (the bucket may have refilled a request meanwhile: the
count is not exact, run it again) or hit the time limit.
"""

import argparse
import http.client
import json
import random
import socket
import ssl
import sys
import time
from urllib.parse import urlsplit

MAX_COUNT = 1000


class SourcedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS from a fixed source address to a fixed address; SNI and Host from the URL."""

    def __init__(self, host, port, address, source, context, timeout):
        super().__init__(host, port, timeout=timeout, context=context)
        self.pinned_address = address
        self.source = source
        self.pinned_context = context

    def connect(self):
        sock = socket.create_connection((self.pinned_address, self.port), self.timeout,
                                        source_address=(self.source, 0))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self.pinned_context.wrap_socket(sock, server_hostname=self.host)


def random_loopback(rng):
    """A loopback address other than 127.0.0.x (where local clients usually come from)."""
    return "127.%d.%d.%d" % (rng.randint(1, 254), rng.randint(0, 255), rng.randint(1, 254))


def run_length(statuses):
    runs = []
    for status in statuses:
        if runs and runs[-1][0] == status:
            runs[-1][1] += 1
        else:
            runs.append([status, 1])
    return runs


def verdict(statuses, expect_allowed, limit_status, count):
    """True when exactly the first ``expect_allowed`` answered 2xx and all later ones were refused."""
    if len(statuses) != count:
        return False
    allowed = statuses[:expect_allowed]
    refused = statuses[expect_allowed:]
    return all(s.isdigit() and 200 <= int(s) < 300 for s in allowed) and all(s == str(limit_status) for s in refused)


def probe(args):
    parts = urlsplit(args.url)
    if parts.scheme != "https" or not parts.hostname:
        raise SystemExit("rate_limit_probe: not an https URL: %s" % args.url)
    port = parts.port or 443
    path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    context = ssl.create_default_context(cafile=args.cafile)
    source = args.source or random_loopback(random.SystemRandom())
    conn = None
    statuses = []
    started = time.monotonic()
    deadline = started + args.time_limit
    while len(statuses) < args.count and time.monotonic() < deadline:
        if conn is None:
            conn = SourcedHTTPSConnection(parts.hostname, port, args.connect, source, context, args.timeout)
        try:
            conn.request("GET", path, headers={"User-Agent": "prodready-rate-limit-probe"})
            answer = conn.getresponse()
            answer.read()
            statuses.append(str(answer.status))
            if answer.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as exc:
            statuses.append("error:%s" % type(exc).__name__)
            conn.close()
            conn = None
    if conn is not None:
        conn.close()
    seconds = time.monotonic() - started
    refused = [i for i, s in enumerate(statuses, 1) if s == str(args.limit_status)]
    return {
        "url": args.url,
        "source": source,
        "requests": len(statuses),
        "statuses": run_length(statuses),
        "first_refused": refused[0] if refused else None,
        "seconds": round(seconds, 3),
    }, statuses


def main(argv=None):
    parser = argparse.ArgumentParser(description="Count where a rate-limited HTTPS path starts refusing.")
    parser.add_argument("--url", required=True, help="https URL of the limited path")
    parser.add_argument("--connect", default="127.0.0.1", help="address to connect to (default 127.0.0.1)")
    parser.add_argument("--source", help="client address (default: a random one of 127.0.0.0/8)")
    parser.add_argument("--cafile", help="CA bundle (default: the system trust store)")
    parser.add_argument("--count", type=int, default=110, help="requests to send (1..%d)" % MAX_COUNT)
    parser.add_argument("--time-limit", type=float, default=60.0, help="stop after this many seconds")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.add_argument("--expect-allowed", type=int, help="requests that must pass before the first refusal")
    parser.add_argument("--limit-status", type=int, default=429, help="the refusal's status (default 429)")
    parser.add_argument("--within", type=float, default=0.0,
                        help="seconds the run must take at most for the count to be exact (0: no bound)")
    args = parser.parse_args(argv)
    if not 1 <= args.count <= MAX_COUNT:
        parser.error("--count must be 1..%d" % MAX_COUNT)
    if args.expect_allowed is not None and not 0 <= args.expect_allowed <= args.count:
        parser.error("--expect-allowed must be 0..--count (equal: no request may be refused)")

    result, statuses = probe(args)
    rc = 0
    if args.expect_allowed is not None:
        too_slow = len(statuses) < args.count or (args.within > 0 and result["seconds"] > args.within)
        # A refill only lets more through: a refusal or an error among the first N is wrong anyway.
        failed_early = not all(s.isdigit() and 200 <= int(s) < 300 for s in statuses[:args.expect_allowed])
        if too_slow and not failed_early:
            result["verdict"] = "inconclusive: %d of %d requests in %.1f s (bound %.1f s)" % (
                len(statuses), args.count, result["seconds"], args.within)
            rc = 3
        elif verdict(statuses, args.expect_allowed, args.limit_status, args.count):
            result["verdict"] = "exact: requests 1..%d answered 2xx" % args.expect_allowed + (
                ", %d..%d answered %d" % (args.expect_allowed + 1, args.count, args.limit_status)
                if args.expect_allowed < args.count else "")
        else:
            result["verdict"] = "wrong: expected %d answered 2xx then %d" % (args.expect_allowed, args.limit_status)
            rc = 1
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
