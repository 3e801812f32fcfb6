#!/usr/bin/env bash
# `make rules`: render the monitoring role's rule templates with their defaults, then
# `promtool check rules` them and run the `promtool test rules` unit tests in tests/promtool/;
# then route every alert through inventories/production.example's Alertmanager configuration
# with amtool (tests/promtool/route_alerts.py: critical alerts, the SLO fast burn among them,
# reach the pager). promtool and amtool come from Debian's prometheus and
# prometheus-alertmanager packages (installed here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$1" >/dev/null 2>&1 \
    || { apt-get -o DPkg::Lock::Timeout=600 update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$1" >/dev/null; }
}
if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool missing: installing Debian's prometheus package" >&2
  apt_install prometheus
fi
if ! command -v amtool >/dev/null 2>&1; then
  echo "amtool missing: installing Debian's prometheus-alertmanager package" >&2
  apt_install prometheus-alertmanager
fi

PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$PY" tests/promtool/render_rules.py "$work"
promtool check rules "$work"/rules/*.yml
mkdir "$work"/alertmanager
"$PY" tests/promtool/route_alerts.py "$work"/rules "$work"/alertmanager
cp tests/promtool/*.yml "$work"/
cd "$work"
promtool test rules ./*.yml
