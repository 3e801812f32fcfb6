# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apps without /metrics do not make ServiceDown fire: prometheus.yml (rendered with the role's
defaults and vars, as Ansible does) gives an app host with monitoring_app_metrics_enabled false
no `app` scrape target but a blackbox probe of its health path (job blackbox_app), and the app
hosts with metrics keep their /metrics target."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from role_files import role_variables

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(ROOT, "roles", "monitoring")


def render(hostvars, **overrides):
    variables = role_variables("monitoring")
    variables.update({
        "inventory_hostname": "mon1",
        "ansible_managed": "managed",
        "groups": {"all": ["mon1"] + sorted(hostvars), "app": sorted(hostvars), "web": []},
        "hostvars": dict(hostvars, mon1={}),
    })
    variables.update(overrides)
    with open(os.path.join(ROLE, "templates", "prometheus.yml.j2"), encoding="utf-8") as handle:
        source = handle.read()
    return yaml.safe_load(Templar(loader=DataLoader(), variables=variables).template(trust_as_template(source)))


def job(config, name):
    jobs = [scrape for scrape in config["scrape_configs"] if scrape["job_name"] == name]
    return jobs[0] if jobs else None


def targets(scrape):
    return {static["labels"]["host"]: static["targets"] for static in scrape["static_configs"]} if scrape else {}


def test_app_without_metrics_is_probed_not_scraped():
    config = render({
        "app1": {"ansible_host": "10.0.0.1"},
        "app2": {"ansible_host": "10.0.0.2", "monitoring_app_metrics_enabled": False},
        "app3": {"ansible_host": "10.0.0.3", "monitoring_app_metrics_enabled": "false"},  # as an extra-var string
    })
    assert targets(job(config, "app")) == {"app1": ["10.0.0.1:8080"]}
    probe = job(config, "blackbox_app")
    assert targets(probe) == {"app2": ["http://10.0.0.2:8080/health"], "app3": ["http://10.0.0.3:8080/health"]}
    assert probe["params"] == {"module": ["http_2xx"]} and probe["metrics_path"] == "/probe"
    # The probe goes through the blackbox exporter, the target becomes the instance label.
    assert probe["relabel_configs"][-1] == {"target_label": "__address__", "replacement": "127.0.0.1:9115"}


def test_role_wide_switch_and_health_path():
    config = render({"app1": {"ansible_host": "10.0.0.1"}, "app2": {"monitoring_app_metrics_enabled": True}},
                    monitoring_app_metrics_enabled=False, monitoring_app_health_path="/status", monitoring_app_port=9000)
    assert targets(job(config, "app")) == {"app2": ["app2:9000"]}
    assert targets(job(config, "blackbox_app")) == {"app1": ["http://10.0.0.1:9000/status"]}


def test_apps_with_metrics_get_no_probe_job():
    config = render({"app1": {}, "app2": {}})
    assert targets(job(config, "app")) == {"app1": ["app1:8080"], "app2": ["app2:8080"]}
    assert job(config, "blackbox_app") is None


def test_probed_app_hosts_keep_the_inventory_order():
    # A set's order follows the process's string hash seed: a list built through one changes from run
    # to run, and so would prometheus.yml (a change and a reload on a converged host).
    hosts = {"app%02d" % number: {"ansible_host": "10.0.0.%d" % number, "monitoring_app_metrics_enabled": False}
             for number in range(1, 21)}
    config = render(hosts)
    probed = [static["labels"]["host"] for static in job(config, "blackbox_app")["static_configs"]]
    assert probed == sorted(hosts)
