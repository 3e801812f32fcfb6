# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-host backup identities: derived secrets and least-privilege S3 grants (standard library only).

A backup host may write new objects under its own prefix and read them back (backup, check,
restore test, restore); it may remove restic's lock files. It may not list, read or write another
host's prefix, delete or rewrite object versions, or change the bucket's versioning, object lock,
lifecycle or policy. Retention (``forget --prune``) and point-in-time recovery run from the
trusted side with other credentials. Object lock (default retention on every new version) is what
makes "may not delete" hold even where an endpoint's grants cannot separate delete from write.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import hmac
import re

# Domain separation: a secret derived for one purpose is never the secret of another.
# The pgbackrest-* purposes are the PostgreSQL role's archive identity (its own S3 user, prefix and
# repository cipher), apart from the restic identity of the same host.
PURPOSES = ("restic-password", "s3-secret-key", "s3-access-key",
            "pgbackrest-cipher-pass", "pgbackrest-s3-secret-key", "pgbackrest-s3-access-key")
SECRET_LABEL = b"prodready.platform backup secret v1\x00"
MIN_FLEET_SECRET = 32
_PREFIX_RE = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$")
_REMOVABLE_RE = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class IdentityError(ValueError):
    """Input that cannot produce a safe identity (message names the cause)."""


def derive_secret(fleet_secret, host, purpose):
    """A host's secret for one purpose: HMAC-SHA256(fleet secret, label || purpose || host).

    One vault secret on the controller gives every host its own restic password and S3 key, so
    root on one host learns nothing that opens another host's repository."""
    if purpose not in PURPOSES:
        raise IdentityError("unknown purpose %r (one of %s)" % (purpose, ", ".join(PURPOSES)))
    if not isinstance(fleet_secret, str) or len(fleet_secret) < MIN_FLEET_SECRET:
        raise IdentityError("the fleet backup secret must be at least %d characters (e.g. openssl rand -base64 48)"
                            % MIN_FLEET_SECRET)
    if not isinstance(host, str) or not host:
        raise IdentityError("a host name is required to derive its backup secret")
    digest = hmac.new(fleet_secret.encode("utf-8"),
                      SECRET_LABEL + purpose.encode("ascii") + b"\x00" + host.encode("utf-8"),
                      hashlib.sha256).digest()
    if purpose.endswith("s3-access-key"):
        # Access key ids are not secret but must be unique and plain: 20 upper-case base32 chars,
        # the shape AWS uses.
        return "PR" + base64.b32encode(digest).decode("ascii")[:18]
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def normalise_prefix(prefix):
    prefix = (prefix or "").strip("/")
    if not prefix:
        raise IdentityError("a per-host identity needs a non-empty repository prefix (backup_s3_prefix)")
    if not _PREFIX_RE.match(prefix) or any(part in (".", "..") for part in prefix.split("/")):
        raise IdentityError("repository prefix %r: use letters, digits and !_.*'()- separated by single '/'" % prefix)
    return prefix


def check_bucket(bucket):
    if not isinstance(bucket, str) or not _BUCKET_RE.match(bucket) or ".." in bucket:
        raise IdentityError("bucket name %r is not a valid S3 bucket name" % (bucket,))
    return bucket


