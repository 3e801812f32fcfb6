# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for trusted_key_holder (plugins/filter/key_holder.py): where a CA key may live."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.prodready.platform.plugins.filter.key_holder import trusted_key_holder

HOSTVARS = {
    "web1": {"ansible_host": "172.30.100.10"},
    "ca1": {"tls_internal_ca_trusted": True},
    "ca-string": {"tls_internal_ca_trusted": "true"},
    "ca-off": {"tls_internal_ca_trusted": "no"},
    "logs-ca": {"logs_ca_trusted": True},
    "controller": {"ansible_connection": "local"},
    "odd": {"tls_internal_ca_trusted": "maybe"},
}
FLAG = "tls_internal_ca_trusted"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1", "controller"])
def test_the_controller_may_hold_a_key(host):
    assert trusted_key_holder(host, HOSTVARS, FLAG) is True


@pytest.mark.parametrize("host", ["ca1", "ca-string"])
def test_a_host_marked_trusted_by_its_own_variables(host):
    assert trusted_key_holder(host, HOSTVARS, FLAG) is True


@pytest.mark.parametrize("host", ["web1", "ca-off", "not-in-inventory"])
def test_a_guarded_host_or_an_unknown_name_may_not(host):
    assert trusted_key_holder(host, HOSTVARS, FLAG) is False


def test_the_flag_is_per_key():
    # Trusted with the logs CA is not trusted with the TLS CA.
    assert trusted_key_holder("logs-ca", HOSTVARS, "logs_ca_trusted") is True
    assert trusted_key_holder("logs-ca", HOSTVARS, FLAG) is False


@pytest.mark.parametrize("host, flag", [("", FLAG), (None, FLAG), ("ca1", ""), ("odd", FLAG)])
def test_bad_input_is_an_error(host, flag):
    with pytest.raises(AnsibleFilterError):
        trusted_key_holder(host, HOSTVARS, flag)
