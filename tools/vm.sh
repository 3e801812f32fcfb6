#!/usr/bin/env bash
# Real-kernel test VMs for prodready.platform (`make test-vm`): what containers cannot show
# (auditd rules loaded, sysctl live, AppArmor enforcing, nftables active, faillock over real SSH).
# QEMU with TCG (this machine's /dev/kvm is PVM-only: stock kernels cannot use it), direct kernel
# boot, Debian base images from Debian packages only, disposable qcow2 overlays, user-mode
# networking with SSH forwarded to 127.0.0.1 — nothing on the machine's interfaces, routes or
# firewall changes.
#
#   tools/vm.sh build 12|13          base image (debootstrap + linux-image-amd64), booted once; cached
#                                    (VM_BASE_PACKAGES: Debian packages apt installs into the image
#                                    at build time, on the host: a separate, equally cached base;
#                                    VM_TOOL_PACKAGES: measuring tools such as lynis that every base
#                                    carries, the stock one too)
#   tools/vm.sh image 12|13          the build without its boot (debootstrap + raw image only)
#   tools/vm.sh up NAME 12|13 PORT   overlay VM with SSH on 127.0.0.1:PORT; waits for SSH and
#                                    records its host key in $VM_CACHE/known_hosts
#   tools/vm.sh down NAME            stop the VM and delete its overlay
#   tools/vm.sh ssh NAME [CMD...]    SSH in as the automation user (host key checking on)
#   tools/vm.sh env NAME             the connection settings of NAME as shell variables
#   tools/vm.sh status               running VMs and built images
#   tools/vm.sh clean [images]       stop every VM (and delete the base images with `images`)
set -euo pipefail
# remove_rootfs
# shellcheck source=tools/rootfs.sh
. "$(dirname "${BASH_SOURCE[0]}")/rootfs.sh"

VM_CACHE="${VM_CACHE:-/var/cache/prodready-vm}"
VM_RUN="$VM_CACHE/run"
VM_MIRROR="${VM_MIRROR:-http://deb.debian.org/debian}"
VM_USER="${VM_USER:-automation}"
VM_KEY="$VM_CACHE/id_ed25519"
VM_KNOWN_HOSTS="$VM_CACHE/known_hosts"
VM_KERNEL_PACKAGE="${VM_KERNEL_PACKAGE:-linux-image-amd64}"
# Packages a base image carries beyond a stock Debian server (space or comma separated), installed
# by apt in the build chroot at native speed instead of inside a VM under TCG (~10x slower there).
# Their base is a separate "pkgs" image beside the "stock" one, keyed by the sorted list.
normalize_packages() { printf '%s' "$1" | tr -s ', \t' '\n' | sed '/^$/d' | sort -u | paste -sd, -; }
VM_BASE_PACKAGES=$(normalize_packages "${VM_BASE_PACKAGES:-}")
# Tools that measure a host without hardening it (lynis): installed into every base, the stock one
# included, so a stock VM stays stock but for the tool and no apt runs under TCG to get it.
VM_TOOL_PACKAGES=$(normalize_packages "${VM_TOOL_PACKAGES:-}")
# What Ansible needs to manage the VM (python3-apt for ansible.builtin.apt) and what a stock
# Debian server has for its kernel features (apparmor, kmod, udev). Roles install the rest.
VM_PACKAGES="$VM_KERNEL_PACKAGE,initramfs-tools,systemd-sysv,udev,dbus,kmod,apparmor,openssh-server,sudo,python3,python3-apt,iproute2,procps,ca-certificates,gpg,less"
# Only what a virtio guest needs to mount its root: a small initramfs builds and boots faster.
VM_INITRAMFS_MODULES=(virtio_pci virtio_blk virtio_net virtio_rng ext4)
VM_DISK_SIZE="${VM_DISK_SIZE:-8G}"
VM_MEMORY_MB="${VM_MEMORY_MB:-1024}"
# Several VMs may run at once (distinct names and ports; builds of one version wait for each other).
VM_CPUS="${VM_CPUS:-2}"
# TCG: several host threads for several vCPUs; the default translation cache costs ~1 GB per VM.
VM_ACCEL="${VM_ACCEL:-tcg,thread=multi,tb-size=256}"
VM_BOOT_TIMEOUT="${VM_BOOT_TIMEOUT:-300}"
declare -A VM_RELEASES=([12]=bookworm [13]=trixie)

