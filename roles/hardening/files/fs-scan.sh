#!/bin/sh
# SUID/SGID and world-writable inventory of the given paths, cached as JSON.
#   fs-scan.sh CACHE TTL_HOURS PATH...
# Prints the cache; rescans only when it is missing or older than TTL_HOURS, so a no-op run
# does not walk the filesystem. TTL_HOURS 0 always rescans.
set -eu
cache="$1"; ttl="$2"; shift 2
if [ "$ttl" -gt 0 ] && [ -s "$cache" ] && [ -z "$(find "$cache" -mmin +"$((ttl * 60))" 2>/dev/null)" ]; then
  cat "$cache"
  exit 0
fi
mkdir -p "$(dirname "$cache")"
tmp="$cache.tmp.$$"
existing=""
for p in "$@"; do [ -e "$p" ] && existing="$existing $p"; done
json_list() { sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/.*/"&"/' | paste -sd, -; }
# shellcheck disable=SC2086 # word splitting of the path list is intended
suid=$(find $existing -xdev -type f \( -perm -4000 -o -perm -2000 \) 2>/dev/null | sort -u | json_list)
# shellcheck disable=SC2086
writable=$(find $existing -xdev -type f -perm -0002 2>/dev/null | sort -u | json_list)
# shellcheck disable=SC2086
printf '{"scanned_at": %s, "paths": [%s], "suid_sgid": [%s], "world_writable": [%s]}\n' \
  "$(date +%s)" "$(printf '%s\n' $existing | json_list)" "$suid" "$writable" >"$tmp"
chmod 0600 "$tmp"
mv "$tmp" "$cache"
cat "$cache"
