# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One way to build the S3 client the controller-side backup modules use."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

# Modules report a missing boto3 with missing_required_lib(); importing this file never fails.
BOTO3_IMPORT_ERROR = None
try:
    import boto3
    import botocore.config
    import botocore.exceptions
except ImportError:
    boto3 = botocore = None
    BOTO3_IMPORT_ERROR = traceback.format_exc()

# The argument spec of the connection options (doc fragment prodready.platform.backup).
CONNECTION_ARGS = dict(
    endpoint_url=dict(type="str"),
    region=dict(type="str", default="us-east-1"),
    access_key=dict(type="str", required=True, no_log=True),
    secret_key=dict(type="str", required=True, no_log=True),
    path_style=dict(type="bool", default=False),
    validate_certs=dict(type="bool", default=True),
)


def make_client(params):
    """A boto3 S3 client from module params: endpoint_url, region, access_key, secret_key,
    path_style, validate_certs. Bounded retries and timeouts: a dead endpoint fails the task in
    seconds, not minutes."""
    config = botocore.config.Config(
        s3={"addressing_style": "path" if params.get("path_style") else "auto"},
        retries={"max_attempts": 2, "mode": "standard"},
        connect_timeout=10,
        read_timeout=30,
    )
    return boto3.client(
        "s3",
        endpoint_url=params.get("endpoint_url") or None,
        region_name=params.get("region") or "us-east-1",
        aws_access_key_id=params["access_key"],
        aws_secret_access_key=params["secret_key"],
        verify=params.get("validate_certs", True),
        config=config,
    )
