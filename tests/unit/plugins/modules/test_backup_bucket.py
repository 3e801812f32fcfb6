# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_bucket: error paths with botocore's Stubber, real behaviour against the local S3
(SeaweedFS from tools/localsvc.sh; those tests skip when it is not running)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import uuid

import pytest

boto3 = pytest.importorskip("boto3")
from botocore.stub import Stubber  # noqa: E402

from ansible_collections.prodready.platform.plugins.modules import backup_bucket  # noqa: E402

ENDPOINT = os.environ.get("LOCALSVC_S3_ENDPOINT", "http://172.30.100.1:8333")
ACCESS_KEY = os.environ.get("LOCALSVC_S3_ACCESS_KEY", "prodready-test")
SECRET_KEY = os.environ.get("LOCALSVC_S3_SECRET_KEY", "prodready-test-secret-key-0123456789")


def params(**overrides):
    base = dict(bucket="backups", endpoint_url="http://s3.invalid:9000", region="us-east-1",
                access_key="AKIDEXAMPLE", secret_key="secret", path_style=True, validate_certs=True,
                create=False, require=[])
    base.update(overrides)
    return base


def stubbed(p=None):
    client = backup_bucket.make_client(p or params())
    return client, Stubber(client)


def add_audit(stub, versioning=None, encryption="ServerSideEncryptionConfigurationNotFoundError",
              pab="NotImplemented", lifecycle="NoSuchLifecycleConfiguration",
              object_lock="ObjectLockConfigurationNotFoundError"):
    stub.add_response("get_bucket_versioning", versioning or {}, {"Bucket": "backups"})
    for method, code in (("get_bucket_encryption", encryption), ("get_public_access_block", pab),
                         ("get_bucket_lifecycle_configuration", lifecycle),
                         ("get_object_lock_configuration", object_lock)):
        if isinstance(code, dict):
            stub.add_response(method, code, {"Bucket": "backups"})
        else:
            status = 501 if code == "NotImplemented" else 404
            stub.add_client_error(method, service_error_code=code, http_status_code=status)


def test_endpoint_without_scheme_is_refused_before_any_request():
    with pytest.raises(backup_bucket.BucketError, match="needs a scheme"):
        backup_bucket.run(params(endpoint_url="s3.example.com"), check_mode=False, client=object())


def test_missing_bucket_without_create_fails_with_a_clear_message():
    client, stub = stubbed()
    stub.add_client_error("head_bucket", service_error_code="404", http_status_code=404)
    with stub, pytest.raises(backup_bucket.BucketError, match="does not exist; create it or set create=true"):
        backup_bucket.run(params(), check_mode=False, client=client)


def test_rejected_keys_name_the_cause():
    client, stub = stubbed()
    stub.add_client_error("head_bucket", service_error_code="403", http_status_code=403)
    with stub, pytest.raises(backup_bucket.BucketError, match="S3 keys are wrong or lack permission"):
        backup_bucket.run(params(), check_mode=False, client=client)


def test_check_mode_reports_the_creation_without_creating():
    client, stub = stubbed()
    stub.add_client_error("head_bucket", service_error_code="404", http_status_code=404)
    with stub:  # no create_bucket response queued: a call would raise
        result = backup_bucket.run(params(create=True), check_mode=True, client=client)
    assert result["changed"] and result["created"]
    assert result["diff"] == {"before": {"bucket": "backups", "exists": False},
                              "after": {"bucket": "backups", "exists": True}}
    assert set(result["audit"]) == set(backup_bucket.FEATURES)


def test_unsupported_features_are_reported_not_failed():
    client, stub = stubbed()
    stub.add_response("head_bucket", {}, {"Bucket": "backups"})
    add_audit(stub, versioning={"Status": "Enabled"})
    with stub:
        result = backup_bucket.run(params(), check_mode=False, client=client)
    assert not result["changed"]
    assert result["audit"]["versioning"]["status"] == "enabled"
    assert result["audit"]["encryption"]["status"] == "disabled"
    assert result["audit"]["public_access_block"]["status"] == "unsupported"
    assert result["unsupported"] == ["public_access_block"]


def test_required_but_unsupported_feature_fails():
    client, stub = stubbed()
    stub.add_response("head_bucket", {}, {"Bucket": "backups"})
    add_audit(stub)
    with stub, pytest.raises(backup_bucket.BucketError) as info:
        backup_bucket.run(params(require=["public_access_block", "versioning"]), check_mode=False, client=client)
    assert "public_access_block is required but the endpoint does not support it" in str(info.value)
    assert "versioning is required but disabled" in str(info.value)


