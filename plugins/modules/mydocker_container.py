#!/usr/bin/python
# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r"""
module: mydocker_container
short_description: Manage mydocker containers
version_added: 0.1.0
description:
  - Creates, starts, stops, updates, recreates and removes containers of the mydocker runtime.
  - The options given are normalised (sizes to bytes, CPUs to numbers, ports to host address,
    host port, container port and protocol, the environment to a map, the command to an argument
    list) and compared with the container record and with the host. An option that is not given
    is not compared.
  - Limits (O(memory), O(cpus), O(cpu_shares), O(cpuset_cpus), O(pids_limit)) and
    O(restart_policy) are changed in place, on the running container. A change of any other
    option (O(image), O(command), O(env), O(volumes), O(published_ports), O(network), O(ip),
    O(hostname), O(working_dir), O(auto_remove), O(security_opts), O(healthcheck), O(log_driver),
    O(log_options)), and a new version of the image, make a new
    container with the same name. RV(actions) says which option forced it.
  - "Drift on the host counts. A container whose process died is started again
    (V(start: process not running)) with O(state=started); a limit changed by hand in the
    container's cgroup is set again (V(update: memory (changed on the host\\))); a container whose
    image layer is missing is recreated."
  - Check mode predicts what a real run reports (changed, RV(actions) and the diff) from the same
    plan and changes nothing.
author:
  - mydocker.runtime contributors (@mydocker)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mydocker.runtime.common
  - mydocker.runtime.common.NETWORK
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the compared options and the state of the container before and after.
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change.
    support: partial
    details:
      - O(recreate=true), O(restart=true) and O(detach=false) act on every run.
  platform:
    platforms: posix
