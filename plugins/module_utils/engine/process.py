# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Creating the container's PID 1 and entering a running container (exec).

``spawn`` forks a short-lived child that unshares the namespaces and forks the container's
init. That child reports the init's PID, then moves it into its cgroup (``cgroup``: the first
write to a ``cgroup.procs`` waits for an RCU grace period, 5-30 ms) while the init builds its
root filesystem and the caller records it and connects its network: three waits that overlap.
The init cuts its privileges and then waits on a pipe for the caller's "go", which comes only
once the child is done (``Spawned.go``), before it execs the user command: no user code runs
outside the cgroup. With sysctls the init waits first (a net sysctl may name the interface the
caller adds). Errors before exec travel back on a close-on-exec pipe, so the caller knows
whether the command really started.
"""

import fcntl
import os
import struct
import warnings  # noqa: F401  # pylint: disable=unused-import  # os.execvpe imports it after pivot_root

from . import procopts, seccomp, signals, users
from .errors import MyDockerError
from .rootfs import setup_rootfs
from .syscalls import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUTS,
    PR_SET_DUMPABLE,
    PR_SET_NO_NEW_PRIVS,
    SYS,
)

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NS_ORDER = ("ipc", "uts", "net", "pid", "mnt")


def container_env(spec, tty):
    """Exactly PATH, HOSTNAME, TERM (with a tty) and what the user set: never the host's."""
    env = {"PATH": DEFAULT_PATH, "HOSTNAME": spec["hostname"]}
    if tty:
        env["TERM"] = "xterm"
    env.update(spec.get("env") or {})
    return env


def _stdio(fds, tty):
    """Install (stdin, stdout, stderr) as 0, 1, 2; with a tty make it the controlling one."""
    if tty:
        os.setsid()
        import termios  # loaded before pivot_root (_load_console): here it only comes from sys.modules
        fcntl.ioctl(fds[0], termios.TIOCSCTTY, 0)
    for i, fd in enumerate(fds):
        if fd != i:
            os.dup2(fd, i)


TIOCGPTN = 0x80045430
TIOCSPTLCK = 0x40045431


def new_console(console_fd):
    """Open a pty in this mount namespace's /dev/pts, send its master over the unix socket
    ``console_fd`` (as runc's --console-socket does) and return the slave fd."""
    master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
    n = struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, struct.pack("I", 0)))[0]
    slave = os.open("/dev/pts/%d" % n, os.O_RDWR | os.O_NOCTTY)
    import socket  # loaded before pivot_root (_load_console): here it only comes from sys.modules
    sock = socket.socket(fileno=os.dup(console_fd))
    try:
        socket.send_fds(sock, [b"pty"], [master])
    finally:
        sock.close()
        os.close(master)
        os.close(console_fd)
    return slave


def _load_console():
    """What ``new_console`` and ``_stdio`` import, loaded in the host's context (after pivot_root
    there is no module to import): socket and termios, only for a container with a terminal."""
    import socket  # noqa: F401 (see above) pylint: disable=unused-import
    import termios  # noqa: F401 (see above) pylint: disable=unused-import


def recv_console(sock, timeout=10):
    """The pty master sent by ``new_console`` (CLI side)."""
    import socket
    sock.settimeout(timeout)
    try:
        fds = socket.recv_fds(sock, 16, 1)[1]
    except (OSError, socket.timeout) as e:
        raise MyDockerError("no terminal from the container: %s" % e)
    if not fds:
        raise MyDockerError("no terminal from the container")
    return fds[0]


def close_fds(keep):
    """Close every fd from 3 up that is not in ``keep`` (None entries are ignored): os.closerange
    over the gaps (close_range(2), a few syscalls, not a close() per number), up to the fd
    limit, so a descriptor above 1024 does not leak either (the init, exec, the daemonized
    monitor)."""
    try:
        top = max(os.sysconf("SC_OPEN_MAX"), 1024)
    except (OSError, ValueError):
        top = 1024
    lo = 3
    for fd in sorted(k for k in keep if k is not None and k >= 3):
        if fd > lo:
            os.closerange(lo, fd)
        lo = max(lo, fd + 1)
    if lo < top:
        os.closerange(lo, top)


