#!/usr/bin/env bash
# A private SeaweedFS S3 endpoint for the backup scenario's "endpoint stops mid-backup" test,
# started by tools/localsvc.sh's own S3 start (same flags, identities, readiness and bucket
# checks) on its own ports and state directory, so stopping it never disturbs other tests.
# Iceberg/Lance listeners are off (their fixed ports are the shared endpoint's); a 1 s election
# timeout lets the lone master come back in seconds after a SIGKILL.
#
#   fault-s3.sh start   start (keeps the data directory) and wait until the bucket takes writes
#   fault-s3.sh kill    SIGKILL, wait until gone (the endpoint "crashes")
#   fault-s3.sh stop    SIGKILL (weed ignores SIGTERM) and delete the data
set -euo pipefail

REPO_DIR="$(cd "$(dirname "$0")/../.." && pwd)"
DIR="${FAULT_S3_DIR:-/tmp/prodready-backup-fault-s3}"
# localsvc.sh keeps the PID (and log, data) under <state dir>/s3.
PIDFILE="$DIR/s3/weed.pid"

die() { printf '[fault-s3] ERROR: %s\n' "$*" >&2; exit 1; }
alive() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
  LOCALSVC_STATE_DIR="$DIR" \
  LOCALSVC_BIND_IP="${FAULT_S3_BIND_IP:-172.30.100.1}" \
  LOCALSVC_S3_PORT="${FAULT_S3_PORT:-8335}" \
  LOCALSVC_S3_MASTER_PORT="${FAULT_S3_MASTER_PORT:-19335}" \
  LOCALSVC_S3_VOLUME_PORT="${FAULT_S3_VOLUME_PORT:-18082}" \
  LOCALSVC_S3_FILER_PORT="${FAULT_S3_FILER_PORT:-18890}" \
  LOCALSVC_S3_BUCKET="${FAULT_S3_BUCKET:-prodready-fault}" \
  LOCALSVC_S3_ACCESS_KEY="${FAULT_S3_ACCESS_KEY:-prodready-test}" \
  LOCALSVC_S3_SECRET_KEY="${FAULT_S3_SECRET_KEY:-prodready-test-secret-key-0123456789}" \
  LOCALSVC_S3_WEED_ARGS="-s3.port.iceberg=0 -s3.port.lance=0 -master.telemetry=false -master.electionTimeout=1s" \
  LOCALSVC_START_TIMEOUT=120 \
    "$REPO_DIR/tools/localsvc.sh" start s3
}

kill_now() {
  alive || return 0
  local pid
  pid=$(cat "$PIDFILE")
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
