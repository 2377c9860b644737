# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Log options, reading across rotated files (--since, --tail, timestamps), and the monitor's
lean loop (logs.SUPERVISOR) run for real: a child writing to its FIFO, the copy, the rotation,
the timestamp index, the exit code handed to a fake engine's resume.py (no root)."""

import json
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import logloop, logs, monitor
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import healthopts


@pytest.mark.parametrize("text,size", [("10m", 10 * 1024 ** 2), ("512k", 512 * 1024), ("1g", 1024 ** 3),
                                       ("100", 100), ("10MB", 10 * 1024 ** 2), ("2KiB", 2048), ("1.5k", 1536)])
def test_sizes(text, size):
    assert logs.parse_size(text) == size


@pytest.mark.parametrize("bad", ["", "0", "-1m", "10x", "m", "ten"])
def test_bad_sizes(bad):
    with pytest.raises(MyDockerError) as e:
        logs.parse_size(bad)
    assert str(e.value).startswith("log option max-size: invalid size")


def test_log_config():
    assert logs.parse_log_config(None, []) is None
    assert logs.parse_log_config(None, ["max-size=10m,max-file=3"]) == \
        {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}}
    got = logs.parse_log_config("json-file", ["max-size=1k", "max-file=2"])
    assert got["Config"] == {"max-size": "1k", "max-file": "2"}
    assert logs.parse_log_config(None, {"max-size": "1m"})["Config"] == {"max-size": "1m"}
    for driver, opts, msg in (("syslog", [], "log driver 'syslog' is not supported"),
                              (None, ["max-size=huge"], "log option max-size: invalid size"),
                              (None, ["max-file=0", "max-size=1m"], "log option max-file: must be a positive"),
                              (None, ["compress=true"], "log option 'compress' is not supported"),
                              (None, ["max-size"], "log option 'max-size': expected KEY=VALUE"),
                              (None, ["max-file=3"], "log option max-file needs max-size")):
        with pytest.raises(MyDockerError) as e:
            logs.parse_log_config(driver, opts)
        assert str(e.value).startswith(msg), str(e.value)


def test_module_form_is_normalised():
    assert healthopts.norm_log_options({"max-size": "10m", "max-file": 3}) == {"max-size": 10485760, "max-file": 3}
    assert healthopts.norm_log_options({"max-size": "10485760"}) == {"max-size": 10485760}
    rec = {"logConfig": logs.parse_log_config(None, {"max-size": "10485760", "max-file": "3"})}
    assert healthopts.record_log_options(rec) == {"max-size": 10485760, "max-file": 3}
    assert healthopts.record_log_options({}) == {} and healthopts.record_log_driver({}) == "json-file"
    with pytest.raises(MyDockerError) as e:
        healthopts.norm_log_options({"max-size": "0"})
    assert str(e.value).startswith("log_options: log option max-size")
    with pytest.raises(MyDockerError):
        healthopts.norm_log_driver("journald")


def test_since():
    now = 1800000000.0
    assert logs.parse_since("10m", now=now) == int((now - 600) * 1e9)
    assert logs.parse_since("1733050000.5") == 1733050000500000000
    assert logs.parse_since("2026-12-01T12:00:00Z") == 1796126400 * 10 ** 9
    assert logs.parse_since("2026-12-01T13:00:00+01:00") == 1796126400 * 10 ** 9
    assert logs.parse_since("2026-12-01T12:00:00.25Z") == 1796126400 * 10 ** 9 + 250000000
    assert logs.parse_since("2026-12-01T12:00:00.123456789Z") // 1000 == 1796126400123456
    assert logs.parse_since("2026-12-01") == 1796083200 * 10 ** 9
    for bad in ("yesterday", "2026-13-01T00:00:00Z", "2026-12-01Tnoon"):
        with pytest.raises(MyDockerError) as e:
            logs.parse_since(bad)
        assert str(e.value).startswith("--since: invalid time")


def test_stamp_and_tail():
    assert logs.stamp(1796126400 * 10 ** 9 + 5) == "2026-12-01T12:00:00.000000005Z"
    assert logs.parse_tail("all") is None and logs.parse_tail("3") == 3
    with pytest.raises(MyDockerError):
        logs.parse_tail("-1")


