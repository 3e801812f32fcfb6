# Read-only probe of the host state the integrity role branches on; prints one JSON object.
# One process instead of a stat per scanned path, a dpkg-query, a find and a systemctl show.
# Argument: a JSON object {paths, packages, timer_dir, timer_units, states, keyed, baseline}.
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


def baseline_confirmed(request):
    """Whether integrity_baseline would take its confirmed fast path (and change nothing): the same
    check, baseline_confirmed() of the integrity library this role installed, with the public key.
    None when not asked; False whenever it cannot tell (no library or cryptography yet, no
    baseline, anything unexpected), so the module runs and decides."""
    if not request:
        return None
    try:
        # No __pycache__ next to the library: it is inside the scanned tree (the monitor runs -B too).
        sys.dont_write_bytecode = True
        sys.path.insert(0, request["library_dir"])
        import integrity  # pylint: disable=import-outside-toplevel,import-error
        params = dict(request["params"], dpkg_admin_dir=integrity.DPKG_ADMIN_DIR, dpkg_log=integrity.DPKG_LOG)
        if not os.path.exists(params["path"]):
            return False
        data = integrity.read_file(params["path"])
        body = integrity.load_manifest(data, [request["public_key"]])
        return bool(integrity.baseline_confirmed(params, integrity.load_public_key(request["public_key"]), data, body))
    # A probe answers; it does not fail the play. Any error (an older library without the function,
    # a manifest that does not verify) means "not confirmed".
    except Exception:  # pylint: disable=broad-except
        return False


def manifest_key_id(path):
    """The key id the host's manifest names as its signer (header only, not verified: the role
    refuses to touch a host whose manifest names a key it does not trust, before any change)."""
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            header = json.loads(handle.readline().decode("ascii"))
        return str(header["key_id"])
    except FileNotFoundError:
        return None
    except Exception:  # pylint: disable=broad-except
        return "unreadable"


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
    # Secret files (args["keyed"]) come as HMACs under the key file of their set, never as digests.
    state["states"] = globals()["observe_paths"](args.get("states", []), args.get("keyed"))
    state["baseline_confirmed"] = baseline_confirmed(args.get("baseline"))
    state["manifest_key_id"] = manifest_key_id(args.get("manifest"))
    print(json.dumps(state))


if __name__ == "__main__":
    main()
