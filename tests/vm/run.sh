#!/usr/bin/env bash
# make test-vm: the real-kernel tier. For each Debian version, one VM at a time (tools/vm.sh):
# converge hardening + compliance over SSH as the automation user with become, converge again
# (0 changed), then tests/vm/verify.yml asserts on the live kernel (audit rules loaded, sysctl
# live, AppArmor enforcing, nftables active, faillock over real SSH logins, ssh-audit policy).
# Prints every stage's time and the compliance score. The VM is removed on exit, also on failure.
# Last, tests/vm/bad-input.sh: a taken port, a missing kernel package and a VM that never answers
# SSH fail with a clear error and leave nothing running.
#
#   VM_TEST_VERSIONS="12 13"   the Debian versions to test
#   VM_TEST_KEEP=1             leave a failed run's VM running to look into (tools/vm.sh ssh NAME)
#   VM_TEST_LYNIS=1            also run Lynis (about 17 min per VM under TCG) on the hardened VM
#                              and on a stock VM of the same base, and print both hardening indexes
set -euo pipefail
cd "$(dirname "$0")/../.."

VM_TEST_VERSIONS="${VM_TEST_VERSIONS:-12 13}"
VM_TEST_PORT_BASE="${VM_TEST_PORT_BASE:-42300}"
VM_TEST_LYNIS="${VM_TEST_LYNIS:-0}"
VM_TEST_KEEP="${VM_TEST_KEEP:-0}"
STAGE=tools/stage.sh
# The packages hardening + compliance install with this inventory's settings (AIDE off). The test
# VMs boot from a base image that already has them (apt in the build chroot, on the host, cached
# by this list), so the converge under TCG installs nothing; the roles still decide (their package
# tasks find everything installed). A converge that installs packages anyway says which: add them.
VM_TEST_BASE_PACKAGES="acct apparmor apparmor-utils apt-listchanges audispd-plugins auditd cracklib-runtime debsums
  fail2ban libpam-pwquality libpam-tmpdir logrotate needrestart nftables openssh-server python3-systemd
  systemd-timesyncd unattended-upgrades"
WORK=$(mktemp -d /tmp/prodready-test-vm.XXXXXX)
chmod 0700 "$WORK"
current_vm=""
summary=()

cleanup() {
  if [ -n "$current_vm" ] && [ "$VM_TEST_KEEP" = 1 ]; then
    log "VM_TEST_KEEP=1: $current_vm stays up (tools/vm.sh ssh $current_vm; tools/vm.sh down $current_vm), logs in $WORK"
    return 0
  fi
  if [ -n "$current_vm" ]; then tools/vm.sh down "$current_vm" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_logged LOG CMD...: CMD's output to the terminal and LOG; exported so stage.sh can run it.
run_logged() {
  local logfile="$1"; shift
  "$@" 2>&1 | tee "$logfile"
}
# run_quiet LOG CMD...: CMD's output to LOG only.
run_quiet() {
  local logfile="$1"; shift
  "$@" >"$logfile" 2>&1
}
export -f run_logged run_quiet

log() { printf '[test-vm] %s\n' "$*" >&2; }
die() { printf '[test-vm] ERROR: %s\n' "$*" >&2; exit 1; }

# The faillock probe's passwords: files (0600) read by the playbook and by sshpass -f, never an
# argument on a command line.
python3 -c 'import secrets; print(secrets.token_urlsafe(24))' >"$WORK/probe-password"
python3 -c 'import secrets; print(secrets.token_urlsafe(24))' >"$WORK/wrong-password"
chmod 0600 "$WORK"/*-password

write_inventory() {
  # write_inventory DIR: the running VM (tools/vm.sh env) as the one host of group vms.
  local dir="$1" VM_PORT VM_USER VM_KEY VM_KNOWN_HOSTS
  eval "$(tools/vm.sh env "$current_vm")"
  cat >"$dir/hosts.yml" <<INVENTORY
vms:
  hosts:
    $current_vm:
      ansible_host: 127.0.0.1
      ansible_port: $VM_PORT
  vars:
    ansible_user: $VM_USER
    ansible_ssh_private_key_file: $VM_KEY
    ansible_ssh_common_args: -o UserKnownHostsFile=$VM_KNOWN_HOSTS -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes
    # Every SSH connection arrives from QEMU's user-mode gateway; fail2ban ignores the sources
    # the firewall allows SSH from.
    hardening_firewall_ssh_sources: [10.0.2.2/32]
    # AIDE is no kernel feature (the hardening scenario proves it in containers); under TCG its
    # package set up (~250 ucf runs) and first database take over 30 min.
    hardening_aide_enabled: false
    compliance_report_dir: $dir/reports
INVENTORY
  printf '%s\n' "$VM_PORT" >"$dir/port"
  printf '%s\n' "$VM_KNOWN_HOSTS" >"$dir/known_hosts_path"
}

# Lynis from Debian, run on the VM; its report lines carry the hardening index.
LYNIS_COMMAND='sudo DEBIAN_FRONTEND=noninteractive apt-get -qq update >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends lynis >/dev/null && sudo lynis audit system --quick --no-colors'

lynis_index() {
  # lynis_index STAGE_NAME LOG: runs Lynis on the current VM as one stage, prints the index.
  $STAGE "$1" run_logged "$2" tools/vm.sh ssh "$current_vm" "$LYNIS_COMMAND" >&2
  sed -n 's/.*Hardening index : \[*\([0-9]*\).*/\1/p' "$2" | tail -n 1
}