def _write(path, data, index=None):
    with open(path, "wb") as f:
        f.write(data)
    if index is not None:
        with open(path + ".ts", "w") as f:
            f.write("".join("%d %d\n" % e for e in index))


def test_reads_across_rotated_files_in_order_with_times(tmp_path):
    log = str(tmp_path / "log.txt")
    _write(log + ".2", b"one\ntwo\n", [(4, 100), (8, 200)])
    _write(log + ".1", b"three\n", [(6, 300)])
    # a partial line written in two pieces: the line's time is its first piece's
    _write(log, b"fo" + b"ur\nfive\n", [(2, 400), (5, 450), (10, 500)])
    assert logs.log_files(log) == [log + ".2", log + ".1", log]
    got = list(logs.read_lines(log))
    assert got == [(100, b"one\n"), (200, b"two\n"), (300, b"three\n"), (400, b"four\n"), (500, b"five\n")]
    assert [ln for _t, ln in logs.select_lines(log, since=300)] == [b"three\n", b"four\n", b"five\n"]
    assert [ln for _t, ln in logs.select_lines(log, tail=2)] == [b"four\n", b"five\n"]
    assert logs.select_lines(log, tail=0) == []
    assert [ln for _t, ln in logs.select_lines(log, since=250, tail=1)] == [b"five\n"]


def test_an_old_log_without_index_is_read_with_its_mtime(tmp_path):
    log = str(tmp_path / "log.txt")
    _write(log, b"a\nb")
    os.utime(log, (1000, 1000))
    assert list(logs.read_lines(log)) == [(1000 * 10 ** 9, b"a\n"), (1000 * 10 ** 9, b"b")]


def test_follower_sees_new_lines_and_a_rotation(tmp_path):
    log = str(tmp_path / "log.txt")
    _write(log, b"old\n", [(4, 1)])
    f = logs.Follower(log)
    f.start_at_end()
    assert f.poll() == []
    with open(log, "ab") as fh:
        fh.write(b"new\n")
    with open(log + ".ts", "a") as fh:
        fh.write("8 2\n")
    assert f.poll() == [(2, b"new\n")]
    os.rename(log, log + ".1")
    _write(log, b"after\n", [(6, 3)])
    assert f.poll() == []  # the old file is done
    assert f.poll() == [(3, b"after\n")]


# ------------------------------------------------------------------ the lean loop, for real

def _engine(tmp_path):
    engine = tmp_path / "engine"
    engine.mkdir()
    (engine / "wait.py").write_text(monitor.WAITER)
    (engine / "resume.py").write_text(
        "import json, sys\nopen(%r, 'w').write(json.dumps(sys.argv[1:]))\n" % str(tmp_path / "resumed.json"))
    # a probe that only counts its runs
    pkg = engine.joinpath("ansible_collections", "mydocker", "runtime", "plugins", "module_utils", "engine")
    pkg.mkdir(parents=True)
    (pkg / "health.py").write_text(
        "def probe_main(argv):\n    open(%r, 'a').write(' '.join(argv) + '\\n')\n" % str(tmp_path / "probes"))
    return engine


# forks the "container" (a shell with its stdout and stderr on the FIFO, read-write as
# logs.open_fifo opens it), then becomes the monitor's waiter, as Monitor.start does: argv
# FIFO CMD then the waiter's command line up to PID (replaced) and the rest
LAUNCH = """
import os, sys
at = sys.argv.index("@PID@")
fifo, cmd, prog, rest = sys.argv[1], sys.argv[2], sys.argv[3:at], sys.argv[at + 1:]
os.mkfifo(fifo, 0o600)
fd = os.open(fifo, os.O_RDWR)
pid = os.fork()
if pid == 0:
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.execvp("sh", ["sh", "-c", cmd])
os.set_inheritable(fd, True)  # held until the waiter has its own reader (FIFO: FD:PATH)
rest = [("%d:%s" % (fd, x) if x == fifo else x) for x in rest]
os.execv(sys.executable, prog + [str(pid)] + rest)
"""


