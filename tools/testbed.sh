#!/usr/bin/env bash
# Test bed for prodready.platform: Docker engine, systemd-capable Debian images,
# one user-defined network, and systemd test hosts on it.
# Used by Molecule (images + network), `make demo` (hosts) and benchmarks/.
#
#   tools/testbed.sh up                    engine + images + network (idempotent, cached)
#   tools/testbed.sh engine|images|network one step of `up`
#   tools/testbed.sh host NAME IMAGE_TAG IP  start (or keep) a systemd host and wait for it
#   tools/testbed.sh wait NAME             wait until systemd in NAME is running/degraded
#   tools/testbed.sh trust NAME            record NAME's SSH host key and address (see below); prints
#                                          Molecule's instance config entry for NAME as JSON
#   tools/testbed.sh rm NAME...            remove test hosts (and their SSH entries)
#   tools/testbed.sh clean                 remove every test host and the network
#   tools/testbed.sh status                what exists now
#
# SSH: every test host runs sshd and has the automation account $TESTBED_SSH_USER (uid
# $TESTBED_SSH_UID, group sudo, passwordless sudo, key only), baked into the image with the public
# half of the controller key $TESTBED_SSH_DIR/id_ed25519 (made once, 0600, never in the repo).
# Host keys are made per container at first boot; `trust` (called by `host` and by Molecule's
# create) reads the new host's Ed25519 key through `docker exec` and replaces the host's entry in
# $TESTBED_SSH_DIR/known_hosts, and maps its name to its address in $TESTBED_SSH_DIR/config (an
# ssh_config the inventories pass with -F, as `vagrant ssh-config` does), so Ansible reaches
# test hosts by name with host key checking on.
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
TESTBED_SSH_DIR="${TESTBED_SSH_DIR:-$TESTBED_CACHE/ssh}"
TESTBED_SSH_USER="prodready-ansible"
# A normal account's uid (>= 1000): the hardening role gives system accounts (uid < 1000) nologin.
TESTBED_SSH_UID=2000
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
  # Ansible reaches the test hosts over SSH.
  command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
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
  # The automation account's public key is baked in: a new controller key makes new images.
  recipe_hash=$(printf '%s|%s|%s|%s|%s|%s|%s' "${TESTBED_RELEASES[$version]}" "$TESTBED_PACKAGES" "$(declare -f build_image)" \
    "$(declare -f install_automation_account)" "$TESTBED_SSH_USER" "$TESTBED_SSH_UID" "$(cat "$TESTBED_SSH_DIR/id_ed25519.pub")" \
    | sha256sum | cut -c1-10)
  printf '%s:%s-%s' "$TESTBED_IMAGE_REPO" "$version" "$recipe_hash"
}

ensure_ssh_key() {
  # The controller's key for the automation account: made once, kept in the test bed cache.
  local key="$TESTBED_SSH_DIR/id_ed25519"
  (umask 077; mkdir -p "$TESTBED_SSH_DIR")
  chmod 0700 "$TESTBED_SSH_DIR"
  if [ ! -f "$key" ] || [ ! -f "$key.pub" ]; then
    rm -f "$key" "$key.pub"
    ssh-keygen -q -t ed25519 -N '' -C "$TESTBED_SSH_USER@prodready-testbed" -f "$key" \
      || die "ssh-keygen could not make $key. Fix: check that $TESTBED_SSH_DIR is writable."
    log "made the automation key $key"
  fi
  chmod 0600 "$key"
  touch "$TESTBED_SSH_DIR/known_hosts" "$TESTBED_SSH_DIR/config"
  chmod 0600 "$TESTBED_SSH_DIR/known_hosts" "$TESTBED_SSH_DIR/config"
}

install_automation_account() {
  # Key only: the password field is '*' (no password matches it; unlike '!' it is not a "locked"
  # account to sshd). Passwordless sudo through its own sudoers.d file, validated with visudo.
  local rootfs="$1" home="/home/$TESTBED_SSH_USER"
  chroot "$rootfs" useradd --uid "$TESTBED_SSH_UID" --user-group --groups sudo --create-home \
    --shell /bin/bash --comment "prodready test bed automation" "$TESTBED_SSH_USER"
  chroot "$rootfs" usermod -p '*' "$TESTBED_SSH_USER"
  chmod 0750 "$rootfs$home"
  install -d -m 0700 -o "$TESTBED_SSH_UID" -g "$TESTBED_SSH_UID" "$rootfs$home/.ssh"
  install -m 0600 -o "$TESTBED_SSH_UID" -g "$TESTBED_SSH_UID" "$TESTBED_SSH_DIR/id_ed25519.pub" "$rootfs$home/.ssh/authorized_keys"
  printf '%s ALL=(ALL:ALL) NOPASSWD: ALL\n' "$TESTBED_SSH_USER" >"$rootfs/etc/sudoers.d/90-prodready-testbed"
  chmod 0440 "$rootfs/etc/sudoers.d/90-prodready-testbed"
  chroot "$rootfs" visudo -cq -f /etc/sudoers.d/90-prodready-testbed
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
  install_automation_account "$rootfs"
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
  ensure_ssh_key
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
  ensure_ssh_key
  # This checkout's build, not the short alias another checkout's `up` may have re-pointed.
  local image
  image=$(image_tag "$version")
  docker image inspect "$image" >/dev/null 2>&1 || die "image $image is missing. Fix: tools/testbed.sh up"
  local running
  if ! running=$(docker container inspect -f '{{.State.Running}}' "$name" 2>/dev/null); then
    running=absent
  fi
  # A host from an older recipe (e.g. without the automation account) is made again.
  if [ "$running" != absent ] \
      && [ "$(docker container inspect -f '{{.Image}}' "$name")" != "$(docker image inspect -f '{{.Id}}' "$image")" ]; then
    log "$name runs an older test bed image: re-creating it from $image"
    cmd_rm "$name"
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
  cmd_trust "$name" >/dev/null
}

