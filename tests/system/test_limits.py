"""Cgroup limits, read back from the real cgroup files, and an OOM kill over the limit."""
import os

import pytest

V1 = os.path.isdir("/sys/fs/cgroup/memory") and not os.path.exists("/sys/fs/cgroup/cgroup.controllers")
pytestmark = pytest.mark.skipif(not V1, reason="this host's cgroup files are v1 (v2 is covered by unit tests)")


def cg(md, ref, controller, name):
    path = md.inspect(ref)["cgroupManager"]["Path"]
    with open(os.path.join("/sys/fs/cgroup", controller, path, name)) as f:
        return f.read().strip()


def test_limits_are_written_to_the_containers_cgroup(md):
    md("run", "-d", "--name", "lim", "-mem", "64m", "-cpu", "0.5", "-cpuset", "0", "--cpu-shares", "512",
       "--pids-limit", "20", "busybox", "sleep", "1000")
    assert cg(md, "lim", "memory", "memory.limit_in_bytes") == str(64 << 20)
    assert cg(md, "lim", "cpu", "cpu.cfs_quota_us") == "50000"
    assert cg(md, "lim", "cpu", "cpu.cfs_period_us") == "100000"
    assert cg(md, "lim", "cpu", "cpu.shares") == "512"
    assert cg(md, "lim", "cpuset", "cpuset.cpus") == "0"
    assert cg(md, "lim", "pids", "pids.max") == "20"
    pid = md.inspect("lim")["pid"]
    assert pid in cg(md, "lim", "memory", "cgroup.procs").split()
    rec = md.record(md.inspect("lim")["id"])
    assert rec["resources"] == {"memory": 64 << 20, "cpus": 0.5, "cpu_shares": 512, "cpuset_cpus": "0",
                                "pids_limit": 20}


def test_double_dash_spellings(md):
    md("run", "-d", "--name", "lim2", "--memory", "32m", "--cpus", "1", "--cpuset-cpus", "0-1",
       "busybox", "sleep", "1000")
    assert cg(md, "lim2", "memory", "memory.limit_in_bytes") == str(32 << 20)
    assert cg(md, "lim2", "cpu", "cpu.cfs_quota_us") == "100000"
    assert cg(md, "lim2", "cpuset", "cpuset.cpus") == "0-1"


def test_process_over_the_memory_limit_is_oom_killed(md):
    # dd fills a 64 MiB buffer: far over a 16 MiB limit
    p = md("run", "--name", "hog", "-mem", "16m", "busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M",
           "count=1", check=False)
    assert p.returncode == 137
    assert md.inspect("hog")["exitCode"] == 137
    # the same work fits without the limit
    assert md("run", "busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1").returncode == 0


def test_pids_limit_stops_forks(md):
    p = md("run", "--pids-limit", "3", "busybox", "sh", "-c",
           "for i in 1 2 3 4 5 6; do sleep 5 & done 2>&1; wait", check=False)
    assert "can't fork" in p.out + p.err or "Resource temporarily unavailable" in p.out + p.err


def test_cgroup_is_created_before_start_and_removed_with_the_container(md):
    cid = md("run", "-d", "busybox", "sleep", "1000").out.strip()
    path = md.inspect(cid)["cgroupManager"]["Path"]
    assert os.path.isdir(os.path.join("/sys/fs/cgroup/memory", path))
    md("stop", "-t", "0", cid)
    assert os.path.isdir(os.path.join("/sys/fs/cgroup/memory", path))  # kept while the container exists
    md("rm", cid)
    for c in ("memory", "cpu", "cpuset", "pids"):
        assert not os.path.exists(os.path.join("/sys/fs/cgroup", c, path))


def test_bad_limits_are_refused_and_change_nothing(md):
    for flags, word in ((["-mem", "lots"], "memory"), (["-mem", "1k"], "memory"), (["-cpu", "0"], "cpu"),
                        (["-cpu", "999"], "cpu"), (["-cpuset", "0-99"], "cpuset"),
                        (["--cpu-shares", "1"], "shares"), (["--pids-limit", "x"], "pids")):
        p = md("run", *(flags + ["busybox", "true"]), check=False)
        assert p.returncode != 0, flags
        assert word in p.err.lower(), (flags, p.err)
        assert len(p.err.strip().splitlines()) == 1
    assert md.ids() == []
