#!/usr/bin/env bash
# pgBackRest (the postgresql role's archive: S3, zst, aes-256-cbc, process-max) beside pg_dump/
# pg_restore, on the same generated database (pgbench tables, >= 1 GB), same run, same host:
#   backup:  pgbackrest --type=full backup to the local S3      vs  pg_dump -Fd -j JOBS to local disk
#   restore: pgbackrest restore into an empty directory, and a  vs  pg_restore -j JOBS into a new
#            server on it that accepts connections                  database (tables, indexes, keys)
#
#   benchmarks/postgresql/run.sh                     scale 75 (~1.1 GB), 2 jobs
#   BENCH_PG_SCALE=150 BENCH_PG_JOBS=2 benchmarks/postgresql/run.sh
#
# Host: one systemd Debian 12 container from tools/testbed.sh (bench-pg-1, 172.30.100.125), reached
# as the demo is (benchmarks/testbed_connection.py). It is prepared as the postgresql scenario's
# database host (molecule/postgresql/prepare.yml: its own S3 identity and repository prefix in the
# shared local S3, tools/localsvc.sh; a TLS relay to it, as pgBackRest speaks S3 over HTTPS only)
# with the scenario's role variables (molecule.yml), minus the exporters and clients. The host and
# the benchmark's repository prefix are removed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO="$PWD"
export PATH="$REPO/.venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$REPO/collections" ANSIBLE_FORCE_COLOR=0
export ANSIBLE_CONFIG="$REPO/ansible.cfg"
SCALE="${BENCH_PG_SCALE:-75}"
JOBS="${BENCH_PG_JOBS:-2}"
HOST=bench-pg-1
IP=172.30.100.125
WORK=$(mktemp -d /tmp/prodready-bench-postgresql.XXXXXX)
LOAD_SAMPLER=""
cleanup() {
  [ -z "$LOAD_SAMPLER" ] || kill "$LOAD_SAMPLER" 2>/dev/null || true
  tools/testbed.sh rm "$HOST" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== settings"
echo "  host: $HOST (Debian 12 container, $(nproc) CPUs shared, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "  database: pgbench -i -s $SCALE; parallel jobs: $JOBS (pgBackRest process-max, pg_dump -j, pg_restore -j)"
echo "  pgBackRest: the postgresql role's configuration (repository on the local S3 through a TLS relay, zst, aes-256-cbc)"
echo "  pg_dump: -Fd (its default compression) to the host's disk"

tools/testbed.sh up >/dev/null
tools/testbed.sh rm "$HOST" >/dev/null 2>&1 || true
tools/testbed.sh host "$HOST" 12 "$IP" >/dev/null

# The inventory: the scenario's database variables, without the exporters, the hardening role's and
# the client entries, under a prefix of the benchmark's own.
python - "$WORK/hosts.yml" "$HOST" <<'PY'
import json, subprocess, sys, yaml
group_vars = yaml.safe_load(open("molecule/postgresql/molecule.yml"))["provisioner"]["inventory"]["group_vars"]
scenario = {**group_vars.get("all", {}), **group_vars["database"]}
variables = {k: v for k, v in scenario.items()
             if not k.startswith(("exporters_", "hardening_")) and k != "postgresql_pgbackrest_io_timeout"}
variables.update({
    "ansible_become": True,
    "postgresql_hba": [],
    "postgresql_exporter_enabled": False,
    "postgresql_pgbackrest_s3_prefix": "bench/{{ inventory_hostname }}/pgbackrest",
})
connection = json.loads(subprocess.check_output([sys.executable, "benchmarks/testbed_connection.py"]))
inventory = {"all": {"vars": connection, "children": {"database": {"vars": variables, "hosts": {sys.argv[2]: {}}}}}}
yaml.safe_dump(inventory, open(sys.argv[1], "w"), sort_keys=False)
PY

# The machine's 1-minute load every 10 s while the benchmark runs (2 cores, shared: the figures
# below are only comparable between runs at a similar load).
while sleep 10; do cut -d' ' -f1 /proc/loadavg; done >"$WORK/load" &
LOAD_SAMPLER=$!

t0=$(date +%s)
MOLECULE_PROJECT_DIRECTORY="$REPO" MOLECULE_EPHEMERAL_DIRECTORY="$WORK" BENCH_PG_OUT="$WORK/bench.out" \
  BENCH_PG_SCALE="$SCALE" BENCH_PG_JOBS="$JOBS" \
  ansible-playbook -i "$WORK/hosts.yml" benchmarks/postgresql/bench.yml >"$WORK/run.log" 2>&1 \
  || { echo "FAILED (log tail below)"; tail -40 "$WORK/run.log"; exit 1; }
echo "  whole run (prepare, converge, benchmark, clean-up): $(( $(date +%s) - t0 )) s"
kill "$LOAD_SAMPLER" 2>/dev/null || true
LOAD_SAMPLER=""
echo "  machine load during the run (1-min load average every 10 s, $(nproc) CPUs):" \
  "$(awk '{ s += $1; if ($1 > m) m = $1; n++ } END { if (n) printf "mean %.2f, max %.2f, %d samples", s / n, m, n; else print "no sample" }' "$WORK/load")"

# "BENCH k=v k=v" lines → one value per key.
declare -A f
while read -r pair; do f["${pair%%=*}"]="${pair#*=}"; done < <(grep '^BENCH ' "$WORK/bench.out" | cut -d' ' -f2- | tr ' ' '\n')
for key in database_bytes accounts pgbackrest_backup_seconds pgbackrest_restore_files_seconds pgbackrest_restore_ready_seconds \
           pgbackrest_restored_accounts pg_dump_seconds pg_restore_seconds pg_restore_accounts pgbackrest_repo_bytes pg_dump_bytes; do
  [ -n "${f[$key]:-}" ] || { echo "missing figure $key in:"; cat "$WORK/bench.out"; exit 1; }
done
if [ "${f[pgbackrest_restored_accounts]}" != "${f[accounts]}" ] || [ "${f[pg_restore_accounts]}" != "${f[accounts]}" ]; then
  echo "a restore lost rows: ${f[accounts]} written, pgBackRest ${f[pgbackrest_restored_accounts]}, pg_restore ${f[pg_restore_accounts]}"
  exit 1
fi
[ "${f[database_bytes]}" -ge 1000000000 ] || { echo "database only ${f[database_bytes]} bytes (< 1 GB): raise BENCH_PG_SCALE"; exit 1; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mb() { awk -v a="$1" 'BEGIN { printf "%.0f MB", a / 1e6 }'; }
echo "  PostgreSQL ${f[postgresql_version]}, pgBackRest ${f[pgbackrest]}; database $(mb "${f[database_bytes]}"), ${f[accounts]} accounts," \
  "generated in ${f[generate_seconds]} s, its WAL archived ${f[archive_catch_up_seconds]:-?} s later (before the timings)"
echo
echo "== results (seconds; ratio = pgBackRest / pg_dump-pg_restore, below 1 = pgBackRest faster)"
printf '  %-28s %12s %22s %8s\n' "step" "pgBackRest" "pg_dump / pg_restore" "ratio"
printf '  %-28s %12s %22s %8s\n' "backup" "${f[pgbackrest_backup_seconds]}" "${f[pg_dump_seconds]}" \
  "$(ratio "${f[pgbackrest_backup_seconds]}" "${f[pg_dump_seconds]}")"
printf '  %-28s %12s %22s %8s\n' "restore (files)" "${f[pgbackrest_restore_files_seconds]}" "-" "-"
printf '  %-28s %12s %22s %8s\n' "restore, serving" "${f[pgbackrest_restore_ready_seconds]}" "${f[pg_restore_seconds]}" \
  "$(ratio "${f[pgbackrest_restore_ready_seconds]}" "${f[pg_restore_seconds]}")"
printf '  %-28s %12s %22s %8s\n' "stored size" "$(mb "${f[pgbackrest_repo_bytes]}")" "$(mb "${f[pg_dump_bytes]}")" \
  "$(ratio "${f[pgbackrest_repo_bytes]}" "${f[pg_dump_bytes]}")"
echo "  rows after each restore: ${f[pgbackrest_restored_accounts]} / ${f[pg_restore_accounts]} (of ${f[accounts]})"
