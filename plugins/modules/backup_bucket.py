#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

DOCUMENTATION = r"""
---
module: backup_bucket
short_description: Create an S3 bucket for backups and audit its protection settings
version_added: "0.1.0"
description:
  - Checks that an S3 bucket exists on any S3-compatible endpoint (AWS, MinIO, SeaweedFS, Ceph RGW),
    creates it when O(create=true), and audits versioning, default encryption, the public access
    block, lifecycle rules and object lock.
  - A feature the endpoint does not implement is reported as V(unsupported), not as a failure, unless
    it is listed in O(require). A required feature that is not V(enabled) fails the task.
  - Never changes an existing bucket's settings; the audit is read-only.
author:
  - prodready.platform contributors (@prodready)
requirements:
  - boto3
options:
  bucket:
    description: Bucket name.
    type: str
    required: true
  endpoint_url:
    description:
      - S3 endpoint URL with scheme (C(https://...) or C(http://...)). Omit for AWS.
    type: str
  region:
    description: Region used to sign requests and to create the bucket.
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
  create:
    description: Create the bucket if it does not exist (else a missing bucket fails the task).
    type: bool
    default: false
  require:
    description: Features that must be V(enabled); anything else fails the task.
    type: list
    elements: str
    default: []
    choices: [versioning, encryption, public_access_block, lifecycle, object_lock]
attributes:
  check_mode:
    description: Reports the bucket it would create without creating it; the audit is read-only.
    support: full
  diff_mode:
    description: Shows whether the bucket exists before and after.
    support: full
"""

EXAMPLES = r"""
- name: Make sure the backup bucket exists and is versioned
  prodready.platform.backup_bucket:
    bucket: backups
    endpoint_url: http://172.30.100.1:8333
    path_style: true
    access_key: "{{ vault_s3_access_key }}"
    secret_key: "{{ vault_s3_secret_key }}"
    create: true
    require: [versioning]
  delegate_to: localhost
"""

