#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

DOCUMENTATION = r"""
module: health_gate
short_description: Wait until an HTTP(S) health endpoint is healthy, within a deadline
version_added: 1.0.0
description:
  - Polls O(url) until it answers one of O(status_code) and, when O(json_field) is set, the JSON
    body holds O(json_value) at that dotted path. Waits between attempts grow by O(backoff) up to
    O(max_interval); the gate fails once O(timeout) seconds have passed.
  - Returns the timings (time to healthy, attempts, each attempt's latency and result), so a
    deploy can report how long a release took to become healthy.
  - With O(soak_seconds), a canary watch follows a passed gate - every O(soak_interval) seconds the
    endpoint must still be healthy and, with O(metrics_url) and O(error_metrics), the release's own
    error counters (Prometheus text format) must not grow by more than O(max_errors). A release
    that answers its health check but fails requests is caught this way, and the deploy's rescue
    rolls it back before the next batch.
  - Never changes anything (C(changed=false)). In check mode the endpoint is not probed unless
    O(probe_in_check_mode=true), because in a check run the release was not really started.
options:
  url:
    description: The health endpoint, C(http://) or C(https://).
    type: str
    required: true
  status_code:
    description: Status codes that count as healthy.
    type: list
    elements: int
    default: [200]
  json_field:
    description:
      - Dotted path into the JSON body (C(status), C(checks.database.status)); list indexes are numbers.
      - When set, a body that is not JSON or lacks the field is unhealthy.
    type: str
  json_value:
    description: Expected value at O(json_field), compared as strings. Required with O(json_field).
    type: str
  timeout:
    description: Deadline in seconds for the whole gate.
    type: float
    default: 60
  interval:
    description: Seconds to wait after the first failed attempt.
    type: float
    default: 0.5
  backoff:
    description: Factor applied to the wait after each failed attempt.
    type: float
    default: 1.5
  max_interval:
    description: Longest wait between attempts.
    type: float
    default: 5
  request_timeout:
    description: Timeout of one request in seconds (capped by the time left before the deadline).
    type: float
    default: 5
  consecutive_successes:
    description: Healthy answers needed in a row before the gate passes (guards against a flapping start).
    type: int
    default: 1
  validate_certs:
    description: Verify the server certificate for C(https://).
    type: bool
    default: true
  ca_path:
    description: CA bundle to verify the server certificate with.
    type: path
  headers:
    description: Extra request headers (e.g. C(Host) when going through a reverse proxy).
    type: dict
    default: {}
  probe_in_check_mode:
    description: Probe the endpoint in check mode too (read-only).
    type: bool
    default: false
  soak_seconds:
    description:
      - After the gate passed, keep watching the release this many seconds (a canary soak); C(0)
        ends the gate when it passed.
      - The first unhealthy answer, or error counters that grew by more than O(max_errors), fail it.
    type: float
    default: 0
  soak_interval:
    description: Seconds between two checks of the soak.
    type: float
    default: 2
  metrics_url:
    description:
      - The release's metrics page in the Prometheus text format, read when the soak starts and at
        every check. Required with O(error_metrics).
    type: str
  error_metrics:
    description:
      - Counter families that count failed requests (all their label sets summed), for example
        C(http_requests_errors_total). A family the page does not show yet counts as 0.
    type: list
    elements: str
    default: []
  max_errors:
    description: How much the O(error_metrics) total may grow during the soak.
    type: float
    default: 0
author: prodready.platform maintainers (@prodready)
"""

EXAMPLES = r"""
- name: Wait until the new release is healthy
  prodready.platform.health_gate:
    url: http://127.0.0.1:8080/health
    json_field: status
    json_value: ok
    timeout: 30
  register: gate

- name: A canary - healthy within 30 s, then 60 s without a failed request
  prodready.platform.health_gate:
    url: http://127.0.0.1:8080/health
    timeout: 30
    soak_seconds: 60
    metrics_url: http://127.0.0.1:8080/metrics
    error_metrics: [prodready_demo_http_errors_total]

- name: Through nginx with TLS and a private CA
  prodready.platform.health_gate:
    url: https://127.0.0.1/health
    headers:
      Host: app.example.test
    ca_path: /usr/local/share/ca-certificates/internal.crt
"""

RETURN = r"""
healthy:
  description: Whether the gate passed.
  returned: always
  type: bool
elapsed:
  description: Seconds from the first attempt until the gate passed or gave up.
  returned: always
  type: float
time_to_healthy:
  description: Seconds until the gate passed (null when it did not).
  returned: always
  type: float
attempts:
  description: Number of requests sent.
  returned: always
  type: int
status:
  description: Status code of the last answer (null when the last attempt did not connect).
  returned: always
  type: int
json:
  description: The last JSON body, when it was JSON.
  returned: when the endpoint answered JSON
  type: raw
history:
  description: The last 20 attempts, each with C(t) (seconds since start), C(latency), C(status) and C(error).
  returned: always
  type: list
  elements: dict
last_error:
  description: Why the last attempt was unhealthy.
  returned: always
  type: str
soak:
  description:
    - The canary watch after the gate - C(seconds) watched, C(checks) made, C(errors) (growth of the
      error counters, null without O(error_metrics)), C(passed), and C(reason) when it failed.
  returned: when O(soak_seconds) is above 0 and the gate passed
  type: dict
"""

