# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup benchmark: our job (roles/backup/files/prodready_backup.py) beside a raw `restic backup`
of the same generated data set on the same S3 endpoint.

    python3 benchmarks/backup/bench.py            # 1 GiB (BENCH_SIZE_MB to change)

Needs restic on PATH (apt-get install restic) and the local S3 (tools/localsvc.sh start s3).
Prints: first backup, incremental backup of unchanged data, restore; for raw restic and for our
job (which also runs stale-lock unlock, forget --prune, check --read-data-subset and writes
metrics; its restore also re-reads the snapshot to compare every file's SHA-256). Each side gets
its own repository prefix, deleted at the end. Figures, not assertions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
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
CHECK_SUBSET = os.environ.get("BENCH_CHECK_SUBSET", "5%")
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


def timed(argv, env):
    started = time.time()
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    elapsed = time.time() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout.decode(errors="replace")[-2000:] + proc.stderr.decode(errors="replace")[-2000:])
        raise SystemExit("command failed: %s" % " ".join(argv[:4]))
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


def main():
    if not shutil.which("restic"):
        raise SystemExit("restic not found: apt-get install restic")
    work = tempfile.mkdtemp(prefix="prodready-backup-bench-")
    stamp = time.strftime("%Y%m%d%H%M%S")
    prefixes = {"raw": "benchmarks/raw-%s" % stamp, "job": "benchmarks/job-%s" % stamp}
    data = os.path.join(work, "data")
    try:
        started = time.time()
        generate(data, SIZE_MB)
        print("data set: %d MiB in %s (generated in %.1f s)" % (SIZE_MB, data, time.time() - started))
        base_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": work,
                    "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                    "RESTIC_PASSWORD": "benchmark-password", "RESTIC_CACHE_DIR": os.path.join(work, "cache")}
        results = {}

        # Raw restic, as a user would run it by hand.
        env = dict(base_env, RESTIC_REPOSITORY="s3:%s/%s/%s" % (ENDPOINT, BUCKET, prefixes["raw"]))
        timed(["restic"] + OPTIONS + ["init"], env)
        backup = ["restic"] + OPTIONS + ["backup", "--host", "bench", data]
        results["raw"] = {"first": timed(backup, env), "incremental": timed(backup, env),
                          "restore": timed(["restic"] + OPTIONS + ["restore", "latest", "--target",
                                                                   os.path.join(work, "restore-raw")], env)}

        # Our job: the runner the role installs, with its own config and secrets file.
        lib = os.path.join(work, "lib")
        os.makedirs(lib)
        shutil.copy(RUNNER, lib)
        shutil.copy(TEXTFILE, lib)
        env_file = os.path.join(work, "restic.env")
        with open(env_file, "w") as handle:
            handle.write("RESTIC_REPOSITORY=s3:%s/%s/%s\nRESTIC_PASSWORD=benchmark-password\n"
                         "AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n"
                         % (ENDPOINT, BUCKET, prefixes["job"], ACCESS_KEY, SECRET_KEY))
        config = os.path.join(work, "config.json")
        with open(config, "w") as handle:
            json.dump({"hostname": "bench", "paths": [data], "restic_options": OPTIONS, "tags": [],
                       "cache_dir": os.path.join(work, "cache-job"), "state_file": os.path.join(work, "state", "s.json"),
                       "metrics_dir": os.path.join(work, "metrics"), "scratch_dir": os.path.join(work, "scratch"),
                       "retention": {"keep_within": "30d"}, "check_read_data_subset": CHECK_SUBSET,
                       "compression": "auto"}, handle)
        job = [sys.executable, os.path.join(lib, "prodready_backup.py"), "--config", config, "--env-file", env_file]
        timed(job + ["init"], dict(os.environ))
        results["job"] = {"first": timed(job + ["run"], dict(os.environ)),
                          "incremental": timed(job + ["run"], dict(os.environ)),
                          "restore": timed(job + ["restore", "--target", os.path.join(work, "restore-job")],
                                           dict(os.environ))}

        print("%-34s %12s %12s %10s" % ("", "raw restic", "our job", "overhead"))
        labels = (("first", "first backup (s)"), ("incremental", "incremental, unchanged data (s)"),
                  ("restore", "restore (s)"))
        for key, label in labels:
            raw, ours = results["raw"][key], results["job"][key]
            print("%-34s %12.1f %12.1f %9.0f%%" % (label, raw, ours, (ours / raw - 1) * 100))
        for side in ("raw", "job"):
            print("%s: incremental = %.0f%% of first" % (side, results[side]["incremental"] / results[side]["first"] * 100))
        print("our job also runs: unlock, forget --prune, check --read-data-subset=%s, metrics; "
              "its restore also compares every file's SHA-256 with `restic dump`" % CHECK_SUBSET)
    finally:
        for prefix in prefixes.values():
            try:
                wipe(prefix)
            except Exception as exc:  # pylint: disable=broad-except
                sys.stderr.write("could not delete s3 prefix %s: %s\n" % (prefix, exc))
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
