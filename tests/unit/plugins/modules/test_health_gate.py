import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given, strategies as st

from ansible_collections.prodready.platform.plugins.modules import health_gate


def params(**kw):
    base = dict(url="http://127.0.0.1:1/health", status_code=[200], json_field=None, json_value=None, timeout=5.0,
                interval=0.5, backoff=2.0, max_interval=2.0, request_timeout=1.0, consecutive_successes=1,
                validate_certs=True, ca_path=None, headers={}, probe_in_check_mode=False)
    base.update(kw)
    return base


class FakeClock(object):
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(answers):
    answers = list(answers)

    def do_probe(p, time_left):
        return answers.pop(0) if len(answers) > 1 else answers[0]
    return do_probe


def test_passes_when_healthy_after_backoff():
    clock = FakeClock()
    down = (None, b"", "cannot connect: refused")
    ok = (200, b'{"status": "ok"}', None)
    result = health_gate.run_gate(params(json_field="status", json_value="ok"), clock.clock, clock.sleep,
                                  scripted([down, down, down, ok]))
    assert result["healthy"] is True
    assert result["attempts"] == 4
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert result["time_to_healthy"] == pytest.approx(3.5)
    assert result["json"] == {"status": "ok"}
    assert [h["status"] for h in result["history"]] == [None, None, None, 200]


def test_gives_up_at_the_deadline_with_the_reason():
    clock = FakeClock()
    result = health_gate.run_gate(params(timeout=10.0), clock.clock, clock.sleep,
                                  scripted([(503, b'{"status": "fail"}', None)]))
    assert result["healthy"] is False
    assert result["elapsed"] == pytest.approx(10.0)
    assert sum(clock.sleeps) == pytest.approx(10.0)
    assert max(clock.sleeps) <= 2.0
    assert result["last_error"] == "status 503, expected 200"
    assert result["status"] == 503


def test_consecutive_successes_resets_on_failure():
    clock = FakeClock()
    ok = (200, b"", None)
    bad = (500, b"", None)
    result = health_gate.run_gate(params(consecutive_successes=2), clock.clock, clock.sleep,
                                  scripted([ok, bad, ok, ok]))
    assert result["healthy"] is True and result["attempts"] == 4


@pytest.mark.parametrize("body,field,value,healthy,reason", [
    (b'{"status": "ok"}', "status", "ok", True, ""),
    (b'{"status": "fail"}', "status", "ok", False, "JSON field status is fail, expected ok"),
    (b'{"checks": {"db": {"status": "ok"}}}', "checks.db.status", "ok", True, ""),
    (b'{"items": [{"up": true}]}', "items.0.up", "true", True, ""),
    (b'{"status": "ok"}', "missing", "ok", False, "JSON field missing is missing"),
    (b"<html>", "status", "ok", False, "body is not JSON, expected status=ok"),
])
def test_evaluate_json_fields(body, field, value, healthy, reason):
    got, why = health_gate.evaluate(200, body, [200], field, value)[:2]
    assert (got, why) == (healthy, reason)


@given(st.recursive(st.one_of(st.text(max_size=5), st.integers(), st.booleans(), st.none()),
                    lambda c: st.dictionaries(st.from_regex(r"\A[a-z]{1,4}\Z"), c, max_size=3), max_leaves=8))
