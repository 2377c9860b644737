# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Containers: the one API the CLI and the Ansible modules call.

create / start / run / stop / restart / remove / list / inspect / exec / logs / commit / prune.
Every operation takes a name or an ID. Every failure undoes what the steps before it did.
Records are read and written through ``records``; ``prune`` lives in ``prune``.
"""

import os
import random
import socket
import tempfile
import time
from typing import Any, Optional

from . import health, imageconfig, images, lifecycle, process, procopts, records, seccomp, users
from . import volumes as volumes_mod
from .commit import commit  # noqa: F401  # pylint: disable=unused-import
from .errors import MyDockerError, NotFound
from .logs import parse_log_config
from .monitor import start_monitor
from .prune import prune  # noqa: F401  # pylint: disable=unused-import
from .records import ACTIVE, CREATED, EXITED, RUNNING, Record
from .resources import normalize_resources
from .store import cgroup_parent, makedirs, state_lock
from .validate import (  # noqa: F401 (parse_volume, parse_restart: part of this API)
    check_auto_remove,
    check_needs_network,
    check_unique_volumes,
    parse_restart,
    parse_volume,
    validate_hostname,
    validate_name,
    validate_workdir,
)
from .view import (  # noqa: F401  # the API, read side in view.py  # pylint: disable=unused-import
    _paths,
    exists,
    find,
    inspect,
    list_containers,
    parse_env,
    view,
)
from .workspace import check_host_addresses, complete, find_again, make_files, start_lock


# ---------------------------------------------------------------- create
def _new_id(paths):
    rnd = random.SystemRandom()
    while True:
        cid = "".join(rnd.choice("0123456789") for _i in range(10))
        if not os.path.exists(paths.container_dir(cid)):
            return cid


def create(root: Optional[str], image: str, command: Optional[list[str]] = None, name: Optional[str] = None,
           env: Any = None, volumes: Optional[list[str]] = None, workdir: Optional[str] = None,
           hostname: Optional[str] = None, resources: Optional[dict[str, Any]] = None, restart: Any = None,
           auto_remove: bool = False, tty: bool = False, interactive: bool = False,
           network: Optional[str] = None, ip: Optional[str] = None, ports: Optional[list[Any]] = None,
           security_opt: Optional[list[str]] = None, entrypoint: Any = None, user: Optional[str] = None,
           mounts: Optional[list[Any]] = None, tmpfs: Optional[list[Any]] = None, read_only: bool = False,
           shm_size: Any = None, networks: Any = None, network_mode: Optional[str] = None, aliases: Any = None,
           dns: Any = None, dns_search: Any = None, add_hosts: Any = None,
           cap_add: Any = None, cap_drop: Any = None, privileged: bool = False, sysctls: Any = None,
           ulimits: Any = None, init: bool = False, stop_signal: Any = None, group_add: Any = None,
           oom_score_adj: Any = None, labels: Any = None, label_files: Any = None, devices: Any = None,
           expose: Optional[list[Any]] = None, publish_all: bool = False,
           healthcheck: Optional[dict] = None, log_driver: Optional[str] = None, log_options: Any = None,
           _until_running: bool = False) -> Record:
    """Create a container (not started). Returns its record.

    The image's config is honoured as Docker does (``imageconfig``): the command is Entrypoint +
    Cmd, ``command`` replaces Cmd, ``entrypoint`` (a string, '' clears, or a list) replaces the
    Entrypoint and drops Cmd; ``env`` wins over the image's Env; ``workdir`` and ``user`` (name,
    uid, uid:gid, name:group; resolved in the image's /etc/passwd at start) over the image's.

    The first record names this process as its creator; the mark is cleared once the container
    is complete (``_until_running``, for ``run``: once it runs), so ``prune`` can tell a container
    half-made by a creator that died from one that was created."""
    paths = _paths(root)
    paths.ensure()
    img = images.get_image(paths.root, image)
    cfg = img.get("config") or {}
    if entrypoint is not None and not isinstance(entrypoint, str) and \
            not (isinstance(entrypoint, list) and all(isinstance(a, str) for a in entrypoint)):
        raise MyDockerError("the entrypoint must be a string or a list of strings")
    if command and not (isinstance(command, (list, tuple)) and all(isinstance(a, str) for a in command)):
        raise MyDockerError("the command must be a list of strings")
    cmd = imageconfig.command(cfg, command, entrypoint)
    if not cmd:
        raise MyDockerError("no command specified (image %s has no default command)" % image)
    if not all(isinstance(a, str) for a in cmd):
        raise MyDockerError("the command must be a list of strings")
    user = users.validate(cfg.get("User") or "" if user is None else user)
    image_env = parse_env(cfg.get("Env") or [])
    image_env.pop("PATH", None)
    image_env.update(parse_env(env))
    vols = check_unique_volumes([parse_volume(v) for v in volumes or []])
    vols, storage = volumes_mod.storage_options(vols, mounts, tmpfs, read_only, shm_size)
    res = normalize_resources(resources or {})
    security_opt, seccomp_profile = seccomp.parse_security_opt(security_opt)
    policy = parse_restart(restart)
    check_auto_remove(auto_remove, policy["name"])
    workdir = validate_workdir(workdir or cfg.get("WorkingDir") or "/")
    if name is not None:
        validate_name(name, "container name")
    if hostname is not None:
        validate_hostname(hostname)
    # networks, network_mode (none, host, container:NAME), dns, dns_search, add_hosts: net/netmode.py
    from .net import names, netmode
    from .net.ports import container_ports  # plain Python: ranges, bare ports, --expose, -P (issue 11)
    mode, atts, extra_hosts, dns, dns_search = netmode.parse_create(
        paths, network, ip, networks, aliases, network_mode, ports, add_hosts, dns, dns_search)
    network = atts[0]["name"] if atts else None
    net_ports, exposed = container_ports(ports, expose, publish_all, cfg.get("ExposedPorts"))
    check_needs_network(network, net_ports, ip)
    ip = atts[0]["ip"] if atts else ""
    if mode == netmode.HOST and hostname is None:
        hostname = socket.gethostname()
    procs = procopts.normalize(cap_add, cap_drop, privileged, sysctls, ulimits, init, stop_signal, group_add,
                               oom_score_adj, labels, label_files, devices)  # issue 11: process, security
    extra = {"healthcheck": health.for_create(cfg, healthcheck), "logConfig": parse_log_config(log_driver, log_options)}
    if network:
        from .net import networks as netmod
        for a in atts:
            netmod.inspect_network(paths.root, a["name"])  # raises for an unknown network
        check_host_addresses(net_ports)

    new_volumes = []
    with state_lock(paths):
        cid = _new_id(paths)
        name = name or cid
        for other in records.iter_records(paths):
            if other.get("name") == name:
                raise MyDockerError("the container name %s is already in use by container %s"
                                    % (name, other.id))
        names.check_names(paths, cid, name, atts)
        # volumes made on first use and the image's anonymous ones: under the lock that saves their user
        vols, new_volumes = volumes_mod.resolve(paths, vols, cfg.get("Volumes"),
                                                [t["container"] for t in storage.get("tmpfs", [])])
        makedirs(paths.container_dir(cid), 0o700)
        rec = Record({
            # the Go tool's keys (command, volume, portmapping, Resource: derived by records.save)
            "pid": "", "id": cid, "name": name, "command": "", "createdTime": lifecycle.now(),
            "status": CREATED, "volume": "", "networkName": network or "", "portmapping": None,
            "ip": ip or "", "cgroupManager": {"Path": "%s/%s" % (cgroup_parent(paths.root), cid),
                                              "Resource": None},
            "cmd": cmd, "image": image, "layer": img["layer"], "layers": img["layers"],
            "imageId": img["imageId"], "env": image_env, "volumes": vols,
            "workdir": workdir, "hostname": hostname or cid, "resources": res,
            "restartPolicy": policy, "restartCount": 0, "autoRemove": bool(auto_remove),
            "tty": bool(tty), "interactive": bool(interactive), "ports": net_ports,
            "exposedPorts": exposed, "publishAllPorts": bool(publish_all),
            "exitCode": None, "startedAt": "", "finishedAt": "", "monitorPid": "",
            "stopRequested": False, "securityOpt": security_opt, "seccompProfile": seccomp_profile,
            "user": user, "stopSignal": cfg.get("StopSignal") or "",
            "config": imageconfig.resolved(img, cmd, entrypoint, image_env, workdir, user),
            "networks": atts, "networkMode": mode, "dns": dns, "dnsSearch": dns_search,
            "extraHosts": extra_hosts,
        })
        rec.update(storage, **lifecycle.own_mark("creator"))
        rec.update(procs)
        rec.update(extra)
        try:
            rec = records.save(paths, rec)
        except BaseException:
            volumes_mod.forget(paths, new_volumes)
            raise
    try:
        make_files(paths, rec, img["layerPath"])
        if not _until_running:
            rec = records.update(paths, cid, creatorPid="", creatorStart=None)
    except BaseException:
        lifecycle.remove_files(paths, rec)
        volumes_mod.forget(paths, new_volumes)
        raise
    return rec


# ---------------------------------------------------------------- start / run

def start(root: Optional[str], ref: str, stdio: Optional[tuple[int, int, int]] = None,
          console: Optional[int] = None, attached: bool = False) -> tuple[int, Any]:
    """Start a created or stopped container. Returns (pid, notify file or None).

    ``stdio``: three fds for the container (attached runs); default: log file.
    ``console``: a unix socket fd; the container sends the master of its new pty on it.
    """
    paths = _paths(root)
    rec = find(paths, ref)
    cid = rec.id
    with start_lock(paths, rec):
        rec = find_again(paths, rec)
        if lifecycle.true_status(rec) in ACTIVE:
            raise MyDockerError("container %s is already running" % rec.name)
        if lifecycle.monitor_alive(rec):
            _wait_monitor(rec, 10)  # the monitor of the last run is still cleaning up
            rec = find_again(paths, rec)
            if lifecycle.true_status(rec) in ACTIVE:
                raise MyDockerError("container %s is already running" % rec.name)
            if lifecycle.monitor_alive(rec):
                raise MyDockerError("container %s is busy: its monitor (pid %s) is still starting or cleaning "
                                    "it up" % (rec.name, rec.monitor_pid))
        if lifecycle.half_made(rec) and not lifecycle.is_own_mark(rec, "creator"):
            if lifecycle.mark_alive(rec, "creator"):
                raise MyDockerError("container %s is still being created (by process %s)"
                                    % (rec.name, rec.get("creatorPid")))
            rec = complete(paths, rec)
        records.update(paths, cid, stopRequested=False, restartCount=0, error="",
                       **lifecycle.own_mark("starter"))
        return start_monitor(paths, cid, stdio=stdio, console=console, attached=attached)


def run(root: Optional[str], image: str, command: Optional[list[str]] = None, detach: bool = True,
        stdio: Optional[tuple[int, int, int]] = None, console: Optional[int] = None,
        **kwargs: Any) -> tuple[Record, int, Any]:
    """create + start; a failure at any step removes the container again."""
    paths = _paths(root)
    rec = create(paths, image, command, _until_running=True, **kwargs)
    try:
        pid, notify = start(paths, rec.id, stdio=stdio, console=console, attached=not detach)
    except BaseException:
        # the record may be gone already (rm -f raced the start): its files go all the same
        lifecycle.remove_files(paths, records.read(paths, rec.id) or rec)
        raise
    rec = records.read(paths, rec.id) or rec
    return rec, pid, notify


def wait_exit(notify: Any) -> int:
    """Block until an attached container is done; returns its exit code."""
    try:
        while True:
            line = notify.readline().decode("utf-8", "replace").strip()
            if not line:
                return 255
            if line.startswith("exited "):
                return int(line.split()[1])
    finally:
        notify.close()


def _run_captured(start, wait):
    """``start(stdio)`` with stdin /dev/null and stdout/stderr into temporary files, then
    ``wait(what start returned)``. Returns (exit code, stdout bytes, stderr bytes)."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        handle = start((null, out.fileno(), err.fileno()))
        os.close(null)
        null = None
        code = wait(handle)
        out.seek(0)
        err.seek(0)
        return code, out.read(), err.read()
    finally:
        if null is not None:
            os.close(null)
        out.close()
        err.close()


