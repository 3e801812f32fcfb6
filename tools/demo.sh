#!/usr/bin/env bash
# `make demo`: test bed + local S3/ACME + the demo hosts from the inventory, then site.yml,
# then a status report read from the hosts. Safe to run again (converges, 0 changed).
#
#   tools/demo.sh               the demo
#   tools/demo.sh rebaseline    `make demo-rebaseline`: accept the integrity violations the demo
#                               hosts report (playbooks/integrity_rebaseline.yml on those hosts)
#
# A re-run after the roles changed (an upgrade of the collection) deploys new files, and the
# integrity monitor reports them as violations, by design: only the rebaseline playbook accepts
# a change. The summary names the hosts and the command; DEMO_REBASELINE=1 runs it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
INVENTORY="${DEMO_INVENTORY:-inventories/demo}"
export ANSIBLE_COLLECTIONS_PATH="$PWD/collections"
BIN="$PWD/.venv/bin"
LOG_DIR=".cache/demo"
mkdir -p "$LOG_DIR"
REBASELINE_CMD=".venv/bin/ansible-playbook -i $INVENTORY playbooks/integrity_rebaseline.yml"

# status.yml (what runs where, read from the hosts); prints the hosts with integrity
# violations, comma-separated, on stdout (nothing when there are none).
status_and_violations() {
  local report="$LOG_DIR/integrity-violations.json"
  rm -f "$report"
  tools/stage.sh status "$BIN/ansible-playbook" -i "$INVENTORY" playbooks/status.yml \
    -e "status_integrity_json=$PWD/$report" -e "status_table_path=$PWD/$LOG_DIR/status.txt" >&2
  "$BIN/python" -c 'import json, sys; print(",".join(h for h, n in sorted(json.load(open(sys.argv[1])).items()) if n > 0))' "$report"
}

rebaseline() {  # hosts (comma-separated): show the drift, re-sign, replace the off-host copies
  tools/stage.sh integrity-rebaseline "$BIN/ansible-playbook" -i "$INVENTORY" playbooks/integrity_rebaseline.yml --limit "$1"
}

if [ "${1:-}" = rebaseline ]; then
  violating=$(status_and_violations)
  if [ -z "$violating" ]; then
    echo "integrity: no violations on the demo hosts, nothing to accept"
    exit 0
  fi
  rebaseline "$violating"
  violating=$(status_and_violations)
  [ -z "$violating" ] || { echo "integrity: still violations on $violating after the rebaseline (see the status above)" >&2; exit 1; }
  echo "integrity: baselines accepted, no violations left"
  exit 0
fi
[ $# -eq 0 ] || { echo "usage: $0 [rebaseline]" >&2; exit 2; }

tools/stage.sh local-services tools/localsvc.sh start all

# Each inventory host carries testbed_image / testbed_ip: create (or keep) its container.
hosts=$("$BIN/ansible-inventory" -i "$INVENTORY" --list | "$BIN/python" -c '
import json, sys
data = json.load(sys.stdin)
for name, hostvars in sorted(data.get("_meta", {}).get("hostvars", {}).items()):
    if "testbed_ip" in hostvars:
        print(name, hostvars.get("testbed_image", "12"), hostvars["testbed_ip"])
')
[ -n "$hosts" ] || { echo "no host in $INVENTORY has testbed_ip: nothing to create" >&2; exit 1; }
start=$(date +%s)
while read -r name image ip; do
  tools/testbed.sh host "$name" "$image" "$ip"
  # pebble's test DNS resolves the demo names, so ACME HTTP-01 reaches the host.
  tools/localsvc.sh dns-add "$name" "$ip"
  tools/localsvc.sh dns-add "$name.prodready.test" "$ip"
done <<<"$hosts"
echo "demo hosts up in $(( $(date +%s) - start )) s"
# Each backup host gets its own S3 identity at the local endpoint (the policy AWS IAM would get).
tools/stage.sh backup-identities "$BIN/ansible-playbook" -i "$INVENTORY" tools/localsvc-identities.yml

run_log="$LOG_DIR/site-$(date +%Y%m%dT%H%M%S).log"
# pipefail: a failed site.yml must fail the demo, not hide behind tee's exit status.
tools/stage.sh site.yml bash -o pipefail -c "'$BIN/ansible-playbook' -i '$INVENTORY' site.yml 2>&1 | tee '$run_log'"
changed=$(awk '/PLAY RECAP/ {recap=1; next} recap && /changed=/ {sub(/.*changed=/, ""); sub(/ .*/, ""); total += $0} END {print total + 0}' "$run_log")
echo "site.yml: $changed changed (log: $run_log)"

# A first backup (with its restore test) now rather than at the timer's first tick, then the
# audit, so the status below shows real backup, integrity and compliance results.
tools/stage.sh backup-now "$BIN/ansible-playbook" -i "$INVENTORY" playbooks/backup.yml -e backup_run_restore_test=true
tools/stage.sh audit "$BIN/ansible-playbook" -i "$INVENTORY" playbooks/audit.yml
violating=$(status_and_violations)
if [ -n "$violating" ] && [ "${DEMO_REBASELINE:-0}" = 1 ]; then
  echo "integrity: violations on $violating; DEMO_REBASELINE=1: accepting them"
  rebaseline "$violating"
  violating=$(status_and_violations)
fi
# Where the audit wrote its reports: the inventory's compliance_report_dir (each example has its own,
# reports/compliance/<system>/), asked from Ansible (debug runs on the controller, no connection).
report_dir=$("$BIN/ansible" -i "$INVENTORY" 'all[0]' -o -m ansible.builtin.debug \
  -a 'msg={{ (compliance_report_dir | realpath) if compliance_report_dir is defined else "" }}' 2>/dev/null \
  | "$BIN/python" -c 'import json, sys; print(json.loads(sys.stdin.read().split("=> ", 1)[1])["msg"])') || report_dir=""
if [ -n "$report_dir" ] && [ -d "$report_dir" ]; then
  echo "compliance reports: $report_dir/ (<host>.html, .json, .md)"
else
  echo "compliance reports: ${report_dir:-none (the inventory sets no compliance_report_dir)} (not written)"
fi
echo "site.yml on this run: $changed changed (a second 'make demo' converges with 0 changed)"
if [ -n "$violating" ]; then
  cat <<EOF
integrity: violations on ${violating//,/, }. After an upgrade of the collection these are the files
  the new version deployed (expected: only the rebaseline playbook accepts a change). Review what
  would be accepted, then accept it (re-signs the baselines, replaces the off-host copies):
    $REBASELINE_CMD --limit $violating --check --diff
    $REBASELINE_CMD --limit $violating
  or: make demo-rebaseline (the same for every demo host with violations), or DEMO_REBASELINE=1 make demo.
  A change you cannot name is an incident: docs/runbooks/integrity-alert.md.
EOF
else
  echo "integrity: no violations on the demo hosts"
fi
# Last, so it is what a newcomer sees: one row per host and the URLs to open (playbooks/status.yml).
echo
cat "$LOG_DIR/status.txt"
