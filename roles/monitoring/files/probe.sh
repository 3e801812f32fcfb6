#!/bin/sh
# Read-only probe of the host state the monitoring role branches on; prints one JSON object:
# which of the packages are installed, whether promtool is there, the units' state.
# One process instead of a task per question keeps the no-op run fast.
#   probe.sh PACKAGE... -- UNIT...
set -u
exec python3 - "$@" <<'PYTHON'
import json
import os
import subprocess
import sys

args = sys.argv[1:]
split = args.index("--") if "--" in args else len(args)
packages, units = args[:split], args[split + 1:]


def run(argv):
    # dpkg-query exits 1 when a package is unknown but still reports the others.
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              universal_newlines=True, errors="replace", timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


status = run(["dpkg-query", "-W", "-f=${Package} ${Status}\n"] + packages) if packages else ""
print(json.dumps({
    "installed": [line.split(" ", 1)[0] for line in status.splitlines() if line.endswith(" install ok installed")],
    "promtool": os.access("/usr/bin/promtool", os.X_OK),
    # Parsed by the prodready.platform.systemd_units filter.
    "units": run(["systemctl", "show", "--property=Id,UnitFileState,ActiveState", "--"] + units) if units else "",
}))
PYTHON