def start_and_wait(root: Optional[str], ref: str) -> tuple[int, bytes, bytes]:
    """Start a created or stopped container attached and wait until it is done (restart policy
    included). Returns (exit code, stdout bytes, stderr bytes); stdin is /dev/null."""
    return _run_captured(lambda stdio: start(root, ref, stdio=stdio, attached=True)[1], wait_exit)


def exec_and_wait(root: Optional[str], ref: str, argv: list[str], env: Any = None,
                  workdir: Optional[str] = None, user: Optional[str] = None) -> tuple[int, bytes, bytes]:
    """``exec_start`` then ``exec_wait``: (exit code, stdout bytes, stderr bytes)."""
    return _run_captured(lambda stdio: exec_start(root, ref, argv, stdio=stdio, env=env, workdir=workdir,
                                                  user=user), exec_wait)


# ---------------------------------------------------------------- update

def update(root: Optional[str], ref: str, resources: Optional[dict[str, Any]] = None,
           restart: Any = None) -> Record:
    """Change a container in place: its limits (``resources``: the complete set, as for create;
    applied to the cgroup when it exists) and/or its restart policy (read by the monitor at the
    next exit). Returns the record. On failure the cgroup gets its old limits back."""
    paths = _paths(root)
    rec = find(paths, ref)
    changes = {}
    if restart is not None:
        policy = parse_restart(restart)
        check_auto_remove(rec.auto_remove, policy["name"])
        changes["restartPolicy"] = policy
    if resources is not None:
        res = normalize_resources(resources)
        cg = lifecycle.cgroup_of(paths, rec)
        if cg.exists():
            try:
                cg.update(res)
            except MyDockerError:
                try:
                    cg.update(rec.resources)
                except MyDockerError:
                    pass
                raise
        changes["resources"] = res  # records.save derives cgroupManager.Resource
    if changes:
        rec = records.update(paths, rec.id, **changes)
    return rec