import json
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url
from ansible_collections.prodready.platform.plugins.module_utils._observability import exposition

_MISSING = object()


def lookup_field(data, path):
    """The value at a dotted ``path`` in parsed JSON, or ``_MISSING``."""
    current = data
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.lstrip("-").isdigit() and -len(current) <= int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def as_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return to_text(value)


def evaluate(status, body, expected_codes, json_field, json_value):
    """Judge one answer. Returns ``(healthy, reason, parsed_json_or_None)``."""
    parsed = None
    if body:
        try:
            parsed = json.loads(to_text(body, errors="surrogate_or_strict"))
        except ValueError:
            parsed = None
    if status not in expected_codes:
        return False, "status %s, expected %s" % (status, ", ".join(str(c) for c in expected_codes)), parsed
    if json_field:
        if parsed is None:
            return False, "body is not JSON, expected %s=%s" % (json_field, json_value), parsed
        found = lookup_field(parsed, json_field)
        if found is _MISSING:
            return False, "JSON field %s is missing" % json_field, parsed
        if as_text(found) != json_value:
            return False, "JSON field %s is %s, expected %s" % (json_field, as_text(found), json_value), parsed
    return True, "", parsed


def probe(params, time_left):
    """One request. Returns ``(status or None, body bytes, error text or None)``."""
    request_timeout = max(0.1, min(params["request_timeout"], time_left))
    try:
        response = open_url(
            params["url"], method="GET", headers=params["headers"], timeout=request_timeout,
            validate_certs=params["validate_certs"], ca_path=params["ca_path"], follow_redirects="none",
        )
        return response.getcode(), response.read(), None
    except HTTPError as exc:
        try:
            body = exc.read()
        except Exception:  # pylint: disable=broad-except
            body = b""
        return exc.code, body, None
    except URLError as exc:
        return None, b"", "cannot connect: %s" % to_native(exc.reason)
    except Exception as exc:  # pylint: disable=broad-except
        # Resets, timeouts and TLS errors all mean "not healthy yet": keep polling.
        return None, b"", "%s: %s" % (type(exc).__name__, to_native(exc))


def read_error_total(params, do_fetch=None):
    """``(total, error text or None)``: the sum of the error counters on the metrics page."""
    fetch = do_fetch or probe
    status, body, error = fetch(dict(params, url=params["metrics_url"]), params["request_timeout"])
    if error is not None:
        return None, "metrics page %s: %s" % (params["metrics_url"], error)
    if status != 200:
        return None, "metrics page %s answered %s" % (params["metrics_url"], status)
    try:
        total, _count = exposition.counter_total(to_text(body, errors="surrogate_or_replace"), params["error_metrics"])
    except exposition.ExpositionError as exc:
        return None, "metrics page %s: %s" % (params["metrics_url"], to_native(exc))
    return total, None


def run_soak(params, clock=time.monotonic, sleep=time.sleep, do_probe=probe, do_fetch=None):
    """Watch a release that passed its gate for ``soak_seconds``: every check must be healthy and
    the error counters must not grow by more than ``max_errors``, nor go down (a counter that went
    down means the process restarted during the soak)."""
    started = clock()
    end = started + params["soak_seconds"]
    watch_errors = bool(params["error_metrics"])
    soak = {"seconds": 0.0, "checks": 0, "errors": 0.0 if watch_errors else None, "passed": False, "reason": ""}
    baseline = None
    if watch_errors:
        baseline, error = read_error_total(params, do_fetch)
        if error:
            soak["reason"] = error
            soak["seconds"] = round(clock() - started, 3)
            return soak
    while True:
        now = clock()
        if now >= end:
            soak["passed"] = True
            break
        sleep(min(params["soak_interval"], end - now))
        soak["checks"] += 1
        status, body, error = do_probe(params, params["request_timeout"])
        if error is None:
            healthy, reason, _parsed = evaluate(status, body, params["status_code"], params["json_field"], params["json_value"])
        else:
            healthy, reason = False, error
        if not healthy:
            soak["reason"] = "unhealthy after %.1fs of the soak: %s" % (clock() - started, reason)
            break
        if watch_errors:
            total, error = read_error_total(params, do_fetch)
            if error:
                soak["reason"] = error
                break
            if total < baseline:
                soak["reason"] = ("the error counters went down from %g to %g after %.1fs of the soak: the release restarted"
                                  % (baseline, total, clock() - started))
                break
            soak["errors"] = total - baseline
            if soak["errors"] > params["max_errors"]:
                soak["reason"] = ("%g failed requests after %.1fs of the soak (%s; at most %g allowed)"
                                  % (soak["errors"], clock() - started, ", ".join(params["error_metrics"]), params["max_errors"]))
                break
    soak["seconds"] = round(clock() - started, 3)
    return soak


