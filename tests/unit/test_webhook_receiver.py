# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tools/webhook_receiver.py, the test receiver of the monitoring and integrity scenarios and of
the demo's fault drill, run as a real process on 127.0.0.1 as those callers run it."""
import http.client
import json
import os
import socket
import subprocess
import sys
import time

import pytest

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "tools", "webhook_receiver.py")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(port, path, body, content_type="application/json"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": content_type})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.fixture
def receiver(tmp_path):
    """The receiver on a free port, logging into a directory it has to create."""
    port = free_port()
    log = tmp_path / "new-dir" / "alerts.jsonl"
    proc = subprocess.Popen([sys.executable, SCRIPT, "--bind", "127.0.0.1", "--port", str(port), "--log", str(log)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.time() < deadline, "the receiver did not listen within 10 s"
            time.sleep(0.05)
    yield port, log
    proc.terminate()
    proc.wait(timeout=10)


def records(log):
    with open(log) as handle:
        return [json.loads(line) for line in handle]


def test_records_each_post_with_time_path_and_body(receiver):
    port, log = receiver
    alertmanager = {"status": "firing", "alerts": [{"status": "firing", "labels": {"alertname": "NginxDown", "host": "web1"}}]}
    integrity = {"host": "app1", "level": "standard", "status": "violation", "items": [{"path": "/etc/x"}]}
    before = time.time()
    assert post(port, "/", json.dumps(alertmanager)) == 200
    assert post(port, "/hook", json.dumps(integrity)) == 200
    got = records(log)
    assert [entry["body"] for entry in got] == [alertmanager, integrity]
    assert [entry["path"] for entry in got] == ["/", "/hook"]
    assert before <= got[0]["received"] <= got[1]["received"] <= time.time()


def test_keeps_a_body_that_is_not_json(receiver):
    port, log = receiver
    assert post(port, "/", "not json at all", content_type="text/plain") == 200
    assert records(log)[0]["body"] == {"raw": "not json at all"}


def test_get_is_not_recorded(receiver):
    # demo-faults.sh probes the port with a GET: any answer means it listens, nothing is logged.
    port, log = receiver
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/")
    assert conn.getresponse().status == 501
    conn.close()
    assert post(port, "/", "{}") == 200
    assert len(records(log)) == 1