def _report_and_exit(errw, msg, code=127):
    """Send "<code> <message>" to the parent and exit with ``code``."""
    try:
        os.write(errw, ("%d %s" % (code, msg)).encode("utf-8", "replace")[:4000])
    finally:
        os._exit(code)


def _exec(argv, env, errw, filt=None):
    try:
        seccomp.load(filt)  # last, right before execve
        os.execvpe(argv[0], argv, env)
    except OSError as e:
        if e.errno == 2:
            _report_and_exit(errw, "%s: executable file not found in $PATH" % argv[0], 127)
        _report_and_exit(errw, "cannot run %s: %s" % (argv[0], e.strerror), 126)


def _become_user(spec, user, syscalls):
    """Switch to the container's user (``user`` or ``spec["user"]``), resolved in the container's
    /etc/passwd and /etc/group; after the capabilities are cut (setresuid to a uid other than 0
    clears them), before the exec. A spec without a "user" key (a record from before users were
    recorded) stays as it is."""
    if user is None and "user" not in spec:
        return None
    who = users.resolve(spec.get("user") if user is None else user)
    who["groups"] = list(who["groups"]) + [g for g in procopts.extra_groups(spec) if g not in who["groups"]]
    users.switch(who, syscalls)
    return who["uid"]


def _wait_for_go(gor):
    if os.read(gor, 2) != b"go":
        os._exit(1)  # the monitor gave up before starting us
    os.close(gor)


def _init(spec, stdio, console, gor, errw, filt=None, syscalls=SYS):
    """Body of the container's PID 1 (runs in the new namespaces)."""
    try:
        for s in (signals.SIGINT, signals.SIGTERM, signals.SIGHUP, signals.SIGPIPE, signals.SIGCHLD):
            signals.signal(s, signals.SIG_DFL)
        early = not spec.get("sysctls")  # set up while the caller records us and adds the network
        if not early:
            _wait_for_go(gor)
        procopts.before_rootfs(spec)  # sysctls, in the container's namespaces
        setup_rootfs(spec["rootfs"], spec.get("etcFiles", {}), spec.get("volumes", []), syscalls,
                     tmpfs=spec.get("tmpfs"), read_only=spec.get("readOnly", False), shm_size=spec.get("shmSize"),
                     privileged=bool(spec.get("privileged")), devices=spec.get("devices") or ())
        syscalls.sethostname(spec["hostname"])
        syscalls.link_up("lo")
        wd = spec.get("workdir") or "/"
        if not os.path.isdir(wd):
            os.makedirs(wd, 0o755)
        os.chdir(wd)
        tty = console is not None
        if tty:
            slave = new_console(console)
            stdio = (slave, slave, slave)
        _stdio(stdio, tty)
        procopts.before_caps(spec)  # rlimits, oom_score_adj: while every capability is there
        syscalls.prctl(PR_SET_NO_NEW_PRIVS, 1)
        procopts.cut_capabilities(spec, syscalls, lambda: _become_user(spec, None, syscalls))
        if early:  # all but the exec done while the caller still works (the cgroup join, the network)
            _wait_for_go(gor)
        _exec(spec["cmd"], container_env(spec, tty), errw, filt)
    except MyDockerError as e:
        _report_and_exit(errw, str(e))
    except OSError as e:
        _report_and_exit(errw, "container init failed: %s" % e)
    except BaseException as e:  # the last line of its traceback, without traceback (no import after pivot_root)
        kind = type(e)
        name = kind.__qualname__ if kind.__module__ == "builtins" else "%s.%s" % (kind.__module__, kind.__qualname__)
        _report_and_exit(errw, "container init failed: %s: %s" % (name, e) if str(e) else
                         "container init failed: " + name)


def _read_all(fd):
    chunks = []
    while True:
        b = os.read(fd, 4096)
        if not b:
            break
        chunks.append(b)
    os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace")


