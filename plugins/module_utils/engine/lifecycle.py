# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The steps of one container start and exit (used by the monitor); what the host says about a
container record (``true_status``, ``pid_alive``...) is in ``status``, re-exported here. Records
are read and written by ``records``.

Each start: overlay mounted, cgroup present, init spawned (it joins the cgroup and builds its root
while the network is attached and the record updated), command exec'd; each step undone if a
later one fails.
"""

import errno
import os
import time

from . import records, signals
from .cgroups import Cgroup
from .errors import MyDockerError, NotFound
from .records import CREATED, EXITED, RESTARTING, RUNNING, Record, load, update  # noqa: F401 (re-exported) pylint: disable=unused-import
from .rootfs import mount_overlay, secure_join, unmount_all
from .status import (  # noqa: F401 (re-exported: what the host says of a record) pylint: disable=unused-import
    _exit_unseen,
    busy,
    half_made,
    is_own_mark,
    is_running,
    mark_alive,
    monitor_alive,
    now,
    own_mark,
    pid_alive,
    proc_start_time,
    true_status,
)
from .store import cgroup_parent, remove_tree, state_lock


def register_monitor(paths, cid, pid):
    """The monitor ``pid`` of container ``cid`` names itself in the record before it touches
    anything (under the state lock, so ``prune`` either sees it or has removed the record
    entirely: NotFound)."""
    with state_lock(paths):
        # not synced to the directory: after a power cut no monitor runs, whatever the record says
        return update(paths, cid, _lasting=False, monitorPid=str(pid), monitorStart=proc_start_time(pid))


def cgroup_of(paths, rec):
    """The container's own cgroup. A record that names none of its own (the Go tool's shared
    ``mydocker-cgroup``) gets the one it would have under this root's parent: it does not exist,
    so removing the container removes no cgroup that is not ours."""
    rec = Record.of(rec)
    parent, cid = rec.own_cgroup or (cgroup_parent(paths.root), rec.id)
    cg = Cgroup(parent, cid)
    from . import procopts  # lazily: recording an exit needs none of the process options
    cg.extra_device_rules = procopts.device_rules(rec)  # --device, --privileged (issue 11)
    return cg


def signal_container(rec, sig):
    rec = Record.of(rec)
    if not pid_alive(rec.pid, rec.pid_start):
        return False
    try:
        os.kill(rec.pid, sig)
        return True
    except OSError as e:
        if e.errno == errno.ESRCH:
            return False
        raise


# ------------------------------------------------------------------ one start

SECCOMP_CACHE = ".seccomp"  # under the state root: seccomp programs by what they were generated from


def spec_of(paths, cid, rec):
    rec = Record.of(rec)
    if not rec.cmd:
        raise MyDockerError("container %s has no command of ours to start (a record of another tool?)"
                            % rec.name)
    cdir = paths.container_dir(cid)
    spec = {
        "rootfs": os.path.join(paths.overlay_dir(cid), "merged"),
        "cmd": rec.cmd,
        "env": rec.env,
        "hostname": rec.hostname,
        "workdir": rec.workdir,
        "volumes": rec.volumes,
        "seccomp": rec.get("seccompProfile") or "default",
        "seccompCache": os.path.join(paths.root, SECCOMP_CACHE),  # generated programs (seccomp.prepare)
        "etcFiles": {"/etc/hostname": os.path.join(cdir, "hostname"),
                     "/etc/hosts": os.path.join(cdir, "hosts"),
                     "/etc/resolv.conf": os.path.join(cdir, "resolv.conf")},
    }
    for key in ("tmpfs", "readOnly", "shmSize"):  # storage options (absent in older records)
        if rec.get(key):
            spec[key] = rec[key]
    if "user" in rec:  # the image's or run's user, resolved in the container at start
        spec["user"] = rec.get("user") or ""
    from . import procopts
    return procopts.extend_spec(spec, rec)  # caps, sysctls, ulimits, groups, oom, init (issue 11)


def mount_rootfs(paths, cid, rec):
    ov = paths.overlay_dir(cid)
    lower = os.path.realpath(os.path.join(ov, "lower"))
    if len(Record.of(rec).get("layers") or []) > 1:  # an image of several layers: all of them, top first
        lower = [os.path.join(paths.layers, n) for n in reversed(Record.of(rec)["layers"])]
    for d in ([lower] if isinstance(lower, str) else lower):
        if not os.path.isdir(d):
            raise MyDockerError("the image layer of container %s is missing (%s)" % (Record.of(rec).name, d))
    return mount_overlay(lower, os.path.join(ov, "upper"), os.path.join(ov, "work"),
                         os.path.join(ov, "merged"))


def _network():
    """(attach, ports): loaded only for containers with a network (attach loads pyroute2)."""
    from .net import attach, ports
    return attach, ports


def launch(paths, cid, stdio, monitor_pid, console=None):
    """Start the container's process once. Returns its host PID."""
    rec = load(paths, cid)
    from .workspace import missing_etc_files, write_etc_files  # loaded already by the start that forked us
    missing = missing_etc_files(paths, cid)
    if missing:  # written without fsync: what a power cut can leave, made again from the record
        write_etc_files(paths, rec, missing)
    mounted = mount_rootfs(paths, cid, rec)
    cg = cgroup_of(paths, rec)
    sp = None
    net = None
    owners = _owners_file(paths) if rec.network else None
    owners_before = owners is not None and os.path.exists(owners)
    try:
        if not cg.complete():
            cg.create(rec.resources)
        if any(v.get("type") == "volume" for v in rec.volumes):
            from .volumes import copy_up
            copy_up(rec, os.path.join(paths.overlay_dir(cid), "merged"), secure_join)
        from . import process  # only a start needs it (ps, inspect and rm do not)
        # the init builds its root and is moved into its cgroup while we record it and add its network
        sp = process.spawn(_with_mode(paths, rec, spec_of(paths, cid, rec)), stdio, console, cgroup=cg)
        # a run's container is complete once it runs; an adopted one is our child again
        changes = dict((k, None if k == "creatorStart" else "") for k in ("creatorPid", "creatorStart", "adoptedAt")
                       if rec.get(k))
        if rec.network:
            attach, ports = _network()
            nets = attach.connect_all(paths.root, rec, sp.pid)  # every network, the first as eth0
            net = nets[0]
            changes.update(ip=net["ip"], veth=net.get("veth", ""), networks=nets)
            if rec.ports:
                published = ports.publish(paths.root, rec.network, cid, net["ip"], rec.ports)
                if published != rec.ports:  # host ports the engine chose (bare, range, -P)
                    changes["ports"] = published
        # "running" need not outlive a power cut (no process does): the directory is not synced
        now_rec = update(paths, cid, _lasting=False, pid=str(sp.pid), pidStart=proc_start_time(sp.pid), status=RUNNING,
                         startedAt=now(), monitorPid=str(monitor_pid), monitorStart=proc_start_time(monitor_pid),
                         **changes)
        _refresh_names(paths, now_rec)
        sp.go()
        return sp.pid
    except BaseException:
        if sp is not None:
            sp.abort()
        if net is not None:
            _release_network(paths, cid, net["ip"])
        if owners is not None and not owners_before:
            _drop_if_empty(paths, owners)  # a failed start leaves the state root as it found it
        if mounted:
            try:
                unmount_all(os.path.join(paths.overlay_dir(cid), "merged"))
            except MyDockerError:
                pass
        raise


