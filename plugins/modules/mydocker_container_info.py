#!/usr/bin/python
# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r"""
module: mydocker_container_info
short_description: Information about mydocker containers
version_added: 0.1.0
description:
  - Returns whether a container exists and its record, with the status the host really shows
    (a container whose process died is C(exited), whatever the record file says).
  - Without O(name), returns every container of the state root in RV(containers), narrowed by
    O(filters).
author:
  - mydocker.runtime contributors (@mydocker)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mydocker.runtime.common
  - mydocker.runtime.attributes.INFO_MODULE
options:
  name:
    description:
      - The name or ID of the container.
      - Without it, every container of the state root is returned in RV(containers).
    type: str
  filters:
    description:
      - Return only the containers in RV(containers) that match every key given here.
      - A key's value is a string or a list of strings; a container matches the key when it
        matches one of them (for C(label), all of them).
      - C(name) is a shell-style pattern matched against the container's name (V(web-*)).
      - C(status) is one of V(created), V(running), V(restarting), V(exited) (the true status).
      - C(image) and C(network) are the exact image and network names.
      - C(label) is V(KEY) or V(KEY=VALUE), matched against the labels of the container record
        (a container without labels matches no label filter).
      - Filters narrow RV(containers) only; RV(exists) and RV(container) still say whether
        O(name) exists.
    type: dict
notes:
  - Runs on the target; reading the store of the default root needs root.
seealso:
  - module: mydocker.runtime.mydocker_container
"""

EXAMPLES = r"""
- name: Look at the web container
  mydocker.runtime.mydocker_container_info:
    name: web
  register: result

- name: Show its address and status
  ansible.builtin.debug:
    msg: "{{ result.container.ip }} {{ result.container.status }}"
  when: result.exists

- name: The running containers of the busybox image on appnet
  mydocker.runtime.mydocker_container_info:
    filters:
      status: running
      image: busybox
      network: appnet
  register: result

- name: Their names
  ansible.builtin.debug:
    msg: "{{ result.containers | map(attribute='name') }}"
"""

RETURN = r"""
exists:
  description:
    - Whether the container O(name) exists.
    - Without O(name), whether any container matched O(filters).
  returned: always
  type: bool
  sample: true
container:
  description:
    - The container record (as C(mydocker inspect) shows it); empty when it does not exist.
    - Empty without O(name).
  returned: always
  type: dict
  sample:
    id: "6696563329"
    name: web
    pid: "131875"
    status: running
    image: busybox
    cmd: [httpd, -f, -p, "80"]
    ip: 10.42.0.2
    networkName: appnet
containers:
  description:
    - The records (true status) of the containers that match O(filters), by ID; with O(name),
      the one container when it exists and matches.
  returned: always
  type: list
  elements: dict
  sample:
    - id: "6696563329"
      name: web
      pid: "131875"
      status: running
      image: busybox
      cmd: [httpd, -f, -p, "80"]
      ip: 10.42.0.2
      networkName: appnet
"""

from ansible_collections.mydocker.runtime.plugins.module_utils.bytecode import cache_bytecode

cache_bytecode()  # before the imports below: they are compiled from the module's zip otherwise

from ansible_collections.mydocker.runtime.plugins.module_utils.ansible_glue import module_definition, new_module, run
from ansible_collections.mydocker.runtime.plugins.module_utils.planning.info import (
    container_argument_spec,
    container_info,
)


def task(module):
    p = module.params
    return dict(container_info(p["root"], p["name"], p["filters"]), changed=False)


def definition():
    return module_definition(container_argument_spec())


def main():
    run(new_module(definition()), task)


if __name__ == "__main__":
    main()
