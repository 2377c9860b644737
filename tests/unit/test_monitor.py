"""engine/monitor.py without containers: the private engine copy, the lean waiter and the
resume hand-over, the notify protocol and the restart back-off.

The lifecycle functions the monitor calls are replaced by recorders; the waiter runs for real
(as a small child of a throwaway helper) against a stand-in resume.py.
"""
import ast
import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import lifecycle
from ansible_collections.mydocker.runtime.plugins.module_utils.engine import monitor as M
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import Paths
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.syscalls import (
    PR_SET_CHILD_SUBREAPER,
    LinuxSyscalls,
)

ENGINE = os.path.dirname(os.path.abspath(M.__file__))
PKG = ("ansible_collections", "mydocker", "runtime", "plugins", "module_utils", "engine")


def _engine_py_files():
    out = set()
    for d, dirs, files in os.walk(ENGINE):
        dirs[:] = [x for x in dirs if x != "__pycache__"]
        out |= {os.path.relpath(os.path.join(d, f), ENGINE) for f in files if f.endswith(".py")}
    return out


# what the monitor loads (and so its copy holds), and engine files it never loads
MONITOR_NEEDS = {"__init__.py", "monitor.py", "lifecycle.py", "process.py", "rootfs.py", "syscalls.py",
                 "seccomp.py", "seccomp_profile.py", "records.py", "store.py", "errors.py",
                 "cgroups/__init__.py", "cgroups/base.py", "cgroups/v1.py", "cgroups/v2.py",
                 "net/__init__.py", "net/attach.py", "net/ports.py", "net/netlink.py", "net/ipam.py"}
MONITOR_NEVER = {"containers.py", "images.py", "system.py", "copy.py"}


def _copy_files():
    """The engine files the copy holds: what the monitor imports, transitively."""
    return set(M._engine_sources())


def _tree(top):
    return {os.path.relpath(os.path.join(d, f), top) for d, dirs, files in os.walk(top) for f in files}


@pytest.fixture
def fresh_copy(monkeypatch):
    monkeypatch.setattr(M, "_COPY", None)


# ------------------------------------------------------------------ the engine copy

def test_engine_sources_are_what_the_monitor_imports():
    sources = M._engine_sources()
    assert MONITOR_NEEDS <= set(sources) <= _engine_py_files()
    assert not MONITOR_NEVER & set(sources)
    assert not [n for n in sources if n.startswith(("..", "/")) or "__pycache__" in n or not n.endswith(".py")]
    for n, data in sources.items():
        with open(os.path.join(ENGINE, n), "rb") as f:
            assert f.read() == data, n


def test_engine_sources_take_python_files_only(tmp_path):
    top = tmp_path / "engine"
    for n, text in (("a.py", "A"), ("notes.txt", "x"), ("__pycache__/a.cpython-311.pyc", "c"),
                    ("__pycache__/z.py", "z"), ("net/b.py", "B"), ("net/b.pyc", "c"), ("net/README", "r")):
        (top / n).parent.mkdir(parents=True, exist_ok=True)
        (top / n).write_text(text)
    (top / "monitor.py").write_text("from . import a\nfrom .net import b\n")
    assert M._engine_sources(str(top)) == {"a.py": b"A", "monitor.py": b"from . import a\nfrom .net import b\n",
                                           "net/b.py": b"B"}


def test_import_closure_follows_every_spelling():
    src = {"__init__.py": b"", "monitor.py": b"import os\nfrom . import a, b as bee\nfrom .c import x\n"
                                             b"def f():\n    from .net import d\n",
           "a.py": b"from .errors import E\n", "b.py": b"", "c.py": b"x = 1\n", "errors.py": b"E = 1\n",
           "net/__init__.py": b"", "net/d.py": b"from .. import e\nfrom . import g\n", "e.py": b"",
           "net/g.py": b"from ansible_collections.mydocker.runtime.plugins.module_utils.engine import h\n",
           "h.py": b"", "unused.py": b"from . import a\n", "net/unused.py": b""}
    got = M._import_closure(src, "monitor.py")
    assert set(got) == set(src) - {"unused.py", "net/unused.py"}


