# Every Lynis item scored below its maximum, from /var/log/lynis.log (file argument or stdin): test ID and points
# earned/possible (summed per test), so a changed hardening index can be traced to a test.
# Used by benchmarks/hardening and tests/vm/run.sh (VM_TEST_LYNIS=1).
/Performing test ID/ { match($0, /test ID [A-Z]+-[0-9]+/); id = substr($0, RSTART + 8, RLENGTH - 8) }
/Hardening: assigned partial number of hardening points/ {
  match($0, /\([0-9]+ of [0-9]+\)/); split(substr($0, RSTART + 1, RLENGTH - 2), p, " of ")
  got[id] += p[1]; max[id] += p[2]; if (!(id in seen)) { seen[id] = 1; order[++n] = id } }
END { for (i = 1; i <= n; i++) printf "%s %d/%d\n", order[i], got[order[i]], max[order[i]] }