options:
  name:
    description:
      - The container's name. It also finds a container by its ID.
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the container exists with the given options; a new container is
        created but not started. A running container that must be recreated is started again.
      - V(started) makes sure it exists and runs (with O(detach=false), runs it to completion).
      - V(stopped) makes sure it exists and does not run.
      - V(absent) stops and removes it.
      - V(healthy) is V(started), then waits until the container's healthcheck says healthy (at
        most O(healthy_wait_timeout) seconds); the task fails with the last probe's exit code and
        output when it does not get there. The container needs a healthcheck (O(healthcheck) or
        the image's). Check mode predicts the V(started) part and does not wait.
    type: str
    choices: [present, started, stopped, absent, healthy]
    default: started
  image:
    description:
      - The image (of the mydocker image store, see M(mydocker.runtime.mydocker_image)), a
        reference as Docker spells it (V(busybox), V(busybox:latest), V(me/app:v1),
        V(registry.example:5000/app:2)); V(busybox) and V(docker.io/library/busybox:latest) are
        the same.
      - Required to create a container. The image is compared by its ID, so a container made from
        an older version of the image (imported again, or the tag moved to another image) is
        recreated.
    type: str
  command:
    description:
      - The command (the image's Cmd replaced), a list of arguments or a string split as a shell
        would split it (no shell runs it). It follows the image's Entrypoint, as with Docker.
      - Without it, the image's Cmd (none when O(entrypoint) is set).
    type: raw
  entrypoint:
    description:
      - Replaces the image's Entrypoint; a list of arguments or a string split as a shell would.
        V('') or V([]) clears it. When set, the image's Cmd is not used (as with Docker).
      - A change recreates the container.
    type: raw
  user:
    description:
      - The user the container's processes run as, instead of the image's C(User), one of
        V(name), V(uid), V(uid:gid) or V(name:group), resolved in the image's C(/etc/passwd) and
        C(/etc/group) when the container starts. V(0) is root.
      - A change recreates the container.
    type: str
  env:
    description:
      - Environment variables, added to the image's. Values are strings (quote C(true) and
        numbers you mean as text; numbers are converted).
    type: dict
  volumes:
    description:
      - Bind mounts C(HOST:CONTAINER[:ro|rw]); both paths absolute. A missing host directory is
        created.
    type: list
    elements: str
  published_ports:
    description:
      - Ports published on the host, C([HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]). Needs O(network).
      - Also reachable from the host itself on 127.0.0.1.
    type: list
    elements: str
    aliases: [ports]
  network:
    description:
      - The bridge network (see M(mydocker.runtime.mydocker_network)) the container is attached to.
    type: str
  ip:
    description:
      - The container's IPv4 address in O(network). Without it, the next free address.
    type: str
  hostname:
    description:
      - The container's host name. Without it, the container ID.
    type: str
  working_dir:
    description:
      - The working directory of the command in the container. Without it, the image's, else C(/).
    type: str
  memory:
    description:
      - Memory limit, in bytes or with a unit (V(64m), V(1g), V(512k)); at least 6 MiB.
      - V(0) or V(unlimited) removes the limit.
    type: str
  cpus:
    description:
      - CPU limit as a number of CPUs (V(0.5)). V(0) removes the limit.
    type: float
  cpu_shares:
    description:
      - Relative CPU weight, 2 to 262144 (1024 is the default; V(0) means the default).
    type: int
  cpuset_cpus:
    description:
      - The CPUs the container may run on (V(0-1), V(0,2)). An empty string means all.
    type: str
  pids_limit:
    description:
      - The maximum number of processes. V(0) or V(-1) removes the limit.
    type: int
  restart_policy:
    description:
      - What the container's monitor does when the command exits. Quote V('no') in YAML.
    type: str
    choices: ['no', on-failure, always]
  restart_retries:
    description:
      - With O(restart_policy=on-failure), the maximum number of restarts (V(0) is no maximum).
    type: int
  restart:
    description:
      - With O(state=started), restart the container even when nothing changed.
    type: bool
    default: false
  recreate:
    description:
      - Make a new container even when nothing changed.
    type: bool
    default: false
  auto_remove:
    description:
      - Remove the container when its command exits.
    type: bool
  security_opts:
    description:
      - Security options, as Docker's C(--security-opt).
      - V(seccomp=unconfined) runs the container without a seccomp filter;
        V(seccomp=/path/profile.json) loads a Docker-format seccomp profile (an absolute path on
        the target, read when the container is made; the container keeps that profile). Without
        a seccomp option the container gets Docker's default profile.
      - V(no-new-privileges) is accepted; C(no_new_privs) is always set in mydocker containers.
      - Compared normalised (the last seccomp option counts, V(seccomp:unconfined) is
        V(seccomp=unconfined)); a change makes a new container. A changed profile file at the
        same path is not a change (use O(recreate=true)).
    type: list
    elements: str
  detach:
    description:
      - With V(false) and O(state=started), start the container, wait until it exits and return
        RV(rc), RV(stdout) and RV(stderr). The task fails when the exit status is not 0.
      - A container that is already running is left alone.
    type: bool
    default: true
  stop_timeout:
    description:
      - Seconds to wait after SIGTERM before SIGKILL when the container is stopped, restarted,
        recreated or removed.
    type: int
    default: 10
  force_kill:
    description:
      - Stop with SIGKILL at once instead of SIGTERM first.
    type: bool
    default: false
  healthcheck:
    description:
      - The container's healthcheck, as community.docker's C(healthcheck) shapes it, run by the
        container's monitor inside the container (as M(mydocker.runtime.mydocker_container_exec)
        does). Keys C(test), C(interval), C(timeout), C(retries), C(start_period),
        C(test_cli_compatible).
      - C(test) is a string (run by C(/bin/sh -c)) or a list starting with V(CMD), V(CMD-SHELL)
        or V(NONE) (no check, also none of the image's).
      - C(interval), C(timeout), C(start_period) are durations (V(30s), V(1m30s), V(500ms); a
        number is seconds); C(interval) and C(timeout) more than 0. Defaults as Docker's are 30s,
        30s, 0s and 3 C(retries). Failures within C(start_period) do not count.
      - C(test_cli_compatible=false) (the default, as community.docker) means a healthcheck without
        C(test) disables the check. V(true), as the Docker CLI, keeps the image's test and
        overrides the rest.
      - Compared as the check the container really runs (the image's under the task's, durations
        normalised, V(1m) is V(60s)); a change makes a new container. The state is in RV(container)
        C(health) (C(status), C(failingStreak), the last 5 results).
    type: dict
  healthy_wait_timeout:
    description:
      - With O(state=healthy), the seconds to wait for the container to become healthy.
    type: float
    default: 300
  log_driver:
    description:
      - Only V(json-file), the engine's own (the output stays the raw C(log.txt) of the state root
        with a timestamp index beside it). Another driver is refused.
    type: str
  log_options:
    description:
      - Log rotation done by the container's monitor, as Docker's json-file options
        C(max-size) (V(10m), V(512k), bytes) and C(max-file) (the number of files kept, needs
        C(max-size)). Compared normalised (V(10m) is V(10485760)); a change makes a new container.
    type: dict
    aliases: [log_opt]
