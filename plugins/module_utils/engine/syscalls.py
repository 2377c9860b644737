# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few Linux syscalls the runtime needs, behind one small interface (as youki does).

``Syscalls`` is the interface: every call into the kernel that needs privileges or a namespace
(mount, umount2, pivot_root, unshare, setns, sethostname, prctl, capset, mknod, bringing ``lo``
up, setgroups, setresgid, setresuid). ``LinuxSyscalls`` implements it with ctypes (and the os
module); ``SYS`` is the one instance the engine uses.
Functions that make these calls take the object as a ``syscalls=SYS`` argument, so tests pass a
recording fake (tests/unit/fakes.py) instead of touching the kernel. Composed steps such as
``drop_capabilities`` are written once, on the interface, in terms of the primitives.

Every primitive raises OSError with the errno, as the os module does.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing is ~5 ms of every command's start: annotations only (postponed)
if TYPE_CHECKING:
    from collections.abc import Iterable  # noqa: F401
    from typing import Union

    StrPath = Union[str, bytes]

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_STRICTATIME = 1 << 24

MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4

_LINUX_CAPABILITY_VERSION_3 = 0x20080522

# Docker's default capability set (the fourteen).
DEFAULT_CAPS = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_FOWNER": 3, "CAP_FSETID": 4, "CAP_KILL": 5,
    "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_NET_BIND_SERVICE": 10,
    "CAP_NET_RAW": 13, "CAP_SYS_CHROOT": 18, "CAP_MKNOD": 27, "CAP_AUDIT_WRITE": 29,
    "CAP_SETFCAP": 31,
}


_CAP_TYPES = []


def _cap_types():
    """capset(2)'s header and data structures, made on first use: ctypes (~2.5 ms to import) is
    loaded only by what makes a container's process, never by ps, inspect, stop or rm."""
    if not _CAP_TYPES:
        import ctypes

        class CapHeader(ctypes.Structure):
            _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

        class CapData(ctypes.Structure):
            _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                        ("inheritable", ctypes.c_uint32)]

        _CAP_TYPES.extend((CapHeader, CapData))
    return _CAP_TYPES