def test_engine_copy_layout_and_digest(tmp_path, fresh_copy):
    paths = Paths(str(tmp_path / "state"))
    dest = M.engine_copy(paths)
    digest = M.engine_digest(M._engine_sources())
    assert dest == os.path.join(paths.root, ".engine", digest) and len(digest) == 16
    want = {"wait.py", "resume.py"} | {os.path.join(*PKG, n) for n in _copy_files()}
    if shutil.which("cc") or shutil.which("gcc"):  # and the native waiter beside wait.py (nativewait)
        want.add("wait")
        assert os.access(os.path.join(dest, "wait"), os.X_OK)
    assert _tree(dest) == want
    # no temporary directory left; beside the copy, the name of these sources remembered
    assert sorted(os.listdir(os.path.join(paths.root, ".engine"))) == [M.KEYS, digest]
    assert os.listdir(os.path.join(paths.root, ".engine", M.KEYS)) == [M.source_key()]
    with open(os.path.join(dest, "wait.py")) as f:
        assert f.read() == M.WAITER
    with open(os.path.join(dest, "resume.py")) as f:
        assert f.read() == M.RESUME
    with open(os.path.join(dest, *PKG, "net", "ipam.py"), "rb") as f, \
            open(os.path.join(ENGINE, "net", "ipam.py"), "rb") as g:
        assert f.read() == g.read()
    # computed again from scratch: the same digest, the same directory, nothing rewritten
    stamp = os.stat(os.path.join(dest, "wait.py")).st_mtime_ns
    M._COPY = None
    assert M.engine_copy(paths) == dest
    assert M.engine_digest(M._engine_sources()) == digest
    assert os.stat(os.path.join(dest, "wait.py")).st_mtime_ns == stamp


def test_engine_digest_follows_every_source(fresh_copy):
    sources = M._engine_sources()
    base = M.engine_digest(sources)
    assert M.engine_digest(dict(sources)) == base
    assert M.engine_digest(dict(sources, **{"syscalls.py": sources["syscalls.py"] + b"#"})) != base
    assert M.engine_digest(dict(sources, **{"extra.py": b""})) != base
    less = dict(sources)
    del less["net/ipam.py"]
    assert M.engine_digest(less) != base
    # an engine file the monitor never loads changes nothing
    assert "images.py" not in sources


def test_a_known_key_reads_no_source(tmp_path, fresh_copy, monkeypatch):
    """The second start (any process) finds the copy by the sources' key: no file is read or
    parsed (that cost ~150 ms of every run)."""
    paths = Paths(str(tmp_path / "state"))
    dest = M.engine_copy(paths)
    M._COPY = None

    def no_reading(*a, **k):
        raise AssertionError("sources read although the key is known")
    monkeypatch.setattr(M, "_engine_sources", no_reading)
    assert M.engine_copy(paths) == dest
    assert M.current_digest(paths) == os.path.basename(dest)


def test_the_key_follows_every_file_and_a_stale_key_is_redone(tmp_path, fresh_copy):
    top = tmp_path / "engine"
    (top / "net").mkdir(parents=True)
    (top / "monitor.py").write_text("from . import a\n")
    (top / "a.py").write_text("A = 1\n")
    (top / "net" / "b.py").write_text("B = 1\n")
    (top / "notes.txt").write_text("x")
    key = M.source_key(str(top))
    assert M.source_key(str(top)) == key
    (top / "notes.txt").write_text("changed")  # not a source
    assert M.source_key(str(top)) == key
    (top / "net" / "b.py").write_text("B = 22\n")  # a file the monitor never imports counts too
    assert M.source_key(str(top)) != key
    key = M.source_key(str(top))
    st = os.stat(top / "a.py")
    os.utime(top / "a.py", ns=(st.st_atime_ns, st.st_mtime_ns + 1000))  # same size, touched
    assert M.source_key(str(top)) != key
    # a remembered key whose copy is gone (pruned) is not trusted: the copy is made again
    paths = Paths(str(tmp_path / "state"))
    dest = M.engine_copy(paths)
    shutil.rmtree(dest)
    M._COPY = None
    assert M.engine_copy(paths) == dest and os.path.isfile(os.path.join(dest, "wait.py"))


