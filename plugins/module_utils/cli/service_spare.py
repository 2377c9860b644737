# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The processes of ``mydocker system service`` that run the callers' commands (``service.py``
forks them): the spare that waits for the next caller, and what it does with one.

A spare is forked ahead, copies its writable pages while it waits (so that the command it runs
copies none on its first writes), takes one caller from the socket, and either answers it
(status), declines it (the caller then runs the command itself) or runs its command in this
process, as bin/mydocker would, then exits with the command's status. It tells the service one
byte on a pipe: taken, declined, answered or code changed."""

import os
import select
import signal
import socket
import sys

from . import service_client as wire

MAX_REQUEST = 4 << 20


def stamp(path):
    """(path, mtime_ns, size) of a file (None, None when it is gone)."""
    try:
        st = os.stat(path)
        return path, st.st_mtime_ns, st.st_size
    except OSError:
        return path, None, None


def changed(sources):
    """Whether any of the ``stamp`` tuples is not what the file is now."""
    return any(stamp(path) != (path, mtime, size) for path, mtime, size in sources)


# what a spare tells the service about the caller it took (one byte on its pipe)
TAKEN, DECLINED, STALE, ANSWERED = b"T", b"D", b"C", b"S"


def fork_spare(lsock, lockfd, ctx, sources, served, started):
    """Fork the process that waits for the next caller, so that no fork is on a command's clock.
    Returns (pid, read end of its pipe), or None when fork failed (tried again in a second)."""
    r, w = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        return None
    if pid == 0:
        code = 0
        try:
            os.close(r)
            for sig in (signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            from ..engine.syscalls import PR_SET_PDEATHSIG, SYS
            SYS.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # no spare outlives a killed service
            if os.getppid() == 1:
                os._exit(0)
            _copy_pages_ahead(lsock)
            lsock.settimeout(None)
            conn, _addr = lsock.accept()
            lsock.close()
            os.close(lockfd)
            _handle(conn, w, ctx, sources, served, started)
        except BaseException:  # a caller that sent nothing sensible (or left): nothing was run for it
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


MADV_POPULATE_WRITE = 23  # Linux 5.14
CHUNK = 1 << 20


def _copy_pages_ahead(lsock):
    """Break copy-on-write now for this process's private writable memory (madvise
    MADV_POPULATE_WRITE), at idle priority while no caller waits: a forked process copies each page
    it first writes to (Python writes reference counts everywhere), ~7 ms of a ``run`` otherwise.
    Stops at once when a caller connects; does nothing on a kernel without it."""
    import ctypes
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        pass
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        madvise = libc.madvise
        madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        with open("/proc/self/maps") as f:
            ranges = [line.split()[0] for line in f if line.split()[1][1:4:2] == "wp"]
        for r in ranges:
            lo, hi = (int(x, 16) for x in r.split("-"))
            for start in range(lo, hi, CHUNK):
                if select.select([lsock], [], [], 0)[0]:
                    return  # a caller: serve it now
                if madvise(start, min(CHUNK, hi - start), MADV_POPULATE_WRITE) != 0:
                    if ctypes.get_errno() in (22, 38):  # EINVAL: an older kernel; ENOSYS
                        return
                    break  # a range it cannot populate (a guard page): the next one
    except (OSError, ValueError, AttributeError):
        pass
    finally:
        try:
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        except (AttributeError, OSError):
            pass


def _tell_service(w, outcome):
    try:
        os.write(w, outcome)
    except OSError:
        pass
    os.close(w)


def _receive(conn):
    """The request's fields and the three descriptors sent with it (a caller sends it at once)."""
    fds = []
    conn.settimeout(2)
    data, anc, _flags, _addr = conn.recvmsg(65536, socket.CMSG_SPACE(3 * 4))
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds += [int.from_bytes(payload[i:i + 4], sys.byteorder, signed=True)
                    for i in range(0, len(payload) - len(payload) % 4, 4)]
    try:
        if len(data) < 10 or not data[:10].isdigit():
            raise ValueError("not a request")
        size = int(data[:10])
        if size > MAX_REQUEST:
            raise ValueError("request too large")
        while len(data) < 10 + size:
            chunk = conn.recv(min(1 << 20, 10 + size - len(data)))
            if not chunk:
                raise ValueError("request cut short")
            data += chunk
        return wire.decode(data[10:]), fds
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


