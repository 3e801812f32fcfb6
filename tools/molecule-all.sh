#!/usr/bin/env bash
# Runs each Molecule scenario, timing each, and ends with a plain summary line.
# Every scenario runs even if an earlier one failed, so one CI run shows all failures.
#
# Each run's output is also kept in .cache/molecule-logs/<scenario>[.<attempt>].log. A scenario
# that fails is run once more (MOLECULE_ATTEMPTS, default 2): a scenario that passes only on its
# second attempt counts as passed but is reported as FLAKY, with the lines that say why its first
# attempt failed. For every failed attempt those lines (fatal/failed tasks, assertion messages,
# Molecule errors) are printed again at the end, where a CI log that keeps only its tail still
# shows them.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
logs=.cache/molecule-logs
attempts="${MOLECULE_ATTEMPTS:-2}"
mkdir -p "$logs"
passed=0; failed=0; failed_names=(); flaky_names=(); failed_logs=()
for scenario in "$@"; do
  for attempt in $(seq 1 "$attempts"); do
    log="$logs/$scenario.$attempt.log"
    if tools/stage.sh "molecule-$scenario" .venv/bin/molecule test -s "$scenario" 2>&1 | tee "$log"; then
      passed=$((passed + 1))
      [ "$attempt" -eq 1 ] || flaky_names+=("$scenario")
      continue 2
    fi
    failed_logs+=("$log")
    [ "$attempt" -eq "$attempts" ] || echo "molecule-$scenario failed (attempt $attempt of $attempts); running it again"
  done
  failed=$((failed + 1)); failed_names+=("$scenario")
done
for log in "${failed_logs[@]}"; do
  echo "---- why this attempt failed: $log ----"
  # The line before each failure names the task; bounded so CI's tail keeps the summary below.
  grep -n -B1 -A3 -E '^(fatal|failed):|FAILED!|^ERROR|CRITICAL|"msg":|Assertion failed' "$log" \
    | cut -c1-400 | tail -n 40
done
[ ${#flaky_names[@]} -eq 0 ] || echo "FLAKY (failed, then passed on a second attempt): ${flaky_names[*]}"
[ $failed -eq 0 ] || echo "failed scenarios: ${failed_names[*]}"
echo "molecule: $passed passed, $failed failed"
[ $failed -eq 0 ]
