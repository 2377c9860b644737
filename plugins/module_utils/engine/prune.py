# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``prune``: find and remove what crashed runs left behind (records, mounts, directories,
cgroups, network leftovers, engine copies nobody uses)."""

import os
import shutil

from . import lifecycle, records
from .cgroups import Cgroup
from .cgroups import list_ids as cgroup_list_ids
from .records import ACTIVE, CREATED, EXITED
from .rootfs import mounts_under, unmount_all
from .store import Paths, cgroup_parent


def prune(root):
    """Find and remove what crashed runs left behind. Returns a list of what was removed."""
    paths = root if isinstance(root, Paths) else Paths(root)
    removed = []
    known = set()
    for cid in records.list_ids(paths):
        rec = records.read(paths, cid)
        if rec is None:
            # a directory without a record: a run that died while creating
            unmount_all(paths.container_dir(cid))
            records.delete(paths, cid)
            removed.append("directory containers/%s" % cid)
            continue
        known.add(cid)
        if rec.status in ACTIVE and not lifecycle.monitor_alive(rec):
            # monitor-less record: nothing supervises it any more
            lifecycle.kill_and_wait(rec, 0)
            lifecycle.remove_files(paths, rec)
            known.discard(cid)
            removed.append("container %s (no monitor)" % rec.name)
        elif lifecycle.true_status(rec) in (EXITED, CREATED) and not lifecycle.monitor_alive(rec):
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
        removed.extend(attach.prune(paths.root, known))
    removed.extend(_prune_engines(paths))
    return removed


def _prune_engines(paths):
    """Engine copies (see monitor.engine_copy) that neither this version nor a live monitor uses."""
    from .monitor import engine_copy
    base = os.path.join(paths.root, ".engine")
    try:
        names = os.listdir(base)
    except OSError:
        return []
    current = os.path.basename(engine_copy(paths))
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
    removed = []
    for n in names:
        if n != current and n not in in_use:
            shutil.rmtree(os.path.join(base, n), ignore_errors=True)
            removed.append("engine copy .engine/%s" % n)
    return removed
