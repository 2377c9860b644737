# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container records and the steps of one container start and exit (used by the monitor).

Each start: overlay mounted, cgroup present, init spawned and put in the cgroup, network
attached, record updated, command exec'd; each step undone if a later one fails.
"""

import errno
import os
import shutil
import signal
import time

from . import process
from .cgroups import Cgroup
from .errors import MyDockerError, NotFound
from .rootfs import mount_overlay, unmount_all
from .store import read_json, state_lock, write_json

RUNNING = "running"
CREATED = "created"
EXITED = "exited"
RESTARTING = "restarting"


def now():
    return time.strftime("%Y-%m-%d %H:%M:%S")


# ------------------------------------------------------------------ records

def load(paths, cid):
    rec = read_json(paths.container_config(cid))
    if rec is None:
        raise NotFound("no such container: %s" % cid)
    return rec


def update(paths, cid, **changes):
    """Read-modify-write of a container record under the state lock; returns the new record."""
    with state_lock(paths):
        rec = load(paths, cid)
        rec.update(changes)
        write_json(paths.container_config(cid), rec)
    return rec


def list_ids(paths):
    try:
        names = os.listdir(paths.containers)
    except OSError:
        return []
    return sorted(n for n in names if not n.startswith("."))


def all_records(paths):
    out = []
    for cid in list_ids(paths):
        rec = read_json(paths.container_config(cid))
        if rec is not None:
            out.append(rec)
    return out


def proc_start_time(pid):
    """Start time (clock ticks since boot) of ``pid``, or None when it does not exist."""
    try:
        with open("/proc/%d/stat" % int(pid)) as f:
            data = f.read()
    except (OSError, ValueError):
        return None
    fields = data.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None  # a zombie is gone for our purposes
    return fields[19]


def pid_alive(pid, start):
    if not pid:
        return False
    st = proc_start_time(pid)
    return st is not None and (start is None or st == start)


def is_running(rec):
    return rec.get("status") in (RUNNING, RESTARTING) and pid_alive(rec.get("pid"), rec.get("pidStart"))


def monitor_alive(rec):
    return pid_alive(rec.get("monitorPid"), rec.get("monitorStart"))


def true_status(rec):
    """'running', 'restarting', 'created' or 'exited': what the host really shows."""
    st = rec.get("status")
    if st == RUNNING and pid_alive(rec.get("pid"), rec.get("pidStart")):
        return RUNNING
    if st == RESTARTING and monitor_alive(rec):
        return RESTARTING
    if st == CREATED:
        return CREATED
    return EXITED


def cgroup_of(paths, rec):
    parent, dummy, cid = rec["cgroupManager"]["Path"].rpartition("/")
    return Cgroup(parent, cid)


def signal_container(rec, sig):
    if not pid_alive(rec.get("pid"), rec.get("pidStart")):
        return False
    try:
        os.kill(int(rec["pid"]), sig)
        return True
    except OSError as e:
        if e.errno == errno.ESRCH:
            return False
        raise


# ------------------------------------------------------------------ one start

def spec_of(paths, cid, rec):
    cdir = paths.container_dir(cid)
    return {
        "rootfs": os.path.join(paths.overlay_dir(cid), "merged"),
        "cmd": rec["cmd"],
        "env": rec.get("env") or {},
        "hostname": rec.get("hostname") or rec["id"],
        "workdir": rec.get("workdir") or "/",
        "volumes": rec.get("volumes") or [],
        "seccomp": rec.get("seccompProfile") or "default",
        "etcFiles": {"/etc/hostname": os.path.join(cdir, "hostname"),
                     "/etc/hosts": os.path.join(cdir, "hosts"),
                     "/etc/resolv.conf": os.path.join(cdir, "resolv.conf")},
    }


def mount_rootfs(paths, cid, rec):
    ov = paths.overlay_dir(cid)
    lower = os.path.realpath(os.path.join(ov, "lower"))
    if not os.path.isdir(lower):
        raise MyDockerError("the image layer of container %s is missing (%s)" % (rec["name"], lower))
    return mount_overlay(lower, os.path.join(ov, "upper"), os.path.join(ov, "work"),
                         os.path.join(ov, "merged"))


def _network():
    from .net import networks as network  # pyroute2 is loaded only for containers with a network
    return network


def launch(paths, cid, stdio, monitor_pid, console=None):
    """Start the container's process once. Returns its host PID."""
    rec = load(paths, cid)
    mounted = mount_rootfs(paths, cid, rec)
    cg = cgroup_of(paths, rec)
    sp = None
    net = None
    try:
        if not cg.exists():
            cg.create(rec.get("resources") or {})
        sp = process.spawn(spec_of(paths, cid, rec), stdio, console)
        cg.add(sp.pid)
        changes = {}
        if rec.get("networkName"):
            net = _network().connect(paths.root, rec["networkName"], cid, sp.pid, ip=rec.get("ip") or None)
            changes["ip"] = net["ip"]
            changes["veth"] = net.get("veth", "")
            if rec.get("ports"):
                _network().publish(paths.root, rec["networkName"], cid, net["ip"], rec["ports"])
        update(paths, cid, pid=str(sp.pid), pidStart=proc_start_time(sp.pid), status=RUNNING,
               startedAt=now(), monitorPid=str(monitor_pid), monitorStart=proc_start_time(monitor_pid),
               **changes)
        sp.go()
        return sp.pid
    except BaseException:
        if sp is not None:
            sp.abort()
        if net is not None:
            _release_network(paths, cid, net["ip"])
        if mounted:
            try:
                unmount_all(os.path.join(paths.overlay_dir(cid), "merged"))
            except MyDockerError:
                pass
        raise