def run_gate(params, clock=time.monotonic, sleep=time.sleep, do_probe=probe):
    started = clock()
    deadline = started + params["timeout"]
    wait = params["interval"]
    attempts = 0
    streak = 0
    history = []
    result = {"healthy": False, "status": None, "last_error": "", "time_to_healthy": None}
    while True:
        now = clock()
        attempts += 1
        status, body, error = do_probe(params, deadline - now)
        latency = clock() - now
        if error is None:
            healthy, reason, parsed = evaluate(status, body, params["status_code"], params["json_field"],
                                               params["json_value"])
            if parsed is not None:
                result["json"] = parsed
        else:
            healthy, reason = False, error
        result["status"] = status
        result["last_error"] = reason
        history.append({"t": round(now - started, 3), "latency": round(latency, 4), "status": status,
                        "error": reason or None})
        streak = streak + 1 if healthy else 0
        if streak >= params["consecutive_successes"]:
            result["healthy"] = True
            result["time_to_healthy"] = round(clock() - started, 3)
            break
        now = clock()
        if now >= deadline:
            break
        if healthy:
            sleep(min(params["interval"], deadline - now))
        else:
            sleep(min(wait, deadline - now))
            wait = min(wait * params["backoff"], params["max_interval"])
    result["elapsed"] = round(clock() - started, 3)
    result["attempts"] = attempts
    result["history"] = history[-20:]
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            status_code=dict(type="list", elements="int", default=[200]),
            json_field=dict(type="str"),
            json_value=dict(type="str"),
            timeout=dict(type="float", default=60),
            interval=dict(type="float", default=0.5),
            backoff=dict(type="float", default=1.5),
            max_interval=dict(type="float", default=5),
            request_timeout=dict(type="float", default=5),
            consecutive_successes=dict(type="int", default=1),
            validate_certs=dict(type="bool", default=True),
            ca_path=dict(type="path"),
            headers=dict(type="dict", default={}),
            probe_in_check_mode=dict(type="bool", default=False),
            soak_seconds=dict(type="float", default=0),
            soak_interval=dict(type="float", default=2),
            metrics_url=dict(type="str"),
            error_metrics=dict(type="list", elements="str", default=[]),
            max_errors=dict(type="float", default=0),
        ),
        required_together=[("json_field", "json_value")],
        supports_check_mode=True,
    )
    params = module.params
    if not params["url"].startswith(("http://", "https://")):
        module.fail_json(msg="url must start with http:// or https://, got %s" % params["url"])
    for name in ("timeout", "interval", "request_timeout", "max_interval"):
        if params[name] <= 0:
            module.fail_json(msg="%s must be greater than 0" % name)
    if params["backoff"] < 1:
        module.fail_json(msg="backoff must be at least 1")
    if params["consecutive_successes"] < 1:
        module.fail_json(msg="consecutive_successes must be at least 1")
    if params["soak_seconds"] < 0 or params["soak_interval"] <= 0 or params["max_errors"] < 0:
        module.fail_json(msg="soak_seconds and max_errors must be at least 0 and soak_interval greater than 0")
    if params["error_metrics"] and not params["metrics_url"]:
        module.fail_json(msg="error_metrics needs metrics_url: the page the error counters are read from")
    if params["metrics_url"] and not params["metrics_url"].startswith(("http://", "https://")):
        module.fail_json(msg="metrics_url must start with http:// or https://, got %s" % params["metrics_url"])

    if module.check_mode and not params["probe_in_check_mode"]:
        module.exit_json(changed=False, healthy=True, skipped_probe=True, elapsed=0.0, time_to_healthy=None,
                         attempts=0, status=None, history=[], last_error="",
                         msg="check mode: %s not probed" % params["url"])

    result = run_gate(params)
    if not result["healthy"]:
        module.fail_json(changed=False, msg="%s not healthy after %.1fs and %d attempts: %s"
                         % (params["url"], result["elapsed"], result["attempts"], result["last_error"]), **result)
    if params["soak_seconds"] > 0:
        result["soak"] = run_soak(params)
        if not result["soak"]["passed"]:
            module.fail_json(changed=False, msg="%s was healthy after %.1fs but failed its %gs soak: %s"
                             % (params["url"], result["time_to_healthy"] or 0.0, params["soak_seconds"],
                                result["soak"]["reason"]), **result)
    module.exit_json(changed=False, msg="%s healthy after %.3fs (%d attempts)%s"
                     % (params["url"], result["time_to_healthy"] or 0.0, result["attempts"],
                        ", then through a %gs soak (%d checks)" % (params["soak_seconds"], result["soak"]["checks"])
                        if "soak" in result else ""), **result)


if __name__ == "__main__":
    main()
