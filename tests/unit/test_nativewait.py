"""engine/nativewait.py: the monitor's waiter in C, built with the host's real compiler and run
on real child processes (no container): the exit code rules, orphans reaped, the output relay
against the Python RELAY byte for byte, rm -f's mark, the hand-over to resume.py, and the
fallbacks to the Python waiter (no compiler, a failed build, MYDOCKER_NATIVE_WAITER=0)."""
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import logs, nativewait
from ansible_collections.mydocker.runtime.plugins.module_utils.engine import monitor as M
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import Paths
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.syscalls import (
    PR_SET_CHILD_SUBREAPER,
    LinuxSyscalls,
)
from ansible_collections.mydocker.runtime.tests.unit.test_monitor import _Life, _monitor

HAVE_CC = bool(shutil.which("cc") or shutil.which("gcc"))
needs_cc = pytest.mark.skipif(not HAVE_CC, reason="no C compiler")


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    """The waiter built from the monitor's source into a cache of this test run."""
    if not HAVE_CC:
        pytest.skip("no C compiler")
    cache = tmp_path_factory.mktemp("cache") / "waiter"
    exe = nativewait.built(M.NATIVE, str(cache))
    assert exe is not None and os.access(exe, os.X_OK)
    return exe


# the stand-in resume.py: what it was given, whether it is the waiter's own process (exec, not
# a fork), and the zombies among its children (orphans the waiter should have reaped)
FAKE_RESUME = """import json, os, sys
kids = []
for p in os.listdir("/proc"):
    try:
        with open("/proc/%s/stat" % p) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        continue
    if int(fields[1]) == os.getpid() and fields[0] == "Z":
        kids.append(int(p))
with open(os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), "resumed.json"), "w") as f:
    json.dump({"argv": sys.argv[1:], "flags": [sys.flags.isolated], "pid": os.getpid(), "zombies": kids}, f)
"""


def _run(tmp_path, exe, body, root="/state/root", not_a_child=False, orphan=False, notify="9", rest=None,
         prefix=None):
    """A helper forks the 'container' (``body``) and execs the native waiter on it, as the monitor
    does. Returns (what the stand-in resume got or None, the helper's pid, its exit code)."""
    (tmp_path / "resume.py").write_text(FAKE_RESUME)
    resumed = tmp_path / "resumed.json"
    if resumed.exists():
        resumed.unlink()
    helper = os.fork()
    if helper == 0:
        try:
            os.setpgid(0, 0)
            if orphan:  # a grandchild that outlives its parent comes to us (a subreaper) and dies
                LinuxSyscalls().prctl(PR_SET_CHILD_SUBREAPER, 1)
                mid = os.fork()
                if mid == 0:
                    if os.fork() == 0:
                        time.sleep(0.2)
                    os._exit(0)
                os.waitpid(mid, 0)
            pid = os.fork()
            if pid == 0:
                try:
                    body()
                finally:
                    os._exit(0)
            if not_a_child:
                os.waitpid(pid, 0)
            fds = ["0", "1", "1"] if rest is None else rest
            args = [root, "cid123", str(pid), notify, "1700000000.5", "0.4"] + fds
            argv = (prefix or [exe, sys.executable, str(tmp_path / "resume.py")]) + args
            os.execv(argv[0], argv)
        finally:
            os._exit(99)
    status = os.waitpid(helper, 0)[1]
    got = json.loads(resumed.read_text()) if resumed.exists() else None
    return got, helper, os.waitstatus_to_exitcode(status)


@pytest.mark.parametrize("body,code", [
    (lambda: os._exit(7), "7"),
    (lambda: os._exit(0), "0"),
    (lambda: os.kill(os.getpid(), signal.SIGKILL), "137"),
    (lambda: os.kill(os.getpid(), signal.SIGTERM), "143"),
])
def test_resumes_with_the_exit_code(tmp_path, native, body, code):
    got, helper, rc = _run(tmp_path, native, body)
    assert rc == 0
    assert got["argv"] == ["/state/root", "cid123", code, "9", "1700000000.5", "0.4", "0", "1", "1"]
    assert got["flags"] == [1]  # python -I
    assert got["pid"] == helper  # exec'd in place: the monitor's pid stays the record's


def test_no_such_child_resumes_with_255(tmp_path, native):
    got, _h, _rc = _run(tmp_path, native, lambda: os._exit(3), not_a_child=True)
    assert got["argv"][:3] == ["/state/root", "cid123", "255"]


def test_an_inherited_orphan_is_reaped(tmp_path, native):
    def body():
        time.sleep(0.6)  # the orphan dies first
        os._exit(4)
    got, _h, _rc = _run(tmp_path, native, body, orphan=True)
    assert got["argv"][2] == "4"
    assert got["zombies"] == []


