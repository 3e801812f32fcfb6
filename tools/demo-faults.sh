#!/usr/bin/env bash
# Fault drill against the running demo (`make demo`): breaks one thing at a time, checks that
# the matching alert reaches a webhook receiver, repairs it and checks that the resolved
# notification arrives too. Prints how long each took and a summary table.
#
#   tools/demo-faults.sh [nginx|app|s3|slo ...]   default: nginx app s3, in this order
#
#   nginx  systemctl stop nginx on demo-web1        -> NginxDown, and ServiceDown (HTTPS probe)
#                                                      when that probe succeeds before the fault
#   app    docker stop demo-app2 (the whole host)   -> InstanceDown (its service alerts are
#                                                      inhibited once InstanceDown fires)
#   s3     the local S3 endpoint stops answering    -> EndpointDown endpoint=s3
#   slo    systemctl stop prodready-demo on         -> SloErrorBudgetBurn slo=app severity=critical
#          demo-app2 (the app behind nginx)            (the page: its failed scrapes burn the
#                                                      error budget) and ServiceDown; opt-in, as
#                                                      the page resolves only when the outage has
#                                                      left the 30m window (about 30 minutes)
#
# The receiver listens on the gateway, where the demo's Alertmanager sends every alert
# (inventories/demo/group_vars/monitoring.yml, prodready_demo_webhook_enabled in
# inventories/demo/hosts.yml); it is the project's test receiver, tools/webhook_receiver.py
# (also used by the monitoring and integrity Molecule scenarios), writing into this run's directory.
# Every fault is repaired on exit, also when a check fails or the drill is interrupted.
#
# Environment:
#   DEMO_FAULTS_WEBHOOK_PORT  9099; must match prodready_demo_webhook_port in the inventory
#   DEMO_FAULTS_S3_MODE       auto (default), stop or block. stop: tools/localsvc.sh stop s3,
#                             then start s3. block: demo-mon1 rejects its own connections to
#                             the S3 port (the endpoint is down as monitoring sees it; nothing
#                             else loses S3). auto: stop, unless containers other than the
#                             demo's are on the test network (Molecule runs that may be using
#                             the shared S3), then block.
#   DEMO_FAULTS_MARGIN        seconds added to every computed timeout (default 45)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO_DIR="$PWD"

INVENTORY="${DEMO_INVENTORY:-inventories/demo}"
PY="$REPO_DIR/.venv/bin/python"
WEB_HOST=demo-web1
APP_HOST=demo-app2
MON_HOST=demo-mon1
GATEWAY="${TESTBED_GATEWAY:-172.30.100.1}"
TESTBED_NETWORK="${TESTBED_NETWORK:-prodready-testbed}"
WEBHOOK_PORT="${DEMO_FAULTS_WEBHOOK_PORT:-9099}"
S3_MODE="${DEMO_FAULTS_S3_MODE:-auto}"
MARGIN="${DEMO_FAULTS_MARGIN:-45}"
RECEIVER=tools/webhook_receiver.py
# nft table of the block mode: a table of its own, so the hardening role's ruleset is not touched.
BLOCK_TABLE=prodready_demo_faults

RUN_DIR="$REPO_DIR/.cache/demo-faults/$(date +%Y%m%dT%H%M%S)"
ALERT_LOG="$RUN_DIR/alerts.jsonl"
RECEIVER_PID=""
declare -A FAULT_ACTIVE=()
# Arrival time of each expected alert's firing notification, by "fault|alert".
declare -A FIRED_AT=()
SUMMARY=()

