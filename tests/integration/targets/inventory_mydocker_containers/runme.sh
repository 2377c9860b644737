#!/usr/bin/env bash
# Integration tests of the inventory plugin mydocker.runtime.mydocker_containers: setup.yml makes
# containers in a private state root; ansible-inventory --list runs for several configuration
# files; assert.yml checks hosts, host variables, groups, filters and the cache; connect.yml uses
# the hosts through the connection plugin; cleanup.yml removes everything, also after a failure.
set -eux
cd "$(dirname "$0")"

MDT_TMP="$(mktemp -d /tmp/mdt-inventory.XXXXXX)"
export MDT_TMP
export MYDOCKER_ROOT="$MDT_TMP/root"  # the plugin's state root where the configuration has no root

cleanup() {
    rc=$?
    ansible-playbook -i localhost.ini cleanup.yml -e mdt_tmp="$MDT_TMP" || rc=1
    exit "$rc"
}
trap cleanup EXIT

ansible-playbook -i localhost.ini setup.yml -e mdt_tmp="$MDT_TMP" "$@"

# ansible-inventory marks untrusted strings as {"__ansible_unsafe": ...}: unwrap them
inventory() {  # inventory NAME [ansible-inventory options]: $MDT_TMP/NAME.json
    local name=$1 cfg=$1
    shift
    case $name in cache*|nocache) cfg=cache ;; esac
    ansible-inventory -i "$MDT_TMP/$cfg.mydocker.yml" --list --output "$MDT_TMP/$name.raw.json" "$@"
    python -c '
import json, sys
def plain(v):
    if isinstance(v, dict):
        if set(v) == {"__ansible_unsafe"}:
            return v["__ansible_unsafe"]
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v
with open(sys.argv[1]) as f:
    data = plain(json.load(f))
with open(sys.argv[2], "w") as f:
    json.dump(data, f)
' "$MDT_TMP/$name.raw.json" "$MDT_TMP/$name.json"
}

cat > "$MDT_TMP/default.mydocker.yml" <<YAML
plugin: mydocker.runtime.mydocker_containers
YAML

cat > "$MDT_TMP/all.mydocker.yml" <<YAML
plugin: mydocker.runtime.mydocker_containers
root: $MDT_TMP/root
all: true
strict: true
keyed_groups:
  - key: mydocker_status
    prefix: status
  - key: mydocker_network | default('none', true)
    prefix: net
  - key: mydocker_labels
    prefix: label
groups:
  webs: inventory_hostname.startswith('web')
compose:
  short_id: mydocker_id[:4]
YAML

cat > "$MDT_TMP/filters.mydocker.yml" <<YAML
plugin: mydocker.runtime.mydocker_containers
root: $MDT_TMP/root
all: true
filters:
  - exclude: inventory_hostname == 'web2'
  - include: mydocker_status == 'exited'
  - include: mydocker_labels.app | default('') == 'shop'
  - exclude: true
YAML

cat > "$MDT_TMP/labels.mydocker.yml" <<YAML
plugin: mydocker.runtime.mydocker_containers
root: $MDT_TMP/root
all: true
filters:
  - include: "'tier' in mydocker_labels"
  - exclude: true
YAML

cat > "$MDT_TMP/cache.mydocker.yml" <<YAML
plugin: mydocker.runtime.mydocker_containers
root: $MDT_TMP/root
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: $MDT_TMP/cache
cache_timeout: 3600
YAML

inventory default
inventory all
inventory filters
inventory labels

# the cache: filled, still answering after web2 stopped, then flushed
inventory cache1
ansible -i localhost.ini localhost -m mydocker.runtime.mydocker_container \
    -a "root=$MDT_TMP/root name=web2 state=stopped"
inventory cache2
inventory cache3 --flush-cache
sed -i 's/^cache: true/cache: false/' "$MDT_TMP/cache.mydocker.yml"
inventory nocache

ansible-playbook -i localhost.ini assert.yml -e mdt_tmp="$MDT_TMP" "$@"

# the hosts work with the connection plugin as the inventory gives them
ansible-playbook -i "$MDT_TMP/default.mydocker.yml" connect.yml "$@" | tee "$MDT_TMP/connect.log"
grep -q "web1 *: ok=2 " "$MDT_TMP/connect.log"

# a configuration with a bad filter is refused with a clear error
cat > "$MDT_TMP/bad.mydocker.yml" <<YAML
plugin: mydocker.runtime.mydocker_containers
filters:
  - keep: true
YAML
if ansible-inventory -i "$MDT_TMP/bad.mydocker.yml" --list > "$MDT_TMP/bad.out" 2>&1; then :; fi
grep -q "must be a dictionary with one key, include or exclude" "$MDT_TMP/bad.out"

ansible-doc -t inventory mydocker.runtime.mydocker_containers | grep -q "filters"