def test_the_orphan_check_can_fail(tmp_path, native):
    """The stand-in sees a zombie when nobody reaps it (a waiter that waits for PID 1 only)."""
    (tmp_path / "resume.py").write_text(FAKE_RESUME)
    helper = os.fork()
    if helper == 0:
        try:
            if os.fork() == 0:
                os._exit(0)
            time.sleep(0.3)
            os.execv(sys.executable, [sys.executable, str(tmp_path / "resume.py")])
        finally:
            os._exit(99)
    os.waitpid(helper, 0)
    assert len(json.loads((tmp_path / "resumed.json").read_text())["zombies"]) == 1


def test_the_removal_mark_writes_the_code_and_exits(tmp_path, native):
    root = tmp_path / "root"
    (root / "containers" / "cid123").mkdir(parents=True)
    (root / "containers" / "cid123" / M.REMOVING).write_text("")
    r, w = os.pipe()
    os.set_inheritable(w, True)  # as the monitor hands it on
    try:
        got, _h, rc = _run(tmp_path, native, lambda: os._exit(9), root=str(root), notify=str(w))
        os.close(w)
        w = None
        with os.fdopen(r, "rb") as f:
            r = None
            assert f.read() == b"exited 9\n"
    finally:
        for fd in (r, w):
            if fd is not None:
                os.close(fd)
    assert got is None and rc == 0  # no resume: rm -f records nothing more
    # without a notify fd it only exits
    got, _h, rc = _run(tmp_path, native, lambda: os._exit(9), root=str(root), notify="-")
    assert got is None and rc == 0


def test_without_the_mark_it_resumes(tmp_path, native):
    root = tmp_path / "root"
    (root / "containers" / "cid123").mkdir(parents=True)
    got, _h, _rc = _run(tmp_path, native, lambda: os._exit(9), root=str(root), notify="-", rest=[])
    assert got["argv"] == [str(root), "cid123", "9", "-", "1700000000.5", "0.4"]


# ------------------------------------------------------------------ the relay, against RELAY

# The 'container' writes DATA to the FIFO and exits before the waiter starts (waitid WNOWAIT:
# not reaped), so both waiters read the same pieces; then the launcher becomes the waiter
# (PROG... PID REST..., FIFO named FD:PATH as the monitor does).
LAUNCH = """
import os, sys
at = sys.argv.index("@PID@")
fifo, data, prog, rest = sys.argv[1], sys.argv[2], sys.argv[3:at], sys.argv[at + 1:]
os.mkfifo(fifo, 0o600)
fd = os.open(fifo, os.O_RDWR)
pid = os.fork()
if pid == 0:
    with open(data, "rb") as f:
        os.write(fd, f.read())
    os._exit(5)
os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
os.set_inheritable(fd, True)
rest = [("%d:%s" % (fd, x) if x == fifo else x) for x in rest]
os.execv(prog[0], prog + [str(pid)] + rest)
"""


def _relay(tmp_path, which, native, data, maxsize, maxfile, old=b""):
    d = tmp_path / which
    d.mkdir()
    (d / "resume.py").write_text("import json, sys\nopen(%r, 'w').write(json.dumps(sys.argv[1:]))\n"
                                 % str(d / "resumed.json"))
    (d / "data").write_bytes(data)
    log, fifo = str(d / "log.txt"), str(d / "log.fifo")
    if old:
        (d / "log.txt").write_bytes(old)
    if which == "native":
        prog = [native, sys.executable, str(d / "resume.py"), "/root-x", "cid1"]
    else:
        (d / "wait.py").write_text(M.WAITER)
        prog = [sys.executable, "-S", "-E", "-s", str(d / "wait.py"), "/root-x", "cid1"]
    rest = ["-", "1700000000.5", "0.1", "--log", fifo, log, str(maxsize), str(maxfile), "7", "8"]
    t0 = time.time_ns()
    p = subprocess.run([sys.executable, "-c", LAUNCH, fifo, str(d / "data")] + prog + ["@PID@"] + rest,
                       timeout=30, check=False)
    assert p.returncode == 0
    files = {}
    for f in logs.log_files(log):
        with open(f, "rb") as fh:
            body = fh.read()
        ts = (open(f + ".ts", "rb").read() if os.path.exists(f + ".ts") else b"").splitlines()
        ends = [int(x.split()[0]) for x in ts]
        for x in ts:
            assert t0 - 10 ** 9 < int(x.split()[1]) <= time.time_ns()
        files[os.path.basename(f)] = (body, ends)
    return files, json.loads((d / "resumed.json").read_text())


DATA = (b"out\nerr\n" + b"x" * 150 + b"\n" + b"".join(b"line-%d\n" % i for i in range(40))
        + b"\n\n" + b"y" * 99 + b"\n" + b"partial")
