# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``offhost`` option shared by integrity_baseline (uploads) and integrity_verify (reads).

Its argument spec lives once too: ``module_utils.integrity.offhost_argument_spec``.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    # Reading the copy (integrity_verify). ansible-test wants literal strings here, so the
    # upload variant below repeats these suboptions and adds the retention ones.
    DOCUMENTATION = r"""
options:
  offhost:
    description:
      - The S3 location of the signed manifest's off-host copy (boto3). Credentials are used for
        this run only; without them boto3's default chain applies (environment, instance profile).
    type: dict
    suboptions:
      endpoint_url:
        description: S3 endpoint (omit for AWS).
        type: str
      bucket:
        description: Bucket name.
        type: str
        required: true
      key:
        description: Object key of this host's manifest.
        type: str
        required: true
      access_key:
        description: Access key id (reading the copy needs read access only).
        type: str
      secret_key:
        description: Secret access key.
        type: str
      region:
        description: Region name.
        type: str
        default: us-east-1
      ca_bundle:
        description: CA bundle for a private endpoint.
        type: path
"""

    # Uploading the copy with Object Lock retention (integrity_baseline).
    UPLOAD = r"""
options:
  offhost:
    description:
      - The S3 location of the signed manifest's off-host copy (boto3). Credentials are used for
        this run only; without them boto3's default chain applies (environment, instance profile).
    type: dict
    suboptions:
      endpoint_url:
        description: S3 endpoint (omit for AWS).
        type: str
      bucket:
        description: Bucket name.
        type: str
        required: true
      key:
        description: Object key of this host's manifest.
        type: str
        required: true
      access_key:
        description: Access key id (reading the copy needs read access only).
        type: str
      secret_key:
        description: Secret access key.
        type: str
      region:
        description: Region name.
        type: str
        default: us-east-1
      ca_bundle:
        description: CA bundle for a private endpoint.
        type: path
      retention_days:
        description: Object Lock retention in days when the bucket has Object Lock enabled (0 = none).
        type: int
        default: 30
      retention_mode:
        description: Object Lock mode.
        type: str
        choices: [GOVERNANCE, COMPLIANCE]
        default: GOVERNANCE
"""
