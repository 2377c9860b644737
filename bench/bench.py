#!/usr/bin/env python
"""Side-by-side start-up benchmark: mydocker against podman (Debian's, with runc).

Run as root with the collection's interpreter, from anywhere:

    /opt/mydocker/venv/bin/python bench/bench.py [--runs 15] [--big-mb 300]

Everything happens in one temporary directory: mydocker gets its own state root, podman its own
--root/--runroot, containers.conf and storage.conf there (no host storage, no shm locks, no
journald). The networking cases use one bridge network per runtime on a random free 10.x.y.0/24 and
a free host port; the only traffic is one fetch per runtime through 127.0.0.1. Everything is
removed at the end, also after a failure or Ctrl-C: containers, networks, bridges, veths, iptables
rules and chains (netavark's included; iptables-save before and after must match), /run/netns
entries. Standard library only.
"""

import argparse
import collections
import hashlib
import http.client
import io
import ipaddress
import json
import os
import platform
import random
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MYDOCKER = os.path.join(REPO, "bin", "mydocker")
RESULTS = os.path.join(HERE, "results")

# Host paths a rootful podman creates even with everything else redirected (netavark's run dir is
# hard-coded for root, the blob-info cache of `podman import`, runc's state root, ...). Those that do
# not exist before the benchmark are removed after it. Order matters: children before parents.
PODMAN_HOST_PATHS = [
    "/var/lib/containers/cache/blob-info-cache-v1.boltdb",
    "/var/lib/containers/cache",
    "/var/lib/containers",
    "/run/containers/networks/ipam.db",
    "/run/containers/networks",
    "/run/containers",
    "/run/runc",
    "/run/netns",
    "/run/libpod",
    "/dev/shm/libpod_lock",
    "/etc/containers/networks/netavark.lock",
    "/etc/containers/networks",
]
CGROUP_ROOT = "/sys/fs/cgroup"


class BenchError(Exception):
    pass


def engine_hash():
    """sha256 (16 hex) of the engine's sources, to tell whether the checkout changed during the run."""
    h = hashlib.sha256()
    d = os.path.join(REPO, "plugins", "module_utils")
    for n in sorted(os.listdir(d)):
        if n.endswith(".py"):
            with open(os.path.join(d, n), "rb") as f:
                h.update(n.encode() + b"\0" + f.read() + b"\0")
    return h.hexdigest()[:16]


def log(msg):
    sys.stderr.write("[bench] %s\n" % msg)
    sys.stderr.flush()


# ------------------------------------------------------------------ processes

def run_cmd(argv, env=None, timeout=300, check=True, capture=True):
    """Run ``argv`` in its own session (so a terminal Ctrl-C reaches only us) and return
    (seconds, returncode, stdout, stderr). A Ctrl-C while it runs lets it finish first (a
    container runtime killed half-way would leave exactly the mess we want to avoid), then
    re-raises."""
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    interrupted = False
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE, env=env,
                         start_new_session=True)
    deadline = time.monotonic() + timeout
    while True:
        try:
            so, se = p.communicate(timeout=max(0.1, deadline - time.monotonic()))
            break
        except KeyboardInterrupt:
            interrupted = True
            continue
        except subprocess.TimeoutExpired:
            if time.monotonic() < deadline:
                continue
            p.kill()
            so, se = p.communicate()
            raise BenchError("timed out after %ds: %s" % (timeout, " ".join(argv)))
    dt = time.perf_counter() - t0
    so = (so or b"").decode("utf-8", "replace")
    se = (se or b"").decode("utf-8", "replace")
    if interrupted:
        raise KeyboardInterrupt
    if check and p.returncode != 0:
        raise BenchError("command failed (exit %d): %s\n%s" % (p.returncode, " ".join(argv), se.strip()))
    return dt, p.returncode, so, se


def procs_mentioning(text):
    """PIDs (not ours) whose command line mentions ``text``."""
    me = os.getpid()
    found = []
    needle = text.encode()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if needle in cmd:
            found.append(int(d))
    return found


def become_subreaper():
    """Adopt the orphans we cause (mydocker monitors, conmon): they become our children instead of
    PID 1's, so we reap them ourselves and leave no <defunct> entries behind (PID 1 of a container
    or VM is not always quick to reap). Best effort."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def reap():
    """Collect exited adopted children. Only called while no subprocess of ours is running, so it
    cannot steal an exit status subprocess.Popen waits for."""
    while True:
        try:
            pid, dummy = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        except InterruptedError:
            continue
        if pid == 0:
            return


def quiesce(text, timeout=15.0):
    """Wait until no process mentions ``text`` (monitors, conmon, cleanup helpers of the last run)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reap()
        if not procs_mentioning(text):
            return True
        time.sleep(0.01)
    return False


def smaps_rollup(pid):
    vals = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[-1] == "kB":
                vals[parts[0].rstrip(":")] = int(parts[1])
    return {"rss_kb": vals.get("Rss", 0), "pss_kb": vals.get("Pss", 0),
            "uss_kb": vals.get("Private_Clean", 0) + vals.get("Private_Dirty", 0)}


def mountpoints_under(path):
    path = os.path.realpath(path)
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == path or mp.startswith(path + "/"):
                out.append(mp)
    return sorted(set(out), key=len, reverse=True)


# ------------------------------------------------------------------ host networking

