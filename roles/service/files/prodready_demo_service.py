#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""prodready demo service: a small HTTP service used by the demo inventory and the tests.

Python standard library only (3.11+, for tomllib). Run as::

    prodready_demo_service.py --config /etc/prodready-demo/current/config.toml [--port N] [--listen ADDR]

Endpoints
---------
``GET /health``
    JSON ``{"status": "ok"|"fail"|"draining", "version": ..., "checks": {...}}``; 200 when every
    check passes, 503 otherwise. ``fail_health = true`` in the config makes it fail on purpose
    (used to test rollbacks).
``GET /metrics``
    Prometheus text format: requests, errors (5xx), a latency histogram, the number of records,
    and ``prodready_dependency_up{kind="database",name="records"}`` (1 when the SQLite database
    answered a query during the scrape; the dependency contract of docs/monitoring.md).
``POST /api/records``
    Body: a JSON object (the payload). Appends a provenance record to SQLite. Each record holds
    ``prev_hash`` (the SHA-256 of the previous record, 64 zeros for the first) and its own ``hash``
    = SHA-256 of the canonical JSON of ``{"created", "id", "payload", "prev_hash"}`` (sorted keys,
    no spaces). With a secret, ``hmac`` = HMAC-SHA256(secret, hash). Returns the record (201).
``GET /api/records[?limit=N]``
    Verifies the whole chain and returns ``{"count", "valid", "head", "errors", "records"}``
    (the last N records, default 100).

Configuration (TOML; every key optional)
----------------------------------------
``name``, ``version``, ``listen_address`` (127.0.0.1), ``port`` (8080), ``database``
(``$STATE_DIRECTORY/records.sqlite3`` or ``./records.sqlite3``), ``fail_health`` (false),
``drain_seconds`` (1.0: how long /health reports "draining" and requests are still served after
SIGTERM), ``credential`` (``hmac_key``: the file name read from ``$CREDENTIALS_DIRECTORY``),
``require_secret`` (false: when true, a missing secret fails /health), ``max_body_bytes`` (65536),
``fail_requests_after_seconds`` (0: never; else every request but /health and /metrics answers 500
once the process has run that long, while /health stays ok - a release that passes its health
gate and then fails its users, which only a canary soak that watches the error counters catches).

The secret is read from the systemd credential directory (``LoadCredential=``), never from the
config or the command line, so it is neither in the unit nor in the process list.

