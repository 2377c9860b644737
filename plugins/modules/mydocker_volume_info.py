#!/usr/bin/python
# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r"""
module: mydocker_volume_info
short_description: Information about mydocker named volumes
version_added: 0.1.0
description:
  - Returns a named volume's record and whether it exists, as community.docker's
    C(docker_volume_info) does; without O(name), every volume of the state root.
author:
  - mydocker.runtime contributors (@mydocker)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mydocker.runtime.common
  - mydocker.runtime.attributes.INFO_MODULE
options:
  name:
    description:
      - Name of the volume. Without it, RV(volumes) lists every volume.
    type: str
    aliases: [volume_name]
notes:
  - Runs on the target; root is needed.
seealso:
  - module: mydocker.runtime.mydocker_volume
"""

EXAMPLES = r"""
- name: One volume
  mydocker.runtime.mydocker_volume_info:
    name: dbdata
  register: result

- name: All volumes
  mydocker.runtime.mydocker_volume_info:
  register: all_volumes
"""

RETURN = r"""
exists:
  description: Whether the volume O(name) exists (V(null) without O(name)).
  returned: always
  type: bool
  sample: true
volume:
  description: The record of volume O(name); empty when it does not exist or without O(name).
  returned: always
  type: dict
  sample:
    Name: dbdata
    Driver: local
    Mountpoint: /var/lib/mydocker/volumes/dbdata/_data
    Labels: {}
    Options: {}
    Scope: local
    CreatedAt: "2026-12-01T12:00:00Z"
    Anonymous: false
    InUse: [db]
volumes:
  description:
    - The records of the volumes (only O(name)'s with O(name)), each with C(InUse), the names of the
      containers that name it.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.mydocker.runtime.plugins.module_utils.bytecode import cache_bytecode

cache_bytecode()  # before the imports below: they are compiled from the module's zip otherwise

from ansible_collections.mydocker.runtime.plugins.module_utils.ansible_glue import module_definition, new_module, run
from ansible_collections.mydocker.runtime.plugins.module_utils.planning.volume import info, info_argument_spec


def task(module):
    p = module.params
    vols, exists, vol = info(p["root"], p["name"])
    return dict(changed=False, exists=exists, volume=vol, volumes=vols)


def definition():
    return module_definition(info_argument_spec())


def main():
    run(new_module(definition()), task)


if __name__ == "__main__":
    main()
