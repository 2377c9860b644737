# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``mydocker system service``: one process per state root with the command line and the engine
already loaded, which runs commands for bin/mydocker (``service_client.py``).

Every command a service takes runs in a process forked from it for that command alone (a
"spare" forked ahead: ``service_spare.py``), with the caller's arguments, environment, directory
and standard streams (passed over the socket), so it behaves as the same command run directly:
same output, same exit status, the caller's signals forwarded to it. What the service saves is a
Python start and the imports: on this machine ~25-35 ms of every command.

The service holds nothing a command needs: containers keep their own monitors, state stays in the
state root's files under their locks. When the service is gone (stopped, idle for ``--time``
seconds, killed), commands run in the calling process again, as they do without one. A service
declines a command (and the caller runs it) when the caller's namespaces, credentials or limits
differ from its own, and stops when a file of the collection's module_utils (or bin/mydocker) has
changed since it started."""

import fcntl
import os
import select
import signal
import socket
import sys
import time

from ..engine.errors import MyDockerError
from . import service_client as wire
from .service_spare import STALE, TAKEN, fork_spare, stamp

LOCK = "service.lock"     # held (flock) by the service for as long as it runs; holds its pid


class _Stop(Exception):
    """Raised from the service's signal handler to leave its loop."""


def socket_path(root):
    return os.path.join(root, wire.SOCKET)


def _preload(root):
    """Import every module a command may need, so that no worker imports anything."""
    from . import main
    main.keep_parsers()  # every group imported, every parser built
    engine = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "engine")
    pkg = __package__.rsplit(".", 1)[0] + ".engine"
    for sub in ("", "cgroups", "net"):
        d = os.path.join(engine, sub)
        for f in sorted(os.listdir(d)):
            if f.endswith(".py") and f != "__init__.py":
                name = ".".join(p for p in (pkg, sub, f[:-3]) if p)
                try:
                    __import__(name)
                except ImportError:  # an optional dependency (pyroute2) that is missing: loaded when needed, if ever
                    pass
    from ..engine import monitor, seccomp
    monitor.pin_source_key()  # the service stops when a source changes (changed)
    from ..engine.lifecycle import SECCOMP_CACHE
    try:  # libseccomp loaded and the default profile's program made here once, not in every monitor
        seccomp.keep_default(os.path.join(root, SECCOMP_CACHE))
    except MyDockerError:  # not installed: a container with seccomp says so when it starts
        pass
    import gc
    gc.collect()
    gc.freeze()  # what is loaded now is never scanned by a worker's collector (no copy-on-write of it)


def _sources():
    """(path, mtime_ns, size) of every loaded source file of this collection and of every file of
    its module_utils (what the engine copy of a container's monitor is made from)."""
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    files = set()
    for m in list(sys.modules.values()):
        f = getattr(m, "__file__", None)
        if f and os.path.abspath(f).startswith(top + os.sep):
            files.add(os.path.abspath(f))
    for d, dirs, names in os.walk(os.path.join(top, "plugins", "module_utils")):
        dirs[:] = [x for x in dirs if x != "__pycache__"]
        files.update(os.path.join(d, n) for n in names if n.endswith(".py"))
    for extra in (os.path.join("bin", "mydocker"), os.path.join("scripts", "collection_path.py")):
        files.add(os.path.join(top, extra))
    return tuple(stamp(f) for f in sorted(files))


