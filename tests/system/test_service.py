"""``mydocker system service``: commands handed to the state root's service behave as the same
commands run in the calling process (output, exit status, signals, limits), a service that
cannot serve a caller exactly declines, and a dead or stopped service leaves commands working."""
import os
import re
import resource
import signal
import subprocess
import sys
import time

import pytest
from conftest import CLI, REPO

pytestmark = pytest.mark.timeout(180)


def _direct(md):
    return dict(md.env, MYDOCKER_SERVICE="0")


def _taken(md):
    p = md("system", "service", "status", check=False)
    m = re.match(r"pid (\d+), up since .*, (\d+) commands taken$", p.out.strip())
    return (int(m.group(1)), int(m.group(2))) if m else (None, None)


def _gone(md, pid, timeout=10):
    sock = os.path.join(md.root, "service.sock")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not os.path.exists("/proc/%d" % pid) and not os.path.exists(sock):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def svc(md):
    out = md("system", "service", "start", "--time", "0").out.strip()
    pid = int(out)
    assert os.path.exists("/proc/%d" % pid)
    try:
        yield md
    finally:
        md("system", "service", "stop", check=False)
        assert _gone(md, pid), "the service %d is still there" % pid


def _both(md, *args):
    """The same command through the service and in this process: (served, direct)."""
    served = md(*args, check=False)
    direct = md(*args, check=False, env=_direct(md))
    return served, direct


