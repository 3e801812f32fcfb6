#!/usr/bin/env bash
# site.yml at scale (issues 10 and 23): wall time of the first converge and of the no-op re-run
# of site.yml on 1, 3 and 6 fresh test hosts, the changed count of each run, the Ansible settings
# in effect, and where the no-op time goes per role.
# Settings: what a user of this checkout gets, the repository's ansible.cfg as it is (no fact
# cache, no tuning plugins); the runs add only the callback ansible.posix.profile_roles (per-role
# times, printed after each size). Opt-in tuning (docs/benchmarks.md) is not measured here.
#
#   benchmarks/site/run.sh                         sizes 1 3 6
#   BENCH_SITE_SIZES="1 3" benchmarks/site/run.sh  some sizes only
#   BENCH_SITE_CACHE_SIZES="1"                     sizes that also time a no-op with the stock
#                                                  ansible.builtin.jsonfile fact cache and
#                                                  gathering=smart (one run fills the cache, the
#                                                  next is timed; default: none; not in the goals)
#   BENCH_SITE_HARDENING_RUNS=3                    1-host no-op re-runs of the hardening role alone
#                                                  (site.yml --tags hardening; 0 = none); median
#   BENCH_SITE_SETTLE_LOAD=1.5 BENCH_SITE_SETTLE_MAX=300
#                                                  wait after the first converge until the load
#                                                  average is below this (at most that long)
#   BENCH_SITE_NOOP_RUNS=3 BENCH_SITE_NOOP_PAUSE=20
#                                                  no-op re-runs per size (the first once the hosts
#                                                  settled, the others this many seconds apart); the
#                                                  figure of a size is their median, all are printed
#   BENCH_SITE_KEEP=1                              keep the hosts, inventories and logs (to
#                                                  re-run no-ops while tuning); remove the hosts
#                                                  later with tools/testbed.sh rm bench-site-...
#
# Hosts: systemd Debian 12 containers from tools/testbed.sh (bench-site-<N>-<i>, fixed addresses
# 172.30.100.100-109), reached with the demo's connection (benchmarks/testbed_connection.py reads
# inventories/demo/hosts.yml: SSH as the test bed's automation account, host keys checked,
# ControlPersist from ansible.cfg; become, as site.yml does). Variables:
# the demo's own group_vars (inventories/demo/group_vars, linked, not copied), so every size
# deploys the same stack as `make demo` with the local S3 (backups, integrity baselines); the
# generated inventory leaves prodready_demo_webhook_enabled off, so Alertmanager keeps its null
# receiver (no fault-drill webhook listens for these hosts).
# Goals (issue 23): no-op re-run of 1 host <= 25 s with 0 changed (median of the no-op runs);
# 6 hosts <= 2.2x the 1-host time with 0 changed; the hardening role alone on the converged 1-host
# fleet <= 10 s.
# Each size's hosts are removed once it is measured, and all of them on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO="$PWD"
export PATH="$REPO/.venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$REPO/collections" ANSIBLE_FORCE_COLOR=0
# The repo's ansible.cfg (forks 20, pipelining, ssh_args with ControlPersist) is read because we run
# from the checkout; nothing else is set, as for a user.
export ANSIBLE_CONFIG="$REPO/ansible.cfg"
unset ANSIBLE_PIPELINING ANSIBLE_CACHE_PLUGIN ANSIBLE_CACHE_PLUGIN_CONNECTION ANSIBLE_GATHERING ANSIBLE_CALLBACKS_ENABLED
SIZES="${BENCH_SITE_SIZES:-1 3 6}"
NOOP_RUNS="${BENCH_SITE_NOOP_RUNS:-3}"
NOOP_PAUSE="${BENCH_SITE_NOOP_PAUSE:-20}"
CACHE_SIZES="${BENCH_SITE_CACHE_SIZES-}"
HARDENING_RUNS="${BENCH_SITE_HARDENING_RUNS:-3}"
KEEP="${BENCH_SITE_KEEP:-0}"
IMAGE=12
WORK=$(mktemp -d /tmp/prodready-bench-site.XXXXXX)
all_hosts=()
cleanup() {
  summary
  if [ "$KEEP" = 1 ]; then
    echo "kept (BENCH_SITE_KEEP=1): hosts ${all_hosts[*]}; inventories, fact caches and logs in $WORK"
    return 0
  fi
  [ ${#all_hosts[@]} -eq 0 ] || tools/testbed.sh rm "${all_hosts[@]}"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

load() { cut -d' ' -f1-3 /proc/loadavg; }

# The summary of whatever was measured; also printed when a run is stopped part-way.
summary() {
  [ -s "$WORK/results.tsv" ] || return 0
  echo "== summary (wall time of ansible-playbook, stock settings unless fact_cache says otherwise)"
  awk -F'\t' 'BEGIN { printf "  %-6s %-16s %-10s %9s %8s %3s\n", "hosts", "run", "fact_cache", "seconds", "changed", "rc" }
    { printf "  %-6s %-16s %-10s %9s %8s %3s\n", $1, $2, $3, $4, $5, $6 }' "$WORK/results.tsv"
  # Per size and kind of run, the median of its runs with the stock settings (all listed); a size
  # counts as changed or failed when any of its runs was.
  awk -F'\t' '
    ($2 == "no-op" || $2 == "hardening no-op") && $3 == "none" {
      k = $2 SUBSEP $1; runs[k] = runs[k] (runs[k] == "" ? "" : " ") $4; count[k]++; value[k, count[k]] = $4
      if ($5 > changed[k]) changed[k] = $5
      if ($6 != 0) rc[k] = $6
    }
    function median(k,    i, j, t, a) {
      for (i = 1; i <= count[k]; i++) a[i] = value[k, i] + 0
      for (i = 2; i <= count[k]; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
      return count[k] % 2 ? a[(count[k] + 1) / 2] : (a[count[k] / 2] + a[count[k] / 2 + 1]) / 2
    }
    END {
      k1 = "no-op" SUBSEP 1
      if (k1 in count) {
        one = median(k1)
        met = (one <= 25 && changed[k1] == 0 && !(k1 in rc)) ? "met" : "NOT met"
        printf "  goal 1: 1-host no-op %.1f s (median of %s s), %d changed%s (<= 25 s, 0 changed): %s\n", one, runs[k1], changed[k1],
          (k1 in rc ? sprintf(", rc=%d", rc[k1]) : ""), met
        for (n = 3; n <= 6; n += 3) {
          k = "no-op" SUBSEP n
          if (!(k in count)) continue
          if (k in rc) { printf "  %d-host no-op failed (rc=%d): no valid figure\n", n, rc[k]; continue }
          printf "  %d-host no-op %.1f s (median of %s s) = %.2fx the 1-host time, %d changed%s\n", n, median(k), runs[k],
            median(k) / one, changed[k],
            (n == 6 ? ((median(k) <= 2.2 * one && changed[k] == 0) ? " (goal 2 <= 2.2x, 0 changed: met)" : " (goal 2 <= 2.2x, 0 changed: NOT met)") : "")
        }
        if (!(("no-op" SUBSEP 6) in count)) print "  goal 2 (6 hosts <= 2.2x the 1-host time): not measured in this run"
      } else print "  goals 1 and 2: no 1-host no-op in this run"
      kh = "hardening no-op" SUBSEP 1
      if (kh in count) {
        h = median(kh)
        printf "  goal 3: hardening alone (site.yml --tags hardening) on the converged host %.1f s (median of %s s), %d changed%s (<= 10 s): %s\n",
          h, runs[kh], changed[kh], (kh in rc ? sprintf(", rc=%d", rc[kh]) : ""),
          (h <= 10 && changed[kh] == 0 && !(kh in rc)) ? "met" : "NOT met"
      }
    }' "$WORK/results.tsv"
  echo "load average at the end: $(load)"
}

# Layout per size: "name groups ip" (groups comma-separated; backup = hosts with data = app).
layout() {
  case "$1" in
    1) echo "bench-site-1-1 web,app,monitoring,backup 172.30.100.100" ;;
    3) echo "bench-site-3-1 web,monitoring 172.30.100.101"
       echo "bench-site-3-2 app,backup 172.30.100.102"
       echo "bench-site-3-3 app,backup 172.30.100.103" ;;
    6) echo "bench-site-6-1 web 172.30.100.104"
       echo "bench-site-6-2 app,backup 172.30.100.105"
       echo "bench-site-6-3 app,backup 172.30.100.106"
       echo "bench-site-6-4 app,backup 172.30.100.107"
       echo "bench-site-6-5 monitoring 172.30.100.108"
       echo "bench-site-6-6 - 172.30.100.109" ;;  # plain host: the roles every host gets
    *) echo "no layout for size $1 (1, 3 or 6)" >&2; return 1 ;;
  esac
}

