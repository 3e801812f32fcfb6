# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only probe of the host state the backup role branches on; prints one JSON object.

One process instead of a task per question keeps the no-op run fast. The only argument is a JSON
object: calendars, paths, packages, units, restic, env_file, config_file, marker.
"""

import hashlib
import json
import os
import subprocess
import sys


def run(argv):
    """(exit status, stdout, stderr); 127 when the command is missing."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, errors="replace", check=False)
    except OSError as exc:
        return 127, "", str(exc)
    return proc.returncode, proc.stdout, proc.stderr


def read_bytes(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def main():
    ask = json.loads(sys.argv[1])
    result = {}

    # systemd-analyze names each expression it cannot parse on stderr; the role reads that text.
    calendar = run(["systemd-analyze", "calendar"] + ask["calendars"])
    result["calendar_rc"] = calendar[0]
    result["calendar_stderr"] = calendar[2]

    # Like ansible.builtin.stat: a symlink counts as existing, it is not followed.
    result["existing_paths"] = [path for path in ask["paths"] if os.path.lexists(path)]

    # Installed packages: apt runs only for missing ones, with a refresh only when apt does not
    # know them (a fresh image may ship without package lists).
    installed = []
    if ask["packages"]:
        out = run(["dpkg-query", "-W", "-f=${db:Status-Abbrev} ${Package}\n"] + ask["packages"])[1]
        installed = [line.split()[1] for line in out.splitlines() if line.startswith("ii ") and len(line.split()) > 1]
    result["installed"] = installed
    missing = [name for name in ask["packages"] if name not in installed]
    result["apt_knows_missing"] = not missing or run(["apt-cache", "show"] + missing)[0] == 0

    # One systemctl show for the role's timers, parsed by prodready.platform.systemd_units.
    result["units"] = run(["systemctl", "show", "--property=Id,UnitFileState,ActiveState", "--"] + ask["units"])[1]

    result["restic"] = os.path.exists(ask["restic"])
    result["secrets"] = os.path.exists(ask["env_file"])
    # The runner records the digest of the secrets and the configuration with which it last opened
    # (or created) the repository (prodready_backup.py, repository_digest): while both are the same,
    # the repository is known to exist and the role need not ask restic again.
    env, config, marker = read_bytes(ask["env_file"]), read_bytes(ask["config_file"]), read_bytes(ask["marker"])
    result["repository_known"] = bool(
        env is not None and config is not None and marker is not None
        and marker.decode("ascii", "replace").strip() == hashlib.sha256(env + config).hexdigest())

    print(json.dumps(result))


if __name__ == "__main__":
    main()
