#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Live check of plugins/module_utils/_integrity/debian_archive.py against the real Debian archive.

Hashes a file of this machine (default /usr/bin/ls of coreutils) and proves it against
deb.debian.org: InRelease verified by gpgv with the archive keyring, Packages and the .deb
by the hashes that chain down from it. Needs network access; not part of the unit tests.

    tools/debian-archive-check.py [--path /usr/bin/ls] [--package coreutils] [--cache-dir DIR]

Prints the verification result as JSON; exit status 0 only when the file is "verified".
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "collections"))

from ansible_collections.prodready.platform.plugins.module_utils._integrity import debian_archive  # noqa: E402


def os_release(name):
    with open("/etc/os-release") as handle:
        for line in handle:
            key, _sep, value = line.strip().partition("=")
            if key == name:
                return value.strip('"')
    raise SystemExit("no %s in /etc/os-release" % name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--path", default="/usr/bin/ls")
    parser.add_argument("--package", default="coreutils")
    parser.add_argument("--cache-dir")
    args = parser.parse_args()
    version = subprocess.check_output(["dpkg-query", "-W", "-f", "${Version}", args.package], universal_newlines=True)
    arch = subprocess.check_output(["dpkg", "--print-architecture"], universal_newlines=True).strip()
    codename = os_release("VERSION_CODENAME")
    with open(args.path, "rb") as handle:
        sha256 = hashlib.sha256(handle.read()).hexdigest()
    archive = debian_archive.DebianArchive(debian_archive.default_sources(codename), arch=arch, cache_dir=args.cache_dir)
    started = time.time()
    result = archive.verify_files([{"path": args.path, "package": args.package, "version": version, "sha256": sha256}])
    print(json.dumps({"codename": codename, "arch": arch, "seconds": round(time.time() - started, 1), "results": result}, indent=2))
    return 0 if result[0]["status"] == "verified" else 1


if __name__ == "__main__":
    sys.exit(main())
