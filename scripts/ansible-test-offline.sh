#!/usr/bin/env bash
# ansible-test bootstraps pip in each of its virtual environments with a get-pip.py it downloads
# from a host this machine cannot reach. Put our stand-in (scripts/offline_get_pip.py) and the pip
# wheel it needs (from PyPI) where ansible-test looks for a cached copy.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${1:-/opt/mydocker/venv/bin/python}"
VERSION="$("$PY" - <<'PYEOF'
import re, ansible_test._internal.python_requirements as r, inspect
print(re.search(r"pip='([0-9.]+)'", inspect.getsource(r.get_venv_packages)).group(1))
PYEOF
)"
CACHE="$HOME/.ansible/test/cache"
mkdir -p "$CACHE"
if ! ls "$CACHE"/pip-"$VERSION"-*.whl >/dev/null 2>&1; then
    "$PY" -m pip download -q --disable-pip-version-check --no-deps -d "$CACHE" "pip==$VERSION"
fi
cp "$REPO/scripts/offline_get_pip.py" "$CACHE/get_pip_${VERSION//./_}.py"
