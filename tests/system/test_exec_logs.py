"""exec joins the namespaces and the cgroup and returns the status; logs and logs -f."""
import subprocess
import sys
import time

from conftest import CLI


def test_exec_returns_status_and_sees_the_container(md):
    md("run", "-d", "--name", "ex", "--hostname", "inside", "-e", "X=1", "busybox", "sleep", "1000")
    assert md("exec", "ex", "sh", "-c", "exit 9", check=False).returncode == 9
    p = md("exec", "ex", "sh", "-c", "hostname; echo $X; cat /proc/1/cmdline")
    assert p.out.split("\n")[:2] == ["inside", "1"]
    assert "sleep" in p.out
    rec = md.inspect("ex")
    cg = md("exec", "ex", "cat", "/proc/self/cgroup").out
    assert rec["cgroupManager"]["Path"] in cg
    ps = md("exec", "ex", "ps").out
    assert len([ln for ln in ps.splitlines()[1:] if ln.strip()]) == 2  # sleep and ps: own PID namespace


def test_exec_args_env_workdir_and_errors(md):
    md("run", "-d", "--name", "ex2", "busybox", "sleep", "1000")
    assert md("exec", "-e", "Y=a b", "-w", "/tmp", "ex2", "sh", "-c", 'echo "$Y"; pwd').out == "a b\n/tmp\n"
    p = md("exec", "ex2", "nosuchcmd", check=False)
    assert p.returncode != 0 and "not found" in p.err
    md("stop", "-t", "0", "ex2")
    p = md("exec", "ex2", "true", check=False)
    assert p.returncode != 0 and "not running" in p.err


def test_logs_follow_streams_until_exit(md):
    md("run", "-d", "--name", "talker", "busybox", "sh", "-c",
       "for i in 1 2 3; do echo line$i; sleep 0.3; done")
    p = subprocess.run([sys.executable, CLI, "logs", "-f", "talker"], env=md.env, stdout=subprocess.PIPE,
                       timeout=20, check=False)
    assert p.stdout.decode().split() == ["line1", "line2", "line3"]


def test_logs_follow_sees_new_lines(md):
    md("run", "-d", "--name", "slow", "busybox", "sh", "-c", "echo first; sleep 1.5; echo second; sleep 1000")
    p = subprocess.Popen([sys.executable, CLI, "logs", "-f", "slow"], env=md.env, stdout=subprocess.PIPE)
    try:
        time.sleep(2.5)
        md("stop", "-t", "0", "slow")
        out, dummy = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
    assert out.decode().split() == ["first", "second"]