# ---------------------------------------------------------------- stop / rm

def _wait_monitor(rec, timeout):
    deadline = time.time() + timeout
    while lifecycle.monitor_alive(rec) and time.time() < deadline:
        time.sleep(0.02)
    return not lifecycle.monitor_alive(rec)


def stop(root: Optional[str], ref: str, timeout: float = 10) -> bool:
    """SIGTERM, SIGKILL after ``timeout`` s; returns once the process is confirmed gone.

    Returns True when something was stopped."""
    paths = _paths(root)
    rec = find(paths, ref)
    cid = rec.id
    if rec.status not in ACTIVE and not lifecycle.monitor_alive(rec):
        return False
    rec = records.update(paths, cid, stopRequested=True)
    try:
        sig = imageconfig.parse_signal(rec.get("stopSignal"))
    except MyDockerError:
        sig = imageconfig.parse_signal(None)  # an image's StopSignal we cannot read: SIGTERM
    if not lifecycle.kill_and_wait(rec, timeout, sig):
        raise MyDockerError("container %s (pid %s) did not die after SIGKILL" % (rec.name, rec.pid))
    deadline = time.time() + 15
    while lifecycle.monitor_alive(rec) and time.time() < deadline:
        # a monitor that was still starting the container (or restarting it) when the stop came
        # may start it after all: stop that one too
        now = records.read(paths, cid)
        if now is not None and lifecycle.is_running(now):
            lifecycle.kill_and_wait(now, 0)
        time.sleep(0.02)
    if lifecycle.monitor_alive(rec):
        raise MyDockerError("the monitor of container %s did not finish" % rec.name)
    rec = records.read(paths, cid)
    if rec is not None and rec.status != EXITED:
        # the monitor died (crashed or was killed): clean up in its place
        lifecycle.finish(paths, cid, rec.exit_code if rec.exit_code is not None else 137, None)
        lifecycle.final(paths, cid)
    return True