RETURN = r"""
bucket:
  description: The bucket name.
  returned: always
  type: str
exists:
  description: Whether the bucket exists after the task (in check mode, whether it would).
  returned: always
  type: bool
created:
  description: Whether the bucket was (or in check mode would be) created.
  returned: always
  type: bool
audit:
  description: >-
    Per feature a dict with C(status) (enabled, disabled, suspended, partial, unsupported, unknown)
    and C(detail).
  returned: always
  type: dict
  sample:
    versioning: {status: enabled, detail: "Status=Enabled"}
    public_access_block: {status: unsupported, detail: "NotImplemented"}
unsupported:
  description: Features the endpoint does not implement.
  returned: always
  type: list
  elements: str
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

BOTO3_IMPORT_ERROR = None
try:
    import boto3
    import botocore.config
    import botocore.exceptions
except ImportError:
    BOTO3_IMPORT_ERROR = traceback.format_exc()

FEATURES = ("versioning", "encryption", "public_access_block", "lifecycle", "object_lock")

# Error codes that mean "not configured" for a feature the endpoint does implement.
NOT_CONFIGURED = {
    "encryption": ("ServerSideEncryptionConfigurationNotFoundError",),
    "public_access_block": ("NoSuchPublicAccessBlockConfiguration",),
    "lifecycle": ("NoSuchLifecycleConfiguration",),
    "object_lock": ("ObjectLockConfigurationNotFoundError",),
}
UNSUPPORTED_CODES = ("NotImplemented", "501", "MethodNotAllowed", "405", "XNotImplemented")


class BucketError(Exception):
    """A failure the operator must act on (message names the cause)."""


def error_code(exc):
    response = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code, status


def make_client(params):
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


def bucket_exists(client, bucket):
    try:
        client.head_bucket(Bucket=bucket)
        return True
    except botocore.exceptions.ClientError as exc:
        code, status = error_code(exc)
        if code in ("404", "NoSuchBucket", "NotFound") or status == 404:
            return False
        if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch") or status == 403:
            raise BucketError("access to bucket %s denied (%s): the S3 keys are wrong or lack permission" % (bucket, code))
        raise BucketError("cannot read bucket %s: %s" % (bucket, exc))
    except botocore.exceptions.EndpointConnectionError as exc:
        raise BucketError("S3 endpoint unreachable: %s" % exc)


def create_bucket(client, bucket, region):
    kwargs = {"Bucket": bucket}
    if region and region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        client.create_bucket(**kwargs)
    except botocore.exceptions.ClientError as exc:
        code, dummy = error_code(exc)
        if code in ("BucketAlreadyOwnedByYou",):
            return
        raise BucketError("cannot create bucket %s: %s" % (bucket, exc))


def _probe(feature, call):
    try:
        return call()
    except botocore.exceptions.ClientError as exc:
        code, status = error_code(exc)
        if code in NOT_CONFIGURED.get(feature, ()):
            return {"status": "disabled", "detail": code}
        if code in UNSUPPORTED_CODES or status in (501, 405):
            return {"status": "unsupported", "detail": code or str(status)}
        return {"status": "unknown", "detail": "%s: %s" % (code, exc.response.get("Error", {}).get("Message", ""))}


def audit_versioning(client, bucket):
    def call():
        status = client.get_bucket_versioning(Bucket=bucket).get("Status")
        if status == "Enabled":
            return {"status": "enabled", "detail": "Status=Enabled"}
        if status == "Suspended":
            return {"status": "suspended", "detail": "Status=Suspended"}
        return {"status": "disabled", "detail": "never enabled"}
    return _probe("versioning", call)


def audit_encryption(client, bucket):
    def call():
        rules = client.get_bucket_encryption(Bucket=bucket).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
        algorithms = sorted(set(r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm", "?") for r in rules))
        if not rules:
            return {"status": "disabled", "detail": "no rules"}
        return {"status": "enabled", "detail": "SSE " + ",".join(algorithms)}
    return _probe("encryption", call)


def audit_public_access_block(client, bucket):
    def call():
        conf = client.get_public_access_block(Bucket=bucket).get("PublicAccessBlockConfiguration", {})
        keys = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
        on = [k for k in keys if conf.get(k)]
        if len(on) == len(keys):
            return {"status": "enabled", "detail": "all four settings on"}
        if on:
            return {"status": "partial", "detail": "on: " + ",".join(on)}
        return {"status": "disabled", "detail": "all four settings off"}
    return _probe("public_access_block", call)


def audit_lifecycle(client, bucket):
    def call():
        rules = client.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
        enabled = [r for r in rules if r.get("Status") == "Enabled"]
        if enabled:
            return {"status": "enabled", "detail": "%d enabled rule(s)" % len(enabled)}
        return {"status": "disabled", "detail": "%d rule(s), none enabled" % len(rules)}
    return _probe("lifecycle", call)


def audit_object_lock(client, bucket):
    def call():
        conf = client.get_object_lock_configuration(Bucket=bucket).get("ObjectLockConfiguration", {})
        if conf.get("ObjectLockEnabled") == "Enabled":
            rule = conf.get("Rule", {}).get("DefaultRetention", {})
            detail = "default retention %s" % rule if rule else "enabled, no default retention"
            return {"status": "enabled", "detail": detail}
        return {"status": "disabled", "detail": "ObjectLockEnabled not set"}
    return _probe("object_lock", call)


AUDITS = {
    "versioning": audit_versioning,
    "encryption": audit_encryption,
    "public_access_block": audit_public_access_block,
    "lifecycle": audit_lifecycle,
    "object_lock": audit_object_lock,
}


def audit_bucket(client, bucket):
    try:
        return dict((feature, AUDITS[feature](client, bucket)) for feature in FEATURES)
    except botocore.exceptions.EndpointConnectionError as exc:
        raise BucketError("S3 endpoint unreachable: %s" % exc)


def required_failures(audit, require):
    failures = []
    for feature in require:
        entry = audit.get(feature, {"status": "unknown", "detail": "not audited"})
        if entry["status"] == "unsupported":
            failures.append("%s is required but the endpoint does not support it (%s)" % (feature, entry["detail"]))
        elif entry["status"] != "enabled":
            failures.append("%s is required but %s (%s)" % (feature, entry["status"], entry["detail"]))
    return failures


def run(params, check_mode, client=None):
    """Return the module result dict; raise BucketError on failure."""
    endpoint = params.get("endpoint_url")
    if endpoint and not (endpoint.startswith("http://") or endpoint.startswith("https://")):
        raise BucketError("endpoint_url %r needs a scheme: http:// or https://" % endpoint)
    client = client or make_client(params)
    bucket = params["bucket"]
    exists = bucket_exists(client, bucket)
    result = {"changed": False, "bucket": bucket, "exists": exists, "created": False,
              "diff": {"before": {"bucket": bucket, "exists": exists}, "after": {"bucket": bucket, "exists": True}}}
    if not exists:
        if not params.get("create"):
            raise BucketError("bucket %s does not exist; create it or set create=true" % bucket)
        result.update(changed=True, created=True, exists=True)
        if check_mode:
            result["audit"] = dict((f, {"status": "unknown", "detail": "bucket would be created"}) for f in FEATURES)
            result["unsupported"] = []
            return result
        create_bucket(client, bucket, params.get("region"))
    audit = audit_bucket(client, bucket)
    result["audit"] = audit
    result["unsupported"] = sorted(f for f, entry in audit.items() if entry["status"] == "unsupported")
    failures = required_failures(audit, params.get("require") or [])
    if failures:
        result["failures"] = failures
        raise BucketError("bucket %s: %s" % (bucket, "; ".join(failures)))
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            bucket=dict(type="str", required=True),
            endpoint_url=dict(type="str"),
            region=dict(type="str", default="us-east-1"),
            access_key=dict(type="str", required=True, no_log=True),
            secret_key=dict(type="str", required=True, no_log=True),
            path_style=dict(type="bool", default=False),
            validate_certs=dict(type="bool", default=True),
            create=dict(type="bool", default=False),
            require=dict(type="list", elements="str", default=[], choices=list(FEATURES)),
        ),
        supports_check_mode=True,
    )
    if BOTO3_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("boto3"), exception=BOTO3_IMPORT_ERROR)
    try:
        result = run(module.params, module.check_mode)
    except BucketError as exc:
        module.fail_json(msg=str(exc), bucket=module.params["bucket"])
    except botocore.exceptions.BotoCoreError as exc:
        module.fail_json(msg="S3 request failed: %s" % exc, bucket=module.params["bucket"])
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
