# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-container monitor: the parent of the container's PID 1.

It is forked from the caller, detaches into its own session and starts the container. While the
container runs it is a small waiter: a C program (``nativewait``: ~0.1 MiB) where the host could
build it, else a lean interpreter (``python -S``, nothing imported: ~3 MiB); with a healthcheck,
the Python loop of ``logloop``. When the container exits it re-executes itself with the engine to
record the exit code
and time, apply the restart policy (start again, then wait lean again) and clean up. The engine
it resumes with is a private copy under ``<root>/.engine/<digest>/``, so the monitor keeps
working after an Ansible module's temporary files are gone.

Protocol on the notify pipe back to whoever started it: ``started <pid>`` or ``error <msg>``,
later ``exited <code>`` (read by attached runs), or ``handover <code>`` to an attached ``run --rm``
that holds the ``ATTACHED`` lock: that caller records the exit and removes the container itself.
"""

import os
import sys
import time

from . import lifecycle, logs, nativewait, signals
from .errors import MyDockerError
from .store import fast_hash, makedirs, write_atomic
from .syscalls import PR_SET_CHILD_SUBREAPER, SYS


def _write(fd, line):
    if fd is None:
        return
    try:
        os.write(fd, (line.replace("\n", " ") + "\n").encode("utf-8", "replace"))
    except OSError:
        pass


def _daemonize(keep):
    os.setsid()
    if os.fork() != 0:
        from .cgroups.base import start_grace_period
        start_grace_period()  # for the init's move into its cgroup, ~10 ms from now
        os._exit(0)
    os.chdir("/")
    os.umask(0o022)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        if fd not in keep:
            os.dup2(devnull, fd)
    os.close(devnull)
    from .process import close_fds  # imported before the fork (start_monitor)
    close_fds(keep)


def start_monitor(paths, cid, stdio=None, console=None, attached=False):
    """Fork the monitor for container ``cid`` and wait until the container runs (or failed).

    Returns (container pid, notify fd) — the fd stays open only when ``attached``; it then
    yields ``exited <code>`` when the container is done. Raises MyDockerError on failure.
    """
    engine = engine_copy(paths)
    from . import process  # noqa: F401 pylint: disable=unused-import  # in the fork: ~1 ms of faults more
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r)
            keep = {w} | set(stdio or ())
            if console is not None:
                keep.add(console)
            _daemonize(keep)
            Monitor(paths, cid, stdio, console, w, engine).run()
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    os.waitpid(pid, 0)  # the first fork exits at once
    f = os.fdopen(r, "rb", buffering=0)
    line = f.readline().decode("utf-8", "replace").strip()
    if line.startswith("started "):
        if not attached:
            f.close()
            return int(line.split()[1]), None
        return int(line.split()[1]), f
    f.close()
    if line.startswith("error "):
        from .process import report_error  # the resumed monitor never needs process.py
        raise report_error(line[len("error "):])
    raise MyDockerError("the container monitor died before the container started")


# ``rm -f`` of a running container leaves this file in the container's directory before it kills:
# the waiter that reaps PID 1 then exits at once instead of starting an engine to record an exit
# that ``rm`` is about to delete (containers.remove cleans up itself: lifecycle.finish and final,
# as for a monitor that died). logloop.py (the waiter with a healthcheck) checks the same name.
REMOVING = "removing"

# An attached ``run --rm`` holds a flock on this file in the container's directory while it waits
# (containers.start). The waiter that reaps PID 1 and finds the lock held writes ``handover
# <code>`` instead of starting an engine: the caller, whose engine is loaded, records the exit and
# removes the container (~40 ms sooner than a resumed monitor's interpreter could), and the
# waiter blocks on the lock meanwhile. Once it has the lock (the caller is done, or died), a record
# still there means the work was not done: it resumes the engine as ever. logloop.py does not
# hand over (a container with a healthcheck is finished by its monitor, as before).
ATTACHED = "attached"

# While the container runs: wait, then resume the engine with the exit code. No imports beyond
# builtins, so this interpreter stays small.
WAITER = """# mydocker monitor: waits for the container's PID 1 (argv: ROOT CID PID NOTIFY BEGAN DELAY [FD...])
import os, sys
a = sys.argv
if a[7:8] == ["--log"]:  # the output to copy to the log first (logs.RELAY)
@RELAY@pid = int(a[3])
status = None
while True:
    try:
        got, st = os.waitpid(-1, 0)
    except InterruptedError:
        continue
    except ChildProcessError:
        break
    if got == pid:
        status = st
        break
