#!/usr/bin/env bash
# The logistics-api example's acceptance check, on a converged `make demo EXAMPLE=logistics-api`
# (inventories/examples/logistics-api/README.md, "Checking it"):
#
#   tools/example-logistics-check.sh                 both checks below
#   tools/example-logistics-check.sh rate-limit      the limited path answers 429 from the 101st request
#   tools/example-logistics-check.sh rolling-deploy  two rolling deploys under load, 0 failed requests
#
# rate-limit: tools/rate_limit_probe.py runs on the web host (over SSH, as the test bed's automation
# account) and sends 110 GETs to https://<web>/api/records from a loopback address no earlier run
# used, so nginx's per-address bucket starts empty: requests 1..100 must answer 2xx and 101..110
# 429, within 8 s (one request drips back into the bucket every 60/7 s). Then the same client sends
# 110 GETs to / (not limited): all 2xx.
# rolling-deploy: benchmarks/service/load_loop.py sends requests from this machine to the front
# (4 workers on /: the API's /api/ is rate-limited, and /health through the front is the health of
# whichever replica answers, 503 from one that drains, by design) while playbooks/deploy.yml rolls the app hosts to CHECK_VERSION
# (default 2.0.0), then again while it rolls them back to the inventory's service_version, so the
# example ends as site.yml leaves it. Each deploy must end rc 0 with 0 failed requests and the new
# version served; the requests sent are counted.
#
# Bounded: the probe stops after its count or 60 s; each load loop after 200000 requests, its
# deploy is killed after 900 s. Traffic goes to the web host's loopback and the test-bed address
# of the front only. Output and logs: .cache/example-check/.
set -euo pipefail
cd "$(dirname "$0")/.."
INVENTORY=inventories/examples/logistics-api
WEB=logi-web1
CHECK_VERSION="${CHECK_VERSION:-2.0.0}"
BIN="$PWD/.venv/bin"
export ANSIBLE_COLLECTIONS_PATH="$PWD/collections"
SSH_DIR="${TESTBED_CACHE:-/var/cache/prodready-testbed}/ssh"
LOG_DIR=.cache/example-check
mkdir -p "$LOG_DIR"
what="${1:-all}"
case "$what" in
  all | rate-limit | rolling-deploy) ;;
  *) echo "usage: $0 [all|rate-limit|rolling-deploy]" >&2; exit 2 ;;
esac

# A variable as a host of the inventory sees it, templated (the debug module runs on the controller).
host_var() {  # host variable
  "$BIN/ansible" -i "$INVENTORY" "$1" -m ansible.builtin.debug -a "var=$2" -o 2>/dev/null \
    | "$BIN/python" -c 'import json, sys; text = sys.stdin.read(); print(json.loads(text.split("=>", 1)[1])[sys.argv[1]])' "$2"
}

# A field of a JSON line (the file's last line): a dotted path; lists and objects print as JSON, a
# missing field as "none". `versions.<v>` sums the answers of version <v> over the URLs,
# `versions_except.<v>` those of every other version.
field() {  # file path
  "$BIN/python" - "$1" "$2" <<'PY'
import json, sys
data = json.loads(open(sys.argv[1], encoding="utf-8").read().splitlines()[-1])
head, _, rest = sys.argv[2].partition(".")
if head == "versions":
    value = sum(counts.get(rest, 0) for counts in data["versions"].values())
elif head == "versions_except":
    value = sum(n for counts in data["versions"].values() for version, n in counts.items() if version != rest)
else:
    value = data
    for key in sys.argv[2].split("."):
        value = value.get(key) if isinstance(value, dict) else None
print("none" if value is None else json.dumps(value) if isinstance(value, (list, dict)) else value)
PY
}

on_web() {  # command... (the probe's source on stdin)
  ssh -F "$SSH_DIR/config" -i "$SSH_DIR/id_ed25519" -o UserKnownHostsFile="$SSH_DIR/known_hosts" \
    -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR "prodready-ansible@$WEB" "$@"
}