def test_enabled_features_are_read_from_the_responses():
    client, stub = stubbed()
    stub.add_response("head_bucket", {}, {"Bucket": "backups"})
    add_audit(
        stub, versioning={"Status": "Suspended"},
        encryption={"ServerSideEncryptionConfiguration": {"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}},
        pab={"PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                                "BlockPublicPolicy": False, "RestrictPublicBuckets": False}},
        lifecycle={"Rules": [{"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""},
                              "Expiration": {"Days": 90}}]},
        object_lock={"ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled", "Rule": {
            "DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}}}})
    with stub:
        audit = backup_bucket.run(params(require=["encryption", "lifecycle", "object_lock"]), check_mode=False,
                                  client=client)["audit"]
    assert audit["versioning"]["status"] == "suspended"
    assert audit["encryption"] == {"status": "enabled", "detail": "SSE AES256"}
    assert audit["public_access_block"]["status"] == "partial"
    assert audit["lifecycle"]["status"] == "enabled"
    assert audit["object_lock"] == {"status": "enabled", "detail": "default retention GOVERNANCE 30 days"}


def test_object_lock_without_default_retention_does_not_count():
    # Enabled object lock without a default retention leaves every new version deletable.
    client, stub = stubbed()
    stub.add_response("head_bucket", {}, {"Bucket": "backups"})
    add_audit(stub, object_lock={"ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled"}})
    with stub, pytest.raises(backup_bucket.BucketError, match="object_lock is required but no_default_retention"):
        backup_bucket.run(params(require=["object_lock"]), check_mode=False, client=client)


def test_unreachable_endpoint_is_named():
    p = params(endpoint_url="http://127.0.0.1:1")
    with pytest.raises(backup_bucket.BucketError, match="S3 endpoint unreachable"):
        backup_bucket.run(p, check_mode=False)


def test_main_hides_secrets_and_reports_failures(run_module):
    result = run_module(backup_bucket, dict(bucket="b", endpoint_url="ftp://x", access_key="AK",
                                            secret_key="topsecret-value"))
    assert result["failed"] and "needs a scheme" in result["msg"]
    assert "topsecret-value" not in json.dumps(result)


# ------------------------------------------------------------------ real SeaweedFS (local S3)

def local_s3_up():
    try:
        client = backup_bucket.make_client(dict(endpoint_url=ENDPOINT, access_key=ACCESS_KEY,
                                                secret_key=SECRET_KEY, path_style=True, region="us-east-1"))
        client.list_buckets()
        return client
    except Exception:  # pylint: disable=broad-except
        return None


@pytest.fixture(scope="module")
def s3():
    client = local_s3_up()
    if client is None:
        pytest.skip("local S3 not running (tools/localsvc.sh start s3)")
    return client


@pytest.fixture
def fresh_bucket(s3):
    name = "unit-backup-bucket-%s" % uuid.uuid4().hex[:10]
    yield name
    try:
        s3.delete_bucket(Bucket=name)
    except Exception:  # pylint: disable=broad-except
        pass


def real(bucket, **overrides):
    values = dict(bucket=bucket, endpoint_url=ENDPOINT, access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    values.update(overrides)
    return params(**values)


def test_real_create_then_idempotent(s3, fresh_bucket):
    check = backup_bucket.run(real(fresh_bucket, create=True), check_mode=True)
    assert check["changed"] and fresh_bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    first = backup_bucket.run(real(fresh_bucket, create=True), check_mode=False)
    assert first["changed"] and first["created"]
    assert fresh_bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    second = backup_bucket.run(real(fresh_bucket, create=True), check_mode=False)
    assert not second["changed"] and not second["created"]
    # SeaweedFS: versioning off by default, no public access block API.
    assert second["audit"]["versioning"]["status"] == "disabled"
    assert second["audit"]["public_access_block"]["status"] == "unsupported"
    assert "public_access_block" in second["unsupported"]


def test_real_versioning_audit_follows_the_bucket(s3, fresh_bucket):
    backup_bucket.run(real(fresh_bucket, create=True), check_mode=False)
    s3.put_bucket_versioning(Bucket=fresh_bucket, VersioningConfiguration={"Status": "Enabled"})
    result = backup_bucket.run(real(fresh_bucket, require=["versioning"]), check_mode=False)
    assert result["audit"]["versioning"]["status"] == "enabled"


def test_real_required_unsupported_feature_fails(s3, fresh_bucket):
    backup_bucket.run(real(fresh_bucket, create=True), check_mode=False)
    with pytest.raises(backup_bucket.BucketError, match="public_access_block is required"):
        backup_bucket.run(real(fresh_bucket, require=["public_access_block"]), check_mode=False)


def test_real_wrong_keys_are_named(s3):
    p = real("prodready-demo", secret_key="not-the-secret")
    with pytest.raises(backup_bucket.BucketError, match="S3 keys are wrong"):
        backup_bucket.run(p, check_mode=False)