def _with_mode(paths, rec, spec):
    """The spec with the network mode (host, container:NAME) in it: net/netmode.py."""
    if not rec.get("networkMode"):
        return spec
    from .net import netmode
    return netmode.with_mode(paths, rec, spec)


def _refresh_names(paths, rec):
    """Every member of the container's networks sees it come or go in its /etc/hosts."""
    if rec.network or rec.get("networks"):
        from .net import names
        names.refresh_for(paths, rec)


def _owners_file(paths):
    from .net import ipam
    return ipam.owners_file(paths)


def _drop_if_empty(paths, path):
    with state_lock(paths):
        try:
            with open(path) as f:
                empty = f.read().strip() == "{}"
        except OSError:
            return
        if empty:
            os.unlink(path)


def _release_network(paths, cid, ip, release=True):
    rec = records.read(paths, cid)
    name = rec.network if rec is not None else ""
    if not name:
        return
    attach, ports = _network()
    try:
        ports.unpublish(paths.root, cid)
    finally:
        attach.disconnect_all(paths.root, rec, release=release, first_ip=ip)


def stop_requested(paths, cid):
    rec = records.read(paths, cid)
    return rec is None or rec.stop_requested


def after_exit(paths, cid, code):
    """Record an exit; returns True when the restart policy says to start again."""
    with state_lock(paths):
        rec = load(paths, cid)
        policy = rec.restart_policy
        restart = False
        if not rec.stop_requested:
            if policy["name"] in ("always", "unless-stopped"):  # a user's stop is stopRequested
                restart = True
            elif policy["name"] == "on-failure" and code != 0:
                restart = not policy.get("maxRetries") or rec.restart_count < policy["maxRetries"]
        rec.update(exitCode=code, finishedAt=now(), pid="", pidStart=None,
                   status=RESTARTING if restart else EXITED)
        if restart:
            rec["restartCount"] = rec.restart_count + 1
        rec = records.save(paths, rec)
    if rec.network and rec.ip:
        # the veth died with the network namespace; keep the IP across a restart
        _release_network(paths, cid, rec.ip, release=not restart)
        _refresh_names(paths, rec)
    return restart


