"""Logs of real containers: the monitor copies the output and rotates it (--log-opt max-size,
max-file), ``logs`` reads across the rotated files in order, --tail, --since, -t; a log written
before the timestamp index is still read; a container whose monitor died keeps its stdout; bad
options are one line that creates nothing."""
import os
import re
import time

import pytest

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ")


def _wait(fn, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    return fn()


def _exited(md, ref):
    return _wait(lambda: md.inspect(ref)["status"] == "exited")


def test_rotation_keeps_max_file_files_and_logs_reads_them_in_order(md):
    cid = md("run", "-d", "--log-opt", "max-size=1k,max-file=3", "busybox", "sh", "-c",
             "i=0; while [ $i -lt 500 ]; do echo line-$i; i=$((i+1)); done").out.strip()
    assert md.inspect(cid)["logConfig"] == {"Type": "json-file", "Config": {"max-size": "1k", "max-file": "3"}}
    assert _exited(md, cid)
    d = os.path.join(md.root, "containers", cid)
    files = sorted(n for n in os.listdir(d) if n.startswith("log.txt") and not n.endswith(".ts"))
    assert files == ["log.txt", "log.txt.1", "log.txt.2"]
    for n in files:
        assert 0 < os.path.getsize(os.path.join(d, n)) <= 1024
    lines = md("logs", cid).out.splitlines()
    assert lines[-1] == "line-499"
    assert lines == ["line-%d" % i for i in range(500 - len(lines), 500)]  # the newest, in order, none lost
    assert 100 < len(lines) < 500
    assert md("logs", "--tail", "3", cid).out == "line-497\nline-498\nline-499\n"
    assert md("logs", "--tail", "0", cid).out == ""


def test_timestamps_and_since(md):
    cid = md("run", "-d", "busybox", "sh", "-c", "echo first; sleep 1.5; echo second; echo third").out.strip()
    assert _exited(md, cid)
    out = md("logs", "-t", cid).out.splitlines()
    assert len(out) == 3 and all(STAMP.match(ln) for ln in out), out
    assert [ln.split(" ", 1)[1] for ln in out] == ["first", "second", "third"]
    t_second = out[1].split(" ")[0]
    assert out[0].split(" ")[0] < t_second
    # RFC 3339 (the stamp itself) and relative times
    assert md("logs", "--since", t_second, cid).out == "second\nthird\n"
    assert md("logs", "--since", "1h", cid).out == "first\nsecond\nthird\n"
    assert md("logs", "--since", "2099-01-01T00:00:00Z", cid).out == ""
    assert md("logs", "--since", "1h", "--tail", "1", "-t", cid).out.endswith(" third\n")
    # log.txt stays the raw output (SPEC 1.3)
    with open(os.path.join(md.root, "containers", cid, "log.txt")) as f:
        assert f.read() == "first\nsecond\nthird\n"
    p = md("logs", "--since", "someday", cid, check=False)
    assert p.returncode != 0 and p.err.strip().count("\n") == 0 and "--since: invalid time" in p.err


def test_a_log_from_before_the_index_is_still_read(md):
    cid = md("run", "-d", "busybox", "echo", "new").out.strip()
    assert _exited(md, cid)
    d = os.path.join(md.root, "containers", cid)
    with open(os.path.join(d, "log.txt"), "w") as f:
        f.write("old one\nold two\n")
    os.unlink(os.path.join(d, "log.txt.ts"))
    os.utime(os.path.join(d, "log.txt"), (1700000000, 1700000000))
    assert md("logs", cid).out == "old one\nold two\n"
    stamp = "2023-11-14T22:13:20.000000000Z "  # the file's mtime
    assert md("logs", "-t", cid).out == stamp + "old one\n" + stamp + "old two\n"
    assert md("logs", "--tail", "1", cid).out == "old two\n"


def test_follow_goes_on_across_a_rotation(md):
    cid = md("run", "-d", "--log-opt", "max-size=200", "--log-opt", "max-file=2", "busybox", "sh", "-c",
             "sleep 1; i=0; while [ $i -lt 60 ]; do echo follow-$i; i=$((i+1)); sleep 0.02; done").out.strip()
    out = md("logs", "-f", cid, timeout=60).out.splitlines()
    assert out == ["follow-%d" % i for i in range(60)]


def test_a_container_whose_monitor_died_keeps_writing(md):
    cid = md("run", "-d", "busybox", "sh", "-c", "while true; do echo tick; sleep 0.05; done").out.strip()
    rec = md.inspect(cid)
    os.kill(int(rec["monitorPid"]), 9)
    time.sleep(1.5)  # it writes with no monitor reading: it must not die of EPIPE (SIGPIPE)
    now = md.inspect(cid)
    assert now["pid"] == rec["pid"] and os.path.exists("/proc/%s" % rec["pid"])
    assert "adopted container" in md("prune").out
    n = md("logs", cid).out.count("tick")
    assert _wait(lambda: md("logs", cid).out.count("tick") > n + 5)
    md("rm", "-f", cid)


@pytest.mark.parametrize("flags,msg", [
    (["--log-opt", "max-size=big"], "log option max-size: invalid size 'big'"),
    (["--log-opt", "max-size=0"], "log option max-size: invalid size '0'"),
    (["--log-opt", "max-file=0,max-size=1m"], "log option max-file: must be a positive integer"),
    (["--log-opt", "mode=non-blocking"], "log option 'mode' is not supported"),
    (["--log-driver", "syslog"], "log driver 'syslog' is not supported"),
])
def test_bad_log_options_are_one_line_and_create_nothing(md, flags, msg):
    p = md("run", "-d", *flags, "busybox", "true", check=False)
    assert p.returncode != 0 and msg in p.err, p.err
    assert len(p.err.strip().splitlines()) == 1
    assert md.ids() == []