BIG = b"z" * 20000 + b"\n" + b"w" * 30000 + DATA  # under a pipe's 64 KiB, over any smaller read


@needs_cc
@pytest.mark.parametrize("maxsize,maxfile,old,files,data", [
    (0, 1, b"", 1, DATA),
    (0, 1, b"from before\n", 1, DATA),
    (100, 3, b"", 3, DATA),
    (100, 1, b"", 1, DATA),
    (64, 2, b"a" * 60, 2, DATA),
    (300, 4, b"", 2, DATA),
    (0, 1, b"", 1, BIG),
    (25000, 3, b"", 3, BIG),
])
def test_the_relay_writes_what_the_python_relay_writes(tmp_path, native, maxsize, maxfile, old, files, data):
    mine, argv = _relay(tmp_path, "native", native, data, maxsize, maxfile, old)
    theirs, pargv = _relay(tmp_path, "python", native, data, maxsize, maxfile, old)
    assert mine == theirs
    assert argv == pargv == ["/root-x", "cid1", "5", "-", "1700000000.5", "0.1", "7", "8"]
    assert b"".join(body for body, _e in mine.values()).endswith(b"partial")
    assert len(mine) == files
    if not maxsize:
        assert mine["log.txt"][0] == old + data


# ------------------------------------------------------------------ building and falling back

@needs_cc
def test_built_once_per_source_then_taken_from_the_cache(tmp_path, monkeypatch):
    cache = str(tmp_path / "c")
    exe = nativewait.built(M.NATIVE, cache)
    assert os.path.dirname(exe) == cache and os.listdir(cache) == [os.path.basename(exe)]
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o700
    monkeypatch.setattr(nativewait, "_compile", lambda *a: pytest.fail("compiled again"))
    assert nativewait.built(M.NATIVE, cache) == exe
    assert nativewait.install(M.NATIVE, str(tmp_path / "wait"), cache)
    assert os.access(str(tmp_path / "wait"), os.X_OK)


def test_a_cache_others_can_write_to_is_not_used(tmp_path, monkeypatch):
    cache = tmp_path / "c"
    cache.mkdir()
    os.chmod(str(cache), 0o777)
    monkeypatch.setattr(nativewait, "_compile", lambda *a: pytest.fail("built into an open directory"))
    assert nativewait.built(M.NATIVE, str(cache)) is None
    assert not nativewait.install(M.NATIVE, str(tmp_path / "wait"), str(cache))
    assert not (tmp_path / "wait").exists()


@needs_cc
def test_a_failed_build_leaves_nothing(tmp_path):
    cache = tmp_path / "c"
    assert nativewait.built("this is not C\n", str(cache)) is None
    assert os.listdir(str(cache)) == []
    assert not nativewait.install("int main(void) { return", str(tmp_path / "wait"), str(cache))
    assert not (tmp_path / "wait").exists()


