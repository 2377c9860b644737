# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The client side of ``mydocker system service``: bin/mydocker hands a command to the state root's
service, when one runs, instead of loading the command line itself.

This file is loaded by bin/mydocker before anything else (by its path, as a top-level module), so it
imports only built-in modules: ``_socket`` and ``_signal``, not ``socket`` and ``signal`` (their enums
cost ~6 ms). The service (``service.py`` beside it) imports it as a module of this package for the
wire format and :func:`context`, which both sides compute the same way.

A command is handed over only when the service would run it exactly as this process would: the
same namespaces, credentials, capabilities, seccomp and resource limits (:func:`context`), a state
root the service serves, a command in :data:`SERVED` and no terminal to attach. In every other case,
and when no service answers, :func:`run` returns None and bin/mydocker runs the command itself."""

import os
import sys

try:
    import _signal
    import _socket
except ImportError:  # pragma: no cover - a Python without them runs every command itself
    _socket = None

SOCKET = "service.sock"     # in the state root, mode 0600
VERSION = b"mydocker-service-1"

# the commands a service runs; the others (exec, attach-like start, build, pull, push, login, save,
# load, prune, system, help) always run in the calling process
SERVED = frozenset(("run", "ps", "stop", "restart", "start", "rm", "inspect", "port", "images", "rmi",
                    "tag", "network", "volume", "logs"))
# their options that attach a terminal or stdin: such a command runs in the calling process
INTERACTIVE_LONG = frozenset(("--interactive", "--tty", "--attach"))
INTERACTIVE_SHORT = frozenset("ita")
ATTACHING = frozenset(("run", "start"))
FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH")
_forwarded = []  # the signals passed on so far
# the lines of /proc/self/status that decide what a command may do
STATUS_KEYS = (b"Uid:", b"Gid:", b"Groups:", b"NoNewPrivs:", b"Seccomp:", b"CapInh:", b"CapPrm:",
               b"CapEff:", b"CapBnd:", b"CapAmb:")
NAMESPACES = ("mnt", "net", "pid", "ipc", "uts", "user", "cgroup")


def _read(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 65536)
    finally:
        os.close(fd)


def context():
    """What a command's effects depend on besides its arguments, environment and directory: the
    namespaces, the credentials, capabilities and seccomp mode, and the resource limits."""
    parts = []
    for ns in NAMESPACES:
        try:
            parts.append(os.readlink("/proc/self/ns/" + ns).encode())
        except OSError:
            parts.append(b"-")
    parts.extend(line for line in _read("/proc/self/status").splitlines() if line.startswith(STATUS_KEYS))
    parts.append(_read("/proc/self/limits"))
    parts.append(b"%o" % _umask())
    return b"\n".join(parts)


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def split_command(argv):
    """(state root or None, index of the command word or None) as the command line finds them:
    only ``--root DIR`` / ``--root=DIR`` may come before the command."""
    root, i = None, 0
    while i < len(argv):
        a = argv[i]
        if a == "--root" and i + 1 < len(argv):
            root, i = argv[i + 1], i + 2
        elif a.startswith("--root="):
            root, i = a[7:], i + 1
        elif a.startswith("-"):
            return root, None
        else:
            return root, i
    return root, None


def servable(argv):
    """The state root a service would run ``argv`` in, or None when this process must run it."""
    root, i = split_command(argv)
    if i is None or argv[i] not in SERVED or "--help" in argv or "-h" in argv:
        return None
    if argv[i] in ATTACHING:
        for a in argv[i + 1:]:
            if a in INTERACTIVE_LONG or a.startswith(tuple(o + "=" for o in INTERACTIVE_LONG)):
                return None
            if a[:1] == "-" and a[1:2] != "-" and INTERACTIVE_SHORT.intersection(a[1:]):
                return None  # -i, -t, -it, -a... (or a container's own -t: it only costs the hand-over)
    root = root or os.environ.get("MYDOCKER_ROOT") or "/var/lib/mydocker"
    return os.path.abspath(root)


def encode(argv, cwd, ctx, env):
    """The request: NUL-separated fields, preceded by their length in ten digits."""
    fields = [VERSION, cwd.encode("utf-8", "surrogateescape"), ctx, b"%d" % len(argv)]
    fields += [a.encode("utf-8", "surrogateescape") for a in argv]
    fields += [k.encode("utf-8", "surrogateescape") + b"=" + v.encode("utf-8", "surrogateescape")
               for k, v in env.items()]
    body = b"\0".join(fields)
    return b"%010d" % len(body) + body


def decode(data):
    """(argv, cwd, context, env) from :func:`encode`'s body (without the length)."""
    fields = data.split(b"\0")
    if fields[0] != VERSION:
        raise ValueError("not a %s request" % VERSION.decode())
    cwd, ctx, argc = fields[1].decode("utf-8", "surrogateescape"), fields[2], int(fields[3])
    argv = [f.decode("utf-8", "surrogateescape") for f in fields[4:4 + argc]]
    env = {}
    for f in fields[4 + argc:]:
        k, _sep, v = f.decode("utf-8", "surrogateescape").partition("=")
        env[k] = v
    return argv, cwd, ctx, env


def _lines(sock):
    buf = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            if buf:
                yield buf
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield line


def run(argv):
    """Run ``argv`` (without the program name) through the state root's service: its exit status,
    or None when this process must run it (no service, or one that declines)."""
    if _socket is None or os.environ.get("MYDOCKER_SERVICE") == "0":
        return None
    root = servable(argv)
    if root is None:
        return None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    worker = None
    try:
        try:
            sock.connect(os.path.join(root, SOCKET))
        except OSError:
            return None  # no service (or a dead one's socket): the command runs here
        fds = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in (0, 1, 2))
        try:
            data = encode(argv, os.getcwd(), context(), os.environ)
            sent = sock.sendmsg([data], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
            if sent < len(data):
                sock.sendall(data[sent:])
        except OSError:
            return None  # a closed standard stream, no working directory, a service going away: run here
        for line in _lines(sock):
            kind, rest = line[:1], line[1:]
            if kind == b"F":
                return None  # declined (another context, code changed since it started)
            if kind == b"P":
                worker = int(rest)
                _forward_signals(worker)
            elif kind == b"X":
                return int(rest)
        if worker is None:
            return None  # it went away before taking the command: nothing ran
        if _forwarded:  # killed by what this process was sent: end the way it would have
            sig = _forwarded[-1]
            _signal.signal(sig, _signal.SIG_DFL)
            os.kill(os.getpid(), sig)
            return 128 + sig
        sys.stderr.write("mydocker: the service's process for this command (%d) ended without an exit status\n"
                         % worker)
        return 125
    except OSError as e:
        if worker is None:
            return None  # nothing ran yet: the command runs here
        sys.stderr.write("mydocker: talking to the service at %s: %s\n" % (os.path.join(root, SOCKET), e))
        return 125
    finally:
        sock.close()


def _forward_signals(pid):
    """The signals this process gets (Ctrl-C, kill, a terminal's hang-up...) go to the process
    running the command, which handles them as this process would have."""
    def forward(signum, frame):
        _forwarded.append(signum)
        try:
            os.kill(pid, signum)
        except OSError:
            pass
    for name in FORWARDED:
        num = getattr(_signal, name, None)
        if num is not None:
            _signal.signal(num, forward)
