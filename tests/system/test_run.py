"""run: attached and detached, arguments, environment, volumes, workdir, hostname, --rm, ps."""
import json
import os
import time

import pytest


def test_attached_run_prints_output_and_returns_exit_code(md):
    p = md("run", "busybox", "echo", "hello", "world")
    assert p.out == "hello world\n"
    assert md("run", "busybox", "sh", "-c", "exit 7", check=False).returncode == 7


def test_command_keeps_its_arguments_exactly(md):
    p = md("run", "--name", "args", "busybox", "printf", "[%s]", "a  b", "ls -l", "")
    assert p.out == "[a  b][ls -l][]"
    rec = md.record(md.inspect("args")["id"])
    assert rec["cmd"] == ["printf", "[%s]", "a  b", "ls -l", ""]


def test_state_record_has_the_go_tools_keys(md):
    cid = md("run", "-d", "busybox", "sleep", "30").out.strip()
    assert len(cid) == 10 and cid.isdigit()
    rec = md.record(cid)
    for key in ("pid", "id", "name", "command", "createdTime", "status", "volume", "networkName",
                "portmapping", "ip", "cgroupManager"):
        assert key in rec, key
    assert rec["name"] == cid
    assert isinstance(rec["pid"], str) and int(rec["pid"]) > 1
    assert rec["status"] == "running"
    assert rec["cgroupManager"]["Path"].endswith("/" + cid)
    time.strptime(rec["createdTime"], "%Y-%m-%d %H:%M:%S")


