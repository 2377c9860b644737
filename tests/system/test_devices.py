"""The device cgroup of a container (SPEC 4): it may create any device node (CAP_MKNOD), but
open only Docker's default devices (null, zero, full, random, urandom, tty, console, ptmx, pts)."""
import os

import pytest

DEVICES = "/sys/fs/cgroup/devices"

pytestmark = pytest.mark.skipif(not os.path.isfile(os.path.join(DEVICES, "cgroup.procs")),
                                reason="needs a cgroup v1 devices hierarchy")

# mknod succeeds, opening the new node does not; each step says how it went
HWRNG = ("mknod /dev/hwrng c 10 183 && echo made; "
         "head -c 8 /dev/hwrng > /dev/null; echo read=$?")
ALLOWED = ("head -c 8 /dev/zero | wc -c; head -c 8 /dev/urandom | wc -c; head -c 8 /dev/random | wc -c; "
           "echo x > /dev/null && echo null-ok; echo x > /dev/full || echo full-refused")


def _check_hwrng(p):
    assert p.out.split() == ["made", "read=1"], (p.out, p.err)
    assert "/dev/hwrng" in p.err and "Operation not permitted" in p.err, p.err


def _check_allowed(p):
    assert p.returncode == 0, p.err
    assert p.out.split() == ["8", "8", "8", "null-ok", "full-refused"], (p.out, p.err)
    assert "No space left on device" in p.err and "not permitted" not in p.err, p.err


def test_run_denies_host_devices(md):
    _check_hwrng(md("run", "busybox", "sh", "-c", HWRNG, check=False))
    _check_allowed(md("run", "busybox", "sh", "-c", ALLOWED, check=False))


def test_exec_joins_the_device_cgroup(md):
    md("run", "-d", "--name", "dev", "busybox", "sleep", "1000")
    cid = md.inspect("dev")["id"]
    leaf = os.path.join(DEVICES, md.record(cid)["cgroupManager"]["Path"])
    assert os.path.isdir(leaf)
    p = md("exec", "dev", "cat", "/proc/self/cgroup")
    lines = dict(line.split(":", 2)[1:] for line in p.out.splitlines() if line.count(":") >= 2)
    assert lines["devices"] == "/" + md.record(cid)["cgroupManager"]["Path"], p.out
    _check_hwrng(md("exec", "dev", "sh", "-c", HWRNG, check=False))
    _check_allowed(md("exec", "dev", "sh", "-c", ALLOWED, check=False))


def test_start_completes_a_cgroup_made_without_devices(md):
    # a container created before the devices hierarchy was managed: its cgroup lacks that leaf
    md("run", "-d", "--name", "old", "busybox", "sleep", "1000")
    cid = md.inspect("old")["id"]
    md("stop", "-t", "0", "old")
    leaf = os.path.join(DEVICES, md.record(cid)["cgroupManager"]["Path"])
    os.rmdir(leaf)
    md("start", "old")
    assert os.path.isdir(leaf)
    _check_hwrng(md("exec", "old", "sh", "-c", HWRNG, check=False))