def restart(root: Optional[str], ref: str, timeout: float = 10) -> tuple[int, Any]:
    stop(root, ref, timeout)
    return start(root, ref)


def remove(root: Optional[str], ref: str, force: bool = False, volumes: bool = False) -> bool:
    """Remove a container; ``volumes`` (rm -v): its anonymous volumes too (named ones stay)."""
    paths = _paths(root)
    rec = find(paths, ref)
    try:
        with start_lock(paths, rec):  # a start in progress finishes first
            rec = records.read(paths, rec.id)
            if rec is None:
                return True  # removed meanwhile (or started with --rm and gone already)
            if lifecycle.true_status(rec) in ACTIVE or lifecycle.monitor_alive(rec):
                if not force:
                    raise MyDockerError("container %s is running: stop it first or use rm -f" % rec.name)
                stop(paths, rec.id, timeout=0)
            elif lifecycle.mark_alive(rec, "creator") and not lifecycle.is_own_mark(rec, "creator"):
                if not force:
                    raise MyDockerError("container %s is still being created (by process %s): use rm -f"
                                        % (rec.name, rec.get("creatorPid")))
            rec = records.read(paths, rec.id)
            if rec is None:
                return True  # it was started with --rm and is gone already
            lifecycle.remove_files(paths, rec)
            if volumes:
                volumes_mod.remove_anonymous(paths, rec)
    except NotFound:
        return True  # its directory went away meanwhile: removed by someone else
    return True


# ---------------------------------------------------------------- exec / logs

def exec_start(root: Optional[str], ref: str, argv: list[str], stdio: tuple[int, int, int] = (0, 1, 2),
               console: Optional[int] = None, env: Any = None, workdir: Optional[str] = None,
               user: Optional[str] = None) -> int:
    """Start ``argv`` inside a running container (as ``user``, default the container's). Returns
    the pid to wait for; raises if the command could not be started."""
    paths = _paths(root)
    rec = find(paths, ref)
    if lifecycle.true_status(rec) != RUNNING:
        raise MyDockerError("container %s is not running" % rec.name)
    if not argv:
        raise MyDockerError("no command given")
    if workdir is not None and not workdir.startswith("/"):
        raise MyDockerError("invalid working directory %r: must be absolute" % workdir)
    spec = lifecycle.spec_of(paths, rec.id, rec)
    users.validate(user)
    kw = {"user": user} if user else {}
    return process.enter(rec.pid, lifecycle.cgroup_of(paths, rec), spec, list(argv),
                         stdio, console=console, env=parse_env(env), workdir=workdir, **kw)


def exec_wait(pid: int) -> int:
    """The exit status of a command started by ``exec_start``."""
    return process.wait(pid)


def log_path(root: Optional[str], ref: str) -> tuple[str, Record]:
    paths = _paths(root)
    rec = find(paths, ref)
    return paths.container_log(rec.id), rec
