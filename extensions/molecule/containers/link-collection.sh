#!/usr/bin/env bash
# The dependency step of the scenario: when the scenario sits in a checkout of mydocker.runtime
# (extensions/molecule/containers of it), link that checkout as DIR/ansible_collections/mydocker/runtime
# (DIR comes first on the scenario's ANSIBLE_COLLECTIONS_PATH). Elsewhere do nothing: Ansible then
# uses the installed collection.
#   bash link-collection.sh DIR
set -euo pipefail
dest=$1
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
if [ -f "$repo/galaxy.yml" ] && grep -qx 'namespace: mydocker' "$repo/galaxy.yml" \
        && grep -qx 'name: runtime' "$repo/galaxy.yml"; then
    mkdir -p "$dest/ansible_collections/mydocker"
    ln -sfn "$repo" "$dest/ansible_collections/mydocker/runtime"
    echo "mydocker.runtime: the checkout $repo"
else
    echo "mydocker.runtime: not in a checkout of it, the installed collection is used"
fi