def test_lookup_field_never_raises(doc):
    health_gate.lookup_field(doc, "a.b.0.c")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.hits += 1
        healthy = self.server.hits >= self.server.healthy_after
        body = json.dumps({"status": "ok" if healthy else "starting"}).encode()
        self.send_response(200 if healthy else 503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.hits = 0
    srv.healthy_after = 3
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_real_http_endpoint_becomes_healthy(server):
    url = "http://127.0.0.1:%d/health" % server.server_address[1]
    result = health_gate.run_gate(params(url=url, interval=0.05, json_field="status", json_value="ok"))
    assert result["healthy"] is True
    assert result["attempts"] == 3
    assert result["history"][0]["status"] == 503


def test_real_connection_refused_is_retried_until_deadline():
    result = health_gate.run_gate(params(url="http://127.0.0.1:1/health", timeout=0.5, interval=0.1))
    assert result["healthy"] is False
    assert result["attempts"] >= 2
    assert "cannot connect" in result["last_error"]


# The canary soak (run_soak): every check must stay healthy and the error counters must not grow.
OK = (200, b'{"status": "ok"}', None)
ERRORS = "# TYPE app_errors_total counter\napp_errors_total{path=\"/\"} %d\napp_errors_total{path=\"/x\"} 1\n"


def metrics_pages(totals):
    pages = [(200, (ERRORS % total).encode(), None) for total in totals]

    def do_fetch(p, time_left):
        assert p["url"] == "http://127.0.0.1:1/metrics"
        return pages.pop(0) if len(pages) > 1 else pages[0]
    return do_fetch


def soak_params(**kw):
    base = dict(soak_seconds=10.0, soak_interval=2.0, metrics_url="http://127.0.0.1:1/metrics",
                error_metrics=["app_errors_total"], max_errors=0.0)
    base.update(kw)
    return params(**base)


def test_soak_passes_when_healthy_and_no_new_errors():
    clock = FakeClock()
    soak = health_gate.run_soak(soak_params(), clock.clock, clock.sleep, scripted([OK]), metrics_pages([4]))
    assert soak["passed"] is True
    assert soak["checks"] == 5
    assert soak["errors"] == 0
    assert soak["seconds"] == pytest.approx(10.0)


def test_soak_fails_on_growing_error_counters_with_the_count():
    clock = FakeClock()
    soak = health_gate.run_soak(soak_params(), clock.clock, clock.sleep, scripted([OK]), metrics_pages([4, 4, 4, 7]))
    assert soak["passed"] is False
    assert soak["checks"] == 3
    assert soak["errors"] == 3
    assert "3 failed requests after 6.0s of the soak (app_errors_total; at most 0 allowed)" == soak["reason"]


def test_soak_tolerates_max_errors():
    clock = FakeClock()
    soak = health_gate.run_soak(soak_params(max_errors=3.0), clock.clock, clock.sleep, scripted([OK]),
                                metrics_pages([4, 5, 7]))
    assert soak["passed"] is True and soak["errors"] == 3


def test_soak_fails_when_health_turns_bad():
    clock = FakeClock()
    soak = health_gate.run_soak(params(soak_seconds=10.0, soak_interval=2.0, metrics_url=None, error_metrics=[],
                                       max_errors=0.0),
                                clock.clock, clock.sleep, scripted([OK, OK, (503, b'{"status": "fail"}', None)]))
    assert soak["passed"] is False
    assert soak["errors"] is None
    assert soak["reason"] == "unhealthy after 6.0s of the soak: status 503, expected 200"


def test_soak_fails_when_the_counters_go_down_because_the_release_restarted():
    clock = FakeClock()
    soak = health_gate.run_soak(soak_params(), clock.clock, clock.sleep, scripted([OK]), metrics_pages([9, 9, 0]))
    assert soak["passed"] is False
    assert "went down from 10 to 1" in soak["reason"] and "restarted" in soak["reason"]


def test_soak_fails_when_the_metrics_page_is_unreadable():
    clock = FakeClock()
    soak = health_gate.run_soak(soak_params(), clock.clock, clock.sleep, scripted([OK]),
                                lambda p, t: (200, b"garbage here too\n", None))
    assert soak["passed"] is False
    assert soak["reason"].startswith("metrics page http://127.0.0.1:1/metrics: line 1: not a sample")
    soak = health_gate.run_soak(soak_params(), clock.clock, clock.sleep, scripted([OK]),
                                lambda p, t: (None, b"", "cannot connect: refused"))
    assert soak["reason"] == "metrics page http://127.0.0.1:1/metrics: cannot connect: refused"


def test_real_demo_service_soak_catches_a_release_that_fails_its_users(tmp_path):
    """The demo service with fail_requests_after_seconds: /health stays ok, user requests turn 500;
    the soak reads its /metrics and fails, while the same soak passes on a good release."""
    from tests.unit.test_demo_service import Service, request  # the real process helper
    results = {}
    for name, extra in (("good", ""), ("bad", "fail_requests_after_seconds = 0.3\n")):
        directory = tmp_path / name
        directory.mkdir()
        svc = Service(directory, extra=extra)
        stop = threading.Event()

        def users(port=svc.port):
            for _ in range(400):  # bounded: at most 400 requests, every 10 ms
                if stop.is_set():
                    return
                request(port, "GET", "/")
                time.sleep(0.01)
        thread = threading.Thread(target=users, daemon=True)
        thread.start()
        try:
            base = "http://127.0.0.1:%d" % svc.port
            results[name] = health_gate.run_soak(params(url=base + "/health", json_field="status", json_value="ok",
                                                        soak_seconds=1.5, soak_interval=0.25, metrics_url=base + "/metrics",
                                                        error_metrics=["prodready_demo_http_errors_total"], max_errors=0.0))
        finally:
            stop.set()
            thread.join(10)
            svc.stop()
    assert results["good"]["passed"] is True and results["good"]["errors"] == 0
    assert results["bad"]["passed"] is False
    assert "failed requests" in results["bad"]["reason"]