def test_prune_keeps_the_keys_and_drops_the_stale_ones(tmp_path, fresh_copy):
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine import prune as P
    paths = Paths(str(tmp_path / "state"))
    dest = M.engine_copy(paths)
    base = os.path.join(paths.root, ".engine")
    os.makedirs(os.path.join(base, "0123456789abcdef"))  # an older version's copy
    with open(os.path.join(base, M.KEYS, "oldkey"), "w") as f:
        f.write("0123456789abcdef\n")
    assert P.unused_engine_copies(paths, os.path.basename(dest)) == ["0123456789abcdef"]
    assert P._prune_engines(paths) == ["engine copy .engine/0123456789abcdef"]
    assert sorted(os.listdir(base)) == [M.KEYS, os.path.basename(dest)]
    assert os.listdir(os.path.join(base, M.KEYS)) == [M.source_key()]


@pytest.mark.parametrize("zipped", ["all", "closure"])
def test_sources_from_a_module_zip_match_the_directory(tmp_path, zipped):
    """AnsiballZ runs the module from a zip holding only the files its module imports: the copy
    must be the same as from the tree, whether the zip has every engine file or just the
    monitor's closure (a module that imports nothing more)."""
    zpath = str(tmp_path / "ansiballz.zip")
    with zipfile.ZipFile(zpath, "w") as z:
        for n in _engine_py_files() if zipped == "all" else _copy_files():
            z.write(os.path.join(ENGINE, n), "/".join(PKG + (n,)))
        for i in range(1, len(PKG)):  # AnsiballZ writes an __init__.py for each package level
            z.writestr("/".join(PKG[:i] + ("__init__.py",)), "")
        z.writestr("ansible_collections/mydocker/runtime/plugins/module_utils/cli/__init__.py", "")
        z.writestr("ansible_collections/mydocker/runtime/plugins/module_utils/cli/main.py", "x = 1\n")
    code = ("import json, sys; sys.path.insert(0, %r)\n"
            "from ansible_collections.mydocker.runtime.plugins.module_utils.engine import monitor as M\n"
            "assert M.__file__.startswith(%r), M.__file__\n"
            "s = M._engine_sources()\n"
            "print(json.dumps([sorted(s), M.engine_digest(s), M.source_key(), M.source_key()]))\n") % (zpath, zpath)
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=str(tmp_path), check=False)
    assert out.returncode == 0, out.stderr
    names, digest, key, again = json.loads(out.stdout)
    assert key == again and len(key) == 32 and key != M.source_key()  # from the zip's directory
    assert names == sorted(_copy_files())
    assert digest == M.engine_digest(M._engine_sources())


def test_the_copy_imports_on_its_own(tmp_path, fresh_copy):
    """Every engine module imports from the copy alone: nothing of planning, cli or Ansible."""
    dest = M.engine_copy(Paths(str(tmp_path / "state")))
    mods = sorted(".".join(PKG + tuple(n[:-3].split("/"))).replace(".__init__", "") for n in _copy_files())
    code = ("import importlib, json, sys; sys.path.insert(0, %r)\n"
            "files = [importlib.import_module(m).__file__ for m in %r]\n"
            "bad = [m for m in sys.modules if m.startswith('ansible') and not m.startswith(%r)]\n"
            "print(json.dumps([files, bad]))\n") % (dest, mods, ".".join(PKG))
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=str(tmp_path), check=False)
    assert out.returncode == 0, out.stderr
    files, bad = json.loads(out.stdout)
    assert all(f.startswith(dest + "/") for f in files), files
    assert [m for m in bad if m not in ("ansible_collections", "ansible_collections.mydocker",
                                        "ansible_collections.mydocker.runtime",
                                        "ansible_collections.mydocker.runtime.plugins",
                                        "ansible_collections.mydocker.runtime.plugins.module_utils")] == []


# ----------------------------------------------------------------- waiter and resume

