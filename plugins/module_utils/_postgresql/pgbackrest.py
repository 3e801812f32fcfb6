# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pgBackRest's state as textfile metrics (standard library and the collection's textfile only).

Read by the PostgreSQL role's metrics script (``pgbackrest check``, ``pgbackrest info
--output=json`` and ``pg_stat_archiver``) and exported through the textfile contract, so the
alerts on archiving and backups need no exporter of their own."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.prodready.platform.plugins.module_utils import textfile

BACKUP_TYPES = ("full", "diff", "incr")


class InfoError(ValueError):
    """Output of ``pgbackrest info --output=json`` that cannot be read."""


def parse_info(text, stanza):
    """The stanza's entry of ``pgbackrest info --output=json`` (a list of stanzas)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InfoError("pgbackrest info is not JSON: %s" % exc)
    if not isinstance(data, list):
        raise InfoError("pgbackrest info: expected a list of stanzas")
    for entry in data:
        if isinstance(entry, dict) and entry.get("name") == stanza:
            return entry
    raise InfoError("pgbackrest info does not list stanza %s" % stanza)


def last_backups(info):
    """Stop time (epoch seconds) of the newest backup of each type, and how many backups exist."""
    newest = {}
    backups = info.get("backup") or []
    for backup in backups:
        if not isinstance(backup, dict) or backup.get("error"):
            continue
        kind = backup.get("type")
        stop = (backup.get("timestamp") or {}).get("stop")
        if kind in BACKUP_TYPES and isinstance(stop, (int, float)):
            newest[kind] = max(newest.get(kind, 0), stop)
    return newest, len(backups)


def parse_archiver(text):
    """``psql -At`` output of: epoch of last_archived_time, of last_failed_time, failed_count
    (``|``-separated, empty fields for NULL). Returns a dict of numbers (None for NULL)."""
    fields = (text or "").strip().split("|")
    if len(fields) != 3:
        raise InfoError("pg_stat_archiver: expected 3 fields, got %r" % (text,))
    values = []
    for field in fields:
        field = field.strip()
        try:
            values.append(float(field) if field else None)
        except ValueError:
            raise InfoError("pg_stat_archiver: %r is not a number" % field)
    return {"last_archived": values[0], "last_failed": values[1], "failed_count": values[2]}


def metrics(stanza, check_ok, now, info=None, archiver=None):
    """Metric families for one stanza. ``info``: parse_info's result or None when it failed;
    ``archiver``: parse_archiver's result or None when the server could not be asked."""
    labels = {"stanza": stanza}
    found = [
        textfile.Metric("prodready_pgbackrest_check_success",
                        "1 if the last pgbackrest check (archive push and repository read) succeeded.").add(check_ok, labels),
        textfile.Metric("prodready_pgbackrest_check_timestamp_seconds",
                        "When the metrics were last collected (unix time).").add(now, labels),
        textfile.Metric("prodready_pgbackrest_info_success",
                        "1 if pgbackrest info could read the repository.").add(info is not None, labels),
    ]
    if info is not None:
        status = (info.get("status") or {}).get("code")
        found.append(textfile.Metric("prodready_pgbackrest_stanza_status",
                                     "pgBackRest stanza status code (0 ok).").add(status if isinstance(status, int) else -1, labels))
        newest, count = last_backups(info)
        found.append(textfile.Metric("prodready_pgbackrest_backups", "Backups in the repository.").add(count, labels))
        if newest:
            last = textfile.Metric("prodready_pgbackrest_backup_last_timestamp_seconds",
                                   "Stop time of the newest backup of each type (unix time).")
            for kind in BACKUP_TYPES:
                if kind in newest:
                    last.add(newest[kind], dict(labels, type=kind))
            found.append(last)
    if archiver is not None:
        found.append(textfile.Metric("prodready_postgresql_archive_failed_total",
                                     "WAL segments whose archiving failed since the statistics were reset.",
                                     "counter").add(archiver["failed_count"] or 0, labels))
        if archiver["last_archived"] is not None:
            found.append(textfile.Metric("prodready_postgresql_archive_last_success_timestamp_seconds",
                                         "When the last WAL segment was archived (unix time).").add(archiver["last_archived"], labels))
        if archiver["last_failed"] is not None:
            found.append(textfile.Metric("prodready_postgresql_archive_last_failure_timestamp_seconds",
                                         "When archiving last failed (unix time).").add(archiver["last_failed"], labels))
    return found


# pgbackrest info's stanza status codes that the stanza module acts on; others are errors.
STATUS_OK = 0
STATUS_MISSING_STANZA_PATH = 1
STATUS_NO_VALID_BACKUP = 2
STATUS_MISSING_STANZA_DATA = 3


def stanza_actions(info, initial_backup):
    """What makes a stanza usable: ``stanza-create`` when the repository does not know it, then a
    first full backup when it holds none (a recovery needs a base backup before the target).

    ``info``: parse_info's result. Returns a list of actions; raises InfoError with pgBackRest's
    message for a status no action repairs (another cipher, another database system, ...)."""
    status = info.get("status") or {}
    code = status.get("code")
    actions = []
    if code in (STATUS_MISSING_STANZA_PATH, STATUS_MISSING_STANZA_DATA):
        actions.append("stanza-create")
    elif code not in (STATUS_OK, STATUS_NO_VALID_BACKUP):
        raise InfoError("stanza %s: pgBackRest status %s: %s" % (info.get("name"), code, status.get("message", "unknown")))
    has_backup = code == STATUS_OK and any(isinstance(b, dict) and not b.get("error") for b in info.get("backup") or [])
    if initial_backup and not has_backup:
        actions.append("backup")
    return actions