def _run_loop(tmp_path, cmd, maxsize=0, maxfile=1, interval=None, timeout=20):
    """The waiter (wait.py, its --log relay) or, with ``interval``, logloop.py (LOOP_CMD)."""
    engine = _engine(tmp_path)
    log = str(tmp_path / "log.txt")
    fifo = str(tmp_path / "log.fifo")
    began = time.time()
    logargs = [fifo, log, str(maxsize), str(maxfile)]
    if interval is None:
        prog = [sys.executable, "-S", "-E", "-s", str(engine / "wait.py"), "/root-x", "cid1"]
        rest = ["-", repr(began), "0.1", "--log"] + logargs
    else:
        # logloop imported from this checkout (the fake engine has only the probe's health.py)
        prog = [sys.executable, "-S", "-E", "-s", "-c", LOOP_SHIM, str(engine), "/root-x", "cid1"]
        rest = ["-", repr(began), "0.1", "child"] + logargs + [interval]
    p = subprocess.run([sys.executable, "-c", LAUNCH, fifo, cmd] + prog + ["@PID@"] + rest + ["7", "8"],
                       timeout=timeout, check=False)
    assert p.returncode == 0
    return log, json.loads((tmp_path / "resumed.json").read_text()), began


LOOP_SHIM = "import sys; sys.path.insert(0, %r); exec(open(%r).read()); main(sys.argv[1:])" % (
    os.path.dirname(logloop.__file__), logloop.__file__)


def test_loop_copies_the_output_and_hands_on_the_exit_code(tmp_path):
    log, argv, began = _run_loop(tmp_path, "echo out; echo err >&2; printf partial; exit 3")
    assert argv[:3] == ["/root-x", "cid1", "3"]
    assert argv[3] == "-" and float(argv[4]) == pytest.approx(began) and argv[5:] == ["0.1", "7", "8"]
    with open(log, "rb") as f:
        assert f.read() == b"out\nerr\npartial"  # the raw output, unchanged
    got = list(logs.read_lines(log))
    assert [ln for _t, ln in got] == [b"out\n", b"err\n", b"partial"]
    assert all(began * 1e9 - 1e9 < t < time.time() * 1e9 for t, _ln in got)


def test_loop_rotates_at_max_size_keeping_max_file_files(tmp_path):
    cmd = "i=0; while [ $i -lt 40 ]; do echo line-$i; i=$((i+1)); done; kill -9 $$"
    log, argv, _b = _run_loop(tmp_path, cmd, maxsize=100, maxfile=3)
    assert argv[2] == str(128 + 9)
    assert logs.log_files(log) == [log + ".2", log + ".1", log]
    assert not os.path.exists(log + ".3")
    for f in logs.log_files(log):
        assert 0 < os.path.getsize(f) <= 100
    lines = [ln.decode().strip() for _t, ln in logs.read_lines(log)]
    assert lines == ["line-%d" % i for i in range(40 - len(lines), 40)]  # the newest, in order
    assert 10 < len(lines) < 40


def test_loop_with_one_file_keeps_only_the_newest(tmp_path):
    log, _argv, _b = _run_loop(tmp_path, "i=0; while [ $i -lt 30 ]; do echo l$i; i=$((i+1)); done",
                               maxsize=50, maxfile=1)
    assert logs.log_files(log) == [log]
    lines = [ln for _t, ln in logs.read_lines(log)]
    assert lines[-1] == b"l29\n" and len(lines) < 30


@pytest.mark.parametrize("interval", [None, "1000"])
def test_both_waiters_copy_and_rotate_alike(tmp_path, interval):
    cmd = "i=0; while [ $i -lt 40 ]; do echo line-$i; i=$((i+1)); done; exit 4"
    log, argv, _b = _run_loop(tmp_path, cmd, maxsize=100, maxfile=2, interval=interval)
    assert argv[:3] == ["/root-x", "cid1", "4"] and argv[5:] == ["0.1", "7", "8"]
    assert logs.log_files(log) == [log + ".1", log]
    lines = [ln.decode().strip() for _t, ln in logs.read_lines(log)]
    assert lines == ["line-%d" % i for i in range(40 - len(lines), 40)]


def test_loop_runs_a_probe_every_interval(tmp_path):
    log, argv, began = _run_loop(tmp_path, "sleep 1.2; echo done", interval="0.3")
    assert argv[2] == "0"
    runs = (tmp_path / "probes").read_text().splitlines()
    assert 2 <= len(runs) <= 5, runs
    assert runs[0] == "/root-x cid1 %r" % began  # ROOT CID BEGAN
    with open(log, "rb") as f:
        assert f.read() == b"done\n"
