#!/usr/bin/python
# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r"""
module: mydocker_login
short_description: Log in to (or out of) a container registry for mydocker
version_added: 0.2.0
description:
  - Stores the user name and password of a registry, as C(mydocker login) does, for the pulls and
    pushes of mydocker (C(mydocker pull), M(mydocker.runtime.mydocker_image) with
    O(mydocker.runtime.mydocker_image#module:source=pull)).
  - The credentials are kept in the Docker client's C(config.json) format (C(auths), a base64
    C(auth) per registry), file mode 0600, in C(<root>/auth/config.json), or in
    C($MYDOCKER_CONFIG/config.json) when that variable is set on the target.
  - Before a login is stored the registry is asked to accept it (C(GET /v2/)); a wrong password
    fails the task, also in check mode. A login already stored with the same user and password
    changes nothing and asks no registry.
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
      - The diff shows the registry, the user and whether a login is stored; never the password.
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change.
    support: full
  platform:
    platforms: posix
options:
  registry:
    description:
      - The registry, C(host[:port]) (V(docker.io) for Docker Hub); a scheme or path given is
        dropped.
    type: str
    required: true
    aliases: [registry_url]
  state:
    description:
      - V(present) stores the login, V(absent) forgets it.
    type: str
    choices: [present, absent]
    default: present
  username:
    description:
      - The user name; needed with O(state=present).
    type: str
  password:
    description:
      - The password (or token); needed with O(state=present).
    type: str
  ca_file:
    description:
      - A CA bundle on the target to verify the registry's TLS certificate with.
    type: path
  insecure_registry:
    description:
      - Allow TLS without verification, or plain HTTP, for this registry. Registries on a
        loopback address always are.
    type: bool
    default: false
notes:
  - Runs on the target; root is needed to write into the state root.
seealso:
  - module: mydocker.runtime.mydocker_image
"""

EXAMPLES = r"""
- name: Log in to a private registry
  mydocker.runtime.mydocker_login:
    registry: registry.example:5000
    username: deploy
    password: "{{ vault_registry_password }}"

- name: Log out
  mydocker.runtime.mydocker_login:
    registry: registry.example:5000
    state: absent
"""

RETURN = r"""
login:
  description: The login after the task (predicted in check mode), without the password.
  returned: always
  type: dict
  sample:
    registry: registry.example:5000
    username: deploy
    loggedIn: true
actions:
  description: What the task did (or would do in check mode), one line each.
  returned: always
  type: list
  elements: str
  sample:
    - "login: registry.example:5000 as deploy (new login)"
"""

from ansible_collections.mydocker.runtime.plugins.module_utils.bytecode import cache_bytecode

cache_bytecode()  # before the imports below: they are compiled from the module's zip otherwise

from ansible_collections.mydocker.runtime.plugins.module_utils.ansible_glue import (
    DifferenceTracker,
    module_definition,
    new_module,
    run,
)
from ansible_collections.mydocker.runtime.plugins.module_utils.planning.login import (
    apply,
    argument_spec,
    plan_login,
)


def task(module):
    p = module.params
    plan = plan_login(p["root"], p["registry"], state=p["state"], username=p["username"], password=p["password"],
                      ca_file=p["ca_file"], insecure_registry=p["insecure_registry"])
    login = plan.after
    if plan.changed and not module.check_mode:
        login = apply(plan)
    tracker = DifferenceTracker()
    tracker.add("login", plan.before, plan.after)
    result = dict(changed=plan.changed, actions=list(plan.actions), login=login)
    if module._diff:
        result["diff"] = tracker.diff()
    return result


def definition():
    return module_definition(argument_spec(), required_if=[("state", "present", ("username", "password"))])


def main():
    run(new_module(definition()), task)


if __name__ == "__main__":
    main()
