# Read-only probe of the host state the integrity role branches on; prints one JSON object.
# One process instead of a stat per scanned path, a dpkg-query, a find and a systemctl show.
# Argument: a JSON object {paths, packages, timer_dir, timer_units, states}.
import fnmatch
import json
import os
import subprocess
import sys


def run(argv):
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              universal_newlines=True, check=False)
    except OSError:
        return 127, ""
    return proc.returncode, proc.stdout


def main():
    args = json.loads(sys.argv[1])
    state = {"missing_paths": [path for path in args["paths"] if not os.path.lexists(path)]}
    # Status of each wanted package (a package dpkg does not know prints nothing and fails).
    rc, out = run(["dpkg-query", "-W", "-f=${Package} ${Status}\\n"] + args["packages"])
    installed = set(line.split(" ", 1)[0] for line in out.splitlines() if line.endswith(" install ok installed"))
    state["packages_missing"] = [name for name in args["packages"] if name not in installed]
    # Timer files of any level, to retire those no longer scheduled.
    try:
        names = os.listdir(args["timer_dir"])
    except OSError:
        names = []
    state["timer_files"] = sorted(os.path.join(args["timer_dir"], name) for name in names
                                  if fnmatch.fnmatch(name, "prodready-integrity-*.timer"))
    # Parsed by the prodready.platform.systemd_units filter; a unit systemd does not know (a fresh
    # host, a newly scheduled level) reads as not enabled and not active.
    state["systemctl_show"] = run(["systemctl", "show", "--property=Id,UnitFileState,ActiveState", "--"]
                                  + args["timer_units"])[1]
    # observe_paths() is plugins/module_utils/config_files.py's, which the probe task sends ahead of
    # this file: the probe reads the files as config_files_pending compares them.
    state["states"] = globals()["observe_paths"](args.get("states", []))
    print(json.dumps(state))


if __name__ == "__main__":
    main()
