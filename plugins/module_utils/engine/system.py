# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state root and the host as a whole: the runtime's version, the cgroup layout, whether
seccomp is available, disk usage, and what a prune would remove (read only: nothing here changes
anything; ``prune.prune`` and the containers/images/networks APIs do the removing).

Plain Python; knows nothing of Ansible."""

import os

from . import lifecycle, records
from .cgroups import list_ids as cgroup_list_ids
from .errors import MyDockerError
from .records import ACTIVE, CREATED, EXITED
from .rootfs import mounts_under
from .store import Paths, cgroup_parent

# galaxy.yml's version (tests/unit/test_system.py keeps the two the same)
VERSION = "0.1.0"

CGROUP_ROOT = "/sys/fs/cgroup"


# ---------------------------------------------------------------------------------------------
# the host

def _unescape(s):
    return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def cgroup_layout(mounts_text=None, root=CGROUP_ROOT):
    """"v2" (one unified hierarchy at ``root``), "v1" (legacy hierarchies only), "hybrid" (v1
    hierarchies beside a cgroup2 one, as systemd's hybrid mode mounts it under ``root/unified``)
    or "none". ``mounts_text``: the text of /proc/self/mounts (read when None)."""
    if mounts_text is None:
        try:
            with open("/proc/self/mounts") as f:
                mounts_text = f.read()
        except OSError:
            mounts_text = ""
    v1 = v2 = v2_at_root = False
    prefix = root.rstrip("/") + "/"
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        where, fstype = _unescape(fields[1]), fields[2]
        if where != root and not where.startswith(prefix):
            continue
        if fstype == "cgroup2":
            v2 = True
            v2_at_root = v2_at_root or where == root
        elif fstype == "cgroup":
            v1 = True
    if v2_at_root and not v1:
        return "v2"
    if v1 and v2:
        return "hybrid"
    if v1:
        return "v1"
    return "v2" if v2 else "none"


def seccomp_available():
    """True when the kernel filters system calls (``Seccomp:`` in /proc/self/status) and
    libseccomp can be loaded (what ``--security-opt seccomp=default`` needs)."""
    try:
        with open("/proc/self/status") as f:
            if not any(line.startswith("Seccomp:") for line in f):
                return False
    except OSError:
        return False
    from . import seccomp
    try:
        seccomp.libseccomp()
    except MyDockerError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# disk usage

def du(path, seen=None):
    """Bytes (apparent sizes) of the files under ``path``, every inode counted once (``seen``: a
    set of (dev, ino) shared between calls), never crossing into another file system: a
    container's ``merged`` overlay and its volumes are not counted again. 0 when absent."""
    seen = set() if seen is None else seen
    try:
        top = os.lstat(path)
    except OSError:
        return 0
    total = 0
    stack = [path]
    key = (top.st_dev, top.st_ino)
    if key in seen:
        return 0
    seen.add(key)
    if not os.path.isdir(path) or os.path.islink(path):
        return top.st_size
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if st.st_dev != top.st_dev or (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            if e.is_dir(follow_symlinks=False):
                stack.append(e.path)
            else:
                total += st.st_size
    return total


def disk_usage(root):
    """{"total": bytes, "containers", "overlay2", "image", "network", "volumes", "other"}: what the state root
    holds on its own file system, by top-level directory (``other``: the rest, engine copies
    and the lock among them)."""
    paths = root if isinstance(root, Paths) else Paths(root)
    seen = set()
    out = {}
    for key in ("containers", "overlay2", "image", "network", "volumes"):
        out[key] = du(os.path.join(paths.root, key), seen)
    # the root itself last: what is left are the other entries
    out["other"] = du(paths.root, seen)
    out["total"] = sum(out.values())
    return out


def container_size(root, cid):
    """Bytes a removed container gives back: its directory (record, log) and its overlay
    directories (the upper layer, what it wrote)."""
    paths = root if isinstance(root, Paths) else Paths(root)
    seen = set()
    return du(paths.container_dir(cid), seen) + du(paths.overlay_dir(cid), seen)


# ---------------------------------------------------------------------------------------------
# what a prune of leftovers (prune.prune) would remove

def _engine_leftovers(paths):
    from . import monitor
    from .prune import unused_engine_copies
    current = monitor.current_digest(paths)
    base = os.path.join(paths.root, ".engine")
    return [("engine copy .engine/%s" % n, os.path.join(base, n)) for n in unused_engine_copies(paths, current)]


def _network_leftovers(paths, live):
    """What networks.prune would remove for the containers ``live`` (read only)."""
    from .net import iptables as ipt
    from .net import networks as netmod
    nets = []
    for n in netmod.list_networks(paths.root):
        try:
            nets.append(netmod.Network(n))
        except (KeyError, TypeError, ValueError):
            continue
    out = []
    from .net import netlink
    bridges = set(n.bridge for n in nets)
    live_veths = set(netmod.veth_name(c) for c in live)
    for name, info in sorted(netlink.all_links().items()):
        if info["master"] in bridges and info["kind"] == "veth" and name not in live_veths:
            out.append("veth %s" % name)
    chains = ipt.Chains(paths.root)
    names = set(n.name for n in nets)
    for table, chain, spec in ipt.find_rules(chains):
        scope, owner = ipt.rule_comment(spec).split(":", 2)[1:]
        if (scope == "ctr" and owner not in live) or (scope == "net" and owner not in names):
            out.append("iptables -t %s -A %s %s" % (table, chain, " ".join(spec)))
    from .net import attach
    out.extend(attach.address_text(n, a, holder) for n, a, holder in attach.stale_addresses(paths, nets, live))
    return out


def leftovers(root):
    """What ``prune.prune(root)`` would remove now, read only: ({"items": [text] in its words,
    "containers": [IDs of records it removes], "bytes": what the removed directories hold}).

    The texts are those prune.prune returns, so a check-mode prediction and the real prune can
    be compared; network leftovers (veths, iptables rules, IP reservations) are only looked for
    when the root has networks, as prune does."""
    paths = root if isinstance(root, Paths) else Paths(root)
    items = []
    gone = []
    size = 0
    seen = set()
    known = set()
    for cid in records.list_ids(paths):
        rec = records.read(paths, cid)
        if rec is None:
            items.append("directory containers/%s" % cid)
            size += du(paths.container_dir(cid), seen)
            continue
        known.add(cid)
        if rec.status in ACTIVE and not lifecycle.monitor_alive(rec):
            known.discard(cid)
            gone.append(cid)
            items.append("container %s (no monitor)" % rec.name)
            size += du(paths.container_dir(cid), seen) + du(paths.overlay_dir(cid), seen)
        elif lifecycle.true_status(rec) in (EXITED, CREATED) and not lifecycle.monitor_alive(rec):
            if mounts_under(paths.overlay_dir(cid)):
                items.append("mount %s" % os.path.join(paths.overlay_dir(cid), "merged"))
    try:
        overlay_ids = sorted(os.listdir(paths.overlay))
    except OSError:
        overlay_ids = []
    for cid in overlay_ids:
        if cid not in known and not cid.startswith(".") and cid not in gone:
            items.append("directory overlay2/%s" % cid)
            size += du(paths.overlay_dir(cid), seen)
    parent = cgroup_parent(paths.root)
    for cid in cgroup_list_ids(parent):
        if cid not in known and cid not in gone:  # a removed container's cgroup goes with it
            items.append("cgroup %s/%s" % (parent, cid))
    if os.path.isdir(paths.network_dir):
        # a removed container's network goes with it (lifecycle.remove_files)
        items.extend(_network_leftovers(paths, known | set(gone)))
    for text, path in _engine_leftovers(paths):
        items.append(text)
        size += du(path, seen)
    return {"items": items, "containers": gone, "bytes": size}
