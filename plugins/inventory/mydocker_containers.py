# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: mydocker_containers
short_description: The containers of a mydocker state root as inventory hosts
version_added: 0.1.0
description:
  - Reads the container records of a mydocker state root on the controller and adds one host per
    container, named after the container, that the connection plugin
    P(mydocker.runtime.mydocker#connection) reaches (C(ansible_connection) and
    C(ansible_mydocker_root) are set for each host).
  - Only running containers by default; O(all=true) lists stopped and created ones too.
  - "The configuration file must end in C(mydocker.yml) or C(mydocker.yaml) (for example
    C(inventory.mydocker.yml)) and contain C(plugin: mydocker.runtime.mydocker_containers)."
  - "Host variables: C(mydocker_name), C(mydocker_id), C(mydocker_image), C(mydocker_status),
    C(mydocker_network), C(mydocker_ip), C(mydocker_labels) (a dictionary, empty when the record
    has none), C(mydocker_hostname), C(mydocker_command), C(mydocker_created), C(mydocker_ports),
    C(mydocker_pid)."
  - The plugin reads the state of the machine Ansible runs on; for the containers of another host,
    run Ansible there.
author:
  - mydocker.runtime contributors (@mydocker)
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description:
      - The name of this plugin; this inventory source is for it only when it is set to it.
    type: str
    required: true
    choices:
      - mydocker.runtime.mydocker_containers
  root:
    description:
      - The state root whose containers are listed.
      - Without it, E(MYDOCKER_ROOT), else C(/var/lib/mydocker).
    type: path
    env:
      - name: MYDOCKER_ROOT
  all:
    description:
      - List every container, not only the running ones.
      - Only running containers can be reached by the connection plugin.
    type: bool
    default: false
  filters:
    description:
      - Decide which containers become hosts, as the inventory plugins of community.docker do.
      - A list of dictionaries, each with one key, C(include) or C(exclude), whose value is a Jinja2
        condition (without C({{ }})) evaluated with the host's variables above (and
        C(inventory_hostname)), or a boolean.
      - The filters are tried in order; the first one whose condition is true decides (C(include)
        adds the container, C(exclude) leaves it out). When none matches, the container is added.
      - Filters are applied after O(all), before O(compose), O(groups) and O(keyed_groups).
    type: list
    elements: dict
    default: []
notes:
  - Values of the records (names, labels, commands) are marked unsafe, so they are never templated.
seealso:
  - plugin: mydocker.runtime.mydocker
    plugin_type: connection
"""

EXAMPLES = r"""
# inventory.mydocker.yml: the running containers of the default state root
plugin: mydocker.runtime.mydocker_containers

