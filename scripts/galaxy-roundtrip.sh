#!/usr/bin/env bash
# The collection as a user gets it from a tarball: ansible-galaxy collection build, install the
# tarball into a temporary collections path, and use that installed copy only: verify it,
# ansible-doc of every module and role, a playbook running the two info modules against a
# temporary state root, and the mydocker CLI shipped in bin/ (--help, images, and that it
# imports the engine from the installed copy). Nothing but loopback is used (--offline) and
# nothing is left behind: every file goes under one temporary directory, removed on exit.
# Prints one line per check (PASS/FAIL name: detail) and exits non-zero when any check fails.
#   bash scripts/galaxy-roundtrip.sh          (the scripts/test.sh stage "galaxy")
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MYDOCKER_VENV:-/opt/mydocker/venv}"
BIN="$VENV/bin"
PY="$BIN/python"

tmp="$(mktemp -d /tmp/mydocker-galaxy.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/build" "$tmp/collections" "$tmp/home" "$tmp/state" "$tmp/cli-root" "$tmp/play"
# Only the installed copy: not ~/.ansible, not /usr/share/ansible/collections (install.sh's link
# to a checkout), and no ansible.cfg of the checkout (everything runs from inside $tmp).
export ANSIBLE_COLLECTIONS_PATH="$tmp/collections"
export ANSIBLE_HOME="$tmp/home"
export ANSIBLE_LOCAL_TEMP="$tmp/home/tmp"
export ANSIBLE_CONFIG="$tmp/play/none.cfg"
export ANSIBLE_NOCOLOR=1
: >"$ANSIBLE_CONFIG"
cd "$tmp"

failed=0
passed=0
log="$tmp/last.log"
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() {
    echo "FAIL $1${2:+: $2}"
    failed=$((failed + 1))
    if [ -s "$log" ]; then sed 's/^/    | /' "$log" | tail -n 20; fi
}
# check NAME COMMAND...: run it with its output in $log; PASS when it exits 0
check() {
    local name=$1
    shift
    if "$@" >"$log" 2>&1; then pass "$name"; else fail "$name" "exit $?"; fi
}
finish() {
    echo "galaxy: $passed passed, $failed failed"
    if [ "$failed" = 0 ]; then exit 0; fi
    exit 1
}

# 1. build
if ! "$BIN/ansible-galaxy" collection build --output-path "$tmp/build" "$REPO" >"$log" 2>&1; then
    fail build "ansible-galaxy collection build failed"
    finish
fi
tarball="$(ls "$tmp/build"/mydocker-runtime-*.tar.gz)"
pass "build $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB)"

# 2. what the tarball holds: the CLI, and none of the output, caches or bytecode
tar -tzf "$tarball" >"$tmp/members"
for want in MANIFEST.json FILES.json README.md CHANGELOG.rst bin/mydocker meta/runtime.yml \
        plugins/modules/mydocker_container.py plugins/module_utils/cli/main.py \
        roles/mydocker_host/tasks/main.yml roles/mydocker_app/tasks/main.yml playbooks/site.yml; do
    if grep -qx "$want" "$tmp/members"; then pass "tarball has $want"; else : >"$log"; fail "tarball has $want" "missing"; fi
done
grep -E '(^|/)(__pycache__|\.pytest_cache|\.ruff_cache|\.cache|\.ansible|\.git|\.ci)(/|$)|\.py[co]$|^tests/output(/|$)|^bench/results(/|$)|\.tar\.gz$' \
    "$tmp/members" >"$log" || true
if [ -s "$log" ]; then fail "tarball leaves out output, caches and bytecode" "$(wc -l <"$log") unwanted"; else
    pass "tarball leaves out output, caches and bytecode ($(wc -l <"$tmp/members") members)"; fi

# 3. install the tarball (offline: no Galaxy server is asked anything)
check install "$BIN/ansible-galaxy" collection install --offline -p "$tmp/collections" "$tarball"
inst="$tmp/collections/ansible_collections/mydocker/runtime"
if [ ! -f "$inst/MANIFEST.json" ]; then
    : >"$log"
    fail "installed copy" "no $inst/MANIFEST.json"
    finish
