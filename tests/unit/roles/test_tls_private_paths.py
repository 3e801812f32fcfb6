# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The TLS front keeps the app's /metrics private by default: nginx.conf (rendered with the role's
defaults and the demo's layout, where '/' proxies to the app) answers 404 for /metrics and what lies
below it unless the client is in tls_private_paths_allowed_sources. The map's regular expression is
checked here as nginx applies it (case-insensitive, against "<allowed>:<normalised uri>")."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest
import yaml

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(ROOT, "roles", "tls")


def render(**overrides):
    with open(os.path.join(ROLE, "defaults", "main.yml"), encoding="utf-8") as handle:
        variables = yaml.safe_load(handle)
    with open(os.path.join(ROLE, "vars", "main.yml"), encoding="utf-8") as handle:
        variables.update(yaml.safe_load(handle) or {})
    variables.update({
        "inventory_hostname": "demo-web1",
        "tls_ocsp_stapling": False,  # set by tasks/nginx.yml from the certificate
        "ansible_managed": "managed",
        "ansible_facts": {"distribution_major_version": "12", "all_ipv6_addresses": [], "fqdn": "demo-web1",
                          "default_ipv4": {"address": "172.30.100.10"}, "dns": {"nameservers": ["127.0.0.11"]}},
        "tls_upstreams": [{"name": "app", "servers": [{"address": "172.30.100.11:8080"}]}],
        "tls_locations": [{"path": "/", "upstream": "app"}, {"path": "/api/", "upstream": "app"}],
    })
    variables.update(overrides)
    with open(os.path.join(ROLE, "templates", "nginx.conf.j2"), encoding="utf-8") as handle:
        source = handle.read()
    templar = Templar(loader=DataLoader(), variables=variables)
    return templar.template(trust_as_template(source))


def private_rule(conf):
    """The compiled regex of the map entry and the geo block's allowed sources."""
    match = re.search(r'map "\$prodready_private_source:\$uri" \$prodready_private_refused \{\s*default 0;\s*"~\*(.*)" 1;', conf)
    assert match, "no private path map in nginx.conf"
    geo = re.search(r"geo \$prodready_private_source \{(.*?)\}", conf, re.S).group(1)
    sources = [line.split()[0] for line in geo.strip().splitlines() if not line.strip().startswith("default")]
    return re.compile(match.group(1), re.IGNORECASE), sources


def test_default_refuses_metrics_before_any_location():
    conf = render()
    regex, sources = private_rule(conf)
    assert sources == []
    server = conf[conf.index("# --- HTTPS"):]
    # The refusal comes before the first location, at server level.
    assert server.index("if ($prodready_private_refused)") < re.search(r"\n\s*location ", server).start()
    assert re.search(r"if \(\$prodready_private_refused\) \{\s*return 404;\s*\}", server)
    for uri in ("/metrics", "/metrics/", "/METRICS", "/metrics/x"):
        assert regex.search("0:" + uri), uri
    for uri in ("/health", "/", "/api/metrics", "/metricsfoo", "/x/metrics"):
        assert not regex.search("0:" + uri), uri
    # An allowed client (geo 1) is not refused.
    assert not regex.search("1:/metrics")


def test_allowed_sources_and_extra_paths():
    regex, sources = private_rule(render(tls_private_paths=["/metrics", "/api/internal.metrics/"],
                                         tls_private_paths_allowed_sources=["10.0.0.0/8", "::1"]))
    assert sources == ["10.0.0.0/8", "::1"]
    assert regex.search("0:/api/internal.metrics") and regex.search("0:/api/internal.metrics/a")
    assert not regex.search("0:/api/internalxmetrics")


def test_no_private_paths_no_rule():
    conf = render(tls_private_paths=[])
    assert "prodready_private" not in conf


@pytest.mark.parametrize("path", ["/", "metrics", "/metrics;allow all", "/a b", '/"x'])
def test_validation_refuses_bad_paths(path):
    with open(os.path.join(ROLE, "tasks", "validate.yml"), encoding="utf-8") as handle:
        tasks = yaml.safe_load(handle)
    task = next(t for t in tasks if t.get("name", "").startswith("Assert the private paths"))
    pattern = re.search(r"tls_private_paths \| reject\('match', '([^']+)'\)", task["ansible.builtin.assert"]["that"][0]).group(1)
    assert not re.match(pattern, path)
    assert re.match(pattern, "/metrics") and re.match(pattern, "/api/internal.metrics/")