def running(root):
    """The pid of the service of ``root``, or None."""
    try:
        fd = os.open(os.path.join(root, LOCK), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            data = os.pread(fd, 64, 0).split()
            return int(data[0]) if data and data[0].isdigit() else -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def serve(root, idle, ready_fd=None):
    """Serve ``root`` until stopped, or until ``idle`` seconds pass without a command (0: never).
    ``ready_fd`` gets one line (``ready`` or the error) once commands can be taken."""
    os.makedirs(root, 0o700, exist_ok=True)
    lockfd = os.open(os.path.join(root, LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    lsock = None
    path = socket_path(root)
    try:
        try:
            fcntl.flock(lockfd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise MyDockerError("a service already runs for %s (pid %s)" % (root, running(root))) from None
        _preload(root)
        ctx = wire.context()
        sources = _sources()
        try:
            os.unlink(path)  # a socket left by a service that was killed: the lock says none runs
        except FileNotFoundError:
            pass
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        mask = os.umask(0o177)
        try:
            lsock.bind(path)
        finally:
            os.umask(mask)
        lsock.listen(128)
        ident = os.stat(path).st_ino
        os.ftruncate(lockfd, 0)
        os.pwrite(lockfd, b"%d %d\n" % (os.getpid(), int(time.time())), 0)
    except BaseException as e:
        if lsock is not None:
            lsock.close()
            _unlink_if(path, None)
        os.close(lockfd)
        _tell(ready_fd, str(e) if isinstance(e, MyDockerError) else "cannot start: %s" % (e,))
        raise

    def stop(signum, frame):
        raise _Stop()
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, stop)
    served, started, last = 0, time.time(), time.monotonic()
    spare = None  # (pid, the read end of its pipe): the process that takes the next caller
    try:
        spare = fork_spare(lsock, lockfd, ctx, sources, served, started)
        _tell(ready_fd, "ready")
        while True:
            _reap()
            if spare is None:
                spare = fork_spare(lsock, lockfd, ctx, sources, served, started)
                if spare is None:
                    time.sleep(1.0)
                    continue
            wait = 1.0 if not idle else max(0.0, min(1.0, idle - (time.monotonic() - last)))
            if idle and wait == 0.0:
                break
            if not select.select([spare[1]], [], [], wait)[0]:
                continue
            outcome = os.read(spare[1], 1)
            os.close(spare[1])
            spare = None  # it runs the caller's command now, or has exited
            last = time.monotonic()
            if outcome == TAKEN:
                served += 1
            elif outcome == STALE:
                break  # its code is out of date: the next start loads the new one
            elif not outcome:
                time.sleep(0.1)  # it died before it took a caller: no loop of forks if that repeats
    except _Stop:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if spare is not None:
            took = select.select([spare[1]], [], [], 0)[0] and os.read(spare[1], 1)
            os.close(spare[1])
            if not took:  # still waiting in accept() (or reading a request its caller will run itself)
                try:
                    os.kill(spare[0], signal.SIGKILL)
                    os.waitpid(spare[0], 0)
                except OSError:
                    pass
        lsock.close()
        _unlink_if(path, ident)
        os.close(lockfd)  # the lock goes with it: `running` says no service
    return 0


def _unlink_if(path, ident):
    """Remove the socket, unless another service's is there now."""
    try:
        if ident is None or os.stat(path).st_ino == ident:
            os.unlink(path)
    except OSError:
        pass


def _tell(fd, line):
    if fd is not None:
        try:
            os.write(fd, (line.replace("\n", " ") + "\n").encode())
        except OSError:
            pass


def _reap():
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def start(root, idle):
    """Start the service of ``root`` in the background; returns its pid once it takes commands."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(r)
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
            os.chdir("/")
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            os.close(devnull)
            code = serve(root, idle, ready_fd=w)
        except BaseException:  # told through the pipe by serve
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    os.waitpid(pid, 0)
    with os.fdopen(r, "rb") as f:
        line = f.readline().decode().strip()
    if line != "ready":
        raise MyDockerError(line or "the service did not start")
    return running(root)


def stop(root, timeout=10.0):
    """Stop the service of ``root``; True if one ran."""
    pid = running(root)
    if pid is None:
        return False
    if pid > 0:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while running(root) is not None:
        if time.monotonic() > deadline:
            raise MyDockerError("the service of %s (pid %s) did not stop in %gs" % (root, pid, timeout))
        time.sleep(0.02)
    return True


def status(root):
    """(pid, start time, commands served) of the running service, or None."""
    if running(root) is None:
        return None
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(5)
        s.connect(socket_path(root))
        fds = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in (0, 1, 2))
        data = wire.encode(["system", "service", "status"], "/", b"", {})
        s.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
        line = s.makefile("rb").readline()
    except OSError as e:
        raise MyDockerError("the service of %s does not answer: %s" % (root, e)) from None
    finally:
        s.close()
    if not line.startswith(b"S"):
        raise MyDockerError("the service of %s gave no status" % root)
    pid, since, count = (int(x) for x in line[1:].split())
    return pid, since, count
