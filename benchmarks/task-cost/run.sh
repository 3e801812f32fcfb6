#!/usr/bin/env bash
# What one task costs per host, by kind, on the test bed: the CPU time the whole machine spends
# (controller, SSH and sudo, the test host's processes) per task and host, and the wall time per
# task, for a skipped task, a set_fact, a module run, a probe through ansible.builtin.script and
# the same probe through ansible.builtin.raw (how the roles run their probes). These figures
# explain benchmarks/site: a converged no-op is a sum of such tasks.
#
#   benchmarks/task-cost/run.sh            6 hosts, 20 tasks of each kind
#   BENCH_COST_HOSTS=1 BENCH_COST_TASKS=40 benchmarks/task-cost/run.sh
#
# Hosts: plain systemd Debian 12 containers from tools/testbed.sh (bench-cost-<i>, fixed
# addresses 172.30.100.110-115), reached as in benchmarks/site (benchmarks/testbed_connection.py:
# SSH as the test bed's automation account, plays with become, ControlPersist from ansible.cfg) and
# pipelining on; removed on exit. Inventory without group_vars, so the controller's per-task
# variable work is smaller than in site.yml runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO="$PWD"
export PATH="$REPO/.venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$REPO/collections" ANSIBLE_FORCE_COLOR=0
export ANSIBLE_CONFIG="$REPO/ansible.cfg" ANSIBLE_PIPELINING=true
HOSTS="${BENCH_COST_HOSTS:-6}"
TASKS="${BENCH_COST_TASKS:-20}"
if [ "$HOSTS" -lt 1 ] || [ "$HOSTS" -gt 6 ]; then echo "BENCH_COST_HOSTS must be 1 to 6" >&2; exit 2; fi
WORK=$(mktemp -d /tmp/prodready-bench-cost.XXXXXX)
names=()
cleanup() {
  [ ${#names[@]} -eq 0 ] || tools/testbed.sh rm "${names[@]}" >/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tools/testbed.sh up >/dev/null
for i in $(seq 1 "$HOSTS"); do
  names+=("bench-cost-$i")
  tools/testbed.sh host "bench-cost-$i" 12 "172.30.100.$((109 + i))" >/dev/null
done
{
  echo "all:"
  echo "  vars: $(python benchmarks/testbed_connection.py)"
  echo "  hosts:"
  for n in "${names[@]}"; do echo "    $n: {}"; done
} >"$WORK/hosts.yml"

# A probe like the roles' (files/probe.py): reads a few things, prints one JSON object.
cat >"$WORK/probe.py" <<'PROBE'
import json, os, subprocess, sys
request = json.loads(sys.argv[1])
states = {p: os.path.exists(p) for p in request["paths"]}
units = subprocess.run(["systemctl", "show", "--property=ActiveState", "--", *request["units"]],
                       stdout=subprocess.PIPE, universal_newlines=True, check=False).stdout
print(json.dumps({"paths": states, "units": units}))
PROBE

# kind name -> task body (the keys next to "name:", nested keys indented by two)
declare -A BODY=(
  [skipped]="ansible.builtin.debug: {msg: never}
when: false"
  [set_fact]="ansible.builtin.set_fact:
  cost_value: \"{{ [1, 2, 3] | sum }}\""
  [module]="ansible.builtin.command: {cmd: 'true'}
changed_when: false"
  [script]="ansible.builtin.script:
  cmd: \"probe.py {{ cost_request | to_json | quote }}\"
  executable: /usr/bin/python3
changed_when: false"
  [raw]="ansible.builtin.raw: \"/usr/bin/python3 -c {{ lookup('ansible.builtin.file', 'probe.py', rstrip=false) | quote }} {{ cost_request | to_json | quote }}\"
changed_when: false
check_mode: false"
)
KINDS="skipped set_fact module script raw"
for kind in $KINDS; do
  {
    echo "- name: $kind x $TASKS"
    echo "  hosts: all"
    echo "  become: true"
    echo "  gather_facts: false"
    echo "  vars:"
    echo "    cost_request: {paths: [/etc/hostname, /etc/ssh/sshd_config], units: [systemd-journald.service]}"
    echo "  tasks:"
    for t in $(seq 1 "$TASKS"); do
      echo "    - name: $kind $t"
      printf '%s\n' "${BODY[$kind]}" | sed 's/^/      /'
    done
  } >"$WORK/$kind.yml"
done

busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
echo "== task cost, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $HOSTS host(s), $TASKS tasks per kind, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-9s %9s %12s %24s\n' kind wall_s "wall/task" "CPU per task and host"
# A warm-up run loads the plugins' caches (AnsiballZ payloads) so every kind starts warm.
ansible-playbook -i "$WORK/hosts.yml" "$WORK/module.yml" >/dev/null
for kind in $KINDS; do
  b0=$(busy); t0=$(date +%s.%N)
  if ! ansible-playbook -i "$WORK/hosts.yml" "$WORK/$kind.yml" >"$WORK/$kind.log" 2>&1; then
    echo "  $kind: ansible-playbook failed:"; tail -20 "$WORK/$kind.log"; exit 1
  fi
  t1=$(date +%s.%N); b1=$(busy)
  awk -v k="$kind" -v w="$(echo "$t1 - $t0" | bc)" -v b="$((b1 - b0))" -v n="$TASKS" -v h="$HOSTS" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "  %-9s %9.2f %10.0f ms %21.0f ms\n", k, w, 1000 * w / n, 1000 * b / hz / n / h }'
done
echo "  (CPU = busy time of all cores, from /proc/stat, divided by tasks x hosts; includes each"
echo "   ansible-playbook start, about 1 s, spread over the tasks)"
