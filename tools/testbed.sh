#!/usr/bin/env bash
# Test bed for prodready.platform: Docker engine, systemd-capable Debian images,
# one user-defined network, and systemd test hosts on it.
# Used by Molecule (images + network), `make demo` (hosts) and benchmarks/.
#
#   tools/testbed.sh up                    engine + images + network (idempotent, cached)
#   tools/testbed.sh engine|images|network one step of `up`
#   tools/testbed.sh host NAME IMAGE_TAG IP  start (or keep) a systemd host and wait for it
#   tools/testbed.sh wait NAME             wait until systemd in NAME is running/degraded
#   tools/testbed.sh rm NAME...            remove test hosts
#   tools/testbed.sh clean                 remove every test host and the network
#   tools/testbed.sh status                what exists now
set -euo pipefail
# remove_rootfs
# shellcheck source=tools/rootfs.sh
. "$(dirname "${BASH_SOURCE[0]}")/rootfs.sh"

TESTBED_NETWORK="${TESTBED_NETWORK:-prodready-testbed}"
TESTBED_SUBNET="${TESTBED_SUBNET:-172.30.100.0/24}"
TESTBED_GATEWAY="${TESTBED_GATEWAY:-172.30.100.1}"
# Docker hands out addresses from the upper half (Molecule instances); the lower half is
# for hosts with fixed addresses (the demo inventories use .10-.63).
TESTBED_IP_RANGE="${TESTBED_IP_RANGE:-172.30.100.128/25}"
TESTBED_IMAGE_REPO="${TESTBED_IMAGE_REPO:-prodready/debian}"
TESTBED_MIRROR="${TESTBED_MIRROR:-http://deb.debian.org/debian}"
TESTBED_CACHE="${TESTBED_CACHE:-/var/cache/prodready-testbed}"
TESTBED_LABEL="prodready.testbed=1"
# Packages every test host needs before Ansible can manage it quickly (python3-apt
# for ansible.builtin.apt; systemd as PID 1). Roles install everything else.
TESTBED_PACKAGES="systemd,systemd-sysv,dbus,python3,python3-apt,sudo,iproute2,procps,ca-certificates,gpg,curl,openssh-server"
# Release names by tag; a tag is what Molecule platforms and inventories reference.
declare -A TESTBED_RELEASES=([12]=bookworm [13]=trixie)

# The run flags that work on these machines (--privileged is refused: no cap_sys_resource).
TESTBED_RUN_FLAGS=(
  --cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add AUDIT_CONTROL
  --security-opt seccomp=unconfined --security-opt apparmor=unconfined
  --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw
  --tmpfs /run --tmpfs /run/lock --tmpfs /tmp:exec
  --stop-signal SIGRTMIN+3
)

log() { printf '[testbed] %s\n' "$*" >&2; }
die() { printf '[testbed] ERROR: %s\n' "$*" >&2; exit 1; }

ensure_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  # The controller is the trusted side of backups: retention (restic forget --prune) runs here.
  command -v restic >/dev/null 2>&1 || missing+=(restic)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} from Debian"
  if ! { apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}"; } >"$TESTBED_CACHE/apt.log" 2>&1; then
    tail -5 "$TESTBED_CACHE/apt.log" >&2
    die "apt-get could not install ${missing[*]} (see $TESTBED_CACHE/apt.log). Fix: check the Debian mirror is reachable and run as root."
  fi
}

cmd_engine() {
  mkdir -p "$TESTBED_CACHE"
  ensure_packages
  if docker info >/dev/null 2>&1; then return 0; fi
  log "starting dockerd (log: $TESTBED_CACHE/dockerd.log)"
  # fd 9 is the `up` lock: the daemon must not inherit it, or it would hold the lock for
  # its whole life and every later `up` (each Molecule create) would wait forever.
  setsid nohup dockerd >"$TESTBED_CACHE/dockerd.log" 2>&1 </dev/null 9>&- &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && { log "docker engine is up"; return 0; }
    kill -0 $! 2>/dev/null || break
    sleep 0.5
  done
  tail -n 15 "$TESTBED_CACHE/dockerd.log" >&2 || true
  die "the Docker engine did not start (log above, full log in $TESTBED_CACHE/dockerd.log). Fix: make sure no other dockerd holds /var/run/docker.sock and that this machine allows containers, then retry."
}

image_tag() {
  # The tag carries a hash of the build recipe so a changed package list rebuilds.
  local version="$1"
  local recipe_hash
  recipe_hash=$(printf '%s|%s|%s' "${TESTBED_RELEASES[$version]}" "$TESTBED_PACKAGES" "$(declare -f build_image)" | sha256sum | cut -c1-10)
  printf '%s:%s-%s' "$TESTBED_IMAGE_REPO" "$version" "$recipe_hash"
}

