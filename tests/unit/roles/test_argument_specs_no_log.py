# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every secret option of every role is marked no_log in meta/argument_specs.yml: ansible-core's
argument validation then hides its value in the role's validation output and in error messages.
A secret is recognised by its name (passwords, secret keys, tokens, private keys, signing secrets,
credentials, webhook URLs); options that only name a file, a flag, a number or a public half are
not secrets."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

SECRET = re.compile(r"password|passphrase|secret|token|credential|private_key|(access|hmac|api|signing)_key"
                    r"|key_content|webhook_url|api_url")
# A flag, a number or a path names no secret (hardening_password_max_days,
# hardening_ssh_password_authentication, the key file's path); public halves are no secret.
NOT_SECRET_TYPES = ("bool", "int", "float", "path")
NOT_SECRET = re.compile(r"public|_(file|dir|path|username|owner|group|mode|type|curve|size)$")
# Secrets whose names do not say so: a webhook receiver's URL carries its token.
SECRET_BY_ROLE = ("monitoring:main:monitoring_alertmanager_receivers.url",)


def spec_options(options, prefix=""):
    """(dotted name, spec) for every option, suboptions included."""
    for name, spec in (options or {}).items():
        yield prefix + name, spec or {}
        for sub in ("options", "suboptions"):
            if isinstance(spec, dict) and spec.get(sub):
                yield from spec_options(spec[sub], prefix + name + ".")


def secret_options():
    found = []
    for path in sorted(glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml"))):
        role = path.split(os.sep)[-3]
        with open(path, encoding="utf-8") as handle:
            specs = yaml.safe_load(handle)["argument_specs"]
        for entry, entry_spec in specs.items():
            for name, spec in spec_options(entry_spec.get("options")):
                leaf = name.split(".")[-1]
                qualified = "%s:%s:%s" % (role, entry, name)
                if qualified in SECRET_BY_ROLE or (
                        SECRET.search(leaf) and not NOT_SECRET.search(leaf)
                        and spec.get("type", "str") not in NOT_SECRET_TYPES):
                    found.append((qualified, spec))
    return found


def test_secret_pattern_finds_the_known_secrets():
    names = [name for name, _spec in secret_options()]
    for expected in ("exporters:main:exporters_basic_auth_password", "backup:main:backup_repository_password",
                     "integrity:main:integrity_signing_secret", "tls:main:tls_provided_private_key",
                     "service:main:service_credentials", SECRET_BY_ROLE[0]):
        assert expected in names


@pytest.mark.parametrize("name,spec", secret_options(), ids=[name for name, _spec in secret_options()])
def test_secret_option_is_no_log(name, spec):
    assert spec.get("no_log") is True, "%s looks like a secret: add no_log: true to its argument spec" % name
