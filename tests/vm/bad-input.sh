#!/usr/bin/env bash
# tests/vm/bad-input.sh VERSION: tools/vm.sh meets bad input with a clear error and leaves nothing
# running (issue 26's acceptance). Run by tests/vm/run.sh after the converges; alone it builds the
# base of VERSION first (with the caller's VM_BASE_PACKAGES) when it is missing.
#   - port taken:      a listener holds 127.0.0.1:PORT; `up` refuses before starting QEMU
#   - kernel package:  VM_KERNEL_PACKAGE names no package of the release; the image build stops
#                      after debootstrap's dependency check (own cache dir: the real one stays)
#   - unreachable VM:  VM_BOOT_TIMEOUT shorter than the boot; QEMU is stopped and its run
#                      directory removed
#   - unknown VM:      `ssh` to a VM that does not exist
set -euo pipefail
cd "$(dirname "$0")/../.."

version="${1:-12}"
VM_CACHE="${VM_CACHE:-/var/cache/prodready-vm}"
port="${VM_BAD_INPUT_PORT:-42390}"
WORK=$(mktemp -d /tmp/prodready-vm-bad-input.XXXXXX)
listener_pid=""

cleanup() {
  if [ -n "$listener_pid" ]; then kill "$listener_pid" 2>/dev/null || true; fi
  tools/vm.sh down bad-input-port >/dev/null 2>&1 || true
  tools/vm.sh down bad-input-boot >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

log() { printf '[bad-input] %s\n' "$*" >&2; }
fail() { printf '[bad-input] FAILED: %s\n' "$*" >&2; exit 1; }

# expect_failure CASE PATTERN CMD...: CMD must fail with an error matching PATTERN (ERE).
expect_failure() {
  local name="$1" pattern="$2" rc=0; shift 2
  "$@" >"$WORK/$name.out" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] || fail "$name: '$*' succeeded; output: $(cat "$WORK/$name.out")"
  grep -Eq "$pattern" "$WORK/$name.out" \
    || fail "$name: the error does not match /$pattern/: $(cat "$WORK/$name.out")"
  log "$name: refused as expected: $(grep -E "$pattern" "$WORK/$name.out" | head -n 1)"
}

# assert_nothing_left NAME: no QEMU of the VM, no run directory, nothing listening on the port
# except what the test itself holds.
assert_nothing_left() {
  local name="$1"
  if pgrep -f -- "-name prodready-vm-$name( |$)" >/dev/null; then
    fail "$name: a QEMU process is left: $(pgrep -a -f -- "-name prodready-vm-$name( |$)")"
  fi
  [ ! -e "$VM_CACHE/run/$name" ] || fail "$name: $VM_CACHE/run/$name is left"
}

port_listeners() { ss -Htlnp "sport = :$port"; }

[ -z "$(port_listeners)" ] || fail "port $port is in use before the test: $(port_listeners) (set VM_BAD_INPUT_PORT)"

# 1. A taken port.
python3 -c 'import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
time.sleep(900)' "$port" &
listener_pid=$!
for _ in $(seq 1 50); do [ -n "$(port_listeners)" ] && break; sleep 0.1; done
[ -n "$(port_listeners)" ] || fail "the test's own listener did not come up on $port"
expect_failure port-taken "port 127\.0\.0\.1:$port is already taken .*Fix: pick another port" \
  tools/vm.sh up bad-input-port "$version" "$port"
assert_nothing_left bad-input-port
kill "$listener_pid"; wait "$listener_pid" 2>/dev/null || true; listener_pid=""

# 2. A kernel package the release does not have (a throw-away cache: the real bases stay).
mkdir -p "$WORK/cache"
expect_failure kernel-package "Debian [a-z]+ has no package linux-image-prodready-missing .*Fix: set VM_KERNEL_PACKAGE" \
  env VM_CACHE="$WORK/cache" VM_KERNEL_PACKAGE=linux-image-prodready-missing tools/vm.sh image "$version"
leftover=$(find "$WORK/cache" -maxdepth 1 \( -name 'rootfs-*' -o -name 'base-*' \) | head -n 3)
[ -z "$leftover" ] || fail "kernel-package: the failed build left $leftover"
log "kernel-package: no rootfs and no image left"

# 3. A VM that does not answer SSH in time (the base is built first, with the normal timeout).
tools/vm.sh build "$version"
expect_failure unreachable "VM bad-input-boot did not answer SSH on 127\.0\.0\.1:$port within 2 s .*it was stopped" \
  env VM_BOOT_TIMEOUT=2 tools/vm.sh up bad-input-boot "$version" "$port"
assert_nothing_left bad-input-boot
[ -z "$(port_listeners)" ] || fail "unreachable: port $port still listens: $(port_listeners)"
log "unreachable: QEMU stopped, run directory and port free"

# 4. A VM that does not exist.
expect_failure unknown-vm "no VM bad-input-none" tools/vm.sh ssh bad-input-none true

log "all bad-input cases passed"
