# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tls_facts: which packages are missing, as dpkg reports them; it never changes anything."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prodready.platform.plugins.module_utils._observability import host
from ansible_collections.prodready.platform.plugins.modules import tls_facts


def test_tls_facts_reports_missing_packages(monkeypatch):
    monkeypatch.setattr(host, "installed_packages", lambda names: ["nginx", "openssl"])
    assert tls_facts.read({"packages": ["nginx", "dehydrated", "openssl", "curl"]}) == {"packages_missing": ["dehydrated", "curl"]}