if status is None:
    code = 255
elif os.WIFSIGNALED(status):
    code = 128 + os.WTERMSIG(status)
else:
    code = os.WEXITSTATUS(status)
if os.path.exists(os.path.join(a[1], "containers", a[2], "@REMOVING@")):  # rm -f finishes it itself
    if a[4] != "-":
        try:
            os.write(int(a[4]), b"exited %d\\n" % code)
        except OSError:
            pass
    os._exit(0)
if a[4] != "-":  # an attached run --rm that still waits may finish it itself (ATTACHED)
    cdir = os.path.join(a[1], "containers", a[2])
    try:
        import fcntl
        lk = os.open(os.path.join(cdir, "@ATTACHED@"), os.O_RDONLY | os.O_CLOEXEC)
    except (ImportError, OSError):
        lk = None
    if lk is not None:
        try:
            fcntl.flock(lk, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = False
        except BlockingIOError:
            held = True
        except OSError:
            held = False
        if held:
            try:
                os.write(int(a[4]), b"handover %d\\n" % code)
                fcntl.flock(lk, fcntl.LOCK_EX)  # until the caller is done, or gone
                if not os.path.exists(os.path.join(cdir, "config.json")):
                    os._exit(0)
            except OSError:
                pass
        os.close(lk)
resume = os.path.join(os.path.dirname(os.path.abspath(a[0])), "resume.py")
os.execv(sys.executable, [sys.executable, "-I", resume, a[1], a[2], str(code)] + a[4:])
""".replace("@RELAY@", "".join("    " + ln + "\n" for ln in logs.RELAY.splitlines())).replace("@REMOVING@", REMOVING) \
    .replace("@ATTACHED@", ATTACHED)

# The same waiter in C (nativewait.py), built when the host has a C compiler: ~0.1 MiB of memory
# where the smallest Python takes ~3 MiB. Its binary sits beside wait.py in the engine copy.
NATIVE = nativewait.SOURCE.replace("@REMOVING@", REMOVING).replace("@ATTACHED@", ATTACHED)

RESUME = """# mydocker monitor: the container exited; record it, restart or clean up (argv: ROOT CID CODE ...)
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[0])))
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.monitor import resume
resume(sys.argv[1:])
"""


def _engine_sources(here=None):
    """{relative path: bytes} of the engine files the monitor needs: ``monitor.py`` and what it
    imports, directly or inside functions (``_import_closure``), read from this folder or from a
    module's zip (AnsiballZ). A module's zip holds every engine file its module imports, which
    always includes the monitor's closure, so the CLI and every module name the same copy; the
    CLI, the planners, the Ansible glue and engine files the monitor never loads are not part of
    it. ``here``: another directory to read (tests)."""
    here = here or os.path.dirname(os.path.abspath(__file__))
    out = {}
    if os.path.isdir(here):
        for d, dirs, files in os.walk(here):
            dirs[:] = sorted(x for x in dirs if x != "__pycache__")
            for n in sorted(files):
                if n.endswith(".py"):
                    full = os.path.join(d, n)
                    with open(full, "rb") as f:
                        out[os.path.relpath(full, here).replace(os.sep, "/")] = f.read()
    else:
        import zipfile
        archive = __loader__.archive  # zipimport
        prefix = os.path.relpath(here, archive).replace(os.sep, "/") + "/"
        with zipfile.ZipFile(archive) as z:
            for n in z.namelist():
                if n.startswith(prefix) and n.endswith(".py"):
                    out[n[len(prefix):]] = z.read(n)
    return _import_closure(out, "monitor.py")


_ENGINE_PKG = "ansible_collections.mydocker.runtime.plugins.module_utils.engine"


def _import_closure(sources, start):
    """The files of ``sources`` that ``start`` imports, transitively, with their packages'
    ``__init__.py``. Imports are read from the syntax tree (function bodies too), as AnsiballZ
    reads them to decide what a module's zip holds."""
    import ast

    def module_file(parts):
        for cand in ("/".join(parts) + ".py", "/".join(parts + ["__init__.py"])):
            if cand in sources:
                return cand
        return None

    keep = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in keep or name not in sources:
            continue
        keep.add(name)
        pkg = name[:-3].split("/")[:-1]  # the package the file is in (an __init__: its own)
        for i in range(len(pkg) + 1):
            init = "/".join(pkg[:i] + ["__init__.py"])
            if init in sources:
                todo.append(init)
        for node in ast.walk(ast.parse(sources[name])):
            targets = []
            if isinstance(node, ast.ImportFrom):
                mod = None
                if node.level and node.level <= len(pkg) + 1:
                    mod = pkg[:len(pkg) - node.level + 1] + (node.module.split(".") if node.module else [])
                elif not node.level and (node.module or "").startswith(_ENGINE_PKG):
                    rest = node.module[len(_ENGINE_PKG):].lstrip(".")
                    mod = rest.split(".") if rest else []
                if mod is not None:
                    targets = [mod] + [mod + [a.name] for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name[len(_ENGINE_PKG) + 1:].split(".") for a in node.names
                           if a.name.startswith(_ENGINE_PKG + ".")]
            todo.extend(f for f in (module_file(t) for t in targets if t) if f is not None)
    return {n: sources[n] for n in sorted(keep)}


