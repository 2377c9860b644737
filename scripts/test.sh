#!/usr/bin/env bash
# Install everything, the test dependencies too, and run the whole test suite.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MYDOCKER_VENV:-/opt/mydocker/venv}"
bash "$REPO/scripts/install.sh"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REPO/requirements-test.txt"
cd "$REPO"
exec "$VENV/bin/python" -m pytest -p no:cacheprovider -ra "$@" tests
