#!/usr/bin/env bash
# ansible-lint (production profile, .ansible-lint) on roles/, playbooks/ and extensions/, offline:
# nothing is downloaded or installed. The collection under test is this checkout: a temporary
# collections path holds ansible_collections/mydocker/runtime -> the checkout, so neither the
# copy linked into /usr/share/ansible/collections by install.sh nor one in ~/.ansible is linted.
#   bash scripts/ansible-lint.sh [ansible-lint arguments...]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MYDOCKER_VENV:-/opt/mydocker/venv}"
LINT="$VENV/bin/ansible-lint"
[ -x "$LINT" ] || LINT="$(command -v ansible-lint)" || {
    echo "ansible-lint.sh: ansible-lint not found (pip install -r requirements-test.txt)" >&2
    exit 1
}

tmp="$(mktemp -d /tmp/mydocker-ansible-lint.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/ansible_collections/mydocker"
ln -s "$REPO" "$tmp/ansible_collections/mydocker/runtime"

cd "$REPO"
# ansible-lint runs ansible-playbook --syntax-check: let it find the venv's ansible first.
PATH="$VENV/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$tmp" \
    "$LINT" --offline --profile production "$@" roles playbooks extensions