def engine_digest(sources):
    """The name of the copy: a digest of the waiter, the resume script and ``sources``."""
    h = fast_hash("sha256", WAITER.encode() + RESUME.encode())
    for n in sorted(sources):
        h.update(n.encode() + b"\0" + sources[n] + b"\0")
    return h.hexdigest()[:16]


_COPY = None
KEYS = ".by-source"  # under <root>/.engine: {key of the sources as they are on disk} -> digest


def source_key(here=None):
    """A cheap name for the engine files as they are now, without reading them: the name, size and
    mtime of every ``.py`` (as Python's own bytecode cache trusts), or, in a module's zip, each
    member's name, size and CRC from the zip's directory. Same files, same key; the key maps to
    the digest of the copy (:func:`current_digest`), so a start parses no source: reading and
    walking the syntax tree of ~40 files took ~150 ms of every ``run``."""
    here = here or os.path.dirname(os.path.abspath(__file__))
    h = fast_hash("sha256", WAITER.encode() + RESUME.encode())
    if os.path.isdir(here):
        parts = []
        todo = [("", here)]  # one scandir per directory, a stat per .py (os.walk: twice the time)
        while todo:
            rel, d = todo.pop()
            with os.scandir(d) as it:
                for e in sorted(it, key=lambda e: e.name):
                    if e.name.endswith(".py"):
                        st = e.stat()
                        parts.append("%s/%s\0%d\0%d\0" % (rel, e.name, st.st_size, st.st_mtime_ns))
                    elif e.name != "__pycache__" and e.is_dir(follow_symlinks=False):
                        todo.append((rel + "/" + e.name if rel else e.name, e.path))
        h.update("".join(parts).encode())
    else:
        import zipfile
        archive = __loader__.archive  # zipimport
        prefix = os.path.relpath(here, archive).replace(os.sep, "/") + "/"
        with zipfile.ZipFile(archive) as z:
            for i in sorted(z.infolist(), key=lambda i: i.filename):
                if i.filename.startswith(prefix) and i.filename.endswith(".py"):
                    h.update(("%s\0%d\0%d\0" % (i.filename[len(prefix):], i.file_size, i.CRC)).encode())
    return h.hexdigest()[:32]


