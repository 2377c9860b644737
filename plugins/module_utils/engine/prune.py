# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``prune``: find and remove what crashed runs left behind (records, mounts, directories,
cgroups, network leftovers, engine copies nobody uses)."""

import os
import shutil

from . import lifecycle, records
from .adopt import UNKNOWN_EXIT, adopt
from .cgroups import Cgroup
from .cgroups import list_ids as cgroup_list_ids
from .records import ACTIVE
from .rootfs import mounts_under, unmount_all
from .store import Paths, cgroup_parent, state_lock


def prune(root):
    """Find and remove what crashed runs left behind. Returns a list of what was removed.

    Never touches what a live creator, starter or monitor is working on (``lifecycle.busy``).
    A container half-made by a creator that died is removed with everything it had (cgroups,
    overlay, network); one that still runs after its monitor died is adopted by a new monitor
    (``adopt``), never killed; one whose monitor and process are both gone is recorded as
    exited (exit code unknown, 255) and its mounts and network are released. Everything is
    decided and done under the state lock, so a monitor that names itself in the record
    (``lifecycle.register_monitor``) either is seen here or finds the record gone.
    """
    paths = root if isinstance(root, Paths) else Paths(root)
    removed = []
    known = set()
    with state_lock(paths):
        for cid in records.list_ids(paths):
            rec = records.read(paths, cid)
            if rec is None:
                # a directory without a record: a run that died while creating
                unmount_all(paths.container_dir(cid))
                records.delete(paths, cid)
                removed.append("directory containers/%s" % cid)
                continue
            known.add(cid)
            if lifecycle.busy(rec):
                continue  # being created, started or watched by a live process
            if rec.status in ACTIVE:
                removed.append(_unmonitored(paths, rec))
            elif lifecycle.half_made(rec):
                lifecycle.remove_files(paths, rec)
                known.discard(cid)
                removed.append("container %s (half-made: its creator, process %s, died)"
                               % (rec.name, rec.get("creatorPid")))
            else:
                # created or exited: nothing of a start may be left (mounts; network below)
                merged = os.path.join(paths.overlay_dir(cid), "merged")
                if mounts_under(paths.overlay_dir(cid)):
                    unmount_all(paths.overlay_dir(cid))
                    removed.append("mount %s" % merged)
        try:
            overlay_ids = os.listdir(paths.overlay)
        except OSError:
            overlay_ids = []
        for cid in overlay_ids:
            if cid not in known and not cid.startswith("."):
                unmount_all(paths.overlay_dir(cid))
                shutil.rmtree(paths.overlay_dir(cid), ignore_errors=True)
                removed.append("directory overlay2/%s" % cid)
        parent = cgroup_parent(paths.root)
        for cid in cgroup_list_ids(parent):
            if cid not in known:
                Cgroup(parent, cid).destroy()
                removed.append("cgroup %s/%s" % (parent, cid))
        if os.path.isdir(paths.network_dir):
            from .net import attach
            # veths, port rules and addresses belong to containers that run or are being
            # started; a created or exited container holds none
            live = set(r.id for r in records.iter_records(paths, skip_corrupt=True)
                       if r.status in ACTIVE or lifecycle.busy(r))
            removed.extend(attach.prune(paths.root, live))
        removed.extend(_prune_engines(paths))
    return removed


def _unmonitored(paths, rec):
    """A record that says running (or restarting) and whose monitor is gone."""
    if lifecycle.is_running(rec):
        pid = adopt(paths, rec.id)
        return "adopted container %s (its monitor had died; new monitor pid %d)" % (rec.name, pid)
    # the process is gone as well: what its monitor would have done, without a restart
    lifecycle.finish(paths, rec.id, UNKNOWN_EXIT, "the container exited while it had no monitor "
                                                  "(exit status unknown)")
    if rec.network and rec.ip:
        lifecycle._release_network(paths, rec.id, rec.ip)
    lifecycle.final(paths, rec.id)
    return ("recorded container %s as exited: its monitor and its process were gone (exit code unknown: %d)"
            % (rec.name, UNKNOWN_EXIT))


def unused_engine_copies(paths, current):
    """Names under ``<root>/.engine`` that are neither ``current`` nor used by a live process
    (a monitor runs its copy's wait.py / resume.py). Reads only."""
    from .monitor import KEYS
    base = os.path.join(paths.root, ".engine")
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return []
    in_use = set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    args = f.read().decode("utf-8", "replace").split("\0")
            except OSError:
                continue
            for a in args:
                if a.startswith(base + "/"):
                    in_use.add(a[len(base) + 1:].split("/")[0])
    return [n for n in names if n != current and n not in in_use and n != KEYS]


def _prune_engines(paths):
    """Engine copies (see monitor.engine_copy) that neither this version nor a live monitor uses."""
    from .monitor import engine_copy, forget_keys
    current = os.path.basename(engine_copy(paths))
    removed = []
    for n in unused_engine_copies(paths, current):
        shutil.rmtree(os.path.join(paths.root, ".engine", n), ignore_errors=True)
        removed.append("engine copy .engine/%s" % n)
    if removed:
        forget_keys(paths)  # the names of sources whose copy just went
    return removed