build_image() {
  local version="$1" release="${TESTBED_RELEASES[$1]}" tag="$2"
  local rootfs="$TESTBED_CACHE/rootfs-$release"
  log "building $tag from Debian $release with debootstrap (about a minute)"
  remove_rootfs "$rootfs"; mkdir -p "$rootfs"
  # debootstrap downloads with wget, which waits forever on a stalled connection by default.
  printf 'timeout = 30\ntries = 5\nretry_connrefused = on\n' >"$TESTBED_CACHE/wgetrc"
  if ! WGETRC="$TESTBED_CACHE/wgetrc" debootstrap --variant=minbase --include="$TESTBED_PACKAGES" "$release" "$rootfs" "$TESTBED_MIRROR" \
      >"$TESTBED_CACHE/debootstrap-$release.log" 2>&1; then
    tail -n 10 "$TESTBED_CACHE/debootstrap-$release.log" >&2
    remove_rootfs "$rootfs"
    die "debootstrap of Debian $release failed (log above, full log in $TESTBED_CACHE/debootstrap-$release.log). Fix: check that $TESTBED_MIRROR is reachable (network, proxy) and retry."
  fi
  # Full sources (updates + security) so roles can install current packages.
  local components="main"
  cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $TESTBED_MIRROR $release $components
deb $TESTBED_MIRROR $release-updates $components
deb http://deb.debian.org/debian-security $release-security $components
SOURCES
  # A container has no consoles, udev or kernel filesystems to remount: mask what
  # can only fail so a healthy host reports `running`.
  local unit
  for unit in getty@tty1.service console-getty.service systemd-udevd.service systemd-udev-trigger.service \
      systemd-remount-fs.service sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount \
      systemd-firstboot.service systemd-modules-load.service; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
  done
  # sshd host keys are made per container at first boot, never baked into the image.
  rm -f "$rootfs"/etc/ssh/ssh_host_*
  mkdir -p "$rootfs/etc/systemd/system/ssh.service.d"
  printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' >"$rootfs/etc/systemd/system/ssh.service.d/10-testbed-hostkeys.conf"
  echo 'LANG=C.UTF-8' >"$rootfs/etc/default/locale"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  # The lists are gone: make them look ancient, so `apt update_cache` with cache_valid_time
  # refreshes them instead of trusting a fresh directory mtime.
  touch -d @0 "$rootfs/var/lib/apt/lists"
  tar -C "$rootfs" -c . | docker import \
      -c 'CMD ["/lib/systemd/systemd"]' -c 'ENV container=docker' \
      - "$tag" >/dev/null
  docker tag "$tag" "$TESTBED_IMAGE_REPO:$version"
  remove_rootfs "$rootfs"
  log "built $tag"
}

cmd_images() {
  local version tag pids=() failed=0 pid
  for version in $(printf '%s\n' "${!TESTBED_RELEASES[@]}" | sort); do
    tag=$(image_tag "$version")
    if docker image inspect "$tag" >/dev/null 2>&1; then
      # Keep the short alias pointing at the current recipe.
      docker tag "$tag" "$TESTBED_IMAGE_REPO:$version"
      continue
    fi
    # Builds are network-bound: run them side by side.
    build_image "$version" "$tag" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ "$failed" = 0 ] || die "an image build failed (messages above)"
}

