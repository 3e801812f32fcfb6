# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup benchmark: our job (roles/backup/files/prodready_backup.py) beside a raw `restic backup`
of the same generated data set on the same S3 endpoint.

    python3 benchmarks/backup/bench.py            # 1 GiB, 3 rounds (BENCH_SIZE_MB, BENCH_ROUNDS)

Needs restic on PATH (apt-get install restic) and the local S3 (tools/localsvc.sh start s3).
Each round gives each side a fresh repository (initialised untimed) and times: first backup, incremental backup of
unchanged data, restore. The sides alternate which goes first, so a loaded machine hurts both
alike; the figures are medians over the rounds. Our job also runs forget --prune (retention),
check --read-data-subset and writes metrics; its restore also re-reads the snapshot with
`restic dump` to compare every file's SHA-256. The backup call itself differs from the raw one
only by --json (for the summary), --exclude-caches and --compression auto (restic's default).
BENCH_CHECK_MAX_AGE=0 makes the job check after every run (the role's backup_check_max_age: 0).
Repositories are deleted at the end. Figures, not assertions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import statistics
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
RUNNER = os.path.join(REPO_ROOT, "roles", "backup", "files", "prodready_backup.py")
TEXTFILE = os.path.join(REPO_ROOT, "plugins", "module_utils", "textfile.py")

ENDPOINT = os.environ.get("LOCALSVC_S3_ENDPOINT", "http://172.30.100.1:8333")
BUCKET = os.environ.get("LOCALSVC_S3_BUCKET", "prodready-demo")
ACCESS_KEY = os.environ.get("LOCALSVC_S3_ACCESS_KEY", "prodready-test")
SECRET_KEY = os.environ.get("LOCALSVC_S3_SECRET_KEY", "prodready-test-secret-key-0123456789")
SIZE_MB = int(os.environ.get("BENCH_SIZE_MB", "1024"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CHECK_SUBSET = os.environ.get("BENCH_CHECK_SUBSET", "5%")
# The role's default: a run that changed no file skips `restic check` while the last one is younger.
CHECK_MAX_AGE = int(os.environ.get("BENCH_CHECK_MAX_AGE", "86400"))
OPTIONS = ["-o", "s3.bucket-lookup=path", "-o", "s3.region=us-east-1"]


def generate(root, size_mb):
    """Half incompressible (random, 4 MiB files), half compressible (text, 256 KiB files)."""
    random_mb = size_mb // 2
    for i in range(random_mb // 4):
        path = os.path.join(root, "random", "%03d" % (i // 50), "blob-%04d.bin" % i)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(os.urandom(4 << 20))
    text_files = (size_mb - random_mb) * 4
    for i in range(text_files):
        path = os.path.join(root, "text", "%03d" % (i // 200), "log-%05d.txt" % i)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        line = ("%08d INFO request path=/api/records/%d status=200 bytes=%d took_ms=%d\n" % (i, i, i * 7, i % 97))
        with open(path, "w") as handle:
            handle.write(line * ((256 << 10) // len(line)))


def timed(argv, env, output=None):
    started = time.time()
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    elapsed = time.time() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout.decode(errors="replace")[-2000:] + proc.stderr.decode(errors="replace")[-2000:])
        raise SystemExit("command failed: %s" % " ".join(argv[:4]))
    if output is not None:
        output.append(proc.stdout.decode(errors="replace"))
    return elapsed


def wipe(prefix):
    import boto3
    import botocore.config
    client = boto3.client("s3", endpoint_url=ENDPOINT, aws_access_key_id=ACCESS_KEY,
                          aws_secret_access_key=SECRET_KEY, region_name="us-east-1",
                          config=botocore.config.Config(s3={"addressing_style": "path"}))
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/"):
        for obj in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=obj["Key"])


def run_raw(work, prefix, base_env):
    """Raw restic, as a user would run it by hand."""
    env = dict(base_env, RESTIC_REPOSITORY="s3:%s/%s/%s" % (ENDPOINT, BUCKET, prefix))
    timed(["restic"] + OPTIONS + ["init"], env)
    backup = ["restic"] + OPTIONS + ["backup", "--host", "bench", os.path.join(work, "data")]
    target = os.path.join(work, "restore-raw")
    result = {"first": timed(backup, env), "incremental": timed(backup, env),
              "restore": timed(["restic"] + OPTIONS + ["restore", "latest", "--target", target], env)}
    shutil.rmtree(target, ignore_errors=True)
    return result


def run_job(work, prefix, round_no):
    """Our job: the runner the role installs, with its own config and secrets file."""
    lib = os.path.join(work, "lib")
    if not os.path.isdir(lib):
        os.makedirs(lib)
        shutil.copy(RUNNER, lib)
        shutil.copy(TEXTFILE, lib)
    side = os.path.join(work, "job-%d" % round_no)
    os.makedirs(side)
    env_file = os.path.join(side, "restic.env")
    with open(env_file, "w") as handle:
        handle.write("RESTIC_REPOSITORY=s3:%s/%s/%s\nRESTIC_PASSWORD=benchmark-password\n"
                     "AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n" % (ENDPOINT, BUCKET, prefix, ACCESS_KEY, SECRET_KEY))
    config = os.path.join(side, "config.json")
    with open(config, "w") as handle:
        json.dump({"hostname": "bench", "paths": [os.path.join(work, "data")], "restic_options": OPTIONS, "tags": [],
                   "cache_dir": os.path.join(work, "cache-job"), "state_file": os.path.join(side, "state", "s.json"),
                   "metrics_dir": os.path.join(side, "metrics"), "scratch_dir": os.path.join(side, "scratch"),
                   "retention": {"keep_within": "30d"}, "check_read_data_subset": CHECK_SUBSET,
                   "check_max_age": CHECK_MAX_AGE, "compression": "auto"}, handle)
    job = [sys.executable, os.path.join(lib, "prodready_backup.py"), "--config", config, "--env-file", env_file]
    timed(job + ["init"], dict(os.environ))
    logs = []
    target = os.path.join(side, "restore")
    result = {"first": timed(job + ["run"], dict(os.environ), logs),
              "incremental": timed(job + ["run"], dict(os.environ), logs),
              "restore": timed(job + ["restore", "--target", target], dict(os.environ))}
    # The job's own breakdown: "OK in 13.1s: ... (backup 11.9s, forget 0.5s, check 0.7s)".
    for key, text in zip(("first", "incremental"), logs):
        found = re.search(r"backup ([0-9.]+)s, forget ([0-9.]+)s, check ([0-9.]+)s", text)
        if found:
            result[key + "_steps"] = [float(x) for x in found.groups()]
    shutil.rmtree(side, ignore_errors=True)
    return result


def main():
    if not shutil.which("restic"):
        raise SystemExit("restic not found: apt-get install restic")
    work = tempfile.mkdtemp(prefix="prodready-backup-bench-")
    stamp = time.strftime("%Y%m%d%H%M%S")
    prefixes = []
    try:
        started = time.time()
        generate(os.path.join(work, "data"), SIZE_MB)
        print("data set: %d MiB (generated in %.1f s); %d rounds, sides alternate who goes first"
              % (SIZE_MB, time.time() - started, ROUNDS))
        base_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": work,
                    "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                    "RESTIC_PASSWORD": "benchmark-password", "RESTIC_CACHE_DIR": os.path.join(work, "cache")}
        results = {"raw": [], "job": []}
        for round_no in range(ROUNDS):
            order = ("raw", "job") if round_no % 2 == 0 else ("job", "raw")
            for side in order:
                prefix = "benchmarks/%s-%s-%d" % (side, stamp, round_no)
                prefixes.append(prefix)
                if side == "raw":
                    results[side].append(run_raw(work, prefix, base_env))
                else:
                    results[side].append(run_job(work, prefix, round_no))
                wipe(prefix)
                prefixes.remove(prefix)
            print("round %d: %s" % (round_no + 1, "  ".join(
                "%s first %.1f incr %.1f restore %.1f" % (side, results[side][-1]["first"],
                                                          results[side][-1]["incremental"], results[side][-1]["restore"])
                for side in ("raw", "job"))))

        def median(side, key):
            return statistics.median(r[key] for r in results[side])

        print("\nmedians of %d rounds" % ROUNDS)
        print("%-34s %12s %12s %10s" % ("", "raw restic", "our job", "overhead"))
        labels = (("first", "first backup (s)"), ("incremental", "incremental, unchanged data (s)"),
                  ("restore", "restore (s)"))
        for key, label in labels:
            raw, ours = median("raw", key), median("job", key)
            print("%-34s %12.2f %12.2f %9.0f%%" % (label, raw, ours, (ours / raw - 1) * 100))
        for side in ("raw", "job"):
            print("%s: incremental = %.0f%% of first" % (side, median(side, "incremental") / median(side, "first") * 100))
        for key in ("first", "incremental"):
            rounds = [r for r in results["job"] if key + "_steps" in r]
            if rounds:
                steps = [r[key + "_steps"] for r in rounds]
                # Time the job spends beyond its own `restic backup` call, measured within each run:
                # less exposed to a loaded machine than the difference of two separate runs.
                beyond = statistics.median(r[key] - r[key + "_steps"][0] for r in rounds)
                print("our job, %s run, median step times: backup %.2f s, forget %.2f s, check %.2f s; "
                      "beyond its backup call %.2f s (%.0f%% of raw's first backup)" % (
                          key, statistics.median(x[0] for x in steps), statistics.median(x[1] for x in steps),
                          statistics.median(x[2] for x in steps), beyond, beyond / median("raw", "first") * 100))
        print("our job also runs: forget --prune when the retention policy may remove a snapshot, "
              "check --read-data-subset=%s (check_max_age %d: left out when no file changed), metrics; "
              "its restore also compares every file's SHA-256 with `restic dump`" % (CHECK_SUBSET, CHECK_MAX_AGE))
    finally:
        for prefix in prefixes:
            try:
                wipe(prefix)
            except Exception as exc:  # pylint: disable=broad-except
                sys.stderr.write("could not delete s3 prefix %s: %s\n" % (prefix, exc))
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
