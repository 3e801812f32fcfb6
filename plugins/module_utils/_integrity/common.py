# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File integrity: the names every part of the library shares.

The manifest format's name and version, the verification levels, the entry types, the violation
kinds and the exception classes. The library is the package ``_integrity``: the
``integrity_baseline`` / ``integrity_verify`` modules, the ``integrity`` filters and the on-host
monitor of the ``integrity`` role (shipped by ``prodready.platform.python_library``) import its
modules by their full names. Standard library only at import time; Ed25519 signatures need
``cryptography`` (signing.py) and the off-host copy ``boto3`` (offhost.py), both imported lazily
so a host without them can still scan and compare.

Levels (see docs/integrity.md for the table of what each catches):

* ``minimal``  - type, size, mode, owner, group, link target, added/removed. No hashing.
* ``standard`` - minimal + mtime, ctime and inode; files whose metadata changed are rehashed.
  ctime cannot be set from user space, so ``touch -r`` after a content change is still seen.
* ``comprehensive`` - every file rehashed + ``dpkg --verify`` drift since the baseline + new
  SUID/SGID files + systemd unit and sudoers drift.
* ``full`` - comprehensive + the local manifest compared with the off-host copy (the tree is
  checked against the off-host copy), backup restore-test status, certificate chains."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


FORMAT_NAME = "prodready-integrity-manifest"
FORMAT_VERSION = 1
SIGNATURE_ALGORITHM = "ed25519"
LEVELS = ("minimal", "standard", "comprehensive", "full")

# Where unit files and sudoers live; checked from the comprehensive level on.
DEFAULT_SYSTEM_PATHS = {
    "unit": ["/etc/systemd/system", "/usr/lib/systemd/system"],
    "sudoers": ["/etc/sudoers", "/etc/sudoers.d"],
}

# One violation kind per finding, in the order of severity used to pick the kind of a
# change with several reasons. Metrics export one series per kind.
VIOLATION_KINDS = (
    "signature", "offhost", "binding", "suid", "type", "target", "content", "mode", "owner", "metadata",
    "added", "removed", "unreadable", "package", "unit", "sudoers", "backup", "certificate",
)
REASON_KIND = {
    "suid": "suid", "type": "type", "target": "target", "content": "content", "size": "content",
    "mode": "mode", "owner": "owner", "group": "owner", "mtime": "metadata", "ctime": "metadata",
    "inode": "metadata", "unreadable": "unreadable", "added": "added", "removed": "removed",
}

TYPE_FILE = "file"
TYPE_DIR = "dir"
TYPE_LINK = "symlink"
TYPE_OTHER = "other"

SMALL_FILE = 1 << 20  # read in one call up to 1 MiB, stream above
READ_CHUNK = 1 << 20


class IntegrityError(Exception):
    """Base class: every error this library raises on bad input or bad manifests."""


class ConfigError(IntegrityError):
    """Bad configuration: unknown level, missing path, bad pattern, bad key text."""


class ManifestError(IntegrityError):
    """A manifest that cannot be read: malformed, not canonical, wrong format."""


class UnsupportedVersionError(ManifestError):
    """A manifest written by a newer format version than this library understands."""


class SignatureError(ManifestError):
    """The signature does not verify: the manifest changed or another key signed it."""


class MissingDependencyError(IntegrityError):
    """An optional library (cryptography, boto3) is needed for this operation."""


def parse_level(level):
    if level not in LEVELS:
        raise ConfigError("unknown level %r: choose one of %s" % (level, ", ".join(LEVELS)))
    return level
