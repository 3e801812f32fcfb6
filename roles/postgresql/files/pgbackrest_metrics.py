# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the pgBackRest and WAL-archiving metrics of one stanza for the textfile collector.

Run as root by prodready-pgbackrest-check.service (timer): pgbackrest and psql run as the
postgres user (peer authentication on the Unix socket); the metrics file is written through the
collection's textfile module, installed by the postgresql role under LIBRARY. Exits 1 when the
check failed, after the metrics say so.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import os
import subprocess
import sys
import time

# Where the postgresql role installs the collection's module_utils (postgresql_python_library_dir).
LIBRARY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "python")
sys.path.insert(0, LIBRARY)

from ansible_collections.prodready.platform.plugins.module_utils import textfile  # noqa: E402
from ansible_collections.prodready.platform.plugins.module_utils._postgresql import pgbackrest  # noqa: E402

ARCHIVER_QUERY = ("SELECT extract(epoch FROM last_archived_time), extract(epoch FROM last_failed_time), failed_count "
                  "FROM pg_stat_archiver")


def run_as(user, argv, timeout):
    return subprocess.run(argv, user=user, group=user, extra_groups=[], cwd="/", capture_output=True, text=True,
                          timeout=timeout, check=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stanza", required=True)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--port", default="5432")
    parser.add_argument("--socket-dir", default="/var/run/postgresql")
    parser.add_argument("--timeout", type=int, default=300)
    parser.add_argument("--textfile-dir", default=textfile.DEFAULT_TEXTFILE_DIR)
    parser.add_argument("--file-name", default="prodready_pgbackrest.prom")
    args = parser.parse_args(argv)

    check = run_as(args.user, ["pgbackrest", "--stanza=" + args.stanza, "check"], args.timeout)
    if check.returncode != 0:
        sys.stderr.write("pgbackrest check failed (%d): %s\n" % (check.returncode, (check.stderr or check.stdout).strip()))
    info = None
    listed = run_as(args.user, ["pgbackrest", "--stanza=" + args.stanza, "--output=json", "info"], args.timeout)
    try:
        info = pgbackrest.parse_info(listed.stdout, args.stanza) if listed.returncode == 0 else None
    except pgbackrest.InfoError as exc:
        sys.stderr.write("%s\n" % exc)
    archiver = None
    row = run_as(args.user, ["psql", "-X", "-At", "-h", args.socket_dir, "-p", args.port, "-d", "postgres",
                             "-c", ARCHIVER_QUERY], 60)
    try:
        archiver = pgbackrest.parse_archiver(row.stdout) if row.returncode == 0 else None
    except pgbackrest.InfoError as exc:
        sys.stderr.write("%s\n" % exc)
    textfile.write_textfile(args.file_name, pgbackrest.metrics(args.stanza, check.returncode == 0, time.time(), info, archiver),
                            directory=args.textfile_dir)
    return 0 if check.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
