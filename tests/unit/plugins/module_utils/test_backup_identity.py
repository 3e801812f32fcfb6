"""Per-host backup identities: derived secrets, the IAM policy and the fleet check."""

import fnmatch
import json

import pytest
from ansible.errors import AnsibleFilterError
from hypothesis import given, strategies as st

from ansible_collections.prodready.platform.plugins.filter import backup as filters
from ansible_collections.prodready.platform.plugins.module_utils._backup import identity, retention

FLEET = "f" * 40
hosts = st.from_regex(r"\A[a-z][a-z0-9.-]{0,20}\Z")


@given(st.lists(hosts, min_size=2, max_size=8, unique=True))
def test_every_host_and_purpose_gets_its_own_secret(names):
    values = [identity.derive_secret(FLEET, h, p) for h in names for p in identity.PURPOSES]
    assert len(set(values)) == len(values)


def test_secrets_are_stable_and_depend_on_the_fleet_secret():
    assert identity.derive_secret(FLEET, "web1", "restic-password") == identity.derive_secret(FLEET, "web1", "restic-password")
    assert identity.derive_secret(FLEET, "web1", "restic-password") != identity.derive_secret("g" * 40, "web1", "restic-password")
    key = identity.derive_secret(FLEET, "web1", "s3-access-key")
    assert len(key) == 20 and key.isalnum() and key.isupper()
    assert FLEET not in identity.derive_secret(FLEET, "web1", "s3-secret-key")


@pytest.mark.parametrize("secret, host, purpose, message", [
    ("short", "web1", "restic-password", "at least 32"),
    (FLEET, "", "restic-password", "host name"),
    (FLEET, "web1", "ssh", "unknown purpose"),
])
def test_derivation_refuses_weak_input(secret, host, purpose, message):
    with pytest.raises(identity.IdentityError, match=message):
        identity.derive_secret(secret, host, purpose)
    with pytest.raises(AnsibleFilterError, match="backup_host_secret: "):
        filters.backup_host_secret(secret, host, purpose)


def allowed(policy, action, resource, prefix_condition=None):
    """A small evaluator of the statements this module writes (explicit deny wins)."""
    def matches(patterns):
        return any(fnmatch.fnmatchcase(resource, p) for p in patterns)
    verdict = False
    for statement in policy["Statement"]:
        if action not in statement["Action"]:
            continue
        if "Resource" in statement and not matches(statement["Resource"]):
            continue
        if "NotResource" in statement and matches(statement["NotResource"]):
            continue
        condition = statement.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
        if condition is not None and (prefix_condition is None or not matches_prefix(condition, prefix_condition)):
            continue
        if statement["Effect"] == "Deny":
            return False
        verdict = True
    return verdict


def matches_prefix(patterns, value):
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


def test_policy_confines_the_host_to_its_prefix_and_forbids_deleting_history():
    policy = identity.iam_policy("backups", "/fleet/web1/")
    arn = "arn:aws:s3:::backups"
    assert allowed(policy, "s3:PutObject", arn + "/fleet/web1/data/ab/abcdef")
    assert allowed(policy, "s3:GetObject", arn + "/fleet/web1/config")
    assert allowed(policy, "s3:ListBucket", arn, prefix_condition="fleet/web1/snapshots/")
    assert allowed(policy, "s3:DeleteObject", arn + "/fleet/web1/locks/0123")
    assert not allowed(policy, "s3:DeleteObject", arn + "/fleet/web1/snapshots/0123")
    assert not allowed(policy, "s3:DeleteObject", arn + "/fleet/web10/locks/0123")
    assert not allowed(policy, "s3:GetObject", arn + "/fleet/web10/config")
    assert not allowed(policy, "s3:PutObject", arn + "/fleet/web2/config")
    assert not allowed(policy, "s3:ListBucket", arn, prefix_condition="fleet/")
    assert not allowed(policy, "s3:ListBucket", arn)
    for action in ("s3:DeleteObjectVersion", "s3:BypassGovernanceRetention", "s3:PutBucketVersioning",
                   "s3:PutObjectRetention", "s3:PutLifecycleConfiguration"):
        assert not allowed(policy, action, arn + "/fleet/web1/config")
    json.dumps(policy)  # serialisable as written to IAM


@pytest.mark.parametrize("prefix", ["", "/", "a/../b", "a//b", "a b"])
def test_policy_refuses_unsafe_prefixes(prefix):
    with pytest.raises(identity.IdentityError):
        identity.iam_policy("backups", prefix)