class Syscalls:
    """The syscall interface of the engine. Primitives raise NotImplementedError here."""

    def unshare(self, flags: int) -> None:
        """unshare(2): move this process into new namespaces (``CLONE_NEW*`` flags)."""
        raise NotImplementedError

    def setns(self, fd: int, nstype: int = 0) -> None:
        """setns(2): join the namespace open on ``fd`` (``nstype`` 0: any type)."""
        raise NotImplementedError

    def mount(self, source: StrPath | None, target: StrPath, fstype: StrPath | None,
              flags: int = 0, data: StrPath | None = None) -> None:
        """mount(2)."""
        raise NotImplementedError

    def umount2(self, target: StrPath, flags: int = 0) -> None:
        """umount2(2) (``MNT_DETACH``: lazy)."""
        raise NotImplementedError

    def pivot_root(self, new_root: StrPath, put_old: StrPath) -> None:
        """pivot_root(2)."""
        raise NotImplementedError

    def prctl(self, option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
        """prctl(2); returns what the kernel returned."""
        raise NotImplementedError

    def sethostname(self, name: StrPath) -> None:
        """sethostname(2) (in the caller's UTS namespace)."""
        raise NotImplementedError

    def capset(self, mask: int) -> None:
        """capset(2): effective, permitted and inheritable sets all set to ``mask``."""
        raise NotImplementedError

    def mknod(self, path: StrPath, mode: int, device: int) -> None:
        """mknod(2) (needs CAP_MKNOD for device nodes)."""
        raise NotImplementedError

    def link_up(self, name: str) -> None:
        """Bring network interface ``name`` of the caller's network namespace up."""
        raise NotImplementedError

    def last_cap(self) -> int:
        """The highest capability number the kernel knows."""
        raise NotImplementedError

    def setgroups(self, gids: Iterable[int]) -> None:
        """setgroups(2): the supplementary groups (needs CAP_SETGID)."""
        raise NotImplementedError

    def setresgid(self, rgid: int, egid: int, sgid: int) -> None:
        """setresgid(2) (needs CAP_SETGID)."""
        raise NotImplementedError

    def setresuid(self, ruid: int, euid: int, suid: int) -> None:
        """setresuid(2) (needs CAP_SETUID); to a non-zero uid it clears the capability sets."""
        raise NotImplementedError

    # ------------------------------------------------ composed from the primitives above

    def drop_capabilities(self, keep: Iterable[int] | None = None) -> None:
        """Cut the bounding, ambient, effective, permitted and inheritable sets to ``keep``
        (default: Docker's fourteen, ``DEFAULT_CAPS``)."""
        keep = set(DEFAULT_CAPS.values() if keep is None else keep)
        for cap in range(self.last_cap() + 1):
            if cap not in keep:
                try:
                    self.prctl(PR_CAPBSET_DROP, cap)
                except OSError:
                    pass
        try:
            self.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
        except OSError:
            pass
        mask = 0
        for cap in keep:
            mask |= 1 << cap
        self.capset(mask)


class LinuxSyscalls(Syscalls):
    """Thin ctypes wrappers that raise OSError with errno, like the os module does. Each method
    imports ctypes itself (a look-up in sys.modules after the first): ps, inspect, stop and rm
    import this module but make no system call through it."""

    def __init__(self) -> None:
        self._libc = None

    @property
    def libc(self):
        import ctypes
        if self._libc is None:
            try:  # glibc's soname first: find_library runs `ldconfig -p` (a process per command)
                self._libc = ctypes.CDLL("libc.so.6", use_errno=True)
            except OSError:
                from ctypes.util import find_library  # here: it imports subprocess (~4 ms a start)
                self._libc = ctypes.CDLL(find_library("c") or "libc.so.6", use_errno=True)
        return self._libc

    def _check(self, ret: int, what: str) -> int:
        if ret < 0:
            import ctypes
            err = ctypes.get_errno()
            raise OSError(err, "%s: %s" % (what, os.strerror(err)))
        return ret

    @staticmethod
    def _b(s):
        if s is None:
            return None
        return s.encode("utf-8") if isinstance(s, str) else s

    def unshare(self, flags):
        import ctypes
        self._check(self.libc.unshare(ctypes.c_int(flags)), "unshare")

    def setns(self, fd, nstype=0):
        import ctypes
        self._check(self.libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)), "setns")

    def mount(self, source, target, fstype, flags=0, data=None):
        import ctypes
        ret = self.libc.mount(self._b(source), self._b(target), self._b(fstype),
                              ctypes.c_ulong(flags), self._b(data))
        self._check(ret, "mount %s" % target)

    def umount2(self, target, flags=0):
        import ctypes
        self._check(self.libc.umount2(self._b(target), ctypes.c_int(flags)), "umount %s" % target)

    def pivot_root(self, new_root, put_old):
        import ctypes
        # glibc has no wrapper; syscall 155 on x86_64, 41 on aarch64.
        nr = {"x86_64": 155, "aarch64": 41}.get(os.uname().machine, 155)
        ret = self.libc.syscall(ctypes.c_long(nr), self._b(new_root), self._b(put_old))
        self._check(ret, "pivot_root")

    def prctl(self, option, arg2=0, arg3=0, arg4=0, arg5=0):
        import ctypes
        ret = self.libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg2), ctypes.c_ulong(arg3),
                              ctypes.c_ulong(arg4), ctypes.c_ulong(arg5))
        return self._check(ret, "prctl(%d)" % option)

    def sethostname(self, name):
        import ctypes
        b = self._b(name)
        self._check(self.libc.sethostname(b, ctypes.c_size_t(len(b))), "sethostname")

    def link_up(self, name):
        """Bring a network interface of this network namespace up (SIOCGIFFLAGS/SIOCSIFFLAGS), on a
        socket(2) of libc's: the socket module (with selectors, ~3 ms) is not loaded for this."""
        import fcntl
        import struct
        fd = self._check(self.libc.socket(2, 2 | 0o2000000, 0), "socket")  # AF_INET, SOCK_DGRAM|SOCK_CLOEXEC
        try:
            req = struct.pack("16sH14x", name.encode(), 0)
            flags = struct.unpack("16sH14x", fcntl.ioctl(fd, 0x8913, req))[1]
            fcntl.ioctl(fd, 0x8914, struct.pack("16sH14x", name.encode(), flags | 1))
        finally:
            os.close(fd)

    def capset(self, mask):
        """Set effective, permitted and inheritable capability sets to ``mask``."""
        import ctypes
        header_type, data_type = _cap_types()
        hdr = header_type(_LINUX_CAPABILITY_VERSION_3, 0)
        data = (data_type * 2)()
        for i in range(2):
            part = (mask >> (32 * i)) & 0xFFFFFFFF
            data[i].effective = part
            data[i].permitted = part
            data[i].inheritable = part
        self._check(self.libc.capset(ctypes.byref(hdr), data), "capset")

    def mknod(self, path, mode, device):
        os.mknod(path, mode, device)

    def setgroups(self, gids):
        os.setgroups(list(gids))

    def setresgid(self, rgid, egid, sgid):
        os.setresgid(rgid, egid, sgid)

    def setresuid(self, ruid, euid, suid):
        os.setresuid(ruid, euid, suid)

    def last_cap(self):
        try:
            with open("/proc/sys/kernel/cap_last_cap") as f:
                return int(f.read())
        except (OSError, ValueError):
            return 40


SYS: Syscalls = LinuxSyscalls()
