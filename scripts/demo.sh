#!/usr/bin/env bash
# The main job: a busybox image from the host's busybox; a detached container shown by ps,
# exec'd into, its logs, stopped and removed; then a bridge network and a web server container
# with a published port, whose page is fetched through localhost. Cleans up after itself.
# Uses the default state root (/var/lib/mydocker) unless MYDOCKER_ROOT is set.
set -euo pipefail
PORT="${MYDOCKER_DEMO_PORT:-8080}"
SUBNET="${MYDOCKER_DEMO_SUBNET:-10.199.0.0/24}"
remove_demo() {
    mydocker rm -f demo web >/dev/null 2>&1 || true
    mydocker network rm demonet >/dev/null 2>&1 || true
}
remove_demo
WWW="$(mktemp -d)"
trap 'remove_demo; rm -rf "$WWW"' EXIT
set -x
mydocker image busybox busybox
mydocker images
mydocker run -d --name demo --memory 64m --cpus 0.5 busybox \
    sh -c 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 1; done'
mydocker ps
mydocker exec demo sh -c 'echo "hello from $(hostname)"; ps'
sleep 2
mydocker logs demo
mydocker stop -t 2 demo
mydocker ps -a
mydocker rm demo

echo '<h1>Hello from a mydocker container</h1>' > "$WWW/index.html"
mydocker network create --driver bridge --subnet "$SUBNET" demonet
mydocker network ls
mydocker run -d --name web --net demonet -p "$PORT:80" -v "$WWW:/www:ro" busybox httpd -f -p 80 -h /www
mydocker ps
# busybox wget from the host (installed with busybox-static); no proxy for localhost
for i in 1 2 3 4 5 6 7 8 9 10; do
    env -u http_proxy -u HTTP_PROXY busybox wget -q -O - "http://127.0.0.1:$PORT/" && break
    sleep 0.3
done
set +x
echo "demo: OK"