# The inventory sits two levels below $dir so the demo's compliance_report_dir
# ("{{ inventory_dir }}/../../reports/compliance") lands in the temp dir, not in the checkout.
write_inventory() {  # size, dir
  local size="$1" inv="$2/inventories/bench"
  mkdir -p "$inv"
  ln -s "$REPO/inventories/demo/group_vars" "$inv/group_vars"
  layout "$size" | "$REPO/.venv/bin/python" -c '
import json, sys, yaml
# The demo inventory connection variables (SSH, automation account, test bed known_hosts).
connection = json.loads(sys.argv[2])
groups = {g: {"hosts": {}} for g in ("web", "app", "monitoring", "backup")}
plain = {}
for line in sys.stdin:
    name, member_of, ip = line.split()
    host = {"testbed_ip": ip, "testbed_image": sys.argv[1]}
    names = [] if member_of == "-" else member_of.split(",")
    for group in names:
        # The address once per host, in its first group, as in inventories/demo-single.
        groups[group]["hosts"][name] = host if name not in plain else None
        plain[name] = None
    if not names:
        plain[name] = host
ungrouped = {n: h for n, h in plain.items() if h is not None}
children = {g: v for g, v in groups.items() if v["hosts"]}
if ungrouped:
    children["ungrouped"] = {"hosts": ungrouped}
inventory = {"all": {"vars": connection, "children": children}}
print("---")
print(yaml.safe_dump(inventory, sort_keys=False, default_flow_style=False), end="")
' "$IMAGE" "$("$REPO/.venv/bin/python" "$REPO/benchmarks/testbed_connection.py")" >"$inv/hosts.yml"
  echo "$inv/hosts.yml"
}

