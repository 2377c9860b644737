"""Crash points of the create/start path: ``kill -9`` of ``mydocker run -d --net N -p P:80`` at a
random moment (0 to 600 ms, or up to 1.25 times one run on a slower machine), then ``prune``.
Afterwards the state root holds nothing of that run (no record, overlay directory, mount, cgroup
in any hierarchy, veth, iptables rule of the container, IP reservation, process), or a container
that runs completely (which is then removed and checked clean the same way).

MYDOCKER_CRASH_TRIALS sets the number of trials (default 20), MYDOCKER_CRASH_SEED the seed (the
test prints the one it used). Traffic: only to the container the test started, on the bridge the
test created.
"""
import os
import random
import shutil
import socket
import subprocess
import sys
import time

import pytest
from conftest import CLI, MyDocker, leftovers
from test_network_engine import Env, http_get

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import containers, lifecycle, records
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import ipam
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import iptables as ipt
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net.networks import peer_name, veth_name
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import Paths, cgroup_parent

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def cgroup_dirs(root):
    """Every directory of this root's cgroup parent in every mounted hierarchy (v1 and v2)."""
    parent = cgroup_parent(root)
    found = []
    base = "/sys/fs/cgroup"
    candidates = [base] + [os.path.join(base, d) for d in sorted(os.listdir(base))]
    for h in candidates:
        d = os.path.join(h, parent)
        if os.path.isdir(d):
            found += ["cgroup %s/%s" % (d, s) for s in sorted(os.listdir(d)) if os.path.isdir(os.path.join(d, s))]
    return found


