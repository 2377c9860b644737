"""Healthchecks against real containers: the monitor runs the check inside the container on its
interval, the status (starting -> healthy -> unhealthy) is in inspect and in ps's STATUS, the
timeout kills the probe, failures in the start period do not count, the image's Healthcheck is
used (and --no-healthcheck drops it), a restart is 'starting' again, a re-adopted monitor goes
on checking, and bad input is one line that creates nothing."""
import os
import time

import pytest
from test_images_layers import build_oci

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import images

MS = 1000000


def _wait(fn, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    return fn()


def _health(md, ref):
    return md.inspect(ref).get("health") or {}


def _status_line(md, ref):
    return [ln for ln in md("ps").out.splitlines() if ref in ln][0]


def test_starting_healthy_unhealthy_in_inspect_and_ps(md):
    started = time.time()
    cid = md("run", "-d", "--name", "hc", "--health-cmd", "cat /tmp/ok", "--health-interval", "200ms",
             "--health-retries", "2", "busybox", "sh", "-c", "sleep 4; echo fine > /tmp/ok; sleep 100").out.strip()
    rec = md.inspect(cid)
    assert rec["healthcheck"] == {"Test": ["CMD-SHELL", "cat /tmp/ok"], "Interval": 200 * MS,
                                  "Timeout": 30000 * MS, "StartPeriod": 0, "Retries": 2}
    # failing first (no /tmp/ok yet; on a very slow machine the run itself may outlast the sleep)
    assert _wait(lambda: _health(md, cid).get("log")) and (time.time() - started > 4 or
                                                           _health(md, cid)["log"][0]["exitCode"] == 1)
    assert _wait(lambda: _health(md, cid).get("status") == "healthy")
    assert "running (healthy)" in _status_line(md, "hc")
    last = _health(md, cid)["log"][-1]
    assert last["exitCode"] == 0 and last["output"] == "fine\n" and last["start"] <= last["end"]
    md("exec", cid, "rm", "/tmp/ok")
    assert _wait(lambda: _health(md, cid).get("status") == "unhealthy")
    h = _health(md, cid)
    assert h["failingStreak"] >= 2 and h["log"][-1]["exitCode"] == 1
    assert "No such file" in h["log"][-1]["output"]
    assert "running (unhealthy)" in _status_line(md, "hc")
    assert _wait(lambda: len(_health(md, cid)["log"]) == 5) and len(_health(md, cid)["log"]) == 5


def test_timeout_kills_the_probe_and_output_is_truncated(md):
    probe = "if [ -f /tmp/big ]; then head -c 10000 /dev/zero | tr '\\0' x; exit 1; fi; sleep 30"
    cid = md("run", "-d", "--health-cmd", probe, "--health-interval", "100ms", "--health-timeout", "300ms",
             "--health-retries", "1", "busybox", "sleep", "100").out.strip()
    assert _wait(lambda: _health(md, cid).get("status") == "unhealthy")
    last = _health(md, cid)["log"][-1]
    assert last["exitCode"] == -1 and last["output"] == "Health check exceeded timeout (300ms)", last
    # the killed probes do not pile up in the container
    time.sleep(0.5)
    ps = md("exec", cid, "ps", "-o", "args").out
    assert ps.count("sleep 30") <= 1, ps
    md("exec", cid, "touch", "/tmp/big")
    assert _wait(lambda: _health(md, cid)["log"][-1]["exitCode"] == 1)
    out = _health(md, cid)["log"][-1]["output"]
    assert out == "x" * 4096


def test_failures_in_the_start_period_do_not_count(md):
    cid = md("run", "-d", "--health-cmd", "false", "--health-interval", "100ms", "--health-retries", "1",
             "--health-start-period", "8s", "busybox", "sleep", "100").out.strip()
    started = time.time()
    assert _wait(lambda: len(_health(md, cid).get("log") or []) >= 2)
    h = _health(md, cid)
    if time.time() - started < 7:  # (a very slow machine may be past the start period already)
        assert h["status"] == "starting" and h["failingStreak"] == 0, h
    assert _wait(lambda: _health(md, cid).get("status") == "unhealthy", timeout=25)


@pytest.fixture
def hcimg(md, tmp_path):
    bb = str(tmp_path / "bb.tar")
    images.make_busybox_rootfs(bb)
    config = {"Cmd": ["sh", "-c", "touch /tmp/ok; sleep 100"],
              "Healthcheck": {"Test": ["CMD", "test", "-f", "/tmp/ok"], "Interval": 150 * MS, "Retries": 2}}
    path, _d = build_oci(tmp_path, bb, config=config)
    md("image", "import", path, "hcimg")
    yield "hcimg"
    for cid in md.ids():
        md("rm", "-f", cid, check=False)
    md("rmi", "hcimg")


def test_the_images_healthcheck_and_no_healthcheck(md, hcimg):
    cid = md("run", "-d", hcimg).out.strip()
    assert md.inspect(cid)["healthcheck"] == {"Test": ["CMD", "test", "-f", "/tmp/ok"], "Interval": 150 * MS,
                                              "Timeout": 30000 * MS, "StartPeriod": 0, "Retries": 2}
    assert _wait(lambda: _health(md, cid).get("status") == "healthy")
    # a flag replaces only its own part of the image's check
    other = md("run", "-d", "--health-retries", "7", hcimg).out.strip()
    assert md.inspect(other)["healthcheck"]["Retries"] == 7
    assert md.inspect(other)["healthcheck"]["Test"] == ["CMD", "test", "-f", "/tmp/ok"]
    none = md("run", "-d", "--no-healthcheck", hcimg).out.strip()
    assert md.inspect(none)["healthcheck"] is None
    time.sleep(0.5)
    assert md.inspect(none).get("health") is None
    assert "running  " in _status_line(md, none) or _status_line(md, none).split()[4] == "running"


def test_restart_is_starting_again(md):
    cid = md("run", "-d", "--health-cmd", "true", "--health-interval", "3s", "busybox", "sleep", "100").out.strip()
    assert _wait(lambda: _health(md, cid).get("status") == "healthy")
    md("restart", "-t", "0", cid)
    h = _health(md, cid)  # the first check comes an interval after the start
    assert h["status"] == "starting" and h["log"] == [], h
    assert _wait(lambda: _health(md, cid).get("status") == "healthy")


def test_a_readopted_monitor_goes_on_checking(md):
    cid = md("run", "-d", "--health-cmd", "true", "--health-interval", "200ms", "busybox",
             "sh", "-c", "while true; do echo tick; sleep 0.2; done").out.strip()
    assert _wait(lambda: _health(md, cid).get("status") == "healthy")
    rec = md.inspect(cid)
    os.kill(int(rec["monitorPid"]), 9)
    assert _wait(lambda: not os.path.exists("/proc/%s" % rec["monitorPid"]))
    time.sleep(0.5)
    assert "adopted container" in md("prune").out
    ends = _health(md, cid)["log"][-1]["end"]
    assert _wait(lambda: _health(md, cid)["log"][-1]["end"] > ends)
    assert _health(md, cid)["status"] == "healthy"
    # the output still reaches the log (the container never lost its stdout)
    n = md("logs", cid).out.count("tick")
    assert _wait(lambda: md("logs", cid).out.count("tick") > n + 2)
    assert md.inspect(cid)["pid"] == rec["pid"]


@pytest.mark.parametrize("flags,msg", [
    (["--health-cmd", "true", "--health-interval", "0s"], "--health-interval: must be more than 0"),
    (["--health-cmd", "true", "--health-interval=-1s"], "--health-interval: must be more than 0"),
    (["--health-cmd", "true", "--health-timeout", "soon"], "--health-timeout: invalid duration"),
    (["--health-cmd", "true", "--health-retries", "x"], "--health-retries: must be an integer"),
    (["--health-cmd", "true", "--health-start-period", "1y"], "--health-start-period: invalid duration"),
    (["--health-cmd", "true", "--no-healthcheck"], "--no-healthcheck conflicts with --health-cmd"),
])
def test_bad_input_is_one_line_and_creates_nothing(md, flags, msg):
    p = md("run", "-d", *flags, "busybox", "sleep", "10", check=False)
    assert p.returncode != 0 and msg in p.err, p.err
    assert len(p.err.strip().splitlines()) == 1
    assert md.ids() == []