# Sum of changed= over the PLAY RECAP (as tools/demo.sh counts it).
changed_total() {
  awk '/PLAY RECAP/ {recap=1; next} recap && /changed=/ {sub(/.*changed=/, ""); sub(/ .*/, ""); total += $0} END {print total + 0}' "$1"
}

# "task name  [host]" for every changed result (default callback: a TASK / RUNNING HANDLER
# banner, then one "changed: [host]" line per host or loop item).
changed_tasks() {
  awk '/^(TASK|RUNNING HANDLER) \[/ {t = $0; sub(/^(TASK|RUNNING HANDLER) \[/, "", t); sub(/\] \*+ *$/, "", t)}
       /^changed: \[/ {print "    " t "  " $2}' "$1" | sort | uniq -c | sed 's/^ *\([0-9]*\) /  \1x/'
}

# ansible.posix.profile_roles' summary: seconds per role (tasks outside roles by action).
roles_recap() {
  awk '/ROLES RECAP/ {on=1; next} on && /^[^ =~].*-+ +[0-9.]+s$/ {print "    " $0}' "$1"
}

# (awk, not head: head closes the pipe early and, with pipefail and set -e, the SIGPIPE of sort
# ended the whole script after the 3-host run.)
# The slowest tasks of a run: profile_roles stamps every task banner with the previous task's
# duration, "(0:00:01.234)"; loop tasks count once with all their items.
slowest_tasks() {  # log, how many
  awk '/^(TASK|RUNNING HANDLER) \[/ {cur = $0; sub(/ \*+ *$/, "", cur)}
       /\(0:[0-9][0-9]:[0-9.]+\)/ {match($0, /\(0:[0-9][0-9]:[0-9.]+\)/); split(substr($0, RSTART + 1, RLENGTH - 2), d, ":")
                                  if (prev != "") printf "%8.2fs  %s\n", d[2] * 60 + d[3], prev; prev = cur}' "$1" |
    sort -rn | awk -v n="$2" 'NR <= n { print "  " $0 }'
}

# A fresh host keeps working after its first converge (first integrity check, first backup and
# restore test, package list refresh): a re-run is what an operator does on a settled fleet, so the
# no-op starts once the 1-minute load average is below BENCH_SITE_SETTLE_LOAD (at most
# BENCH_SITE_SETTLE_MAX seconds; the wait is printed and is not part of any figure).
SETTLE_LOAD="${BENCH_SITE_SETTLE_LOAD:-1.5}"
SETTLE_MAX="${BENCH_SITE_SETTLE_MAX:-300}"
settle() {
  local t0=$SECONDS
  while awk -v max="$SETTLE_LOAD" '{ exit !($1 > max) }' /proc/loadavg && [ $((SECONDS - t0)) -lt "$SETTLE_MAX" ]; do
    sleep 10
  done
  echo "  settled for $((SECONDS - t0)) s before the no-op (load average $(load); goal below $SETTLE_LOAD, at most $SETTLE_MAX s)"
}

# One timed ansible-playbook run; prints a BENCH line and returns the log path in $RUN_LOG.
RUN_LOG=""
run_site() {  # size, label, cache(none|jsonfile), inventory[, run number[, extra ansible-playbook args...]]
  local size="$1" label="$2" cache="$3" inv="$4" number="${5:-}" t0 t1 rc=0 changed seconds load0
  shift 5 2>/dev/null || shift $#
  RUN_LOG="$WORK/site-$size-${label// /_}-cache_$cache${number:+-$number}.log"
  # ansible.cfg's callbacks plus profile_roles for the per-role times (a summary at the end of the run).
  local env=("ANSIBLE_CALLBACKS_ENABLED=ansible.posix.timer,ansible.posix.profile_roles")
  if [ "$cache" = jsonfile ]; then
    # The stock file cache; smart gathering skips the preflight play's gathering for hosts in it.
    env+=(ANSIBLE_GATHERING=smart ANSIBLE_CACHE_PLUGIN=ansible.builtin.jsonfile
          ANSIBLE_CACHE_PLUGIN_CONNECTION="$WORK/facts-$size" ANSIBLE_CACHE_PLUGIN_TIMEOUT=86400)
  fi
  load0=$(load)
  t0=$(date +%s.%N)
  env "${env[@]}" ansible-playbook -i "$inv" site.yml "$@" >"$RUN_LOG" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  changed=$(changed_total "$RUN_LOG")
  printf 'BENCH site hosts=%s run=%-14s fact_cache=%-3s seconds=%7s changed=%s rc=%s load_before=%s load_after=%s\n' \
    "$size" "${label// /_}${number:+#$number}" "$cache" "$seconds" "$changed" "$rc" "${load0// /,}" "$(load | tr ' ' ',')"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$label" "$cache" "$seconds" "$changed" "$rc" >>"$WORK/results.tsv"
  if [ "$rc" != 0 ]; then
    echo "  ansible-playbook failed (rc=$rc); last lines of the log:"
    grep -E '^(fatal|failed):|^TASK \[' "$RUN_LOG" | tail -6 | sed 's/^/    /'
  fi
  if [ "$label" != "first converge" ] && [ "$changed" != 0 ]; then
    echo "  changed on the no-op re-run (count x task [host]):"
    changed_tasks "$RUN_LOG"
  fi
  return 0
}

echo "== site.yml at scale, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(load)"
echo "connection: ssh as the test bed's automation account with become (systemd Debian $IMAGE test containers; ssh_args from ansible.cfg)"
echo "variables: inventories/demo/group_vars (linked); inventories generated per size (layouts below)"
echo "Ansible settings: the repository's ansible.cfg as it is (ansible-config dump --only-changed), plus what each run adds:"
ansible-config dump --only-changed 2>/dev/null | grep -E '^(DEFAULT_FORKS|ANSIBLE_PIPELINING|DEFAULT_GATHERING|CACHE_PLUGIN|CALLBACKS_ENABLED|INTERPRETER_PYTHON|DEFAULT_STRATEGY)' | sed 's/^/  /' || true
echo "  every run: callbacks ansible.posix.timer (as ansible.cfg) and ansible.posix.profile_roles; no fact cache (fact_cache=none), strategy linear (default)"
echo "  runs marked fact_cache=jsonfile (BENCH_SITE_CACHE_SIZES, not in the goals) add: gathering=smart, ansible.builtin.jsonfile in a temp dir per size, timeout 86400"
echo "  ansible-core $(ansible --version | sed -n '1s/.*core \([0-9.]*\).*/\1/p'), community.docker $(ansible-galaxy collection list community.docker 2>/dev/null | awk '/community.docker/ {print $2; exit}')"
echo

tools/testbed.sh up >/dev/null
tools/localsvc.sh start all >/dev/null

for size in $SIZES; do
  dir="$WORK/n$size"
  inv=$(write_inventory "$size" "$dir")
  echo "== $size host(s): $(layout "$size" | awk '{printf "%s%s(%s)", sep, $1, ($2 == "-" ? "all only" : $2); sep = " "}')"
  size_hosts=()
  t0=$SECONDS
  while read -r name _ ip; do
    all_hosts+=("$name"); size_hosts+=("$name")
    tools/testbed.sh rm "$name"   # a left-over from an interrupted run would not be a first converge
    tools/testbed.sh host "$name" "$IMAGE" "$ip"
    # Same as tools/demo.sh: the local ACME's DNS knows the host (harmless with the internal CA).
    tools/localsvc.sh dns-add "$name" "$ip" >/dev/null
    tools/localsvc.sh dns-add "$name.prodready.test" "$ip" >/dev/null
  done < <(layout "$size")
  echo "  hosts up in $((SECONDS - t0)) s (not part of the figures below)"
  # As tools/demo.sh: each backup host's own S3 identity is registered at the local endpoint first
  # (test bed only; not part of the figures).
  ansible-playbook -i "$inv" tools/localsvc-identities.yml >"$dir/identities.log" 2>&1 \
    || { echo "  registering the S3 identities failed:"; tail -n 20 "$dir/identities.log"; exit 1; }
  run_site "$size" "first converge" none "$inv"
  settle
  for run in $(seq 1 "$NOOP_RUNS"); do
    [ "$run" = 1 ] || sleep "$NOOP_PAUSE"
    run_site "$size" no-op none "$inv" "$run"
  done
  echo "  seconds per role, last no-op re-run (ansible.posix.profile_roles; tasks outside roles by action):"
  roles_recap "$RUN_LOG"
  echo "  slowest tasks, last no-op re-run:"
  slowest_tasks "$RUN_LOG" 10
  if [ "$size" = 1 ] && [ "$HARDENING_RUNS" -gt 0 ]; then
    for run in $(seq 1 "$HARDENING_RUNS"); do
      run_site "$size" "hardening no-op" none "$inv" "$run" --tags hardening
    done
    echo "  seconds per role, last hardening-only re-run:"
    roles_recap "$RUN_LOG"
  fi
  if [[ " $CACHE_SIZES " == *" $size "* ]]; then
    run_site "$size" "cache fill" jsonfile "$inv"
    run_site "$size" no-op jsonfile "$inv"
    echo "  seconds per role, no-op re-run with the jsonfile fact cache:"
    roles_recap "$RUN_LOG"
  fi
  [ "$KEEP" = 1 ] || tools/testbed.sh rm "${size_hosts[@]}"
  echo
done

