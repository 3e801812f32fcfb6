#!/bin/sh
# Read-only probe of the host state the hardening role branches on; prints one JSON object.
# One process instead of a dozen tasks keeps the no-op run fast.
set -u
state() { systemctl is-active "$1" 2>/dev/null | head -n1; }
enabled() { systemctl is-enabled "$1" 2>/dev/null | head -n1; }
installed() { dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | grep -q '^ii' && echo true || echo false; }
securetty=false
for f in /usr/lib/*/security/pam_securetty.so /lib/*/security/pam_securetty.so; do
  [ -e "$f" ] && securetty=true
done
printf '{"ssh_service": "%s", "ssh_socket": "%s", "ssh_socket_enabled": "%s", ' \
  "$(state ssh.service)" "$(state ssh.socket)" "$(enabled ssh.socket)"
printf '"chrony": %s, "ntpsec": %s, "ntp": %s, "openntpd": %s, "pam_securetty": %s, ' \
  "$(installed chrony)" "$(installed ntpsec)" "$(installed ntp)" "$(installed openntpd)" "$securetty"
# A fresh image may ship without package lists, with a recent mtime that fools cache_valid_time.
apt_lists=$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' 2>/dev/null | wc -l)
printf '"apt_lists": %s, "systemd_detect_virt": "%s", ' "$apt_lists" "$(systemd-detect-virt 2>/dev/null || true)"
# Installed packages (names never need JSON escaping): apt runs only when one is missing.
printf '"installed": [%s], ' "$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 2>/dev/null |
  awk '$1 == "ii" { printf "%s\"%s\"", sep, $2; sep = "," }')"
# The files the role edits line by line: their lines let those tasks skip when already right.
# Python for the JSON escaping (Ansible needs it on the host anyway); null for a missing file.
printf '"lines": %s}\n' "$(python3 -c '
import json, sys
lines = {}
for path in sys.argv[1:]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines[path] = handle.read().splitlines()
    except OSError:
        lines[path] = None
print(json.dumps(lines))
' /etc/login.defs /etc/audit/auditd.conf /etc/pam.d/su /etc/pam.d/login /etc/ssh/sshd_config)"