def _release_network(paths, cid, ip, release=True):
    rec = read_json(paths.container_config(cid)) or {}
    name = rec.get("networkName")
    if not name:
        return
    net = _network()
    try:
        net.unpublish(paths.root, cid)
    finally:
        net.disconnect(paths.root, name, cid, ip, release=release)


def stop_requested(paths, cid):
    rec = read_json(paths.container_config(cid))
    return rec is None or bool(rec.get("stopRequested"))


def after_exit(paths, cid, code):
    """Record an exit; returns True when the restart policy says to start again."""
    with state_lock(paths):
        rec = load(paths, cid)
        policy = rec.get("restartPolicy") or {"name": "no"}
        restart = False
        if not rec.get("stopRequested"):
            if policy["name"] == "always":
                restart = True
            elif policy["name"] == "on-failure" and code != 0:
                restart = not policy.get("maxRetries") or rec.get("restartCount", 0) < policy["maxRetries"]
        rec.update(exitCode=code, finishedAt=now(), pid="", pidStart=None,
                   status=RESTARTING if restart else EXITED)
        if restart:
            rec["restartCount"] = rec.get("restartCount", 0) + 1
        write_json(paths.container_config(cid), rec)
    if rec.get("networkName") and rec.get("ip"):
        # the veth died with the network namespace; keep the IP across a restart
        _release_network(paths, cid, rec["ip"], release=not restart)
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
    rec = read_json(paths.container_config(cid))
    if rec is None:
        return None
    try:
        unmount_all(os.path.join(paths.overlay_dir(cid), "merged"))
    except MyDockerError as e:
        rec = update(paths, cid, error=str(e))
    rec = update(paths, cid, status=EXITED, monitorPid="", monitorStart=None)
    if rec.get("autoRemove"):
        remove_files(paths, rec)
    return rec


def remove_files(paths, rec):
    """Delete a stopped container's cgroup, network reservation, mounts, directories, record."""
    cid = rec["id"]
    ov = paths.overlay_dir(cid)
    unmount_all(paths.container_dir(cid))
    unmount_all(ov)  # never delete a host file through a mount that is still there
    cgroup_of(paths, rec).destroy()
    if rec.get("networkName"):
        _network().release_container(paths.root, cid)
    shutil.rmtree(ov, ignore_errors=True)
    with state_lock(paths):
        shutil.rmtree(paths.container_dir(cid), ignore_errors=True)
    return True


def wait_gone(rec, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not pid_alive(rec.get("pid"), rec.get("pidStart")):
            return True
        time.sleep(0.02)
    return not pid_alive(rec.get("pid"), rec.get("pidStart"))


def kill_and_wait(rec, timeout):
    """SIGTERM, then SIGKILL after ``timeout`` seconds; True once the process is gone."""
    if timeout > 0 and signal_container(rec, signal.SIGTERM) and wait_gone(rec, timeout):
        return True
    signal_container(rec, signal.SIGKILL)
    return wait_gone(rec, 10)
