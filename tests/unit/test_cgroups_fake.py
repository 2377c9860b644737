"""The cgroups package against fake cgroup v1 and v2 trees in a temporary directory.

The fake kernel (``FakeKernel``) replaces the module's file-system helpers: ``mkdir`` fills a new
directory with the control files a real kernel would show, ``rmdir`` refuses a directory with
children or processes, writes are logged and the v1 rule memsw >= limit is enforced.
"""
import errno
import os
import signal

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import cgroups as C
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.cgroups import base as B
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError

MIB = 1024 * 1024
V1_UNLIMITED = "9223372036854771712"

V1_FILES = {
    "memory": {"memory.limit_in_bytes": V1_UNLIMITED, "memory.memsw.limit_in_bytes": V1_UNLIMITED,
               "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"},
    "cpu": {"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "-1", "cpu.shares": "1024"},
    "cpuacct": {"cpuacct.usage": "0"},
    "cpuset": {"cpuset.cpus": "", "cpuset.mems": ""},
    "pids": {"pids.max": "max", "pids.current": "0"},
    "freezer": {"freezer.state": "THAWED"},
    "devices": {"devices.allow": "", "devices.deny": "", "devices.list": "a *:* rwm\n"},
}
V2_FILES = {
    "memory": {"memory.max": "max", "memory.swap.max": "max",
               "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"},
    "cpu": {"cpu.max": "max 100000", "cpu.weight": "100"},
    "cpuset": {"cpuset.cpus": "", "cpuset.cpus.effective": "0-3"},
    "pids": {"pids.max": "max"},
}


def _put(path, text):
    with open(path, "w") as f:
        f.write(text)


def _get(path):
    with open(path) as f:
        return f.read()


class FakeKernel:
    def __init__(self, root, version, monkeypatch):
        self.root = str(root)
        self.version = version
        self.writes = []          # (path relative to root, value) in order
        self.killed = []          # (pid, sig)
        self.fail_mkdir = None    # predicate(path) -> errno or None
        self.drop_files = set()   # control files mkdir "forgets" to create
        self.kill_works = True
        self.attached = []        # (path relative to root, rules) of eBPF device filters
        monkeypatch.setattr(B, "_mkdir", self.mkdir)
        monkeypatch.setattr(B, "_rmdir", self.rmdir)
        monkeypatch.setattr(B, "_write", self.write)
        monkeypatch.setattr(B, "_kill", self.kill)
        monkeypatch.setattr(B, "_attach_devices", self.attach_devices)
        if version == "v1":
            for controller in V1_FILES:
                self.add_hierarchy(controller)
            _put(self.p("cpuset", "cpuset.cpus"), "0-3\n")
            _put(self.p("cpuset", "cpuset.mems"), "0\n")
        else:
            os.makedirs(self.root, exist_ok=True)
            for name, text in (("cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma\n"),
                               ("cgroup.subtree_control", "\n"), ("cgroup.procs", "1\n"),
                               ("cpuset.cpus.effective", "0-3\n")):
                _put(self.p(name), text)

    def p(self, *parts):
        return os.path.join(self.root, *parts)

    def rel(self, path):
        return os.path.relpath(path, self.root)

    def add_hierarchy(self, controller):
        os.makedirs(self.p(controller))
        _put(self.p(controller, "cgroup.procs"), "")

    # -- the fake kernel's operations -----------------------------------------------------------

    def mkdir(self, path):
        err = self.fail_mkdir(path) if self.fail_mkdir else None
        if err:
            raise OSError(err, os.strerror(err), path)
        os.mkdir(path)
        files = {"cgroup.procs": ""}
        if self.version == "v1":
            controller = self.rel(path).split(os.sep)[0]
            for c in os.path.realpath(self.p(controller)).rsplit(os.sep, 1)[1].split(","):
                files.update(V1_FILES[c])
        else:
            enabled = _get(os.path.join(os.path.dirname(path), "cgroup.subtree_control")).split()
            files.update({"cgroup.controllers": " ".join(enabled), "cgroup.subtree_control": ""})
            for c in enabled:
                files.update(V2_FILES[c])
        for name, text in files.items():
            if name not in self.drop_files:
                _put(os.path.join(path, name), text)

    def rmdir(self, path):
        if not os.path.isdir(path):
            raise OSError(errno.ENOENT, "No such file or directory", path)
        if any(os.path.isdir(os.path.join(path, n)) for n in os.listdir(path)):
            raise OSError(errno.ENOTEMPTY, "Directory not empty", path)
        procs = os.path.join(path, "cgroup.procs")
        if os.path.exists(procs) and _get(procs).split():
            raise OSError(errno.EBUSY, "Device or resource busy", path)
        for name in os.listdir(path):
            os.unlink(os.path.join(path, name))
        os.rmdir(path)

    def write(self, path, value):
        if not os.path.exists(path):
            raise OSError(errno.ENOENT, "No such file or directory", path)
        name = os.path.basename(path)
        d = os.path.dirname(path)
        if name in ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes") and \
                os.path.exists(os.path.join(d, "memory.memsw.limit_in_bytes")):
            new = {"memory.limit_in_bytes": _get(os.path.join(d, "memory.limit_in_bytes")),
                   "memory.memsw.limit_in_bytes": _get(os.path.join(d, "memory.memsw.limit_in_bytes"))}
            new[name] = value
            limit, memsw = (int(V1_UNLIMITED) if int(v) == -1 else int(v) for v in
                            (new["memory.limit_in_bytes"], new["memory.memsw.limit_in_bytes"]))
            if memsw < limit:
                raise OSError(errno.EINVAL, "Invalid argument", path)
        if name == "cgroup.subtree_control":
            enabled = set(_get(path).split())
            for word in value.split():
                (enabled.add if word[0] == "+" else enabled.discard)(word[1:])
            stored = " ".join(sorted(enabled))
        elif name in ("devices.allow", "devices.deny"):   # the kernel keeps the result in devices.list
            rules = [] if (name, value) == ("devices.deny", "a") else _get(os.path.join(d, "devices.list")).split("\n")
            if name == "devices.allow":
                rules.append(value)
            _put(os.path.join(d, "devices.list"), "\n".join(r for r in rules if r) + "\n")
            stored = ""
        elif name == "cgroup.procs" and self.version == "v1":
            stored = " ".join(_get(path).split() + [value])
        else:
            stored = value
        self.writes.append((self.rel(path), value))
        _put(path, stored)

    def kill(self, pid, sig):
        self.killed.append((pid, sig))
        if pid == 99999:
            raise OSError(errno.ESRCH, "No such process")
        if self.kill_works:
            for dirpath, _dirs, files in os.walk(self.root):
                if "cgroup.procs" in files and dirpath != self.root:
                    path = os.path.join(dirpath, "cgroup.procs")
                    _put(path, "\n".join(p for p in _get(path).split() if p != str(pid)))

    def attach_devices(self, path, rules):
        if not os.path.isdir(path):
            raise MyDockerError("cgroup v2 device filter: cannot attach it to %s: No such file" % path)
        if self.version != "v2":
            raise AssertionError("eBPF device filter on v1")
        self.attached.append((self.rel(path), rules))

    # -- assertions helpers ---------------------------------------------------------------------

    def read(self, *parts):
        return _get(self.p(*parts))

    def leftovers(self, parent):
        """Every directory of ``parent`` still present in the tree."""
        found = []
        for dirpath, dirs, _files in os.walk(self.root):
            for d in dirs:
                full = os.path.join(dirpath, d)
                if parent in self.rel(full).split(os.sep):
                    found.append(self.rel(full))
        return sorted(found)


@pytest.fixture
def v1(tmp_path, monkeypatch):
    return FakeKernel(tmp_path / "cgroup", "v1", monkeypatch)


@pytest.fixture
def v2(tmp_path, monkeypatch):
    return FakeKernel(tmp_path / "cgroup", "v2", monkeypatch)


FULL = {"memory": "16m", "cpus": "0.5", "cpu_shares": 512, "cpuset_cpus": "2,1", "pids_limit": 64}
FULL_NORMAL = {"memory": 16 * MIB, "cpus": 0.5, "cpu_shares": 512, "cpuset_cpus": "1-2", "pids_limit": 64}
NONE = dict.fromkeys(("memory", "cpus", "cpu_shares", "cpuset_cpus", "pids_limit"))


# ---------------------------------------------------------------------------------------------
# detection

def test_detect_version(v1, tmp_path):
    assert C.detect_version(v1.root) == "v1"
    v2root = tmp_path / "v2"
    v2root.mkdir()
    (v2root / "cgroup.controllers").write_text("memory\n")
    assert C.detect_version(str(v2root)) == "v2"


def test_detect_version_this_host_ignores_unified_subdir():
    if not os.path.isdir("/sys/fs/cgroup/memory"):
        pytest.skip("not a v1 host")
    assert C.detect_version() == "v1"


def test_manager_by_layout(v1, tmp_path):
    v2root = tmp_path / "v2"
    v2root.mkdir()
    (v2root / "cgroup.controllers").write_text("memory\n")
    assert C.Cgroup("p", "c1", root=v1.root).__class__ is C.CgroupV1
    assert C.Cgroup("p", "c1", root=str(v2root)).__class__ is C.CgroupV2
    assert C.Cgroup("p", "c1", root=v1.root, version="v2").__class__ is C.CgroupV2
    assert repr(C.Cgroup("p", "c1", root=str(v2root))) == "Cgroup('p/c1', v2)"
    with pytest.raises(MyDockerError, match="unknown cgroup version 'v3'"):
        C.Cgroup("p", "c1", root=v1.root, version="v3")
    with pytest.raises(MyDockerError, match="unknown cgroup version"):
        C.list_ids("p", root=v1.root, version="v3")


def test_names_are_validated(v1):
    for parent, cid in (("../etc", "c1"), ("ok", "../c1"), ("ok", "a/b"), ("", "c1"), ("a/../b", "c1")):
        with pytest.raises(MyDockerError):
            C.Cgroup(parent, cid, root=v1.root)
    assert C.Cgroup("a/b", "c1", root=v1.root).path == "a/b/c1"


# ---------------------------------------------------------------------------------------------
# v1

def test_v1_create_with_limits(v1):
    cg = C.Cgroup("mydocker-test", "c1", root=v1.root)
    assert cg.version == "v1"
    assert cg.path == "mydocker-test/c1"
    assert not cg.exists()
    assert cg.create(FULL) == FULL_NORMAL
    assert cg.exists()
    for controller in ("memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "devices"):
        assert os.path.isdir(v1.p(controller, "mydocker-test", "c1")), controller
    leaf = ("mydocker-test", "c1")
    assert v1.read("memory", *leaf, "memory.limit_in_bytes") == str(16 * MIB)
    assert v1.read("memory", *leaf, "memory.memsw.limit_in_bytes") == str(16 * MIB)
    assert v1.read("cpu", *leaf, "cpu.cfs_period_us") == "100000"
    assert v1.read("cpu", *leaf, "cpu.cfs_quota_us") == "50000"
    assert v1.read("cpu", *leaf, "cpu.shares") == "512"
    assert v1.read("cpuset", *leaf, "cpuset.cpus") == "1-2"
    assert v1.read("cpuset", *leaf, "cpuset.mems") == "0"
    assert v1.read("pids", *leaf, "pids.max") == "64"
    # cpuset copied down into the intermediate parent before the leaf
    assert v1.read("cpuset", "mydocker-test", "cpuset.cpus") == "0-3"
    assert v1.read("cpuset", "mydocker-test", "cpuset.mems") == "0"
    order = [w[0] for w in v1.writes]
    assert order.index("cpuset/mydocker-test/cpuset.cpus") < order.index("cpuset/mydocker-test/c1/cpuset.mems")
    # memory: lowering from unlimited -> limit first, then memsw
    assert order.index("memory/mydocker-test/c1/memory.limit_in_bytes") < \
        order.index("memory/mydocker-test/c1/memory.memsw.limit_in_bytes")
    assert cg.read_limits() == FULL_NORMAL
    assert cg.diff(FULL) == {}
    assert C.list_ids("mydocker-test", root=v1.root) == ["c1"]


def test_v1_create_unlimited(v1):
    cg = C.Cgroup("mydocker-test", "c1", root=v1.root)
    assert cg.create() == NONE
    leaf = ("mydocker-test", "c1")
    assert v1.read("memory", *leaf, "memory.limit_in_bytes") == "-1"
    assert v1.read("memory", *leaf, "memory.memsw.limit_in_bytes") == "-1"
    assert v1.read("cpu", *leaf, "cpu.cfs_quota_us") == "-1"
    assert v1.read("cpu", *leaf, "cpu.shares") == "1024"
    assert v1.read("cpuset", *leaf, "cpuset.cpus") == "0-3"
    assert v1.read("pids", *leaf, "pids.max") == "max"
    assert cg.read_limits() == NONE
    assert cg.diff({}) == {}
    # an explicit "all CPUs" cpuset and the default shares are the same as unset
    assert cg.diff({"cpuset_cpus": "0-3", "cpu_shares": 1024}) == {}


DOCKER_DEVICES = ["c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                  "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm"]


def test_v1_device_allowlist(v1):
    cg = C.Cgroup("p", "c1", root=v1.root)
    cg.create({"memory": "16m"})
    devices = [w for w in v1.writes if w[0].startswith("devices/")]
    # deny everything first, then the allowlist, all before any process can join
    allow = [("devices/p/c1/devices.allow", r) for r in DOCKER_DEVICES]
    assert devices == [("devices/p/c1/devices.deny", "a")] + allow
    assert v1.read("devices", "p", "c1", "devices.list").split("\n")[:-1] == DOCKER_DEVICES
    assert v1.read("devices", "p", "devices.list") == "a *:* rwm\n"   # the parent is untouched
    # limits updates do not touch the device rules
    del v1.writes[:]
    cg.update({"memory": "32m"})
    assert [w for w in v1.writes if w[0].startswith("devices/")] == []
    cg.add(4321)
    assert v1.read("devices", "p", "c1", "cgroup.procs") == "4321"
    cg.destroy()
    assert v1.leftovers("p") == []


def test_v1_incomplete_cgroup_is_completed_by_create(v1):
    import shutil
    cg = C.Cgroup("p", "c1", root=v1.root)
    cg.create({"memory": "16m"})
    assert cg.complete()
    shutil.rmtree(v1.p("devices", "p"))      # made before the devices hierarchy was managed
    assert cg.exists() and not cg.complete()
    del v1.writes[:]
    cg.create({"memory": "16m"})
    assert cg.complete()
    assert ("devices/p/c1/devices.deny", "a") in v1.writes
    assert cg.read_limits()["memory"] == 16 * MIB
    cg.destroy()
    assert v1.leftovers("p") == [] and not cg.exists() and not cg.complete()


def test_v1_device_rules_failure_rolls_back(v1):
    v1.drop_files.add("devices.allow")
    cg = C.Cgroup("p", "c1", root=v1.root)
    with pytest.raises(MyDockerError, match="devices.allow"):
        cg.create()
    assert v1.leftovers("p") == []


def test_v1_without_devices_hierarchy(v1):
    import shutil
    shutil.rmtree(v1.p("devices"))
    cg = C.Cgroup("p", "c1", root=v1.root)
    cg.create({"pids_limit": 3})
    assert [w for w in v1.writes if "devices" in w[0]] == []
    cg.destroy()
    assert v1.leftovers("p") == []


def test_v1_kernel_unlimited_reads_as_none(v1):
    cg = C.Cgroup("p", "c1", root=v1.root)
    cg.create({"memory": "16m"})
    _put(v1.p("memory", "p", "c1", "memory.limit_in_bytes"), V1_UNLIMITED + "\n")
    assert cg.read_limits()["memory"] is None


def test_v1_memory_order_when_raising_and_lowering(v1):
    cg = C.Cgroup("p", "c1", root=v1.root)
    cg.create({"memory": "16m"})
    limit, memsw = "memory/p/c1/memory.limit_in_bytes", "memory/p/c1/memory.memsw.limit_in_bytes"

    def memory_writes():
        out = [w for w in v1.writes if w[0] in (limit, memsw)]
        del v1.writes[:]
        return out

    memory_writes()
    cg.update({"memory": "64m"})   # raising: memsw first
    assert memory_writes() == [(memsw, str(64 * MIB)), (limit, str(64 * MIB))]
    cg.update({"memory": "8m"})    # lowering: limit first
    assert memory_writes() == [(limit, str(8 * MIB)), (memsw, str(8 * MIB))]
    cg.update({})                  # unlimited: memsw first
    assert memory_writes() == [(memsw, "-1"), (limit, "-1")]
    cg.update({"memory": "32m"})   # from unlimited: limit first
    assert memory_writes() == [(limit, str(32 * MIB)), (memsw, str(32 * MIB))]
    assert cg.read_limits()["memory"] == 32 * MIB


def test_v1_without_memsw(v1):
    v1.drop_files.add("memory.memsw.limit_in_bytes")
    cg = C.Cgroup("p", "c1", root=v1.root)
    cg.create({"memory": "100m"})
    assert v1.read("memory", "p", "c1", "memory.limit_in_bytes") == str(100 * MIB)
    assert not os.path.exists(v1.p("memory", "p", "c1", "memory.memsw.limit_in_bytes"))


def test_v1_update_in_place_and_drift(v1):
    cg = C.Cgroup("p", "c1", root=v1.root)
    cg.create(FULL)
    new = {"memory": "32m", "cpus": 1.5, "cpu_shares": 100, "cpuset_cpus": "3", "pids_limit": None}
    assert cg.diff(new) == {"memory": (32 * MIB, 16 * MIB), "cpus": (1.5, 0.5),
                            "cpu_shares": (100, 512), "cpuset_cpus": ("3", "1-2"),
                            "pids_limit": (None, 64)}
    cg.update(new)
    assert v1.read("cpu", "p", "c1", "cpu.cfs_quota_us") == "150000"
    assert v1.read("cpu", "p", "c1", "cpu.shares") == "100"
    assert v1.read("cpuset", "p", "c1", "cpuset.cpus") == "3"
    assert v1.read("pids", "p", "c1", "pids.max") == "max"
    assert cg.diff(new) == {}
    # someone changes a limit by hand: drift is reported as (wanted, actual)
    _put(v1.p("pids", "p", "c1", "pids.max"), "10\n")
    _put(v1.p("cpu", "p", "c1", "cpu.cfs_quota_us"), "25000\n")
    assert cg.diff(new) == {"pids_limit": (None, 10), "cpus": (1.5, 0.25)}
    # back to defaults
    cg.update(None)
    assert cg.read_limits() == NONE
    assert v1.read("cpuset", "p", "c1", "cpuset.cpus") == "0-3"


def test_v1_update_missing_cgroup(v1):
    cg = C.Cgroup("p", "c1", root=v1.root)
    with pytest.raises(MyDockerError, match="does not exist"):
        cg.update({"memory": "10m"})
    with pytest.raises(MyDockerError, match="does not exist"):
        cg.read_limits()


def test_v1_invalid_limits_create_nothing(v1):
    cg = C.Cgroup("p", "c1", root=v1.root)
    with pytest.raises(MyDockerError, match="invalid cpuset_cpus '5'.*available: 0-3"):
        cg.create({"cpuset_cpus": "5"})
    with pytest.raises(MyDockerError, match="invalid memory"):
        cg.create({"memory": "1k"})
    assert v1.leftovers("p") == []
    assert v1.writes == []


def test_v1_rollback_when_a_control_file_is_missing(v1):
    v1.drop_files.add("cpu.shares")
    cg = C.Cgroup("p", "c1", root=v1.root)
    with pytest.raises(MyDockerError) as exc:
        cg.create(FULL)
    assert "cpu.shares" in str(exc.value)
    assert "\n" not in str(exc.value)
    assert v1.leftovers("p") == []
    assert not cg.exists()


def test_v1_rollback_when_mkdir_fails(v1):
    v1.fail_mkdir = lambda path: errno.EACCES if v1.rel(path) == os.path.join("pids", "p", "c1") else None
    cg = C.Cgroup("p", "c1", root=v1.root)
    with pytest.raises(MyDockerError, match="Permission denied"):
        cg.create({"memory": "16m"})
    assert v1.leftovers("p") == []


def test_v1_rollback_keeps_existing_parent_and_siblings(v1):
    other = C.Cgroup("p", "other", root=v1.root)
    other.create({"memory": "16m"})
    v1.drop_files.add("pids.max")
    with pytest.raises(MyDockerError):
        C.Cgroup("p", "c1", root=v1.root).create({"pids_limit": 5})
    assert C.list_ids("p", root=v1.root) == ["other"]
    assert other.read_limits()["memory"] == 16 * MIB
    assert os.path.isdir(v1.p("cpuset", "p"))


def test_v1_missing_controller(v1):
    import shutil
    shutil.rmtree(v1.p("pids"))
    cg = C.Cgroup("p", "c1", root=v1.root)
    with pytest.raises(MyDockerError, match="pids_limit limit requested but the pids controller"):
        cg.create({"pids_limit": 10})
    assert v1.leftovers("p") == []
    cg.create({"memory": "16m"})          # what is there still works
    assert cg.read_limits()["pids_limit"] is None
    assert not os.path.exists(v1.p("pids", "p"))


def test_v1_comounted_cpu_cpuacct(tmp_path, monkeypatch):
    root = tmp_path / "cgroup"
    fake = FakeKernel(root, "v1", monkeypatch)
    import shutil
    for c in ("cpu", "cpuacct"):
        shutil.rmtree(fake.p(c))
    fake.add_hierarchy("cpu,cpuacct")
    os.symlink("cpu,cpuacct", fake.p("cpu"))
    os.symlink("cpu,cpuacct", fake.p("cpuacct"))
    cg = C.Cgroup("p", "c1", root=str(root))
    cg.create({"cpus": 1, "cpu_shares": 4})
    assert fake.read("cpu,cpuacct", "p", "c1", "cpu.cfs_quota_us") == "100000"
    assert fake.read("cpu,cpuacct", "p", "c1", "cpu.shares") == "4"
    assert len(cg.leaf_dirs()) == 6   # memory, cpu(+cpuacct), cpuset, pids, freezer, devices
    cg.add(4242)
    assert fake.read("cpu,cpuacct", "p", "c1", "cgroup.procs") == "4242"
    cg.destroy()
    assert fake.leftovers("p") == []


def test_v1_add_procs_kill_destroy(v1):
    cg = C.Cgroup("p", "c1", root=v1.root)
    cg.create()
    cg.add(1234)
    cg.add(99999)
    for d in cg.leaf_dirs():
        assert _get(os.path.join(d, "cgroup.procs")).split() == ["1234", "99999"]
    assert cg.procs() == [1234, 99999]
    v1.kill_works = False
    assert cg.kill_all(signal.SIGTERM) == [1234]          # ESRCH is not an error
    assert v1.killed == [(1234, signal.SIGTERM), (99999, signal.SIGTERM)]
    v1.kill_works = True
    del v1.killed[:]
    _put(os.path.join(cg.leaf_dirs()[0], "cgroup.procs"), "1234")
    for d in cg.leaf_dirs()[1:]:
        _put(os.path.join(d, "cgroup.procs"), "1234")
    cg.destroy()
    assert (1234, signal.SIGKILL) in v1.killed
    assert v1.leftovers("p") == []
    assert not cg.exists()
    cg.destroy()                                          # already gone: no error
    assert C.list_ids("p", root=v1.root) == []


def test_v1_add_to_missing_cgroup(v1):
    with pytest.raises(MyDockerError, match="cannot add process 12"):
        C.Cgroup("p", "c1", root=v1.root).add(12)


def test_v1_open_procs_writes_where_the_files_were_when_opened(v1):
    """process.spawn opens them before the init's pivot_root changes the writer's root too."""
    cg = C.Cgroup("p", "c1", root=v1.root)
    cg.create()
    procs = cg.open_procs()
    os.rename(v1.root, v1.root + ".moved")  # the paths no longer lead there
    try:
        procs.add(4242)
        procs.close()
    finally:
        os.rename(v1.root + ".moved", v1.root)
    for d in cg.leaf_dirs():
        assert _get(os.path.join(d, "cgroup.procs")) == "4242"
    cg.destroy()
    assert v1.leftovers("p") == []


def test_v1_open_procs_of_a_missing_cgroup_is_one_clear_error(v1):
    with pytest.raises(MyDockerError, match=r"^cgroup: cannot open .*/c1/cgroup.procs: No such file"):
        C.Cgroup("p", "c1", root=v1.root).open_procs()


def test_v1_destroy_keeps_parent_with_other_containers(v1):
    a = C.Cgroup("p", "a", root=v1.root)
    b = C.Cgroup("p", "b", root=v1.root)
    a.create()
    b.create()
    assert C.list_ids("p", root=v1.root) == ["a", "b"]
    a.destroy()
    assert C.list_ids("p", root=v1.root) == ["b"]
    assert os.path.isdir(v1.p("memory", "p"))
    b.destroy()
    assert v1.leftovers("p") == []


def test_v1_destroy_gives_up_on_unkillable(v1):
    cg = C.Cgroup("p", "c1", root=v1.root)
    cg.create()
    cg.add(777)
    v1.kill_works = False
    with pytest.raises(MyDockerError, match="cannot remove .*busy"):
        cg.destroy(timeout=0.1)
    assert cg.exists()
    v1.kill_works = True
    cg.destroy()
    assert v1.leftovers("p") == []


def test_v1_create_refuses_busy_existing_cgroup(v1):
    cg = C.Cgroup("p", "c1", root=v1.root)
    cg.create()
    cg.add(55)
    with pytest.raises(MyDockerError, match="already exists and has processes"):
        C.Cgroup("p", "c1", root=v1.root).create()
    assert cg.procs() == [55]


def test_v1_oom_kill_count(v1):
    cg = C.Cgroup("p", "c1", root=v1.root)
    assert cg.oom_kill_count() is None
    cg.create({"memory": "16m"})
    assert cg.oom_kill_count() == 0
    _put(v1.p("memory", "p", "c1", "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
    assert cg.oom_kill_count() == 3


def test_list_ids_union_over_hierarchies(v1):
    os.makedirs(v1.p("memory", "p", "left1"))
    os.makedirs(v1.p("pids", "p", "left2"))
    _put(v1.p("pids", "p", "not-a-dir"), "")
    assert C.list_ids("p", root=v1.root) == ["left1", "left2"]
    assert C.list_ids("absent", root=v1.root) == []


# ---------------------------------------------------------------------------------------------
# v2

def test_v2_create_with_limits(v2):
    cg = C.Cgroup("mydocker-test", "c1", root=v2.root)
    assert cg.version == "v2"
    assert cg.create(FULL) == FULL_NORMAL
    assert os.path.isdir(v2.p("mydocker-test", "c1"))
    enable = "+cpu +cpuset +memory +pids"
    assert ("cgroup.subtree_control", enable) in v2.writes
    assert ("mydocker-test/cgroup.subtree_control", enable) in v2.writes
    assert v2.read("cgroup.subtree_control") == "cpu cpuset memory pids"
    leaf = ("mydocker-test", "c1")
    assert v2.read(*leaf, "memory.max") == str(16 * MIB)
    assert v2.read(*leaf, "memory.swap.max") == "0"
    assert v2.read(*leaf, "cpu.max") == "50000 100000"
    assert v2.read(*leaf, "cpu.weight") == "20"          # 1 + (510 * 9999) // 262142
    assert v2.read(*leaf, "cpuset.cpus") == "1-2"
    assert v2.read(*leaf, "pids.max") == "64"
    limits = cg.read_limits()
    assert limits["cpu_shares"] in range(2, 262145) and C.shares_to_weight(limits["cpu_shares"]) == 20
    assert dict(limits, cpu_shares=512) == FULL_NORMAL
    assert cg.diff(FULL) == {}
    assert C.list_ids("mydocker-test", root=v2.root) == ["c1"]


def test_v2_create_unlimited(v2):
    cg = C.Cgroup("p", "c1", root=v2.root)
    cg.create()
    assert v2.read("p", "c1", "memory.max") == "max"
    assert v2.read("p", "c1", "memory.swap.max") == "max"
    assert v2.read("p", "c1", "cpu.max") == "max 100000"
    assert v2.read("p", "c1", "cpu.weight") == "100"
    assert v2.read("p", "c1", "cpuset.cpus").strip() == ""
    assert v2.read("p", "c1", "pids.max") == "max"
    assert cg.read_limits() == NONE
    assert cg.diff({}) == {}


@pytest.mark.parametrize("shares,weight", [(2, 1), (1024, 39), (512, 20), (262144, 10000), (None, 100)])
def test_v2_shares_to_weight(shares, weight):
    assert C.shares_to_weight(shares) == weight
    if shares is not None:
        back = C.weight_to_shares(weight)
        assert back <= shares and C.shares_to_weight(back) == weight


def test_v2_default_shares_diff(v2):
    cg = C.Cgroup("p", "c1", root=v2.root)
    cg.create({"cpu_shares": 1000})
    assert v2.read("p", "c1", "cpu.weight") == "39"
    assert cg.diff({"cpu_shares": 1000}) == {}
    assert cg.diff({"cpu_shares": 2000}) != {}


def test_v2_controllers_already_enabled(v2):
    _put(v2.p("cgroup.subtree_control"), "cpu cpuset memory pids\n")
    cg = C.Cgroup("p", "c1", root=v2.root)
    cg.create({"memory": "6m"})
    assert [w for w in v2.writes if w[0] == "cgroup.subtree_control"] == []
    assert v2.read("p", "c1", "memory.max") == str(6 * MIB)


def test_v2_update_in_place(v2):
    cg = C.Cgroup("p", "c1", root=v2.root)
    cg.create(FULL)
    cg.update({"memory": "1g", "cpus": "2", "pids_limit": 0})
    assert v2.read("p", "c1", "memory.max") == str(1 << 30)
    assert v2.read("p", "c1", "memory.swap.max") == "0"
    assert v2.read("p", "c1", "cpu.max") == "200000 100000"
    assert v2.read("p", "c1", "cpu.weight") == "100"
    assert v2.read("p", "c1", "pids.max") == "max"
    assert cg.read_limits() == dict(NONE, memory=1 << 30, cpus=2.0)
    _put(v2.p("p", "c1", "memory.max"), "max\n")
    assert cg.diff({"memory": "1g", "cpus": "2"}) == {"memory": (1 << 30, None)}


def test_v2_rollback(v2):
    v2.drop_files.add("cpu.weight")
    cg = C.Cgroup("p", "c1", root=v2.root)
    with pytest.raises(MyDockerError, match="cpu.weight"):
        cg.create(FULL)
    assert v2.leftovers("p") == []
    assert not os.path.exists(v2.p("p"))


def test_v2_rollback_on_mkdir_failure(v2):
    v2.fail_mkdir = lambda path: errno.ENOSPC if path.endswith("c1") else None
    with pytest.raises(MyDockerError, match="No space left"):
        C.Cgroup("p", "c1", root=v2.root).create()
    assert not os.path.exists(v2.p("p"))


def test_v2_missing_controller(v2):
    _put(v2.p("cgroup.controllers"), "cpu memory\n")
    with pytest.raises(MyDockerError, match="pids controller is not available"):
        C.Cgroup("p", "c1", root=v2.root).create({"pids_limit": 3})
    assert not os.path.exists(v2.p("p"))
    cg = C.Cgroup("p", "c1", root=v2.root)
    cg.create({"memory": "16m", "cpus": 1})
    assert not os.path.exists(v2.p("p", "c1", "pids.max"))
    assert ("cgroup.subtree_control", "+cpu +memory") in v2.writes


def test_v2_add_destroy_oom(v2):
    cg = C.Cgroup("p", "c1", root=v2.root)
    cg.create({"memory": "16m"})
    cg.add(321)
    assert v2.read("p", "c1", "cgroup.procs") == "321"
    assert cg.procs() == [321]
    assert cg.oom_kill_count() == 0
    _put(v2.p("p", "c1", "memory.events"), "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n")
    assert cg.oom_kill_count() == 2
    other = C.Cgroup("p", "c2", root=v2.root)
    other.create()
    cg.destroy()
    assert (321, signal.SIGKILL) in v2.killed
    assert C.list_ids("p", root=v2.root) == ["c2"]
    other.destroy()
    assert not os.path.exists(v2.p("p"))
    assert os.path.exists(v2.p("cgroup.procs"))     # the root is untouched
    cg.destroy()


def test_v2_device_filter(v2):
    cg = C.Cgroup("p", "c1", root=v2.root)
    cg.create({"memory": "16m"})
    assert v2.attached == [("p/c1", B.DEFAULT_DEVICE_RULES)]
    assert ["%s %s:%s %s" % (t, "*" if a is None else a, "*" if b is None else b, m)
            for t, a, b, m in B.DEFAULT_DEVICE_RULES] == DOCKER_DEVICES
    cg.update({"memory": "32m"})
    cg.create({"memory": "16m"})        # the leaf exists: no second filter
    assert len(v2.attached) == 1
    cg.destroy()
    assert v2.leftovers("p") == []


def test_v2_device_filter_failure_rolls_back(v2, monkeypatch):
    def refuse(path, rules):
        raise MyDockerError("cgroup v2 device filter: cannot load the eBPF program: Operation not permitted")
    monkeypatch.setattr(B, "_attach_devices", refuse)
    with pytest.raises(MyDockerError, match="eBPF program: Operation not permitted"):
        C.Cgroup("p", "c1", root=v2.root).create()
    assert not os.path.exists(v2.p("p"))


def test_start_grace_period_writes_our_pid_into_our_own_cgroup(tmp_path):
    """A move to where we already are (monitor._daemonize): into the first hierarchy of
    /proc/self/cgroup that exists under ``root``, nowhere else."""
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.cgroups.base import start_grace_period
    with open("/proc/self/cgroup") as f:
        lines = [ln.split(":", 2) for ln in f.read().splitlines()]
    hid, controllers, path = lines[-1]
    where = tmp_path if hid == "0" and not controllers else tmp_path / controllers.split(",")[0].replace("name=", "")
    procs = where / path.lstrip("/") / "cgroup.procs"
    procs.parent.mkdir(parents=True, exist_ok=True)
    procs.write_text("")
    start_grace_period(root=str(tmp_path))
    assert procs.read_text() == str(os.getpid())
    assert [p for p in tmp_path.rglob("cgroup.procs") if p.read_text()] == [procs]


def test_start_grace_period_without_a_hierarchy_does_nothing(tmp_path):
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.cgroups.base import start_grace_period
    start_grace_period(root=str(tmp_path / "none"))
    assert not (tmp_path / "none").exists()