def fleet_problems(entries, host=None):
    """What makes a fleet's backup identities unsafe, one line per problem (never a secret value).

    ``entries``: one dict per host: host, bucket, prefix, access_key, password. Hosts must not
    share a repository password or an S3 access key, and no host's prefix may lie inside
    another's in the same bucket (its grant would cover the other repository). With ``host``,
    only the problems that involve that host."""
    found = []
    by_value = {}
    for entry in entries:
        for field, label in (("access_key", "S3 access key"), ("password", "repository password")):
            value = entry.get(field)
            if value:
                by_value.setdefault((label, value), []).append(entry["host"])
    for (label, dummy), hosts in sorted(by_value.items(), key=lambda item: (item[0][0], sorted(item[1]))):
        if len(hosts) > 1:
            found.append(("%s shared by %s" % (label, ", ".join(sorted(hosts))), hosts))
    located = []
    for entry in entries:
        try:
            located.append((entry.get("bucket"), normalise_prefix(entry.get("prefix")), entry["host"]))
        except IdentityError as exc:
            found.append(("%s: %s" % (entry["host"], exc), [entry["host"]]))
    for bucket, prefix, name in located:
        for other_bucket, other_prefix, other_name in located:
            if other_name == name or other_bucket != bucket:
                continue
            if other_prefix == prefix and name < other_name:
                found.append(("repository prefix %s/%s shared by %s and %s" % (bucket, prefix, name, other_name),
                              [name, other_name]))
            elif other_prefix.startswith(prefix + "/"):
                found.append(("repository prefix of %s (%s) lies inside that of %s (%s)"
                              % (other_name, other_prefix, name, prefix), [name, other_name]))
    return [text for text, hosts in found if host is None or host in hosts]


def iam_policy(bucket, prefix, removable="locks/*"):
    """An AWS IAM policy document for one host's backup user.

    Allows: list the own prefix, get/put objects under it, delete the objects ``removable`` names
    under the prefix (a key or an IAM pattern: restic's lock files, ``locks/*``; pgBackRest's
    ``backup/STANZA/latest``, the one object a backup replaces by deleting it; empty: delete
    nothing). Denies explicitly (so no other grant widens it): version deletes, retention/legal-hold
    changes, governance bypass, bucket configuration changes, any other delete and any object
    outside the prefix."""
    bucket = check_bucket(bucket)
    prefix = normalise_prefix(prefix)
    arn = "arn:aws:s3:::" + bucket
    if not removable:
        policy = _iam_policy(arn, prefix, "%s/%s/locks/*" % (arn, prefix))
        policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != "RemoveOwnLocks"]
        never_delete = [s for s in policy["Statement"] if s["Sid"] == "NeverDeleteData"][0]
        del never_delete["NotResource"]
        never_delete["Resource"] = [arn + "/*"]
        return policy
    if not isinstance(removable, str) or not _REMOVABLE_RE.match(removable) or ".." in removable.split("/"):
        raise IdentityError("removable %r: a key or pattern under the prefix (letters, digits, !_.*'()- and single '/')"
                            % (removable,))
    return _iam_policy(arn, prefix, "%s/%s/%s" % (arn, prefix, removable))


def _iam_policy(arn, prefix, removable_arn):
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ListOwnPrefix", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [arn],
             "Condition": {"StringLike": {"s3:prefix": [prefix, prefix + "/*"]}}},
            {"Sid": "LocateBucket", "Effect": "Allow", "Action": ["s3:GetBucketLocation"], "Resource": [arn]},
            {"Sid": "ReadWriteOwnObjects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
             "Resource": ["%s/%s/*" % (arn, prefix)]},
            {"Sid": "RemoveOwnLocks", "Effect": "Allow", "Action": ["s3:DeleteObject"],
             "Resource": [removable_arn]},
            {"Sid": "NeverRewriteHistory", "Effect": "Deny",
             "Action": ["s3:DeleteObjectVersion", "s3:PutObjectRetention", "s3:PutObjectLegalHold",
                        "s3:BypassGovernanceRetention", "s3:PutBucketVersioning",
                        "s3:PutBucketObjectLockConfiguration", "s3:PutLifecycleConfiguration",
                        "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:DeleteBucket"],
             "Resource": [arn, arn + "/*"]},
            {"Sid": "NeverDeleteData", "Effect": "Deny", "Action": ["s3:DeleteObject"],
             "NotResource": [removable_arn]},
            {"Sid": "NothingOutsideOwnPrefix", "Effect": "Deny", "Action": ["s3:GetObject", "s3:PutObject"],
             "NotResource": ["%s/%s/*" % (arn, prefix)]},
        ],
    }