test_version() {
  local version="$1" dir="$WORK/deb$1" started=$SECONDS port score
  port=$((VM_TEST_PORT_BASE + version))
  mkdir -p "$dir"
  current_vm="test-vm-deb$version"
  VM_BASE_PACKAGES="$VM_TEST_BASE_PACKAGES" $STAGE "vm-up-deb$version" tools/vm.sh up "$current_vm" "$version" "$port"
  write_inventory "$dir"
  local -a play=(ansible-playbook -i "$dir/hosts.yml")
  tools/vm.sh ssh "$current_vm" "dpkg-query -W -f '\${Package}\n'" | sort >"$dir/packages-before"
  $STAGE "converge-deb$version" run_logged "$dir/converge.log" "${play[@]}" tests/vm/converge.yml
  tools/vm.sh ssh "$current_vm" "dpkg-query -W -f '\${Package}\n'" | sort >"$dir/packages-after"
  local installed
  installed=$(comm -13 "$dir/packages-before" "$dir/packages-after" | paste -sd' ' -)
  summary+=("Debian $version: the first converge installed ${installed:-no package} (base: VM_TEST_BASE_PACKAGES)")
  $STAGE "idempotence-deb$version" run_quiet "$dir/idempotence.log" "${play[@]}" tests/vm/converge.yml \
    || { tail -n 40 "$dir/idempotence.log"; die "the second converge on Debian $version failed"; }
  if grep -E '^\S+ +: .*changed=[1-9]' "$dir/idempotence.log" >/dev/null; then
    grep -E '^(TASK|changed)' "$dir/idempotence.log" | grep -B1 '^changed' >&2 || true
    die "the second converge on Debian $version changed something (tasks above)"
  fi
  $STAGE "verify-deb$version" "${play[@]}" tests/vm/verify.yml \
    -e "vm_test_port=$(cat "$dir/port")" -e "vm_test_known_hosts=$(cat "$dir/known_hosts_path")" \
    -e "vm_test_probe_password_file=$WORK/probe-password" -e "vm_test_wrong_password_file=$WORK/wrong-password"
  # The compliance role's own summary line: score, pass/fail counts, its duration, per framework.
  score=$(grep -o 'compliance score [^"]*' "$dir/converge.log" | tail -n 1)
  summary+=("Debian $version: hardened and verified on the live kernel, 0 changed on the second converge, $((SECONDS - started)) s in all; ${score:-no compliance summary found}")
  if [ "$VM_TEST_LYNIS" = 1 ]; then
    local hardened stock
    # ssh-audit (the last check of verify) may have used up the SSH rate limit's burst.
    sleep 60
    hardened=$(lynis_index "lynis-hardened-deb$version" "$dir/lynis-hardened.log")
    tools/vm.sh down "$current_vm"
    current_vm="test-vm-stock-deb$version"
    # The stock base: debootstrap's server packages only, none of the roles'.
    VM_BASE_PACKAGES="" tools/vm.sh up "$current_vm" "$version" "$port"
    stock=$(lynis_index "lynis-stock-deb$version" "$dir/lynis-stock.log")
    summary+=("Debian $version: Lynis hardening index ${hardened:-?} hardened, ${stock:-?} stock")
  fi
  tools/vm.sh down "$current_vm"
  current_vm=""
}

started=$SECONDS
for version in $VM_TEST_VERSIONS; do
  case "$version" in 12|13) ;; *) die "VM_TEST_VERSIONS: unknown Debian version $version (12 or 13)" ;; esac
  test_version "$version"
done
# The bad-input cases boot the test base of the first version, built by now.
VM_BASE_PACKAGES="$VM_TEST_BASE_PACKAGES" $STAGE bad-input tests/vm/bad-input.sh "${VM_TEST_VERSIONS%% *}"
printf '[test-vm] %s\n' "${summary[@]}"
log "make test-vm passed in $((SECONDS - started)) s"
