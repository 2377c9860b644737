#!/usr/bin/env bash
# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# The venv of the Ansible-side benchmark rows (bench/ansible_rows.py, `python -m bench --ansible`):
# the full `ansible` package from PyPI, which brings containers.podman and community.docker, on
# Debian's python3 (not a pyenv shim). pip picks the newest `ansible` whose ansible-core supports
# this Python (3.11: ansible 12.x with ansible-core 2.19). The module path of our modules runs
# with /opt/mydocker/venv/bin/python (pyroute2; the benchmark sets that interpreter per host).
# pyroute2 goes into this venv too, as the README asks of a controller: our action plugins run a
# task on the local connection in Ansible's own worker process, and the engine needs it there.
#
#   scripts/bench-ansible-venv.sh [VENV]      # default /opt/mydocker/bench-ansible-venv
#
# Idempotent: an existing venv whose ansible imports is left as it is.
set -euo pipefail
venv=${1:-/opt/mydocker/bench-ansible-venv}
py=/usr/bin/python3
if [ -x "$venv/bin/ansible-playbook" ] && "$venv/bin/python" -c 'import ansible_collections.containers.podman, pyroute2' 2>/dev/null; then
    echo "$venv: already there"
    exit 0
fi
"$py" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet ansible "$(grep -m1 '^pyroute2' "$(dirname "$0")/../requirements.txt")"
"$venv/bin/ansible" --version | head -1
"$venv/bin/ansible-galaxy" collection list containers.podman 2>/dev/null | tail -n 1
