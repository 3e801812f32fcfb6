"""The demo service (roles/service/files/prodready_demo_service.py), run as a real process on
127.0.0.1 on a free port, with a TOML config and a systemd-style credential directory."""
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.prodready.platform.plugins.modules import health_gate

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "roles", "service", "files", "prodready_demo_service.py")
SECRET = "s3cr3t-hmac-key-for-tests"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(port, method, path, body=None, timeout=5):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, data
    finally:
        conn.close()


class Service(object):
    def __init__(self, tmp_path, version="1.2.3", fail_health=False, drain_seconds=0.2, secret=SECRET, extra="",
                 environ=None):
        self.port = free_port()
        self.db = tmp_path / "records.sqlite3"
        self.config = tmp_path / "config.toml"
        self.config.write_text(
            'name = "demo-test"\nversion = "%s"\nlisten_address = "127.0.0.1"\nport = %d\n'
            'database = "%s"\nfail_health = %s\ndrain_seconds = %s\n%s'
            % (version, self.port, self.db, "true" if fail_health else "false", drain_seconds, extra))
        env = dict(os.environ)
        env.pop("CREDENTIALS_DIRECTORY", None)
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        env.update(environ or {})
        if secret is not None:
            creds = tmp_path / "credentials"
            creds.mkdir()
            (creds / "hmac_key").write_text(secret + "\n")
            env["CREDENTIALS_DIRECTORY"] = str(creds)
        self.proc = subprocess.Popen([sys.executable, SCRIPT, "--config", str(self.config)], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("service exited: %s" % self.proc.stderr.read().decode())
            try:
                request(self.port, "GET", "/")
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("service did not listen on %d" % self.port)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=10)


@pytest.fixture
def service(tmp_path):
    svc = Service(tmp_path)
    yield svc
    svc.stop()


def test_health_ok_reports_version_and_checks(service):
    status, body = request(service.port, "GET", "/health")
    data = json.loads(body)
    assert status == 200
    assert data["status"] == "ok"
    assert data["version"] == "1.2.3"
    assert data["checks"]["database"]["status"] == "ok"
    assert data["checks"]["secret"]["status"] == "ok"
    assert data["checks"]["config"]["status"] == "ok"


def test_fail_health_switch_makes_health_503(tmp_path):
    svc = Service(tmp_path, fail_health=True)
    try:
        status, body = request(svc.port, "GET", "/health")
        assert status == 503
        data = json.loads(body)
        assert data["status"] == "fail"
        assert data["checks"]["config"]["status"] == "fail"
    finally:
        svc.stop()


def test_missing_secret_warns_or_fails_when_required(tmp_path):
    svc = Service(tmp_path, secret=None)
    try:
        status, body = request(svc.port, "GET", "/health")
        assert status == 200
        assert json.loads(body)["checks"]["secret"]["status"] == "warn"
    finally:
        svc.stop()
    strict_dir = tmp_path / "strict"
    strict_dir.mkdir()
    svc = Service(strict_dir, secret=None, extra="require_secret = true\n")
    try:
        status = request(svc.port, "GET", "/health")[0]
        assert status == 503
    finally:
        svc.stop()


def test_records_form_a_verified_chain(service):
    hashes = []
    for index in range(5):
        status, body = request(service.port, "POST", "/api/records", {"event": "deploy", "n": index})
        assert status == 201
        record = json.loads(body)
        assert record["id"] == index + 1
        assert record["prev_hash"] == (hashes[-1] if hashes else "0" * 64)
        assert len(record["hash"]) == 64 and record["hmac"]
        hashes.append(record["hash"])
    status, body = request(service.port, "GET", "/api/records?limit=2")
    data = json.loads(body)
    assert status == 200
    assert data["valid"] is True and data["errors"] == []
    assert data["count"] == 5
    assert data["head"] == hashes[-1]
    assert [r["id"] for r in data["records"]] == [4, 5]


def test_tampering_is_detected(service):
    for index in range(3):
        request(service.port, "POST", "/api/records", {"n": index})
    conn = sqlite3.connect(str(service.db))
    conn.execute("UPDATE records SET payload = ? WHERE id = 2", (json.dumps({"n": 99}),))
    conn.commit()
    conn.close()
    data = json.loads(request(service.port, "GET", "/api/records")[1])
    assert data["valid"] is False
    assert any("record 2" in err for err in data["errors"])


def test_concurrent_writers_keep_the_chain_linear(service):
    errors = []

    def writer(worker):
        for index in range(10):
            status = request(service.port, "POST", "/api/records", {"w": worker, "i": index})[0]
            if status != 201:
                errors.append(status)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    data = json.loads(request(service.port, "GET", "/api/records?limit=0")[1])
    assert data["count"] == 40 and data["valid"] is True


