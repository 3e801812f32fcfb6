#!/usr/bin/env bash
# Runs one stage of a make target and prints its name and wall time (CI reads these).
set -uo pipefail
name="$1"; shift
start=$(date +%s%N)
printf '==> stage %s\n' "$name"
"$@"
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
printf '<== stage %s: %s in %d.%d s\n' "$name" "$([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)")" $((ms / 1000)) $(((ms % 1000) / 100))
exit $rc
