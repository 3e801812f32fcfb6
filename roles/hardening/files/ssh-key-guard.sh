#!/bin/sh
# Lock-out guard helper (read-only): for user $1 print the keys sshd would accept from the
# authorized keys files sshd's effective configuration names, the user's groups, and
# whether an AuthorizedKeysCommand is configured.
#   KEY <bits> <type>     one line per key (ssh-keygen -l)
#   GROUPS <g1> <g2> ...
#   COMMAND <command|none>
#   NOUSER                the user does not exist
set -u
user="$1"
entry=$(getent passwd "$user") || { echo NOUSER; exit 0; }
home=$(printf '%s' "$entry" | cut -d: -f6)
config=$(sshd -T -C "user=$user,host=localhost,addr=127.0.0.1" 2>/dev/null) || config=""
files=$(printf '%s\n' "$config" | awk '$1 == "authorizedkeysfile" { $1 = ""; print }')
[ -n "$files" ] || files=".ssh/authorized_keys .ssh/authorized_keys2"
command=$(printf '%s\n' "$config" | awk '$1 == "authorizedkeyscommand" { print $2 }')
echo "COMMAND ${command:-none}"
for f in $files; do
  f=$(printf '%s' "$f" | sed -e "s|%h|$home|g" -e "s|%u|$user|g" -e 's|%%|%|g')
  case "$f" in /*) ;; *) f="$home/$f" ;; esac
  [ -r "$f" ] || continue
  ssh-keygen -lf "$f" 2>/dev/null | awk '{ t = $NF; gsub(/[()]/, "", t); print "KEY", $1, t }'
done
echo "GROUPS $(id -Gn "$user" 2>/dev/null)"
