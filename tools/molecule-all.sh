#!/usr/bin/env bash
# Runs each Molecule scenario, timing each, and ends with a plain summary line.
# Every scenario runs even if an earlier one failed, so one CI run shows all failures.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
passed=0; failed=0; failed_names=()
for scenario in "$@"; do
  if tools/stage.sh "molecule-$scenario" .venv/bin/molecule test -s "$scenario"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); failed_names+=("$scenario")
  fi
done
[ $failed -eq 0 ] || echo "failed scenarios: ${failed_names[*]}"
echo "molecule: $passed passed, $failed failed"
[ $failed -eq 0 ]
