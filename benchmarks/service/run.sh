#!/usr/bin/env bash
# Deploy time per host and per strategy for the service role, beside the plain
# copy/symlink/restart a user might script instead (Ansistrano-style: no sandbox, no gate).
#
#   benchmarks/service/run.sh            3 Debian 12 test hosts, first deploy + upgrade per strategy
#   BENCH_HOSTS=1 benchmarks/service/run.sh
#
# Prints one line per host and run ("BENCH <what> host=… seconds=…") and a summary table.
# Uses the test bed (tools/testbed.sh up); removes its hosts at the end.
#   BENCH_HOSTS (1-6, default 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$PWD/collections" ANSIBLE_FORCE_COLOR=0
N="${BENCH_HOSTS:-3}"
if [ "$N" -lt 1 ] || [ "$N" -gt 6 ]; then echo "BENCH_HOSTS must be 1 to 6" >&2; exit 2; fi
WORK=$(mktemp -d /tmp/prodready-bench-service.XXXXXX)
hosts=()
cleanup() {
  [ ${#hosts[@]} -eq 0 ] || tools/testbed.sh rm "${hosts[@]}" >/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# Hosts: this checkout's test bed image at fixed addresses 172.30.100.116-121, their host keys
# recorded (tools/testbed.sh host), reached as in benchmarks/site (benchmarks/testbed_connection.py:
# SSH as the test bed's automation account; the plays become root).
tools/testbed.sh up >/dev/null
for i in $(seq 1 "$N"); do
  h="bench-svc-$i"; hosts+=("$h")
  tools/testbed.sh rm "$h"
  # It also makes /run a shared mount (systemd credentials need it; Docker's is private).
  tools/testbed.sh host "$h" 12 "172.30.100.$((115 + i))" >/dev/null
done
{
  echo "all:"
  echo "  vars: $(python benchmarks/testbed_connection.py)"
  echo "  children:"
  echo "    bench:"
  echo "      hosts:"
  for h in "${hosts[@]}"; do echo "        $h: {}"; done
} >"$WORK/hosts.yml"

run() {  # label, extra args...
  local label="$1"; shift
  local t0 t1
  t0=$(date +%s.%N)
  ansible-playbook -i "$WORK/hosts.yml" benchmarks/service/bench.yml "$@" >"$WORK/$label.log" 2>&1 \
    || { echo "FAILED: $label (log below)"; tail -30 "$WORK/$label.log"; exit 1; }
  t1=$(date +%s.%N)
  grep -o 'BENCH [^"]*' "$WORK/$label.log" | sed 's/\\n/ /g' | tee "$WORK/bench.lines"
  # One row per host: run, host, seconds, time to healthy (the role's health gate).
  sed -nE 's/.*host=([^ ]+) seconds=([0-9.]+)( time_to_healthy=([^ ]+))?.*/\1 \2 \4/p' "$WORK/bench.lines" |
    while read -r host seconds tth; do
      printf '%s\t%s\t%s\t%s\n' "$label" "$host" "$seconds" "${tth:--}" >>"$WORK/per-host.tsv"
    done
  printf 'TOTAL %-34s %6.1f s (%d hosts)\n' "$label" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$N" | tee -a "$WORK/summary"
}

run "baseline first deploy" --tags baseline -e bench_baseline_version=1
run "baseline upgrade" --tags baseline -e bench_baseline_version=2
run "rolling first deploy (parallel)" --tags role -e bench_strategy=rolling -e bench_version=1.0.0
run "rolling upgrade (serial=1)" --tags role -e bench_strategy=rolling -e bench_version=2.0.0 -e bench_serial=1
run "rolling no-op re-run" --tags role -e bench_strategy=rolling -e bench_version=2.0.0
run "blue_green first deploy" --tags role -e bench_strategy=blue_green -e bench_version=1.0.0
run "blue_green upgrade" --tags role -e bench_strategy=blue_green -e bench_version=2.0.0
echo
echo "deploy time per host (seconds from the first task to the end of the role on that host;"
echo "time_to_healthy = the health gate's figure; parallel runs overlap, serial=1 runs do not):"
awk -F'\t' 'BEGIN { printf "%-34s %-14s %8s %16s\n", "run", "host", "seconds", "time_to_healthy" }
  { printf "%-34s %-14s %8.2f %16s\n", $1, $2, $3, $4 }' "$WORK/per-host.tsv"
echo
echo "per strategy (mean and max of the per-host figures, and the wall time of the whole run):"
awk -F'\t' '{ n[$1]++; s[$1] += $3; if ($3 > m[$1]) m[$1] = $3; if (!($1 in o)) { o[$1] = ++k; r[k] = $1 } }
  END { printf "%-34s %6s %10s %10s\n", "run", "hosts", "mean s", "max s";
        for (i = 1; i <= k; i++) printf "%-34s %6d %10.2f %10.2f\n", r[i], n[r[i]], s[r[i]] / n[r[i]], m[r[i]] }' "$WORK/per-host.tsv"
echo
echo "wall time of each ansible-playbook run:"
cat "$WORK/summary"
