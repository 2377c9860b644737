"""The cgroups package against the real cgroup v1 hierarchies of this host (root only).

Every test works under a unique parent ``mydocker-test-<random>`` and the fixture removes every
process and directory it made, even when the test fails.
"""
import errno
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import cgroups as C
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.cgroups import base as B
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError

ROOT = "/sys/fs/cgroup"
MIB = 1024 * 1024

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.isfile(os.path.join(ROOT, "memory", "cgroup.procs"))
    or C.detect_version(ROOT) != "v1",
    reason="needs root and a cgroup v1 memory hierarchy")


def _read(*parts):
    with open(os.path.join(ROOT, *parts)) as f:
        return f.read().strip()


class Lab:
    """Cgroups and processes of one test, all removed by ``cleanup``."""

    def __init__(self):
        self.parent = "mydocker-test-" + uuid.uuid4().hex[:10]
        self.cgroups = []
        self.procs = []

    def cgroup(self, cid="c1"):
        cg = C.Cgroup(self.parent, cid, root=ROOT)
        self.cgroups.append(cg)
        return cg

    def spawn(self, argv, **kwargs):
        proc = subprocess.Popen(argv, **kwargs)
        self.procs.append(proc)
        return proc

    def dirs(self):
        """Every directory of our parent still present in any hierarchy."""
        found = []
        for name in sorted(os.listdir(ROOT)):
            base = os.path.join(ROOT, name, self.parent)
            for dirpath, _dirs, _files in os.walk(base, topdown=False):
                found.append(dirpath)
        return found

    def cleanup(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        for cg in self.cgroups:
            try:
                cg.destroy()
            except Exception:   # keep going; the sweep below gets the rest
                pass
        for path in self.dirs():   # deepest first
            for dummy in range(100):
                try:
                    os.rmdir(path)
                    break
                except OSError as e:
                    if e.errno == errno.ENOENT:
                        break
                    time.sleep(0.05)


@pytest.fixture
def lab():
    lab = Lab()
    try:
        yield lab
    finally:
        lab.cleanup()
    assert lab.dirs() == [], "cgroup directories left behind"


def _online_cpus():
    return sorted(C.cpu_list_to_set(_read("cpuset", "cpuset.cpus")))


def _in_cgroup(pid, parent, cid):
    """{controller: path} from /proc/<pid>/cgroup for the v1 controllers we manage."""
    out = {}
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _num, controllers, path = line.rstrip("\n").split(":", 2)
            for c in controllers.split(","):
                out[c] = path
    return out


def test_create_with_limits_reads_back(lab):
    cpu = _online_cpus()[-1]
    cg = lab.cgroup()
    wanted = {"memory": "32m", "cpus": "0.5", "cpu_shares": 512, "cpuset_cpus": str(cpu), "pids_limit": 20}
    cg.create(wanted)
    leaf = (lab.parent, "c1")
    for controller in ("memory", "cpu", "cpuacct", "cpuset", "pids", "freezer"):
        if os.path.isdir(os.path.join(ROOT, controller)):
            assert os.path.isdir(os.path.join(ROOT, controller, *leaf)), controller
    assert _read("memory", *leaf, "memory.limit_in_bytes") == str(32 * MIB)
    if os.path.exists(os.path.join(ROOT, "memory", *leaf, "memory.memsw.limit_in_bytes")):
        assert _read("memory", *leaf, "memory.memsw.limit_in_bytes") == str(32 * MIB)
    assert _read("cpu", *leaf, "cpu.cfs_period_us") == "100000"
    assert _read("cpu", *leaf, "cpu.cfs_quota_us") == "50000"
    assert _read("cpu", *leaf, "cpu.shares") == "512"
    assert _read("cpuset", *leaf, "cpuset.cpus") == str(cpu)
    assert _read("cpuset", *leaf, "cpuset.mems") == _read("cpuset", "cpuset.mems")
    assert _read("cpuset", lab.parent, "cpuset.cpus") == _read("cpuset", "cpuset.cpus")
    assert _read("pids", *leaf, "pids.max") == "20"
    assert cg.read_limits() == {"memory": 32 * MIB, "cpus": 0.5, "cpu_shares": 512,
                                "cpuset_cpus": str(cpu), "pids_limit": 20}
    assert cg.diff(wanted) == {}
    assert C.list_ids(lab.parent, root=ROOT) == ["c1"]


DOCKER_DEVICES = ["c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                  "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm"]


@pytest.mark.skipif(not os.path.isfile(os.path.join(ROOT, "devices", "cgroup.procs")),
                    reason="no cgroup v1 devices hierarchy")
def test_device_allowlist_is_enforced(lab):
    cg = lab.cgroup()
    cg.create()
    assert _read("devices", lab.parent, "c1", "devices.list").splitlines() == DOCKER_DEVICES
    # a process in the cgroup may open /dev/null but not the host's /dev/kmsg (c 1:11, not listed)
    code = ("import errno, os, sys\n"
            "sys.stdin.readline()\n"
            "os.close(os.open('/dev/null', os.O_RDWR))\n"
            "try:\n"
            "    os.close(os.open('/dev/kmsg', os.O_RDONLY | os.O_NONBLOCK))\n"
            "except OSError as e:\n"
            "    print('denied', errno.errorcode[e.errno])\n"
            "else:\n"
            "    print('opened')\n")
    proc = lab.spawn([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    cg.add(proc.pid)
    assert _in_cgroup(proc.pid, lab.parent, "c1")["devices"] == "/%s/c1" % lab.parent
    out, dummy = proc.communicate(b"go\n", timeout=30)
    assert out.decode().strip() == "denied EPERM"
    cg.destroy()
    assert not os.path.exists(os.path.join(ROOT, "devices", lab.parent))


def test_unlimited_reads_back_as_none(lab):
    cg = lab.cgroup()
    cg.create()
    assert cg.read_limits() == dict.fromkeys(("memory", "cpus", "cpu_shares", "cpuset_cpus", "pids_limit"))
    assert cg.diff({}) == {}


def test_add_process_update_in_place_and_destroy(lab):
    cg = lab.cgroup()
    cg.create({"memory": "32m", "pids_limit": 50})
    sleeper = lab.spawn(["sleep", "30"])
    cg.add(sleeper.pid)
    assert cg.procs() == [sleeper.pid]
    where = _in_cgroup(sleeper.pid, lab.parent, "c1")
    for controller in ("memory", "cpu", "cpuset", "pids"):
        assert where[controller] == "/%s/c1" % lab.parent, controller

    # raise, then lower, the memory limit with a process inside (memsw order matters)
    cg.update({"memory": "128m", "cpus": 1, "pids_limit": 50})
    assert _read("memory", lab.parent, "c1", "memory.limit_in_bytes") == str(128 * MIB)
    assert _read("cpu", lab.parent, "c1", "cpu.cfs_quota_us") == "100000"
    cg.update({"memory": "16m", "pids_limit": 7})
    assert cg.read_limits() == {"memory": 16 * MIB, "cpus": None, "cpu_shares": None,
                                "cpuset_cpus": None, "pids_limit": 7}
    assert cg.diff({"memory": "16m", "pids_limit": 7}) == {}
    assert cg.diff({"memory": "32m", "pids_limit": 7}) == {"memory": (32 * MIB, 16 * MIB)}
    assert sleeper.poll() is None          # updating limits did not disturb it

    cg.destroy()
    assert sleeper.wait(timeout=10) == -signal.SIGKILL
    assert not cg.exists()
    assert lab.dirs() == []
    cg.destroy()                           # already gone: fine


def test_pids_limit_is_enforced(lab):
    cg = lab.cgroup()
    cg.create({"pids_limit": 1})
    code = ("import os, sys\n"
            "sys.stdin.readline()\n"
            "try:\n"
            "    pid = os.fork()\n"
            "except OSError as e:\n"
            "    print('fork failed', e.errno)\n"
            "else:\n"
            "    if pid == 0:\n"
            "        os._exit(0)\n"
            "    os.waitpid(pid, 0)\n"
            "    print('forked')\n")
    proc = lab.spawn([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    cg.add(proc.pid)
    out, dummy = proc.communicate(b"go\n", timeout=30)
    assert out.decode().strip() == "fork failed %d" % errno.EAGAIN
    cg.update({"pids_limit": 2})
    proc = lab.spawn([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    cg.add(proc.pid)
    out, dummy = proc.communicate(b"go\n", timeout=30)
    assert out.decode().strip() == "forked"


def test_oom_kill(lab):
    cg = lab.cgroup()
    cg.create({"memory": "16m"})
    assert cg.oom_kill_count() == 0
    # wait for a line on stdin so that it is in the cgroup before it allocates ~64 MB
    code = "import sys; sys.stdin.readline(); b = b'x' * (64 << 20); print('survived', len(b))"
    proc = lab.spawn([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    cg.add(proc.pid)
    out, dummy = proc.communicate(b"go\n", timeout=60)
    assert proc.returncode == -signal.SIGKILL, out
    assert b"survived" not in out
    assert cg.oom_kill_count() >= 1
    assert cg.procs() == []


def test_destroy_keeps_parent_for_other_containers(lab):
    a, b = lab.cgroup("a"), lab.cgroup("b")
    a.create({"memory": "16m"})
    b.create({"cpus": "0.25"})
    assert C.list_ids(lab.parent, root=ROOT) == ["a", "b"]
    proc = lab.spawn(["sleep", "30"])
    a.add(proc.pid)
    a.destroy()
    assert proc.wait(timeout=10) == -signal.SIGKILL
    assert C.list_ids(lab.parent, root=ROOT) == ["b"]
    assert os.path.isdir(os.path.join(ROOT, "memory", lab.parent))
    b.destroy()
    assert lab.dirs() == []


def test_failed_create_leaves_nothing(lab, monkeypatch):
    real_write = B._write

    def failing_write(path, value):
        if path.endswith("pids.max"):
            raise OSError(errno.EACCES, "Permission denied", path)
        real_write(path, value)

    monkeypatch.setattr(B, "_write", failing_write)
    cg = lab.cgroup()
    with pytest.raises(MyDockerError, match="pids.max.*Permission denied"):
        cg.create({"memory": "16m", "pids_limit": 5})
    assert not cg.exists()
    assert lab.dirs() == []


def test_memory_below_usage_is_a_clear_error(lab):
    cg = lab.cgroup()
    cg.create({"memory": "64m"})
    code = ("import sys; sys.stdin.readline(); b = b'x' * (24 << 20); print('ready', flush=True); "
            "sys.stdin.readline()")
    proc = lab.spawn([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    cg.add(proc.pid)
    proc.stdin.write(b"go\n")
    proc.stdin.flush()
    assert proc.stdout.readline() == b"ready\n"
    # 24 MB of anonymous memory and no swap: the kernel cannot reclaim down to 8 MB (v1 says EBUSY)
    with pytest.raises(MyDockerError) as exc:
        cg.update({"memory": "8m"})
    assert "cannot set memory limit to 8MiB: the processes use" in str(exc.value)
    assert "\n" not in str(exc.value)
    assert cg.read_limits()["memory"] == 64 * MIB
    memsw_path = os.path.join(ROOT, "memory", lab.parent, "c1", "memory.memsw.limit_in_bytes")
    if os.path.exists(memsw_path):
        assert _read("memory", lab.parent, "c1", "memory.memsw.limit_in_bytes") == str(64 * MIB)
    assert proc.poll() is None
