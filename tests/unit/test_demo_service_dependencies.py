"""The demo service's dependency checks (DATABASE_URL, REDIS_URL) against real servers started
here: a PostgreSQL cluster with TLS and scram-sha-256 only, a Redis with an ACL user. Skipped where
the server binaries are not installed (Debian: postgresql, redis-server)."""
import glob
import http.client
import importlib.util
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(os.path.dirname(os.path.dirname(HERE)), "roles", "service", "files", "prodready_demo_service.py")
PG_BIN = os.environ.get("PG_BIN") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)), "")
REDIS_SERVER = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
needs_postgresql = pytest.mark.skipif(not os.path.exists(os.path.join(PG_BIN, "initdb")),
                                      reason="PostgreSQL server binaries are not installed")
needs_redis = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")
DB_PASSWORD = "demo-db-password-0123456789"
REDIS_PASSWORD = "demo-redis-password-0123456789"


def load_service():
    spec = importlib.util.spec_from_file_location("prodready_demo_service", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, proc, what):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("%s exited with %s" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("%s did not listen on %d" % (what, port))


@pytest.fixture(scope="module")
def postgresql():
    """A throw-away cluster: TLS (a self-signed certificate), hostssl scram-sha-256 for 127.0.0.1,
    plain TCP refused; the role `demo` with a password owns the database `demo`. As the postgres
    account when the tests run as root (initdb refuses root)."""
    workdir = tempfile.mkdtemp(prefix="demo-pg-")
    run_as = {}
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(workdir, account.pw_uid, account.pw_gid)
        run_as = {"user": account.pw_uid, "group": account.pw_gid}
    data = os.path.join(workdir, "data")
    port = free_port()
    password_file = os.path.join(workdir, "pw")

    def run(argv, **kwargs):
        return subprocess.run(argv, check=True, capture_output=True, cwd=workdir, **run_as, **kwargs)

    with open(password_file, "w") as handle:
        handle.write("superuser-password-0123456789\n")
    if run_as:
        os.chown(password_file, run_as["user"], run_as["group"])
    run([os.path.join(PG_BIN, "initdb"), "-D", data, "-U", "postgres", "--auth-local=trust",
         "--auth-host=reject", "--pwfile", password_file])
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-days", "1", "-subj", "/CN=localhost", "-keyout", os.path.join(data, "server.key"),
         "-out", os.path.join(data, "server.crt")])
    os.chmod(os.path.join(data, "server.key"), 0o600)
    with open(os.path.join(data, "pg_hba.conf"), "w") as handle:
        handle.write("local all postgres trust\n"
                     "hostnossl all all 0.0.0.0/0 reject\n"
                     "hostssl demo demo 127.0.0.1/32 scram-sha-256\n")
    proc = subprocess.Popen([os.path.join(PG_BIN, "postgres"), "-D", data, "-p", str(port), "-k", workdir,
                             "-c", "listen_addresses=127.0.0.1", "-c", "ssl=on",
                             "-c", "password_encryption=scram-sha-256"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir, **run_as)
    try:
        wait_for_port(port, proc, "postgres")
        psql = [os.path.join(PG_BIN, "psql"), "-h", workdir, "-p", str(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1"]
        run(psql + ["-d", "postgres", "-c", "CREATE ROLE demo LOGIN PASSWORD '%s'" % DB_PASSWORD,
                    "-c", "CREATE DATABASE demo OWNER demo"])
        yield {"port": port, "certificate": os.path.join(data, "server.crt")}
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    import hashlib
    tmp = tmp_path_factory.mktemp("redis")
    acl = tmp / "users.acl"
    acl.write_text("user default off resetpass -@all\nuser demo on #%s ~demo:* +@all -@admin -@dangerous\n"
                   % hashlib.sha256(REDIS_PASSWORD.encode()).hexdigest())
    port = free_port()
    proc = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp),
                             "--aclfile", str(acl), "--save", "", "--logfile", ""],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc, "redis-server")
        yield {"port": port}
    finally:
        proc.terminate()
        proc.wait(10)