failed=0
summary=()

rate_limit() {
  local limited="$LOG_DIR/rate-limit.json" open="$LOG_DIR/rate-limit-open-path.json" rc=0 source
  on_web timeout 90 python3 - --url "https://$WEB/api/records?limit=1" --connect 127.0.0.1 \
    --count 110 --expect-allowed 100 --within 8 <tools/rate_limit_probe.py >"$limited" || rc=$?
  cat "$limited"
  if [ "$rc" -ne 0 ]; then
    summary+=("rate limit: FAILED (rc $rc): $(field "$limited" verdict)")
    failed=1
    return
  fi
  source=$(field "$limited" source)
  rc=0
  on_web timeout 90 python3 - --url "https://$WEB/" --connect 127.0.0.1 --source "$source" \
    --count 110 --expect-allowed 110 <tools/rate_limit_probe.py >"$open" || rc=$?
  cat "$open"
  summary+=("rate limit on /api/ from $source: $(field "$limited" verdict) in $(field "$limited" seconds) s")
  if [ "$rc" -ne 0 ]; then
    summary+=("unlimited path / from the same client: FAILED (rc $rc): $(field "$open" verdict)")
    failed=1
  else
    summary+=("unlimited path / from the same client: $(field "$open" statuses)")
  fi
}

deploy_under_load() {  # version cafile web_address
  local version="$1" result="$LOG_DIR/deploy-$1.json" rc=0
  "$BIN/python" benchmarks/service/load_loop.py --connect "$3" --cafile "$2" \
    --url "https://$WEB/" --workers 4 --pause 0.02 --warmup 30 --after 2 \
    --max-requests 200000 --command-timeout 900 --log "$LOG_DIR/deploy-$version.log" \
    -- "$BIN/ansible-playbook" -i "$INVENTORY" playbooks/deploy.yml -e "service_version=$version" \
    | tail -n 1 >"$result" || rc=$?
  cat "$result"
  local requests errors command_rc served before
  requests=$(field "$result" requests)
  errors=$(field "$result" errors)
  command_rc=$(field "$result" command.rc)
  served=$(field "$result" "versions.$version")
  before=$(field "$result" "versions_except.$version")
  # Both versions answered: the replicas really changed release while the load ran.
  if [ "$rc" -eq 0 ] && [ "$errors" = 0 ] && [ "$command_rc" = 0 ] && [ "$served" -gt 0 ] && [ "$before" -gt 0 ]; then
    summary+=("rolling deploy to $version under load: $requests requests, 0 failed ($before answered by the release before, $served by $version), deploy $(field "$result" command.seconds) s")
  else
    summary+=("rolling deploy to $version under load: FAILED: $requests requests, $errors failed, deploy rc $command_rc, $before answered by the release before and $served by $version (both must be > 0; log: $LOG_DIR/deploy-$version.log)")
    failed=1
  fi
}

rolling_deploy() {
  local cafile web_address inventory_version
  cafile="$(host_var "$WEB" tls_internal_ca_dir)/ca.crt"
  web_address=$(host_var "$WEB" testbed_ip)
  inventory_version=$(host_var logi-app1 service_version)
  [ -r "$cafile" ] || { summary+=("rolling deploy: FAILED: no CA certificate at $cafile on this machine"); failed=1; return; }
  [ "$CHECK_VERSION" != "$inventory_version" ] || { echo "CHECK_VERSION must differ from the inventory's $inventory_version" >&2; exit 2; }
  deploy_under_load "$CHECK_VERSION" "$cafile" "$web_address"
  [ "$failed" -eq 0 ] || return 0
  deploy_under_load "$inventory_version" "$cafile" "$web_address"
}

[ "$what" = rolling-deploy ] || rate_limit
[ "$what" = rate-limit ] || rolling_deploy
echo
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "logistics-api check: FAILED" >&2
  exit 1
fi
echo "logistics-api check: passed"
