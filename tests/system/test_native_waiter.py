"""The native waiter (engine/nativewait.py) with real containers: when the host has a C compiler
a running container's monitor is the binary in the engine copy, it relays the output, records
the exit as the Python waiter does, restarts, and goes quietly under rm -f;
MYDOCKER_NATIVE_WAITER=0 keeps the Python waiter."""
import os
import shutil
import signal
import sys
import time

import pytest

pytestmark = pytest.mark.skipif(not (shutil.which("cc") or shutil.which("gcc")), reason="no C compiler")


def _exe(pid):
    return os.readlink("/proc/%d/exe" % pid)


def _until(cond, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("timed out")


def _exited(md, cid):
    rec = md.inspect(cid)
    return rec if rec["status"] == "exited" and rec.get("monitorPid") == "" else None


def test_the_monitor_of_a_running_container_is_the_native_waiter(md):
    cid = md("run", "-d", "busybox", "sh", "-c", "echo hello; exec sleep 60").out.strip()
    rec = md.inspect(cid)
    mon = int(rec["monitorPid"])
    exe = _exe(mon)
    engine = os.path.join(md.root, ".engine")
    assert os.path.dirname(os.path.dirname(exe)) == engine and os.path.basename(exe) == "wait", exe
    with open("/proc/%d/cmdline" % mon, "rb") as f:
        argv = f.read().decode().split("\0")
    assert argv[1] == sys.executable and argv[2] == os.path.join(os.path.dirname(exe), "resume.py")
    assert argv[3:6] == [md.root, cid, rec["pid"] if isinstance(rec["pid"], str) else str(rec["pid"])]
    with open("/proc/%d/stat" % int(rec["pid"])) as f:
        assert int(f.read().rsplit(")", 1)[1].split()[1]) == mon  # the parent of PID 1
    _until(lambda: "hello" in md("logs", cid).out)
    os.kill(int(rec["pid"]), signal.SIGKILL)  # PID 1 dies (no stop asked): 137, recorded by the engine
    rec = _until(lambda: _exited(md, cid))
    assert rec["exitCode"] == 137
    assert md("logs", cid).out == "hello\n"


def test_its_exit_code_and_output_are_recorded(md):
    cid = md("run", "-d", "--log-opt", "max-size=20", "--log-opt", "max-file=2", "busybox", "sh", "-c",
             "i=0; while [ $i -lt 12 ]; do echo line-$i; i=$((i+1)); done; exit 5").out.strip()
    rec = _until(lambda: _exited(md, cid))
    assert rec["exitCode"] == 5
    out = md("logs", cid).out.split()
    assert out and out == ["line-%d" % i for i in range(12 - len(out), 12)]  # rotated: the newest
    log = os.path.join(md.root, "containers", cid, "log.txt")
    assert os.path.exists(log + ".1") and not os.path.exists(log + ".2")
    assert md("logs", "-t", cid).out.count("Z line-") == len(out)  # the .ts index was written
    md("rm", cid)


def test_restart_policy_with_the_native_waiter(md):
    cid = md("run", "-d", "--restart", "on-failure:2", "busybox", "sh", "-c", "echo run; exit 1").out.strip()
    rec = _until(lambda: _exited(md, cid))
    assert rec["restartCount"] == 2 and rec["exitCode"] == 1
    assert md("logs", cid).out.count("run") == 3
    md("rm", cid)


def test_rm_f_of_a_running_container_ends_its_native_waiter(md):
    cid = md("run", "-d", "busybox", "sleep", "60").out.strip()
    mon = int(md.inspect(cid)["monitorPid"])
    assert os.path.basename(_exe(mon)) == "wait"
    md("rm", "-f", cid)
    assert cid not in md.ids()
    _until(lambda: not os.path.exists("/proc/%d" % mon) or _state(mon) == "Z")


def _state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def test_native_waiter_off_keeps_the_python_one(md):
    env = dict(md.env, MYDOCKER_NATIVE_WAITER="0")
    cid = md("run", "-d", "busybox", "sh", "-c", "sleep 0.5; exit 4", env=env).out.strip()
    mon = int(md.inspect(cid)["monitorPid"])
    assert os.path.basename(_exe(mon)).startswith("python")
    rec = _until(lambda: _exited(md, cid))
    assert rec["exitCode"] == 4
    md("rm", cid)