def test_waiter_imports_nothing_but_os_and_sys():
    """While it waits: fcntl only once PID 1 is gone (the handover to an attached run --rm)."""
    tree = ast.parse(M.WAITER)
    imported = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update((a.name, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported[node.module] = node.lineno
    assert set(imported) == {"os", "sys", "fcntl"}
    reaped = next(n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "waitpid")
    assert imported["fcntl"] > reaped


FAKE_RESUME = """import json, os, sys
with open(os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), "resumed.json"), "w") as f:
    json.dump({"argv": sys.argv[1:], "flags": [sys.flags.isolated, sys.flags.no_site]}, f)
"""


def _run_waiter(tmp_path, child_body, not_a_child=False):
    """Fork a helper that forks the 'container' (``child_body``) and execs the real waiter on it,
    as the monitor does. Returns what the stand-in resume.py received."""
    (tmp_path / "wait.py").write_text(M.WAITER)
    (tmp_path / "resume.py").write_text(FAKE_RESUME)
    helper = os.fork()
    if helper == 0:
        try:
            os.setpgid(0, 0)
            pid = os.fork()
            if pid == 0:
                try:
                    child_body()
                finally:
                    os._exit(0)
            target = pid
            if not_a_child:
                os.waitpid(pid, 0)  # reaped here: the waiter finds no child of that PID
            os.execv(sys.executable, [sys.executable, "-S", "-E", "-s", str(tmp_path / "wait.py"), "/state/root",
                                      "cid123", str(target), "9", "1700000000.5", "0.4", "0", "1", "1"])
        finally:
            os._exit(99)
    status = os.waitpid(helper, 0)[1]
    assert os.waitstatus_to_exitcode(status) == 0
    with open(tmp_path / "resumed.json") as f:
        return json.load(f)


@pytest.mark.parametrize("body,code", [
    (lambda: os._exit(7), "7"),
    (lambda: os._exit(0), "0"),
    (lambda: os.kill(os.getpid(), signal.SIGKILL), "137"),
])
def test_waiter_resumes_with_the_exit_code(tmp_path, body, code):
    got = _run_waiter(tmp_path, body)
    assert got["argv"] == ["/state/root", "cid123", code, "9", "1700000000.5", "0.4", "0", "1", "1"]
    assert got["flags"][0] == 1  # resume runs isolated (-I): no PYTHONPATH, no cwd on sys.path


def test_waiter_with_no_such_child_resumes_with_255(tmp_path):
    got = _run_waiter(tmp_path, lambda: os._exit(3), not_a_child=True)
    assert got["argv"][:3] == ["/state/root", "cid123", "255"]


def test_resume_script_runs_the_copy_of_the_engine():
    tree = ast.parse(M.RESUME)
    src = M.RESUME
    assert "sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[0])))" in src
    [imp] = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert (imp.module, [a.name for a in imp.names]) == (".".join(PKG) + ".monitor", ["resume"])
    assert src.strip().endswith("resume(sys.argv[1:])")


# ------------------------------------------------------------- restart decisions

@pytest.mark.parametrize("ran_for,delay,want", [
    (0.5, 0.1, (0.1, 0.2)),
    (3.0, 0.2, (0.2, 0.4)),
    (1.0, 6.4, (6.4, 10.0)),
    (1.0, 10.0, (10.0, 10.0)),
    (10.5, 6.4, (0.1, 0.2)),   # a long run starts the back-off again
    (10.0, 6.4, (6.4, 10.0)),  # ... only when longer than 10 s
])
def test_backoff(ran_for, delay, want):
    assert M.backoff(ran_for, delay) == pytest.approx(want)


class _Life:
    """Recorders for the lifecycle functions the monitor calls."""

    def __init__(self, monkeypatch, restart=False, stop_after=None, exit_code=5):
        self.log = []
        self.restart = restart
        self.stop_after = stop_after  # stop_requested turns True after this many polls
        self.polls = 0
        self.exit_code = exit_code
        monkeypatch.setattr(lifecycle, "after_exit", self.after_exit)
        monkeypatch.setattr(lifecycle, "stop_requested", self.stop_requested)
        monkeypatch.setattr(lifecycle, "finish", self.finish)
        monkeypatch.setattr(lifecycle, "final", self.final)
        monkeypatch.setattr(lifecycle, "launch", self.launch)
        monkeypatch.setattr(lifecycle, "register_monitor", self.register_monitor)
        self.launch_result = 4242
        self.registered = []  # (cid, monitor pid) named in the record before the launch

    def after_exit(self, paths, cid, code):
        self.log.append(("after_exit", cid, code))
        return self.restart

    def stop_requested(self, paths, cid):
        self.polls += 1
        return self.stop_after is not None and self.polls > self.stop_after

    def finish(self, paths, cid, code, error):
        self.log.append(("finish", cid, code, error))

    def final(self, paths, cid):
        self.log.append(("final", cid))
        return {"exitCode": self.exit_code}

    def register_monitor(self, paths, cid, pid):
        assert not self.log, "the monitor names itself before it launches anything"
        self.registered.append((cid, pid))

    def launch(self, paths, cid, stdio, monitor_pid, console=None):
        self.log.append(("launch", cid, stdio, monitor_pid, console))
        if isinstance(self.launch_result, Exception):
            raise self.launch_result
        return self.launch_result


def _monitor(tmp_path, notify=True, stdio=(0, 1, 2)):
    r = w = None
    if notify:
        r, w = os.pipe()
    m = M.Monitor(Paths(str(tmp_path / "state")), "cid1", stdio, None, w, str(tmp_path / "engine"))
    return m, r, w


def _read(r, w):
    os.close(w)
    with os.fdopen(r, "rb") as f:
        return f.read().decode()


def test_after_without_restart_finishes_and_reports_the_code(tmp_path, monkeypatch):
    life = _Life(monkeypatch, restart=False, exit_code=3)
    m, r, w = _monitor(tmp_path)
    monkeypatch.setattr(M.Monitor, "start", lambda self, first, delay: life.log.append(("start", first, delay)))
    m.after(3, began=0.0, delay=0.4)
    assert life.log == [("after_exit", "cid1", 3), ("final", "cid1")]
    assert _read(r, w) == "exited 3\n"


def test_after_with_restart_backs_off_then_starts_again(tmp_path, monkeypatch):
    import time
    life = _Life(monkeypatch, restart=True)
    m, r, w = _monitor(tmp_path)
    monkeypatch.setattr(M.Monitor, "start", lambda self, first, delay: life.log.append(("start", first, delay)))
    t0 = time.time()
    m.after(1, began=t0 - 1, delay=0.2)
    took = time.time() - t0
    assert life.log == [("after_exit", "cid1", 1), ("start", False, pytest.approx(0.4))]
    assert 0.18 <= took < 2.0  # waited the back-off
    assert life.polls >= 2
    assert _read(r, w) == ""  # nothing to say until the container is done for good


def test_after_with_restart_but_a_stop_request_finishes(tmp_path, monkeypatch):
    life = _Life(monkeypatch, restart=True, stop_after=1, exit_code=1)
    m, r, w = _monitor(tmp_path)
    monkeypatch.setattr(M.Monitor, "start", lambda self, first, delay: life.log.append(("start", first, delay)))
    m.after(1, began=0.0, delay=5.0)  # ran long ago: the back-off restarts at 0.1 s
    assert life.log == [("after_exit", "cid1", 1), ("finish", "cid1", 1, None), ("final", "cid1")]
    assert _read(r, w) == "exited 1\n"


def test_first_start_failure_is_reported_on_the_notify_pipe(tmp_path, monkeypatch):
    life = _Life(monkeypatch)
    life.launch_result = MyDockerError("no such image", code=125)
    m, r, w = _monitor(tmp_path)
    m.start(first=True, delay=0.1)
    assert [e[0] for e in life.log] == ["launch"]  # nothing recorded: the caller reports it
    assert _read(r, w) == "error 125 no such image\n"


def test_restart_failure_is_recorded(tmp_path, monkeypatch):
    life = _Life(monkeypatch, exit_code=127)
    life.launch_result = RuntimeError("boom\nsecond line")
    m, r, w = _monitor(tmp_path)
    m.start(first=False, delay=0.4)
    assert life.log[1:] == [("finish", "cid1", 127, "cannot start the container: RuntimeError('boom\\nsecond line')"),
                            ("final", "cid1")]
    assert _read(r, w) == "exited 127\n"


class _Exec(Exception):
    pass


def test_start_then_becomes_the_waiter(tmp_path, monkeypatch):
    life = _Life(monkeypatch)
    r0, w0 = os.pipe()
    m, r, w = _monitor(tmp_path, stdio=(r0, w0, w0))
    got = {}

    def execv(path, argv):
        got["argv"] = argv
        got["inheritable"] = [os.get_inheritable(fd) for fd in (w, r0, w0)]
        raise _Exec()

    monkeypatch.setattr(M.os, "execv", execv)
    monkeypatch.setattr(M.time, "time", lambda: 1700000000.25)
    with pytest.raises(_Exec):
        m.start(first=True, delay=0.1)
    assert life.log == [("launch", "cid1", (r0, w0, w0), os.getpid(), None)]
    assert life.registered == [("cid1", os.getpid())]
    assert got["argv"] == [sys.executable, "-S", "-E", "-s", str(tmp_path / "engine" / "wait.py"),
                           m.paths.root, "cid1", "4242", str(w), "1700000000.25", "0.1", str(r0), str(w0), str(w0)]
    assert got["inheritable"] == [True, True, True]
    for fd in (r0, w0):
        os.close(fd)
    assert _read(r, w) == "started 4242\n"


# ------------------------------------------------------------------- start_monitor

def _start_monitor_in_helper(tmp_path, monkeypatch, run):
    """start_monitor with Monitor.run replaced by ``run``, in a child subreaper that reaps the
    daemonised monitor. Returns ("ok", pid) or ("error", msg, code)."""
    monkeypatch.setattr(M.Monitor, "run", run)
    out = str(tmp_path / "result.json")
    helper = os.fork()
    if helper == 0:
        try:
            LinuxSyscalls().prctl(PR_SET_CHILD_SUBREAPER, 1)
            try:
                pid, f = M.start_monitor(Paths(str(tmp_path / "state")), "cid9")
                res = ["ok", pid, f is None]
            except MyDockerError as e:
                res = ["error", str(e), e.code]
            with open(out, "w") as fh:
                json.dump(res, fh)
            while True:
                try:
                    os.wait()
                except ChildProcessError:
                    break
        finally:
            os._exit(0)
    os.waitpid(helper, 0)
    with open(out) as f:
        return json.load(f)


def test_start_monitor_started(tmp_path, monkeypatch, fresh_copy):
    def run(self):
        M._write(self.notify, "started 31337")

    assert _start_monitor_in_helper(tmp_path, monkeypatch, run) == ["ok", 31337, True]


def test_start_monitor_error(tmp_path, monkeypatch, fresh_copy):
    def run(self):
        M._write(self.notify, "error 126 cannot run /x: Permission denied")

    assert _start_monitor_in_helper(tmp_path, monkeypatch, run) == \
        ["error", "cannot run /x: Permission denied", 126]


def test_start_monitor_that_dies(tmp_path, monkeypatch, fresh_copy):
    def run(self):
        raise RuntimeError("crash")

    assert _start_monitor_in_helper(tmp_path, monkeypatch, run) == \
        ["error", "the container monitor died before the container started", 1]


def test_close_other_fds_keeps_only_what_is_asked(tmp_path):
    """The daemonized monitor closes every other descriptor, also those above 1024."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    fds = [os.open(os.devnull, os.O_RDONLY) for dummy in range(4)]
    high = None
    if soft > 1100:
        high = os.dup2(fds[0], 1100)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            from ansible_collections.mydocker.runtime.plugins.module_utils.engine import process
            process.close_fds({w, fds[2]})
            still = [fd for fd in fds + [high, r] if fd is not None and _is_open(fd)]
            os.write(w, repr(still).encode())
        finally:
            os._exit(0)
    os.close(w)
    got = os.read(r, 1000).decode()
    os.waitpid(pid, 0)
    os.close(r)
    for fd in fds + ([high] if high else []):
        os.close(fd)
    assert got == repr([fds[2]])


def _is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def test_the_waiter_scripts_compile():
    """wait.py is text made by replacement (RELAY, REMOVING): it must still be Python."""
    compile(M.WAITER, "wait.py", "exec")
    compile(M.RESUME, "resume.py", "exec")
    assert '"%s"' % M.REMOVING in M.WAITER and 'b"exited %d\\n"' in M.WAITER


def test_logloop_checks_the_removal_mark_by_the_monitors_name():
    with open(os.path.join(ENGINE, "logloop.py")) as f:
        assert '"%s"' % M.REMOVING in f.read()
