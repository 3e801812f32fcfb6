#!/bin/sh
# Test fixture: root on the host trojans a package binary and forges a dpkg upgrade to explain
# it (status version, md5sums, dpkg.log), so the on-host classification calls it a package update.
# Prints the path it changed.
set -eu
# A regular file (a symlink's target would be another path) that dpkg lists in md5sums.
for path in /usr/sbin/adduser /usr/sbin/chpasswd /usr/sbin/nologin; do
  if [ ! -f "$path" ] || [ -L "$path" ]; then continue; fi
  owner=$(dpkg -S "$path" 2>/dev/null | cut -d: -f1) && [ -n "$owner" ] && break
done
version=$(dpkg-query -W -f '${Version}' "$owner")
arch=$(dpkg-query -W -f '${Architecture}' "$owner")
printf '\n# trojan\n' >>"$path"
sum=$(md5sum "$path" | cut -d' ' -f1)
rel=${path#/}
list=/var/lib/dpkg/info/$owner.md5sums
[ -f "$list" ] || list=/var/lib/dpkg/info/$owner:$arch.md5sums
sed -i "s|^[0-9a-f]*  $rel\$|$sum  $rel|" "$list"
sed -i "/^Package: $owner\$/,/^\$/ s|^Version: $version\$|Version: $version+trojan1|" /var/lib/dpkg/status
echo "$(date '+%Y-%m-%d %H:%M:%S') upgrade $owner:$arch $version $version+trojan1" >>/var/log/dpkg.log
echo "$path"