# Rewrites known_hosts and config without NAME's entries (and, for known_hosts, without entries
# for ADDRESS, which a removed host may have left), then appends what stdin holds for each file
# (lines starting with "known_hosts " or "config "). One writer at a time; readers see the old or
# the new file (rename), never a half-written one.
ssh_entries_replace() {
  local name="$1" address="$2" input
  input=$(cat)
  (
    flock -w 60 8 || die "another test bed command has held $TESTBED_SSH_DIR/entries.lock for 60 s"
    touch "$TESTBED_SSH_DIR/known_hosts" "$TESTBED_SSH_DIR/config"
    awk -v name="$name" -v addr="$address" '
      { n = split($1, names, ","); keep = 1
        for (i = 1; i <= n; i++) if (names[i] == name || (addr != "" && names[i] == addr)) keep = 0 }
      keep' "$TESTBED_SSH_DIR/known_hosts" >"$TESTBED_SSH_DIR/known_hosts.new"
    printf '%s\n' "$input" | sed -n 's/^known_hosts //p' >>"$TESTBED_SSH_DIR/known_hosts.new"
    # config: blocks of "Host NAME" and their indented lines; NAME's block goes, and so does the
    # block of any other name mapped to ADDRESS (a removed host whose address was handed out again).
    awk -v name="$name" -v addr="$address" '
      FNR == NR { if ($1 == "Host") host = $2; else if ($1 == "HostName" && addr != "" && $2 == addr) stale[host] = 1; next }
      /^Host / { skip = ($2 == name || ($2 in stale)) }
      !skip' "$TESTBED_SSH_DIR/config" "$TESTBED_SSH_DIR/config" >"$TESTBED_SSH_DIR/config.new"
    printf '%s\n' "$input" | sed -n 's/^config //p' >>"$TESTBED_SSH_DIR/config.new"
    chmod 0600 "$TESTBED_SSH_DIR/known_hosts.new" "$TESTBED_SSH_DIR/config.new"
    mv "$TESTBED_SSH_DIR/known_hosts.new" "$TESTBED_SSH_DIR/known_hosts"
    mv "$TESTBED_SSH_DIR/config.new" "$TESTBED_SSH_DIR/config"
  ) 8>"$TESTBED_SSH_DIR/entries.lock"
}

container_address() {
  docker container inspect -f "{{with index .NetworkSettings.Networks \"$TESTBED_NETWORK\"}}{{.IPAddress}}{{end}}" "$1" 2>/dev/null || true
}

cmd_trust() {
  local name="$1" address hostkey
  ensure_ssh_key
  address=$(container_address "$name")
  [ -n "$address" ] || die "$name is not running on network $TESTBED_NETWORK. Fix: tools/testbed.sh host NAME IMAGE_TAG IP (or Molecule create)"
  docker exec "$name" systemctl is-active --quiet ssh.service \
    || die "sshd is not running in $name. Fix: docker exec $name systemctl status ssh.service"
  # The host's own key, read through the container runtime (not from the network, where anyone
  # could answer). Ed25519 only: the hardening role replaces RSA host keys below 4096 bits, and
  # with only an Ed25519 entry known the client asks for that one.
  hostkey=$(docker exec "$name" cat /etc/ssh/ssh_host_ed25519_key.pub | awk '{print $1, $2}')
  case "$hostkey" in
    "ssh-ed25519 "?*) ;;
    *) die "$name has no Ed25519 host key (/etc/ssh/ssh_host_ed25519_key.pub). Fix: docker exec $name ssh-keygen -A" ;;
  esac
  printf 'known_hosts %s %s\nconfig Host %s\nconfig   HostName %s\nconfig   HostKeyAlias %s\n' \
    "$name,$address" "$hostkey" "$name" "$address" "$name" | ssh_entries_replace "$name" "$address"
  # Molecule's instance config entry (molecule/_shared/create.yml): reached by name through the
  # config above.
  printf '{"instance": "%s", "address": "%s", "user": "%s", "port": 22, "identity_file": "%s", "connection": "ssh"}\n' \
    "$name" "$name" "$TESTBED_SSH_USER" "$TESTBED_SSH_DIR/id_ed25519"
}

cmd_rm() {
  local name address
  for name in "$@"; do
    address=$(container_address "$name")
    docker rm -f "$name" >/dev/null 2>&1 || true
    [ ! -d "$TESTBED_SSH_DIR" ] || ssh_entries_replace "$name" "$address" </dev/null
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
  # No test host is left: no host key or address entry is either (the key pair stays).
  rm -f "$TESTBED_SSH_DIR/known_hosts" "$TESTBED_SSH_DIR/config"
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
    trust) [ $# -eq 1 ] || die "usage: $0 trust NAME"; cmd_trust "$1" ;;
    rm) cmd_rm "$@" ;;
    image-tag) ensure_ssh_key; image_tag "$1" ;;
    *) die "unknown command $cmd (up|engine|images|network|host|wait|trust|rm|clean|status)" ;;
  esac
}
main "$@"
