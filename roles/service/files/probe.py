# Read-only probe of the host state the service role branches on; prints one JSON object.
# One process instead of a getent/find/stat/systemctl task each keeps the no-op run fast.
# Argument: a JSON object {group, user, root, config_dir, credstore_dir, unit_file, units, slots}.
import grp
import json
import os
import pwd
import subprocess
import sys


def readlink(path):
    try:
        return os.readlink(path)
    except OSError:
        return None


def shadow_password(user):
    # The spwd module is gone from Python 3.13 (Debian 13): read the file (the probe runs as root).
    try:
        with open("/etc/shadow", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                fields = line.rstrip("\n").split(":")
                if fields[0] == user and len(fields) > 1:
                    return fields[1]
    except OSError:
        pass
    return None


def main():
    args = json.loads(sys.argv[1])
    state = {"group": None, "user": None, "links": {}, "releases": {}, "credstore_files": []}
    try:
        state["group"] = {"gid": grp.getgrnam(args["group"]).gr_gid}
    except KeyError:
        pass
    try:
        entry = pwd.getpwnam(args["user"])
        state["user"] = {"gid": entry.pw_gid, "comment": entry.pw_gecos, "home": entry.pw_dir,
                         "shell": entry.pw_shell, "password": shadow_password(args["user"])}
    except KeyError:
        pass
    # Every link a deploy switches or a prune protects, keyed by its path (null: no link).
    links = [os.path.join(args["root"], "current"), os.path.join(args["config_dir"], "current"),
             os.path.join(args["root"], "active")]
    for slot in args["slots"]:
        links += [os.path.join(args["root"], "slots", slot), os.path.join(args["config_dir"], "slots", slot)]
    state["links"] = dict((path, readlink(path)) for path in links)
    # Release directories (not the hidden downloads) with their mtime, as `find` listed them.
    try:
        with os.scandir(os.path.join(args["root"], "releases")) as entries:
            for entry in entries:
                if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False):
                    state["releases"][entry.name] = entry.stat(follow_symlinks=False).st_mtime
    except OSError:
        pass
    try:
        with os.scandir(args["credstore_dir"]) as entries:
            state["credstore_files"] = sorted(os.path.join(args["credstore_dir"], e.name) for e in entries
                                              if e.is_file(follow_symlinks=False))
    except OSError:
        pass
    state["unit_installed"] = os.path.exists(args["unit_file"])
    # Parsed by the prodready.platform.systemd_units filter; units systemd does not know still
    # get a block (LoadState=not-found), so a fresh host needs no special case.
    show = subprocess.run(["systemctl", "show", "--property=Id,LoadState,UnitFileState,ActiveState", "--"]
                          + args["units"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          universal_newlines=True, check=False)
    state["systemctl_show"] = show.stdout
    print(json.dumps(state))


if __name__ == "__main__":
    main()
