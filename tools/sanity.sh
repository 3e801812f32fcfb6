#!/usr/bin/env bash
# Runs `ansible-test sanity` on a copy of the collection at the path ansible-test expects
# (…/ansible_collections/prodready/platform), without venvs, caches and test-bed state.
set -euo pipefail
REPO_DIR="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d /tmp/prodready-sanity.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
DEST="$WORK/ansible_collections/prodready/platform"
mkdir -p "$DEST"
tar -C "$REPO_DIR" \
  --exclude=./.venv --exclude=./.cache --exclude=./.git --exclude=./collections \
  --exclude=./tests/output --exclude=./reports --exclude='*/__pycache__' --exclude=./.pytest_cache \
  --exclude=./.hypothesis --exclude='*.tar.gz' -c . | tar -C "$DEST" -x
# ansible-test bootstraps pip in its sanity venvs with a get-pip script fetched from a host
# these machines cannot reach; a shim that uses the standard library's ensurepip and then
# PyPI gives the same result.
PIP_VERSION=$(sed -nE "s/.*pip='([0-9.]+)'.*/\\1/p" "$("$REPO_DIR/.venv/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py" | head -n1)
SHIM_DIR="$HOME/.ansible/test/cache"
mkdir -p "$SHIM_DIR"
for version in ${PIP_VERSION:-24.2}; do
  shim="$SHIM_DIR/get_pip_${version//./_}.py"
  [ -f "$shim" ] && continue
  cat >"$shim" <<SHIM
# get-pip stand-in written by prodready's tools/sanity.sh: ensurepip, then pip from PyPI.
import subprocess, sys
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + args)
SHIM
done
cd "$DEST"
# ansible-test lists files through git when it can; a throwaway repo keeps it to the copy.
git init -q . && git add -A >/dev/null 2>&1
# Pylint and friends come from requirements-dev.txt; --python pins the controller's Python.
"$REPO_DIR/.venv/bin/ansible-test" sanity --python "$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
  --color no --exclude tests/conftest.py "$@"
