#!/usr/bin/env bash
# `make rules`: render the monitoring role's rule templates with their defaults, then
# `promtool check rules` them and run the `promtool test rules` unit tests in tests/promtool/.
# promtool comes from Debian's prometheus package (installed here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool missing: installing Debian's prometheus package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 \
    || { apt-get -o DPkg::Lock::Timeout=600 update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends prometheus >/dev/null; }
fi

PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$PY" tests/promtool/render_rules.py "$work"
promtool check rules "$work"/rules/*.yml
cp tests/promtool/*.yml "$work"/
cd "$work"
promtool test rules ./*.yml
