# Read-only probe of the host state the exporters role branches on; prints one JSON object.
# One process instead of a task per package, binary, --help, file and unit keeps the no-op run fast.
#   probe.py REQUEST   (JSON, built in tasks/probe.yml:
#   {"node": {"package": P, "binary": B}, "nginx_exporter": {...},
#    "copies": [{"src": S, "dest": D, "mode": "0640", "owner": O, "group": G}], "units": [U],
#    "states": [PATH], "keyed": {"key_file": K, "paths": [PATH]} or null, "bcrypt_files": [PATH]})
# An empty package or binary is not looked at (upstream binary install, nginx exporter off).
# The --help texts are read on every run: an upgrade outside Ansible changes what the binaries
# offer, and running a binary already on the host costs milliseconds, not a task.
# Files copied on the host are compared by checksum, mode and ownership: "copies" maps each
# destination to whether it is up to date (no content is printed). "states" are the paths of
# node_exporter's file set; "keyed" the secret set's, read as HMACs under its key file. Both are
# read by observe() of plugins/module_utils/config_files.py, which the probe task sends ahead of
# this file, so they are read as config_files compares them. "bcrypt_hashes" are the bcrypt hashes
# in the files that hold the exporter password's hash (web.yml, the nginx front's htpasswd): the
# controller keeps one while it verifies the password (filter prodready.platform.bcrypt_hash), so the
# salt can be random and a re-run still writes nothing. The probe task is no_log when they are read.
import hashlib
import json
import os
import re
import subprocess
import sys

request = json.loads(sys.argv[1])


def run(argv, stderr=subprocess.STDOUT):
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=stderr,
                              universal_newlines=True, errors="replace", timeout=30, check=False)
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


def up_to_date(copy):
    try:
        state = globals()["observe"](copy["dest"])
    except OSError:
        return False
    source = sha1(copy["src"])
    return (state["type"] == "file" and source is not None and source == state["sha1"]
            and state["mode"] == copy["mode"] and state["owner"] == copy["owner"] and state["group"] == copy["group"])


def bcrypt_hashes(paths):
    found = []
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except OSError:
            continue
        found.extend(hashed for hashed in re.findall(r"\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}", text) if hashed not in found)
    return found


units = request.get("units", [])
print(json.dumps({
    "node": exporter(request.get("node", {})),
    "nginx_exporter": exporter(request.get("nginx_exporter", {})),
    "nginx_installed": os.path.exists("/usr/sbin/nginx"),
    "copies": {copy["dest"]: up_to_date(copy) for copy in request.get("copies", [])},
    # Parsed by the prodready.platform.systemd_units filter.
    "units": run(["systemctl", "show", "--property=Id,UnitFileState,ActiveState", "--"] + units,
                 stderr=subprocess.DEVNULL)[1] if units else "",
    # Secret files (request["keyed"]) come as HMACs under the key file of their set, never as digests.
    "states": globals()["observe_paths"](request.get("states", []), request.get("keyed")),
    "bcrypt_hashes": bcrypt_hashes(request.get("bcrypt_files", [])),
}))
