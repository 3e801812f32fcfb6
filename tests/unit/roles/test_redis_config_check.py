# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""roles/redis/files/redis_config_check.py against a real redis-server (REDIS_SERVER, else the one
on PATH; skipped where Redis is not installed): good files pass, Redis' own reason stops bad ones."""

import hashlib
import importlib.util
import os
import shutil

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCRIPT = os.path.join(ROOT, "roles", "redis", "files", "redis_config_check.py")
REDIS_SERVER = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")

ACL = ("user default off resetpass resetkeys resetchannels -@all\n"
       "user app on #%s ~app:* (~x:* +get) +@all -@admin -@dangerous\n" % hashlib.sha256(b"app").hexdigest())


@pytest.fixture(scope="module")
def check():
    spec = importlib.util.spec_from_file_location("redis_config_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return lambda *args: module.check(*args[:2], server=REDIS_SERVER, tls=False, timeout=10)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def conf(tmp_path, acl, extra=""):
    (tmp_path / "data").mkdir(exist_ok=True)
    return ("bind 127.0.0.1 192.0.2.10\nprotected-mode yes\nport 6379\ndaemonize no\nsupervised systemd\n"
            "aclfile %s\ndir %s\nsave 3600 1\nappendonly yes\nmaxmemory 64mb\nmaxmemory-policy noeviction\n%s"
            % (acl, tmp_path / "data", extra))


def test_good_acl_and_configuration_pass_and_touch_nothing(check, tmp_path):
    acl = write(tmp_path, "users.acl", ACL)
    assert check("acl", acl) == (0, "")
    assert check("conf", write(tmp_path, "redis.conf", conf(tmp_path, acl))) == (0, "")
    # The throwaway server neither bound the declared address nor wrote into the real data directory.
    assert os.listdir(str(tmp_path / "data")) == []


@pytest.mark.parametrize("line,reason", [
    ("user other on ~app:* +nosuchcommand", "Unknown command or category name in ACL"),
    ("# a comment", "should start with user keyword"),
    ("user other on ~app:* +@nosuchcategory", "Unknown command or category name in ACL"),
])
def test_acl_file_redis_refuses(check, tmp_path, line, reason):
    code, message = check("acl", write(tmp_path, "bad.acl", ACL + line + "\n"))
    assert code == 1 and reason in message


def test_configuration_redis_refuses_and_bad_acl_behind_it(check, tmp_path):
    acl = write(tmp_path, "users.acl", ACL)
    code, message = check("conf", write(tmp_path, "bad.conf", conf(tmp_path, acl, "maxmemory-policy bogus\n")))
    assert code == 1 and "maxmemory-policy bogus" in message
    bad_acl = write(tmp_path, "bad.acl", ACL + "user x on +nosuch\n")
    code, message = check("conf", write(tmp_path, "bad2.conf", conf(tmp_path, bad_acl)))
    assert code == 1 and "ACL errors" in message


def test_missing_server_is_an_error(tmp_path):
    spec = importlib.util.spec_from_file_location("redis_config_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    code, message = module.check("acl", write(tmp_path, "users.acl", ACL), str(tmp_path / "none"), False, 5)
    assert code == 1 and "cannot run" in message
