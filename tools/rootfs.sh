# shellcheck shell=bash
# Sourced by tools/testbed.sh (container images) and tools/vm.sh (VM images): both build a Debian
# tree with debootstrap in a cache directory.

# Remove a debootstrap tree. An interrupted debootstrap or chroot leaves /proc, /sys and /dev
# mounted inside it: those are unmounted first, deepest first.
remove_rootfs() {
  local mnt
  while read -r mnt; do
    umount -l "$mnt" 2>/dev/null || true
  done < <(awk -v root="$1" 'index($2, root) == 1 {print $2}' /proc/mounts | sort -r)
  rm -rf "$1"
}