notes:
  - Runs on the target as root.
  - The module's own process starts the container's monitor, which stays when the task ends.
seealso:
  - module: mydocker.runtime.mydocker_container_info
  - module: mydocker.runtime.mydocker_container_exec
  - module: mydocker.runtime.mydocker_image
  - module: mydocker.runtime.mydocker_network
"""

EXAMPLES = r"""
- name: A web server with a published port and limits
  mydocker.runtime.mydocker_container:
    name: web
    image: busybox
    command: [httpd, -f, -p, "80", -h, /www]
    network: appnet
    published_ports:
      - "8080:80"
    volumes:
      - /srv/www:/www:ro
    env:
      APP_MODE: production
    memory: 64m
    cpus: 0.5
    restart_policy: on-failure
    restart_retries: 3

- name: Give it more memory (in place, the process keeps running)
  mydocker.runtime.mydocker_container:
    name: web
    image: busybox
    memory: 128m

- name: Run a one-off command and use its output
  mydocker.runtime.mydocker_container:
    name: once
    image: busybox
    command: echo hello
    detach: false
    auto_remove: true
  register: once

- name: A container with a seccomp profile of its own
  mydocker.runtime.mydocker_container:
    name: strict
    image: busybox
    command: [sleep, "3600"]
    security_opts:
      - seccomp=/etc/mydocker/strict-seccomp.json
      - no-new-privileges

- name: Stop it
  mydocker.runtime.mydocker_container:
    name: web
    state: stopped

- name: Remove it
  mydocker.runtime.mydocker_container:
    name: web
    state: absent
"""

RETURN = r"""
container:
  description:
    - The container record as C(mydocker inspect) shows it (status from the host), after the
      task; in check mode, as it is now. Empty when there is no container.
  returned: always
  type: dict
  sample:
    id: "6696563329"
    name: web
    pid: "131875"
    status: running
    image: busybox
    cmd: [httpd, -f, -p, "80", -h, /www]
    command: httpd -f -p 80 -h /www
    ip: 10.42.0.2
    networkName: appnet
    resources: {memory: 67108864, cpus: 0.5, cpu_shares: null, cpuset_cpus: null, pids_limit: null}
actions:
  description:
    - "What the task did, or would do in check mode, for example V(create), V(start),
      V(recreate: image changed), V(update: memory), V(start: process not running), V(stop),
      V(remove)."
  returned: always
  type: list
  elements: str
  sample: ["update: memory"]
rc:
  description: The container's exit status.
  returned: when O(detach=false) and the container ran
  type: int
  sample: 0
stdout:
  description: The container's standard output.
  returned: when O(detach=false) and the container ran
  type: str
  sample: hello
stderr:
  description: The container's standard error.
  returned: when O(detach=false) and the container ran
  type: str
  sample: ""
"""

from ansible_collections.mydocker.runtime.plugins.module_utils.ansible_glue import new_module, run
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import container as container_plan
from ansible_collections.mydocker.runtime.plugins.module_utils.planning.options import argument_spec


def task(module):
    root = module.params["root"]
    plan = container_plan.compute_plan(root, module.params)
    result = dict(changed=plan.changed, actions=list(plan.actions))
    if module._diff:
        # the compared fields; a container that does not exist is {"state": "absent"}
        result["diff"] = dict(before=plan.before, after=plan.after)
    if module.check_mode:
        result["container"] = container_plan.current_view(root, plan)
        return result
    result.update(container_plan.apply(root, plan))
    if result.get("rc"):
        module.fail_json(msg="the container %s exited with status %d" % (plan.name, result["rc"]), **result)
    return result


def main():
    run(new_module(argument_spec()), task)


if __name__ == "__main__":
    main()
