#!/usr/bin/python
# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r"""
module: mydocker_host_info
short_description: Information about the mydocker runtime on a host
version_added: 0.1.0
description:
  - Returns the runtime's version, the host's cgroup layout, whether seccomp filtering is
    available, the state root, and how many containers (by status), images and networks the
    state root holds.
  - Optionally lists the containers, images and networks, and measures the disk usage of the
    state root.
author:
  - mydocker.runtime contributors (@mydocker)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mydocker.runtime.common
  - mydocker.runtime.attributes.INFO_MODULE
options:
  containers:
    description:
      - Also return every container of the state root in RV(containers), with its true status.
    type: bool
    default: false
  images:
    description:
      - Also return every image of the store in RV(images).
    type: bool
    default: false
  networks:
    description:
      - Also return every network of the state root in RV(networks).
    type: bool
    default: false
  disk_usage:
    description:
      - Also measure what the state root holds on disk, in RV(disk_usage). This walks every file
        of the state root and can take a while on a large one.
    type: bool
    default: false
notes:
  - Runs on the target; reading the store of the default root needs root.
seealso:
  - module: mydocker.runtime.mydocker_container_info
  - module: mydocker.runtime.mydocker_image_info
  - module: mydocker.runtime.mydocker_network_info
  - module: mydocker.runtime.mydocker_prune
"""

EXAMPLES = r"""
- name: What the host runs
  mydocker.runtime.mydocker_host_info:
  register: result

- name: Fail on a host without cgroup v2
  ansible.builtin.assert:
    that: result.host.cgroup_layout == 'v2'

- name: The running containers and the disk usage
  mydocker.runtime.mydocker_host_info:
    containers: true
    disk_usage: true
  register: result

- name: Show them
  ansible.builtin.debug:
    msg: "{{ result.containers | selectattr('status', 'eq', 'running') | map(attribute='name') }}
      use {{ result.disk_usage.total }} bytes"
"""

RETURN = r"""
host:
  description: The runtime and its state root.
  returned: always
  type: dict
  contains:
    version:
      description: The version of the mydocker.runtime collection running on the target.
      type: str
      sample: 0.1.0
    root:
      description: The state root (absolute).
      type: str
      sample: /var/lib/mydocker
    cgroup_layout:
      description:
        - V(v2) (one unified hierarchy), V(v1) (legacy hierarchies), V(hybrid) (legacy hierarchies
          beside a cgroup2 one, which mydocker does not use) or V(none).
      type: str
      sample: v2
    seccomp:
      description: Whether the kernel filters system calls and libseccomp can be loaded.
      type: bool
      sample: true
    containers:
      description: How many containers the state root holds, in total and by true status.
      type: dict
      sample:
        total: 3
        running: 1
        restarting: 0
        created: 1
        exited: 1
    images:
      description: How many images the store holds.
      type: int
      sample: 2
    networks:
      description: How many networks the state root holds.
      type: int
      sample: 1
containers:
  description: Every container record with its true status, as M(mydocker.runtime.mydocker_container_info) returns it.
  returned: when O(containers=true)
  type: list
  elements: dict
images:
  description: Every image record (as M(mydocker.runtime.mydocker_image_info) returns them).
  returned: when O(images=true)
  type: list
  elements: dict
networks:
  description: Every network record.
  returned: when O(networks=true)
  type: list
  elements: dict
disk_usage:
  description:
    - Bytes (apparent file sizes, every file counted once, mounts not entered) the state root
      holds, by top-level directory, and in total.
  returned: when O(disk_usage=true)
  type: dict
  contains:
    total:
      description: All of the state root.
      type: int
    containers:
      description: The container records and logs.
      type: int
    overlay2:
      description: What the containers wrote (their upper layers).
      type: int
    image:
      description: The image store (tarballs, records, unpacked layers).
      type: int
    network:
      description: The network records and the IP allocator.
      type: int
    volumes:
      description: The named and anonymous volumes (their data and records).
      type: int
    other:
      description: The rest (engine copies of the monitors and the lock among it).
      type: int
  sample:
    total: 4521984
    containers: 8192
    overlay2: 1024
    image: 4501504
    network: 512
    other: 10752
"""

from ansible_collections.mydocker.runtime.plugins.module_utils.bytecode import cache_bytecode

cache_bytecode()  # before the imports below: they are compiled from the module's zip otherwise

from ansible_collections.mydocker.runtime.plugins.module_utils.ansible_glue import module_definition, new_module, run
from ansible_collections.mydocker.runtime.plugins.module_utils.planning.host import argument_spec, host_info


def task(module):
    p = module.params
    result = host_info(p["root"], containers=p["containers"], images_list=p["images"], networks=p["networks"],
                       disk_usage=p["disk_usage"])
    return dict(result, changed=False)


def definition():
    return module_definition(argument_spec())


def main():
    run(new_module(definition()), task)


if __name__ == "__main__":
    main()