class Spawned:
    """A container init created by ``spawn``, paused until ``go()``; ``joiner``: (the PID of the
    child that forked it and moves it into its cgroup, the read end of that child's report pipe,
    what was read of the report after the init's PID)."""

    def __init__(self, pid, gow, errr, joiner=None):
        self.pid = pid
        self._gow = gow
        self._errr = errr
        self._joiner = joiner

    def _joined(self):
        """Wait for the child that moves the init into its cgroup; the error it reported, or "".
        The child has exited when this returns."""
        if self._joiner is None:
            return ""
        child, pidr, got = self._joiner
        self._joiner = None
        try:
            got += _read_all(pidr).encode()
        finally:
            while True:
                try:
                    os.waitpid(child, 0)
                    break
                except InterruptedError:
                    continue
                except ChildProcessError:
                    break
        return got.decode("utf-8", "replace")

    def go(self):
        """Let the init run once it is in its cgroup; returns once the user command was exec'd,
        raises if it was not (the init is killed when the cgroup could not be joined)."""
        failed = self._joined()
        if failed:
            self.abort()
            raise report_error(failed)
        try:
            os.write(self._gow, b"go")
        except BrokenPipeError:
            pass  # the init failed while setting up: its error is on errr
        os.close(self._gow)
        self._gow = None
        errr, self._errr = self._errr, None
        _check_started(self.pid, errr)

    def abort(self):
        """Kill the paused init (a failure between spawn and go)."""
        if self._gow is not None:
            os.close(self._gow)
            self._gow = None
        try:
            os.kill(self.pid, signals.SIGKILL)
        except OSError:
            pass
        self._joined()  # the init is our child once the one that forked it is gone
        try:
            os.waitpid(self.pid, 0)
        except OSError:
            pass
        if self._errr is not None:
            os.close(self._errr)
            self._errr = None


def spawn(spec, stdio, console=None, syscalls=SYS, cgroup=None):
    """Create the container init in new UTS, PID, mount, network and IPC namespaces.

    The caller must be a child subreaper (the init is re-parented to it). ``stdio`` is a tuple
    of three fds; ``console``: a unix socket fd to send a new pty's master on (``-t``);
    ``cgroup``: what the init is moved into (``add(pid)``) while it builds its root; ``go`` waits for
    that and raises its failure.
    Returns a ``Spawned`` whose ``pid`` is the init's host PID. ``syscalls``: see syscalls.py.
    """
    # in the host's context: the rootfs has no libseccomp
    filt = seccomp.prepare(spec.get("seccomp"), cache=spec.get("seccompCache"))
    if console is not None:
        _load_console()
    gor, gow = os.pipe()
    errr, errw = os.pipe2(os.O_CLOEXEC)
    pidr, pidw = os.pipe()
    child = os.fork()
    if child == 0:
        procs = None
        try:  # opened here: the init's pivot_root will change our root too (one mount namespace)
            procs = cgroup.open_procs() if cgroup is not None else None
        except BaseException as e:
            _report_and_exit(errw, str(e) if isinstance(e, MyDockerError) else "cgroup: %s" % e, 1)
        try:
            os.close(gow)
            os.close(errr)
            os.close(pidr)
            flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID
            netns = spec.get("netns")  # net/netmode.py: "host", another container's, or a new one
            if netns and netns != "host":
                nfd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
                syscalls.setns(nfd, CLONE_NEWNET)
                os.close(nfd)
            elif not netns:
                flags |= CLONE_NEWNET
            syscalls.unshare(flags)
            init = os.fork()
            if init == 0:
                os.close(pidw)
                close_fds(set(stdio) | {gor, errw, console})
                _init(spec, stdio, console, gor, errw, filt, syscalls)
                os._exit(127)
            os.write(pidw, b"%d\n" % init)
        except BaseException as e:
            _report_and_exit(errw, "cannot create the container's namespaces: %s" % e, 1)
        try:  # while the init builds its root: the caller's go waits for our exit
            if procs is not None:
                procs.add(init)
        except BaseException as e:
            _report_and_exit(pidw, str(e) if isinstance(e, MyDockerError) else "cgroup: %s" % e, 1)
        os._exit(0)
    os.close(gor)
    os.close(errw)
    os.close(pidw)
    raw = b""
    while b"\n" not in raw:  # the init's PID; the child goes on to join the cgroup
        chunk = os.read(pidr, 4096)
        if not chunk:
            break
        raw += chunk
    line, nl, rest = raw.partition(b"\n")
    if not nl:
        os.waitpid(child, 0)
        os.close(pidr)
        os.close(gow)
        raise report_error(_read_all(errr) or "1 cannot create the container process")
    return Spawned(int(line), gow, errr, joiner=(child, pidr, rest))


