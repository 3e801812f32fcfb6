#!/usr/bin/env bash
# Audit time of the whole compliance catalog (prodready.platform.compliance_audit, one module call)
# beside `lynis audit system --quick` on the same systemd test host.
#
#   benchmarks/compliance/run.sh                      # starts test host compliance-bench (Debian 12)
#   BENCH_HOST=compliance-deb12 benchmarks/compliance/run.sh   # reuse a running (e.g. Molecule) host
#
# A host the script creates is converged first (converge.yml: hardening + compliance, as site.yml
# does for every host; not timed), so the catalog is timed on the state it is written for.
# BENCH_CONVERGE=1 converges a reused host too, BENCH_CONVERGE=0 skips it.
#
# Env: BENCH_HOST (container name), BENCH_IMAGE_TAG (12|13), BENCH_IP (only when the host is
# created; default 172.30.100.219), BENCH_RUNS (audit repetitions, default 3), BENCH_KEEP=1 keeps
# a host this script created.
set -euo pipefail
REPO_DIR="$(cd "$(dirname "$0")/../.." && pwd)"
export PATH="$REPO_DIR/.venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$REPO_DIR/collections"
export ANSIBLE_STDOUT_CALLBACK=ansible.builtin.default ANSIBLE_PIPELINING=true
export ANSIBLE_ROLES_PATH="$REPO_DIR/roles"
HOST="${BENCH_HOST:-compliance-bench}"
created=0
if ! docker container inspect "$HOST" >/dev/null 2>&1; then
  "$REPO_DIR/tools/testbed.sh" up >/dev/null
  "$REPO_DIR/tools/testbed.sh" host "$HOST" "${BENCH_IMAGE_TAG:-12}" "${BENCH_IP:-172.30.100.219}"
  created=1
fi
WORK=$(mktemp -d /tmp/prodready-bench-compliance.XXXXXX)
cleanup() {
  if [ "$created" = 1 ] && [ "${BENCH_KEEP:-0}" != 1 ]; then "$REPO_DIR/tools/testbed.sh" rm "$HOST"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
out="$WORK/ansible.log"
# Reached as the demo reaches its hosts (benchmarks/testbed_connection.py: SSH as the test bed's
# automation account, host key from the test bed's known_hosts; the plays become root). The audit
# accepts that account's passwordless sudo (ACC-017), as the demo's group_vars do.
{
  echo "all:"
  echo "  vars: $(python "$REPO_DIR/benchmarks/testbed_connection.py")"
  echo "  hosts:"
  echo "    $HOST:"
  echo "      compliance_audit_parameters: {sudo_nopasswd_allow: [prodready-ansible]}"
} >"$WORK/hosts.yml"
if [ "${BENCH_CONVERGE:-$created}" = 1 ]; then
  ssh-keygen -q -t ed25519 -N '' -f "$WORK/operator" >/dev/null
  echo "converging $HOST (hardening + compliance; not timed)..." >&2
  ansible-playbook -i "$WORK/hosts.yml" -e "bench_operator_pubkey='$(cat "$WORK/operator.pub")'" \
    "$REPO_DIR/benchmarks/compliance/converge.yml" >"$out" 2>&1 || { tail -60 "$out"; exit 1; }
fi
ansible-playbook -i "$WORK/hosts.yml" -e "bench_runs=${BENCH_RUNS:-3}" \
  "$REPO_DIR/benchmarks/compliance/bench.yml" >"$out" 2>&1 || { tail -40 "$out"; exit 1; }
grep -oE '"BENCH [^"]*"' "$out" | sed -E 's/^"BENCH //; s/"$//'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
