#!/usr/bin/env bash
# site.yml at scale (issue 10): wall time of the first converge and of the no-op re-run of
# site.yml on 1, 3 and 6 fresh test hosts, the changed count of each run, the Ansible settings
# in effect, and where the no-op time goes per role.
#
#   benchmarks/site/run.sh                         sizes 1 3 6
#   BENCH_SITE_SIZES="1 3" benchmarks/site/run.sh  some sizes only
#   BENCH_SITE_NOCACHE_SIZES="1"                   sizes that also time a no-op without fact
#                                                  caching (default: 1; "" = none)
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
# 172.30.100.100-109), reached with the demo's connection, community.docker.docker. Variables:
# the demo's own group_vars (inventories/demo/group_vars, linked, not copied), so every size
# deploys the same stack as `make demo` with the local S3 (backups, integrity baselines); the
# generated inventory leaves prodready_demo_webhook_enabled off, so Alertmanager keeps its null
# receiver (no fault-drill webhook listens for these hosts).
# Goals (issue 10): no-op re-run of 1 host <= 60 s with 0 changed; 6 hosts <= 2x the 1-host time.
# Each size's hosts are removed once it is measured, and all of them on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO="$PWD"
export PATH="$REPO/.venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$REPO/collections" ANSIBLE_FORCE_COLOR=0
# The repo's ansible.cfg (forks 20, pipelining) is read because we run from the checkout.
export ANSIBLE_CONFIG="$REPO/ansible.cfg"
# Its `pipelining = true` sits in [ssh_connection], an option of the ssh plugin only;
# community.docker.docker has no such option and falls back to the global setting (off).
# Turn the global one on so these runs pipeline as SSH runs with the repo's ansible.cfg do.
export ANSIBLE_PIPELINING=true
SIZES="${BENCH_SITE_SIZES:-1 3 6}"
NOOP_RUNS="${BENCH_SITE_NOOP_RUNS:-3}"
NOOP_PAUSE="${BENCH_SITE_NOOP_PAUSE:-20}"
NOCACHE_SIZES="${BENCH_SITE_NOCACHE_SIZES-1}"
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
  echo "== summary (wall time of ansible-playbook; goals: 1-host no-op <= 60 s with 0 changed, 6-host no-op <= 2x 1-host)"
  awk -F'\t' 'BEGIN { printf "  %-6s %-15s %-10s %9s %8s %3s\n", "hosts", "run", "fact_cache", "seconds", "changed", "rc" }
    { printf "  %-6s %-15s %-10s %9s %8s %3s\n", $1, $2, $3, $4, $5, $6 }' "$WORK/results.tsv"
  # Per size, the median of its no-op runs with fact caching (all listed); a size counts as
  # changed or failed when any of its runs was.
  awk -F'\t' '
    $2 == "no-op" && $3 == "on" {
      n = $1; runs[n] = runs[n] (runs[n] == "" ? "" : " ") $4; count[n]++; value[n, count[n]] = $4
      if ($5 > changed[n]) changed[n] = $5
      if ($6 != 0) rc[n] = $6
    }
    function median(n,    i, j, t, a) {
      for (i = 1; i <= count[n]; i++) a[i] = value[n, i] + 0
      for (i = 2; i <= count[n]; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
      return count[n] % 2 ? a[(count[n] + 1) / 2] : (a[count[n] / 2] + a[count[n] / 2 + 1]) / 2
    }
    END {
      if (1 in count) {
        one = median(1)
        met = (one <= 60 && changed[1] == 0 && !(1 in rc)) ? "met" : "NOT met"
        printf "  goal 1: 1-host no-op %.1f s (median of %s s), %d changed (<= 60 s, 0 changed): %s\n", one, runs[1], changed[1], met
        for (n = 3; n <= 6; n += 3) if (n in count)
          if (n in rc) printf "  %d-host no-op failed (rc=%d): no valid figure\n", n, rc[n]
          else printf "  %d-host no-op %.1f s (median of %s s) = %.2fx the 1-host time, %d changed%s\n", n, median(n), runs[n],
            median(n) / one, changed[n],
            (n == 6 ? ((median(6) <= 2 * one && changed[6] == 0) ? " (goal <= 2x: met)" : " (goal <= 2x: NOT met)") : "")
        if (!(6 in count)) print "  goal 2 (6 hosts <= 2x): not measured in this run"
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
import sys, yaml
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
inventory = {"all": {"vars": {"ansible_connection": "community.docker.docker"}, "children": children}}
print("---")
print(yaml.safe_dump(inventory, sort_keys=False, default_flow_style=False), end="")
' "$IMAGE" >"$inv/hosts.yml"
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
run_site() {  # size, label, cache(on|off), inventory[, run number]
  local size="$1" label="$2" cache="$3" inv="$4" t0 t1 rc=0 changed seconds load0
  RUN_LOG="$WORK/site-$size-${label// /_}-cache_$cache${5:+-$5}.log"
  local env=("ANSIBLE_CALLBACKS_ENABLED=ansible.posix.timer,ansible.posix.profile_roles,prodready.platform.gc_freeze")
  if [ "$cache" = on ]; then
    # smart gathering: the preflight play's gather_facts is skipped for hosts already in the cache.
    # prodready.platform.jsonfile: ansible.builtin.jsonfile's files, decoded once per run (plugins/cache).
    env+=(ANSIBLE_GATHERING=smart ANSIBLE_CACHE_PLUGIN=prodready.platform.jsonfile
          ANSIBLE_CACHE_PLUGIN_CONNECTION="$WORK/facts-$size" ANSIBLE_CACHE_PLUGIN_TIMEOUT=86400)
  fi
  load0=$(load)
  t0=$(date +%s.%N)
  env "${env[@]}" ansible-playbook -i "$inv" site.yml >"$RUN_LOG" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  changed=$(changed_total "$RUN_LOG")
  printf 'BENCH site hosts=%s run=%-14s fact_cache=%-3s seconds=%7s changed=%s rc=%s load_before=%s load_after=%s\n' \
    "$size" "${label// /_}${5:+#$5}" "$cache" "$seconds" "$changed" "$rc" "${load0// /,}" "$(load | tr ' ' ',')"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$label" "$cache" "$seconds" "$changed" "$rc" >>"$WORK/results.tsv"
  if [ "$rc" != 0 ]; then
    echo "  ansible-playbook failed (rc=$rc); last lines of the log:"
    grep -E '^(fatal|failed):|^TASK \[' "$RUN_LOG" | tail -6 | sed 's/^/    /'
  fi
  if [ "$label" = no-op ] && [ "$changed" != 0 ]; then
    echo "  changed on the no-op re-run (count x task [host]):"
    changed_tasks "$RUN_LOG"
  fi
  return 0
}

echo "== site.yml at scale, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(load)"
echo "connection: community.docker.docker (docker exec into systemd Debian $IMAGE test containers; no SSH)"
echo "variables: inventories/demo/group_vars (linked); inventories generated per size (layouts below)"
echo "Ansible settings (ansible-config dump --only-changed, plus what each run adds):"
ansible-config dump --only-changed 2>/dev/null | grep -E '^(DEFAULT_FORKS|ANSIBLE_PIPELINING|DEFAULT_GATHERING|CACHE_PLUGIN|CALLBACKS_ENABLED|INTERPRETER_PYTHON|DEFAULT_STRATEGY)' | sed 's/^/  /' || true
echo "  (ANSIBLE_PIPELINING from the environment: ansible.cfg's [ssh_connection] pipelining applies to the ssh plugin only, not to community.docker.docker)"
echo "  runs marked fact_cache=on add: gathering=smart, fact_caching=prodready.platform.jsonfile (a temp dir per size, filled by the first converge), timeout 86400"
echo "  every run adds callbacks ansible.posix.timer, ansible.posix.profile_roles, prodready.platform.gc_freeze (as ansible.cfg); strategy linear (default)"
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
  run_site "$size" "first converge" on "$inv"
  settle
  for run in $(seq 1 "$NOOP_RUNS"); do
    [ "$run" = 1 ] || sleep "$NOOP_PAUSE"
    run_site "$size" no-op on "$inv" "$run"
  done
  echo "  seconds per role, last no-op re-run (ansible.posix.profile_roles; tasks outside roles by action):"
  roles_recap "$RUN_LOG"
  echo "  slowest tasks, last no-op re-run:"
  slowest_tasks "$RUN_LOG" 10
  if [[ " $NOCACHE_SIZES " == *" $size "* ]]; then
    run_site "$size" no-op off "$inv"
    echo "  seconds per role, no-op re-run without fact caching:"
    roles_recap "$RUN_LOG"
  fi
  [ "$KEEP" = 1 ] || tools/testbed.sh rm "${size_hosts[@]}"
  echo
done

