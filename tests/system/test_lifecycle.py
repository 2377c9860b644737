"""stop (SIGTERM then SIGKILL), start, restart, rm, restart policies, run -it."""
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time

from conftest import CLI


def wait_status(md, ref, status, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        rec = md.inspect(ref)
        if rec["status"] == status:
            return rec
        time.sleep(0.05)
    raise AssertionError("%s never became %s: %s" % (ref, status, md.inspect(ref)))


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_stop_escalates_to_sigkill_when_pid1_ignores_sigterm(md):
    md("run", "-d", "--name", "stubborn", "busybox", "sleep", "1000")
    pid = int(md.inspect("stubborn")["pid"])
    t0 = time.time()
    md("stop", "-t", "1", "stubborn")
    took = time.time() - t0
    assert not alive(pid)
    assert took >= 0.9  # it waited for the timeout before SIGKILL
    rec = md.inspect("stubborn")
    assert rec["status"] == "exited" and rec["exitCode"] == 137


def test_stop_with_a_handler_exits_cleanly(md):
    md("run", "-d", "--name", "polite", "busybox", "sh", "-c",
       "trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done")
    time.sleep(0.3)
    md("stop", "-t", "5", "polite")
    rec = md.inspect("polite")
    assert rec["exitCode"] == 0
    assert "bye" in md("logs", "polite").out


def test_start_again_keeps_upper_layer_and_volumes(md, tmp_path):
    md("run", "-d", "--name", "keep", "-v", "%s:/vol" % tmp_path, "busybox", "sh", "-c",
       "echo $$ >> /vol/starts; echo layer > /kept; sleep 1000")
    time.sleep(0.3)
    first = md.inspect("keep")
    md("stop", "-t", "0", "keep")
    merged = os.path.join(md.root, "overlay2", first["id"], "merged")
    assert merged not in open("/proc/self/mountinfo").read()  # a stopped container holds no mount
    md("start", "keep")
    rec = wait_status(md, "keep", "running")
    assert rec["id"] == first["id"] and rec["pid"] != first["pid"]
    assert md("exec", "keep", "cat", "/kept").out == "layer\n"
    time.sleep(0.2)
    assert len((tmp_path / "starts").read_text().split()) == 2
    p = md("start", "keep", check=False)
    assert p.returncode != 0 and "already running" in p.err


def test_restart_gives_a_new_process(md):
    md("run", "-d", "--name", "rs", "busybox", "sleep", "1000")
    old = int(md.inspect("rs")["pid"])
    md("restart", "-t", "0", "rs")
    rec = wait_status(md, "rs", "running")
    assert int(rec["pid"]) != old and not alive(old)


def test_rm_refuses_running_unless_forced(md):
    cid = md("run", "-d", "--name", "busy", "busybox", "sleep", "1000").out.strip()
    p = md("rm", "busy", check=False)
    assert p.returncode != 0 and "running" in p.err
    assert md.inspect("busy")["status"] == "running"
    pid = int(md.inspect("busy")["pid"])
    md("rm", "-f", "busy")
    assert not alive(pid)
    assert cid not in md.ids()
    assert not os.path.exists(os.path.join(md.root, "overlay2", cid))


def test_rm_never_deletes_host_files_through_a_volume(md, tmp_path):
    (tmp_path / "precious").write_text("keep me")
    md("run", "-d", "--name", "vol", "-v", "%s:/data" % tmp_path, "busybox", "sleep", "1000")
    md("rm", "-f", "vol")
    assert (tmp_path / "precious").read_text() == "keep me"


def test_restart_policy_on_failure_with_limit(md):
    md("run", "-d", "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c",
       "echo run; exit 1")
    deadline = time.time() + 15
    while time.time() < deadline:
        rec = md.inspect("flaky")
        if rec["status"] == "exited" and rec.get("monitorPid") == "":
            break
        time.sleep(0.1)
    assert rec["restartCount"] == 2 and rec["exitCode"] == 1
    assert md("logs", "flaky").out.count("run") == 3


def test_restart_policy_always_and_stop_wins(md):
    md("run", "-d", "--name", "phoenix", "--restart", "always", "busybox", "sh", "-c", "sleep 0.2; exit 0")
    deadline = time.time() + 15
    while md.inspect("phoenix")["restartCount"] < 2 and time.time() < deadline:
        time.sleep(0.1)
    assert md.inspect("phoenix")["restartCount"] >= 2
    md("stop", "-t", "1", "phoenix")
    count = md.inspect("phoenix")["restartCount"]
    time.sleep(1)
    rec = md.inspect("phoenix")
    assert rec["status"] == "exited" and rec["restartCount"] == count


def test_on_failure_does_not_restart_success(md):
    md("run", "-d", "--name", "fine", "--restart", "on-failure", "busybox", "true")
    time.sleep(0.5)
    rec = wait_status(md, "fine", "exited")
    assert rec["restartCount"] == 0 and rec["exitCode"] == 0


def _drive_pty(argv, script, env, rows=33, cols=77):
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    out = b""

    def read(t):
        nonlocal out
        end = time.time() + t
        while time.time() < end:
            r, dummy, dummy = select.select([fd], [], [], 0.05)
            if r:
                try:
                    d = os.read(fd, 4096)
                except OSError:
                    return
                if not d:
                    return
                out += d
    read(1.0)
    for line in script:
        os.write(fd, line)
        read(0.7)
    read(2)
    dummy, status = os.waitpid(pid, 0)
    os.close(fd)
    return out.decode("utf-8", "replace"), os.waitstatus_to_exitcode(status)


def test_run_it_gives_a_real_terminal_with_job_control(md):
    out, code = _drive_pty([sys.executable, CLI, "run", "-it", "--rm", "busybox", "sh"],
                           [b"tty; stty size\n", b"sleep 50 &\n", b"jobs\n", b"kill %1; exit 5\n"], md.env)
    assert "/dev/pts/0" in out
    assert "33 77" in out
    assert "Running" in out and "sleep 50" in out
    assert code == 5


def test_exec_it(md):
    md("run", "-d", "--name", "tgt", "busybox", "sleep", "1000")
    out, code = _drive_pty([sys.executable, CLI, "exec", "-it", "tgt", "sh"],
                           [b"tty; stty size; echo $TERM\n", b"exit 4\n"], md.env, rows=20, cols=90)
    assert "/dev/pts/" in out and "20 90" in out and "xterm" in out
    assert code == 4
