"""Test doubles for the engine's seams.

``RecordingSyscalls`` implements engine/syscalls.py's ``Syscalls`` interface without touching the
kernel: each primitive call is appended to ``calls`` as a ``Call`` (name, arguments by parameter
name, and the working directory at the time, so a test can see where ``pivot_root(".", ".")``
ran). ``fail(name, errno, when=...)`` makes matching calls raise OSError with that errno, as the
real wrappers do. The composed ``drop_capabilities`` of the interface runs on top of the fake
primitives, so its prctl/capset calls are recorded too. ``mknod`` leaves an empty regular file
where the node would be, so the code under test can chmod it.
"""
import errno as _errno
import os
from dataclasses import dataclass, field

from ansible_collections.mydocker.runtime.plugins.module_utils.engine.syscalls import Syscalls


@dataclass
class Call:
    name: str
    args: dict
    cwd: str = ""

    def __getitem__(self, key):
        return self.args[key]


@dataclass
class _Failure:
    name: str
    err: int
    when: object = None      # predicate(Call) -> bool, or None for every call of ``name``
    times: object = None     # how many matching calls fail (None: all)
    hits: int = field(default=0)


class RecordingSyscalls(Syscalls):
    def __init__(self, last_cap=40, hostname=None):
        self.calls = []
        self._failures = []
        self._last_cap = last_cap
        self.hostname = hostname

    # ------------------------------------------------------------------ control

    def fail(self, name, err=_errno.EPERM, when=None, times=None):
        """Make calls to ``name`` (matching ``when(call)`` if given) raise OSError(``err``)."""
        self._failures.append(_Failure(name, err, when, times))

    def named(self, *names):
        """The recorded calls with one of ``names``, in order."""
        return [c for c in self.calls if c.name in names]

    def index(self, syscall, **args):
        """Position in ``calls`` of the first call ``name`` whose arguments include ``args``."""
        for i, c in enumerate(self.calls):
            if c.name == syscall and all(c.args.get(k) == v for k, v in args.items()):
                return i
        raise AssertionError("no call %s(%s) in %r" % (syscall, args, self.calls))

    def mark(self, label, **args):
        """Record a non-syscall event (e.g. the exec) in the same sequence."""
        self.calls.append(Call(label, args, os.getcwd()))

    def _record(self, syscall, what=None, filename=None, **args):
        call = Call(syscall, args, os.getcwd())
        self.calls.append(call)
        for f in self._failures:
            if f.name != syscall or (f.when is not None and not f.when(call)):
                continue
            if f.times is not None and f.hits >= f.times:
                continue
            f.hits += 1
            if filename is not None:  # as the os module reports it
                raise OSError(f.err, os.strerror(f.err), filename)
            raise OSError(f.err, "%s: %s" % (what or syscall, os.strerror(f.err)))
        return call

    # ---------------------------------------------------------------- primitives

    def unshare(self, flags):
        self._record("unshare", flags=flags)

    def setns(self, fd, nstype=0):
        try:
            ns = os.readlink("/proc/self/fd/%d" % fd)  # e.g. "net:[4026531840]"
        except OSError:
            ns = None
        self._record("setns", fd=fd, nstype=nstype, ns=ns)

    def mount(self, source, target, fstype, flags=0, data=None):
        self._record("mount", "mount %s" % target, source=source, target=target, fstype=fstype, flags=flags, data=data)

    def umount2(self, target, flags=0):
        self._record("umount2", "umount %s" % target, target=target, flags=flags)

    def pivot_root(self, new_root, put_old):
        self._record("pivot_root", new_root=new_root, put_old=put_old)

    def prctl(self, option, arg2=0, arg3=0, arg4=0, arg5=0):
        self._record("prctl", option=option, arg2=arg2, arg3=arg3, arg4=arg4, arg5=arg5)
        return 0

    def sethostname(self, name):
        self._record("sethostname", name=name)
        self.hostname = name

    def capset(self, mask):
        self._record("capset", mask=mask)

    def mknod(self, path, mode, device):
        self._record("mknod", filename=path, path=path, mode=mode, device=device)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)

    def link_up(self, name):
        self._record("link_up", name=name)

    def setgroups(self, gids):
        self._record("setgroups", gids=list(gids))

    def setresgid(self, rgid, egid, sgid):
        self._record("setresgid", rgid=rgid, egid=egid, sgid=sgid)

    def setresuid(self, ruid, euid, suid):
        self._record("setresuid", ruid=ruid, euid=euid, suid=suid)

    def last_cap(self):
        return self._last_cap
