# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-sender freshness of the journals systemd-journal-remote keeps (SplitMode=host).

journal-remote writes one journal per sender, ``remote-<name>.journal``, archived as
``remote-<name>@<ids>.journal`` (or ``.journal~`` after an unclean stop). ``<name>`` is the
sender's address (Debian's journal-remote, built without GnuTLS, cannot read client certificates;
a build that can names the file after the certificate subject, ``CN=<host>``, reduced to the host
here). The host name the sender's entries carry (``_HOSTNAME``) is exported beside it.

The receiver's metrics script (roles/logs/files/logs_shipping_metrics.py) groups the files by
sender, asks journalctl for each sender's last entry and exports, through the textfile contract,
the time of that entry: a value that stops advancing is a host that stopped shipping (alert
LogShippingStopped). Standard library only; shipped to hosts by prodready.platform.python_library.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.prodready.platform.plugins.module_utils import textfile

# remote-<name>.journal, remote-<name>@<seqnum id>-<seqnum>-<realtime>.journal, and the ~ of a
# file journal-remote could not close cleanly.
JOURNAL_FILE_RE = re.compile(r"^remote-(?P<name>[^@/]+?)(?:@[^/]*)?\.journal~?\Z")

LAST_ENTRY_METRIC = "prodready_logs_last_entry_timestamp_seconds"
BYTES_METRIC = "prodready_logs_remote_journal_bytes"
SENDERS_METRIC = "prodready_logs_remote_senders"


def sender_of(file_name):
    """The sender a journal file belongs to (``CN=`` dropped), or None for another file."""
    match = JOURNAL_FILE_RE.match(file_name)
    if not match:
        return None
    name = match.group("name")
    # journal-remote names the file after the certificate subject, e.g. "CN=web1" or
    # "CN=web1,O=x"; the common name is the host name the CA signed.
    common_name = re.search(r"(?:^|[,/])CN=([^,/]+)", name)
    if common_name:
        name = common_name.group(1)
    return name or None


def group_by_sender(file_names):
    """``{sender: sorted file names}`` for the journal files among ``file_names``."""
    groups = {}
    for file_name in file_names:
        sender = sender_of(file_name)
        if sender is not None:
            groups.setdefault(sender, []).append(file_name)
    return dict((sender, sorted(names)) for sender, names in groups.items())


def parse_last_entry(text):
    """``(seconds, hostname)`` of the newest entry in ``journalctl -o json`` output, or ``(None, None)``.

    journalctl prints one JSON object per line; ``__REALTIME_TIMESTAMP`` is in microseconds, as a
    string, ``_HOSTNAME`` the sender's host name (empty when absent). Lines that are not entries
    (empty, a warning) are skipped.
    """
    last, hostname = None, None
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        stamp = entry.get("__REALTIME_TIMESTAMP") if isinstance(entry, dict) else None
        if isinstance(stamp, str) and stamp.isdigit():
            seconds = int(stamp) / 1e6
            if last is None or seconds > last:
                name = entry.get("_HOSTNAME")
                last, hostname = seconds, name if isinstance(name, str) else ""
    return last, hostname


def build_metrics(last_entries, sizes):
    """The textfile metrics: ``last_entries`` ``{sender: (seconds, hostname) or (None, None)}``,
    ``sizes`` ``{sender: bytes}``.

    A sender whose journal holds no readable entry yet exports its size but no last-entry time.
    """
    last = textfile.Metric(
        LAST_ENTRY_METRIC,
        "Time of the newest entry systemd-journal-remote stored for this sender (its clock).",
    )
    size = textfile.Metric(BYTES_METRIC, "Bytes of the remote journal files kept for this sender.")
    senders = textfile.Metric(SENDERS_METRIC, "Senders with journal files on this receiver.")
    for sender in sorted(set(last_entries) | set(sizes)):
        seconds, hostname = last_entries.get(sender) or (None, None)
        if seconds is not None:
            last.add(seconds, {"sender": sender, "hostname": hostname or ""})
        size.add(int(sizes.get(sender, 0)), {"sender": sender})
    senders.add(len(set(last_entries) | set(sizes)))
    return [last, size, senders]