def test_served_commands_match_direct_ones(svc):
    pid, before = _taken(svc)
    assert pid is not None and before == 0
    cases = [
        ("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"),
        ("run", "--bogus", "busybox"),                 # argparse's usage errors
        ("run", "-d"),
        ("rm",),
        ("ps", "--bogus"),
        ("network", "create"),
        ("network", "nosuch"),
        ("inspect", "no-such-container"),              # an engine error
        ("ps", "-a"),
        ("images",),
    ]
    for args in cases:
        served, direct = _both(svc, *args)
        assert (served.returncode, served.out, served.err) == (direct.returncode, direct.out, direct.err), args
    assert _taken(svc) == (pid, before + len(cases))
    p = svc("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert (p.returncode, p.out, p.err) == (3, "out\n", "err\n")


def test_detached_container_through_the_service(svc):
    pid, before = _taken(svc)
    cid = svc("run", "-d", "busybox", "sleep", "300").out.strip()
    assert _taken(svc)[1] == before + 1
    rec = svc.record(cid)
    assert rec["status"] == "running"
    init = int(rec["pid"])
    assert os.path.exists("/proc/%d" % init)
    # the container's processes belong to no worker of the service: its monitor is its own
    assert int(open("/proc/%d/stat" % init).read().rsplit(")", 1)[1].split()[1]) != pid
    with open("/proc/%d/cgroup" % init) as f:
        assert cid in f.read()
    out = svc("exec", cid, "cat", "/proc/1/cmdline").out   # exec runs in this process, on the same record
    assert out.split("\0")[:2] == ["sleep", "300"]
    svc("stop", "-t", "1", cid)
    assert svc.record(cid)["status"] == "exited"
    svc("rm", cid)
    assert cid not in svc.ids()


def test_signals_reach_the_command(svc):
    script = "trap 'echo got; exit 7' INT TERM; sleep 30 & wait"
    for env in (svc.env, _direct(svc)):
        for sig in (signal.SIGINT, signal.SIGTERM):
            p = subprocess.Popen([sys.executable, CLI, "run", "--rm", "busybox", "sh", "-c", script], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(1.5)
            p.send_signal(sig)
            out, err = p.communicate(timeout=30)
            assert (p.returncode, out, err) == (7, b"got\n", b""), (env.get("MYDOCKER_SERVICE"), sig)


def test_a_caller_with_other_limits_runs_the_command_itself(svc):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    mine = min(soft, 1000) - 7

    def lower():
        resource.setrlimit(resource.RLIMIT_NOFILE, (mine, hard))
    pid, before = _taken(svc)
    p = subprocess.run([sys.executable, CLI, "run", "--rm", "busybox", "sh", "-c", "ulimit -n"], env=svc.env,
                       preexec_fn=lower, capture_output=True, timeout=60, check=True)
    assert p.stdout.decode().strip() == str(mine)   # the caller's limit, not the service's
    p = svc("run", "--rm", "busybox", "sh", "-c", "ulimit -n")
    assert p.out.strip() == str(soft)
    # the first was declined (and ran in its caller), the second taken; status requests are not counted
    assert _taken(svc) == (pid, before + 1)


def test_changed_code_stops_the_service(svc):
    pid, dummy = _taken(svc)
    src = os.path.join(REPO, "plugins", "module_utils", "cli", "output.py")
    st = os.stat(src)
    try:
        os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        p = svc("ps", "-a")          # declined (the code changed), so it ran here
        assert p.out.startswith("ID")
    finally:
        os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _gone(svc, pid)
    assert "no service runs" in svc("system", "service", "status", check=False).out


def _children(pid):
    try:
        return [int(c) for c in open("/proc/%d/task/%d/children" % (pid, pid)).read().split()]
    except OSError:
        return []


def test_a_killed_service_leaves_commands_working(md):
    pid = int(md("system", "service", "start", "--time", "0").out)
    try:
        spares = _children(pid)
        assert len(spares) == 1   # the process that takes the next caller
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert os.path.exists(os.path.join(md.root, "service.sock"))   # what it left
        deadline = time.monotonic() + 10
        while os.path.exists("/proc/%d" % spares[0]) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not os.path.exists("/proc/%d" % spares[0])   # the spare went with it
        p = md("run", "--rm", "busybox", "echo", "still here")
        assert p.out == "still here\n"
        assert md("system", "service", "status", check=False).returncode == 1
        pid = int(md("system", "service", "start", "--time", "0").out)   # takes the dead one's socket over
        assert _taken(md)[0] == pid
        assert md("run", "--rm", "busybox", "echo", "served").out == "served\n"
        assert _taken(md)[1] == 1
    finally:
        md("system", "service", "stop", check=False)
    assert _gone(md, pid)


def test_a_killed_worker_is_reported(svc, tmp_path):
    pid, dummy = _taken(svc)
    errfile = tmp_path / "err"
    # files, not pipes: the attached container keeps the caller's streams open after the caller is gone
    with open(errfile, "wb") as err:
        p = subprocess.Popen([sys.executable, CLI, "run", "--rm", "busybox", "sleep", "300"], env=svc.env,
                             stdout=subprocess.DEVNULL, stderr=err)
    worker = None
    deadline = time.monotonic() + 20
    while worker is None and time.monotonic() < deadline:
        for c in open("/proc/%d/task/%d/children" % (pid, pid)).read().split():
            try:
                stat = open("/proc/%s/stat" % c).read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[2]) == int(c):  # a command's process leads a process group; the spare does not
                worker = int(c)
        time.sleep(0.05)
    assert worker is not None
    while len(svc.ids()) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(worker, signal.SIGKILL)
    assert p.wait(timeout=30) == 125
    assert "ended without an exit status" in errfile.read_text()
    svc("rm", "-f", *svc.ids())   # the container itself kept running under its monitor


def test_idle_service_stops_by_itself(md):
    pid = int(md("system", "service", "start", "--time", "1").out)
    try:
        assert _gone(md, pid, timeout=15)
    finally:
        md("system", "service", "stop", check=False)


def test_second_start_and_bad_time(svc):
    p = svc("system", "service", "start", check=False)
    assert p.returncode == 1 and "a service already runs for" in p.err
    p = svc("system", "service", "start", "--time", "-1", check=False)
    assert p.returncode == 1 and "--time" in p.err
    assert svc("system", "service", "stop").out.strip() == "stopped"
    assert "no service runs" in svc("system", "service", "stop").out


def test_stopping_the_service_leaves_running_commands_alone(md):
    pid = int(md("system", "service", "start", "--time", "0").out)
    try:
        p = subprocess.Popen([sys.executable, CLI, "run", "--rm", "busybox", "sh", "-c", "sleep 2; echo done"],
                             env=md.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while _taken(md)[1] != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _taken(md)[1] == 1
        assert md("system", "service", "stop").out.strip() == "stopped"
        assert _gone(md, pid)
        out, err = p.communicate(timeout=60)
        assert (p.returncode, out, err) == (0, b"done\n", b"")
    finally:
        md("system", "service", "stop", check=False)