log() { printf '[vm] %s\n' "$*" >&2; }
die() { printf '[vm] ERROR: %s\n' "$*" >&2; exit 1; }

ensure_packages() {
  local missing=()
  command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
  command -v qemu-img >/dev/null 2>&1 || missing+=(qemu-utils)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v mkfs.ext4 >/dev/null 2>&1 || missing+=(e2fsprogs)
  command -v sshpass >/dev/null 2>&1 || missing+=(sshpass)
  command -v ss >/dev/null 2>&1 || missing+=(iproute2)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} from Debian"
  if ! { apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"; } >"$VM_CACHE/apt.log" 2>&1; then
    tail -5 "$VM_CACHE/apt.log" >&2
    die "apt-get could not install ${missing[*]} (see $VM_CACHE/apt.log). Fix: check the Debian mirror is reachable and run as root."
  fi
}

check_version() {
  [ -n "${VM_RELEASES[${1:-}]+x}" ] || die "unknown Debian version '${1:-}': use 12 or 13"
}

ensure_key() {
  # The automation user's key lives only here (0600); every base image trusts its public half.
  [ -f "$VM_KEY" ] && return 0
  ssh-keygen -q -t ed25519 -N '' -C "prodready-vm-automation" -f "$VM_KEY"
  chmod 0600 "$VM_KEY"
}

base_id() {
  # Keyed by everything the image is made of: a changed package list, recipe or key rebuilds.
  local version="$1"
  ensure_key
  printf '%s|%s|%s|%s|%s|%s|%s|%s' "${VM_RELEASES[$version]}" "$VM_PACKAGES" "$VM_BASE_PACKAGES" "$VM_TOOL_PACKAGES" "${VM_INITRAMFS_MODULES[*]}" \
      "$VM_USER" "$(cat "$VM_KEY.pub")" "$(declare -f build_rootfs upgrade_base build_image boot_once)" \
    | sha256sum | cut -c1-10
}

# stock: debootstrap's server packages, upgraded; pkgs: also VM_BASE_PACKAGES. Both are kept side by side.
base_flavor() { if [ -n "$VM_BASE_PACKAGES" ]; then echo pkgs; else echo stock; fi; }

base_prefix() { printf '%s/base-%s-%s-%s' "$VM_CACHE" "$1" "$(base_flavor)" "$(base_id "$1")"; }

