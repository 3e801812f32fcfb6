#!/usr/bin/env python
"""Run a playbook the way AWX / Automation Controller does, and report what it changed.

AWX does not call ansible-playbook in the project directory: it copies the project into a
private data directory, writes the inventory, extra vars and environment there, closes stdin
(no prompt can be answered) and runs ``ansible-runner``. This script does the same with a
fresh private data directory, then fails unless the job is ``successful`` and, with
``--expect-changed N``, reports exactly N changed tasks.

    tests/awx/runner_check.py --inventory DIR_OR_FILE [--playbook site.yml] [--check]
        [--extra-vars JSON] [--expect-changed 0] [--keep]

Used by the ``default`` Molecule scenario's side_effect (check mode on the converged host) and
by hand against the demo fleet (see docs/awx.md).
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import ansible_runner

REPO_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# What an AWX project copy needs of the repository; the rest (.venv, caches, molecule's
# state) is not part of a project checkout.
PROJECT_PARTS = ("ansible.cfg", "site.yml", "playbooks", "roles", "plugins", "meta", "galaxy.yml",
                 "collections", "inventories")


def build_private_data_dir(root, inventory, extra_vars, check):
    project = os.path.join(root, "project")
    os.makedirs(project)
    for part in PROJECT_PARTS:
        source = os.path.join(REPO_DIR, part)
        target = os.path.join(project, part)
        if os.path.isdir(source):
            # symlinks=True: collections/ansible_collections/prodready/platform -> ../../.. must
            # point into the copy, not back at this checkout.
            shutil.copytree(source, target, symlinks=True)
        elif os.path.exists(source):
            shutil.copy2(source, target)
    inventory_dir = os.path.join(root, "inventory")
    if os.path.isdir(inventory):
        shutil.copytree(inventory, inventory_dir, symlinks=False)
    else:
        os.makedirs(inventory_dir)
        shutil.copy2(inventory, os.path.join(inventory_dir, os.path.basename(inventory)))
    env = os.path.join(root, "env")
    os.makedirs(env)
    with open(os.path.join(env, "extravars"), "w") as handle:
        json.dump(extra_vars, handle)
    # AWX passes credentials as environment variables and never answers a prompt.
    # ansible-runner turns host key checking off unless the environment sets it (docs/awx.md says
    # to set it in AWX too): the inventory's known_hosts is checked.
    envvars = {"ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_HOST_KEY_CHECKING": "True",
               "ANSIBLE_COLLECTIONS_PATH": os.path.join(project, "collections")}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        if os.environ.get(name):
            envvars[name] = os.environ[name]
    with open(os.path.join(env, "envvars"), "w") as handle:
        json.dump(envvars, handle)
    if check:
        with open(os.path.join(env, "cmdline"), "w") as handle:
            handle.write("--check")
    return project, inventory_dir


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", required=True, help="inventory file or directory (with group_vars)")
    parser.add_argument("--playbook", default="site.yml")
    parser.add_argument("--check", action="store_true", help="run in check mode (--check)")
    parser.add_argument("--extra-vars", default="{}", help="JSON object of extra vars (a survey's answers)")
    parser.add_argument("--expect-changed", type=int, default=None)
    parser.add_argument("--limit", default=None)
    parser.add_argument("--ignore-task", action="append", default=[], metavar="NAME",
                        help="a task whose change is reported but not counted against --expect-changed "
                             "(an export of observed state, not configuration); repeatable")
    parser.add_argument("--keep", action="store_true", help="keep the private data directory")
    args = parser.parse_args(argv)

    # ansible-runner starts ansible-playbook from PATH: use the one installed beside this Python
    # (the venv's), as an execution environment has it on its PATH.
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    root = tempfile.mkdtemp(prefix="prodready-awx-")
    started = time.monotonic()
    try:
        project, inventory_dir = build_private_data_dir(root, os.path.abspath(args.inventory),
                                                        json.loads(args.extra_vars), args.check)
        runner = ansible_runner.run(private_data_dir=root, project_dir=project, playbook=args.playbook,
                                    inventory=inventory_dir, limit=args.limit, quiet=True,
                                    settings={"suppress_ansible_output": True, "idle_timeout": 600})
        elapsed = time.monotonic() - started
        stats = runner.stats or {}
        changed_tasks = []
        for event in runner.events:
            data = event.get("event_data", {})
            if event.get("event") == "runner_on_ok" and (data.get("res") or {}).get("changed"):
                changed_tasks.append((data.get("host"), data.get("task")))
        ignored = [item for item in changed_tasks if item[1] in args.ignore_task]
        changed = sum((stats.get("changed") or {}).values()) - len(ignored)
        failed = sum((stats.get("failures") or {}).values()) + sum((stats.get("dark") or {}).values())
        hosts = sorted(set().union(*[set(v) for v in stats.values() if isinstance(v, dict)])) if stats else []
        print("ansible-runner %s%s: status %s, rc %s, %d host(s), %d changed, %d failed/unreachable, %.1f s"
              % (args.playbook, " --check" if args.check else "", runner.status, runner.rc, len(hosts),
                 changed, failed, elapsed))
        for host, task in ignored:
            print("  changed, not counted (--ignore-task): %s %s" % (host, task))
        if runner.status != "successful" or runner.rc != 0:
            for event in runner.events:
                if event.get("event") in ("runner_on_failed", "runner_on_unreachable"):
                    data = event.get("event_data", {})
                    print("  %s %s: %s" % (data.get("host"), data.get("task"),
                                           (data.get("res") or {}).get("msg", "")), file=sys.stderr)
            tail = runner.stdout.read()[-3000:] if runner.stdout else ""
            print(tail, file=sys.stderr)
            return 1
        if args.expect_changed is not None and changed != args.expect_changed:
            for host, task in changed_tasks:
                if (host, task) not in ignored:
                    print("  changed: %s %s" % (host, task), file=sys.stderr)
            print("expected %d changed, got %d" % (args.expect_changed, changed), file=sys.stderr)
            return 1
        return 0
    finally:
        if args.keep:
            print("private data directory kept: %s" % root)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
