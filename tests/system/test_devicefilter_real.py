"""The cgroup v2 eBPF device filter against a real cgroup2 hierarchy (root only).

On a pure v2 host that is /sys/fs/cgroup; on a hybrid v1 host (this CI) the cgroup2 mount at
/sys/fs/cgroup/unified runs the same BPF_CGROUP_DEVICE hook, before the v1 devices check, so the
filter is proven here too. The test's own cgroup and process are removed even when it fails.
"""
import os
import subprocess
import sys
import uuid

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine.cgroups import base
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.cgroups import devicefilter as D


def _cgroup2_mount():
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            if fields[2] == "cgroup2":
                return fields[1]
    return None


MOUNT = _cgroup2_mount()
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or MOUNT is None, reason="needs root and a cgroup2 mount")

PROBE = ("import errno, os, sys\n"
         "sys.stdin.readline()\n"
         "for path in sys.argv[1:]:\n"
         "    try:\n"
         "        os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))\n"
         "        print(path, 'ok')\n"
         "    except OSError as e:\n"
         "        print(path, errno.errorcode[e.errno])\n")


@pytest.fixture
def cgdir():
    path = os.path.join(MOUNT, "mydocker-test-" + uuid.uuid4().hex[:10])
    os.mkdir(path)
    procs = []
    try:
        yield path, procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        os.rmdir(path)
    assert not os.path.exists(path)


def _probe(path, procs, devices):
    p = subprocess.Popen([sys.executable, "-c", PROBE] + devices, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    procs.append(p)
    with open(os.path.join(path, "cgroup.procs"), "w") as f:
        f.write(str(p.pid))
    out, dummy = p.communicate(b"go\n", timeout=30)
    return dict(line.split() for line in out.decode().splitlines())


def test_filter_allows_the_list_and_denies_the_rest(cgdir):
    path, procs = cgdir
    devices = ["/dev/null", "/dev/zero", "/dev/urandom", "/dev/full", "/dev/kmsg"]
    assert _probe(path, procs, devices)["/dev/kmsg"] == "ok"     # no filter yet
    D.attach(path, base.DEFAULT_DEVICE_RULES)
    got = _probe(path, procs, devices)
    assert got == {"/dev/null": "ok", "/dev/zero": "ok", "/dev/urandom": "ok", "/dev/full": "ok",
                   "/dev/kmsg": "EPERM"}


def test_attach_to_a_missing_cgroup_is_one_clear_line(cgdir):
    path, dummy = cgdir
    with pytest.raises(Exception) as exc:
        D.attach(os.path.join(path, "absent"), base.DEFAULT_DEVICE_RULES)
    assert "cannot attach it to" in str(exc.value) and "\n" not in str(exc.value)


def test_v2_manager_filters_its_cgroup():
    # the whole v2 path (mkdir, filter, add, destroy) on the real cgroup2 mount; on a hybrid host
    # it has no controllers, so no limits, but the device filter works all the same
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine import cgroups as C
    parent = "mydocker-test-" + uuid.uuid4().hex[:10]
    cg = C.Cgroup(parent, "c1", root=MOUNT, version="v2")
    procs = []
    try:
        cg.create()
        leaf = os.path.join(MOUNT, parent, "c1")
        assert cg.leaf_dirs() == [leaf]
        got = _probe(leaf, procs, ["/dev/null", "/dev/urandom", "/dev/kmsg"])
        assert got == {"/dev/null": "ok", "/dev/urandom": "ok", "/dev/kmsg": "EPERM"}
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        cg.destroy()
    assert not os.path.exists(os.path.join(MOUNT, parent))