@pytest.mark.parametrize("body", ["[1, 2]", "not json", '"string"'])
def test_bad_record_bodies_are_400(service, body):
    conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=5)
    conn.request("POST", "/api/records", body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    assert resp.status == 400


def test_metrics_expose_requests_errors_latency_and_records(service):
    request(service.port, "POST", "/api/records", {"a": 1})
    request(service.port, "GET", "/health")
    request(service.port, "GET", "/nope")
    status, body = request(service.port, "GET", "/metrics")
    text = body.decode()
    assert status == 200
    assert 'prodready_demo_build_info{version="1.2.3"} 1' in text
    assert 'prodready_demo_http_requests_total{method="POST",path="/api/records",code="201"} 1' in text
    assert 'prodready_demo_http_requests_total{method="GET",path="other",code="404"} 1' in text
    assert "# TYPE prodready_demo_http_errors_total counter" in text
    assert "# TYPE prodready_demo_http_request_duration_seconds histogram" in text
    assert 'prodready_demo_http_request_duration_seconds_bucket{le="+Inf"}' in text
    assert "prodready_demo_records 1" in text
    # Every sample line parses as `name{labels} value`.
    for line in text.splitlines():
        if line and not line.startswith("#"):
            float(line.rsplit(" ", 1)[1])


def test_metrics_report_the_database_dependency(service):
    status, body = request(service.port, "GET", "/metrics")
    assert status == 200
    assert 'prodready_dependency_up{kind="database",name="records"} 1' in body.decode()
    # The records table gone (a database replaced under the service): the check fails.
    conn = sqlite3.connect(str(service.db))
    conn.execute("DROP TABLE records")
    conn.close()
    status, body = request(service.port, "GET", "/metrics")
    assert status == 200
    assert 'prodready_dependency_up{kind="database",name="records"} 0' in body.decode()
    status, _body = request(service.port, "GET", "/health")
    assert status == 503


def test_secret_is_not_in_the_process_list(service):
    with open("/proc/%d/cmdline" % service.proc.pid, "rb") as handle:
        cmdline = handle.read().decode()
    assert SECRET not in cmdline
    assert SECRET not in service.config.read_text()


def test_sigterm_drains_then_exits_cleanly(tmp_path):
    svc = Service(tmp_path, drain_seconds=1.0)
    svc.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    # Still answering while draining, and telling load balancers to go away.
    status, body = request(svc.port, "GET", "/health")
    assert status == 503
    assert json.loads(body)["status"] == "draining"
    assert request(svc.port, "GET", "/")[0] == 200
    assert svc.proc.wait(timeout=10) == 0
    with pytest.raises(OSError):
        request(svc.port, "GET", "/health", timeout=1)


def test_bad_config_exits_2_with_a_message(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("port = [not toml\n")
    proc = subprocess.run([sys.executable, SCRIPT, "--config", str(config)], capture_output=True, timeout=10, check=False)
    assert proc.returncode == 2
    assert b"not valid TOML" in proc.stderr
    proc = subprocess.run([sys.executable, SCRIPT, "--config", str(tmp_path / "missing.toml")],
                          capture_output=True, timeout=10, check=False)
    assert proc.returncode == 2
    assert b"cannot read config" in proc.stderr
    config.write_text("port = 70000\n")
    proc = subprocess.run([sys.executable, SCRIPT, "--config", str(config)], capture_output=True, timeout=10, check=False)
    assert proc.returncode == 2 and b"out of range" in proc.stderr


def test_fail_requests_after_seconds_fails_users_but_not_health(tmp_path):
    svc = Service(tmp_path, extra="fail_requests_after_seconds = 0.5\n")
    try:
        assert request(svc.port, "GET", "/")[0] == 200
        time.sleep(0.6)
        assert request(svc.port, "GET", "/")[0] == 500
        assert request(svc.port, "GET", "/api/records")[0] == 500
        status, body = request(svc.port, "GET", "/health")
        assert status == 200 and json.loads(body)["status"] == "ok"
        metrics = request(svc.port, "GET", "/metrics")[1].decode()
        assert 'prodready_demo_http_errors_total{path="/"} 1' in metrics
        assert 'prodready_demo_http_errors_total{path="/api/records"} 1' in metrics
    finally:
        svc.stop()


def test_health_gate_soak_catches_a_release_that_fails_its_users(tmp_path):
    """health_gate's canary soak against the real demo service: with fail_requests_after_seconds
    /health stays ok while user requests turn 500; the soak reads /metrics and fails, while the same
    soak passes on a good release."""
    results = {}
    for name, extra in (("good", ""), ("bad", "fail_requests_after_seconds = 0.3\n")):
        directory = tmp_path / name
        directory.mkdir()
        svc = Service(directory, extra=extra)
        stop = threading.Event()

        def users(port=svc.port):
            for dummy in range(400):  # bounded: at most 400 requests, every 10 ms
                if stop.is_set():
                    return
                request(port, "GET", "/")
                time.sleep(0.01)
        thread = threading.Thread(target=users, daemon=True)
        thread.start()
        try:
            base = "http://127.0.0.1:%d" % svc.port
            results[name] = health_gate.run_soak(dict(
                url=base + "/health", status_code=[200], json_field="status", json_value="ok", request_timeout=1.0,
                validate_certs=True, ca_path=None, headers={}, soak_seconds=1.5, soak_interval=0.25,
                metrics_url=base + "/metrics", error_metrics=["prodready_demo_http_errors_total"], max_errors=0.0))
        finally:
            stop.set()
            thread.join(10)
            svc.stop()
    assert results["good"]["passed"] is True and results["good"]["errors"] == 0
    assert results["bad"]["passed"] is False
    assert "failed requests" in results["bad"]["reason"]
