# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``--device HOST[:CONTAINER][:PERMISSIONS]`` (module ``devices``) and ``--privileged``'s host
devices: the node is made inside the container's /dev (mknod, with the host node's type, numbers
and mode) and allowed in the container's device cgroup (v1 ``devices.allow``, v2 the eBPF
filter of cgroups/devicefilter.py), as runc does.

The record keeps each device as {"host", "container", "permissions", "type", "major", "minor",
"mode"}, read from the host node when the container is created.
"""

import os
import stat

from .errors import MyDockerError
from .lazyre import lazy_re

_PERMS_RE = lazy_re(r"^(?!.*(.).*\1)[rwm]{1,3}$")
ALL_DEVICES_RULE = ("a", None, None, "rwm")


def _node(path, option):
    try:
        st = os.stat(path)
    except OSError as e:
        raise MyDockerError("%s: cannot use %s: %s" % (option, path, e.strerror or e))
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    else:
        raise MyDockerError("%s: %s is not a device node" % (option, path))
    return kind, os.major(st.st_rdev), os.minor(st.st_rdev), stat.S_IMODE(st.st_mode)


def parse_device(item, option="--device"):
    """'/dev/fuse', '/dev/fuse:/dev/f', '/dev/fuse:rw', '/dev/fuse:/dev/f:rwm' -> the record's form."""
    if isinstance(item, dict):
        host, ctr, perms = item.get("host"), item.get("container"), item.get("permissions")
    elif isinstance(item, str) and item:
        parts = item.split(":")
        if len(parts) > 3:
            raise MyDockerError("%s: invalid device %r: use HOST[:CONTAINER][:PERMISSIONS]" % (option, item))
        host, ctr, perms = parts[0], None, None
        if len(parts) == 2:
            if _PERMS_RE.match(parts[1]):
                perms = parts[1]
            else:
                ctr = parts[1]
        elif len(parts) == 3:
            ctr, perms = parts[1], parts[2]
    else:
        raise MyDockerError("%s: invalid device %r: use HOST[:CONTAINER][:PERMISSIONS]" % (option, item))
    perms = perms or "rwm"
    ctr = ctr or host
    for what, path in (("host", host), ("container", ctr)):
        if not isinstance(path, str) or not path.startswith("/dev/") or ".." in path.split("/") or \
                path.rstrip("/") == "/dev":
            raise MyDockerError("%s: invalid %s path %r: a device path under /dev" % (option, what, path))
    if not _PERMS_RE.match(perms):
        raise MyDockerError("%s: invalid permissions %r for %s: a combination of r, w and m" % (option, perms, host))
    kind, major, minor, mode = _node(host, option)
    return {"host": os.path.normpath(host), "container": os.path.normpath(ctr), "permissions": perms,
            "type": kind, "major": major, "minor": minor, "mode": mode}


def parse_devices(items, option="--device"):
    if items is None:
        return []
    if not isinstance(items, (list, tuple)):
        raise MyDockerError("%s: expected a list of HOST[:CONTAINER][:PERMISSIONS]" % option)
    by_ctr = {}
    for item in items:
        d = parse_device(item, option)
        by_ctr[d["container"]] = d
    return [by_ctr[k] for k in sorted(by_ctr)]


def text_of(d):
    """The module's spelling: 'HOST:CONTAINER:PERMISSIONS'."""
    return "%s:%s:%s" % (d["host"], d["container"], d["permissions"])


def host_devices(dev="/dev"):
    """Every device node directly in the host's /dev (--privileged), as records."""
    out = []
    try:
        names = sorted(os.listdir(dev))
    except OSError:
        return out
    for name in names:
        path = os.path.join(dev, name)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            out.append({"host": path, "container": path, "permissions": "rwm",
                        "type": "c" if stat.S_ISCHR(st.st_mode) else "b", "major": os.major(st.st_rdev),
                        "minor": os.minor(st.st_rdev), "mode": stat.S_IMODE(st.st_mode)})
    return out


def cgroup_rules(rec):
    """The device cgroup rules beyond the default allowlist for the record."""
    if rec.get("privileged"):
        return [ALL_DEVICES_RULE]
    return [(d["type"], d["major"], d["minor"], d["permissions"]) for d in rec.get("devices") or []]


def make_nodes(devices, rootfs, syscalls):
    """mknod each device in the container's /dev (under ``rootfs``, before pivot_root)."""
    for d in devices or []:
        rel = d["container"].lstrip("/")
        path = os.path.join(rootfs, rel)
        os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
        if os.path.lexists(path):
            if d.get("fromHost"):
                continue  # --privileged: the container's own /dev/null, tty, ptmx, ... stay
            os.unlink(path)
        kind = stat.S_IFCHR if d["type"] == "c" else stat.S_IFBLK
        syscalls.mknod(path, kind | (d.get("mode") or 0o660), os.makedev(d["major"], d["minor"]))
        os.chmod(path, d.get("mode") or 0o660)
