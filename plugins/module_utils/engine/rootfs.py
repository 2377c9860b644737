# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Root filesystem: the host-side overlay and the in-container mount set-up (SPEC 4).

The container-side steps run in the container's fresh mount namespace, in the order the
kernel needs them: private root, /proc, /sys, /dev, files, volumes, pivot_root, masks.
Every privileged call goes through a ``syscalls`` object (default ``SYS``), so tests can pass
a recording fake.
"""

import errno
import os
import stat

from .devices import make_nodes
from .errors import MyDockerError
from .mounts import tmpfs_mount_args
from .store import makedirs
from .syscalls import (
    MNT_DETACH,
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    MS_STRICTATIME,
    SYS,
)

MASKED_PATHS = ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/proc/interrupts",
                "/sys/firmware"]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
DEVICES = [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9),
           ("tty", 5, 0)]
DEV_LINKS = [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
             ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx"), ("core", "/proc/kcore")]


# ---------------------------------------------------------------- host side

def _unescape(s):
    return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def mountpoints():
    """Mount points of this mount namespace, in mount order."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            out.append(_unescape(line.split()[4]))
    return out


def mounts_under(prefix):
    """Mount points at or below ``prefix``, deepest first (the order to unmount them)."""
    prefix = os.path.realpath(prefix).rstrip("/")
    found = [m for m in mountpoints() if m == prefix or m.startswith(prefix + "/")]
    return sorted(set(found), key=lambda m: (-m.count("/"), m))


def is_mounted(path):
    path = os.path.realpath(path)
    return path in mountpoints()


def mount_overlay(lower, upper, work, merged, syscalls=SYS, flags=0):
    """Mount an overlay at ``merged``. ``lower``: one directory, or a list of them (top first).
    Several lower directories are given relative to their common parent (the process changes
    there for the mount and back): short names keep the options within the kernel's one page,
    as Docker's overlay2 driver does. ``upper`` None: a read-only overlay of the lowers."""
    if is_mounted(merged):
        return False
    lowers = [lower] if isinstance(lower, str) else list(lower)
    here = None
    if len(lowers) > 1:
        base = os.path.commonpath(lowers)
        here = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
        lowers = [os.path.relpath(p, base) for p in lowers]
    opts = "lowerdir=%s" % ":".join(lowers)
    if upper is not None:
        opts += ",upperdir=%s,workdir=%s" % (upper, work)
    try:
        if here is not None:
            os.chdir(base)
        syscalls.mount("overlay", merged, "overlay", flags, opts)
    except OSError as e:
        raise MyDockerError("cannot mount the container's root filesystem: %s" % e.strerror)
    finally:
        if here is not None:
            os.fchdir(here)
            os.close(here)
    return True


def unmount_all(prefix, syscalls=SYS):
    """Unmount everything at or below ``prefix``; raise if anything stays mounted."""
    found = mounts_under(prefix)
    if not found:
        return  # nothing to check again (each look reads the whole mount table)
    for m in found:
        try:
            syscalls.umount2(m, 0)
        except OSError:
            try:
                syscalls.umount2(m, MNT_DETACH)
            except OSError as e:
                if e.errno not in (errno.EINVAL, errno.ENOENT):
                    raise MyDockerError("cannot unmount %s: %s" % (m, e.strerror))
    left = mounts_under(prefix)
    if left:
        raise MyDockerError("still mounted: %s" % ", ".join(left))


def secure_join(root, unsafe):
    """Resolve ``unsafe`` inside ``root`` following symlinks as if ``root`` were '/'."""
    parts = [p for p in unsafe.split("/") if p not in ("", ".")]
    cur = ""
    hops = 0
    while parts:
        p = parts.pop(0)
        if p == "..":
            cur = os.path.dirname(cur)
            continue
        nxt = os.path.join(cur, p)
        full = os.path.join(root, nxt)
        if os.path.islink(full):
            hops += 1
            if hops > 40:
                raise MyDockerError("too many symlinks resolving %s" % unsafe)
            target = os.readlink(full)
            if target.startswith("/"):
                cur = ""
            parts = [x for x in target.split("/") if x not in ("", ".")] + parts
            continue
        cur = nxt
    return os.path.join(root, cur) if cur else root


# ------------------------------------------------------------ container side

def _mkdir_in(root, path):
    target = secure_join(root, path)
    makedirs(target)
    return target


def _touch_in(root, path):
    target = secure_join(root, path)
    if not os.path.exists(target):
        makedirs(os.path.dirname(target))
        open(target, "a").close()
    return target


