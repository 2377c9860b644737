#!/usr/bin/env bash
# The main job, as a playbook run: prepare this host (packages, ip_forward, state root, a busybox
# image from the host's busybox), deploy the demo application (a network, a web server container
# with a published port, an API container), fetch the page through 127.0.0.1 and show the
# containers. Then: a rerun that must report changed=0, a --check --diff run of a changed port
# that shows what would change and changes nothing, the containers as `mydocker ps` shows them and
# a detached container run, exec'd into, logged, stopped and removed with the command line, and
# the teardown playbook, which removes everything the demo made.
# Uses /var/lib/mydocker, 10.199.0.0/24 and port 8080 unless MYDOCKER_ROOT,
# MYDOCKER_DEMO_SUBNET or MYDOCKER_DEMO_PORT say otherwise.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MYDOCKER_VENV:-/opt/mydocker/venv}"
PORT="${MYDOCKER_DEMO_PORT:-8080}"
SUBNET="${MYDOCKER_DEMO_SUBNET:-10.199.0.0/24}"
ROOT="${MYDOCKER_ROOT:-/var/lib/mydocker}"
cd "$REPO"
export ANSIBLE_NOCOLOR=1
playbook() {
    "$VENV/bin/ansible-playbook" -i playbooks/inventory.yml \
        -e "demo_port=$PORT" -e "demo_subnet=$SUBNET" -e "demo_root=$ROOT" "$@"
}
recap() {  # the PLAY RECAP line of a run's output
    grep -E '^localhost +: ok=' "$1" | tail -n 1
}
OUT="$(mktemp)"
teardown_on_error() {
    echo "demo: FAILED, removing what it made" >&2
    MYDOCKER_ROOT="$ROOT" mydocker rm -f demo-cli >/dev/null 2>&1 || true
    playbook playbooks/teardown.yml >/dev/null 2>&1 || true
}
trap 'rm -f "$OUT"' EXIT
trap 'teardown_on_error' ERR

ROOT_WAS_THERE=0
[ -e "$ROOT" ] && ROOT_WAS_THERE=1

echo "== 1. ansible-playbook playbooks/site.yml"
playbook playbooks/site.yml | tee "$OUT"

echo "== 2. the same again: nothing may change"
playbook playbooks/site.yml | tee "$OUT"
RERUN="$(recap "$OUT")"
if ! grep -qE ' changed=0 ' <<<"$RERUN"; then
    echo "demo: the rerun changed something: $RERUN" >&2
    false
fi

NEWPORT=$((PORT + 1))
echo "== 3. --check --diff with the port moved to $NEWPORT: what would change (nothing does)"
playbook playbooks/site.yml --check --diff -e "demo_port=$NEWPORT" | tee "$OUT"
if grep -qE ' changed=0 ' <<<"$(recap "$OUT")" || ! grep -q ":$NEWPORT:80" "$OUT"; then
    echo "demo: check mode did not predict the new port" >&2
    false
fi

echo "== 4. the command line: the containers, then a detached container of its own"
export MYDOCKER_ROOT="$ROOT"
mydocker ps
mydocker rm -f demo-cli >/dev/null 2>&1 || true
(
    set -x
    mydocker run -d --name demo-cli --memory 32m busybox \
        sh -c 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 1; done'
    mydocker ps
    mydocker exec demo-cli sh -c 'echo "hello from $(hostname)"; ps'
    sleep 2
    mydocker logs demo-cli
    mydocker stop -t 2 demo-cli
    mydocker ps -a
    mydocker rm demo-cli
)

echo "== 5. ansible-playbook playbooks/teardown.yml"
playbook playbooks/teardown.yml | tee "$OUT"
if [ "$ROOT_WAS_THERE" = 0 ] && [ -e "$ROOT" ]; then  # the demo made the state root: it must be gone
    echo "demo: FAILED, the teardown left the state root $ROOT that the demo made" >&2
    exit 1
fi
trap - ERR
echo "demo: OK (the rerun: $(tr -s " " <<<"$RERUN"))"
