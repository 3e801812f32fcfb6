# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tools/rate_limit_probe.py, run as a process as tools/example-logistics-check.sh runs it, against
an HTTPS server on 127.0.0.1 that refuses a client address after a set number of requests (the
check itself runs the probe against the example's nginx)."""
import http.server
import json
import os
import socket
import ssl
import subprocess
import sys
import threading

import pytest

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "tools", "rate_limit_probe.py")
NAME = "probe.test"


class CountingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this each answer waits for a delayed ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):  # pylint: disable=invalid-name
        server = self.server
        with server.lock:
            seen = server.counts.get(self.client_address[0], 0) + 1
            server.counts[self.client_address[0]] = seen
            server.hosts.add(self.headers.get("Host"))
        status = 200 if seen <= server.allowed else 429
        body = b"{}"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        # Like nginx, close now and then: the probe goes on from the same address.
        if seen % 40 == 0:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    key, cert = str(directory / "key.pem"), str(directory / "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-subj", "/CN=" + NAME, "-addext", "subjectAltName=DNS:" + NAME, "-days", "1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return key, cert


def limited_server(certificate, allowed):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CountingHandler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate[1], certificate[0])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.lock = threading.Lock()
    server.counts = {}
    server.hosts = set()
    server.allowed = allowed
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def probe(server, certificate, *extra):
    url = "https://%s:%d/api/records" % (NAME, server.server_address[1])
    result = subprocess.run([sys.executable, SCRIPT, "--url", url, "--connect", "127.0.0.1",
                             "--cafile", certificate[1], "--time-limit", "30"] + list(extra),
                            capture_output=True, text=True, timeout=60, check=False)
    return result.returncode, json.loads(result.stdout.splitlines()[-1])


def test_counts_the_first_refusal_exactly_from_a_fresh_loopback_address(certificate):
    server = limited_server(certificate, 100)
    try:
        rc, result = probe(server, certificate, "--count", "110", "--expect-allowed", "100", "--within", "20")
        assert rc == 0, result
        assert result["statuses"] == [["200", 100], ["429", 10]]
        assert result["first_refused"] == 101
        assert result["requests"] == 110
        # A loopback address of its own (not 127.0.0.x), the one the server counted, and the URL's
        # name as Host (SNI and the certificate check used it too: the certificate names only it).
        assert result["source"].startswith("127.") and not result["source"].startswith("127.0.0.")
        assert server.counts == {result["source"]: 110}
        assert server.hosts == {"%s:%d" % (NAME, server.server_address[1])}
        assert result["verdict"].startswith("exact")
    finally:
        server.shutdown()


def test_a_limit_off_by_one_fails_in_both_directions(certificate):
    for allowed in (99, 101):
        server = limited_server(certificate, allowed)
        try:
            rc, result = probe(server, certificate, "--count", "110", "--expect-allowed", "100")
            assert rc == 1, result
            assert result["first_refused"] == allowed + 1
            assert result["verdict"].startswith("wrong")
        finally:
            server.shutdown()


def test_same_source_again_continues_its_bucket_and_no_refusal_is_expected_with_count(certificate):
    server = limited_server(certificate, 100)
    try:
        rc, first = probe(server, certificate, "--count", "50", "--expect-allowed", "50")
        assert rc == 0 and first["statuses"] == [["200", 50]], first
        rc, second = probe(server, certificate, "--count", "60", "--expect-allowed", "60", "--source", first["source"])
        assert rc == 1 and second["statuses"] == [["200", 50], ["429", 10]], second
    finally:
        server.shutdown()


def test_a_run_slower_than_its_bound_is_inconclusive(certificate):
    server = limited_server(certificate, 100)
    try:
        rc, result = probe(server, certificate, "--count", "110", "--expect-allowed", "100", "--within", "0.000001")
        assert rc == 3, result
        assert result["verdict"].startswith("inconclusive")
    finally:
        server.shutdown()


@pytest.mark.parametrize("args", [["--count", "0"], ["--count", "1001"], ["--count", "10", "--expect-allowed", "11"]])
def test_bounds_are_refused(args):
    result = subprocess.run([sys.executable, SCRIPT, "--url", "https://%s/" % NAME] + args,
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert "--count" in result.stderr
