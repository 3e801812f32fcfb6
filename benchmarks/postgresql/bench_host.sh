#!/usr/bin/env bash
# Runs on the benchmark's database host as root (benchmarks/postgresql/run.sh copies it there): a
# generated database, then pgBackRest (the postgresql role's configuration: S3, zst, aes-256-cbc,
# process-max) full backup and restore beside pg_dump -Fd / pg_restore of the same database.
# Prints one "BENCH key=value" line per figure; everything it makes on the host is removed at the
# end (the host itself is removed by run.sh).
#   bench_host.sh SCALE JOBS STANZA
set -euo pipefail
SCALE="$1" JOBS="$2" STANZA="$3"
VERSION=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf "%f\n" | sort -n | tail -1)
BIN="/usr/lib/postgresql/$VERSION/bin"
DUMP=/var/tmp/bench-pg-dump
RESTORED=/var/lib/postgresql/bench-pgbackrest-restore
RESTORED_PORT=5499

cd /
as_pg() { runuser -u postgres -- "$@"; }
now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
sql() { as_pg psql -X -qAt -v ON_ERROR_STOP=1 "$@"; }
cleanup() {
  as_pg "$BIN/pg_ctl" -D "$RESTORED" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DUMP" "$RESTORED"
  sql -d postgres -c "DROP DATABASE IF EXISTS bench_restored" -c "DROP DATABASE IF EXISTS bench" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "BENCH postgresql_version=$VERSION pgbackrest=$(pgbackrest version | cut -d' ' -f2) scale=$SCALE jobs=$JOBS"
cleanup

# The database: pgbench's tables at SCALE (100,000 accounts per unit, ~15 MB per unit).
sql -d postgres -c "CREATE DATABASE bench"
t0=$(now)
as_pg "$BIN/pgbench" -i -q -s "$SCALE" bench >/dev/null 2>&1
sql -d bench -c CHECKPOINT
t1=$(now)
rows=$(sql -d bench -c "SELECT count(*) FROM pgbench_accounts")
echo "BENCH generate_seconds=$(seconds "$t0" "$t1") database_bytes=$(sql -d postgres -c "SELECT pg_database_size('bench')")" \
  "cluster_bytes=$(du -sb "/var/lib/postgresql/$VERSION/main" | cut -f1) accounts=$rows"

# Generating wrote about as much WAL as data, which the archiver pushes to the repository; a backup
# started now would wait for that backlog (its stop segment is archived after it). Wait for it first.
# Bounded: a backlog that does not drain in 30 minutes is an archiving failure, not a slow S3.
t0=$(now)
last=$(sql -d postgres -c "SELECT pg_walfile_name(pg_switch_wal())")
for _ in $(seq 1800); do
  [ "$(sql -d postgres -c "SELECT coalesce(last_archived_wal, '') >= '$last' FROM pg_stat_archiver")" = t ] && break
  sleep 1
done
[ "$(sql -d postgres -c "SELECT coalesce(last_archived_wal, '') >= '$last' FROM pg_stat_archiver")" = t ] \
  || { echo "WAL up to $last not archived after 30 min: $(sql -d postgres -c 'SELECT * FROM pg_stat_archiver')" >&2; exit 1; }
echo "BENCH archive_catch_up_seconds=$(seconds "$t0" "$(now)")"

# pgBackRest: a full backup to the S3 repository, then a restore into an empty directory and a
# server on it that accepts connections (recovery to the backup's consistent point, promoted).
t0=$(now)
as_pg pgbackrest --stanza="$STANZA" --type=full backup
t1=$(now)
repo_bytes=$(as_pg pgbackrest --stanza="$STANZA" --output=json info | python3 -c '
import json, sys
backups = json.load(sys.stdin)[0]["backup"]
print(backups[-1]["info"]["repository"]["delta"])')
echo "BENCH pgbackrest_backup_seconds=$(seconds "$t0" "$t1") pgbackrest_repo_bytes=$repo_bytes"

install -d -o postgres -g postgres -m 0700 "$RESTORED"
t0=$(now)
as_pg pgbackrest --stanza="$STANZA" --pg1-path="$RESTORED" --type=immediate --target-action=promote restore
t1=$(now)
# Debian keeps the server's configuration under /etc: the restored directory gets a minimal one.
printf '%s\n' "port = $RESTORED_PORT" "listen_addresses = ''" "unix_socket_directories = '/tmp'" "archive_mode = off" \
  | as_pg tee "$RESTORED/postgresql.conf" >/dev/null
printf 'local all all peer\n' | as_pg tee "$RESTORED/pg_hba.conf" >/dev/null
as_pg touch "$RESTORED/pg_ident.conf"
as_pg "$BIN/pg_ctl" -D "$RESTORED" -l "$RESTORED/startup.log" -w -t 600 start >/dev/null
# pg_ctl -w returns once the server accepts connections; it is writable once recovery has promoted.
for _ in $(seq 3000); do
  [ "$(sql -h /tmp -p "$RESTORED_PORT" -d postgres -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ] && break
  sleep 0.2
done
t2=$(now)
[ "$(sql -h /tmp -p "$RESTORED_PORT" -d postgres -c 'SELECT pg_is_in_recovery()')" = f ] \
  || { echo "the restored server has not promoted after 10 min:" >&2; tail -20 "$RESTORED/startup.log" >&2; exit 1; }
restored_rows=$(sql -h /tmp -p "$RESTORED_PORT" -d bench -c "SELECT count(*) FROM pgbench_accounts")
as_pg "$BIN/pg_ctl" -D "$RESTORED" -m fast -w stop >/dev/null
rm -rf "$RESTORED"
echo "BENCH pgbackrest_restore_files_seconds=$(seconds "$t0" "$t1") pgbackrest_restore_ready_seconds=$(seconds "$t0" "$t2")" \
  "pgbackrest_restored_accounts=$restored_rows"

# pg_dump's directory format (parallel, its default compression) to local disk, and pg_restore
# of it into a new database (tables, then indexes and constraints, in parallel).
t0=$(now)
as_pg "$BIN/pg_dump" -Fd -j "$JOBS" -f "$DUMP" bench
t1=$(now)
echo "BENCH pg_dump_seconds=$(seconds "$t0" "$t1") pg_dump_bytes=$(du -sb "$DUMP" | cut -f1)"

sql -d postgres -c "CREATE DATABASE bench_restored"
t0=$(now)
as_pg "$BIN/pg_restore" -j "$JOBS" -d bench_restored "$DUMP"
t1=$(now)
echo "BENCH pg_restore_seconds=$(seconds "$t0" "$t1") pg_restore_accounts=$(sql -d bench_restored -c 'SELECT count(*) FROM pgbench_accounts')"
