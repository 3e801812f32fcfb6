# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The record of a repository that opened (standard library only).

The on-host runner writes it once restic opened (or created) the repository with the current
secrets and configuration (``prodready-backup probe --record``, ``init``); the backup_facts module
compares it, so the role asks restic again only when either file changed or the record is gone.
Shipped to the host by prodready.platform.python_library; imported by the runner and the module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib


def repository_digest(config_path, env_path):
    """SHA-256 of the secrets file and the configuration, in that order."""
    digest = hashlib.sha256()
    for path in (env_path, config_path):
        with open(path, "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()


def repository_recorded(config_path, env_path, marker_path):
    """True when the record vouches for these secrets and this configuration (any missing or
    unreadable file: False)."""
    try:
        with open(marker_path, "rb") as handle:
            recorded = handle.read().decode("ascii", "replace").strip()
        return recorded == repository_digest(config_path, env_path)
    except (IOError, OSError):
        return False