def _ip_lines(*args):
    try:
        return subprocess.run(["ip"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              check=False).stdout.decode("utf-8", "replace").splitlines()
    except OSError:
        return []


ROUTE_TYPES = ("unicast", "local", "broadcast", "multicast", "throw", "unreachable", "prohibit",
               "blackhole", "nat", "anycast")


def host_ipv4_nets():
    """Every IPv4 destination in every routing table, and every address on every link."""
    nets = []
    for line in _ip_lines("-4", "-o", "route", "show", "table", "all"):
        words = line.split()
        if words and words[0] in ROUTE_TYPES:
            words = words[1:]
        if not words or words[0] == "default":
            continue
        try:
            nets.append(ipaddress.ip_network(words[0], strict=False))
        except ValueError:
            pass
    for line in _ip_lines("-4", "-o", "addr", "show"):
        words = line.split()
        if "inet" in words:
            try:
                nets.append(ipaddress.ip_interface(words[words.index("inet") + 1]).network)
            except (ValueError, IndexError):
                pass
    return nets


def pick_subnets(count, rng):
    """``count`` distinct random 10.x.y.0/24 subnets that overlap no host route or address (the
    bridges of other mydocker roots and of podman have routes, so those are avoided too)."""
    taken = host_ipv4_nets()
    out = []
    for dummy in range(10000):
        cand = ipaddress.ip_network("10.%d.%d.0/24" % (rng.randrange(256), rng.randrange(256)))
        if any(cand.overlaps(n) for n in taken + out):
            continue
        out.append(cand)
        if len(out) == count:
            return [str(n) for n in out]
    raise BenchError("no free 10.x.y.0/24 subnet found")


def pick_ports(count, avoid_text=""):
    """``count`` distinct free TCP ports (the kernel's choice for a bind to port 0, so nothing
    listens there) that no iptables rule on the host mentions either."""
    out = []
    for dummy in range(1000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as so:
            so.bind(("0.0.0.0", 0))
            port = so.getsockname()[1]
        if port in out or re.search(r"--dport %d\b" % port, avoid_text):
            continue
        out.append(port)
        if len(out) == count:
            return out
    raise BenchError("no free host port found")


def fetch_loopback(port, path="/etc/hostname", timeout=15.0):
    """GET http://127.0.0.1:PORT/PATH (http.client: no proxy can ever be involved), retrying until
    the server answers; returns (status, body, seconds until the first answer)."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, r.read().decode("utf-8", "replace"), time.monotonic() - t0
        except (OSError, http.client.HTTPException) as e:
            last = e
            time.sleep(0.05)
        finally:
            conn.close()
    raise BenchError("no answer from 127.0.0.1:%d within %.0f s: %s" % (port, timeout, last))


NETFILTER = (("iptables", "iptables-save"), ("ip6tables", "ip6tables-save"))


def netfilter_dump():
    """{tool: {table: {"chains": {name: policy}, "rules": [rule line, ...]}}}, counters dropped."""
    out = {}
    for tool, save in NETFILTER:
        tables = {}
        try:
            text = subprocess.run([save], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  check=False).stdout.decode("utf-8", "replace")
        except OSError:
            text = ""
        cur = None
        for line in text.splitlines():
            if line.startswith("*"):
                cur = tables.setdefault(line[1:], {"chains": {}, "rules": []})
            elif line.startswith(":") and cur is not None:
                name, policy = line[1:].split()[:2]
                cur["chains"][name] = policy
            elif line.startswith("-A ") and cur is not None:
                cur["rules"].append(line)
        out[tool] = tables
    return out


def netfilter_lines(dump):
    """Comparable lines: iptables-save without comments, dates and counters."""
    lines = []
    for tool in sorted(dump):
        for table in sorted(dump[tool]):
            t = dump[tool][table]
            lines += ["%s %s :%s %s" % (tool, table, c, p) for c, p in sorted(t["chains"].items())]
            lines += ["%s %s %s" % (tool, table, r) for r in t["rules"]]
    return lines


def _chain_targets(rule):
    words = shlex.split(rule)
    return [words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-j", "-g", "--jump", "--goto")]


def netfilter_remove_new(before, is_ours, done):
    """Delete the rules and chains that are not in ``before`` and that ``is_ours(text)`` claims
    (or that jump to such a chain): rules in pre-existing chains one by one by their exact spec,
    then our new chains flushed and deleted. Appends what it did to ``done``."""
    now = netfilter_dump()
    for tool, dummy in NETFILTER:
        for table, t in now.get(tool, {}).items():
            old = before.get(tool, {}).get(table, {"chains": {}, "rules": []})
            new_chains = [c for c in t["chains"] if c not in old["chains"] and is_ours(c)]
            left = collections.Counter(old["rules"])
            for rule in t["rules"]:
                if left[rule] > 0:
                    left[rule] -= 1
                    continue
                chain = rule.split()[1]
                if chain in new_chains:
                    continue  # goes with the flush below
                if is_ours(rule) or set(_chain_targets(rule)) & set(new_chains):
                    rc = subprocess.call([tool, "-w", "-t", table, "-D"] + shlex.split(rule)[1:],
                                         stderr=subprocess.DEVNULL)
                    done.append("%s -t %s: deleted rule %s%s" % (tool, table, rule, "" if rc == 0 else " (FAILED)"))
            for c in new_chains:
                subprocess.call([tool, "-w", "-t", table, "-F", c], stderr=subprocess.DEVNULL)
            for c in new_chains:
                rc = subprocess.call([tool, "-w", "-t", table, "-X", c], stderr=subprocess.DEVNULL)
                done.append("%s -t %s: deleted chain %s%s" % (tool, table, c, "" if rc == 0 else " (FAILED)"))


class NetSnapshot:
    """What the host's network looked like before the benchmark, to prove it looks the same after."""

    def __init__(self):
        self.netfilter = netfilter_dump()
        self.links = set(os.listdir("/sys/class/net"))
        self.netns = set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()
        self.ip_forward = _read("/proc/sys/net/ipv4/ip_forward")


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


# ------------------------------------------------------------------ the two runtimes

class MyDocker:
    name = "mydocker"

    def __init__(self, base, python):
        self.root = os.path.join(base, "mydocker")
        self.python = python
        env = dict(os.environ)
        env.pop("MYDOCKER_ROOT", None)
        env.pop("MYDOCKER_CGROUP_PARENT", None)
        self.env = env
        # the cgroup parent mydocker uses for a non-default root (state.cgroup_parent)
        self.cgroup_parent = "mydocker-" + hashlib.sha1(self.root.encode()).hexdigest()[:10]
        # the same hash tags our iptables chains and rule comments (iptables.root_tag)
        self.ipt_tag = "-" + hashlib.sha1(self.root.encode()).hexdigest()[:10]
        self.networks = []   # created by us (names), bridge names are the same
        self.bridges = []
        self.net_cids = []   # networked containers started by us (their veths must be gone)
        self.subnets = []
        self.ports = []

    def cmd(self, *args):
        return [self.python, MYDOCKER, "--root", self.root] + list(args)

    def call(self, *args, **kw):
        return run_cmd(self.cmd(*args), env=self.env, **kw)

    def version(self):
        try:
            rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, check=False).stdout.decode().strip()
        except OSError:
            rev = ""
        return "mydocker (checkout %s%s), Python %s" % (REPO, " @ " + rev if rev else "", platform.python_version())

    def import_image(self, tar, name):
        return self.call("image", "import", tar, name)[0]

    def run_detached(self, image, *cmd):
        dt, dummy, out, dummy = self.call("run", "-d", image, *cmd)
        return dt, out.strip().splitlines()[-1]

    def run_rm(self, image, *cmd):
        return self.call("run", "--rm", image, *cmd, capture=False)[0]

    def remove(self, cid):
        return self.call("rm", "-f", cid)[0]

    def helper_pid(self, cid):
        rec = json.loads(self.call("inspect", cid)[2])[0]
        return int(rec["monitorPid"])

    # networking: `network create --driver bridge --subnet CIDR NAME`; the bridge is named after it
    def net_create(self, name, subnet):
        dt = self.call("network", "create", "--driver", "bridge", "--subnet", subnet, name)[0]
        self.networks.append(name)
        self.bridges.append(name)
        return dt

    def run_net(self, net, port, image, *cmd):
        dt, dummy, out, dummy = self.call("run", "-d", "--net", net, "-p", "%d:80" % port, image, *cmd)
        cid = out.strip().splitlines()[-1]
        self.net_cids.append(cid)
        return dt, cid

    def veth_names(self):
        """Host ends of the veths of our networked containers (network.veth_name: "veth" + id)."""
        return ["veth" + c if len(c) == 10 and c.isdigit() else "veth" + hashlib.sha1(c.encode()).hexdigest()[:10]
                for c in self.net_cids]

    def container_ids(self):
        return self.call("ps", "-a", "-q", check=False)[2].split()

    def cleanup(self, problems, notes):
        if not os.path.isdir(self.root):
            return
        for cid in self.container_ids():
            dummy, rc, dummy, err = self.call("rm", "-f", cid, check=False)
            if rc != 0:
                problems.append("mydocker rm -f %s: %s" % (cid, err.strip()))
        out = self.call("images", check=False)[2].splitlines()[1:]
        for line in out:
            name = line.split()[0]
            dummy, rc, dummy, err = self.call("rmi", "-f", name, check=False)
            if rc != 0:
                problems.append("mydocker rmi -f %s: %s" % (name, err.strip()))
        for name in self.call("network", "ls", "-q", check=False)[2].split():
            dummy, rc, dummy, err = self.call("network", "rm", name, check=False)
            if rc != 0:
                problems.append("mydocker network rm %s: %s" % (name, err.strip()))
        dummy, rc, out, err = self.call("prune", check=False)
        lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
        if rc == 0 and lines and all(ln.startswith("removed engine copy ") for ln in lines):
            # monitors resume with a private copy of the engine (monitor.engine_copy), one per engine
            # version: when the checkout changes during the run (others editing it), the older copy
            # stays until prune; that is not a leftover of a crash
            notes.append("mydocker prune removed engine copies of an older engine version (the checkout "
                         "changed during the run): %s" % "; ".join(lines))
        elif rc != 0 or "nothing to prune" not in out:
            problems.append("mydocker prune after removing everything: %s" % (out + err).strip())


class Podman:
    name = "podman"

    def __init__(self, base):
        self.dir = os.path.join(base, "podman")
        self.graphroot = os.path.join(self.dir, "root")
        self.runroot = os.path.join(self.dir, "run")
        for d in ("tmp", "volumes", "networks"):
            os.makedirs(os.path.join(self.dir, d))
        self.conf = os.path.join(self.dir, "containers.conf")
        with open(self.conf, "w") as f:
            f.write('[containers]\nnetns = "none"\n'
                    '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "none"\nruntime = "runc"\n'
                    'lock_type = "file"\ntmp_dir = "%s"\nvolume_path = "%s"\n'
                    '[network]\nnetwork_config_dir = "%s"\n'
                    % (os.path.join(self.dir, "tmp"), os.path.join(self.dir, "volumes"),
                       os.path.join(self.dir, "networks")))
        self.storage_conf = os.path.join(self.dir, "storage.conf")
        with open(self.storage_conf, "w") as f:
            f.write('[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "%s"\n'
                    % (self.graphroot, self.runroot))
        env = dict(os.environ)
        env["CONTAINERS_CONF"] = self.conf
        env["CONTAINERS_STORAGE_CONF"] = self.storage_conf
        env.pop("CONTAINER_HOST", None)
        self.env = env
        # podman's default ulimits (nofile 1048576, nproc 4194304) are above this machine's hard limits
        # (root here lacks CAP_SYS_RESOURCE) and runc then fails with "error setting rlimits";
        # probe_ulimits() finds values that work, starting from ours (what a mydocker container gets).
        self.base_flags = ["--runtime", "runc", "--network", "none", "--pull", "never"]
        self.run_flags = list(self.base_flags)
        self.networks = []
        self.bridges = []    # podman names them itself (podman1, podman2, ...): read back after create
        self.subnets = []
        self.ports = []

    def probe_ulimits(self, image):
        """Pick --ulimit values runc can set: our own limits first, then lower nproc values."""
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)
        nproc = resource.getrlimit(resource.RLIMIT_NPROC)
        tried = []
        for np_hard in [nproc[1], 32768, 16384, 4096, 1024]:
            if nproc[1] != resource.RLIM_INFINITY and np_hard > nproc[1]:
                continue
            np_soft = np_hard if nproc[0] == resource.RLIM_INFINITY else min(nproc[0], np_hard)
            flags = self.base_flags + ["--ulimit", "nofile=%s:%s" % (_lim(nofile[0]), _lim(nofile[1])),
                                       "--ulimit", "nproc=%s:%s" % (_lim(np_soft), _lim(np_hard))]
            dummy, rc, dummy, err = self.call("run", "--rm", *(flags + [self.ref(image), "true"]), check=False)
            if rc == 0:
                self.run_flags = flags
                return flags, tried
            tried.append({"flags": flags[len(self.base_flags):], "error": err.strip().splitlines()[-1:]})
        raise BenchError("podman cannot run a container with any --ulimit values tried: %s" % tried)

    def cmd(self, *args):
        return ["podman", "--root", self.graphroot, "--runroot", self.runroot] + list(args)

    def call(self, *args, **kw):
        return run_cmd(self.cmd(*args), env=self.env, **kw)

    def version(self):
        v = self.call("version", "--format", "{{.Client.Version}}", check=False)[2].strip()
        r = subprocess.run(["runc", "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False).stdout
        c = subprocess.run(["conmon", "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           check=False).stdout
        return "podman %s, %s, %s" % (v, r.decode().splitlines()[0] if r else "runc ?",
                                      c.decode().splitlines()[0] if c else "conmon ?")

    def ref(self, name):
        return "localhost/%s:latest" % name

    def import_image(self, tar, name):
        return self.call("import", "--quiet", tar, self.ref(name))[0]

    def run_detached(self, image, *cmd):
        dt, dummy, out, dummy = self.call("run", "-d", *(self.run_flags + [self.ref(image)] + list(cmd)))
        return dt, out.strip().splitlines()[-1]

    def run_rm(self, image, *cmd):
        return self.call("run", "--rm", *(self.run_flags + [self.ref(image)] + list(cmd)), capture=False)[0]

    def remove(self, cid):
        # -t 0: kill at once, as mydocker's rm -f does (podman's default would wait 10 s for SIGTERM)
        return self.call("rm", "-f", "-t", "0", cid)[0]

    def helper_pid(self, cid):
        return int(self.call("inspect", "--format", "{{.State.ConmonPid}}", cid)[2].strip())

    # networking: a netavark bridge network; --disable-dns because mydocker has no DNS server
    # (podman would start aardvark-dns on the gateway for a named network otherwise)
    def net_create(self, name, subnet):
        dt = self.call("network", "create", "--driver", "bridge", "--disable-dns", "--subnet", subnet, name)[0]
        self.networks.append(name)
        iface = self.call("network", "inspect", "--format", "{{.NetworkInterface}}", name)[2].strip()
        self.bridges.append(iface)
        return dt

    def net_flags(self, net):
        flags = list(self.run_flags)
        i = flags.index("--network")
        flags[i + 1] = net
        return flags

    def run_net(self, net, port, image, *cmd):
        argv = self.net_flags(net) + ["-p", "%d:80" % port, self.ref(image)] + list(cmd)
        dt, dummy, out, dummy = self.call("run", "-d", *argv)
        return dt, out.strip().splitlines()[-1]

    def cleanup(self, problems, notes):
        if not os.path.isdir(self.graphroot):
            return
        cmds = ([("rm", "-a", "-f", "-t", "0")] + [("network", "rm", "-f", n) for n in self.networks]
                + [("rmi", "-a", "-f")])
        for args in cmds:
            dummy, rc, dummy, err = self.call(*args, check=False)
            if rc != 0:
                problems.append("podman %s: %s" % (" ".join(args), err.strip()))


def _lim(v):
    return "-1" if v == resource.RLIM_INFINITY else str(v)


# ------------------------------------------------------------------ images

def build_small(base, md):
    """The busybox rootfs tarball, made by mydocker's own builder (`image busybox`)."""
    md.call("image", "busybox", "bench-builder")
    small = os.path.join(base, "busybox-rootfs.tar")
    # `image import` keeps the tarball as <root>/image/<name>.tar (SPEC 1.3): copy it out, then drop
    # that image (and its layer) so that the timed `image import` below really unpacks
    shutil.copyfile(os.path.join(md.root, "image", "bench-builder.tar"), small)
    md.call("rmi", "bench-builder")
    return small


def build_big(base, small, megabytes, file_mb=10):
    big = os.path.join(base, "busybox-big-rootfs.tar")
    shutil.copyfile(small, big)
    left = megabytes
    i = 0
    with tarfile.open(big, "a", format=tarfile.GNU_FORMAT) as tf:
        d = tarfile.TarInfo("./data")
        d.type = tarfile.DIRTYPE
        d.mode = 0o755
        d.mtime = int(time.time())
        tf.addfile(d)
        while left > 0:
            n = min(file_mb, left)
            blob = os.urandom(n << 20)
            ti = tarfile.TarInfo("./data/blob%03d.bin" % i)
            ti.size = len(blob)
            ti.mode = 0o644
            ti.mtime = int(time.time())
            tf.addfile(ti, io.BytesIO(blob))
            left -= n
            i += 1
    return big


# ------------------------------------------------------------------ measuring

def stats(samples):
    s = sorted(samples)
    n = len(s)
    if n == 1:
        p90 = s[0]
    else:
        p90 = statistics.quantiles(s, n=10, method="inclusive")[8]
    return {"n": n, "median": statistics.median(s), "p90": p90, "min": s[0], "max": s[-1],
            "mean": statistics.mean(s)}


def time_cases(runtimes, cases, runs, warmup, base, nets=None):
    """Interleave runtimes and cases so drift hits all of them alike; returns {key: {rt: [s]}}.

    ``cases`` are (keys, image, mode): "detach" (run -d true, then an untimed rm -f), "rm"
    (run --rm true) and "net" (run -d --net NET -p PORT:80 IMAGE httpd -f -p 80, then rm -f: two
    keys, both timed; ``nets[rt.name]`` gives NET and PORT)."""
    samples = {k: {rt.name: [] for rt in runtimes} for c in cases for k in c[0]}
    for i in range(-warmup, runs):
        for keys, image, mode in cases:
            for rt in runtimes:
                if mode == "detach":
                    dt, cid = rt.run_detached(image, "true")
                    rt.remove(cid)  # untimed
                    got = [dt]
                elif mode == "net":
                    net, port = nets[rt.name]
                    dt, cid = rt.run_net(net, port, image, "httpd", "-f", "-p", "80")
                    got = [dt, rt.remove(cid)]
                else:
                    got = [rt.run_rm(image, "true")]
                # let monitors / conmon / cleanup helpers of this run finish before the next one
                if not quiesce(base):
                    raise BenchError("processes of the last %s run did not go away: %s"
                                     % (rt.name, procs_mentioning(base)))
                if i >= 0:
                    for k, dt in zip(keys, got):
                        samples[k][rt.name].append(dt)
        if i >= 0:
            log("round %d/%d done" % (i + 1, runs))
    return samples


def setup_networks(runtimes, rng):
    """One bridge network per runtime on its own random 10.x.y.0/24, a free host port each, and one
    real fetch through 127.0.0.1:PORT from a container on it (untimed) before anything is timed."""
    subnets = pick_subnets(len(runtimes), rng)
    ports = pick_ports(len(runtimes), "\n".join(netfilter_lines(netfilter_dump())))
    nets, info = {}, {}
    for rt, subnet, port in zip(runtimes, subnets, ports):
        name = ("mdb" if isinstance(rt, MyDocker) else "pdb") + "%010x" % rng.getrandbits(40)  # 13 chars
        rt.subnets.append(subnet)
        rt.ports.append(port)
        create_s = rt.net_create(name, subnet)
        nets[rt.name] = (name, port)
        dt, cid = rt.run_net(name, port, "busybox", "httpd", "-f", "-p", "80")
        try:
            status, body, wait = fetch_loopback(port)
        finally:
            rt.remove(cid)
        if status != 200 or not body.strip():
            raise BenchError("%s: GET http://127.0.0.1:%d/etc/hostname gave HTTP %d %r"
                             % (rt.name, port, status, body[:80]))
        log("%s: network %s (bridge %s, %s), port %d: GET http://127.0.0.1:%d/etc/hostname -> %d %r"
            % (rt.name, name, rt.bridges[-1], subnet, port, port, status, body.strip()))
        info[rt.name] = {"network": name, "bridge": rt.bridges[-1], "subnet": subnet, "host_port": port,
                         "network_create_s": create_s, "verify_fetch": {
                             "url": "http://127.0.0.1:%d/etc/hostname" % port, "status": status,
                             "body": body.strip(), "seconds_after_run_returned": wait}}
    return nets, info


def measure_memory(runtimes, count):
    """RSS/PSS/USS of the per-container helper (mydocker monitor, podman conmon) of `sleep`
    containers: one alone, then ``count`` side by side (PSS shares libraries between them)."""
    out = {}
    for rt in runtimes:
        cids = []
        try:
            for i in range(count):
                cids.append(rt.run_detached("busybox", "sleep", "3600")[1])
                if i == 0:
                    time.sleep(0.5)
                    alone = smaps_rollup(rt.helper_pid(cids[0]))
            time.sleep(0.5)
            each = [smaps_rollup(rt.helper_pid(c)) for c in cids]
            out[rt.name] = {
                "alone": alone,
                "together": {k: statistics.median([e[k] for e in each]) for k in ("rss_kb", "pss_kb", "uss_kb")},
                "together_count": count,
                "together_total_pss_kb": sum(e["pss_kb"] for e in each),
            }
        finally:
            for c in cids:
                rt.remove(c)
    return out


def import_ipam(base):
    """The engine's IPAM module, importable the way tests/conftest.py does it: a symlink
    ansible_collections/mydocker/runtime -> this checkout (here inside the temporary directory)."""
    coll = os.path.join(base, "collections")
    link = os.path.join(coll, "ansible_collections", "mydocker", "runtime")
    os.makedirs(os.path.dirname(link))
    os.symlink(REPO, link)
    sys.path.insert(0, coll)
    try:
        from ansible_collections.mydocker.runtime.plugins.module_utils.engine import store as state
        from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import ipam
    finally:
        sys.path.remove(coll)
    return ipam, state


IPAM_NET = "10.0.0.0/16"


def ipam_others(kind):
    if kind == "/24":
        return ["10.200.%d.0/24" % i for i in range(100)]
    if kind == "/16":
        return ["10.%d.0.0/16" % i for i in range(1, 101)]
    return []


def measure_ipam(base, reps, fills=(0, 1000, 10000, 60000), others_kinds=("", "/24", "/16")):
    """IP allocation on a /16 straight through the engine (no container, no netlink, no podman peer:
    podman's IPAM is not comparable from the outside). For each fill level (addresses taken, the
    first ones after the gateway, each with an owner in owners.json as real containers would have)
    and 0 or 100 other networks in subnet.json: time one locked ipam.allocate() + ipam.release()
    (as `run --net` and `rm` do them: lock, read, modify, atomic write with fsync) and, apart, the
    pure in-memory allocate_in() + release_in() on the loaded dict."""
    ipam, state = import_ipam(base)
    net = ipam.parse_subnet(IPAM_NET)
    gw = ipam.default_gateway(net)
    first = int(net.network_address)
    out = []
    for kind in others_kinds:
        for fill in fills:
            root = tempfile.mkdtemp(prefix="ipam-", dir=base)
            paths = state.Paths(root)
            paths.ensure()
            data = {}
            for o in ipam_others(kind):
                on = ipam.parse_subnet(o)
                ipam.reserve_subnet_in(data, on, ipam.default_gateway(on))
            ipam.reserve_subnet_in(data, net, gw)
            bits = data[str(net)]
            data[str(net)] = bits[:2] + "1" * fill + bits[2 + fill:]   # index 1 is the gateway
            owners = {str(net): {str(ipaddress.IPv4Address(first + 2 + i)): "%010d" % i for i in range(fill)}}
            ipam.save(paths, data)
            ipam.save_owners(paths, owners)
            expect = str(ipaddress.IPv4Address(first + 2 + fill))
            locked = []
            for r in range(reps + 3):  # 3 warm-up
                t0 = time.perf_counter()
                ip = ipam.allocate(paths, net, owner="bench")
                ipam.release(paths, net, ip, owner="bench")
                dt = time.perf_counter() - t0
                if ip != expect:
                    raise BenchError("ipam: allocated %s, expected the first free address %s" % (ip, expect))
                if r >= 3:
                    locked.append(dt)
            d = ipam.load(paths)
            pure = []
            for r in range(reps):
                t0 = time.perf_counter()
                a = ipam.allocate_in(d, net)
                ipam.release_in(d, net, a)
                pure.append(time.perf_counter() - t0)
            if ipam.free_count_in(ipam.load(paths), net) != net.num_addresses - 3 - fill:
                raise BenchError("ipam: wrong free count after the allocate/release cycles")
            out.append({"fill": fill, "others": ("100 x " + kind) if kind else "none",
                        "subnet_json_bytes": os.path.getsize(paths.ipam_file),
                        "owners_json_bytes": os.path.getsize(ipam.owners_file(paths)),
                        "locked": stats(locked), "pure": stats(pure),
                        "samples_s": {"locked": locked, "pure": pure}})
            shutil.rmtree(root)
            log("ipam: /16 with %d taken, other networks: %s: allocate+release %.2f ms (pure %.1f us)"
                % (fill, out[-1]["others"], out[-1]["locked"]["median"] * 1e3, out[-1]["pure"]["median"] * 1e6))
    return out


# ------------------------------------------------------------------ reporting

def fmt_ms(s):
    return "%.0f" % (s * 1000) if s >= 0.1 else "%.1f" % (s * 1000)


def report(res):
    lines = []
    lines.append("Start-up time, %d runs each (after %d warm-up), milliseconds; ratio = mydocker / podman"
                 % (res["runs"], res["warmup"]))
    lines.append("")
    lines.append("| case | mydocker median | mydocker p90 | podman median | podman p90 | ratio (median) "
                 "| ratio (p90) |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for key, label in res["case_labels"]:
        m = res["timing"][key]["mydocker"]
        p = res["timing"][key]["podman"]
        lines.append("| %s | %s | %s | %s | %s | %.2f | %.2f |" % (
            label, fmt_ms(m["median"]), fmt_ms(m["p90"]), fmt_ms(p["median"]), fmt_ms(p["p90"]),
            m["median"] / p["median"], m["p90"] / p["p90"]))
    if res.get("network"):
        lines.append("")
        lines.append("Networking: " + "; ".join(
            "%s network %s (bridge %s, %s), host port %d, checked with GET %s -> %d" % (
                rt, n["network"], n["bridge"], n["subnet"], n["host_port"], n["verify_fetch"]["url"],
                n["verify_fetch"]["status"]) for rt, n in sorted(res["network"].items())))
    lines.append("")
    lines.append("Image import (once, not per container), seconds:")
    lines.append("")
    lines.append("| image | size | mydocker | podman |")
    lines.append("|---|---:|---:|---:|")
    for name, v in res["import"].items():
        lines.append("| %s | %.0f MB | %.2f | %.2f |" % (name, v["size_bytes"] / 1e6, v["mydocker"], v["podman"]))
    lines.append("")
    mem = res["memory"]
    lines.append("Memory of the per-container helper (mydocker: monitor; podman: conmon) of a running "
                 "`sleep` container, from /proc/PID/smaps_rollup, KiB:")
    lines.append("")
    lines.append("| helper | RSS | PSS | USS | RSS (%d running, median) | PSS (%d running, median) "
                 "| USS (%d running, median) |"
                 % ((mem["mydocker"]["together_count"],) * 3))
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for rt, label in (("mydocker", "mydocker monitor"), ("podman", "podman conmon")):
        a, t = mem[rt]["alone"], mem[rt]["together"]
        lines.append("| %s | %d | %d | %d | %d | %d | %d |"
                     % (label, a["rss_kb"], a["pss_kb"], a["uss_kb"], t["rss_kb"], t["pss_kb"], t["uss_kb"]))
    lines.append("")
    lines.append("Floor: `python -c pass` with the same interpreter takes %s ms (median of %d)."
                 % (fmt_ms(res["python_floor"]["median"]), res["python_floor"]["n"]))
    if res.get("ipam"):
        lines.append("")
        lines.append("IP allocation on a /16 (%s) through the engine (mydocker only, no podman peer), %d runs each:"
                     % (IPAM_NET, res["ipam"][0]["locked"]["n"]))
        lines.append("")
        lines.append("| addresses taken | other networks in subnet.json | subnet.json | owners.json "
                     "| allocate+release median (ms) | p90 (ms) | in-memory allocate_in+release_in median (µs) |")
        lines.append("|---:|---|---:|---:|---:|---:|---:|")
        for r in res["ipam"]:
            lines.append("| %d | %s | %s | %s | %.2f | %.2f | %.1f |" % (
                r["fill"], r["others"], _size(r["subnet_json_bytes"]), _size(r["owners_json_bytes"]),
                r["locked"]["median"] * 1e3, r["locked"]["p90"] * 1e3, r["pure"]["median"] * 1e6))
    return "\n".join(lines)


def _size(n):
    return "%d B" % n if n < 10000 else ("%.0f kB" % (n / 1e3) if n < 1e6 else "%.1f MB" % (n / 1e6))


# ------------------------------------------------------------------ set-up and clean-up

def snapshot_host():
    paths = PODMAN_HOST_PATHS + [os.path.join(CGROUP_ROOT, c, "libpod_parent") for c in _controllers()]
    return {p: os.path.lexists(p) for p in paths}


def _controllers():
    try:
        return sorted(os.listdir(CGROUP_ROOT))
    except OSError:
        return []


def _rm_cgroup_tree(path, problems):
    for dirpath, dirnames, dummy in sorted(os.walk(path), key=lambda t: -len(t[0])):
        try:
            with open(os.path.join(dirpath, "cgroup.procs")) as f:
                if f.read().strip():
                    problems.append("cgroup %s still has processes" % dirpath)
                    continue
            os.rmdir(dirpath)
        except OSError as e:
            problems.append("cannot remove cgroup %s: %s" % (dirpath, e))


def _marker(rt):
    """A predicate: does an iptables line (or chain name) belong to runtime ``rt``'s networks?"""
    words = list(rt.bridges) + list(rt.subnets) + (["NETAVARK"] if isinstance(rt, Podman) else [rt.ipt_tag])
    ports = [re.compile(r"--dport %d\b" % p) for p in rt.ports]
    return lambda text: any(w and w in text for w in words) or any(p.search(text) for p in ports)


def restore_network(net_before, runtimes, problems, notes):
    """Remove and then rule out every network trace of ours: iptables rules and chains (netavark
    leaves its global NETAVARK_FORWARD and NETAVARK-HOSTPORT-* chains and their jumps behind by
    design: noted, not a finding; a leftover of mydocker is a finding), bridges, veths, routes,
    /run/netns entries. Finally iptables-save must equal the one from before, counters aside."""
    for rt in runtimes:
        done = []
        netfilter_remove_new(net_before.netfilter, _marker(rt), done)
        if done:
            (notes if isinstance(rt, Podman) else problems).append(
                "%s iptables leftovers removed: %s" % (rt.name, "; ".join(done)))
    ours = set()
    for rt in runtimes:
        ours.update(rt.bridges)
        if isinstance(rt, MyDocker):
            ours.update(rt.veth_names())
    new_links = set(os.listdir("/sys/class/net")) - net_before.links
    for name in sorted(new_links & ours):
        problems.append("link %s left behind, deleted" % name)
        subprocess.call(["ip", "link", "delete", name], stderr=subprocess.DEVNULL)
    subnets = [ipaddress.ip_network(n) for rt in runtimes for n in rt.subnets]
    for line in _ip_lines("-4", "-o", "route", "show", "table", "all"):
        words = line.split()
        dst = words[1] if words and words[0] in ROUTE_TYPES else (words[0] if words else "")
        try:
            if any(ipaddress.ip_network(dst, strict=False).overlaps(n) for n in subnets):
                problems.append("route left behind: %s" % line.strip())
        except ValueError:
            pass
    if os.path.isdir("/run/netns"):
        for e in sorted(set(os.listdir("/run/netns")) - net_before.netns):
            if re.match(r"^netns-[0-9a-f-]{36}$", e):  # podman's naming
                problems.append("/run/netns/%s left behind, removed" % e)
                p = os.path.join("/run/netns", e)
                subprocess.call(["umount", p], stderr=subprocess.DEVNULL)
                try:
                    os.unlink(p)
                except OSError as err:
                    problems.append("cannot remove %s: %s" % (p, err))
    if _read("/proc/sys/net/ipv4/ip_forward") != net_before.ip_forward:
        notes.append("net.ipv4.ip_forward changed from %s to %s during the run"
                     % (net_before.ip_forward, _read("/proc/sys/net/ipv4/ip_forward")))


def verify_network(net_before, runtimes, problems, notes):
    markers = [_marker(rt) for rt in runtimes]
    before = collections.Counter(netfilter_lines(net_before.netfilter))
    after = collections.Counter(netfilter_lines(netfilter_dump()))
    diff = ["- " + ln for ln in (before - after).elements()] + ["+ " + ln for ln in (after - before).elements()]
    mine = [d for d in diff if any(m(d) for m in markers)]
    other = [d for d in diff if d not in mine]
    if mine:
        problems.append("iptables-save differs from before the run in lines of ours: " + " | ".join(mine))
    if other:
        notes.append("iptables-save differs in %d lines that are not ours (other software changed the "
                     "rules during the run): %s" % (len(other), " | ".join(other[:20])))
    ours = set()
    for rt in runtimes:
        ours.update(rt.bridges)
        if isinstance(rt, MyDocker):
            ours.update(rt.veth_names())
    left = (set(os.listdir("/sys/class/net")) - net_before.links)
    if left & ours:
        problems.append("links of ours still there: %s" % ", ".join(sorted(left & ours)))
    if left - ours:
        notes.append("new links not of ours (other software): %s" % ", ".join(sorted(left - ours)))
    netns = set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()
    if netns - net_before.netns:
        problems.append("new /run/netns entries: %s" % ", ".join(sorted(netns - net_before.netns)))
    if not mine and not (left & ours) and not (netns - net_before.netns):
        log("network clean-up verified: iptables-save %s, no bridge, veth, route or /run/netns entry of "
            "this run is left" % ("identical to before (counters aside)" if not diff else
                                  "has no line of ours (only other software's changes differ)"))


def restore_host(before, problems):
    """Remove what podman created outside its redirected directories."""
    for p, existed in before.items():
        if existed or not os.path.lexists(p):
            continue
        try:
            if p.startswith(CGROUP_ROOT):
                _rm_cgroup_tree(p, problems)
            elif os.path.isdir(p) and not os.path.islink(p):
                if mountpoints_under(p):
                    subprocess.call(["umount", p])
                os.rmdir(p)  # only if empty: anything else is not ours
            else:
                os.unlink(p)
        except OSError as e:
            problems.append("cannot remove %s (created during the benchmark): %s" % (p, e))


def cleanup(base, runtimes, host_before, net_before, problems, notes):
    for rt in runtimes:
        try:
            rt.cleanup(problems, notes)
        except (BenchError, OSError) as e:
            problems.append("%s clean-up: %s" % (rt.name, e))
    if not quiesce(base, timeout=10):
        pids = procs_mentioning(base)
        problems.append("processes left behind, killed: %s" % ", ".join(
            "%d (%s)" % (p, _cmdline(p)) for p in pids))
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        quiesce(base, timeout=5)
    restore_network(net_before, runtimes, problems, notes)
    mps = mountpoints_under(base)
    if mps:
        problems.append("mounts left behind, unmounted: %s" % ", ".join(mps))
        for mp in mps:
            if subprocess.call(["umount", mp], stderr=subprocess.DEVNULL) != 0:
                subprocess.call(["umount", "-l", mp])
    for rt in runtimes:
        if isinstance(rt, MyDocker):
            for c in _controllers():
                d = os.path.join(CGROUP_ROOT, c, rt.cgroup_parent)
                if os.path.isdir(d):
                    problems.append("mydocker cgroup left behind, removed: %s" % d)
                    _rm_cgroup_tree(d, problems)
    restore_host(host_before, problems)
    if mountpoints_under(base):
        problems.append("NOT removing %s: still has mounts" % base)
    else:
        shutil.rmtree(base, ignore_errors=True)
    verify_clean(base, runtimes, host_before, problems)
    verify_network(net_before, runtimes, problems, notes)


def verify_clean(base, runtimes, host_before, problems):
    """What the README promises: no mount, cgroup, process, directory or host path of ours left."""
    left = []
    with open("/proc/self/mountinfo") as f:
        left += ["mount: " + ln.split()[4] for ln in f if base in ln]
    for rt in runtimes:
        if isinstance(rt, MyDocker):
            left += ["cgroup: " + os.path.join(CGROUP_ROOT, c, rt.cgroup_parent) for c in _controllers()
                     if os.path.isdir(os.path.join(CGROUP_ROOT, c, rt.cgroup_parent))]
    reap()
    left += ["process: %d %s" % (p, _cmdline(p)) for p in procs_mentioning(base)]
    left += ["child process: %d %s" % (p, _cmdline(p)) for p in _children()]
    if os.path.exists(base):
        left.append("directory: " + base)
    left += ["host path: " + p for p, existed in host_before.items() if not existed and os.path.lexists(p)]
    if left:
        problems.append("left behind after clean-up: " + "; ".join(left))
    else:
        log("clean-up verified: no mount, cgroup, process, file or host path of this run is left")


def _children():
    me = str(os.getpid())
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if f.read().rsplit(")", 1)[1].split()[1] == me:
                        out.append(int(d))
            except (OSError, IndexError):
                pass
    return out


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()[:120]
    except OSError:
        return "?"


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--runs", type=int, default=15, help="timed repetitions per case and runtime (default 15)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed rounds first (default 2)")
    ap.add_argument("--big-mb", type=int, default=300, help="incompressible MB added to the big image (default 300)")
    ap.add_argument("--mem-containers", type=int, default=5,
                    help="sleep containers side by side for the memory figures (default 5)")
    ap.add_argument("--ipam-runs", type=int, default=50,
                    help="timed allocate+release cycles per IPAM configuration (default 50)")
    ap.add_argument("--no-net", action="store_true", help="skip the networking cases (and their host changes)")
    ap.add_argument("--no-ipam", action="store_true", help="skip the IP allocation measurements")
    ap.add_argument("--python", default=sys.executable, help="interpreter for bin/mydocker (default: this one)")
    ap.add_argument("--no-json", action="store_true", help="do not write bench/results/*.json")
    a = ap.parse_args()
    if os.geteuid() != 0:
        ap.error("run as root")
    if a.runs < 1:
        ap.error("--runs must be at least 1")
    if shutil.which("podman") is None:
        ap.error("podman is not installed (apt-get install podman)")

    # SIGTERM / SIGHUP behave like Ctrl-C: clean up, then exit
    def _interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)

    become_subreaper()
    host_before = snapshot_host()
    net_before = NetSnapshot()
    engine_before = engine_hash()
    rng = random.SystemRandom()
    base = tempfile.mkdtemp(prefix="mydocker-bench-")
    os.chmod(base, 0o755)
    runtimes = []
    problems = []
    notes = []
    res = None
    rc = 0
    try:
        md = MyDocker(base, a.python)
        runtimes.append(md)
        pd = Podman(base)
        runtimes.append(pd)
        log("temporary directory %s" % base)
        log("building images (busybox rootfs from the host's busybox, plus %d MB of random data)" % a.big_mb)
        small = build_small(base, md)
        big = build_big(base, small, a.big_mb)
        imp = {}
        for name, tar in (("busybox", small), ("busybox-big", big)):
            imp[name] = {"size_bytes": os.path.getsize(tar), "mydocker": md.import_image(tar, name),
                         "podman": pd.import_image(tar, name)}
        flags, tried = pd.probe_ulimits("busybox")
        log("podman run flags: %s" % " ".join(flags))
        cases = [(("detach",), "busybox", "detach"), (("rm",), "busybox", "rm"),
                 (("detach_big",), "busybox-big", "detach"), (("rm_big",), "busybox-big", "rm")]
        labels = [("detach", "`run -d busybox true` (returns)"),
                  ("rm", "`run --rm busybox true` (to completion)"),
                  ("detach_big", "`run -d` big image (+%d MB) `true`" % a.big_mb),
                  ("rm_big", "`run --rm` big image (+%d MB) `true`" % a.big_mb)]
        nets, net_info = None, None
        if not a.no_net:
            nets, net_info = setup_networks(runtimes, rng)
            cases.append((("net_run", "net_rm"), "busybox", "net"))
            labels += [("net_run", "`run -d --net NET -p PORT:80 busybox httpd -f -p 80` (returns)"),
                       ("net_rm", "`rm -f` of that container (returns)")]
        log("timing %d runs (+%d warm-up) of %d cases on 2 runtimes" % (a.runs, a.warmup, len(cases)))
        samples = time_cases(runtimes, cases, a.runs, a.warmup, base, nets)
        floor = [run_cmd([a.python, "-c", "pass"])[0] for dummy in range(a.runs)]
        log("measuring helper memory")
        mem = measure_memory(runtimes, max(1, a.mem_containers))
        ipam_res = None
        if not a.no_ipam:
            log("measuring IP allocation on a /16 (engine only, %d runs per configuration)" % a.ipam_runs)
            ipam_res = measure_ipam(base, max(1, a.ipam_runs))
        res = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "host": {"kernel": platform.release(), "cpus": os.cpu_count(), "machine": platform.machine()},
            "versions": {"mydocker": md.version(), "podman": pd.version()},
            "podman_run_flags": pd.run_flags,
            "podman_ulimit_probe_failures": tried,
            "runs": a.runs, "warmup": a.warmup, "big_mb": a.big_mb,
            "case_labels": labels,
            "timing": {k: {rt: stats(v) for rt, v in per.items()} for k, per in samples.items()},
            "samples_s": samples,
            "import": imp,
            "memory": mem,
            "python_floor": stats(floor),
            "network": net_info,
            "ipam": ipam_res,
        }
    except KeyboardInterrupt:
        log("interrupted: cleaning up")
        rc = 130
    except BenchError as e:
        log("FAILED: %s" % e)
        rc = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not stop the clean-up
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        log("cleaning up")
        cleanup(base, runtimes, host_before, net_before, problems, notes)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    engine_after = engine_hash()
    if engine_after != engine_before:
        notes.append("the engine sources (plugins/module_utils) changed during the run (%s -> %s): "
                     "later samples ran newer code" % (engine_before, engine_after))
    for n in notes:
        log("note: " + n)
    if problems:
        log("clean-up found problems:")
        for p in problems:
            log("  - " + p)
        rc = rc or 2
    if res is not None:
        res["cleanup_problems"] = problems
        res["cleanup_notes"] = notes
        res["engine_sources_sha256"] = {"start": engine_before, "end": engine_after}
        print(report(res))
        if not a.no_json:
            os.makedirs(RESULTS, exist_ok=True)
            path = os.path.join(RESULTS, "bench-%s.json" % time.strftime("%Y%m%d-%H%M%S"))
            with open(path, "w") as f:
                json.dump(res, f, indent=2, sort_keys=True)
            log("wrote %s" % path)
    return rc


if __name__ == "__main__":
    sys.exit(main())