log() { printf '[demo-faults %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[demo-faults] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }

# --- the demo's monitoring APIs ---------------------------------------------------------------
# Prometheus and Alertmanager listen on the monitoring host's loopback only (the monitoring role's
# default: their APIs have no authentication), so they are asked from inside it.
mon_curl() { docker exec "$MON_HOST" curl -sf --max-time 10 "$@"; }

json_get() {
  # json_get URL PYTHON-EXPRESSION: evaluates the expression with `d` = the URL's JSON answer.
  mon_curl "$1" | "$PY" -c "import json, sys; d = json.load(sys.stdin); print($2)"
}

prom_count() {
  # Number of series a PromQL expression returns now.
  mon_curl -G "$PROM_URL/api/v1/query" --data-urlencode "query=$1" \
    | "$PY" -c 'import json, sys; print(len(json.load(sys.stdin)["data"]["result"]))'
}

read_timing() {
  # Prometheus' scrape/evaluation intervals and Alertmanager's grouping, from the live configs,
  # so the timeouts follow the inventory.
  local prom_yaml am_yaml
  prom_yaml=$(json_get "$PROM_URL/api/v1/status/config" 'd["data"]["yaml"]') || die "cannot read Prometheus' configuration from $PROM_URL"
  # Alertmanager listens on demo-mon1's loopback (the role's default): ask it from inside.
  am_yaml=$(mon_curl http://127.0.0.1:9093/api/v2/status \
    | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["config"]["original"])') \
    || die "cannot read Alertmanager's configuration on $MON_HOST (http://127.0.0.1:9093)"
  [[ "$am_yaml" == *"http://$GATEWAY:$WEBHOOK_PORT/"* ]] \
    || die "the demo's Alertmanager does not send to http://$GATEWAY:$WEBHOOK_PORT/. Fix: prodready_demo_webhook_enabled: true in $INVENTORY (inventories/demo has it), then ansible-playbook -i $INVENTORY site.yml --tags monitoring --limit $MON_HOST (and DEMO_FAULTS_WEBHOOK_PORT = prodready_demo_webhook_port)"
  read -r SCRAPE EVAL GROUP_WAIT GROUP_INTERVAL < <(
    PROM_YAML="$prom_yaml" AM_YAML="$am_yaml" "$PY" -c '
import os, re, yaml
def seconds(text):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    return int(sum(int(n) * units[u] for n, u in re.findall(r"([0-9]+)(ms|s|m|h|d|w|y)", str(text))))
prom = yaml.safe_load(os.environ["PROM_YAML"])["global"]
route = yaml.safe_load(os.environ["AM_YAML"])["route"]
print(seconds(prom["scrape_interval"]), seconds(prom["evaluation_interval"]),
      seconds(route.get("group_wait", "30s")), seconds(route.get("group_interval", "5m")))')
  log "timing: scrape ${SCRAPE}s, evaluation ${EVAL}s, group_wait ${GROUP_WAIT}s, group_interval ${GROUP_INTERVAL}s, margin ${MARGIN}s"
}

rule_for() {
  # The `for` duration (s) of an alert rule as Prometheus loaded it.
  json_get "$PROM_URL/api/v1/rules?type=alert" "next((int(r.get('duration', 0)) for g in d['data']['groups'] for r in g['rules'] if r['name'] == '$1'), -1)"
}

promql_selector() {
  # "NginxDown host=demo-web1" -> ALERTS{alertname="NginxDown",host="demo-web1"}
  local name="$1" selector pair; shift
  selector="alertname=\"$name\""
  for pair in "$@"; do selector+=",${pair%%=*}=\"${pair#*=}\""; done
  printf 'ALERTS{%s}' "$selector"
}

# --- the webhook receiver -----------------------------------------------------------------------
start_receiver() {
  mkdir -p "$RUN_DIR"
  : >"$ALERT_LOG"
  if ss -Hltn "( sport = :$WEBHOOK_PORT )" | grep -q .; then
    die "port $WEBHOOK_PORT is taken ($(ss -Hltnp "( sport = :$WEBHOOK_PORT )" | head -n1)). Fix: stop that process, or set DEMO_FAULTS_WEBHOOK_PORT and prodready_demo_webhook_port to a free port"
  fi
  "$PY" "$RECEIVER" --bind "$GATEWAY" --port "$WEBHOOK_PORT" --log "$ALERT_LOG" >"$RUN_DIR/receiver.log" 2>&1 &
  RECEIVER_PID=$!
  for _ in $(seq 1 50); do
    # Any HTTP answer (GET is 501 there) means it listens; a POST would be recorded as an alert.
    if curl -s -o /dev/null --max-time 2 "http://$GATEWAY:$WEBHOOK_PORT/"; then
      log "webhook receiver on http://$GATEWAY:$WEBHOOK_PORT/ (pid $RECEIVER_PID), notifications in $ALERT_LOG"
      return 0
    fi
    kill -0 "$RECEIVER_PID" 2>/dev/null || { cat "$RUN_DIR/receiver.log" >&2; die "the webhook receiver exited (log above)"; }
    sleep 0.2
  done
  die "the webhook receiver did not answer on http://$GATEWAY:$WEBHOOK_PORT/ within 10 s (log: $RUN_DIR/receiver.log)"
}

wait_notification() {
  # wait_notification STATUS SINCE TIMEOUT ALERTNAME [label=value ...]: waits until the receiver
  # has recorded, after SINCE (epoch s), a notification from demo-mon1's Alertmanager holding
  # that alert with that status (firing|resolved); prints its arrival time. 1 on timeout.
  local status="$1" since="$2" timeout="$3"; shift 3
  "$PY" - "$ALERT_LOG" "$MON_HOST" "$status" "$since" "$timeout" "$@" <<'PYTHON'
import json, sys, time
from urllib.parse import urlsplit
log, source, status, since, timeout, name = sys.argv[1:7]
since, timeout = float(since), float(timeout)
labels = dict(pair.split("=", 1) for pair in sys.argv[7:])
labels["alertname"] = name
deadline = time.time() + timeout
while True:
    with open(log) as handle:
        for line in handle:
            entry = json.loads(line)
            # Only the demo's Alertmanager counts: another test bed run with
            # prodready_demo_webhook_enabled would send to this receiver as well.
            if entry["received"] < since or urlsplit(entry["body"].get("externalURL", "")).hostname != source:
                continue
            for alert in entry["body"].get("alerts", []):
                if alert.get("status") == status and all(alert["labels"].get(k) == v for k, v in labels.items()):
                    print("%.3f" % entry["received"])
                    sys.exit(0)
    if time.time() > deadline:
        sys.exit(1)
    time.sleep(1)
PYTHON
}

others_seen() {
  # Alerts of other names/hosts the receiver recorded since SINCE (for the report).
  "$PY" - "$ALERT_LOG" "$1" <<'PYTHON'
import json, sys
from urllib.parse import urlsplit
seen = []
with open(sys.argv[1]) as handle:
    for line in handle:
        entry = json.loads(line)
        if entry["received"] >= float(sys.argv[2]):
            source = urlsplit(entry["body"].get("externalURL", "")).hostname
            for alert in entry["body"].get("alerts", []):
                item = "%s/%s %s (from %s)" % (alert["labels"].get("alertname"), alert["labels"].get("host"), alert.get("status"), source)
                if item not in seen:
                    seen.append(item)
print(", ".join(seen) or "none")
PYTHON
}

# --- faults: inject, repair and the alerts each must raise ------------------------------------
# Expected alerts: one "ALERTNAME label=value ..." per line.
nginx_expect() {
  echo "NginxDown host=$WEB_HOST"
  # The HTTPS probe only counts when it passes beforehand (it needs the internal CA on the
  # monitoring host: monitoring_blackbox_ca_from_host in the demo inventory).
  if [ "$(prom_count "probe_success{job=\"blackbox_https\",host=\"$WEB_HOST\"} == 1")" -gt 0 ]; then
    echo "ServiceDown host=$WEB_HOST job=blackbox_https"
  else
    log "nginx: the HTTPS probe of $WEB_HOST fails already (e.g. its CA is not trusted on $MON_HOST): not expecting its ServiceDown"
  fi
}
nginx_healthy() { echo "nginx_up{job=\"nginx\",host=\"$WEB_HOST\"} == 1"; }
nginx_inject() { docker exec "$WEB_HOST" systemctl stop nginx; }
nginx_repair() {
  docker exec "$WEB_HOST" systemctl start nginx
  docker exec "$WEB_HOST" systemctl is-active --quiet nginx || die "nginx on $WEB_HOST does not start again: docker exec $WEB_HOST journalctl -u nginx"
}

app_expect() { printf '%s\n' "InstanceDown host=$APP_HOST"; }
app_healthy() { echo "up{job=\"node\",host=\"$APP_HOST\"} == 1"; }
app_inject() { docker stop "$APP_HOST" >/dev/null; }
app_repair() {
  docker start "$APP_HOST" >/dev/null
  tools/testbed.sh wait "$APP_HOST"
  for _ in $(seq 1 60); do
    docker exec "$APP_HOST" systemctl is-active --quiet prodready-demo && return 0
    sleep 1
  done
  die "prodready-demo on $APP_HOST is not active 60 s after the host started: docker exec $APP_HOST systemctl status prodready-demo"
}

# slo: the app stops behind nginx (nginx sends its clients to demo-app1; the app's scrapes fail,
# the bad events of the SLO `app`, the role's default at 99.9 %). The page needs the fast pair's
# 1h window above 14.4x the budget: with N app instances, one of them down, that takes up to
# 14.4 * budget * 3600 s * N of outage (104 s for 2 at 99.9 %; less while the demo's history is
# shorter than an hour); the slow pair (6h and 30m above 6x) then holds the page until the
# outage has left the 30m window. An earlier outage (the `app` fault) may still hold it: the
# healthy check waits that long too. The ticket (warning) it also raises lasts for hours and is
# not checked.
SLO_PAGE="SloErrorBudgetBurn slo=app sli=availability severity=critical"
slo_expect() { printf '%s\n' "$SLO_PAGE" "ServiceDown host=$APP_HOST job=app"; }
slo_healthy() { echo "up{job=\"app\",host=\"$APP_HOST\"} == 1"; }
slo_inject() { docker exec "$APP_HOST" systemctl stop prodready-demo; }
slo_repair() {
  docker exec "$APP_HOST" systemctl start prodready-demo
  docker exec "$APP_HOST" systemctl is-active --quiet prodready-demo || die "prodready-demo on $APP_HOST does not start again: docker exec $APP_HOST journalctl -u prodready-demo"
}
slo_fire_extra() {
  local instances
  instances=$(prom_count 'up{job="app"}')
  # 14.4 * budget * 3600 s * N, the budget as the loaded page rule divides by it (`/ 0.001 > 14.4`).
  mon_curl "$PROM_URL/api/v1/rules?type=alert" | INSTANCES="$instances" "$PY" -c '
import json, math, os, re, sys
rule = next(r for g in json.load(sys.stdin)["data"]["groups"] for r in g["rules"] if r["name"] == "SloErrorBudgetBurn"
            and r["labels"].get("slo") == "app" and r["labels"].get("sli") == "availability" and r["labels"].get("severity") == "critical")
budget = float(re.search(r"/ *([0-9.e+-]+) *> *14[.]4", rule["query"]).group(1))
print(math.ceil(14.4 * budget * 3600 * int(os.environ["INSTANCES"])))'
}
slo_settle_extra() { echo 1800; }
slo_resolve_extra() { echo 1800; }

s3_expect() { printf '%s\n' "EndpointDown endpoint=s3"; }
s3_healthy() { echo "probe_success{job=\"blackbox_endpoint\",endpoint=\"s3\"} == 1"; }
s3_inject() {
  case "$S3_MODE" in
    stop) tools/localsvc.sh stop s3 ;;
    block)
      # reject (not drop): the probe fails at once instead of waiting for its timeout.
      docker exec -i "$MON_HOST" nft -f - <<NFT
table inet $BLOCK_TABLE {
  chain output {
    type filter hook output priority filter - 10; policy accept;
    ip daddr $S3_HOST tcp dport $S3_PORT reject with tcp reset
  }
}
NFT
      docker exec "$MON_HOST" nft list table inet "$BLOCK_TABLE" >/dev/null \
        || die "s3: the blocking nft table did not appear on $MON_HOST"
      ;;
  esac
}
s3_repair() {
  case "$S3_MODE" in
    stop) tools/localsvc.sh start s3 ;;
    block)
      if docker exec "$MON_HOST" nft list table inet "$BLOCK_TABLE" >/dev/null 2>&1; then
        docker exec "$MON_HOST" nft delete table inet "$BLOCK_TABLE"
      fi ;;
  esac
}

