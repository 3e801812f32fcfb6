# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The retention policy as restic arguments (standard library only).

Used by the backup_retention module (retention from the trusted side) and, through a copy shipped
beside it, by the on-host runner when an operator opted into host-side retention.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

KEEP_COUNTS = ("last", "hourly", "daily", "weekly", "monthly", "yearly")


class RetentionError(ValueError):
    """The policy cannot be applied (it would keep nothing, or a count is not a number)."""


def retention_args(retention):
    """``restic forget`` arguments for a policy dict (keep_last, keep_daily, ..., keep_within).

    A policy that keeps nothing is refused: ``restic forget`` without a keep option removes nothing
    today, but a typo must never be one flag away from an empty repository."""
    args = []
    for key in KEEP_COUNTS:
        raw = retention.get("keep_" + key) or 0
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise RetentionError("keep_%s must be a whole number, not %r" % (key, raw))
        if value < 0:
            raise RetentionError("keep_%s must not be negative" % key)
        if value > 0:
            args += ["--keep-" + key, str(value)]
    if retention.get("keep_within"):
        args += ["--keep-within", str(retention["keep_within"])]
    if not args:
        raise RetentionError("the retention policy keeps nothing; refusing to forget")
    return args
