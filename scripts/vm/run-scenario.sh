#!/usr/bin/env bash
# `make vm-test`: the molecule scenario extensions/molecule/vm alone, from a fresh clone.
#
# Builds the guest image when it is not cached yet (scripts/vm/build-image.sh), runs
# `molecule test -s vm` (destroy, create, prepare, converge, idempotence, check, verify, destroy)
# with a fresh ephemeral directory, prints the time of each step and of the tasks, and stops any VM
# of this run that is still up whatever happened (a qemu process never outlives the run).
#
# Environment: MYDOCKER_VENV (default /opt/mydocker/venv: ansible-core, molecule),
# MYDOCKER_VM_CACHE (default /var/cache/mydocker-vm), MYDOCKER_VM_LOG (default: next to the
# ephemeral directory, named at the end; every line carries the seconds since the start).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
VENV="${MYDOCKER_VENV:-/opt/mydocker/venv}"
export PATH="$VENV/bin:$PATH"
PY="$VENV/bin/python"

if ! command -v molecule >/dev/null; then
    "$VENV/bin/pip" install -q -r requirements-test.txt
fi

EPH="$(mktemp -d /tmp/mydocker-molecule-vm.XXXXXX)"
export MOLECULE_EPHEMERAL_DIRECTORY="$EPH"
export MYDOCKER_VM_RUN_DIR="$EPH/vms"
LOG="${MYDOCKER_VM_LOG:-$EPH.log}"     # outside $EPH: molecule prunes it after destroy

finish() {
    local rc=$?
    trap - EXIT INT TERM
    # the scenario's destroy already ran (also on failure); this catches a run killed mid-step
    if [ -f "$MYDOCKER_VM_RUN_DIR/vms.json" ]; then
        echo "[vm-test] stopping the VMs left by an interrupted run" >&2
        "$PY" scripts/vm/vm.py stop --run-dir "$MYDOCKER_VM_RUN_DIR" || rc=1
    fi
    if [ -d "$EPH/junit" ]; then
        echo
        echo "== task times (JUnit callback, $EPH/junit) =="
        "$PY" scripts/vm/task-times.py "$EPH/junit" || true
    fi
    echo
    if [ "$rc" = 0 ]; then
        rm -rf "$EPH"
        echo "[vm-test] log: $LOG  exit: 0"
    else
        echo "[vm-test] log: $LOG  kept for a look: $EPH (vms/*.console.log: the serial consoles)  exit: $rc"
    fi
    exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SECONDS=0
bash scripts/vm/build-image.sh >/dev/null
echo "[vm-test] guest image ready after ${SECONDS}s"

start=$SECONDS
set +e
# the log gets each line's time; the step times are printed at the end
molecule test -s vm 2>&1 | "$PY" scripts/vm/task-times.py --tee "$LOG"
rc=${PIPESTATUS[0]}
set -e
echo "[vm-test] molecule test -s vm: exit $rc after $((SECONDS - start))s (whole run ${SECONDS}s)"
exit "$rc"
