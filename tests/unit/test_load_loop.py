# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""benchmarks/service/load_loop.py's bounds, run as a process against an HTTP server on 127.0.0.1:
a run stops after --max-requests and kills its command after --command-timeout, and either fails."""
import http.server
import json
import os
import subprocess
import sys
import threading
import time

import pytest

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "benchmarks", "service", "load_loop.py")


class VersionHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # pylint: disable=invalid-name
        body = b'{"version": "1.0.0"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


@pytest.fixture(scope="module")
def url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), VersionHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d/" % server.server_address[1]
    server.shutdown()


def load_loop(*argv):
    result = subprocess.run([sys.executable, SCRIPT] + list(argv), capture_output=True, text=True, timeout=60, check=False)
    return result.returncode, json.loads(result.stdout.splitlines()[-1])


def test_a_command_under_load_passes_within_its_bounds(url):
    rc, result = load_loop("--url", url, "--workers", "2", "--pause", "0.01", "--after", "0", "--max-requests", "100000",
                           "--command-timeout", "30", "--", sys.executable, "-c", "import time; time.sleep(0.5)")
    assert rc == 0, result
    assert result["command"]["rc"] == 0 and not result["max_requests_reached"]
    assert result["errors"] == 0 and result["requests"] > 0
    assert result["versions"][url]["1.0.0"] == result["requests"]


def test_max_requests_stops_the_workers_and_fails_the_run(url):
    started = time.monotonic()
    rc, result = load_loop("--url", url, "--workers", "2", "--pause", "0", "--duration", "30", "--max-requests", "50")
    assert rc == 1, result
    assert result["max_requests_reached"] and result["errors"] == 0
    # Each worker finishes the request it had under way: at most one more per worker.
    assert 50 <= result["requests"] <= 52
    assert time.monotonic() - started < 20


def test_command_timeout_kills_the_command_and_fails_the_run(url):
    started = time.monotonic()
    rc, result = load_loop("--url", url, "--workers", "1", "--after", "0", "--command-timeout", "1",
                           "--", sys.executable, "-c", "import time; time.sleep(30)")
    assert rc == 1, result
    assert result["command_timed_out"] and result["command"]["rc"] is None
    assert result["errors"] == 0
    assert time.monotonic() - started < 20
