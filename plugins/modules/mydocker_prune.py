#!/usr/bin/python
# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r"""
module: mydocker_prune
short_description: Remove unused mydocker containers, images, networks and crash leftovers
version_added: 0.1.0
description:
  - Removes, for the kinds chosen, what a state root no longer needs, and reports what was
    removed and the space that gave back. Nothing is removed unless a kind is chosen.
  - The kinds are removed in this order; a later kind counts what an earlier one removed as gone
    (an image used only by an exited container is removed with O(containers=true, images=true)).
  - A removal goes through the same checks as a single one does; a container started again
    after the task looked is refused, the task fails naming it, and what was removed before
    stays removed.
author:
  - mydocker.runtime contributors (@mydocker)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mydocker.runtime.common
attributes:
  check_mode:
    support: full
    details:
      - Check mode lists what would be removed and the space it would give back.
  diff_mode:
    support: full
    details:
      - The diff shows the names of the containers, images and networks of the chosen kinds before
        and after the prune, and the leftovers before it.
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change.
    support: full
  platform:
    platforms: posix
options:
  leftovers:
    description:
      - Remove what crashed runs left behind, as C(mydocker prune) does (records of containers
        nobody supervises, stale mounts, overlay directories and cgroups without a container,
        veths, iptables rules and IP reservations of containers that are gone, engine copies no
        monitor uses). Removed first.
    type: bool
    default: false
  containers:
    description:
      - Remove the exited containers. Created containers, running ones and those a monitor is
        restarting are kept.
    type: bool
    default: false
  images:
    description:
      - Remove the images no container uses.
    type: bool
    default: false
  networks:
    description:
      - Remove the networks no container is attached to (containers of any status count).
    type: bool
    default: false
  volumes:
    description:
      - Remove the anonymous volumes no container names (after the containers removed by
        O(containers)), as C(docker volume prune) of Docker 23+.
    type: bool
    default: false
  volumes_all:
    description:
      - With O(volumes), remove the unused named volumes too (C(docker volume prune -a)).
    type: bool
    default: false
  build_cache:
    description:
      - Remove the build cache. mydocker has none yet, so this always removes nothing and
        reclaims zero bytes; accepted for playbooks written for community.docker.docker_prune.
    type: bool
    default: false
notes:
  - Runs on the target; root is needed.
  - Space is counted as apparent file sizes, every file once; a layer shared with an image or
    container that stays is not counted.
seealso:
  - module: mydocker.runtime.mydocker_host_info
"""

EXAMPLES = r"""
- name: Remove exited containers, then the images and networks nothing uses
  mydocker.runtime.mydocker_prune:
    containers: true
    images: true
    networks: true
  register: result

- name: Show what that gave back
  ansible.builtin.debug:
    msg: "{{ result.containers | length }} containers, {{ result.space_reclaimed }} bytes"

- name: What a crash left behind, only listed
  mydocker.runtime.mydocker_prune:
    leftovers: true
  check_mode: true
  register: result
"""

RETURN = r"""
containers:
  description: Names of the containers removed (would be removed in check mode).
  returned: always
  type: list
  elements: str
  sample: [web-old, job-1]
images:
  description: Names of the images removed.
  returned: always
  type: list
  elements: str
  sample: [app-v1]
networks:
  description: Names of the networks removed.
  returned: always
  type: list
  elements: str
  sample: [oldnet]
volumes:
  description: Names of the volumes removed.
  returned: always
  type: list
  elements: str
  sample: [dbdata-old]
build_cache:
  description: The build cache entries removed; always empty.
  returned: always
  type: list
  elements: str
  sample: []
leftovers:
  description: What was left behind by crashed runs and is removed, one line each.
  returned: always
  type: list
  elements: str
  sample:
    - directory overlay2/5512345678
    - cgroup mydocker/5512345678
space_reclaimed:
  description: Bytes given back, all kinds together.
  returned: always
  type: int
  sample: 2215536
reclaimed:
  description: Bytes given back by kind.
  returned: always
  type: dict
  sample:
    leftovers: 0
    containers: 4096
    images: 2211440
    networks: 0
    volumes: 0
    build_cache: 0
    total: 2215536
actions:
  description: What the task did (or would do in check mode), one line each.
  returned: always
  type: list
  elements: str
  sample:
    - remove container web-old
    - remove image app-v1
"""

from ansible_collections.mydocker.runtime.plugins.module_utils.bytecode import cache_bytecode

cache_bytecode()  # before the imports below: they are compiled from the module's zip otherwise

from ansible_collections.mydocker.runtime.plugins.module_utils.ansible_glue import (
    DifferenceTracker,
    module_definition,
    new_module,
    run,
)
from ansible_collections.mydocker.runtime.plugins.module_utils.planning.prune import apply, argument_spec, plan_prune


def task(module):
    p = module.params
    plan = plan_prune(p["root"], leftovers=p["leftovers"], containers=p["containers"], images_=p["images"],
                      networks=p["networks"], build_cache=p["build_cache"], volumes_=p["volumes"],
                      volumes_all=p["volumes_all"])
    out = plan.result()
    if plan.changed and not module.check_mode:
        out = apply(plan)
    result = dict(out["removed"], changed=plan.changed, actions=list(plan.actions),
                  space_reclaimed=out["reclaimed"]["total"], reclaimed=out["reclaimed"])
    if module._diff:
        tracker = DifferenceTracker()
        for kind in sorted(plan.before):
            tracker.add(kind, plan.before[kind], plan.after[kind])
        result["diff"] = tracker.diff()
    return result


def definition():
    return module_definition(argument_spec())


def main():
    run(new_module(definition()), task)


if __name__ == "__main__":
    main()
