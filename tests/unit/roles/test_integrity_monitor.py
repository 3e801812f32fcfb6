"""The on-host monitor (roles/integrity/files/prodready_integrity.py): SMTP never sends credentials
without TLS and verifies the relay's certificate; a manifest bound to another host or path set is a
binding violation, judged as the controller-signed manifest says."""
import importlib.util
import os
import ssl
import sys

import pytest

from ansible_collections.prodready.platform.plugins.module_utils._integrity import baseline
from ansible_collections.prodready.platform.plugins.module_utils._integrity import signing

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.fixture
def monitor(monkeypatch):
    """The monitor as a module. It imports the library by its full name (as on the host, where
    prodready.platform.python_library installs it under python/ beside the monitor); here that name
    is the collection under test, already imported."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    spec = importlib.util.spec_from_file_location("prodready_integrity_monitor",
                                                  os.path.join(ROOT, "roles", "integrity", "files", "prodready_integrity.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeSMTP(object):
    calls = []

    def __init__(self, host, port, timeout=None):
        FakeSMTP.calls.append(("connect", host, port))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self, context=None):
        FakeSMTP.calls.append(("starttls", context))

    def login(self, user, password):
        FakeSMTP.calls.append(("login", user))

    def send_message(self, message):
        FakeSMTP.calls.append(("send", message["To"]))


def email_config(**email):
    base = {"to": ["ops@example.invalid"], "from": "", "smtp_host": "relay.example.invalid", "smtp_port": 587,
            "starttls": True, "ca_file": "", "username": "", "password": ""}
    base.update(email)
    return {"host": "app1", "notify": {"email": base, "timeout": 5}}


RESULT = {"level": "standard", "violations": [{"path": "/etc/x", "kind": "content"}], "counts": {"by_kind": {"content": 1}}}


def test_smtp_refuses_credentials_without_tls(monitor, monkeypatch):
    FakeSMTP.calls = []
    monkeypatch.setattr(monitor.smtplib, "SMTP", FakeSMTP)
    with pytest.raises(RuntimeError, match="without STARTTLS"):
        monitor.send("email", email_config(starttls=False, username="u", password="p"), RESULT, "violation", "f")
    assert FakeSMTP.calls == []  # not even connected


def test_smtp_starttls_verifies_the_certificate_before_login(monitor, monkeypatch):
    FakeSMTP.calls = []
    monkeypatch.setattr(monitor.smtplib, "SMTP", FakeSMTP)
    monitor.send("email", email_config(username="u", password="p"), RESULT, "violation", "f")
    kinds = [call[0] for call in FakeSMTP.calls]
    assert kinds == ["connect", "starttls", "login", "send"]
    context = FakeSMTP.calls[1][1]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_monitor_reports_a_manifest_bound_to_another_host_or_path_set(monitor, tmp_path):
    tree = tmp_path / "srv"
    tree.mkdir()
    (tree / "a").write_text("a")
    key = signing.load_private_key(signing.generate_private_key_text())
    manifest = tmp_path / "baseline.json"
    manifest.write_bytes(baseline.create_baseline([str(tree)], private_key=key, system_paths={}, packages=False,
                                                  host="app1", package_owners=False)[1])
    (tmp_path / "public.key").write_text(signing.public_key_text(key) + "\n")
    config = {"manifest": str(manifest), "public_key_file": str(tmp_path / "public.key"), "host": "app1",
              "binding": {"paths": [str(tree)], "include": [], "exclude": []}, "packages": False}
    assert monitor.run_check(config, "standard")["ok"]
    planted = monitor.run_check(dict(config, host="app2"), "standard")
    assert [v["kind"] for v in planted["violations"]] == ["binding"]
    wider = monitor.run_check(dict(config, binding={"paths": [str(tree), "/etc"]}), "standard")
    assert [v["kind"] for v in wider["violations"]] == ["binding"]
    # A configuration written before binding existed is not judged on it.
    legacy = dict(config, host="app2")
    legacy.pop("binding")
    assert monitor.run_check(legacy, "minimal")["violations"][0]["kind"] == "binding"


def _imported_utils(path):
    """Dotted module_utils names a file imports from this collection (``from ...module_utils[.pkg] import x``)."""
    import ast
    prefix = "ansible_collections.prodready.platform.plugins.module_utils"
    names = set()
    with open(path) as handle:
        tree = ast.parse(handle.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(prefix):
            package = node.module[len(prefix):].lstrip(".")
            if package and os.path.exists(os.path.join(ROOT, "plugins", "module_utils", *package.split(".")) + ".py"):
                names.add(package)  # from <module> import <name>
                continue
            for alias in node.names:
                names.add((package + "." if package else "") + alias.name)
    return names


def test_the_role_ships_every_module_the_monitor_imports():
    """The library the role installs (vars/main.yml, integrity_library_modules) holds the monitor's imports
    and theirs, and python_library can ship each of them."""
    import yaml
    from ansible_collections.prodready.platform.plugins.modules import python_library

    with open(os.path.join(ROOT, "roles", "integrity", "vars", "main.yml")) as handle:
        shipped = set(yaml.safe_load(handle)["integrity_library_modules"])
    wanted, todo = set(), _imported_utils(os.path.join(ROOT, "roles", "integrity", "files", "prodready_integrity.py"))
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        wanted.add(name)
        todo |= _imported_utils(os.path.join(ROOT, "plugins", "module_utils", *name.split(".")) + ".py")
    assert wanted <= shipped, sorted(wanted - shipped)
    assert shipped <= set(python_library.SHIPPABLE), sorted(shipped - set(python_library.SHIPPABLE))
