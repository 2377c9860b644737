#!/usr/bin/python
# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r"""
module: mydocker_network
short_description: Manage mydocker bridge networks
version_added: 0.1.0
description:
  - Creates and removes mydocker bridge networks. A network is a Linux bridge named after it
    holding the gateway address, a subnet reserved in mydocker's IP allocator, and iptables rules
    (NAT with MASQUERADE, forwarding) in mydocker's own chains; C(net.ipv4.ip_forward) is
    switched on.
  - Idempotent on O(driver), O(subnet) and O(gateway), compared normalised (V(10.1.2.3/24) is
    V(10.1.2.0/24)). A changed subnet or gateway recreates the network, which is refused while
    containers are attached unless O(force=true).
  - Drift on the host counts as a change and is repaired (a bridge deleted or put down by hand,
    its gateway address removed, a missing iptables rule or jump, C(ip_forward) off, a veth of an
    attached container taken off the bridge). Check mode reports it.
author:
  - mydocker.runtime contributors (@mydocker)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mydocker.runtime.common
  - mydocker.runtime.common.NETWORK
attributes:
  check_mode:
    support: full
    details:
      - Drift on the host is detected in check mode too.
  diff_mode:
    support: full
    details:
      - The diff shows the network record as Name, Driver, Subnet, Gateway, Bridge and IPRange,
        plus C(Drift) (what the host lacks) when there is drift to repair.
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change.
    support: full
  platform:
    platforms: posix
options:
  name:
    description:
      - Name of the network; the bridge on the host has the same name, so at most 15 characters.
    type: str
    required: true
  state:
    description:
      - V(present) creates the network, recreates it when O(subnet) or O(gateway) changed, and
        repairs drift on the host.
      - V(absent) removes the network (bridge, iptables rules, IP reservations, record); refused
        while containers are attached unless O(force=true).
    type: str
    choices: [present, absent]
    default: present
  driver:
    description:
      - Network driver. Only V(bridge) exists.
    type: str
    choices: [bridge]
    default: bridge
  subnet:
    description:
      - IPv4 subnet in CIDR notation, from a V(/16) to a V(/30); it must not overlap another
        network of the state root or a route or address of the host.
      - Required to create the network. Left out, an existing network keeps its subnet.
    type: str
  gateway:
    description:
      - Gateway address (the bridge's address) inside O(subnet).
      - Left out, an existing network keeps its gateway while the subnet stays the same; a new or
        changed subnet gets its first address.
    type: str
  force:
    description:
      - Remove (O(state=absent)) or recreate (changed O(subnet) or O(gateway)) the network even
        when containers are attached. They are detached (their veths and published-port rules
        are deleted) and lose their network connection; recreate them afterwards.
    type: bool
    default: false
notes:
  - Runs on the target; root is needed.
seealso:
  - module: mydocker.runtime.mydocker_network_info
  - module: mydocker.runtime.mydocker_container
"""

EXAMPLES = r"""
- name: A bridge network
  mydocker.runtime.mydocker_network:
    name: appnet
    subnet: 10.199.0.0/24

- name: With a gateway of its own
  mydocker.runtime.mydocker_network:
    name: backnet
    subnet: 10.198.0.0/24
    gateway: 10.198.0.254

- name: Remove it, detaching containers still attached
  mydocker.runtime.mydocker_network:
    name: backnet
    state: absent
    force: true
"""

RETURN = r"""
network:
  description:
    - The network record after the task (predicted in check mode), with the attached containers;
      empty when the network is absent.
  returned: always
  type: dict
  sample:
    Name: appnet
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
actions:
  description: What the task did (or would do in check mode), one line each.
  returned: always
  type: list
  elements: str
  sample:
    - "repair: bridge appnet is missing"
    - "repair: MASQUERADE rule missing: -t nat -A MYDOCKER-POST -s 10.199.0.0/24 ! -o appnet -j MASQUERADE"
"""

from ansible_collections.mydocker.runtime.plugins.module_utils.bytecode import cache_bytecode

cache_bytecode()  # before the imports below: they are compiled from the module's zip otherwise

from ansible_collections.mydocker.runtime.plugins.module_utils.ansible_glue import (
    DifferenceTracker,
    module_definition,
    new_module,
    run,
)
from ansible_collections.mydocker.runtime.plugins.module_utils.planning.network import (
    apply,
    argument_spec,
    plan_network,
)


def task(module):
    p = module.params
    plan = plan_network(p["root"], p["name"], state=p["state"], driver=p["driver"], subnet=p["subnet"],
                        gateway=p["gateway"], force=p["force"])
    net = plan.network
    if plan.changed and not module.check_mode:
        net = apply(plan)
    tracker = DifferenceTracker()
    tracker.add("network", plan.before, plan.after)
    result = dict(changed=plan.changed, actions=list(plan.actions), network=net)
    if module._diff:
        result["diff"] = tracker.diff()
    return result


def definition():
    return module_definition(argument_spec())


def main():
    run(new_module(definition()), task)


if __name__ == "__main__":
    main()