fi
check "ansible-galaxy collection list finds mydocker.runtime" \
    sh -c '"$1" collection list mydocker.runtime | grep -q "^mydocker\.runtime "' _ "$BIN/ansible-galaxy"

check "ansible-galaxy collection verify --offline (installed files match the manifest)" \
    "$BIN/ansible-galaxy" collection verify --offline -p "$tmp/collections" mydocker.runtime

# 4. ansible-doc of every module, documented from the installed copy, and of the roles
modules=()
for f in "$inst"/plugins/modules/*.py; do
    m="$(basename "$f" .py)"
    case "$m" in __init__) continue ;; esac
    modules+=("$m")
done
[ "${#modules[@]}" -gt 0 ] || { : >"$log"; fail "modules" "none installed"; }
for m in "${modules[@]}"; do
    if "$BIN/ansible-doc" -t module --json "mydocker.runtime.$m" >"$tmp/doc.json" 2>"$log" \
        && "$PY" - "$tmp/doc.json" "mydocker.runtime.$m" "$inst" >>"$log" 2>&1 <<'EOF'
import json
import os
import sys

doc = json.load(open(sys.argv[1]))[sys.argv[2]]["doc"]
where = os.path.realpath(doc["filename"])
assert where.startswith(os.path.realpath(sys.argv[3]) + os.sep), "documented from %s" % where
assert doc.get("short_description"), "no short_description"
assert doc.get("options", {}).get("root") is not None, "no option root"
EOF
    then pass "ansible-doc mydocker.runtime.$m"; else fail "ansible-doc mydocker.runtime.$m"; fi
done

# other documented plugins the collection ships (connection, inventory, ...), one file each
for type in become cache callback connection inventory lookup vars; do
    for f in "$inst/plugins/$type"/*.py; do
        [ -f "$f" ] || continue
        p="$(basename "$f" .py)"
        case "$p" in __init__) continue ;; esac
        check "ansible-doc -t $type mydocker.runtime.$p" "$BIN/ansible-doc" -t "$type" "mydocker.runtime.$p"
    done
done
for r in mydocker_host mydocker_app; do
    check "ansible-doc -t role mydocker.runtime.$r" "$BIN/ansible-doc" -t role "mydocker.runtime.$r"
done

# 5. a playbook with the installed modules (the info modules need no containers)
cat >"$tmp/play/info.yml" <<EOF
---
- name: Read an empty state root with the installed collection
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: $PY
  module_defaults:
    group/mydocker.runtime.mydocker:
      root: $tmp/state
  tasks:
    - name: List the images
      mydocker.runtime.mydocker_image_info:
      register: images

    - name: List the networks
      mydocker.runtime.mydocker_network_info:
      register: networks

    - name: Nothing is there
      ansible.builtin.assert:
        that:
          - images.images == []
          - networks.networks == []
          - images is not changed and networks is not changed
EOF
check "ansible-playbook with mydocker_image_info and mydocker_network_info" \
    "$BIN/ansible-playbook" -i localhost, "$tmp/play/info.yml"

# 6. the CLI shipped in the tarball, run from the installed copy with a temporary state root
check "installed bin/mydocker --help" "$PY" "$inst/bin/mydocker" --help
check "installed bin/mydocker images (MYDOCKER_ROOT=temp)" env MYDOCKER_ROOT="$tmp/cli-root" "$PY" "$inst/bin/mydocker" images
if "$PY" - "$inst" >"$log" 2>&1 <<'EOF'
import os
import runpy
import sys

inst = os.path.realpath(sys.argv[1])
sys.argv = [os.path.join(inst, "bin", "mydocker"), "--help"]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as e:
    assert not e.code, "exit %r" % e.code
loaded = [m.__file__ for name, m in list(sys.modules.items())
          if name.startswith("ansible_collections.mydocker.runtime.") and getattr(m, "__file__", None)]
assert loaded, "no module of the collection imported"
elsewhere = [f for f in loaded if not os.path.realpath(f).startswith(inst + os.sep)]
assert not elsewhere, "imported from elsewhere: %s" % elsewhere
print("%d modules, all from %s" % (len(loaded), inst))
EOF
then pass "installed bin/mydocker imports the engine from the installed copy ($(tail -n 1 "$log" | cut -d' ' -f1) modules)"
else fail "installed bin/mydocker imports the engine from the installed copy"; fi

finish
