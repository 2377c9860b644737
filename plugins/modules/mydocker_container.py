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
  - Limits (O(memory), O(memory_swap), O(memory_reservation), O(cpus), O(cpu_shares), O(cpuset_cpus),
    O(pids_limit)) and
    O(restart_policy) are changed in place, on the running container. A change of any other
    option (O(image), O(command), O(env), O(volumes), O(published_ports), O(exposed_ports),
    O(publish_all_ports), O(network), O(ip), O(hostname), O(working_dir), O(auto_remove),
    O(security_opts), O(healthcheck), O(log_driver), O(log_options)), of the process and security
    options (O(capabilities), O(cap_drop), O(privileged), O(sysctls), O(ulimits), O(init), O(stop_signal),
    O(groups), O(oom_score_adj), O(labels), O(devices)), and a new version of the image, make a new
    container with the same name. RV(actions) says which option forced it.
  - O(comparisons) says per option how it is compared, as community.docker's docker_container.
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
      - Without it, the image's Cmd (none when O(entrypoint) is set). V([]) and V('') mean the
        image's Cmd and are compared as such (community.docker's C(command_handling=correct)), so
        a container running another command is recreated with the image's.
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
      - Or named volumes C(NAME:CONTAINER[:ro|rw]) (see M(mydocker.runtime.mydocker_volume)), created on
        first use; a new empty volume gets the image's content at the mount point, as Docker.
    type: list
    elements: str
  mounts:
    description:
      - Mounts as community.docker writes them, each a dict with C(type) (C(bind), C(volume) (default) or
        C(tmpfs)), C(source) (a host path for C(bind), a volume name for C(volume); none for an anonymous
        volume or a C(tmpfs)), C(target) (required), C(read_only), C(tmpfs_size) (bytes or C(64m)) and
        C(tmpfs_mode) (octal, C(1777)).
    type: list
    elements: dict
  tmpfs:
    description:
      - tmpfs mounts C(PATH[:size=N,mode=M]) as C(docker run --tmpfs) mounts them, nosuid, nodev, noexec unless the
        options say C(exec), C(suid), C(dev).
    type: list
    elements: str
  read_only:
    description:
      - Mount the container's root filesystem read-only. Its /dev/shm, volumes and tmpfs mounts stay as
        they are (give C(/run) or C(/tmp) with O(tmpfs) where the program writes).
    type: bool
  shm_size:
    description:
      - Size of the container's /dev/shm (bytes or C(64m)); the default is 64 MiB.
    type: str
  published_ports:
    description:
      - Ports published on the host, C([HOSTIP:][HOSTPORT[-END]:]CONTAINERPORT[-END][/tcp|udp])
        as Docker spells them. Needs O(network).
      - A range (V(5000-5010:5000-5010), V(127.0.0.1:5000-5001:80-81)) is one port per port.
        A bare container port (V('9001'), V(127.0.0.1::9001)) is published on a free host port
        the engine chooses when the container starts; V(9010-9050:9010) on a free one of that
        range. The chosen port is in the container's record (and C(mydocker port)), kept across
        restarts, and compared by what was asked, so a rerun changes nothing.
      - Host addresses are IPv4 only, as the NAT of mydocker is IPv4 only. An IPv6 address
        (V([::1]:8080:80)) is refused with an error rather than ignored. Host names are refused.
      - V(all), the old community.docker spelling, means O(publish_all_ports=true).
      - Also reachable from the host itself on 127.0.0.1.
    type: list
    elements: str
    aliases: [ports]
  exposed_ports:
    description:
      - Container ports exposed (Docker's C(--expose)), V(80), V(53/udp), V(9000-9010); with
        O(publish_all_ports=true) they are published on free host ports.
      - The container also exposes its image's C(ExposedPorts) and every published port, so by
        default this is compared V(allow_more_present) (see O(comparisons)), as in community.docker.
    type: list
    elements: str
    aliases: [exposed, expose]
  publish_all_ports:
    description:
      - Publish every exposed port (O(exposed_ports) and the image's C(ExposedPorts)) not in
        O(published_ports) on a free host port (Docker's C(-P)). Needs O(network) when there is
        something to publish.
    type: bool
  network:
    description:
      - The bridge network (see M(mydocker.runtime.mydocker_network)) the container is attached to.
    type: str
  ip:
    description:
      - The container's IPv4 address in O(network). Without it, the next free address.
    type: str
  networks:
    description:
      - The bridge networks the container is attached to, each a dict with C(name) and optionally
        C(ipv4_address) (a fixed address; without it, the next free one) and C(aliases) (more
        names the other containers on that network resolve to it, through their C(/etc/hosts)).
      - Connected and disconnected in place, without recreating the container (a running one at
        once, a stopped one at its next start). A listed network whose C(ipv4_address) or
        C(aliases) differ is disconnected and connected again.
      - As in community.docker, networks the container has but the list does not name stay
        connected unless O(purge_networks) is true.
      - With O(network) too, that one is the container's first network.
    type: list
    elements: dict
  purge_networks:
    description:
      - Disconnect the networks the container is attached to that O(networks) does not list.
    type: bool
    default: false
  networks_cli_compatible:
    description:
      - Accepted for compatibility with community.docker. This runtime has no default network, so
        the networks of O(networks) are always exactly the networks of a new container, as with
        C(docker run --network).
    type: bool
    default: true
  network_mode:
    description:
      - V(none) (loopback only), V(host) (the host's network namespace; no O(published_ports)),
        V(container:NAME) (the network namespace, C(/etc/hosts) and C(/etc/resolv.conf) of another
        running container), or the name of a bridge network (the container's first network).
      - A change recreates the container.
    type: str
  dns_servers:
    description:
      - DNS servers written into the container's C(/etc/resolv.conf) instead of the host's.
      - A change recreates the container.
    type: list
    elements: str
  dns_search_domains:
    description:
      - Search domains written into the container's C(/etc/resolv.conf).
      - A change recreates the container.
    type: list
    elements: str
  etc_hosts:
    description:
      - More lines of the container's C(/etc/hosts), a dict of host names and their IP addresses (C(--add-host)).
      - A change recreates the container.
    type: dict
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
      - V(unless-stopped) restarts like V(always), but never a container a user stopped (mydocker
        starts nothing by itself at boot or when it adopts a running container).
    type: str
    choices: ['no', on-failure, always, unless-stopped]
  restart_retries:
    description:
      - With O(restart_policy=on-failure), the maximum number of restarts (V(0) is no maximum).
      - Needs O(restart_policy), as in community.docker; alone it is refused.
    type: int
  comparisons:
    description:
      - How options are compared with the container, as community.docker's docker_container does
        it. A dict of option names (or aliases) to V(strict) (the container has exactly the
        wished value), V(ignore) (never compared) or V(allow_more_present) (lists and dicts only,
        the container may have more than wished, for example more O(env) variables, O(volumes)
        or O(published_ports)).
      - The key V(*) (V(strict) or V(ignore)) sets every option first; named options then win.
      - The default is V(strict), except O(exposed_ports) (V(allow_more_present)).
        community.docker's default for its other lists and dicts is V(allow_more_present); here
        it stays V(strict), as before this option.
      - V(ignore) on O(image) ignores a new image ID as well.
    type: dict
  image_name_mismatch:
    description:
      - V(recreate) (the default, as in community.docker 4) recreates a container whose image is
        given under another name even when it is the same image ID; V(ignore) does not.
    type: str
    choices: [recreate, ignore]
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
  capabilities:
    description:
      - Capabilities to add to Docker's default fourteen, as C(--cap-add) (V(NET_ADMIN) or
        V(CAP_NET_ADMIN), any case; V(ALL) for every capability). Applied to the bounding,
        effective, permitted and inheritable sets; a non-root O(user) keeps none, as in Docker.
      - An unknown name fails the task. Compared as a set; a change makes a new container.
    type: list
    elements: str
  cap_drop:
    description:
      - Capabilities to drop, as C(--cap-drop); V(ALL) drops all of them (then only
        O(capabilities) are kept).
    type: list
    elements: str
  privileged:
    description:
      - DANGEROUS, see C(docs/security.md). Every capability, no masked or read-only paths in
        C(/proc) and C(/sys), no seccomp filter, as C(--privileged).
    type: bool
  sysctls:
    description:
      - Kernel parameters of the container's own namespaces, as C(--sysctl) (V(net.*),
        V(kernel.shm*), V(kernel.msg*), V(kernel.sem), V(fs.mqueue.*)); written before the
        command starts. Any other parameter would change the host and fails the task.
    type: dict
  ulimits:
    description:
      - Resource limits as C(NAME:SOFT[:HARD]) (V(nofile:1024:2048)), set before the command
        starts; C(-1) or V(unlimited) for no limit.
    type: list
    elements: str
  init:
    description:
      - Run Debian's C(tini) as PID 1 (bind-mounted read-only as C(/sbin/docker-init)); it reaps
        orphaned processes and forwards signals to the command, as C(--init).
    type: bool
  stop_signal:
    description:
      - The signal that stops the container (V(SIGTERM), V(TERM), V(15)); it overrides the
        image's C(StopSignal); without it the image's, else V(SIGTERM).
    type: str
  groups:
    description:
      - Additional groups of the container's user (names in the container's C(/etc/group), or
        gids), as C(--group-add).
    type: list
    elements: str
  oom_score_adj:
    description:
      - The container's C(oom_score_adj), -1000 to 1000 (lowering it below the runtime's own
        needs C(CAP_SYS_RESOURCE)).
    type: int
  labels:
    description:
      - Labels of the container, as C(--label); shown in RV(container) and matched by
        C(mydocker ps --filter label=K[=V]). A change makes a new container, as in Docker.
    type: dict
  devices:
    description:
      - Host devices in the container, as C(--device) (V(/dev/fuse), V(/dev/fuse:/dev/f),
        V(/dev/fuse:/dev/f:rw)); each is made in the container's C(/dev) and allowed in its
        device cgroup with the permissions (default V(rwm)). A path that is not a device node
        under C(/dev) fails the task.
    type: list
    elements: str
  memory_swap:
    description:
      - Memory plus swap, as C(--memory-swap) (V(200m)); V(-1) or V(unlimited) allows unlimited
        swap. Needs O(memory) and is at least as large. Without it the container may not swap
        beyond O(memory) (unlike Docker's default of twice the memory).
      - Written to C(memory.memsw.limit_in_bytes) (cgroup v1) or C(memory.swap.max) (v2) and
        changed in place, on the running container.
    type: str
  memory_reservation:
    description:
      - The soft memory limit, as C(--memory-reservation), not above O(memory); written to
        C(memory.soft_limit_in_bytes) (v1) or C(memory.low) (v2), changed in place.
    type: str
  pull:
    description:
      - Whether to pull O(image) from its registry first (with the login C(mydocker login) or
        M(mydocker.runtime.mydocker_login) stored).
      - V(never) (the default) uses the image in the store and fails when it is not there;
        V(missing) pulls it when it is not there; V(always) asks the registry for the tag's
        manifest on every run (also in check mode, no layer) and pulls when the tag moved.
      - A pull that gives the tag another image recreates the container, as any new image
        does; its action says that the image changed (a new image ID).
    type: str
    choices: [missing, always, never]
    default: never
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

from ansible_collections.mydocker.runtime.plugins.module_utils.bytecode import cache_bytecode

cache_bytecode()  # before the imports below: they are compiled from the module's zip otherwise

from ansible_collections.mydocker.runtime.plugins.module_utils.ansible_glue import module_definition, new_module, run
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


def definition():
    return module_definition(argument_spec())


def main():
    run(new_module(definition()), task)


if __name__ == "__main__":
    main()
