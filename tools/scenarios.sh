#!/usr/bin/env bash
# Lists Molecule scenarios in run order: smoke first (plumbing), default (site.yml) last.
cd "$(dirname "$0")/.." || exit 1
echo smoke
for d in molecule/*/; do
  name=$(basename "$d")
  case "$name" in smoke|default|_*) continue ;; esac
  [ -f "$d/molecule.yml" ] && echo "$name"
done
[ -f molecule/default/molecule.yml ] && echo default
