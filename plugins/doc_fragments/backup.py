# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options shared by the backup modules that run on the trusted side.

Their argument specs live once too: ``module_utils._backup.s3.CONNECTION_ARGS`` and
``module_utils._backup.restic.TRUSTED_RESTIC_ARGS``.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    # The S3 connection (backup_bucket, backup_rewind).
    DOCUMENTATION = r"""
options:
  endpoint_url:
    description:
      - S3 endpoint URL with scheme (C(https://...) or C(http://...)). Omit for AWS.
    type: str
  region:
    description: Region used to sign requests (and to create a bucket).
    type: str
    default: us-east-1
  access_key:
    description: S3 access key id.
    type: str
    required: true
  secret_key:
    description: S3 secret access key.
    type: str
    required: true
  path_style:
    description: Use path-style addressing (endpoint/bucket), as MinIO, SeaweedFS and Ceph need.
    type: bool
    default: false
  validate_certs:
    description: Verify the endpoint's TLS certificate.
    type: bool
    default: true
requirements:
  - boto3
"""

    # restic with the trusted identity (backup_repository, backup_retention).
    RESTIC = r"""
options:
  repository:
    description: The restic repository, e.g. C(s3:https://s3.example.com/bucket/prefix).
    type: str
    required: true
  password:
    description: The repository password (the host's own).
    type: str
    required: true
  access_key:
    description: S3 access key id of the trusted (delete-capable) identity.
    type: str
    required: true
  secret_key:
    description: S3 secret key of the trusted identity.
    type: str
    required: true
  region:
    description: S3 region restic signs requests for.
    type: str
    default: us-east-1
  path_style:
    description: Path-style bucket addressing (SeaweedFS, MinIO, Ceph).
    type: bool
    default: false
  restic_binary:
    description: The restic executable (looked up in PATH when not absolute).
    type: str
    default: restic
  timeout:
    description: Seconds one restic call may take before it is stopped.
    type: int
    default: 3600
requirements:
  - restic on the node the module runs on
"""
