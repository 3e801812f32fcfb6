# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Export, per sender, the time of the newest entry systemd-journal-remote stored.

Run on the log receiver by prodready-logs-metrics.service (its timer). Reads the remote journal
directory, asks journalctl for each sender's last entry and writes prodready_logs.prom through the
textfile contract. The parsing and the metrics are the collection's module_utils (_logs.shipping,
textfile), installed by the logs role (prodready.platform.python_library) under LIBRARY.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import os
import subprocess
import sys

# Where the logs role installs the collection's module_utils (logs_python_library_dir).
LIBRARY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "python")
sys.path.insert(0, LIBRARY)

from ansible_collections.prodready.platform.plugins.module_utils import textfile  # noqa: E402
from ansible_collections.prodready.platform.plugins.module_utils._logs import shipping  # noqa: E402


def last_entry(directory, file_names):
    argv = ["journalctl", "--no-pager", "--quiet", "--output=json", "--output-fields=_HOSTNAME", "--lines=1"]
    argv += ["--file=" + os.path.join(directory, name) for name in file_names]
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    if result.returncode != 0:
        sys.stderr.write("journalctl for %s failed (%d): %s\n" % (", ".join(file_names), result.returncode, result.stderr.strip()))
        return None, None
    return shipping.parse_last_entry(result.stdout)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--directory", default="/var/log/journal/remote")
    parser.add_argument("--textfile-dir", default=textfile.DEFAULT_TEXTFILE_DIR)
    parser.add_argument("--file-name", default="prodready_logs.prom")
    args = parser.parse_args(argv)
    names = sorted(os.listdir(args.directory)) if os.path.isdir(args.directory) else []
    groups = shipping.group_by_sender(names)
    last_entries, sizes = {}, {}
    for sender, files in groups.items():
        last_entries[sender] = last_entry(args.directory, files)
        sizes[sender] = sum(os.path.getsize(os.path.join(args.directory, name)) for name in files)
    textfile.write_textfile(args.file_name, shipping.build_metrics(last_entries, sizes), directory=args.textfile_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
