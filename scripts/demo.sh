#!/usr/bin/env bash
# The main job: a busybox image from the host's busybox, a detached container, ps, exec, logs,
# stop and rm. Uses the default state root (/var/lib/mydocker) unless MYDOCKER_ROOT is set.
set -euo pipefail
set -x
mydocker image busybox busybox
mydocker rm -f demo >/dev/null 2>&1 || true
mydocker run -d --name demo --memory 64m --cpus 0.5 busybox \
    sh -c 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 1; done'
mydocker ps
mydocker exec demo sh -c 'echo "hello from $(hostname)"; ps'
sleep 2
mydocker logs demo
mydocker stop -t 2 demo
mydocker ps -a
mydocker rm demo
set +x
echo "demo: OK"
