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
extends_documentation_fragment:
  - prodready.platform.backup
options:
  bucket:
    description: Bucket name.
    type: str
    required: true
  create:
    description: Create the bucket if it does not exist (else a missing bucket fails the task).
    type: bool
    default: false
  object_lock_days:
    description:
      - When the module creates the bucket and this is above 0, the bucket is created with object
        lock (which turns versioning on) and a default retention of this many days on every new
        object version, so no backup client can delete or overwrite what it wrote for that long.
      - With V(object_lock) in O(require), an existing bucket must have a default retention.
    type: int
    default: 0
  object_lock_mode:
    description:
      - Default retention mode. V(GOVERNANCE) lets an identity with the bypass permission (the
        trusted retention side) remove versions early; V(COMPLIANCE) lets nobody.
    type: str
    default: GOVERNANCE
    choices: [GOVERNANCE, COMPLIANCE]
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

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.prodready.platform.plugins.module_utils._backup import s3
from ansible_collections.prodready.platform.plugins.module_utils._backup.s3 import BOTO3_IMPORT_ERROR, botocore

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
    return s3.make_client(params)


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


def create_bucket(client, bucket, region, lock_days=0, lock_mode="GOVERNANCE"):
    kwargs = {"Bucket": bucket}
    if region and region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    if lock_days > 0:
        # Object lock can only be turned on when a bucket is created (it implies versioning).
        kwargs["ObjectLockEnabledForBucket"] = True
    try:
        client.create_bucket(**kwargs)
        if lock_days > 0:
            client.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": lock_mode, "Days": lock_days}}})
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
            if not rule:
                # Enabled without a default retention protects nothing a client writes.
                return {"status": "no_default_retention", "detail": "enabled, but no default retention on new versions"}
            period = "%s days" % rule["Days"] if "Days" in rule else "%s years" % rule.get("Years")
            return {"status": "enabled", "detail": "default retention %s %s" % (rule.get("Mode"), period)}
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
        create_bucket(client, bucket, params.get("region"), int(params.get("object_lock_days") or 0),
                      params.get("object_lock_mode") or "GOVERNANCE")
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
            s3.CONNECTION_ARGS,
            bucket=dict(type="str", required=True),
            create=dict(type="bool", default=False),
            object_lock_days=dict(type="int", default=0),
            object_lock_mode=dict(type="str", default="GOVERNANCE", choices=["GOVERNANCE", "COMPLIANCE"]),
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
