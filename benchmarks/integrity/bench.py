# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Integrity benchmark: prodready's integrity library beside `aide --check` on one tree.

Generates a seeded tree (default 20,000 files, ~2.08 GB, random content, log-normal sizes
in 200 directories), builds an AIDE database (sha256 only) and a signed prodready manifest,
then times, each in a fresh process with the page cache warm (both tools get the same warm-up):

  aide --check                      rehash everything (AIDE's only mode)
  prodready full rehash             every file rehashed (the comprehensive/full tree work)
  prodready standard                metadata + ctime/inode, rehash only changed files
  prodready minimal                 metadata only

and prints wall time and peak RSS (ru_maxrss of the child) for each. Nothing here is a pass/fail
assertion: the figures go into docs/integrity.md.

    benchmarks/integrity/run.sh [--dir /var/tmp/prodready-integrity-bench] [--files 20000]
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# The collection as Python imports it (collections/ansible_collections/prodready/platform -> the repo).
LIB_DIR = os.path.join(REPO, "collections")
LIB = "ansible_collections.prodready.platform.plugins.module_utils._integrity"


def generate(root, files, total_bytes, seed):
    marker = os.path.join(root, ".generated")
    spec = "%d %d %d\n" % (files, total_bytes, seed)
    if os.path.exists(marker) and open(marker).read() == spec:
        return
    if os.path.exists(root):
        shutil.rmtree(root)
    rng = random.Random(seed)
    raw = [rng.lognormvariate(0, 1.6) for _index in range(files)]
    scale = total_bytes / sum(raw)
    sizes = [max(1, int(r * scale)) for r in raw]
    dirs = 200
    block = rng.randbytes(8 << 20)  # content from a seeded pool: distinct per file via offset
    for index, size in enumerate(sizes):
        directory = os.path.join(root, "d%03d" % (index % dirs), "s%d" % (index % 7))
        if not os.path.isdir(directory):
            os.makedirs(directory)
        with open(os.path.join(directory, "f%05d.bin" % index), "wb") as handle:
            handle.write(index.to_bytes(8, "little"))
            remaining = size - 8
            offset = rng.randrange(len(block))
            while remaining > 0:
                piece = block[offset:offset + remaining]
                handle.write(piece)
                remaining -= len(piece)
                offset = 0
    with open(marker, "w") as handle:
        handle.write(spec)


def run_child(argv):
    """Run a command under GNU time, return (seconds, peak RSS MiB, exit code, stdout).

    ru_maxrss from wait4 would include this (large) parent's memory inherited at fork, so the
    child's own high-water mark comes from `time -f %M` instead."""
    marker = "__peak_rss_kb__"
    started = time.monotonic()
    proc = subprocess.run(["/usr/bin/time", "-f", marker + " %M"] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    elapsed = time.monotonic() - started
    peak = 0.0
    for line in proc.stderr.decode("utf-8", "replace").splitlines():
        if line.startswith(marker):
            peak = int(line.split()[1]) / 1024.0
    return elapsed, peak, proc.returncode, proc.stdout.decode("utf-8", "replace")


OUR_CHILD = r"""
import json, sys, time
sys.path.insert(0, %(lib)r)
from ansible_collections.prodready.platform.plugins.module_utils._integrity import verify
level, workers = sys.argv[1], int(sys.argv[2])
data = open(%(manifest)r, "rb").read()
res = verify.verify(data, open(%(pub)r).read(), level, workers=workers or None, system_paths={}, packages=False)
print(json.dumps({"ok": res["ok"], "files": res["files_checked"], "hashed": res["files_hashed"],
                  "violations": res["counts"]["violations"], "inner": res["duration_seconds"]}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--dir", default="/var/tmp/prodready-integrity-bench")
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--bytes", type=int, default=2080 * 1000 * 1000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is shown")
    parser.add_argument("--no-aide", action="store_true")
    args = parser.parse_args()

    sys.path.insert(0, LIB_DIR)
    import importlib
    baseline, manifest_lib, scan, signing = (importlib.import_module(LIB + "." + name)
                                             for name in ("baseline", "manifest", "scan", "signing"))

    tree = os.path.join(args.dir, "tree")
    work = os.path.join(args.dir, "work")
    os.makedirs(work, exist_ok=True)
    t0 = time.monotonic()
    generate(tree, args.files, args.bytes, args.seed)
    print("tree: %s (%d files, %.2f GB, seed %d; ready in %.1f s)" % (
        tree, args.files, args.bytes / 1e9, args.seed, time.monotonic() - t0))

    key = signing.generate_private_key_text()
    pub = signing.public_key_text(signing.load_private_key(key))
    manifest = os.path.join(work, "manifest.json")
    pub_file = os.path.join(work, "public.key")
    with open(pub_file, "w") as handle:
        handle.write(pub)
    t0 = time.monotonic()
    data = baseline.create_baseline([tree], private_key=key, system_paths={}, packages=False)[1]
    manifest_lib.write_file_atomic(manifest, data)
    # The first pass after a reboot also reads the tree from disk; the checks below run warm.
    print("prodready baseline: %.2f s, manifest %.1f MB (includes the disk read on a cold page cache)" % (
        time.monotonic() - t0, len(data) / 1e6))

    # Warm the page cache identically for everyone (both tools read the same bytes).
    scan.add_hashes(scan.walk([tree]))

    rows = []
    if not args.no_aide and shutil.which("aide"):
        conf = os.path.join(work, "aide.conf")
        with open(conf, "w") as handle:
            handle.write("database_in=file:%s/aide.db\ndatabase_out=file:%s/aide.db.new\n"
                         "database_new=file:%s/aide.db.new\ngzip_dbout=no\nreport_url=stdout\n"
                         "Sha = p+i+n+u+g+s+m+c+sha256\n%s Sha\n" % (work, work, work, tree))
        t0 = time.monotonic()
        subprocess.run(["aide", "--init", "--config", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        os.replace(os.path.join(work, "aide.db.new"), os.path.join(work, "aide.db"))
        print("aide --init: %.2f s" % (time.monotonic() - t0))
        best = min((run_child(["aide", "--check", "--config", conf]) for _run in range(args.repeat)), key=lambda r: r[0])
        rows.append(("aide --check (sha256)", best[0], best[1], "exit %d (0 = no changes)" % best[2]))
    elif not args.no_aide:
        print("aide not installed: run benchmarks/integrity/run.sh (installs Debian's aide) for the comparison")

    child = OUR_CHILD % {"lib": LIB_DIR, "manifest": manifest, "pub": pub_file}
    cores = scan.default_workers()
    plans = [("prodready full rehash, %d threads" % cores, "comprehensive", 0),
             ("prodready full rehash, 1 thread", "comprehensive", 1),
             ("prodready standard (unchanged tree)", "standard", 0),
             ("prodready minimal", "minimal", 0)]
    for label, level, workers in plans:
        runs = [run_child([sys.executable, "-c", child, level, str(workers)]) for _run in range(args.repeat)]
        best = min(runs, key=lambda r: r[0])
        info = json.loads(best[3].strip().splitlines()[-1])
        rows.append((label, best[0], best[1], "%d files, %d hashed, %d violations" % (
            info["files"], info["hashed"], info["violations"])))

    print()
    print("%-40s %10s %12s  %s" % ("tool", "wall s", "peak RSS MB", "notes"))
    for label, seconds, rss, note in rows:
        print("%-40s %10.2f %12.1f  %s" % (label, seconds, rss, note))
    aide = [r for r in rows if r[0].startswith("aide")]
    if aide:
        full = rows[1]
        print("\nfull rehash is %.1fx faster than aide --check; standard is %.0fx faster" % (
            aide[0][1] / full[1], aide[0][1] / rows[3][1]))
    print("machine: %d usable cores, load average %s" % (cores, " ".join("%.2f" % x for x in os.getloadavg())))


if __name__ == "__main__":
    main()