choose_s3_mode() {
  local endpoint others
  endpoint=$(tools/localsvc.sh env | sed -n 's/^export LOCALSVC_S3_ENDPOINT=//p')
  S3_HOST=$(echo "$endpoint" | sed -E 's#^https?://([^:/]+).*#\1#')
  S3_PORT=$(echo "$endpoint" | sed -E 's#^https?://[^:/]+:([0-9]+).*#\1#')
  if [ "$S3_MODE" = auto ]; then
    others=$(docker network inspect "$TESTBED_NETWORK" -f '{{range .Containers}}{{.Name}} {{end}}' | tr ' ' '\n' | grep -v -E '^(demo-|$)' | tr '\n' ' ' || true)
    if [ -n "$others" ]; then
      S3_MODE=block
      log "s3: other containers on $TESTBED_NETWORK (${others% }) may be using the shared S3: blocking it for $MON_HOST instead of stopping it (DEMO_FAULTS_S3_MODE=stop forces the stop)"
    else
      S3_MODE=stop
    fi
  fi
  case "$S3_MODE" in stop|block) ;; *) die "DEMO_FAULTS_S3_MODE must be auto, stop or block (not $S3_MODE)" ;; esac
}

repair_all() {
  # Exit trap: repair whatever is still broken, stop the receiver.
  local rc=$? fault
  for fault in "${!FAULT_ACTIVE[@]}"; do
    log "repairing $fault after an interrupted drill"
    ( "${fault}_repair" ) || log "WARNING: could not repair $fault; do it by hand (see tools/demo-faults.sh ${fault}_repair)"
  done
  if [ -n "$RECEIVER_PID" ] && kill -0 "$RECEIVER_PID" 2>/dev/null; then kill "$RECEIVER_PID"; fi
  if [ ${#SUMMARY[@]} -gt 0 ]; then print_summary >&2; fi
  exit "$rc"
}

extra_seconds() {
  # extra_seconds FAULT fire|settle|resolve: what a fault needs beyond the generic timeouts
  # (its function FAULT_<kind>_extra, 0 without one).
  if declare -F "$1_$2_extra" >/dev/null; then "$1_$2_extra"; else echo 0; fi
}

run_fault() {
  local fault="$1" expectations=() line name labels for_s fire_timeout resolve_timeout t0 t1 t_repaired at busy fired_after
  local fire_extra settle_extra resolve_extra
  mapfile -t expectations < <("${fault}_expect")
  fire_extra=$(extra_seconds "$fault" fire)
  settle_extra=$(extra_seconds "$fault" settle)
  resolve_extra=$(extra_seconds "$fault" resolve)

  # Start from a healthy state: the target is up and none of the expected alerts is pending or firing.
  [ "$settle_extra" -eq 0 ] || log "$fault: waiting up to $(( 2 * SCRAPE + EVAL + MARGIN + settle_extra ))s for a healthy start (an earlier outage may still hold its alerts)"
  for _ in $(seq 1 $(( (2 * SCRAPE + EVAL + MARGIN + settle_extra) / 5 + 1 ))); do
    busy=0
    [ "$(prom_count "$("${fault}_healthy")")" -gt 0 ] || busy=1
    for line in "${expectations[@]}"; do
      read -r name labels <<<"$line"
      # shellcheck disable=SC2086  # labels: one word per label=value
      [ "$(prom_count "$(promql_selector "$name" $labels)")" -eq 0 ] || busy=1
    done
    [ "$busy" -eq 0 ] && break
    sleep 5
  done
  [ "$busy" -eq 0 ] || die "$fault: the demo is not healthy before the fault (PromQL: $("${fault}_healthy"), or an expected alert is already active); check docker exec $MON_HOST curl -s $PROM_URL/api/v1/alerts"

  log "$fault: injecting the fault"
  t0=$(now)
  FAULT_ACTIVE[$fault]=1
  "${fault}_inject"

  for line in "${expectations[@]}"; do
    read -r name labels <<<"$line"
    for_s=$(rule_for "$name")
    [ "$for_s" -ge 0 ] || die "Prometheus has no alert rule $name"
    fire_timeout=$(( for_s + fire_extra + 2 * SCRAPE + EVAL + GROUP_WAIT + GROUP_INTERVAL + MARGIN ))
    log "$fault: waiting for $line to fire (for ${for_s}s; timeout ${fire_timeout}s after the fault)"
    # shellcheck disable=SC2086
    if ! at=$(wait_notification firing "$t0" $(( fire_timeout - $(seconds_since "$t0") )) "$name" $labels); then
      SUMMARY+=("$fault|$line|NOT ARRIVED (${fire_timeout}s)|-")
      die "$fault: $line did not reach the receiver within ${fire_timeout}s of the fault (received: $(others_seen "$t0"); log: $ALERT_LOG)"
    fi
    log "$fault: $line fired, at the receiver $(awk -v a="$at" -v b="$t0" 'BEGIN { printf "%.0f", a - b }')s after the fault"
    FIRED_AT["$fault|$line"]=$at
  done

  log "$fault: repairing"
  t1=$(now)
  "${fault}_repair"
  unset "FAULT_ACTIVE[$fault]"
  t_repaired=$(now)
  log "$fault: repaired in $(seconds_since "$t1")s"

  for line in "${expectations[@]}"; do
    read -r name labels <<<"$line"
    resolve_timeout=$(( resolve_extra + 2 * SCRAPE + EVAL + GROUP_INTERVAL + MARGIN ))
    log "$fault: waiting for $line to resolve (timeout ${resolve_timeout}s after the repair)"
    fired_after=$(awk -v a="${FIRED_AT["$fault|$line"]}" -v b="$t0" 'BEGIN { printf "%.0f", a - b }')
    # shellcheck disable=SC2086
    if ! at=$(wait_notification resolved "$t1" $(( resolve_timeout - $(awk -v a="$t_repaired" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }') )) "$name" $labels); then
      SUMMARY+=("$fault|$line|${fired_after}s|NOT RESOLVED (${resolve_timeout}s)")
      die "$fault: no resolved notification for $line within ${resolve_timeout}s of the repair (log: $ALERT_LOG)"
    fi
    log "$fault: $line resolved, at the receiver $(awk -v a="$at" -v b="$t1" 'BEGIN { printf "%.0f", a - b }')s after the repair began"
    SUMMARY+=("$fault|$line|${fired_after}s|$(awk -v a="$at" -v b="$t1" 'BEGIN { printf "%.0f", a - b }')s")
  done
  log "$fault: every notification at the receiver during this fault: $(others_seen "$t0")"
}

print_summary() {
  printf '\n%-6s %-50s %-24s %s\n' FAULT ALERT "FIRED (after fault)" "RESOLVED (after repair)"
  local row fault alert fired resolved
  for row in "${SUMMARY[@]}"; do
    IFS='|' read -r fault alert fired resolved <<<"$row"
    printf '%-6s %-50s %-24s %s\n' "$fault" "$alert" "$fired" "$resolved"
  done
}

main() {
  local faults=("$@") fault host
  [ ${#faults[@]} -gt 0 ] || faults=(nginx app s3)
  for fault in "${faults[@]}"; do
    case "$fault" in nginx|app|s3|slo) ;; *) die "unknown fault $fault (nginx|app|s3|slo)" ;; esac
  done
  [ -x "$PY" ] || die "$PY not found. Fix: make venv"
  for host in "$WEB_HOST" "$APP_HOST" "$MON_HOST"; do
    [ "$(docker inspect -f '{{.State.Running}}' "$host" 2>/dev/null)" = true ] || die "$host is not running. Fix: make demo"
  done
  PROM_URL="http://127.0.0.1:9090"
  mon_curl -o /dev/null "$PROM_URL/-/ready" || die "Prometheus on $PROM_URL does not answer. Fix: make demo"
  read_timing
  choose_s3_mode

  trap repair_all EXIT
  trap 'exit 130' INT TERM
  start_receiver
  for fault in "${faults[@]}"; do
    run_fault "$fault"
  done
  trap - EXIT
  if kill -0 "$RECEIVER_PID" 2>/dev/null; then kill "$RECEIVER_PID"; fi
  print_summary
  log "every fault raised its alerts and every repair resolved them (S3 mode: $S3_MODE; notifications: $ALERT_LOG)"
}

main "$@"
