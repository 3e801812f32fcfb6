#!/usr/bin/env bash
# Integrity benchmark: generates the seeded 20,000-file / ~2.08 GB tree and prints prodready's
# verification times beside `aide --check` (Debian's aide, sha256 only). Needs root for apt.
#   benchmarks/integrity/run.sh [--dir DIR] [--files N] [--bytes N] [--repeat N] [--no-aide]
set -euo pipefail
REPO_DIR="$(cd "$(dirname "$0")/../.." && pwd)"
PYTHON="${PYTHON:-$REPO_DIR/.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
if ! command -v aide >/dev/null 2>&1 && [[ " $* " != *" --no-aide "* ]]; then
  echo "[bench] installing Debian's aide for the comparison" >&2
  { apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends aide; } >/dev/null \
    || { echo "[bench] could not install aide; rerun with --no-aide" >&2; exit 1; }
fi
if ! [ -x /usr/bin/time ]; then
  echo "[bench] installing GNU time (peak memory of each check)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq time >/dev/null || { echo "[bench] could not install time" >&2; exit 1; }
fi
exec "$PYTHON" "$REPO_DIR/benchmarks/integrity/bench.py" "$@"