Dependencies (environment, e.g. the service role's ``service_secret_environment``)
-------------------------------------------------------------------------------
``DATABASE_URL`` (``postgresql://USER:PASSWORD@HOST[:PORT]/DB?sslmode=require|verify-full``
[``&sslrootcert=PATH``]): ``/health`` and ``/metrics`` log in to PostgreSQL for real: TLS first
(the server must accept it; ``verify-full`` checks the certificate against ``sslrootcert`` and the
host name), then SCRAM-SHA-256 (the server's signature is checked too), then ``SELECT 1``.
``REDIS_URL`` (``redis://USER:PASSWORD@HOST[:PORT][/DB]``): ``AUTH`` as the ACL user, then ``PING``.
Each answers a ``postgresql`` / ``redis`` check in ``/health`` (a failed login fails it) and
``prodready_dependency_up{kind="database",name="postgresql"}`` / ``{kind="cache",name="redis"}``.
The clients are the few protocol messages a login needs, in the standard library (no driver).
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import sqlite3
import ssl
import struct
import sys
import threading
import time
import tomllib
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

GENESIS_HASH = "0" * 64
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
KNOWN_PATHS = ("/health", "/metrics", "/api/records", "/")
DEFAULTS = {
    "name": "prodready-demo",
    "version": "0.0.0",
    "listen_address": "127.0.0.1",
    "port": 8080,
    "database": None,
    "fail_health": False,
    "drain_seconds": 1.0,
    "credential": "hmac_key",
    "require_secret": False,
    "max_body_bytes": 65536,
    "fail_requests_after_seconds": 0.0,
}


DEPENDENCY_TIMEOUT = 3.0
# PostgreSQL's SSLRequest and protocol 3.0 codes.
PG_SSL_REQUEST = 80877103
PG_PROTOCOL = 196608


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or has a wrong value."""


class DependencyError(Exception):
    """A dependency refused the login or answered something else than expected."""


def _pg_read(sock):
    """One backend message: (type byte, payload)."""
    header = _read_exact(sock, 5)
    length = struct.unpack("!I", header[1:])[0]
    return header[:1], _read_exact(sock, length - 4)


def _read_exact(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise DependencyError("the server closed the connection")
        data += chunk
    return data


def _pg_error(payload):
    fields = dict((part[:1], part[1:].decode("utf-8", "replace")) for part in payload.split(b"\0") if part)
    return "%s: %s" % (fields.get(b"S", "ERROR"), fields.get(b"M", "unknown error"))


def _pg_message(kind, payload):
    return kind + struct.pack("!I", len(payload) + 4) + payload


def _pg_expect_auth(sock, code):
    kind, payload = _pg_read(sock)
    if kind == b"E":
        raise DependencyError(_pg_error(payload))
    if kind != b"R" or struct.unpack("!I", payload[:4])[0] != code:
        raise DependencyError("unexpected answer %r during authentication" % kind)
    return payload[4:]


def check_postgresql(url, timeout=DEPENDENCY_TIMEOUT):
    """Log in as libpq would with ``url``: TLS, SCRAM-SHA-256, ``SELECT 1``. Returns what the
    login saw ({"tls": version, "server_version": ...}); raises DependencyError or OSError."""
    parts = urlsplit(url)
    query = dict((key, values[-1]) for key, values in parse_qs(parts.query).items())
    sslmode = query.get("sslmode", "require")
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname or not parts.username:
        raise DependencyError("DATABASE_URL must be postgresql://USER:PASSWORD@HOST[:PORT]/DB")
    if sslmode not in ("require", "verify-ca", "verify-full"):
        raise DependencyError("sslmode %s: only require, verify-ca or verify-full (TLS is not optional)" % sslmode)
    user, password = unquote(parts.username), unquote(parts.password or "")
    database = unquote(parts.path.lstrip("/")) or user
    context = ssl.create_default_context(cafile=query.get("sslrootcert")) if sslmode != "require" \
        else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = sslmode == "verify-full"
    if sslmode == "require":  # libpq's require: encrypted, the certificate is not checked
        context.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((parts.hostname, parts.port or 5432), timeout=timeout)
    try:
        raw.sendall(struct.pack("!II", 8, PG_SSL_REQUEST))
        if _read_exact(raw, 1) != b"S":
            raise DependencyError("the server does not accept TLS")
        sock = context.wrap_socket(raw, server_hostname=parts.hostname)
    except BaseException:
        raw.close()
        raise
    with sock:
        params = b"".join(key + b"\0" + value.encode("utf-8") + b"\0" for key, value in
                          ((b"user", user), (b"database", database), (b"application_name", "prodready-demo-health")))
        body = struct.pack("!I", PG_PROTOCOL) + params + b"\0"
        sock.sendall(struct.pack("!I", len(body) + 4) + body)
        mechanisms = _pg_expect_auth(sock, 10).split(b"\0")
        if b"SCRAM-SHA-256" not in mechanisms:
            raise DependencyError("the server does not offer SCRAM-SHA-256")
        client_nonce = base64.b64encode(os.urandom(18)).decode("ascii")
        client_first_bare = "n=,r=" + client_nonce
        first = ("n,," + client_first_bare).encode("ascii")
        sock.sendall(_pg_message(b"p", b"SCRAM-SHA-256\0" + struct.pack("!I", len(first)) + first))
        server_first = _pg_expect_auth(sock, 11).decode("ascii")
        fields = dict(item.split("=", 1) for item in server_first.split(","))
        if not fields.get("r", "").startswith(client_nonce):
            raise DependencyError("the server's SCRAM nonce does not extend ours")
        salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), base64.b64decode(fields["s"]), int(fields["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        final_bare = "c=biws,r=" + fields["r"]
        auth_message = ",".join((client_first_bare, server_first, final_bare)).encode("ascii")
        signature = hmac.new(hashlib.sha256(client_key).digest(), auth_message, hashlib.sha256).digest()
        proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature))).decode("ascii")
        sock.sendall(_pg_message(b"p", (final_bare + ",p=" + proof).encode("ascii")))
        server_final = _pg_expect_auth(sock, 12).decode("ascii")
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        expected = base64.b64encode(hmac.new(server_key, auth_message, hashlib.sha256).digest()).decode("ascii")
        if not hmac.compare_digest(server_final, "v=" + expected):
            raise DependencyError("the server's SCRAM signature is wrong (not the server that holds the verifier)")
        _pg_expect_auth(sock, 0)
        seen = {"tls": sock.version()}
        # The session's parameters up to the first ReadyForQuery, then the query's answer.
        for query_text in (None, b"SELECT 1"):
            if query_text:
                sock.sendall(_pg_message(b"Q", query_text + b"\0"))
            rows = 0
            kind = None
            while kind != b"Z":
                kind, payload = _pg_read(sock)
                if kind == b"E":
                    raise DependencyError(_pg_error(payload))
                if kind == b"S":
                    key, value = payload.rstrip(b"\0").split(b"\0", 1)
                    if key == b"server_version":
                        seen["server_version"] = value.decode("utf-8", "replace")
                rows += kind == b"D"
            if query_text and not rows:
                raise DependencyError("SELECT 1 returned no row")
        sock.sendall(_pg_message(b"X", b""))
    return seen


def _resp_command(*words):
    return b"*%d\r\n" % len(words) + b"".join(
        b"$%d\r\n%s\r\n" % (len(word), word) for word in (w.encode("utf-8") for w in words))


def check_redis(url, timeout=DEPENDENCY_TIMEOUT):
    """AUTH as the URL's ACL user, then PING. Returns {}; raises DependencyError or OSError."""
    parts = urlsplit(url)
    if parts.scheme != "redis" or not parts.hostname or parts.password is None:
        raise DependencyError("REDIS_URL must be redis://USER:PASSWORD@HOST[:PORT][/DB]")
    words = ([unquote(parts.username)] if parts.username else []) + [unquote(parts.password)]
    with socket.create_connection((parts.hostname, parts.port or 6379), timeout=timeout) as sock:
        sock.sendall(_resp_command("AUTH", *words) + _resp_command("PING"))
        with sock.makefile("rb") as answers:
            for expected in (b"+OK", b"+PONG"):
                line = answers.readline().rstrip(b"\r\n")
                if line != expected:
                    raise DependencyError(line.decode("utf-8", "replace") or "no answer")
    return {}


# The dependencies the environment names: (kind, name, environment variable, check).
DEPENDENCIES = (("database", "postgresql", "DATABASE_URL", check_postgresql),
                ("cache", "redis", "REDIS_URL", check_redis))


def check_dependencies(environ=None):
    """{name: (kind, check result)} for each dependency whose variable is set."""
    environ = os.environ if environ is None else environ
    results = {}
    for kind, name, variable, check in DEPENDENCIES:
        if not environ.get(variable):
            continue
        try:
            results[name] = (kind, dict({"status": "ok"}, **check(environ[variable])))
        except (DependencyError, OSError, ValueError, KeyError) as exc:
            results[name] = (kind, {"status": "fail", "error": str(exc) or type(exc).__name__})
    return results


def load_config(path, overrides=None):
    """Read the TOML config at ``path``, apply ``overrides`` and the defaults, check types."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError("cannot read config %s: %s" % (path, exc.strerror or exc))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config %s is not valid TOML: %s" % (path, exc))
    config = dict(DEFAULTS)
    config.update(data)
    for key, value in (overrides or {}).items():
        if value is not None:
            config[key] = value
    if config["database"] is None:
        state = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
        config["database"] = os.path.join(state or ".", "records.sqlite3")
    try:
        config["port"] = int(config["port"])
        config["drain_seconds"] = float(config["drain_seconds"])
        config["max_body_bytes"] = int(config["max_body_bytes"])
        config["fail_requests_after_seconds"] = float(config["fail_requests_after_seconds"])
    except (TypeError, ValueError) as exc:
        raise ConfigError("config %s: %s" % (path, exc))
    if not 0 <= config["port"] <= 65535:
        raise ConfigError("config %s: port %d is out of range 0-65535" % (path, config["port"]))
    if not isinstance(config["fail_health"], bool):
        raise ConfigError("config %s: fail_health must be true or false" % path)
    config["version"] = str(config["version"])
    return config


def load_secret(credential):
    """The secret from ``$CREDENTIALS_DIRECTORY/<credential>`` (bytes), or None."""
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return None
    try:
        with open(os.path.join(directory, credential), "rb") as handle:
            secret = handle.read().strip()
    except OSError:
        return None
    return secret or None


def record_hash(record_id, created, payload, prev_hash):
    canonical = json.dumps(
        {"created": created, "id": record_id, "payload": payload, "prev_hash": prev_hash},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class RecordStore(object):
    """The provenance chain in SQLite. One connection per call: safe across threads and
    across processes (two blue-green slots may share the database)."""

    def __init__(self, path, secret=None):
        self.path = path
        self.secret = secret
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS records ("
                " id INTEGER PRIMARY KEY, created TEXT NOT NULL, payload TEXT NOT NULL,"
                " prev_hash TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, hmac TEXT)"
            )
        self._count = self._read_count()

    def _connect(self):
        conn = sqlite3.connect(self.path, timeout=15, isolation_level=None)
        conn.row_factory = sqlite3.Row
        return conn

    def _read_count(self):
        conn = self._connect()
        try:
            return conn.execute("SELECT count(*) FROM records").fetchone()[0]
        finally:
            conn.close()

    def count(self):
        return self._count

    def ping(self):
        conn = self._connect()
        try:
            conn.execute("SELECT 1 FROM records LIMIT 1").fetchall()
            return True
        finally:
            conn.close()

    def _sign(self, digest):
        if not self.secret:
            return None
        return hmac.new(self.secret, digest.encode("ascii"), hashlib.sha256).hexdigest()

    def append(self, payload):
        conn = self._connect()
        try:
            # BEGIN IMMEDIATE takes the write lock before reading the head, so two writers
            # (threads or processes) can never both link to the same previous record.
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT id, hash FROM records ORDER BY id DESC LIMIT 1").fetchone()
            record_id = (row["id"] + 1) if row else 1
            prev_hash = row["hash"] if row else GENESIS_HASH
            created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            digest = record_hash(record_id, created, payload, prev_hash)
            signature = self._sign(digest)
            conn.execute(
                "INSERT INTO records (id, created, payload, prev_hash, hash, hmac) VALUES (?, ?, ?, ?, ?, ?)",
                (record_id, created, json.dumps(payload, sort_keys=True), prev_hash, digest, signature),
            )
            conn.execute("COMMIT")
            self._count = record_id
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()
        return {"id": record_id, "created": created, "payload": payload, "prev_hash": prev_hash,
                "hash": digest, "hmac": signature}

    def verify(self, limit=100):
        """Walk the whole chain; returns the summary and the last ``limit`` records."""
        errors = []
        tail = []
        expected_prev = GENESIS_HASH
        count = 0
        conn = self._connect()
        try:
            for row in conn.execute("SELECT id, created, payload, prev_hash, hash, hmac FROM records ORDER BY id"):
                count += 1
                payload = json.loads(row["payload"])
                if row["prev_hash"] != expected_prev:
                    errors.append("record %d: prev_hash does not match the previous record" % row["id"])
                if record_hash(row["id"], row["created"], payload, row["prev_hash"]) != row["hash"]:
                    errors.append("record %d: hash does not match its content" % row["id"])
                if self.secret and row["hmac"] is not None and not hmac.compare_digest(
                        self._sign(row["hash"]), row["hmac"]):
                    errors.append("record %d: hmac does not match (wrong secret or tampered)" % row["id"])
                expected_prev = row["hash"]
                tail.append({"id": row["id"], "created": row["created"], "payload": payload,
                             "prev_hash": row["prev_hash"], "hash": row["hash"], "hmac": row["hmac"]})
                if len(tail) > limit:
                    tail.pop(0)
        finally:
            conn.close()
        self._count = count
        return {"count": count, "valid": not errors, "head": expected_prev, "errors": errors[:20],
                "records": tail if limit > 0 else []}


class Metrics(object):
    """Counters and a latency histogram, rendered in the Prometheus text format."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = {}
        self.errors = {}
        self.buckets = [0] * len(LATENCY_BUCKETS)
        self.latency_sum = 0.0
        self.latency_count = 0

    def observe(self, method, path, code, seconds):
        with self.lock:
            key = (method, path, code)
            self.requests[key] = self.requests.get(key, 0) + 1
            if code >= 500:
                self.errors[path] = self.errors.get(path, 0) + 1
            for index, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    self.buckets[index] += 1
            self.latency_sum += seconds
            self.latency_count += 1

    def render(self, version, records, draining, database_up=None, dependencies=None):
        lines = [
            "# HELP prodready_demo_build_info Version of the running demo service.",
            "# TYPE prodready_demo_build_info gauge",
            'prodready_demo_build_info{version="%s"} 1' % version.replace("\\", "\\\\").replace('"', '\\"'),
            "# HELP prodready_demo_http_requests_total HTTP requests answered, by method, path and status code.",
            "# TYPE prodready_demo_http_requests_total counter",
        ]
        with self.lock:
            for (method, path, code), value in sorted(self.requests.items()):
                lines.append('prodready_demo_http_requests_total{method="%s",path="%s",code="%d"} %d'
                             % (method, path, code, value))
            lines += [
                "# HELP prodready_demo_http_errors_total HTTP requests answered with a 5xx status, by path.",
                "# TYPE prodready_demo_http_errors_total counter",
            ]
            for path, value in sorted(self.errors.items()):
                lines.append('prodready_demo_http_errors_total{path="%s"} %d' % (path, value))
            lines += [
                "# HELP prodready_demo_http_request_duration_seconds Time to answer an HTTP request.",
                "# TYPE prodready_demo_http_request_duration_seconds histogram",
            ]
            for bound, value in zip(LATENCY_BUCKETS, self.buckets):
                lines.append('prodready_demo_http_request_duration_seconds_bucket{le="%s"} %d' % (bound, value))
            lines.append('prodready_demo_http_request_duration_seconds_bucket{le="+Inf"} %d' % self.latency_count)
            lines.append("prodready_demo_http_request_duration_seconds_sum %r" % self.latency_sum)
            lines.append("prodready_demo_http_request_duration_seconds_count %d" % self.latency_count)
        lines += [
            "# HELP prodready_demo_records Provenance records stored.",
            "# TYPE prodready_demo_records gauge",
            "prodready_demo_records %d" % records,
            "# HELP prodready_demo_draining 1 while the service drains after SIGTERM.",
            "# TYPE prodready_demo_draining gauge",
            "prodready_demo_draining %d" % (1 if draining else 0),
        ]
        if database_up is not None:
            # The dependency contract of docs/monitoring.md (DatabaseDown): 1 when the records
            # database answered a query during this scrape.
            lines += [
                "# HELP prodready_dependency_up 1 when the dependency answered a check during this scrape.",
                "# TYPE prodready_dependency_up gauge",
                'prodready_dependency_up{kind="database",name="records"} %d' % (1 if database_up else 0),
            ]
        for name, (kind, result) in sorted((dependencies or {}).items()):
            lines.append('prodready_dependency_up{kind="%s",name="%s"} %d' % (kind, name, 1 if result["status"] == "ok" else 0))
        return "\n".join(lines) + "\n"


class DemoServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins request threads: in-flight requests finish.
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, config, secret):
        self.config = config
        self.secret = secret
        self.metrics = Metrics()
        self.store = RecordStore(config["database"], secret)
        self.draining = threading.Event()
        self.started = time.time()
        super().__init__((config["listen_address"], config["port"]), Handler)

    def health(self):
        checks = {}
        try:
            self.store.ping()
            checks["database"] = {"status": "ok"}
        except sqlite3.Error as exc:
            checks["database"] = {"status": "fail", "error": str(exc)}
        if self.secret:
            checks["secret"] = {"status": "ok"}
        else:
            checks["secret"] = {"status": "fail" if self.config["require_secret"] else "warn",
                                "error": "no credential %r in $CREDENTIALS_DIRECTORY" % self.config["credential"]}
        for name, (_kind, result) in check_dependencies().items():
            checks[name] = result
        checks["config"] = ({"status": "fail", "error": "fail_health is set in the configuration"}
                            if self.config["fail_health"] else {"status": "ok"})
        failed = any(check["status"] == "fail" for check in checks.values())
        status = "draining" if self.draining.is_set() else ("fail" if failed else "ok")
        return status, checks


class Handler(BaseHTTPRequestHandler):
    server_version = "prodready-demo"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        # One line per request on stderr, which systemd sends to the journal.
        sys.stderr.write("%s %s\n" % (self.address_string(), format % args))

    def _send(self, code, body, content_type="application/json"):
        if not isinstance(body, bytes):
            if content_type == "application/json":
                body = json.dumps(body, sort_keys=True).encode("utf-8") + b"\n"
            else:
                body = body.encode("utf-8")
        # Counted before the answer leaves: a client that reads /metrics right after its request
        # finds that request in it.
        if not self._observed:
            self._observed = True
            self.server.metrics.observe(self.command, self._route(), code, time.monotonic() - self._started)
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.server.draining.is_set():
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return code

    def _route(self):
        return self.path_only if self.path_only in KNOWN_PATHS else "other"

    def _handle(self, method):
        self._started = time.monotonic()
        self._observed = False
        parts = urlsplit(self.path)
        self.path_only = parts.path
        code = 500
        try:
            code = self._dispatch(method, parts)
        except Exception as exc:  # pylint: disable=broad-except
            # An unexpected error answers 500 and is counted; the service keeps running.
            sys.stderr.write("error on %s %s: %r\n" % (method, self.path, exc))
            code = self._send(500, {"error": "internal error"})
        finally:
            if not self._observed:  # no answer was sent (the client went away first)
                self.server.metrics.observe(method, self._route(), code, time.monotonic() - self._started)

    def _dispatch(self, method, parts):
        server = self.server
        path = parts.path
        if path == "/health" and method in ("GET", "HEAD"):
            status, checks = server.health()
            return self._send(200 if status == "ok" else 503, {
                "status": status, "version": server.config["version"], "name": server.config["name"],
                "checks": checks, "uptime_seconds": round(time.time() - server.started, 3)})
        if path == "/metrics" and method in ("GET", "HEAD"):
            try:
                database_up = server.store.ping()
            except sqlite3.Error:
                database_up = False
            return self._send(200, server.metrics.render(server.config["version"], server.store.count(),
                                                         server.draining.is_set(), database_up, check_dependencies()),
                              "text/plain; version=0.0.4; charset=utf-8")
        failing_after = server.config["fail_requests_after_seconds"]
        if failing_after > 0 and time.time() - server.started >= failing_after:
            return self._send(500, {"error": "fail_requests_after_seconds is set: failing on purpose"})
        if path == "/api/records" and method == "POST":
            return self._post_record()
        if path == "/api/records" and method in ("GET", "HEAD"):
            query = parse_qs(parts.query)
            try:
                limit = max(0, min(int(query.get("limit", ["100"])[0]), 10000))
            except ValueError:
                return self._send(400, {"error": "limit must be an integer"})
            return self._send(200, server.store.verify(limit))
        if path == "/" and method in ("GET", "HEAD"):
            return self._send(200, {"name": server.config["name"], "version": server.config["version"],
                                    "endpoints": ["/health", "/metrics", "/api/records"]})
        if path in KNOWN_PATHS:
            return self._send(405, {"error": "method not allowed"})
        return self._send(404, {"error": "not found"})

    def _post_record(self):
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            return self._send(400, {"error": "bad Content-Length"})
        if length > self.server.config["max_body_bytes"]:
            self.close_connection = True
            return self._send(413, {"error": "body larger than %d bytes" % self.server.config["max_body_bytes"]})
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            payload = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return self._send(400, {"error": "body must be a JSON object"})
        if not isinstance(payload, dict):
            return self._send(400, {"error": "body must be a JSON object"})
        return self._send(201, self.server.store.append(payload))

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self._handle("GET")

    def do_HEAD(self):  # noqa: N802
        self._handle("HEAD")

    def do_POST(self):  # noqa: N802
        self._handle("POST")

    def do_PUT(self):  # noqa: N802
        self._handle("PUT")

    def do_DELETE(self):  # noqa: N802
        self._handle("DELETE")


def serve(config, secret, stop_event, ready_callback=None):
    """Serve until ``stop_event`` is set, then drain: /health says "draining" for
    ``drain_seconds`` while requests are still answered, the listener closes and in-flight
    requests finish."""
    server = DemoServer(config, secret)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    sys.stderr.write("%s %s listening on %s:%d\n" % (config["name"], config["version"],
                                                     config["listen_address"], server.server_address[1]))
    if ready_callback:
        ready_callback(server)
    stop_event.wait()
    server.draining.set()
    sys.stderr.write("draining for %.1fs\n" % config["drain_seconds"])
    time.sleep(max(0.0, config["drain_seconds"]))
    server.shutdown()
    server.server_close()
    sys.stderr.write("stopped\n")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description="prodready demo service")
    parser.add_argument("--config", required=True, help="TOML configuration file")
    parser.add_argument("--port", type=int, help="listen port (overrides the config)")
    parser.add_argument("--listen", help="listen address (overrides the config)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config, {"port": args.port, "listen_address": args.listen})
    except ConfigError as exc:
        sys.stderr.write("prodready-demo: %s\n" % exc)
        return 2
    secret = load_secret(config["credential"])
    stop_event = threading.Event()

    def on_signal(signum, frame):  # pylint: disable=unused-argument
        stop_event.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        return serve(config, secret, stop_event)
    except (OSError, sqlite3.Error) as exc:
        sys.stderr.write("prodready-demo: cannot start: %s\n" % exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
