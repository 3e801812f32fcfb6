#!/bin/sh
# Test fixture: the attacker's view of a converge. Root on a guarded host controls its Python,
# so everything Python receives (arguments, files it is asked to run, the program on stdin, as
# Ansible's pipelining sends modules) is appended to a log, then the real interpreter runs.
log=/var/log/prodready-python-received.log
{
  printf '=== argv:'
  for arg in "$@"; do printf ' %s' "$arg"; done
  printf '\n'
} >>"$log"
for arg in "$@"; do
  case "$arg" in /*) [ -f "$arg" ] && cat "$arg" >>"$log" ;; esac
done
if [ $# -eq 0 ]; then
  tee -a "$log" | /usr/bin/python3
  exit $?
fi
exec /usr/bin/python3 "$@"