def free_port():
    s = socket.socket()
    s.bind(("0.0.0.0", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class CrashEnv:
    """A state root of its own with busybox and one network (bridge mdt<hex>, a free 10.x/24)."""

    def __init__(self, tmp_path):
        self.net = Env(tmp_path)
        self.root = self.net.root
        self.md = MyDocker(self.root)
        self.paths = Paths(self.root)
        self.chains = ipt.Chains(self.root)
        self.bridge = self.net.bridge_name()
        self.subnet = self.net.subnet()
        self.md("image", "busybox", "busybox")
        self.md("network", "create", "--driver", "bridge", "--subnet", self.subnet, self.bridge)

    def seen_ids(self):
        """IDs that left any trace: records, overlay directories, cgroups."""
        ids = set(records.list_ids(self.paths))
        try:
            ids.update(n for n in os.listdir(self.paths.overlay) if not n.startswith("."))
        except OSError:
            pass
        ids.update(c.rsplit("/", 1)[1] for c in cgroup_dirs(self.root))
        return ids

    def leaks(self, ids):
        """What of this root (besides its network and image) is still there; ``ids``: the IDs a
        trial may have touched."""
        found = list(leftovers(self.root)) + cgroup_dirs(self.root)
        found += ["record %s" % c for c in records.list_ids(self.paths)]
        found += ["overlay2/%s" % n for n in os.listdir(self.paths.overlay) if not n.startswith(".")]
        for cid in ids:
            for link in (veth_name(cid), peer_name(cid)):
                if os.path.exists("/sys/class/net/" + link):
                    found.append("link %s" % link)
        brif = "/sys/class/net/%s/brif" % self.bridge
        found += ["port %s on the bridge" % p for p in os.listdir(brif)]
        found += ["iptables %s" % " ".join(r[2]) for r in ipt.find_rules(self.chains, "ctr")]
        data = ipam.load(self.paths)
        net = ipam.parse_subnet(self.subnet)
        gateway = ipam.default_gateway(net)
        found += ["ip %s" % a for a in ipam.taken_in(data, net) if a != gateway]
        for cidr, sub in ipam.load_owners(self.paths).items():
            found += ["ip %s of %s owned by %s" % (a, cidr, o) for a, o in (sub or {}).items()]
        return found

    def forks_of_the_run(self):
        """PIDs still running this test's ``run`` command line (``CLI`` ... ``--net BRIDGE``)."""
        found = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if CLI.encode() in argv and b"run" in argv and self.bridge.encode() in argv:
                found.append(int(pid))
        return found

    def settle(self, timeout=90):
        """Wait until no record is being worked on by a live process (a monitor still starting
        the container after the CLI was killed is entitled to finish, also before it has named
        itself in the record); returns the seconds it took. The budget is long: on a loaded
        machine (the CI's other stages) a start's kernel steps (fork, fsync, page I/O) were seen
        asleep for seconds, the monitor progressing between samples."""
        began = time.time()
        deadline = began + timeout
        while time.time() < deadline:
            # a monitor forked from the killed run (or the init it forked) that has not exec'd yet:
            # its command line is still that run's; the record may not name it yet
            busy = bool(self.forks_of_the_run())
            for rec in records.iter_records(self.paths, skip_corrupt=True):
                if rec.status == records.CREATED and (
                        lifecycle.monitor_alive(rec) or
                        lifecycle.pid_alive(rec.get("creatorPid"), rec.get("creatorStart"))):
                    busy = True
            if not busy:
                break
            time.sleep(0.05)
        return time.time() - began

    def running_completely(self, rec):
        """The container runs, is supervised and serves HTTP on its IP."""
        if lifecycle.true_status(rec) != records.RUNNING or not lifecycle.monitor_alive(rec) or not rec.ip:
            return "status %s, monitor alive %s, ip %r" % (lifecycle.true_status(rec), lifecycle.monitor_alive(rec),
                                                           rec.ip)
        deadline = time.time() + 10
        while True:
            try:
                http_get(rec.ip, 80, timeout=2)
                return None
            except OSError as e:
                if time.time() > deadline:
                    return "no HTTP on %s:80: %s" % (rec.ip, e)
                time.sleep(0.1)

    def cleanup(self):
        for cid in self.md.ids():
            self.md("rm", "-f", cid, check=False)
        self.md("network", "rm", "-f", self.bridge, check=False)
        self.md("prune", check=False)
        errors = self.net.cleanup()
        left = leftovers(self.root) + cgroup_dirs(self.root) + self.net.our_rules()
        assert not errors, errors
        assert not os.path.exists("/sys/class/net/" + self.bridge)
        assert left == [], left


@pytest.fixture
def crash(tmp_path):
    e = CrashEnv(tmp_path)
    try:
        yield e
    finally:
        e.cleanup()


def where_is(pid):
    """What a process (a monitor that should have finished) is doing: its kernel wait channel,
    its Python-level state is not visible, so its children and open files tell the step."""
    out = []
    for name in ("wchan", "cmdline"):
        try:
            with open("/proc/%s/%s" % (pid, name), "rb") as f:
                out.append("%s=%s" % (name, f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()))
        except OSError as e:
            out.append("%s: %s" % (name, e))
    try:
        fds = os.listdir("/proc/%s/fd" % pid)
        out.append("fds=%s" % sorted(os.readlink("/proc/%s/fd/%s" % (pid, fd)) for fd in fds))
    except OSError:
        pass
    for child in subprocess.run(["ps", "-o", "pid=,stat=,wchan:20=,args=", "--ppid", str(pid)],
                                capture_output=True, text=True, check=False).stdout.splitlines():
        out.append("child: " + child.strip())
    fd_dir = "/proc/%s/fd" % pid
    pipes = [os.readlink(os.path.join(fd_dir, fd)) for fd in (os.listdir(fd_dir) if os.path.isdir(fd_dir) else [])]
    pipes = [p for p in pipes if p.startswith("pipe:")]
    for other in os.listdir("/proc"):  # who else holds the monitor's pipes (the end it waits on)
        if not other.isdigit() or other == str(pid):
            continue
        try:
            held = [(fd, os.readlink("/proc/%s/fd/%s" % (other, fd))) for fd in os.listdir("/proc/%s/fd" % other)]
            with open("/proc/%s/cmdline" % other, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            continue
        for fd, target in held:
            if target in pipes:
                try:
                    with open("/proc/%s/fdinfo/%s" % (other, fd)) as f:
                        flags = [ln.split()[1] for ln in f if ln.startswith("flags:")]
                except OSError:
                    flags = []
                out.append("%s also held by %s fd %s flags %s (%s)" % (target, other, fd, flags, cmd[:80]))
    for when in (0, 1):  # is it stuck or slow: its state, CPU time and switches, 1 s apart
        if when:
            time.sleep(1)
        try:
            with open("/proc/%s/status" % pid) as f:
                st = dict(ln.split(":", 1) for ln in f if ":" in ln)
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/cgroup" % pid) as f:
                cg = ",".join(ln.strip() for ln in f if "cpu" in ln or "freezer" in ln)
            out.append("t+%ds: state %s utime %s stime %s vol %s invol %s cgroups %s" % (
                when, st.get("State", "").strip(), fields[11], fields[12],
                st.get("voluntary_ctxt_switches", "").strip(), st.get("nonvoluntary_ctxt_switches", "").strip(), cg))
        except OSError as e:
            out.append("t+%ds: %s" % (when, e))
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=os.path.dirname(sys.executable))
    if spy:  # the Python stack, where py-spy is installed (a diagnosis aid; CI need not have it)
        dump = subprocess.run([spy, "dump", "--pid", str(pid)], capture_output=True, text=True, check=False)
        out.append("py-spy: " + (dump.stdout or dump.stderr).strip().replace("\n", " | "))
    return "; ".join(out)


def test_kill_run_at_random_moments_then_prune(crash):
    trials = int(os.environ.get("MYDOCKER_CRASH_TRIALS") or 20)
    seed = int(os.environ.get("MYDOCKER_CRASH_SEED") or random.SystemRandom().randrange(1 << 31))
    print("crash trials: %d, seed: %d (MYDOCKER_CRASH_SEED=%d to repeat)" % (trials, seed, seed))
    rng = random.Random(seed)
    port = free_port()
    argv = [sys.executable, CLI, "run", "-d", "--net", crash.bridge, "-p", "%d:80" % port,
            "busybox", "httpd", "-f", "-p", "80"]
    # kill at moments between 0 and 600 ms; on a machine so loaded that one run takes longer,
    # up to a bit more than one run takes, so that every step of it can be hit
    began = time.time()
    cid = crash.md(*argv[2:]).out.strip()
    took = time.time() - began
    crash.md("rm", "-f", cid)
    window = max(0.6, 1.25 * took)
    print("one run -d takes %.0f ms here: killing between 0 and %.0f ms" % (took * 1000, window * 1000))
    outcomes = {"nothing left": 0, "running": 0, "cleaned by prune": 0}
    slowest = 0.0
    failures = []
    for trial in range(trials):
        delay = rng.uniform(0, window)
        p = subprocess.Popen(argv, env=crash.md.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        p.kill()
        out, err = p.communicate()
        settled = crash.settle()
        slowest = max(slowest, settled)
        ids = crash.seen_ids()
        pruned = crash.md("prune", check=False)
        what = "trial %d (kill after %.0f ms, rc %s, settled in %.1f s)" % (trial, delay * 1000, p.returncode, settled)
        if pruned.returncode != 0:
            failures.append("%s: prune failed: %s" % (what, pruned.err.strip()))
        recs = records.all_records(crash.paths, skip_corrupt=True)
        if recs:
            problem = None
            if len(recs) != 1:
                problem = "%d records" % len(recs)
            else:
                problem = crash.running_completely(recs[0])
            if problem:
                there = crash.leaks(ids)
                failures.append("%s: after prune (%s): %s; there: %s; monitor: %s" % (
                    what, pruned.out.strip(), problem, there, where_is(recs[0].monitor_pid)))
            else:
                outcomes["running"] += 1
            for r in recs:
                rm = crash.md("rm", "-f", r.id, check=False)
                if rm.returncode != 0:
                    failures.append("%s: rm -f failed: %s" % (what, rm.err.strip()))
        elif pruned.out.strip() == "nothing to prune":
            outcomes["nothing left"] += 1
        else:
            outcomes["cleaned by prune"] += 1
        leaks = crash.leaks(ids)
        if leaks:
            failures.append("%s: left behind after prune (%s): %s" % (what, pruned.out.strip(), leaks))
            # clean up so the next trial starts from nothing
            for cid in crash.md.ids():
                crash.md("rm", "-f", cid, check=False)
            crash.md("prune", check=False)
    print("outcomes: %s; failures: %d; the slowest monitor finished %.1f s after the kill"
          % (outcomes, len(failures), slowest))
    for f in failures:
        print(f)
    assert failures == [], "seed %d: %d of %d trials failed:\n%s" % (seed, len(failures), trials, "\n".join(failures))


# ------------------------------------------------------------------ a monitor that died

def _alive(pid):
    try:
        with open("/proc/%s/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait(cond, timeout=10):
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_prune_adopts_a_running_container_whose_monitor_died(crash):
    """The monitor of a running, networked container is killed: prune must not kill the
    container but give it a new monitor; ``stop`` then stops it and cleans up (veth, rules, IP),
    its exit recorded as unknown (255); ``rm`` leaves nothing."""
    md = crash.md
    cid = md("run", "-d", "--name", "adoptme", "--net", crash.bridge, "-p", "%d:80" % free_port(),
             "busybox", "httpd", "-f", "-p", "80").out.strip()
    rec = md.inspect(cid)
    os.kill(int(rec["monitorPid"]), 9)
    assert _wait(lambda: not _alive(rec["monitorPid"]))
    out = md("prune").out
    assert "adopted container adoptme" in out, out
    assert out.strip().splitlines() == [
        "adopted container adoptme (its monitor had died; new monitor pid %s)" % md.inspect(cid)["monitorPid"]], out
    now = md.inspect(cid)
    assert now["status"] == "running" and now["pid"] == rec["pid"] and _alive(rec["pid"])
    assert now["monitorPid"] != rec["monitorPid"] and _alive(now["monitorPid"]) and now["adoptedAt"]
    assert crash.running_completely(records.read(crash.paths, cid)) is None
    assert md("prune").out.strip() == "nothing to prune"  # adopted once, left alone after that
    assert ipt.find_rules(crash.chains, "ctr", cid)
    md("stop", cid)
    now = md.inspect(cid)
    assert now["status"] == "exited" and now["exitCode"] == 255, now
    assert not _alive(rec["pid"]) and not _alive(now["monitorPid"] or rec["monitorPid"])
    assert ipt.find_rules(crash.chains, "ctr", cid) == []
    assert not os.path.exists("/sys/class/net/" + veth_name(cid))
    # it starts again as a child of a normal monitor, and rm leaves nothing
    md("start", cid)
    assert crash.running_completely(records.read(crash.paths, cid)) is None
    md("rm", "-f", cid)
    assert crash.leaks({cid}) == []


def test_prune_adopted_container_exiting_by_itself_is_cleaned_up(crash):
    """An adopted container that exits on its own: the new monitor notices (pidfd), records the
    exit (255: unknown) and applies the cleanup; --rm removes it."""
    md = crash.md
    cid = md("run", "-d", "--rm", "--net", crash.bridge, "busybox", "sh", "-c",
             "while [ ! -e /tmp/go ]; do sleep 0.1; done").out.strip()
    rec = md.inspect(cid)
    os.kill(int(rec["monitorPid"]), 9)
    assert _wait(lambda: not _alive(rec["monitorPid"]))
    assert "adopted container" in md("prune").out
    md("exec", cid, "touch", "/tmp/go")
    assert _wait(lambda: cid not in md.ids()), md.inspect(cid)
    assert crash.leaks({cid}) == []


def test_prune_records_a_container_that_died_with_its_monitor(crash):
    """Monitor and container both killed: prune records the exit (unknown: 255), releases the
    network and keeps the record; the container can be started again."""
    md = crash.md
    cid = md("run", "-d", "--name", "bothdead", "--net", crash.bridge, "busybox", "sleep", "1000").out.strip()
    rec = md.inspect(cid)
    os.kill(int(rec["monitorPid"]), 9)
    assert _wait(lambda: not _alive(rec["monitorPid"]))
    os.kill(int(rec["pid"]), 9)
    assert _wait(lambda: not _alive(rec["pid"]))
    out = md("prune").out
    assert out.strip().splitlines() == [
        "recorded container bothdead as exited: its monitor and its process were gone (exit code unknown: 255)"], out
    now = md.inspect(cid)
    assert now["status"] == "exited" and now["exitCode"] == 255
    assert not os.path.exists("/sys/class/net/" + veth_name(cid))
    # an exited container keeps its record, overlay directories and cgroup, nothing else
    assert [x for x in crash.leaks({cid}) if not x.startswith(("record", "overlay2", "cgroup"))] == []
    md("start", cid)
    assert md.inspect(cid)["status"] == "running"
    md("rm", "-f", cid)


# ------------------------------------------------------------------ half-made containers

def test_half_made_container_is_pruned_or_completed_by_start(crash):
    """A create that died after its record: prune removes it with everything; ``start`` of one
    completes it (the missing link to the image layer, overlay directories, cgroup)."""
    md = crash.md
    for action in ("prune", "start"):
        cid = containers.create(crash.root, "busybox", ["httpd", "-f", "-p", "80"], name="half-" + action,
                                network=crash.bridge).id
        # what a create killed half-way leaves: a record naming a creator that is gone, no
        # link to the image layer, a cgroup in only some hierarchies
        dead = subprocess.Popen(["true"])
        dead.wait()
        rec = records.read(crash.paths, cid)
        records.update(crash.paths, cid, creatorPid=str(dead.pid), creatorStart="1")
        os.unlink(os.path.join(crash.paths.overlay_dir(cid), "lower"))
        from ansible_collections.mydocker.runtime.plugins.module_utils.engine.cgroups import Cgroup
        cg = Cgroup(cgroup_parent(crash.root), cid)
        os.rmdir(cg.leaf_dirs()[0])
        assert rec["status"] == "created"
        if action == "prune":
            out = md("prune").out
            assert "container half-prune (half-made" in out, out
            assert crash.leaks({cid}) == []
        else:
            md("start", cid)
            now = records.read(crash.paths, cid)
            assert not now.get("creatorPid") and crash.running_completely(now) is None
            assert cg.complete()
            md("rm", "-f", cid)
            assert crash.leaks({cid}) == []


def test_start_makes_again_the_etc_files_a_power_cut_left_empty(crash):
    """/etc/hostname, /etc/hosts and /etc/resolv.conf are written without fsync (they are made
    from the record): a start that finds one empty or missing, as a power cut can leave it, makes
    it again, and the container sees its own name in both."""
    cid = containers.create(crash.root, "busybox", ["cat", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf"],
                            name="etc-again", hostname="etc-again-host").id
    cdir = crash.paths.container_dir(cid)
    for name, gone in (("hostname", False), ("hosts", True), ("resolv.conf", False)):
        path = os.path.join(cdir, name)
        if gone:
            os.unlink(path)
        else:
            open(path, "w").close()  # what a power cut can leave of a new file written without fsync
    code, out, err = containers.start_and_wait(crash.root, cid)
    assert code == 0, err
    text = out.decode()
    assert text.startswith("etc-again-host\n"), text
    assert "127.0.1.1\tetc-again-host" in text, text
    for name in ("hostname", "hosts", "resolv.conf"):
        assert os.path.getsize(os.path.join(cdir, name)) > 0, name
    crash.md("rm", "-f", cid)
    assert crash.leaks({cid}) == []


def test_start_of_a_container_being_created_says_so(crash):
    md = crash.md
    cid = containers.create(crash.root, "busybox", ["true"], name="busy").id
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        records.update(crash.paths, cid, creatorPid=str(sleeper.pid),
                       creatorStart=lifecycle.proc_start_time(sleeper.pid))
        p = md("start", "busy", check=False)
        assert p.returncode != 0 and p.err.strip().splitlines() == [
            "mydocker: container busy is still being created (by process %d)" % sleeper.pid], p.err
        assert "nothing to prune" in md("prune").out  # a live creator's container is left alone
        assert md("rm", "busy", check=False).returncode != 0
    finally:
        sleeper.kill()
        sleeper.wait()
    md("rm", "busy")


def test_rm_racing_start_gives_one_clear_line(crash):
    """``rm -f`` while ``start`` runs: either the start wins (and rm removes the running
    container) or it says the container is gone, in one line, never an internal error."""
    md = crash.md
    for i in range(8):
        cid = containers.create(crash.root, "busybox", ["sleep", "1000"]).id
        st = subprocess.Popen([sys.executable, CLI, "start", cid], env=md.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
        time.sleep(0.02 * i)
        rm = md("rm", "-f", cid, check=False)
        out, err = st.communicate(timeout=60)
        err = err.decode()
        assert rm.returncode == 0, rm.err
        if st.returncode != 0:
            lines = err.strip().splitlines()
            assert len(lines) == 1 and "no such container" in lines[0], err
            assert "Error" not in err and "Traceback" not in err, err
        assert _wait(lambda c=cid: c not in md.ids()), md.ids()
        assert crash.leaks({cid}) == []
