#!/usr/bin/env bash
# Builds the collection tarball, checks it carries no test-bed or venv junk, installs it into
# a temporary path and lists its plugins with ansible-doc, as a user of the tarball would.
set -euo pipefail
REPO_DIR="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$REPO_DIR/.venv/bin"
WORK="$(mktemp -d /tmp/prodready-build.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
cd "$REPO_DIR"
"$BIN/ansible-galaxy" collection build --force --output-path "$WORK/dist" . >/dev/null
tarball=$(ls "$WORK"/dist/prodready-platform-*.tar.gz)
echo "built $(basename "$tarball") ($(du -h "$tarball" | cut -f1))"
junk=$(tar -tzf "$tarball" | grep -E '(^|/)(\.venv|\.cache|\.git|\.testbed|collections|molecule|__pycache__|\.config|\.pytest_cache|\.hypothesis)(/|$)' || true)
if [ -n "$junk" ]; then
  echo "the tarball carries files it must not:" >&2
  echo "$junk" | head -n 20 >&2
  exit 1
fi
"$BIN/ansible-galaxy" collection install --force --offline --no-deps -p "$WORK/installed" "$tarball" >/dev/null
listed=$(cd "$WORK" && ANSIBLE_COLLECTIONS_PATH="$WORK/installed" "$BIN/ansible-doc" -l prodready.platform 2>&1)
echo "$listed"
count=$(printf '%s\n' "$listed" | grep -c '^prodready\.platform\.' || true)
[ "$count" -gt 0 ] || { echo "ansible-doc lists no module of the installed collection" >&2; exit 1; }
roles=$(cd "$WORK" || exit 1; ANSIBLE_COLLECTIONS_PATH="$WORK/installed" "$BIN/ansible-doc" -t role -l prodready.platform 2>/dev/null | grep -c '^prodready\.platform\.' || true)
echo "installed tarball: $count modules, $roles roles documented"
