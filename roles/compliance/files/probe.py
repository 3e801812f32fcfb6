# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only probe of the host state the retention side of the compliance role branches on;
prints one JSON object.

One process instead of a task per question keeps the no-op run fast. The only argument is a JSON
object: packages (names), files (paths whose lines, mode and ownership are read), units (read
with systemctl show) and states (paths of the retention file set, read as config_files_pending
compares them).
"""

import json
import os
import stat
import subprocess
import sys


def run(argv):
    """stdout of a command, "" when it is missing or fails."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, errors="replace", check=False).stdout
    except OSError:
        return ""


def main():
    ask = json.loads(sys.argv[1])
    installed = []
    if ask["packages"]:
        out = run(["dpkg-query", "-W", "-f=${db:Status-Abbrev} ${Package}\n"] + ask["packages"])
        installed = [line.split()[1] for line in out.splitlines() if line.startswith("ii ") and len(line.split()) > 1]
    # The lines of the files the role edits line by line (null for a missing file), so those
    # tasks run only when a line is wrong.
    lines, attributes = {}, {}
    for path in ask["files"]:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                lines[path] = handle.read().splitlines()
                st = os.fstat(handle.fileno())
            attributes[path] = {"mode": "%04o" % stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}
        except OSError:
            lines[path] = attributes[path] = None
    # Parsed by prodready.platform.systemd_units.
    units = run(["systemctl", "show", "--property=Id,UnitFileState,ActiveState", "--"] + ask["units"]) if ask["units"] else ""
    print(json.dumps({"installed": installed, "lines": lines, "attributes": attributes, "units": units,
                      # observe_paths() is plugins/module_utils/config_files.py's, which the probe
                      # task sends ahead of this file: read as config_files_pending compares them.
                      "states": globals()["observe_paths"](ask.get("states", []))}))


if __name__ == "__main__":
    main()
