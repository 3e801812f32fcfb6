#!/bin/sh
# Read-only probe of the host state the exporters role branches on; prints one JSON object.
# One process instead of a task per package, binary, --help, file and unit keeps the no-op run fast.
#   probe.sh REQUEST   (JSON, built in tasks/probe.yml:
#   {"node": {"package": P, "binary": B}, "nginx_exporter": {...},
#    "copies": [{"src": S, "dest": D, "mode": "0640", "owner": O, "group": G}], "units": [U]})
# An empty package or binary is not looked at (upstream binary install, nginx exporter off).
# The --help texts are read on every run: an upgrade outside Ansible changes what the binaries
# offer, and running a binary already on the host costs milliseconds, not a task.
# Files copied on the host are compared by checksum, mode and ownership: "copies" maps each
# destination to whether it is up to date (no content is printed).
set -u
exec python3 - "$@" <<'PYTHON'
import grp
import hashlib
import json
import os
import pwd
import subprocess
import sys

request = json.loads(sys.argv[1])


def run(argv, stderr=subprocess.STDOUT):
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=stderr,
                              universal_newlines=True, errors="replace", timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, str(exc)
    return proc.returncode, proc.stdout


def exporter(wanted):
    package, binary = wanted.get("package", ""), wanted.get("binary", "")
    installed = bool(package) and run(["dpkg-query", "-W", "-f=${Status}", package],
                                      stderr=subprocess.DEVNULL)[1] == "install ok installed"
    # --help goes to stderr with kingpin and Go's flag package; the latter exits 2 after it.
    present = bool(binary) and os.path.isfile(binary)
    help_rc, help_text = run([binary, "--help"]) if present else (None, "")
    return {"installed": installed, "present": present, "help_rc": help_rc, "help": help_text}


def sha1(path):
    try:
        with open(path, "rb") as handle:
            return hashlib.sha1(handle.read()).hexdigest()
    except OSError:
        return None


def name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def up_to_date(copy):
    try:
        st = os.stat(copy["dest"])
    except OSError:
        return False
    source = sha1(copy["src"])
    return (source is not None and source == sha1(copy["dest"])
            and "%04o" % (st.st_mode & 0o7777) == copy["mode"]
            and name(pwd.getpwuid, st.st_uid) == copy["owner"] and name(grp.getgrgid, st.st_gid) == copy["group"])


units = request.get("units", [])
print(json.dumps({
    "node": exporter(request.get("node", {})),
    "nginx_exporter": exporter(request.get("nginx_exporter", {})),
    "nginx_installed": os.path.exists("/usr/sbin/nginx"),
    "copies": {copy["dest"]: up_to_date(copy) for copy in request.get("copies", [])},
    # Parsed by the prodready.platform.systemd_units filter.
    "units": run(["systemctl", "show", "--property=Id,UnitFileState,ActiveState", "--"] + units,
                 stderr=subprocess.DEVNULL)[1] if units else "",
}))
PYTHON
