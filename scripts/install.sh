#!/usr/bin/env bash
# Install mydocker.runtime on a Debian 12 host, as root: Debian packages, a virtual environment
# with the Python dependencies, the collection where Ansible finds it, and `mydocker` and the
# venv's ansible commands on PATH (MYDOCKER_BINDIR, default /usr/local/bin).
# Safe to run again.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MYDOCKER_VENV:-/opt/mydocker/venv}"
COLLECTIONS=/usr/share/ansible/collections
# Where the venv's commands and the mydocker launcher go (on PATH for the README's commands).
BINDIR="${MYDOCKER_BINDIR:-/usr/local/bin}"

if [ "$(id -u)" != 0 ]; then
    echo "install.sh: run as root" >&2
    exit 1
fi

need=()
# gcc, libc6-dev: the monitor's native waiter (README); without them the Python waiter is used
for pkg in python3 python3-venv busybox-static iptables iproute2 libseccomp2 tar util-linux procps tini gcc libc6-dev; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
    echo "install.sh: apt-get install ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
    /usr/bin/python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REPO/requirements.txt"

# The collection, where ansible (and the mydocker launcher) find it.
mkdir -p "$COLLECTIONS/ansible_collections/mydocker"
ln -sfn "$REPO" "$COLLECTIONS/ansible_collections/mydocker/runtime"

# ansible-core's commands, so the README's ansible-playbook, ansible and ansible-doc lines work
# without activating the venv (only where the name is free or already links into the venv).
bash "$REPO/scripts/link-commands.sh" "$VENV" "$BINDIR" \
    ansible ansible-playbook ansible-doc ansible-galaxy ansible-inventory ansible-config ansible-test

# The launcher runs the collection's bin/mydocker (which finds the collection through
# scripts/collection_path.py) with the venv's interpreter. It compiles and runs the file itself:
# runpy.run_path imports runpy, pkgutil and importlib's machinery, about 10 ms of every command.
# -S: without site.py's work at start (~2.5 ms); bin/mydocker adds the venv's site-packages itself.
mkdir -p "$BINDIR"
cat > "$BINDIR/mydocker" <<LAUNCHER
#!$VENV/bin/python -S
"""mydocker, installed by scripts/install.sh: the collection's bin/mydocker with this interpreter."""
import sys
BIN = "$COLLECTIONS/ansible_collections/mydocker/runtime/bin/mydocker"
sys.argv[0] = BIN
with open(BIN, "rb") as f:
    code = compile(f.read(), BIN, "exec")
exec(code, {"__name__": "__main__", "__file__": BIN, "__builtins__": __builtins__})  # noqa: S102
LAUNCHER
chmod 755 "$BINDIR/mydocker"
echo "install.sh: mydocker installed ($BINDIR/mydocker), venv $VENV, collection -> $REPO"