cmd_network() {
  local subnet ip_range
  if subnet=$(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' "$TESTBED_NETWORK" 2>/dev/null); then
    [ "$subnet" = "$TESTBED_SUBNET" ] || die "network $TESTBED_NETWORK exists with subnet $subnet, expected $TESTBED_SUBNET. Fix: tools/testbed.sh clean"
    ip_range=$(docker network inspect -f '{{range .IPAM.Config}}{{.IPRange}}{{end}}' "$TESTBED_NETWORK")
    if [ "$ip_range" != "$TESTBED_IP_RANGE" ]; then
      if [ -z "$(docker network inspect -f '{{range .Containers}}{{.Name}} {{end}}' "$TESTBED_NETWORK")" ]; then
        log "recreating network $TESTBED_NETWORK with dynamic range $TESTBED_IP_RANGE"
        docker network rm "$TESTBED_NETWORK" >/dev/null
      else
        log "WARNING: network $TESTBED_NETWORK hands out addresses from its whole subnet; fixed-address hosts may collide. Fix: tools/testbed.sh clean"
        return 0
      fi
    else
      return 0
    fi
  fi
  if ! docker network create --driver bridge --subnet "$TESTBED_SUBNET" --gateway "$TESTBED_GATEWAY" --ip-range "$TESTBED_IP_RANGE" \
      --label "$TESTBED_LABEL" "$TESTBED_NETWORK" >/dev/null 2>"$TESTBED_CACHE/network.err"; then
    cat "$TESTBED_CACHE/network.err" >&2
    die "could not create network $TESTBED_NETWORK ($TESTBED_SUBNET). Fix: another network may use that subnet (docker network ls), or set TESTBED_SUBNET/TESTBED_GATEWAY."
  fi
  log "network $TESTBED_NETWORK $TESTBED_SUBNET (gateway $TESTBED_GATEWAY)"
}

cmd_up() {
  local started=$SECONDS
  # Molecule scenarios and the demo may call `up` at the same time: one builder at a time.
  exec 9>"$TESTBED_CACHE/up.lock"
  if ! flock -w 900 9; then
    die "another 'testbed.sh up' has held $TESTBED_CACHE/up.lock for 15 min. Fix: find it with 'fuser $TESTBED_CACHE/up.lock' and stop it."
  fi
  cmd_engine
  cmd_images
  cmd_network
  log "test bed ready in $((SECONDS - started)) s"
}

cmd_wait() {
  local name="$1" state=""
  # `--wait` blocks until start-up has finished; loop while PID 1 is not answering yet.
  for _ in $(seq 1 60); do
    state=$(timeout 60 docker exec "$name" systemctl is-system-running --wait 2>/dev/null || true)
    case "$state" in
      running|degraded)
        # Docker makes /run a private mount; systemd's credentials (LoadCredential=) need it
        # shared, or services see an empty $CREDENTIALS_DIRECTORY (systemd issue 38103).
        docker exec "$name" mount --make-shared /run
        return 0 ;;
    esac
    sleep 1
  done
  docker exec "$name" systemctl --failed --no-legend 2>/dev/null >&2 || true
  die "systemd in $name did not reach running/degraded within 60 s (state: ${state:-unknown}). Fix: docker logs $name"
}

cmd_host() {
  local name="$1" version="$2" ip="$3"
  local image="$TESTBED_IMAGE_REPO:$version"
  docker image inspect "$image" >/dev/null 2>&1 || die "image $image is missing. Fix: tools/testbed.sh up"
  local running
  if ! running=$(docker container inspect -f '{{.State.Running}}' "$name" 2>/dev/null); then
    running=absent
  fi
  case "$running" in
    true) ;;
    false) docker start "$name" >/dev/null ;;
    absent)
      docker run -d --name "$name" --hostname "$name" --label "$TESTBED_LABEL" \
        --network "$TESTBED_NETWORK" --ip "$ip" "${TESTBED_RUN_FLAGS[@]}" "$image" >/dev/null \
        || die "could not start test host $name on $ip. Fix: tools/testbed.sh clean, then retry"
      ;;
  esac
  cmd_wait "$name"
}

cmd_rm() {
  local name
  for name in "$@"; do
    docker rm -f "$name" >/dev/null 2>&1 || true
  done
}

cmd_clean() {
  docker info >/dev/null 2>&1 || { log "no Docker engine running: nothing to clean"; return 0; }
  local ids
  ids=$(docker ps -aq --filter "label=$TESTBED_LABEL")
  [ -z "$ids" ] || printf '%s\n' "$ids" | xargs docker rm -f >/dev/null
  # Molecule's containers carry its own label; remove only those on our network.
  ids=$(docker ps -aq --filter "network=$TESTBED_NETWORK")
  [ -z "$ids" ] || printf '%s\n' "$ids" | xargs docker rm -f >/dev/null
  docker network rm "$TESTBED_NETWORK" >/dev/null 2>&1 || true
  log "removed test hosts and network $TESTBED_NETWORK"
}

cmd_status() {
  docker ps -a --filter "network=$TESTBED_NETWORK" --format '{{.Names}}\t{{.Status}}\t{{.Image}}'
  docker images "$TESTBED_IMAGE_REPO" --format '{{.Repository}}:{{.Tag}}\t{{.Size}}'
}

main() {
  local cmd="${1:-up}"; shift || true
  [ "$(id -u)" = 0 ] || die "the test bed needs root (docker, debootstrap)"
  mkdir -p "$TESTBED_CACHE"
  case "$cmd" in
    up|engine|images|network|status|clean) "cmd_$cmd" ;;
    host) [ $# -eq 3 ] || die "usage: $0 host NAME IMAGE_TAG IP"; cmd_host "$@" ;;
    wait) [ $# -eq 1 ] || die "usage: $0 wait NAME"; cmd_wait "$1" ;;
    rm) cmd_rm "$@" ;;
    image-tag) image_tag "$1" ;;
    *) die "unknown command $cmd (up|engine|images|network|host|wait|rm|clean|status)" ;;
  esac
}
main "$@"