def entry(host, prefix=None, key=None, password=None, bucket="backups"):
    return {"host": host, "bucket": bucket, "prefix": prefix or "fleet/" + host,
            "access_key": key or "K-" + host, "password": password or "P-" + host}


def test_fleet_problems_names_shared_and_nested_identities_without_values():
    assert filters.backup_fleet_problems([entry("a"), entry("b")]) == []
    problems = identity.fleet_problems([entry("a", password="same"), entry("b", password="same"),
                                        entry("c", key="K-a"), entry("d", prefix="fleet/c/sub")])
    assert "repository password shared by a, b" in problems
    assert "S3 access key shared by a, c" in problems
    assert any("lies inside that of c" in p for p in problems)
    assert not any("same" in p for p in problems)
    # Per host: only what involves it.
    assert identity.fleet_problems([entry("a", password="same"), entry("b", password="same"), entry("c")], "c") == []
    assert filters.backup_fleet_problems([entry("a", password="same"), entry("b", password="same")], "b") == [
        "repository password shared by a, b"]
    # Same prefix in another bucket is another repository.
    assert identity.fleet_problems([entry("a"), entry("b", prefix="fleet/a", bucket="other")]) == []


@given(st.lists(hosts, min_size=1, max_size=10, unique=True))
def test_derived_fleet_has_no_problems(names):
    entries = [{"host": h, "bucket": "backups", "prefix": "fleet/" + h,
                "access_key": identity.derive_secret(FLEET, h, "s3-access-key"),
                "password": identity.derive_secret(FLEET, h, "restic-password")} for h in names]
    assert identity.fleet_problems(entries) == []


@given(st.dictionaries(st.sampled_from(["keep_" + k for k in retention.KEEP_COUNTS]), st.integers(0, 50)),
       st.sampled_from(["", "30d", "1y6m"]))
def test_retention_args_never_keep_nothing(counts, within):
    policy = dict(counts, keep_within=within)
    if not within and not any(counts.values()):
        with pytest.raises(retention.RetentionError):
            retention.retention_args(policy)
        return
    args = retention.retention_args(policy)
    for key, value in counts.items():
        assert (("--" + key.replace("_", "-")) in args) == (value > 0)
    assert ("--keep-within" in args) == bool(within)


def test_retention_args_refuse_nonsense():
    with pytest.raises(retention.RetentionError, match="whole number"):
        retention.retention_args({"keep_last": "many"})
    with pytest.raises(retention.RetentionError, match="negative"):
        retention.retention_args({"keep_last": -1})


@pytest.mark.parametrize("removable, deletable", [("", []), ("backup/main/latest", ["backup/main/latest"])])
def test_pgbackrest_policy_may_delete_only_what_it_names(removable, deletable):
    policy = identity.iam_policy("backups", "pgbackrest/db1", removable=removable)
    arn = "arn:aws:s3:::backups"
    assert allowed(policy, "s3:PutObject", arn + "/pgbackrest/db1/archive/main/archive.info")
    assert allowed(policy, "s3:GetObject", arn + "/pgbackrest/db1/backup/main/backup.info")
    assert allowed(policy, "s3:ListBucket", arn, prefix_condition="pgbackrest/db1/archive/main/")
    for key in ("locks/x", "archive/main/15-1/0000000100000000/x", "backup/main/backup.info", "backup/main/latest"):
        assert allowed(policy, "s3:DeleteObject", arn + "/pgbackrest/db1/" + key) == (key in deletable), key
    assert not allowed(policy, "s3:DeleteObject", arn + "/pgbackrest/db2/backup/main/latest")
    assert not allowed(policy, "s3:PutObject", arn + "/pgbackrest/db2/archive/main/archive.info")


@pytest.mark.parametrize("removable", ["../x", "a//b", "a b", "/abs"])
def test_removable_must_stay_under_the_prefix(removable):
    with pytest.raises(identity.IdentityError, match="removable"):
        identity.iam_policy("backups", "pgbackrest/db1", removable=removable)


def test_pgbackrest_secrets_are_apart_from_the_restic_ones():
    restic = identity.derive_secret(FLEET, "db1", "s3-access-key")
    pgbackrest = identity.derive_secret(FLEET, "db1", "pgbackrest-s3-access-key")
    assert restic != pgbackrest and len(pgbackrest) == 20 and pgbackrest.startswith("PR")
    assert identity.derive_secret(FLEET, "db1", "pgbackrest-cipher-pass") != identity.derive_secret(FLEET, "db1", "restic-password")
