# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File integrity: the off-host copy of the manifest (S3, ``boto3`` imported lazily) and the
module options shared by the ``integrity_baseline`` and ``integrity_verify`` modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.prodready.platform.plugins.module_utils._integrity import common
from ansible_collections.prodready.platform.plugins.module_utils._integrity import manifest


def offhost_argument_spec(retention=False):
    """The ``offhost`` suboptions (S3 location and credentials); ``retention`` adds object lock."""
    spec = dict(
        endpoint_url=dict(type="str"),
        bucket=dict(type="str", required=True),
        key=dict(type="str", required=True, no_log=False),
        access_key=dict(type="str", no_log=True),
        secret_key=dict(type="str", no_log=True),
        region=dict(type="str", default="us-east-1"),
        ca_bundle=dict(type="path"),
    )
    if retention:
        spec.update(
            retention_days=dict(type="int", default=30),
            retention_mode=dict(type="str", choices=["GOVERNANCE", "COMPLIANCE"], default="GOVERNANCE"),
        )
    return spec


def missing_library(offhost=False):
    """The first optional library a module run needs but cannot import, or None.

    Signatures always need ``cryptography``; the off-host copy needs ``boto3``.
    """
    import importlib
    for name in ("cryptography",) + (("boto3",) if offhost else ()):
        try:
            importlib.import_module(name)
        except ImportError:
            return name
    return None


# --------------------------------------------------------------------------------------
# Off-host copy (S3)
# --------------------------------------------------------------------------------------

def _s3_client(options):
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise common.MissingDependencyError("the off-host copy needs boto3 (Debian: apt-get install python3-boto3; pip: boto3)")
    kwargs = {"config": Config(retries={"max_attempts": 3}, connect_timeout=10, read_timeout=30,
                               s3={"addressing_style": "path"})}
    for option, arg in (("endpoint_url", "endpoint_url"), ("access_key", "aws_access_key_id"),
                        ("secret_key", "aws_secret_access_key"), ("region", "region_name")):
        if options.get(option):
            kwargs[arg] = options[option]
    if "region_name" not in kwargs:
        kwargs["region_name"] = "us-east-1"
    if options.get("ca_bundle"):
        kwargs["verify"] = options["ca_bundle"]
    return boto3.client("s3", **kwargs)


def s3_get(options):
    """The off-host manifest (bytes), or None when the object does not exist."""
    client = _s3_client(options)
    from botocore.exceptions import BotoCoreError, ClientError
    try:
        response = client.get_object(Bucket=options["bucket"], Key=options["key"])
        return response["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise common.IntegrityError("cannot read s3://%s/%s: %s" % (options["bucket"], options["key"], exc))
    except BotoCoreError as exc:  # no connection, timeouts, bad endpoint: not an S3 answer
        raise common.IntegrityError("cannot reach the S3 endpoint for s3://%s/%s: %s" % (options["bucket"], options["key"], exc))


def s3_put(options, data):
    """Upload a signed manifest. When the bucket has Object Lock enabled the object is written
    with a retention (``retention_days``, ``retention_mode`` GOVERNANCE or COMPLIANCE), so
    a stolen host credential cannot delete or overwrite the version in place. Returns a dict
    describing what was done."""
    client = _s3_client(options)
    from botocore.exceptions import BotoCoreError, ClientError
    bucket, key = options["bucket"], options["key"]
    lock = False
    try:
        conf = client.get_object_lock_configuration(Bucket=bucket)
        lock = conf.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
    except ClientError:
        lock = False
    except BotoCoreError as exc:
        raise common.IntegrityError("cannot reach the S3 endpoint for s3://%s/%s: %s" % (bucket, key, exc))
    kwargs = {"Bucket": bucket, "Key": key, "Body": data, "ContentType": "application/x-ndjson",
              "Metadata": {"body-sha256": manifest.manifest_digest(data)}}
    days = int(options.get("retention_days") or 0)
    if lock and days > 0:
        until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)
        kwargs["ObjectLockMode"] = options.get("retention_mode") or "GOVERNANCE"
        kwargs["ObjectLockRetainUntilDate"] = until
        kwargs["ChecksumAlgorithm"] = "SHA256"
    try:
        response = client.put_object(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise common.IntegrityError("cannot write s3://%s/%s: %s" % (bucket, key, exc))
    return {"bucket": bucket, "key": key, "object_lock": bool(lock and days > 0),
            "version_id": response.get("VersionId"), "retention_days": days if lock else 0}