def enter(pid, cgroup, spec, argv, stdio, console=None, env=None, workdir=None, syscalls=SYS, user=None):
    """Fork a process that joins the namespaces and cgroup of container PID ``pid`` and execs
    ``argv`` (with a new pty sent on ``console`` when given) as ``user`` (default: the
    container's user, ``spec["user"]``). Returns, once the command was
    exec'd, the host PID of an intermediate process whose exit status is the command's; raises
    when it could not be started.
    """
    filt = seccomp.prepare(spec.get("seccomp"), cache=spec.get("seccompCache"))
    if console is not None:
        _load_console()
    errr, errw = os.pipe2(os.O_CLOEXEC)
    child = os.fork()
    if child == 0:
        try:
            # non-dumpable until execve (which resets it): the container must not open our
            # /proc/PID/exe, the host's interpreter (CVE-2019-5736), nor ptrace or read our memory
            syscalls.prctl(PR_SET_DUMPABLE, 0)
            os.close(errr)
            cgroup.add(os.getpid())
            fds = [os.open("/proc/%d/ns/%s" % (pid, ns), os.O_RDONLY | os.O_CLOEXEC) for ns in NS_ORDER]
            for fd in fds:
                syscalls.setns(fd, 0)
                os.close(fd)
            os.chdir("/")
            inner = os.fork()  # the PID namespace applies to children only
            if inner == 0:
                wd = workdir or spec.get("workdir") or "/"
                try:
                    os.chdir(wd)
                except OSError:
                    _report_and_exit(errw, "cannot change to directory %s in the container" % wd, 126)
                tty = console is not None
                if tty:
                    slave = new_console(console)
                    stdio = (slave, slave, slave)
                _stdio(stdio, tty)
                close_fds({errw})
                procopts.before_caps(spec)  # the container's rlimits and oom_score_adj, as runc's exec
                syscalls.prctl(PR_SET_NO_NEW_PRIVS, 1)
                try:
                    procopts.cut_capabilities(spec, syscalls, lambda: _become_user(spec, user, syscalls))
                except MyDockerError as ue:
                    _report_and_exit(errw, str(ue), 126)
                e = container_env(spec, tty)
                e.update(env or {})
                _exec(argv, e, errw, filt)
            os.close(errw)
            for s in (signals.SIGINT, signals.SIGTERM, signals.SIGHUP):
                signals.signal(s, lambda signum, frame, p=inner: os.kill(p, signum))
            os._exit(wait(inner))
        except BaseException as e:
            _report_and_exit(errw, "cannot enter the container: %s" % e, 126)
    os.close(errw)
    _check_started(child, errr)
    return child


def _check_started(pid, errr):
    """Read the close-on-exec error pipe of ``pid``: empty means the command was exec'd;
    otherwise reap ``pid`` and raise what it reported."""
    err = _read_all(errr)
    if err:
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass
        raise report_error(err)


def wait(pid):
    """Wait for child ``pid``; its exit code (128+N for signal N)."""
    while True:
        try:
            return exit_code(os.waitpid(pid, 0)[1])
        except InterruptedError:
            continue


def report_error(raw):
    """The MyDockerError for a "<code> <message>" report from a child (126/127 as a shell does)."""
    code, dummy, msg = raw.partition(" ")
    try:
        return MyDockerError(msg, code=int(code))
    except ValueError:
        return MyDockerError(raw)


def exit_code(status):
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)
