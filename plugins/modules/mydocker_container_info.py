#!/usr/bin/python
# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r"""
module: mydocker_container_info
short_description: Information about a mydocker container
version_added: 0.1.0
description:
  - Returns whether a container exists and its record, with the status the host really shows
    (a container whose process died is C(exited), whatever the record file says).
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
    type: str
    required: true
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
"""

RETURN = r"""
exists:
  description: Whether the container exists.
  returned: always
  type: bool
  sample: true
container:
  description: The container record (as C(mydocker inspect) shows it); empty when it does not exist.
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
"""

from ansible_collections.mydocker.runtime.plugins.module_utils.ansible_glue import new_module, run
from ansible_collections.mydocker.runtime.plugins.module_utils.planning.container import info


def task(module):
    rec = info(module.params["root"], module.params["name"])
    return dict(changed=False, exists=rec is not None, container=rec or {})


def main():
    run(new_module(dict(name=dict(type="str", required=True))), task)


if __name__ == "__main__":
    main()
