# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Process and security options against real containers (issue 11): capabilities, privileged,
sysctls, ulimits, --init (tini), the stop signal, groups, oom_score_adj, labels and ps --filter.
Traffic: none (NET_ADMIN is tried on the container's own loopback)."""
import os
import time

import pytest

DOCKER_DEFAULT = 0xa80425fb


def _caps(md, *args):
    out = md("run", *args, "busybox", "cat", "/proc/self/status").out
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return dict((k, int(fields[k].strip(), 16)) for k in ("CapEff", "CapPrm", "CapBnd", "CapAmb"))


def _own_bounding():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapBnd:"):
                return int(line.split(":", 1)[1].strip(), 16)
    return 0


def _wait(pred, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_cap_add_and_cap_drop_reach_every_set(md):
    got = _caps(md, "--cap-add", "net_admin", "--cap-drop", "CAP_CHOWN")
    want = (DOCKER_DEFAULT | 1 << 12) & ~1
    assert got["CapEff"] == got["CapPrm"] == got["CapBnd"] == want and got["CapAmb"] == 0
    # NET_ADMIN really works, on the container's own loopback; without it, it does not
    assert md("run", "--cap-add", "NET_ADMIN", "busybox", "ip", "link", "set", "lo", "mtu", "1280").returncode == 0
    assert md("run", "busybox", "ip", "link", "set", "lo", "mtu", "1280", check=False).returncode != 0
    assert md("run", "--cap-drop", "chown", "busybox", "chown", "1:1", "/tmp", check=False).returncode != 0


def test_drop_all_then_add_one_and_add_all(md):
    assert _caps(md, "--cap-drop", "ALL", "--cap-add", "NET_RAW")["CapEff"] == 1 << 13
    assert _caps(md, "--cap-drop", "ALL")["CapBnd"] == 0
    own = _own_bounding()
    assert _caps(md, "--cap-add", "ALL", "--cap-drop", "SYS_ADMIN")["CapEff"] == own & ~(1 << 21)
    # a non-root user keeps none of them, as in Docker; the bounding set is still cut
    got = _caps(md, "--cap-add", "NET_ADMIN", "-u", "nobody")
    assert got["CapEff"] == 0 and got["CapBnd"] == DOCKER_DEFAULT | 1 << 12


def test_unknown_capability_is_one_line_and_creates_nothing(md):
    p = md("run", "--name", "badcap", "--cap-add", "CAP_FLY", "busybox", "true", check=False)
    assert p.returncode != 0 and p.err.strip() == "mydocker: --cap-add: unknown capability 'CAP_FLY'"
    assert md.ids() == []


def test_privileged_has_every_capability_no_masks_no_seccomp(md):
    own = _own_bounding()
    out = md("run", "--privileged", "busybox", "sh", "-c",
             "grep -E '^(CapEff|Seccomp):' /proc/self/status; grep -c ' /proc/acpi \\| /proc/kcore \\| /proc/sys ' "
             "/proc/mounts || true").out.split()
    fields = dict(zip(out[0:4:2], out[1:4:2]))
    assert int(fields["CapEff:"], 16) == own
    assert fields["Seccomp:"] == "0"
    assert out[-1] == "0"  # nothing mounted over /proc/acpi, /proc/kcore, /proc/sys
    normal = md("run", "busybox", "sh", "-c", "grep -c ' /proc/sys ' /proc/mounts").out.strip()
    assert normal == "1"  # the read-only /proc/sys of a container that is not privileged


def test_sysctl_is_set_in_the_containers_namespaces_only(md):
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        host_forward = f.read()
    with open("/proc/sys/kernel/shmmni") as f:
        host_shmmni = f.read()
    out = md("run", "--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmni=1234", "busybox", "sh", "-c",
             "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni").out.split()
    assert out == ["1", "1234"]
    out = md("run", "--sysctl", "net.ipv4.ip_forward=0", "busybox", "cat", "/proc/sys/net/ipv4/ip_forward").out
    assert out.strip() == "0"
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        assert f.read() == host_forward
    with open("/proc/sys/kernel/shmmni") as f:
        assert f.read() == host_shmmni


@pytest.mark.parametrize("bad", ["kernel.hostname=x", "vm.swappiness=1", "fs.file-max=10"])
def test_host_sysctls_are_refused_and_nothing_is_made(md, bad):
    p = md("run", "--sysctl", bad, "busybox", "true", check=False)
    assert p.returncode != 0 and p.err.startswith("mydocker: --sysctl: %s is not a namespaced" % bad.split("=")[0])
    assert len(p.err.strip().splitlines()) == 1 and md.ids() == []


def test_ulimit_is_in_force_before_the_command(md):
    out = md("run", "--rm", "--ulimit", "nofile=1024:2048", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn").out.split()
    assert out == ["1024", "2048"]
    p = md("run", "--ulimit", "nofile=2048:1024", "busybox", "true", check=False)
    assert p.returncode != 0 and "--ulimit: invalid ulimit 'nofile=2048:1024'" in p.err and md.ids() == []


def test_init_is_pid_1_and_reaps_orphans(md):
    # the subshell's sleep is orphaned: PID 1 must reap it. tini does; a plain `sleep` as PID 1 does not.
    script = "(sleep 0.2 &); exec sleep 30"
    md("run", "-d", "--init", "--name", "withinit", "busybox", "sh", "-c", script)
    md("run", "-d", "--name", "noinit", "busybox", "sh", "-c", script)
    time.sleep(1)
    ps = md("exec", "withinit", "ps", "-o", "pid,stat,comm").out.splitlines()
    assert ps[1].split()[0] == "1" and ps[1].split()[-1] == "docker-init"
    assert not [ln for ln in ps[1:] if ln.split()[1].startswith("Z")], ps
    ps = md("exec", "noinit", "ps", "-o", "pid,stat,comm").out.splitlines()
    assert [ln for ln in ps[1:] if ln.split()[1].startswith("Z")], ps  # the test can fail
    assert md.inspect("withinit")["init"] is True
    # tini forwards stop's SIGTERM: the container stops at once, not after the timeout
    t0 = time.time()
    md("stop", "-t", "20", "withinit")
    assert time.time() - t0 < 15 and md.inspect("withinit")["exitCode"] == 143


def test_stop_signal_overrides_the_image_and_reaches_a_trap(md):
    script = "trap 'echo got-usr1; exit 0' USR1; echo ready; while true; do sleep 0.1; done"
    md("run", "-d", "--name", "trapper", "--stop-signal", "usr1", "busybox", "sh", "-c", script)
    assert _wait(lambda: "ready" in md("logs", "trapper").out)
    assert md.inspect("trapper")["stopSignal"] == "SIGUSR1"
    md("stop", "-t", "10", "trapper")
    assert "got-usr1" in md("logs", "trapper").out and md.inspect("trapper")["exitCode"] == 0
    p = md("run", "--stop-signal", "SIGNOPE", "busybox", "true", check=False)
    assert p.err.strip() == "mydocker: --stop-signal: invalid signal 'SIGNOPE'" and md.ids() == ["%s" % md.inspect(
        "trapper")["id"]]


def test_group_add_and_oom_score_adj(md):
    out = md("run", "--group-add", "tty", "--group-add", "4321", "-u", "nobody", "busybox", "id").out
    assert "groups=5(tty),4321" in out
    md("run", "-d", "--name", "oom", "--oom-score-adj", "500", "busybox", "sleep", "30")
    assert md("exec", "oom", "cat", "/proc/1/oom_score_adj").out.strip() == "500"
    with open("/proc/%s/oom_score_adj" % md.inspect("oom")["pid"]) as f:
        assert f.read().strip() == "500"
    p = md("run", "--oom-score-adj", "5000", "busybox", "true", check=False)
    assert p.returncode != 0 and "--oom-score-adj: invalid value '5000'" in p.err


def test_labels_inspect_and_ps_filters(md, tmp_path):
    lf = tmp_path / "labels"
    lf.write_text("# team labels\ntier=front\n")
    web = md("run", "-d", "--name", "pf-web", "-l", "app=web", "--label-file", str(lf), "busybox", "sleep", "30")
    web = web.out.strip()
    db = md("run", "-d", "--name", "pf-db", "--label", "app=db", "busybox", "sleep", "30").out.strip()
    done = md("run", "--name", "pf-done", "-l", "app=web", "busybox", "true")
    assert done.returncode == 0
    assert md.inspect("pf-web")["labels"] == {"app": "web", "tier": "front"}

    def q(*f):
        return sorted(md("ps", "-q", *sum((["--filter", x] for x in f), [])).out.split())
    assert q("label=app") == sorted([web, db])
    assert q("label=app=web") == [web]
    assert q("label=app", "label=tier=front") == [web]
    assert q("name=pf-web", "name=pf-db") == sorted([web, db])
    assert q("name=pf-web", "label=app=db") == []
    assert q("id=" + db[:4]) == [db] or db[:4] == web[:4]
    done_id = md.inspect("pf-done")["id"]
    assert q("status=exited", "name=pf-") == [done_id]
    assert done_id in md("ps", "-a", "-q", "--filter", "label=app=web").out.split()
    p = md("ps", "--filter", "colour=red", check=False)
    assert p.returncode != 0 and p.err.startswith("mydocker: --filter: invalid filter 'colour=red'")


def test_network_filter(md, tmp_path):
    from test_network_engine import Env
    e = Env(tmp_path)
    e.root = md.root
    net = e.bridge_name()
    md("network", "create", "--driver", "bridge", "--subnet", e.subnet(), net)
    try:
        on = md("run", "-d", "--net", net, "busybox", "sleep", "30").out.strip()
        off = md("run", "-d", "busybox", "sleep", "30").out.strip()
        listed = md("ps", "-q", "--filter", "network=" + net).out.split()
        assert listed == [on] and off not in listed
    finally:
        for cid in md.ids():
            md("rm", "-f", cid, check=False)
        md("network", "rm", "-f", net, check=False)
        e.cleanup()
        assert not os.path.exists("/sys/class/net/%s" % net)


V1 = os.path.isdir("/sys/fs/cgroup/memory") and not os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def _cg(md, ref, name):
    path = md.inspect(ref)["cgroupManager"]["Path"]
    base = "/sys/fs/cgroup/memory" if V1 else "/sys/fs/cgroup"
    with open(os.path.join(base, path, name)) as f:
        return f.read().strip()


def test_memory_swap_and_reservation_in_the_cgroup_and_changed_live(md):
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine import containers
    mib = 1 << 20
    md("run", "-d", "--name", "swp", "-m", "64m", "--memory-swap", "128m", "--memory-reservation", "32m",
       "busybox", "sleep", "100")
    if V1:
        files = ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes")
        want = [64 * mib, 128 * mib, 32 * mib]
    else:
        files = ("memory.max", "memory.swap.max", "memory.low")
        want = [64 * mib, 64 * mib, 32 * mib]
    assert [int(_cg(md, "swp", f)) for f in files] == want
    pid = md.inspect("swp")["pid"]
    res = dict(md.inspect("swp")["resources"], memory_swap=256 * mib, memory_reservation=16 * mib)
    containers.update(md.root, "swp", resources=res)
    assert md.inspect("swp")["pid"] == pid  # the same process: no recreate
    want = [64 * mib, 256 * mib, 16 * mib] if V1 else [64 * mib, 192 * mib, 16 * mib]
    assert [int(_cg(md, "swp", f)) for f in files] == want
    # back to the default: no swap beyond the memory limit
    res = dict(res, memory_swap=None, memory_reservation=None)
    containers.update(md.root, "swp", resources=res)
    if V1:
        assert int(_cg(md, "swp", files[1])) == 64 * mib
    else:
        assert _cg(md, "swp", files[1]) == "0"
    p = md("run", "--memory-swap", "32m", "-m", "64m", "busybox", "true", check=False)
    assert p.returncode != 0 and "it must be at least the memory limit" in p.err


def test_device_is_made_and_allowed_with_its_permissions(md):
    dev = "/dev/fuse" if os.path.exists("/dev/fuse") else "/dev/net/tun"
    if not os.path.exists(dev):
        pytest.skip("neither /dev/fuse nor /dev/net/tun on this host")
    # without --device the node is not there
    assert md("run", "--rm", "busybox", "ls", dev, check=False).returncode != 0
    out = md("run", "--rm", "--device", dev, "busybox", "sh", "-c",
             "ls -l %s; exec 3<>%s && echo opened" % (dev, dev)).out
    st = os.stat(dev)
    assert "%d, %d" % (os.major(st.st_rdev), os.minor(st.st_rdev)) in out.replace(",  ", ", ") and "opened" in out
    # read-only in the device cgroup: opening it for writing is refused by the kernel
    p = md("run", "--rm", "--device", "%s:/dev/mine:r" % dev, "busybox", "sh", "-c",
           "ls /dev/mine && (exec 3>/dev/mine) 2>/dev/null && echo wrote || echo refused")
    assert p.out.split() == ["/dev/mine", "refused"]
    p = md("run", "--device", "/etc/passwd", "busybox", "true", check=False)
    assert p.err.strip() == "mydocker: --device: invalid host path '/etc/passwd': a device path under /dev"
    assert md.ids() == []


def test_privileged_sees_the_host_devices(md):
    host = sorted(n for n in os.listdir("/dev") if (os.lstat("/dev/" + n).st_mode & 0o170000) in (0o020000, 0o060000))
    got = md("run", "--rm", "--privileged", "busybox", "ls", "/dev").out.split()
    assert set(host) <= set(got)
    assert len(md("run", "--rm", "busybox", "ls", "/dev").out.split()) < len(got)