def test_no_compiler_no_binary(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert not nativewait.install(M.NATIVE, str(tmp_path / "wait"), str(tmp_path / "c"))
    assert not (tmp_path / "wait").exists()


def test_the_engine_copy_without_a_compiler_has_the_python_waiter_only(tmp_path, monkeypatch):
    monkeypatch.setattr(M, "_COPY", None)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(nativewait, "cache_dir", lambda: str(tmp_path / "cache"))
    dest = M.engine_copy(Paths(str(tmp_path / "state")))
    assert os.path.isfile(os.path.join(dest, "wait.py"))
    assert not os.path.exists(os.path.join(dest, nativewait.NAME))


class _Exec(Exception):
    pass


def _start(tmp_path, monkeypatch, fail_native=False):
    """Monitor.start up to its exec: the argv it execs (the first that does not fail)."""
    _Life(monkeypatch)
    m, r, w = _monitor(tmp_path, stdio=(0, 1, 1))
    tried = []

    def execv(path, argv):
        tried.append(argv)
        if fail_native and path.endswith("/" + nativewait.NAME):
            raise PermissionError(13, "noexec")
        raise _Exec()

    monkeypatch.setattr(M.os, "execv", execv)
    with pytest.raises(_Exec):
        m.start(first=True, delay=0.1)
    os.close(r)
    os.close(w)
    return tried, m, w


def _engine_with_binary(tmp_path):
    engine = tmp_path / "engine"
    engine.mkdir()
    exe = engine / nativewait.NAME
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    return str(exe)


def test_start_execs_the_native_waiter_when_the_copy_has_it(tmp_path, monkeypatch):
    exe = _engine_with_binary(tmp_path)
    monkeypatch.delenv(nativewait.ENV, raising=False)
    tried, m, w = _start(tmp_path, monkeypatch)
    assert tried == [[exe, sys.executable, str(tmp_path / "engine" / "resume.py"), m.paths.root, "cid1", "4242",
                      str(w), tried[0][7], "0.1", "0", "1", "1"]]


def test_native_waiter_off_or_failing_execs_the_python_one(tmp_path, monkeypatch):
    exe = _engine_with_binary(tmp_path)
    python = [sys.executable, "-S", "-E", "-s", str(tmp_path / "engine" / "wait.py")]
    monkeypatch.setenv(nativewait.ENV, "0")
    tried, _m, _w = _start(tmp_path, monkeypatch)
    assert len(tried) == 1 and tried[0][:5] == python
    monkeypatch.delenv(nativewait.ENV)
    tried, _m, _w = _start(tmp_path, monkeypatch, fail_native=True)
    assert [t[0] for t in tried] == [exe, sys.executable] and tried[1][:5] == python
    assert tried[0][3:] == tried[1][5:]  # the same waiter's arguments


def test_the_native_source_names_the_removal_mark():
    assert "@REMOVING@" not in M.NATIVE and '/%s"' % M.REMOVING in M.NATIVE


def test_a_cache_in_a_directory_others_can_change_is_not_used(tmp_path, monkeypatch):
    parent = tmp_path / "open"
    parent.mkdir()
    os.chmod(str(parent), 0o777)
    monkeypatch.setattr(nativewait, "_compile", lambda *a: pytest.fail("built where others can swap the cache"))
    assert nativewait.built(M.NATIVE, str(parent / "waiter")) is None


def _waiter(tmp_path, kind):
    """_run's argv prefix for the Python waiter (None: the C one)."""
    if kind != "python":
        return None
    (tmp_path / "wait.py").write_text(M.WAITER)
    return [sys.executable, "-S", "-E", "-s", str(tmp_path / "wait.py")]


def _handover(tmp_path, native, kind, finish):
    """An attached run --rm holds monitor.ATTACHED: the waiter (``kind``: the C one or wait.py)
    writes ``handover <code>`` and waits for the lock. The stand-in caller (a thread) reads it,
    then ``finish``es (removes the record) or not, and lets the lock go. Returns (what resume got
    or None, the waiter's exit code, what the caller read)."""
    import fcntl
    import threading
    root = tmp_path / "root"
    cdir = root / "containers" / "cid123"
    cdir.mkdir(parents=True, exist_ok=True)
    (cdir / "config.json").write_text("{}")
    lock = os.open(str(cdir / M.ATTACHED), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    r, w = os.pipe()
    os.set_inheritable(w, True)
    read = []

    def caller():
        with os.fdopen(r, "rb") as f:
            read.append(f.readline())
            if finish:
                (cdir / "config.json").unlink()
            os.close(lock)
            read.append(f.read())  # nothing more: EOF once the waiter is gone
    t = threading.Thread(target=caller)
    t.start()
    prefix = _waiter(tmp_path, kind)
    try:
        got, _h, rc = _run(tmp_path, native, lambda: os._exit(5), root=str(root), notify=str(w), prefix=prefix)
    finally:
        os.close(w)
        t.join(10)
    return got, rc, read


@pytest.mark.parametrize("kind", ["native", "python"])
def test_an_attached_run_that_finishes_the_container_takes_it_over(tmp_path, native, kind):
    got, rc, read = _handover(tmp_path, native, kind, finish=True)
    assert read == [b"handover 5\n", b""]
    assert got is None and rc == 0  # the record is gone: nothing to resume


@pytest.mark.parametrize("kind", ["native", "python"])
def test_a_caller_that_lets_go_without_finishing_leaves_it_to_the_monitor(tmp_path, native, kind):
    """The caller died, or failed, before the record was gone: the waiter resumes the engine."""
    got, rc, read = _handover(tmp_path, native, kind, finish=False)
    assert read[0] == b"handover 5\n"
    assert got["argv"][:3] == [str(tmp_path / "root"), "cid123", "5"] and rc == 0


@pytest.mark.parametrize("kind", ["native", "python"])
def test_no_one_holding_the_lock_means_the_monitor_finishes(tmp_path, native, kind):
    root = tmp_path / "root"
    cdir = root / "containers" / "cid123"
    cdir.mkdir(parents=True)
    (cdir / "config.json").write_text("{}")
    (cdir / M.ATTACHED).write_text("")  # the caller's file, its lock gone with it
    r, w = os.pipe()
    os.set_inheritable(w, True)
    prefix = _waiter(tmp_path, kind)
    try:
        got, _h, rc = _run(tmp_path, native, lambda: os._exit(6), root=str(root), notify=str(w), prefix=prefix)
    finally:
        os.close(w)
    with os.fdopen(r, "rb") as f:
        assert f.read() == b""  # no hand-over line: the resumed monitor writes "exited"
    assert got["argv"][2] == "6" and rc == 0
