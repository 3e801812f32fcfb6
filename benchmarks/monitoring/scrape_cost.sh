#!/usr/bin/env bash
# Scrape cost of node_exporter as the exporters role configures it (TLS + bcrypt basic auth,
# chosen collectors, sandboxed unit) beside what a user gets from a stock install (plain HTTP,
# default collectors), measured inside one test host.
#
#   benchmarks/monitoring/scrape_cost.sh CONTAINER PASSWORD [SCRAPES]
#
# CONTAINER runs the exporters role with TLS and basic auth (e.g. monitoring-t12a while the
# Molecule scenario is converged; its CA is /etc/ssl/prodready-test/ca.crt). A second,
# stock node_exporter is started on 127.0.0.1:9199 for the comparison and stopped after.
set -euo pipefail
container=${1:?usage: scrape_cost.sh CONTAINER PASSWORD [SCRAPES]}
password=${2:?usage: scrape_cost.sh CONTAINER PASSWORD [SCRAPES]}
scrapes=${3:-50}
ca=${CA:-/etc/ssl/prodready-test/ca.crt}

docker exec -i "$container" bash -s -- "$password" "$scrapes" "$ca" <<'INNER'
set -euo pipefail
password=$1 scrapes=$2 ca=$3
host=$(hostname)
systemd-run --quiet --unit=prodready-bench-stock -p User=prometheus \
  /usr/bin/prometheus-node-exporter --web.listen-address=127.0.0.1:9199 >/dev/null
trap 'systemctl stop prodready-bench-stock >/dev/null 2>&1 || true' EXIT
for _ in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:9199/metrics && break; sleep 0.1; done

measure() { # label, curl args...
  local label=$1; shift
  local times
  times=$(for _ in $(seq "$scrapes"); do curl -sf -o /dev/null -w '%{time_total}\n' "$@"; done | sort -n)
  local series bytes
  series=$(curl -sf "$@" | grep -vc '^#')
  bytes=$(curl -sf "$@" | wc -c)
  printf '%-44s median %6.1f ms  p95 %6.1f ms  %5d series  %7d bytes\n' "$label" \
    "$(echo "$times" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]*1000}')" \
    "$(echo "$times" | awk '{a[NR]=$1} END {i=int(NR*0.95); if (i<1) i=1; print a[i]*1000}')" \
    "$series" "$bytes"
}
echo "node_exporter $(/usr/bin/prometheus-node-exporter --version 2>&1 | head -1 | awk '{print $3}') on $host, $scrapes scrapes each"
measure "stock: plain HTTP, default collectors" http://127.0.0.1:9199/metrics
measure "exporters role: TLS + basic auth (bcrypt)" --cacert "$ca" -u "prometheus:$password" "https://$host:9100/metrics"
echo "systemd-analyze security: stock 9.2 UNSAFE; role $(systemd-analyze security prometheus-node-exporter.service | sed -n 's/^.*Overall exposure level for [^:]*: //p')"
INNER