def _setup_dev(rootfs, syscalls, shm_size=None):
    dev = _mkdir_in(rootfs, "/dev")
    syscalls.mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k")
    for name, major, minor in DEVICES:
        p = os.path.join(dev, name)
        syscalls.mknod(p, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
        os.chmod(p, 0o666)
    pts = os.path.join(dev, "pts")
    os.mkdir(pts, 0o755)
    syscalls.mount("devpts", pts, "devpts", MS_NOSUID | MS_NOEXEC,
                   "newinstance,ptmxmode=0666,mode=0620,gid=5")
    shm = os.path.join(dev, "shm")
    os.mkdir(shm, 0o1777)
    syscalls.mount("shm", shm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                   "mode=1777,size=%s" % ("%d" % shm_size if shm_size else "65536k"))
    for name, target in DEV_LINKS:
        if name == "core":
            continue
        os.symlink(target, os.path.join(dev, name))


def _bind(syscalls, src, dst, readonly=False):
    syscalls.mount(src, dst, None, MS_BIND | MS_REC)
    if readonly:
        syscalls.mount(src, dst, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC)


def _probe(rootfs, path):
    """What the container will see at ``path`` once ``rootfs`` is its root: "dir" (a directory,
    not a symlink), "other" (anything else that exists) or None. Looked at before pivot_root,
    with the same mounts in place, resolving symlinks inside ``rootfs`` as the kernel will."""
    where = os.path.join(secure_join(rootfs, os.path.dirname(path)), os.path.basename(path))
    if os.path.islink(where):
        return "other" if os.path.exists(secure_join(rootfs, path)) else None
    if os.path.isdir(where):
        return "dir"
    return "other" if os.path.exists(where) else None


def setup_rootfs(rootfs, etc_files, volumes, syscalls=SYS, tmpfs=None, read_only=False, shm_size=None,
                 privileged=False, devices=()):
    """Prepare the container's mounts and pivot into ``rootfs``.

    ``etc_files``: {container path: host file} bind-mounted read-write (hostname, hosts, resolv.conf).
    ``volumes``: [{"host", "container", "ro"}]; ``tmpfs``: engine.mounts tmpfs entries, mounted with
    the volumes, parents before children; ``read_only``: / remounted read-only last (its mounts
    stay as they are: /dev/shm, volumes, tmpfs); ``shm_size``: bytes of /dev/shm.
    A failing step raises one MyDockerError.
    """
    try:
        _setup_rootfs(rootfs, etc_files, volumes, syscalls, tmpfs or [], read_only, shm_size, privileged, devices)
    except OSError as e:
        why = e.strerror or str(e)
        if e.filename:
            why = "%s: %s" % (e.filename, why)
        raise MyDockerError("cannot set up the container's root filesystem: %s" % why)


_TMPFS_FLAGS = {"ro": MS_RDONLY, "noexec": MS_NOEXEC, "nosuid": MS_NOSUID, "nodev": MS_NODEV}


def _mount_tmpfs(rootfs, t, syscalls):
    names, data = tmpfs_mount_args(t)
    flags = 0
    for n in names:
        flags |= _TMPFS_FLAGS[n]
    syscalls.mount("tmpfs", _mkdir_in(rootfs, t["container"]), "tmpfs", flags, data)


def _setup_rootfs(rootfs, etc_files, volumes, syscalls, tmpfs=(), read_only=False, shm_size=None,
                  privileged=False, devices=()):
    syscalls.mount(None, "/", None, MS_REC | MS_PRIVATE)
    syscalls.mount("proc", _mkdir_in(rootfs, "/proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    syscalls.mount("sysfs", _mkdir_in(rootfs, "/sys"), "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY)
    _setup_dev(rootfs, syscalls, shm_size)
    make_nodes(devices, rootfs, syscalls)  # --device, --privileged's host devices (devices.py)
    for cpath, hpath in sorted(etc_files.items()):
        _bind(syscalls, hpath, _touch_in(rootfs, cpath))
    # volumes and tmpfs together, a parent before what is mounted inside it (as Docker sorts them)
    user = sorted([(v, False) for v in volumes] + [(t, True) for t in tmpfs],
                  key=lambda e: e[0]["container"].rstrip("/").count("/"))
    for v, is_tmpfs in user:
        if is_tmpfs:
            _mount_tmpfs(rootfs, v, syscalls)
            continue
        src = v["host"]
        if os.path.isdir(src):
            dst = _mkdir_in(rootfs, v["container"])
        else:
            dst = _touch_in(rootfs, v["container"])
        _bind(syscalls, src, dst, v.get("ro", False))
    masked = [] if privileged else [(p, _probe(rootfs, p)) for p in MASKED_PATHS]  # --privileged: none
    readonly = [] if privileged else [p for p in READONLY_PATHS if _probe(rootfs, p)]
    os.chdir(rootfs)
    syscalls.pivot_root(".", ".")
    syscalls.umount2(".", MNT_DETACH)
    os.chdir("/")
    for p, kind in masked:
        if kind == "dir":
            syscalls.mount("tmpfs", p, "tmpfs", MS_RDONLY)
        elif kind:
            syscalls.mount("/dev/null", p, None, MS_BIND)
    for p in readonly:
        _bind(syscalls, p, p, readonly=True)
    if read_only:
        # the root alone (not recursive): /dev, /proc, volumes and tmpfs mounts keep their own flags
        syscalls.mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY)
