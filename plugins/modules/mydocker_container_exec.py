#!/usr/bin/python
# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r"""
module: mydocker_container_exec
short_description: Run a command in a running mydocker container
version_added: 0.1.0
description:
  - Runs a command inside a running container (its namespaces, root, cgroup and limits, with the
    container's environment) and returns its exit status and output, like C(mydocker exec).
  - As with M(ansible.builtin.command), the task fails when the command exits with a status other
    than 0; use C(failed_when) with RV(rc) to accept other statuses.
author:
  - mydocker.runtime contributors (@mydocker)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mydocker.runtime.common
attributes:
  check_mode:
    support: none
    details:
      - The command could change anything; in check mode the task is skipped.
  diff_mode:
    support: none
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change.
    support: none
    details:
      - The module always reports C(changed), as it cannot know what the command did.
  platform:
    platforms: posix
options:
  container:
    description:
      - The name or ID of a running container.
    type: str
    required: true
  argv:
    description:
      - The command as a list of arguments. Exactly one of O(argv) and O(command) is needed.
    type: list
    elements: str
  command:
    description:
      - The command as a string, split as a shell would split it (no shell runs it).
    type: str
  chdir:
    description:
      - The working directory in the container. Without it, the container's.
    type: str
  env:
    description:
      - Environment variables added to the container's for this command.
    type: dict
  strip_empty_ends:
    description:
      - Remove the trailing newlines of RV(stdout) and RV(stderr).
    type: bool
    default: true
notes:
  - Runs on the target as root.
seealso:
  - module: mydocker.runtime.mydocker_container
"""

EXAMPLES = r"""
- name: Read a file in the container
  mydocker.runtime.mydocker_container_exec:
    container: web
    argv: [cat, /etc/hostname]
  register: result

- name: A command string, in a directory, with a variable
  mydocker.runtime.mydocker_container_exec:
    container: web
    command: sh -c 'echo "$GREETING from $(pwd)"'
    chdir: /tmp
    env:
      GREETING: hello
  register: result

- name: A command that may exit with 1
  mydocker.runtime.mydocker_container_exec:
    container: web
    argv: [grep, -q, debug, /etc/app.conf]
  register: result
  failed_when: result.rc not in [0, 1]
"""

RETURN = r"""
rc:
  description: The exit status of the command.
  returned: when the command ran
  type: int
  sample: 0
stdout:
  description: The standard output of the command.
  returned: when the command ran
  type: str
  sample: web
stderr:
  description: The standard error of the command.
  returned: when the command ran
  type: str
  sample: ""
stdout_lines:
  description: RV(stdout) split into lines.
  returned: when the command ran
  type: list
  elements: str
  sample: [web]
stderr_lines:
  description: RV(stderr) split into lines.
  returned: when the command ran
  type: list
  elements: str
  sample: []
"""

from ansible_collections.mydocker.runtime.plugins.module_utils.bytecode import cache_bytecode

cache_bytecode()  # before the imports below: they are compiled from the module's zip otherwise

from ansible_collections.mydocker.runtime.plugins.module_utils.ansible_glue import module_definition, new_module, run
from ansible_collections.mydocker.runtime.plugins.module_utils.planning.containerexec import exec_command


def task(module):
    p = module.params
    rc, out, err = exec_command(p["root"], p["container"], argv=p["argv"], command=p["command"],
                                chdir=p["chdir"], env=p["env"])
    out = out.decode("utf-8", "replace")
    err = err.decode("utf-8", "replace")
    if p["strip_empty_ends"]:
        out = out.rstrip("\r\n")
        err = err.rstrip("\r\n")
    result = dict(changed=True, rc=rc, stdout=out, stderr=err, stdout_lines=out.splitlines(),
                  stderr_lines=err.splitlines())
    if rc != 0:
        module.fail_json(msg="the command exited with status %d" % rc, **result)
    return result


def definition():
    spec = dict(
        container=dict(type="str", required=True),
        argv=dict(type="list", elements="str"),
        command=dict(type="str"),
        chdir=dict(type="str"),
        env=dict(type="dict"),
        strip_empty_ends=dict(type="bool", default=True),
    )
    return module_definition(spec, supports_check_mode=False, mutually_exclusive=[("argv", "command")],
                             required_one_of=[("argv", "command")])


def main():
    run(new_module(definition()), task)


if __name__ == "__main__":
    main()
