#!/usr/bin/env bash
# A private SeaweedFS S3 endpoint for the backup scenario's "endpoint stops mid-backup" test,
# started like tools/localsvc.sh starts the shared one (same flags and identities), on its own
# ports and data directory, so stopping it never disturbs other tests. Iceberg/Lance listeners are
# off (their fixed ports are the shared endpoint's); a 1 s election timeout lets the lone master
# come back in seconds after a SIGKILL.
#
#   fault-s3.sh start   start (keeps the data directory) and wait until the bucket takes writes
#   fault-s3.sh kill    SIGKILL, wait until gone (the endpoint "crashes")
#   fault-s3.sh stop    SIGKILL (weed ignores SIGTERM) and delete the data
set -euo pipefail

REPO_DIR="$(cd "$(dirname "$0")/../.." && pwd)"
DIR="${FAULT_S3_DIR:-/tmp/prodready-backup-fault-s3}"
BIND_IP="${FAULT_S3_BIND_IP:-172.30.100.1}"
PORT="${FAULT_S3_PORT:-8335}"
BUCKET="${FAULT_S3_BUCKET:-prodready-fault}"
ACCESS_KEY="${FAULT_S3_ACCESS_KEY:-prodready-test}"
SECRET_KEY="${FAULT_S3_SECRET_KEY:-prodready-test-secret-key-0123456789}"
WEED="${WEED:-$REPO_DIR/.venv/bin/weed}"
PYTHON="${PYTHON:-$REPO_DIR/.venv/bin/python}"

die() { printf '[fault-s3] ERROR: %s\n' "$*" >&2; exit 1; }
alive() { [ -f "$DIR/weed.pid" ] && kill -0 "$(cat "$DIR/weed.pid")" 2>/dev/null; }

bucket_ready() {
  AWS_ACCESS_KEY_ID="$ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$SECRET_KEY" AWS_DEFAULT_REGION=us-east-1 \
  "$PYTHON" - "http://$BIND_IP:$PORT" "$BUCKET" <<'PY' 2>/dev/null
import sys, boto3
c = boto3.client("s3", endpoint_url=sys.argv[1])
if sys.argv[2] not in [b["Name"] for b in c.list_buckets().get("Buckets", [])]:
    c.create_bucket(Bucket=sys.argv[2])
c.put_object(Bucket=sys.argv[2], Key=".ready", Body=b"ok")
PY
}

start() {
  alive && return 0
  [ -x "$WEED" ] || die "$WEED not found (make venv)"
  mkdir -p "$DIR/data"
  umask 077
  cat >"$DIR/identities.json" <<JSON
{"identities": [{"name": "prodready-test",
  "credentials": [{"accessKey": "$ACCESS_KEY", "secretKey": "$SECRET_KEY"}],
  "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}
JSON
  setsid "$WEED" server -dir="$DIR/data" -ip="$BIND_IP" -ip.bind="$BIND_IP" \
    -master.port="${FAULT_S3_MASTER_PORT:-19335}" -volume.port="${FAULT_S3_VOLUME_PORT:-18082}" \
    -filer.port="${FAULT_S3_FILER_PORT:-18890}" -s3 -s3.port="$PORT" -s3.config="$DIR/identities.json" \
    -s3.port.iceberg=0 -s3.port.lance=0 -master.telemetry=false -master.electionTimeout=1s \
    -master.volumeSizeLimitMB=256 -volume.max=0 >>"$DIR/weed.log" 2>&1 </dev/null &
  echo $! >"$DIR/weed.pid"
  for _ in $(seq 1 240); do
    bucket_ready && { echo "fault S3 ready on http://$BIND_IP:$PORT (pid $(cat "$DIR/weed.pid"))"; return 0; }
    alive || { tail -n 15 "$DIR/weed.log" >&2; die "weed exited during start-up"; }
    sleep 0.5
  done
  tail -n 15 "$DIR/weed.log" >&2
  die "weed did not take writes within 120 s"
}

kill_now() {
  alive || return 0
  local pid
  pid=$(cat "$DIR/weed.pid")
  kill -KILL "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
}

stop() {
  # Its data is deleted next: no need for weed's slow SIGINT shutdown.
  kill_now
  rm -rf "$DIR"
}

case "${1:-}" in
  start) start ;;
  kill) kill_now ;;
  stop) stop ;;
  *) die "usage: $0 start|kill|stop" ;;
esac