_PINNED_KEY = None  # pin_source_key(): the key of the sources, for a process that watches them itself


def pin_source_key():
    """Compute :func:`source_key` once for the rest of this process (~1 ms of every start): for a
    long-lived process that stops when its sources change (``mydocker system service``)."""
    global _PINNED_KEY
    _PINNED_KEY = source_key()


def _key():
    return _PINNED_KEY or source_key()


def _sources_and_digest():
    global _COPY
    if _COPY is None:
        sources = _engine_sources()
        _COPY = (engine_digest(sources), sources)
    return _COPY


def _remembered(base, key):
    """The digest remembered for ``key`` when its copy is there, else None."""
    try:
        with open(os.path.join(base, KEYS, key)) as f:
            digest = f.read().strip()
    except OSError:
        return None
    return digest if len(digest) == 16 and os.path.isdir(os.path.join(base, digest)) else None


def current_digest(paths):
    """The digest of this engine's copy (reads only: the remembered one, else computed)."""
    base = os.path.join(paths.root, ".engine")
    return _remembered(base, _key()) or _sources_and_digest()[0]


def forget_keys(paths):
    """Drop the remembered keys whose copy is gone (after a prune)."""
    d = os.path.join(paths.root, ".engine", KEYS)
    try:
        names = os.listdir(d)
    except OSError:
        return
    for n in names:
        if _remembered(os.path.dirname(d), n) is None:
            try:
                os.unlink(os.path.join(d, n))
            except OSError:
                pass


def engine_copy(paths):
    """A private copy of the engine package under the state root for monitors to resume with."""
    base = os.path.join(paths.root, ".engine")
    key = _key()
    digest = _remembered(base, key)
    if digest is not None:
        return os.path.join(base, digest)
    digest, sources = _sources_and_digest()
    dest = os.path.join(base, digest)
    if not os.path.isdir(dest):
        _write_copy(base, dest, sources)
    write_atomic(os.path.join(base, KEYS, key), digest + "\n", 0o600)
    return dest


def _write_copy(base, dest, sources):
    import tempfile  # a new copy only
    makedirs(base, 0o700)
    tmp = tempfile.mkdtemp(prefix=".tmp-", dir=base)
    try:
        pkg = os.path.join(tmp, "ansible_collections", "mydocker", "runtime", "plugins", "module_utils",
                           "engine")
        for n, data in sources.items():
            target = os.path.join(pkg, *n.split("/"))
            makedirs(os.path.dirname(target))
            with open(target, "wb") as f:
                f.write(data)
        for n, data in (("wait.py", WAITER), ("resume.py", RESUME)):
            with open(os.path.join(tmp, n), "w") as f:
                f.write(data)
        nativewait.install(NATIVE, os.path.join(tmp, nativewait.NAME))  # none: the Python waiter
        try:
            os.rename(tmp, dest)
        except OSError:
            if not os.path.isdir(dest):  # not a concurrent twin: a real failure
                raise
    finally:
        if os.path.isdir(tmp):
            import shutil  # a failed copy only (shutil loads bz2 and lzma)
            shutil.rmtree(tmp, ignore_errors=True)


def resume(argv):
    """Entry point of the re-executed monitor: ROOT CID CODE NOTIFY BEGAN DELAY [STDIO...]."""
    from .store import Paths
    root, cid, code, notify, began, delay = argv[:6]
    stdio = tuple(int(x) for x in argv[6:]) or None
    engine = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), *[".."] * 6))
    m = Monitor(Paths(root), cid, stdio, None, None if notify == "-" else int(notify), engine)
    try:
        m.after(int(code), float(began), float(delay))
    finally:
        os._exit(0)


FIRST_DELAY = 0.1   # seconds before the first restart
MAX_DELAY = 10.0    # the back-off doubles up to this
RESET_AFTER = 10.0  # a run longer than this starts the back-off again