def db_url(port, password=DB_PASSWORD, query="sslmode=require"):
    return "postgresql://demo:%s@127.0.0.1:%d/demo?%s" % (password, port, query)


@needs_postgresql
def test_postgresql_login_over_tls_with_scram(postgresql):
    seen = load_service().check_postgresql(db_url(postgresql["port"]))
    assert seen["tls"] in ("TLSv1.2", "TLSv1.3")
    assert seen["server_version"].split(".")[0].isdigit()


@needs_postgresql
def test_postgresql_verify_full_checks_the_certificate(postgresql):
    service = load_service()
    url = db_url(postgresql["port"], query="sslmode=verify-full&sslrootcert=%s" % postgresql["certificate"])
    # The certificate names localhost, not 127.0.0.1: verify-full refuses it.
    with pytest.raises(Exception) as failure:
        service.check_postgresql(url)
    assert "127.0.0.1" in str(failure.value) or "match" in str(failure.value)
    seen = service.check_postgresql(url.replace("@127.0.0.1:", "@localhost:"))
    assert seen["tls"]


@needs_postgresql
def test_postgresql_wrong_password_and_no_tls_are_refused(postgresql):
    service = load_service()
    with pytest.raises(service.DependencyError, match="password authentication failed"):
        service.check_postgresql(db_url(postgresql["port"], password="wrong-password"))
    with pytest.raises(service.DependencyError, match="TLS is not optional"):
        service.check_postgresql(db_url(postgresql["port"], query="sslmode=disable"))


@needs_redis
def test_redis_auth_and_ping(redis):
    service = load_service()
    assert service.check_redis("redis://demo:%s@127.0.0.1:%d/0" % (REDIS_PASSWORD, redis["port"])) == {}
    with pytest.raises(service.DependencyError, match="WRONGPASS"):
        service.check_redis("redis://demo:wrong-password@127.0.0.1:%d/0" % redis["port"])


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


@needs_postgresql
@needs_redis
def test_health_and_metrics_report_the_dependencies(tmp_path, postgresql, redis):
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text('listen_address = "127.0.0.1"\nport = %d\ndatabase = "%s"\n' % (port, tmp_path / "r.sqlite3"))
    env = dict(os.environ, DATABASE_URL=db_url(postgresql["port"]),
               REDIS_URL="redis://demo:%s@127.0.0.1:%d" % (REDIS_PASSWORD, redis["port"]))
    env.pop("CREDENTIALS_DIRECTORY", None)
    proc = subprocess.Popen([sys.executable, SCRIPT, "--config", str(config)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc, "demo service")
        status, body = get(port, "/health")
        health = json.loads(body)
        assert status == 200, body
        assert health["checks"]["postgresql"]["status"] == "ok"
        assert health["checks"]["postgresql"]["tls"].startswith("TLSv1.")
        assert health["checks"]["redis"] == {"status": "ok"}
        status, body = get(port, "/metrics")
        assert 'prodready_dependency_up{kind="database",name="postgresql"} 1' in body
        assert 'prodready_dependency_up{kind="cache",name="redis"} 1' in body
    finally:
        proc.terminate()
        proc.wait(10)
    # A wrong password: /health fails and names the cause, never the password.
    env["DATABASE_URL"] = db_url(postgresql["port"], password="wrong-password-0123")
    proc = subprocess.Popen([sys.executable, SCRIPT, "--config", str(config)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc, "demo service")
        status, body = get(port, "/health")
        assert status == 503
        assert "password authentication failed" in json.loads(body)["checks"]["postgresql"]["error"]
        assert "wrong-password-0123" not in body
        assert 'prodready_dependency_up{kind="database",name="postgresql"} 0' in get(port, "/metrics")[1]
    finally:
        proc.terminate()
        proc.wait(10)
