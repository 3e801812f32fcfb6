# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File integrity: notification de-duplication."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

from ansible_collections.prodready.platform.plugins.module_utils._integrity import manifest


def violation_fingerprint(result):
    """A stable digest of the violation set: the same findings give the same fingerprint, so
    a persisting violation alerts once."""
    items = sorted((v["path"], v["kind"], sorted(v.get("reasons", []))) for v in result.get("violations", []))
    return hashlib.sha256(manifest.canonical_json(items)).hexdigest() if items else ""