def _handle(conn, w, ctx, sources, served, started):
    """Answer the caller on ``conn`` (in the spare): its status request, a decline, or its command,
    run in this process (then this never returns). The service hears the outcome on ``w``."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    uid = int.from_bytes(creds[4:8], sys.byteorder)
    try:
        (argv, cwd, cctx, env), fds = _receive(conn)
    except BaseException:
        _tell_service(w, DECLINED)
        raise
    if argv[:3] == ["system", "service", "status"] and uid == os.geteuid():
        _tell_service(w, ANSWERED)
        conn.sendall(b"S%d %d %d\n" % (os.getppid(), started, served))
        return
    reason = _decline(uid, cctx, ctx, fds, sources)
    if reason:
        _tell_service(w, STALE if reason == CHANGED else DECLINED)
        conn.sendall(b"F" + reason.encode() + b"\n")
        return
    _tell_service(w, TAKEN)
    _worker(conn, fds, argv, cwd, env)


def _worker(conn, fds, argv, cwd, env):
    """Run one command in this process and exit with its status (never returns)."""
    code = 1
    told = False
    try:
        from ..engine.syscalls import PR_SET_PDEATHSIG, SYS
        SYS.prctl(PR_SET_PDEATHSIG, 0)  # the command goes on if the service goes
        os.setpgid(0, 0)  # and a Ctrl-C meant for a service in the foreground is not meant for it
        try:
            os.chdir(cwd)
        except OSError:
            conn.sendall(b"Fno such directory\n")
            os._exit(0)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.environ.clear()
        os.environ.update(env)
        if "tempfile" in sys.modules:
            sys.modules["tempfile"].tempdir = None  # found again from the caller's $TMPDIR
        _streams()
        sys.argv = [sys.argv[0]] + argv
        conn.sendall(b"P%d\n" % os.getpid())
        told = True
        from .main import main
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's usage errors and --help
            code = e.code
        code = _status(code)
        _finish()
    except BaseException:  # the command's own failure: its traceback goes to the caller's stderr
        try:
            import traceback
            traceback.print_exc()
            sys.stderr.flush()
        except BaseException:  # nothing more can be said
            pass
        code = 1
    finally:
        if told:
            try:
                conn.sendall(b"X%d\n" % code)
            except OSError:
                pass
        os._exit(code)


CHANGED = "code changed"


def _decline(uid, cctx, ctx, fds, sources):
    """Why this service must not run the command (the caller then runs it), or None."""
    if uid != os.geteuid():
        return "another user"
    if len(fds) != 3:
        return "no standard streams"
    if cctx != ctx:
        return "another context (namespaces, credentials or limits)"
    if changed(sources):
        return CHANGED
    return None


def _streams():
    """New sys.stdin/stdout/stderr on the caller's descriptors (line-buffered on a terminal, as
    Python makes them at start)."""
    enc, errors = sys.stdout.encoding or "utf-8", sys.stdout.errors or "strict"
    sys.stdin = sys.__stdin__ = open(0, closefd=False, encoding=enc, errors=errors)
    sys.stdout = sys.__stdout__ = open(1, "w", closefd=False, encoding=enc, errors=errors,
                                       buffering=1 if os.isatty(1) else -1)
    sys.stderr = sys.__stderr__ = open(2, "w", closefd=False, encoding=enc, errors="backslashreplace", buffering=1)


def _status(code):
    """An exit status from what main returned or SystemExit carried (as the interpreter makes it)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    sys.stderr.write("%s\n" % (code,))
    return 1


def _finish():
    """Flush what the command wrote and run its atexit handlers, as the end of a process does."""
    import atexit
    run_exitfuncs = getattr(atexit, "_run_exitfuncs", None)
    if run_exitfuncs is not None:
        run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