upgrade_base() {
  # upgrade_base RELEASE ROOTFS LOG: apt in the build chroot, on the host, at native speed: the
  # release's updates and security fixes (as on a kept server: unattended-upgrades then finds
  # nothing to do in the VM, Lynis no pending security update; the kernel stays debootstrap's),
  # then VM_BASE_PACKAGES as the roles' own apt runs would install them (no recommends). No
  # service starts (policy-rc.d); downloads are kept with debootstrap's. /dev/pts is not mounted:
  # dpkg then keeps no terminal log, which changes nothing.
  local release="$1" rootfs="$2" logfile="$3"
  local -a names=()
  local wanted
  wanted=$(normalize_packages "$VM_BASE_PACKAGES,$VM_TOOL_PACKAGES")
  [ -z "$wanted" ] || IFS=, read -r -a names <<<"$wanted"
  log "upgrading Debian $release and installing ${#names[@]} base and tool packages with apt in the chroot"
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"; chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
  mkdir -p "$VM_CACHE/debs-$release/partial"
  mount --bind "$VM_CACHE/debs-$release" "$rootfs/var/cache/apt/archives"
  mount -t proc proc "$rootfs/proc"
  local rc=0
  { chroot "$rootfs" apt-get -q update \
      && DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get -q -y upgrade \
      && { [ ${#names[@]} -eq 0 ] \
           || DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get -q install -y --no-install-recommends "${names[@]}"; }
  } >>"$logfile" 2>&1 || rc=$?
  umount "$rootfs/proc"; umount "$rootfs/var/cache/apt/archives"
  rm -f "$rootfs/usr/sbin/policy-rc.d"
  [ $rc -eq 0 ] && return 0
  remove_rootfs "$rootfs"
  if grep -q 'Unable to locate package' "$logfile"; then
    die "Debian $release has no package $(grep -o 'Unable to locate package .*' "$logfile" | cut -d' ' -f5 | paste -sd' ' -) (log: $logfile). Fix: correct VM_BASE_PACKAGES or VM_TOOL_PACKAGES."
  fi
  tail -n 10 "$logfile" >&2
  die "apt could not upgrade Debian $release or install VM_BASE_PACKAGES/VM_TOOL_PACKAGES (log above, full log in $logfile). Fix: check that $VM_MIRROR is reachable and retry."
}

build_rootfs() {
  local version="$1" release="${VM_RELEASES[$1]}" rootfs="$2"
  local logfile="$VM_CACHE/debootstrap-$release.log"
  remove_rootfs "$rootfs"; mkdir -p "$rootfs"
  printf 'timeout = 30\ntries = 5\nretry_connrefused = on\n' >"$VM_CACHE/wgetrc"
  log "debootstrap Debian $release with $VM_KERNEL_PACKAGE (a few minutes)"
  # Downloaded packages are kept: a changed recipe rebuilds without fetching them again.
  mkdir -p "$VM_CACHE/debs-$release"
  if ! WGETRC="$VM_CACHE/wgetrc" debootstrap --variant=minbase --cache-dir="$VM_CACHE/debs-$release" \
      --include="$VM_PACKAGES" "$release" "$rootfs" "$VM_MIRROR" \
      >"$logfile" 2>&1; then
    remove_rootfs "$rootfs"
    if grep -q "Couldn't find these debs" "$logfile"; then
      die "Debian $release has no package $(grep -o "Couldn't find these debs:.*" "$logfile" | cut -d: -f2- | sed "s/^ *//") (log: $logfile). Fix: set VM_KERNEL_PACKAGE to a kernel package of $release (default linux-image-amd64)."
    fi
    tail -n 10 "$logfile" >&2
    die "debootstrap of Debian $release failed (log above, full log in $logfile). Fix: check that $VM_MIRROR is reachable and retry."
  fi
  ls "$rootfs"/boot/vmlinuz-* >/dev/null 2>&1 \
    || { remove_rootfs "$rootfs"; die "$VM_KERNEL_PACKAGE installed no kernel in /boot of Debian $release. Fix: set VM_KERNEL_PACKAGE to a linux-image package."; }

  cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $VM_MIRROR $release main
deb $VM_MIRROR $release-updates main
deb http://deb.debian.org/debian-security $release-security main
SOURCES
  upgrade_base "$release" "$rootfs" "$logfile"
  printf '/dev/vda / ext4 errors=remount-ro 0 1\n' >"$rootfs/etc/fstab"
  echo "prodready-vm" >"$rootfs/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 prodready-vm\n::1 localhost ip6-localhost ip6-loopback\n' >"$rootfs/etc/hosts"
  # User-mode networking: DHCP on the first NIC (ens3), QEMU's DNS forwarder.
  printf '[Match]\nName=en*\n\n[Network]\nDHCP=ipv4\n' >"$rootfs/etc/systemd/network/80-vm.network"
  # (systemd 257 warns that /proc is not mounted in the chroot: into the log with the rest.)
  chroot "$rootfs" systemctl enable --quiet systemd-networkd.service 2>>"$logfile"
  rm -f "$rootfs/etc/resolv.conf"; echo "nameserver 10.0.2.3" >"$rootfs/etc/resolv.conf"
  echo 'LANG=C.UTF-8' >"$rootfs/etc/default/locale"
  # sshd host keys are made per VM at its first boot, never shared through the base image.
  rm -f "$rootfs"/etc/ssh/ssh_host_*
  mkdir -p "$rootfs/etc/systemd/system/ssh.service.d"
  printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
    >"$rootfs/etc/systemd/system/ssh.service.d/10-vm-hostkeys.conf"
  # The automation user: a login account (uid >= 1000) with the cached key and password-less sudo,
  # as an operator's or AWX's connection account is.
  chroot "$rootfs" useradd --create-home --shell /bin/bash --user-group "$VM_USER"
  install -d -m 0700 -o 1000 -g 1000 "$rootfs/home/$VM_USER/.ssh"
  install -m 0600 -o 1000 -g 1000 "$VM_KEY.pub" "$rootfs/home/$VM_USER/.ssh/authorized_keys"
  printf '%s ALL=(ALL:ALL) NOPASSWD: ALL\n' "$VM_USER" >"$rootfs/etc/sudoers.d/50-$VM_USER"
  chmod 0440 "$rootfs/etc/sudoers.d/50-$VM_USER"
  # A virtio-only initramfs.
  sed -i 's/^MODULES=.*/MODULES=list/' "$rootfs/etc/initramfs-tools/initramfs.conf"
  printf '%s\n' "${VM_INITRAMFS_MODULES[@]}" >>"$rootfs/etc/initramfs-tools/modules"
  mount -t proc proc "$rootfs/proc"
  chroot "$rootfs" update-initramfs -u -k all >>"$logfile" 2>&1 || { remove_rootfs "$rootfs"; die "update-initramfs failed (log: $logfile)"; }
  umount "$rootfs/proc"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  # A fresh machine-id per VM (systemd makes one at first boot when the file is empty).
  : >"$rootfs/etc/machine-id"
}

build_image() {
  local version="$1" prefix="$2" rootfs="$VM_CACHE/rootfs-${VM_RELEASES[$1]}"
  build_rootfs "$version" "$rootfs"
  cp "$(find "$rootfs/boot" -name 'vmlinuz-*' | sort -V | tail -n 1)" "$prefix.vmlinuz"
  cp "$(find "$rootfs/boot" -name 'initrd.img-*' | sort -V | tail -n 1)" "$prefix.initrd"
  rm -f "$prefix.raw"; truncate -s "$VM_DISK_SIZE" "$prefix.raw"
  # mkfs copies the tree (owners, modes, xattrs) into the file system: no loop device, no mount.
  mkfs.ext4 -q -F -L root -d "$rootfs" "$prefix.raw" || { rm -f "$prefix.raw"; die "mkfs.ext4 -d could not build $prefix.raw"; }
  remove_rootfs "$rootfs"
  touch "$prefix.image-ok"
}

qemu_args() {
  # qemu_args PREFIX DISK FORMAT PORT DIR: one VM, SSH forwarded from 127.0.0.1:PORT only.
  local prefix="$1" disk="$2" format="$3" port="$4" dir="$5"
  printf '%s\n' -machine pc -accel "$VM_ACCEL" -cpu max -smp "$VM_CPUS" -m "$VM_MEMORY_MB" \
    -kernel "$prefix.vmlinuz" -initrd "$prefix.initrd" \
    -append "root=/dev/vda rw console=ttyS0 quiet" \
    -drive "file=$disk,if=virtio,format=$format,cache=writeback" \
    -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=n0 \
    -device virtio-rng-pci \
    -display none -monitor none -serial "file:$dir/console.log" \
    -pidfile "$dir/qemu.pid" -daemonize
}

port_taken() {
  [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
}

free_port() {
  # free_port OFFSET: a loopback port for a build boot; the VM's SSH is never exposed beyond
  # 127.0.0.1. Concurrent builds (one per version, each under its version's lock) start their
  # search at different offsets, so they never pick the same free port at the same moment.
  local port
  for port in $(seq $((42200 + $1)) 42299); do
    port_taken "$port" || { echo "$port"; return 0; }
  done
  die "no free port in $((42200 + $1))-42299 for the build boot"
}

stop_qemu() {
  local dir="$1" pid
  [ -f "$dir/qemu.pid" ] || return 0
  pid=$(cat "$dir/qemu.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/qemu.pid"
}

ssh_opts() {
  printf '%s\n' -i "$VM_KEY" -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=10 \
    -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$VM_KNOWN_HOSTS" -o LogLevel=ERROR -p "$1"
}

forget_host_key() {
  # ssh-keygen -R rewrites known_hosts: under a lock, or a VM starting beside it loses its entry.
  ( flock -w 60 9; ssh-keygen -R "[127.0.0.1]:$1" -f "$VM_KNOWN_HOSTS" >/dev/null 2>&1 || true ) 9>"$VM_KNOWN_HOSTS.lock"
}

wait_ssh() {
  # Waits for sshd, records its host key for [127.0.0.1]:PORT, then logs in with host key
  # checking on. The key comes over loopback from the VM this script just started.
  local dir="$1" port="$2" deadline=$((SECONDS + VM_BOOT_TIMEOUT)) keys
  local -a opts
  mapfile -t opts < <(ssh_opts "$port")
  touch "$VM_KNOWN_HOSTS"; chmod 0644 "$VM_KNOWN_HOSTS"
  while [ $SECONDS -lt $deadline ]; do
    # (No pid file: an empty argument, which kill refuses; `kill -0 0` would test our own group.)
    kill -0 "$(cat "$dir/qemu.pid" 2>/dev/null || true)" 2>/dev/null || return 2
    keys=$(ssh-keyscan -T 5 -t ed25519 -p "$port" 127.0.0.1 2>/dev/null || true)
    if [ -n "$keys" ]; then
      forget_host_key "$port"
      ( flock -w 60 9; printf '%s\n' "$keys" >>"$VM_KNOWN_HOSTS" ) 9>"$VM_KNOWN_HOSTS.lock"
      if ssh "${opts[@]}" "$VM_USER@127.0.0.1" true 2>/dev/null; then
        return 0
      fi
    fi
    sleep 3
  done
  return 1
}

boot_once() {
  # The first boot compiles AppArmor's policy cache, settles udev and systemd's first-boot work;
  # keeping it in the base makes every VM's boot shorter. Host keys and machine-id are dropped
  # again so each VM makes its own.
  local prefix="$1" version="$2" dir port
  dir="$VM_CACHE/build-boot-${prefix##*/}"
  port=$(free_port $((version * 4)))
  rm -rf "$dir"; mkdir -p "$dir"
  local -a args opts
  mapfile -t args < <(qemu_args "$prefix" "$prefix.raw" raw "$port" "$dir")
  log "booting $(basename "$prefix") once (TCG, up to $VM_BOOT_TIMEOUT s)"
  qemu-system-x86_64 "${args[@]}" || die "QEMU could not start the build boot"
  trap 'stop_qemu "'"$dir"'"' EXIT
  if ! wait_ssh "$dir" "$port"; then
    tail -n 20 "$dir/console.log" >&2 || true
    stop_qemu "$dir"
    die "the base image did not answer SSH within $VM_BOOT_TIMEOUT s (console: $dir/console.log)"
  fi
  mapfile -t opts < <(ssh_opts "$port")
  ssh "${opts[@]}" "$VM_USER@127.0.0.1" \
    'sudo sh -c "rm -f /etc/ssh/ssh_host_*; : >/etc/machine-id; sync; systemctl poweroff"' >/dev/null 2>&1 || true
  local pid; pid=$(cat "$dir/qemu.pid" 2>/dev/null || echo 0)
  for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  if kill -0 "$pid" 2>/dev/null; then
    stop_qemu "$dir"; trap - EXIT
    die "the base image did not power off within 120 s after its first boot"
  fi
  trap - EXIT
  forget_host_key "$port"
  rm -rf "$dir"
}

VM_BUILD_LOCKED=""
lock_build() {
  # One build of a version at a time (its rootfs directory is per release); held until this
  # script exits, so a concurrent `up` of the same base waits for the image and its first boot.
  [ "$VM_BUILD_LOCKED" = "$1" ] && return 0
  exec 8>"$VM_CACHE/build-$1.lock"
  flock -w 1800 8 || die "another build of Debian $1 holds $VM_CACHE/build-$1.lock"
  VM_BUILD_LOCKED="$1"
}

unlock_build() {
  # The base is ready: VMs of it may start beside this one.
  [ -z "$VM_BUILD_LOCKED" ] || exec 8>&-
  VM_BUILD_LOCKED=""
}

cmd_image() {
  local version="$1" prefix
  check_version "$version"
  prefix=$(base_prefix "$version")
  [ -f "$prefix.image-ok" ] && return 0
  lock_build "$version"
  [ -f "$prefix.image-ok" ] || build_image "$version" "$prefix"
}

cmd_build() {
  local version="$1" prefix started=$SECONDS
  check_version "$version"
  prefix=$(base_prefix "$version")
  [ -f "$prefix.ready" ] && return 0
  lock_build "$version"
  [ -f "$prefix.ready" ] && { unlock_build; return 0; }
  cmd_image "$version"
  boot_once "$prefix" "$version"
  touch "$prefix.ready"
  # Older bases of this version and flavour are stale now (the other flavour's base stays).
  local other; other=$([ "$(base_flavor)" = pkgs ] && echo stock || echo pkgs)
  find "$VM_CACHE" -maxdepth 1 -name "base-$version-*" ! -name "base-$version-$other-*" \
    ! -name "$(basename "$prefix").*" -delete
  log "built $(basename "$prefix") in $((SECONDS - started)) s"
  unlock_build
}

check_name() {
  [[ "${1:-}" =~ ^[a-z0-9][a-z0-9-]{0,30}$ ]] || die "bad VM name '${1:-}': lower-case letters, digits and '-', at most 31 characters"
}

cmd_up() {
  local name="$1" version="$2" port="$3" dir prefix started=$SECONDS
  check_name "$name"; check_version "$version"
  if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1024 ] || [ "$port" -gt 65535 ]; then
    die "bad port '$port': a number from 1024 to 65535"
  fi
  dir="$VM_RUN/$name"
  if [ -f "$dir/qemu.pid" ] && kill -0 "$(cat "$dir/qemu.pid")" 2>/dev/null; then
    if [ "$(cat "$dir/port")" != "$port" ] || [ "$(cat "$dir/version")" != "$version" ]; then
      die "VM $name already runs (Debian $(cat "$dir/version"), port $(cat "$dir/port")). Fix: tools/vm.sh down $name"
    fi
    log "VM $name already runs on 127.0.0.1:$port"
    return 0
  fi
  port_taken "$port" && die "port 127.0.0.1:$port is already taken ($(ss -Htlnp "sport = :$port" | awk '{print $NF}' | head -n 1)). Fix: pick another port."
  cmd_build "$version"
  prefix=$(base_prefix "$version")
  rm -rf "$dir"; mkdir -p "$dir"
  echo "$port" >"$dir/port"; echo "$version" >"$dir/version"
  qemu-img create -q -f qcow2 -F raw -b "$prefix.raw" "$dir/disk.qcow2"
  local -a args
  mapfile -t args < <(qemu_args "$prefix" "$dir/disk.qcow2" qcow2 "$port" "$dir")
  # Nothing stays running when start-up fails or is interrupted.
  trap 'stop_qemu "'"$dir"'"; rm -rf "'"$dir"'"' EXIT
  trap 'exit 130' INT TERM
  qemu-system-x86_64 -name "prodready-vm-$name" "${args[@]}" 2>"$dir/qemu.err" \
    || die "QEMU could not start VM $name: $(cat "$dir/qemu.err")"
  log "VM $name (Debian $version) booting, SSH on 127.0.0.1:$port (up to $VM_BOOT_TIMEOUT s)"
  local rc=0
  wait_ssh "$dir" "$port" || rc=$?
  if [ $rc -ne 0 ]; then
    tail -n 15 "$dir/console.log" >&2 || true
    [ $rc -eq 2 ] && die "VM $name stopped during boot (console above); nothing is left running."
    die "VM $name did not answer SSH on 127.0.0.1:$port within $VM_BOOT_TIMEOUT s (console above); it was stopped. Fix: raise VM_BOOT_TIMEOUT on a busy machine."
  fi
  trap - EXIT INT TERM
  log "VM $name is up in $((SECONDS - started)) s: ssh -p $port $VM_USER@127.0.0.1 (key $VM_KEY, known_hosts $VM_KNOWN_HOSTS)"
}

cmd_down() {
  local name="$1" dir
  check_name "$name"
  dir="$VM_RUN/$name"
  [ -d "$dir" ] || return 0
  stop_qemu "$dir"
  if [ -f "$dir/port" ]; then
    forget_host_key "$(cat "$dir/port")"
  fi
  rm -rf "$dir"
  log "VM $name removed"
}

cmd_ssh() {
  local name="$1"; shift
  local dir="$VM_RUN/$name"
  [ -f "$dir/port" ] || die "no VM $name (tools/vm.sh status)"
  local -a opts
  mapfile -t opts < <(ssh_opts "$(cat "$dir/port")")
  exec ssh "${opts[@]}" "$VM_USER@127.0.0.1" "$@"
}

cmd_env() {
  local name="$1" dir="$VM_RUN/$1"
  [ -f "$dir/port" ] || die "no VM $name (tools/vm.sh status)"
  printf 'VM_PORT=%s\nVM_VERSION=%s\nVM_USER=%s\nVM_KEY=%s\nVM_KNOWN_HOSTS=%s\n' \
    "$(cat "$dir/port")" "$(cat "$dir/version")" "$VM_USER" "$VM_KEY" "$VM_KNOWN_HOSTS"
}

cmd_status() {
  local dir state
  for dir in "$VM_RUN"/*/; do
    [ -f "$dir/port" ] || continue
    state=stopped
    [ -f "$dir/qemu.pid" ] && kill -0 "$(cat "$dir/qemu.pid")" 2>/dev/null && state="running (pid $(cat "$dir/qemu.pid"))"
    printf '%s\tDebian %s\t127.0.0.1:%s\t%s\n' "$(basename "$dir")" "$(cat "$dir/version")" "$(cat "$dir/port")" "$state"
  done
  find "$VM_CACHE" -maxdepth 1 -name 'base-*.ready' | sed 's/\.ready$/ (ready)/'
}

cmd_clean() {
  local dir
  for dir in "$VM_RUN"/*/; do
    [ -d "$dir" ] && cmd_down "$(basename "$dir")"
  done
  if [ "${1:-}" = images ]; then
    rm -f "$VM_CACHE"/base-*
    log "removed the base images"
  fi
}

main() {
  local cmd="${1:-status}"; shift || true
  [ "$(id -u)" = 0 ] || die "the VM tier needs root (debootstrap, chroot)"
  mkdir -p "$VM_CACHE" "$VM_RUN"
  ensure_packages
  case "$cmd" in
    build|image) [ $# -eq 1 ] || die "usage: $0 $cmd 12|13"; "cmd_$cmd" "$1" ;;
    up) [ $# -eq 3 ] || die "usage: $0 up NAME 12|13 PORT"; cmd_up "$@" ;;
    down) [ $# -eq 1 ] || die "usage: $0 down NAME"; cmd_down "$1" ;;
    ssh) [ $# -ge 1 ] || die "usage: $0 ssh NAME [COMMAND...]"; cmd_ssh "$@" ;;
    env) [ $# -eq 1 ] || die "usage: $0 env NAME"; cmd_env "$1" ;;
    status) cmd_status ;;
    clean) cmd_clean "$@" ;;
    *) die "unknown command $cmd (build|image|up|down|ssh|env|status|clean)" ;;
  esac
}
main "$@"
