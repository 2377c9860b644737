#!/usr/bin/python
# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r"""
module: mydocker_network_info
short_description: Information about mydocker networks
version_added: 0.1.0
description:
  - Returns the records of mydocker networks with their attached containers and their drift
    (what the host lacks compared with the record, such as a bridge deleted by hand, a missing iptables
    rule, C(ip_forward) off), and whether each network asked for exists.
author:
  - mydocker.runtime contributors (@mydocker)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mydocker.runtime.common
  - mydocker.runtime.attributes.INFO_MODULE
  - mydocker.runtime.common.NETWORK
options:
  name:
    description:
      - Names of the networks to return. Without it, all networks of the state root are returned.
      - Networks that do not exist are left out of RV(networks) and are V(false) in RV(exists).
    type: list
    elements: str
  filters:
    description:
      - Return only the networks in RV(networks) that match every key given here.
      - A key's value is a string or a list of strings; a network matches the key when it
        matches one of them.
      - C(name) is a shell-style pattern (V(app*)); C(driver) the exact driver (V(bridge)).
      - Without O(name), RV(exists) has the networks that match (and only their drift is looked
        for); with O(name), filters narrow RV(networks) only.
    type: dict
notes:
  - Runs on the target; root is needed.
seealso:
  - module: mydocker.runtime.mydocker_network
"""

EXAMPLES = r"""
- name: All networks
  mydocker.runtime.mydocker_network_info:
  register: result

- name: One network; fail when its host side drifted
  mydocker.runtime.mydocker_network_info:
    name: appnet
  register: result
  failed_when: result.networks | map(attribute='Drift') | flatten | length > 0

- name: The bridge networks whose name starts with app
  mydocker.runtime.mydocker_network_info:
    filters:
      name: app*
      driver: bridge
  register: result
"""

RETURN = r"""
networks:
  description: The records of the networks that exist, in the order asked for (else by name).
  returned: always
  type: list
  elements: dict
  contains:
    Name:
      description: Name of the network (and of its bridge).
      type: str
    Driver:
      description: Network driver (V(bridge)).
      type: str
    Subnet:
      description: The subnet in CIDR notation.
      type: str
    Gateway:
      description: The gateway address (the bridge's address).
      type: str
    Bridge:
      description: Name of the bridge on the host.
      type: str
    IPRange:
      description: The gateway and the base64 of the subnet mask, as the original my-docker tool keeps them.
      type: dict
    Containers:
      description: Attached containers by ID, with C(Name) and C(IPAddress).
      type: dict
    Drift:
      description: What the host lacks compared with the record; empty when all is in place.
      type: list
      elements: str
  sample:
    - Name: appnet
      IPRange:
        IP: 10.199.0.1
        Mask: ////AA==
      Driver: bridge
      Subnet: 10.199.0.0/24
      Gateway: 10.199.0.1
      Bridge: appnet
      Created: "2025-03-17 15:45:14"
      Containers:
        "6696563329":
          Name: web
          IPAddress: 10.199.0.2
      Drift: []
exists:
  description:
    - For every network asked for, whether it exists.
    - Without O(name), every network that matches O(filters).
  returned: always
  type: dict
  sample:
    appnet: true
"""

from ansible_collections.mydocker.runtime.plugins.module_utils.bytecode import cache_bytecode

cache_bytecode()  # before the imports below: they are compiled from the module's zip otherwise

from ansible_collections.mydocker.runtime.plugins.module_utils.ansible_glue import module_definition, new_module, run
from ansible_collections.mydocker.runtime.plugins.module_utils.planning.info import network_argument_spec
from ansible_collections.mydocker.runtime.plugins.module_utils.planning.otherinfo import network_info


def task(module):
    p = module.params
    networks, exists = network_info(p["root"], p["name"], p["filters"])
    return dict(changed=False, networks=networks, exists=exists)


def definition():
    return module_definition(network_argument_spec())


def main():
    run(new_module(definition()), task)


if __name__ == "__main__":
    main()
