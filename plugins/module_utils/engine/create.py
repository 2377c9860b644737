# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``create``: a new container's record and files from an image and the caller's options (the
container API is ``containers``, which re-exports it). Apart from ``containers`` so that the
commands that only read or remove containers (ps, inspect, stop, rm) do not import what creating
one needs (image configs, users, seccomp, volumes, process options)."""

from __future__ import annotations

import os

from . import health, imageconfig, imagestore, lifecycle, procopts, records, seccomp, users
from . import volumes as volumes_mod
from .errors import MyDockerError
from .logs import parse_log_config
from .records import CREATED, Record
from .resources import normalize_resources
from .store import Paths, cgroup_parent, makedirs, state_lock
from .validate import (
    check_auto_remove,
    check_needs_network,
    check_unique_volumes,
    parse_restart,
    parse_volume,
    validate_hostname,
    validate_name,
    validate_workdir,
)
from .view import parse_env
from .workspace import check_host_addresses, make_files

TYPE_CHECKING = False  # typing is ~5 ms of every command's start: annotations only (postponed)
if TYPE_CHECKING:
    from typing import Any


def _new_id(paths):
    while True:  # ten random digits (os.urandom: random's import is ~1 ms of every run)
        cid = "%010d" % (int.from_bytes(os.urandom(8), "big") % 10 ** 10)
        if not os.path.exists(paths.container_dir(cid)):
            return cid


def create(root: str | None, image: str, command: list[str] | None = None, name: str | None = None,
           env: Any = None, volumes: list[str] | None = None, workdir: str | None = None,
           hostname: str | None = None, resources: dict[str, Any] | None = None, restart: Any = None,
           auto_remove: bool = False, tty: bool = False, interactive: bool = False,
           network: str | None = None, ip: str | None = None, ports: list[Any] | None = None,
           security_opt: list[str] | None = None, entrypoint: Any = None, user: str | None = None,
           mounts: list[Any] | None = None, tmpfs: list[Any] | None = None, read_only: bool = False,
           shm_size: Any = None, networks: Any = None, network_mode: str | None = None, aliases: Any = None,
           dns: Any = None, dns_search: Any = None, add_hosts: Any = None,
           cap_add: Any = None, cap_drop: Any = None, privileged: bool = False, sysctls: Any = None,
           ulimits: Any = None, init: bool = False, stop_signal: Any = None, group_add: Any = None,
           oom_score_adj: Any = None, labels: Any = None, label_files: Any = None, devices: Any = None,
           expose: list[Any] | None = None, publish_all: bool = False,
           healthcheck: dict | None = None, log_driver: str | None = None, log_options: Any = None,
           _until_running: bool = False) -> Record:
    """Create a container (not started). Returns its record.

    The image's config is honoured as Docker does (``imageconfig``): the command is Entrypoint +
    Cmd, ``command`` replaces Cmd, ``entrypoint`` (a string, '' clears, or a list) replaces the
    Entrypoint and drops Cmd; ``env`` wins over the image's Env; ``workdir`` and ``user`` (name,
    uid, uid:gid, name:group; resolved in the image's /etc/passwd at start) over the image's.

    The first record names this process as its creator; the mark is cleared once the container
    is complete (``_until_running``, for ``run``: once it runs), so ``prune`` can tell a container
    half-made by a creator that died from one that was created."""
    paths = root if isinstance(root, Paths) else Paths(root)
    paths.ensure()
    img = imagestore.get_image(paths.root, image)
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
    from .net.portspec import container_ports  # plain Python: ranges, bare ports, --expose, -P (issue 11)
    mode, atts, extra_hosts, dns, dns_search = netmode.parse_create(
        paths, network, ip, networks, aliases, network_mode, ports, add_hosts, dns, dns_search)
    network = atts[0]["name"] if atts else None
    net_ports, exposed = container_ports(ports, expose, publish_all, cfg.get("ExposedPorts"))
    check_needs_network(network, net_ports, ip)
    ip = atts[0]["ip"] if atts else ""
    if mode == netmode.HOST and hostname is None:
        hostname = os.uname().nodename  # socket.gethostname(), without socket's import
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
        # with networks, one pass over every record for both checks; else only the records that
        # hold the name in their bytes are parsed (records.with_name)
        others = list(records.iter_records(paths)) if atts else None
        for other in (others if others is not None else records.with_name(paths, name)):
            if other.get("name") == name:
                raise MyDockerError("the container name %s is already in use by container %s"
                                    % (name, other.id))
        names.check_names(paths, cid, name, atts, others)
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
