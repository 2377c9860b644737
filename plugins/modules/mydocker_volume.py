#!/usr/bin/python
# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r"""
module: mydocker_volume
short_description: Manage mydocker named volumes
version_added: 0.1.0
description:
  - Creates and removes named volumes of mydocker's C(local) driver, as community.docker's
    C(docker_volume) does for Docker. A volume is a directory C(<state root>/volumes/NAME/_data)
    with a record beside it; containers mount it with C(NAME:/path) in
    M(mydocker.runtime.mydocker_container)'s O(mydocker.runtime.mydocker_container#module:volumes)
    or O(mydocker.runtime.mydocker_container#module:mounts).
  - A volume that a container names (running or not) is never removed or recreated.
author:
  - mydocker.runtime contributors (@mydocker)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mydocker.runtime.common
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the volume as Name, Driver, Labels and Options.
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change.
    support: partial
    details:
      - With O(recreate=always), every run recreates the volume.
  platform:
    platforms: posix
options:
  name:
    description:
      - Name of the volume, C([a-zA-Z0-9][a-zA-Z0-9_.-]+) (Docker's rule).
    type: str
    required: true
    aliases: [volume_name]
  state:
    description:
      - V(present) creates the volume when it is missing (and recreates it as O(recreate) says).
      - V(absent) removes it with its data; refused while a container names it.
    type: str
    choices: [present, absent]
    default: present
  driver:
    description:
      - Volume driver. Only V(local) exists; any other is refused.
    type: str
    default: local
  driver_options:
    description:
      - Options of the driver. The C(local) driver here takes none; any given is refused.
    type: dict
  labels:
    description:
      - Labels of the volume (values are strings). An existing volume keeps its labels unless
        O(recreate=options-changed) or O(recreate=always).
    type: dict
  recreate:
    description:
      - V(never) leaves an existing volume as it is; V(options-changed) recreates it (empty) when its
        driver or labels differ; V(always) recreates it (empty) on every run. Refused while a
        container names the volume.
    type: str
    choices: [never, options-changed, always]
    default: never
notes:
  - Runs on the target; root is needed.
seealso:
  - module: mydocker.runtime.mydocker_volume_info
  - module: mydocker.runtime.mydocker_container
"""

EXAMPLES = r"""
- name: A volume for the database
  mydocker.runtime.mydocker_volume:
    name: dbdata
    labels:
      app: db

- name: Remove it (refused while a container names it)
  mydocker.runtime.mydocker_volume:
    name: dbdata
    state: absent
"""

RETURN = r"""
volume:
  description:
    - The volume's record after the task (predicted in check mode); empty when it is absent.
  returned: always
  type: dict
  sample:
    Name: dbdata
    Driver: local
    Mountpoint: /var/lib/mydocker/volumes/dbdata/_data
    Labels:
      app: db
    Options: {}
    Scope: local
    CreatedAt: "2026-12-01T12:00:00Z"
    Anonymous: false
actions:
  description: What the task did (or would do in check mode), one line each.
  returned: always
  type: list
  elements: str
  sample:
    - create
"""

from ansible_collections.mydocker.runtime.plugins.module_utils.bytecode import cache_bytecode

cache_bytecode()  # before the imports below: they are compiled from the module's zip otherwise

from ansible_collections.mydocker.runtime.plugins.module_utils.ansible_glue import (
    DifferenceTracker,
    module_definition,
    new_module,
    run,
)
from ansible_collections.mydocker.runtime.plugins.module_utils.planning.volume import (
    apply,
    argument_spec,
    plan_volume,
)


def task(module):
    p = module.params
    plan = plan_volume(p["root"], p["name"], state=p["state"], driver=p["driver"],
                       driver_options=p["driver_options"], labels=p["labels"], recreate=p["recreate"])
    vol = plan.volume
    if plan.changed and not module.check_mode:
        vol = apply(plan)
    tracker = DifferenceTracker()
    tracker.add("volume", plan.before, plan.after)
    result = dict(changed=plan.changed, actions=list(plan.actions), volume=vol)
    if module._diff:
        result["diff"] = tracker.diff()
    return result


def definition():
    return module_definition(argument_spec())


def main():
    run(new_module(definition()), task)


if __name__ == "__main__":
    main()