def finish(paths, cid, code, error):
    changes = {"exitCode": code, "finishedAt": now(), "pid": "", "pidStart": None, "status": EXITED}
    if error:
        changes["error"] = error
    try:
        update(paths, cid, **changes)
    except NotFound:
        pass


def final(paths, cid):
    """The container is done for good: unmount, release, mark exited, --rm."""
    rec = records.read(paths, cid)
    if rec is None:
        return None
    try:
        unmount_all(os.path.join(paths.overlay_dir(cid), "merged"))
    except MyDockerError as e:
        rec = update(paths, cid, error=str(e))
    rec = update(paths, cid, status=EXITED, monitorPid="", monitorStart=None)
    _refresh_names(paths, rec)
    if rec.auto_remove:
        _remove_with_volumes(paths, rec)
    return rec


def _remove_with_volumes(paths, rec):
    remove_files(paths, rec)
    from .volumes import remove_anonymous
    remove_anonymous(paths, rec)  # run --rm: its anonymous volumes go with it, as Docker


def remove_exited(paths, cid, code):
    """``after_exit`` then ``final`` for a ``--rm`` container without a restart policy whose
    process exited with ``code`` (an attached run's hand-over: containers._Attached), without
    the two record writes that its removal deletes a moment later, and without ``after_exit``'s
    release of the network, which ``remove_files`` does (``attach.release_container``: the
    rules, the veths, every address): the root unmounted, the files and anonymous volumes
    removed. Anything else (the root will not unmount, the record changed meanwhile) goes the
    way of every exit. Returns the last record, with the exit in it; None when it was gone."""
    rec = records.read(paths, cid)
    if rec is None:
        return None
    if not rec.auto_remove or rec.restart_policy.get("name", "no") != "no" or rec.stop_requested:
        after_exit(paths, cid, code)
        return final(paths, cid)
    try:
        unmount_all(os.path.join(paths.overlay_dir(cid), "merged"))
    except MyDockerError:
        after_exit(paths, cid, code)  # the exit and the error recorded, as ever
        return final(paths, cid)
    rec.update(exitCode=code, finishedAt=now(), pid="", pidStart=None, status=EXITED, monitorPid="",
               monitorStart=None)
    _remove_with_volumes(paths, rec)
    return rec


def remove_files(paths, rec):
    """Delete a stopped container's cgroup, network reservation, mounts, directories, record."""
    rec = Record.of(rec)
    cid = rec.id
    ov = paths.overlay_dir(cid)
    unmount_all(paths.container_dir(cid))
    unmount_all(ov)  # never delete a host file through a mount that is still there
    cgroup_of(paths, rec).destroy()
    if rec.network:
        _network()[0].release_container(paths.root, cid)
    remove_tree(ov)
    records.delete(paths, cid)
    _refresh_names(paths, rec)
    return True


def wait_gone(rec, timeout):
    rec = Record.of(rec)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not pid_alive(rec.pid, rec.pid_start):
            return True
        time.sleep(0.02)
    return not pid_alive(rec.pid, rec.pid_start)


def kill_and_wait(rec, timeout, sig=signals.SIGTERM):
    """``sig`` (SIGTERM, or the image's StopSignal), then SIGKILL after ``timeout`` seconds; True
    once the process is gone."""
    if timeout > 0 and signal_container(rec, sig) and wait_gone(rec, timeout):
        return True
    signal_container(rec, signals.SIGKILL)
    return wait_gone(rec, 10)