def backoff(ran_for, delay):
    """Restart back-off: (seconds to wait before this restart, the delay for the one after),
    given how long the container ran and the delay it was started with."""
    if ran_for > RESET_AFTER:
        delay = FIRST_DELAY
    return delay, min(delay * 2, MAX_DELAY)


class Monitor:
    def __init__(self, paths, cid, stdio, console, notify, engine):
        self.paths = paths
        self.cid = cid
        self.stdio = stdio
        self.console = console
        self.notify = notify
        self.engine = engine
        self._log_fd = None
        self._null_fd = None

    def _stdio(self):
        if self.stdio:
            return self.stdio
        if self._log_fd is None:
            self._log_fd = logs.open_fifo(self.paths, self.cid)  # copied to the log by our lean loop
            self._null_fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        return (self._null_fd, self._log_fd, self._log_fd)

    def run(self):
        """First start (in the forked monitor)."""
        SYS.prctl(PR_SET_CHILD_SUBREAPER, 1)  # kept across execve
        for s in (signals.SIGINT, signals.SIGHUP, signals.SIGPIPE, signals.SIGTERM):
            signals.signal(s, signals.SIG_IGN)  # SIG_IGN is kept across execve too
        self.start(first=True, delay=FIRST_DELAY)

    def start(self, first, delay):
        """Launch the container, then become the lean waiter. Returns only on failure."""
        try:
            # a terminal goes to the first start only; restarts write to the log
            console, self.console = self.console, None
            if first:  # named in the record before anything is touched (see lifecycle.busy)
                lifecycle.register_monitor(self.paths, self.cid, os.getpid())
            pid = lifecycle.launch(self.paths, self.cid, self._stdio(), os.getpid(), console)
            if console is not None:
                os.close(console)
        except Exception as e:
            msg = str(e) if isinstance(e, MyDockerError) else "cannot start the container: %r" % (e,)
            if first:
                _write(self.notify, "error %d %s" % (getattr(e, "code", 1) or 1, msg))
                return
            lifecycle.finish(self.paths, self.cid, 127, msg)
            self.done()
            return
        if first:
            _write(self.notify, "started %d" % pid)
        keep = [fd for fd in (self.notify,) + tuple(self.stdio or ()) if fd is not None]
        for fd in keep:
            os.set_inheritable(fd, True)
        args = [self.paths.root, self.cid, str(pid),
                "-" if self.notify is None else str(self.notify), repr(time.time()), repr(delay)]
        kind, extra = logs.waiter_args(self.paths, self.cid, relay=not self.stdio, keep_fd=self._log_fd)
        args += extra + [str(fd) for fd in self.stdio or ()]
        if kind == "loop":  # a healthcheck to run as well: logloop.py
            logs.precompile(self.engine)
            os.execv(sys.executable, [sys.executable, "-S", "-E", "-s", "-c", logs.LOOP_CMD, self.engine] + args)
        native = os.path.join(self.engine, nativewait.NAME)
        if nativewait.enabled() and os.access(native, os.X_OK):
            try:
                os.execv(native, [native, sys.executable, os.path.join(self.engine, "resume.py")] + args)
            except OSError:  # a noexec state root, a binary for another host: the Python waiter
                pass
        os.execv(sys.executable, [sys.executable, "-S", "-E", "-s", os.path.join(self.engine, "wait.py")] + args)

    def after(self, code, began, delay):
        """The container exited with ``code``: record it, restart or finish."""
        delay, later = backoff(time.time() - began, delay)
        if lifecycle.after_exit(self.paths, self.cid, code):
            # restart: back off, but stop promptly if asked to
            deadline = time.time() + delay
            while time.time() < deadline and not lifecycle.stop_requested(self.paths, self.cid):
                time.sleep(0.05)
            if not lifecycle.stop_requested(self.paths, self.cid):
                self.start(first=False, delay=later)
                return
            lifecycle.finish(self.paths, self.cid, code, None)
        self.done()

    def done(self):
        rec = lifecycle.final(self.paths, self.cid)
        code = rec.get("exitCode", 255) if rec else 255
        _write(self.notify, "exited %d" % code)