def test_detached_output_goes_to_log_and_ps_tells_the_truth(md):
    cid = md("run", "-d", "--name", "quick", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3").out.strip()
    deadline = time.time() + 10
    while time.time() < deadline and md.inspect(cid)["status"] == "running":
        time.sleep(0.05)
    logs = open(os.path.join(md.root, "containers", cid, "log.txt")).read()
    assert "out\n" in logs and "err\n" in logs
    assert md("logs", "quick").out == logs
    assert cid not in md("ps").out
    line = [ln for ln in md("ps", "-a").out.splitlines() if ln.startswith(cid)][0]
    assert "exited (3)" in line
    assert md.inspect(cid)["exitCode"] == 3


def test_ps_columns_and_name_lookup(md):
    md("run", "-d", "--name", "sleeper", "busybox", "sleep", "30")
    out = md("ps").out.splitlines()
    assert out[0].split() == ["ID", "NAME", "IP", "PID", "STATUS", "COMMAND", "CREATED", "Volume"]
    row = [ln for ln in out if " sleeper " in ln][0]
    assert "running" in row and "sleep 30" in row
    assert md("ps", "-q").out.split() == [md.inspect("sleeper")["id"]]


def test_environment_is_clean_and_set_by_user(md):
    env = dict(md.env, HOST_SECRET="leak")
    p = md("run", "-e", "A=1", "-e", "B=two words", "--env", "C=x=y", "busybox", "env", env=env)
    got = dict(line.split("=", 1) for line in p.out.splitlines())
    assert got.pop("PWD", None) in (None, "/")
    got.pop("SHLVL", None)
    assert got == {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                   "HOSTNAME": got["HOSTNAME"], "A": "1", "B": "two words", "C": "x=y"}


def test_hostname_workdir_and_etc_files(md):
    p = md("run", "--hostname", "box1", "-w", "/work/dir", "busybox", "sh", "-c",
           "hostname; cat /etc/hostname; pwd; grep box1 /etc/hosts; test -f /etc/resolv.conf && echo resolv")
    assert p.out.splitlines() == ["box1", "box1", "/work/dir", "127.0.1.1\tbox1", "resolv"]


def test_volumes_read_write_and_read_only(md, tmp_path):
    rw = tmp_path / "rw"
    ro = tmp_path / "ro"
    rw.mkdir()
    ro.mkdir()
    (ro / "data").write_text("from host\n")
    new = tmp_path / "created" / "deep"
    p = md("run", "-v", "%s:/data" % rw, "-v", "%s:/conf:ro" % ro, "--volume", "%s:/new" % new, "busybox",
           "sh", "-c", "echo hi > /data/f; cat /conf/data; echo x > /conf/y || echo ro-refused; "
           "echo n > /new/n")
    assert (rw / "f").read_text() == "hi\n"
    assert "from host" in p.out and "ro-refused" in p.out
    assert not (ro / "y").exists()
    assert (new / "n").read_text() == "n\n"
    # the bind mounts lived in the container's mount namespace only
    assert str(rw) not in open("/proc/self/mountinfo").read()


def test_rm_flag_removes_the_container_after_exit(md):
    p = md("run", "--rm", "--name", "gone", "busybox", "echo", "bye")
    assert p.out == "bye\n"
    assert md.ids() == []
    cid = md("run", "-d", "--rm", "busybox", "true").out.strip()
    deadline = time.time() + 10
    while time.time() < deadline and cid in md.ids():
        time.sleep(0.05)
    assert cid not in md.ids()


def _cli(md, *args):
    import subprocess

    from conftest import CLI, PYTHON
    return subprocess.Popen(PYTHON + [CLI] + list(args), env=md.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _until(cond, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline and not cond():
        time.sleep(0.05)
    return cond()


def test_attached_rm_run_removes_the_container_itself(md):
    """The waiter hands an attached run --rm the exit (engine/monitor.py, ATTACHED): while that CLI
    is stopped, the exited container stays; once it goes on, it removes it and exits with the code."""
    import signal
    p = _cli(md, "run", "--rm", "--name", "handed", "busybox", "sh", "-c", "sleep 1; exit 5")
    try:
        assert _until(lambda: "handed" in md("ps").out)
        p.send_signal(signal.SIGSTOP)
        assert _until(lambda: "exited" in md("ps", "-a").out)  # PID 1 gone, its record kept for the CLI
        time.sleep(0.5)
        assert len(md.ids()) == 1
    finally:
        p.send_signal(signal.SIGCONT)
    assert p.wait(20) == 5
    assert md.ids() == []


def test_attached_rm_run_killed_leaves_the_removal_to_the_monitor(md):
    import signal
    for stop_first in (False, True):  # killed while the container runs; or after the hand-over line
        p = _cli(md, "run", "--rm", "--name", "orphan", "busybox", "sh", "-c", "sleep 1; exit 5")
        assert _until(lambda: "orphan" in md("ps").out)
        if stop_first:
            p.send_signal(signal.SIGSTOP)
            assert _until(lambda: "exited" in md("ps", "-a").out)
        p.kill()
        p.wait(10)
        assert _until(lambda: md.ids() == [], 15), md("ps", "-a").out


def test_stdin_with_i(md):
    p = md("run", "-i", "busybox", "tr", "a-z", "A-Z", input=b"shout\n")
    assert p.out == "SHOUT\n"
    p = md("run", "busybox", "cat", input=b"ignored\n")
    assert p.out == ""


def test_monitor_survives_the_cli_and_is_parent_of_pid1(md):
    # the Python waiter (the native one, when a compiler is there: test_native_waiter.py)
    cid = md("run", "-d", "busybox", "sleep", "30", env=dict(md.env, MYDOCKER_NATIVE_WAITER="0")).out.strip()
    rec = md.inspect(cid)
    mon = int(rec["monitorPid"])
    pid = int(rec["pid"])
    with open("/proc/%d/stat" % pid) as f:
        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    assert ppid == mon
    # while the container runs, the monitor is a lean interpreter (no site, no engine loaded)
    # running the engine's private copy; the benchmark reports what it costs
    with open("/proc/%d/cmdline" % mon, "rb") as f:
        argv = f.read().decode().split("\0")
    assert argv[1] == "-S" and argv[4].startswith(os.path.join(md.root, ".engine") + "/")
    assert argv[4].endswith("/wait.py")
    with open("/proc/%d/maps" % mon) as f:
        assert "pyroute2" not in f.read()
    # it still records the exit when the container ends
    md("stop", "-t", "0", cid)
    assert md.inspect(cid)["exitCode"] == 137 and md.inspect(cid)["monitorPid"] == ""


def test_prune_removes_unused_engine_copies(md):
    md("run", "busybox", "true")
    stale = os.path.join(md.root, ".engine", "0000000000000000")
    os.makedirs(stale)
    assert "engine copy .engine/0000000000000000" in md("prune").out
    assert not os.path.exists(stale)
    # the one copy in use, and the names of the sources remembered for it (monitor.KEYS)
    copies = sorted(os.listdir(os.path.join(md.root, ".engine")))
    assert len(copies) == 2 and copies[0] == ".by-source", copies
    keys = os.path.join(md.root, ".engine", ".by-source")
    with open(os.path.join(keys, os.listdir(keys)[0])) as f:
        assert f.read().strip() == copies[1]


def test_concurrent_runs_get_distinct_ids_and_valid_state(md):
    import subprocess

    from conftest import CLI, PYTHON
    procs = [subprocess.Popen(PYTHON + [CLI, "run", "-d", "--name", "c%d" % i, "busybox", "sleep", "30"],
                              env=md.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(8)]
    ids = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        ids.append(out.decode().strip())
    assert len(set(ids)) == 8
    names = sorted(md.inspect(i)["name"] for i in ids)
    assert names == sorted("c%d" % i for i in range(8))
    for i in ids:
        json.load(open(os.path.join(md.root, "containers", i, "config.json")))
    procs = [subprocess.Popen(PYTHON + [CLI, "rm", "-f", i], env=md.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for i in ids]
    for p in procs:
        p.communicate(timeout=60)
        assert p.returncode == 0
    assert md.ids() == []


@pytest.mark.parametrize("ref", ["name", "id"])
def test_every_command_takes_name_or_id(md, ref):
    cid = md("run", "-d", "--name", "both", "busybox", "sh", "-c", "echo ready; sleep 30").out.strip()
    r = "both" if ref == "name" else cid
    assert md("exec", r, "true").returncode == 0
    assert md.inspect(r)["id"] == cid
    md("logs", r)
    md("stop", "-t", "0", r)
    md("start", r)
    md("restart", "-t", "0", r)
    md("commit", r, "--output", os.path.join(md.root, "x.tar"))
    os.unlink(os.path.join(md.root, "x.tar"))
    md("rm", "-f", r)
    assert md.ids() == []


def _wait(cond, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def test_a_stale_removal_mark_does_not_outlive_a_restart(md):
    """rm -f marks the container before it kills (monitor.REMOVING); a mark left by an rm that
    failed later is dropped by the next start, so that start's exit is recorded as usual."""
    cid = md("run", "-d", "busybox", "sleep", "0.5").out.strip()
    assert _wait(lambda: md.inspect(cid)["status"] == "exited")
    with open(os.path.join(md.root, "containers", cid, "removing"), "w"):
        pass
    md("start", cid)
    assert _wait(lambda: md.inspect(cid)["status"] == "exited" and md.inspect(cid)["monitorPid"] == "")
    assert md.inspect(cid)["exitCode"] == 0
    assert not os.path.exists(os.path.join(md.root, "containers", cid, "removing"))
    md("rm", cid)