# web.mydocker.yml: every container of a test root, grouped by image, network and status
# plugin: mydocker.runtime.mydocker_containers
# root: /var/lib/mydocker-test
# all: true
# keyed_groups:
#   - key: mydocker_image
#     prefix: image
#   - key: mydocker_network | default('none', true)
#     prefix: network
#   - key: mydocker_status
#     prefix: status
# groups:
#   web: "'web' in inventory_hostname"
# compose:
#   ansible_python_interpreter: "'/usr/bin/python3'"
# filters:
#   # the containers labelled app=shop, except stopped ones; no others
#   - exclude: mydocker_status != 'running'
#   - include: mydocker_labels.app | default('') == 'shop'
#   - exclude: true
# cache: true
# cache_plugin: ansible.builtin.jsonfile
# cache_connection: /tmp/mydocker-inventory-cache
"""

from ansible import template as _template
from ansible.errors import AnsibleError, AnsibleParserError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable


def _as_is(value):
    return value


if hasattr(_template, "trust_as_template"):
    # ansible-core 2.19+: what a plugin returns is never templated unless marked trusted
    make_unsafe = _as_is
else:  # pragma: no cover - ansible-core < 2.19
    from ansible.utils.unsafe_proxy import wrap_var as make_unsafe

try:
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine import containers
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import resolve_root
except ImportError as exc:  # pragma: no cover - the engine ships with the collection
    containers = None
    ENGINE_IMPORT_ERROR = exc
else:
    ENGINE_IMPORT_ERROR = None

CONNECTION = "mydocker.runtime.mydocker"
CONFIG_SUFFIXES = ("mydocker.yml", "mydocker.yaml")


# ---------------------------------------------------------------- pure helpers (unit-tested)

def host_vars(record, root):
    """The host variables of one container record (as containers.list_containers returns it)."""
    labels = record.get("labels")
    return {
        "ansible_connection": CONNECTION,
        "ansible_mydocker_root": root,
        "mydocker_name": record.get("name") or record.get("id"),
        "mydocker_id": record.get("id"),
        "mydocker_image": record.get("image") or "",
        "mydocker_status": record.get("status") or "",
        "mydocker_network": record.get("networkName") or "",
        "mydocker_ip": record.get("ip") or "",
        "mydocker_labels": dict(labels) if isinstance(labels, dict) else {},
        "mydocker_hostname": record.get("hostname") or "",
        "mydocker_command": record.get("command") or "",
        "mydocker_created": record.get("createdTime") or "",
        "mydocker_ports": list(record.get("portmapping") or []),
        "mydocker_pid": str(record.get("pid") or ""),
    }


def validate_filters(filters):
    """Raise ValueError unless ``filters`` is a list of {include: X} / {exclude: X}."""
    if filters is None:
        return []
    if not isinstance(filters, list):
        raise ValueError("filters must be a list")
    for i, f in enumerate(filters):
        if not isinstance(f, dict) or len(f) != 1 or next(iter(f)) not in ("include", "exclude"):
            raise ValueError("filters[%d] must be a dictionary with one key, include or exclude: %r" % (i, f))
        value = next(iter(f.values()))
        if not isinstance(value, (str, bool)):
            raise ValueError("filters[%d]: the condition must be a string or a boolean" % i)
    return filters


def filter_host(evaluate, filters):
    """True when the host is kept: the first filter whose condition is true decides; default keep.

    ``evaluate(condition)`` returns the truth of a string condition for this host."""
    for f in filters:
        kind, cond = next(iter(f.items()))
        hit = cond if isinstance(cond, bool) else evaluate(cond)
        if hit:
            return kind == "include"
    return True


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """Hosts from the container records of a mydocker state root."""

    NAME = "mydocker.runtime.mydocker_containers"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(CONFIG_SUFFIXES)

    def _records(self, root, all_containers):
        if ENGINE_IMPORT_ERROR is not None:
            raise AnsibleError("cannot load the mydocker engine: %s" % ENGINE_IMPORT_ERROR)
        try:
            records = containers.list_containers(root, all=all_containers)
        except (MyDockerError, OSError) as e:
            raise AnsibleParserError("cannot list the containers of %s: %s" % (root, e))
        return sorted(records, key=lambda r: (r.get("name") or r.get("id") or ""))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        root = resolve_root(self.get_option("root"))
        all_containers = self.get_option("all")
        try:
            filters = validate_filters(self.get_option("filters"))
        except ValueError as e:
            raise AnsibleParserError("%s: %s" % (path, e))

        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache")
        records = None
        if use_cache and cache:
            try:
                records = self._cache[cache_key]
            except KeyError:
                records = None
        if records is None:
            records = self._records(root, all_containers)
            if use_cache:
                self._cache[cache_key] = records
        self._populate(records, root, filters)

    def _evaluate(self, condition, variables):
        return boolean(self._compose(condition, variables), strict=False)

    def _populate(self, records, root, filters):
        strict = self.get_option("strict")
        for record in records:
            hvars = make_unsafe(host_vars(record, root))
            hvars["ansible_connection"] = CONNECTION
            hvars["ansible_mydocker_root"] = root
            name = hvars["mydocker_name"]
            variables = dict(hvars, inventory_hostname=name)
            if not filter_host(lambda cond, v=variables: self._evaluate(cond, v), filters):
                continue
            self.inventory.add_host(name)
            for key, value in hvars.items():
                self.inventory.set_variable(name, key, value)
            self._set_composite_vars(self.get_option("compose"), variables, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name, strict=strict)
