#!/usr/bin/env bash
# Integration tests of the connection plugin mydocker.runtime.mydocker. setup.yml makes a private
# state root with a busybox image and containers (with the collection's modules); the test plays
# run in them through the plugin; cleanup.yml removes everything, also when a test failed.
set -eux
cd "$(dirname "$0")"

MDT_TMP="$(mktemp -d /tmp/mdt-connection.XXXXXX)"
export MDT_TMP
export MYDOCKER_ROOT="$MDT_TMP/root"  # the plugin's state root unless the host sets ansible_mydocker_root

cleanup() {
    rc=$?
    ansible-playbook -i inventory.ini cleanup.yml -e mdt_tmp="$MDT_TMP" || rc=1
    exit "$rc"
}
trap cleanup EXIT

ansible-playbook -i inventory.ini setup.yml -e mdt_tmp="$MDT_TMP" "$@"
ansible-playbook -i inventory.ini test_busybox.yml "$@"
ansible-playbook -i inventory.ini test_python.yml "$@"
ansible-playbook -i inventory.ini test_failures.yml "$@"

# Pipelining really pipes: a module goes through stdin (no file is put) with it, as a file without.
ansible -i inventory.ini py -m ansible.builtin.command -a "true" -e ansible_pipelining=true -vvv > "$MDT_TMP/piped.log"
if grep -q "^<py> PUT " "$MDT_TMP/piped.log"; then
    echo "a file was put although pipelining is on" >&2
    exit 1
fi
ansible -i inventory.ini py -m ansible.builtin.command -a "true" -e ansible_pipelining=false -vvv > "$MDT_TMP/unpiped.log"
grep -q "^<py> PUT " "$MDT_TMP/unpiped.log"

# The documentation renders.
ansible-doc -t connection mydocker.runtime.mydocker | grep -q "mydocker_root"
