#!/usr/bin/env python3
"""Side-by-side start-up benchmark: mydocker against podman (Debian's, with runc).

Run as root with the collection's interpreter, from anywhere:

    /opt/mydocker/venv/bin/python bench/bench.py [--runs 15] [--big-mb 300]

Everything happens in one temporary directory: mydocker gets its own state root, podman its own
--root/--runroot, containers.conf and storage.conf there (no host storage, no network, no shm
locks, no journald). Everything is removed at the end, also after a failure or Ctrl-C. Standard
library only.
"""

from __future__ import print_function

import argparse
import hashlib
import io
import json
import os
import platform
import resource
import shutil
import signal
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
        except (IOError, OSError):
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
            pid, _ = os.waitpid(-1, os.WNOHANG)
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


# ------------------------------------------------------------------ the two runtimes

class MyDocker(object):
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

    def cmd(self, *args):
        return [self.python, MYDOCKER, "--root", self.root] + list(args)

    def call(self, *args, **kw):
        return run_cmd(self.cmd(*args), env=self.env, **kw)

    def version(self):
        try:
            rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL).stdout.decode().strip()
        except OSError:
            rev = ""
        return "mydocker (checkout %s%s), Python %s" % (REPO, " @ " + rev if rev else "", platform.python_version())

    def import_image(self, tar, name):
        return self.call("image", "import", tar, name)[0]

    def run_detached(self, image, *cmd):
        dt, _, out, _ = self.call("run", "-d", image, *cmd)
        return dt, out.strip().splitlines()[-1]

    def run_rm(self, image, *cmd):
        return self.call("run", "--rm", image, *cmd, capture=False)[0]

    def remove(self, cid):
        self.call("rm", "-f", cid)

    def helper_pid(self, cid):
        rec = json.loads(self.call("inspect", cid)[2])[0]
        return int(rec["monitorPid"])

    def container_ids(self):
        return self.call("ps", "-a", "-q", check=False)[2].split()

    def cleanup(self, problems):
        if not os.path.isdir(self.root):
            return
        for cid in self.container_ids():
            _, rc, _, err = self.call("rm", "-f", cid, check=False)
            if rc != 0:
                problems.append("mydocker rm -f %s: %s" % (cid, err.strip()))
        out = self.call("images", check=False)[2].splitlines()[1:]
        for line in out:
            name = line.split()[0]
            _, rc, _, err = self.call("rmi", "-f", name, check=False)
            if rc != 0:
                problems.append("mydocker rmi -f %s: %s" % (name, err.strip()))
        _, rc, out, err = self.call("prune", check=False)
        if rc != 0 or "nothing to prune" not in out:
            problems.append("mydocker prune after removing everything: %s" % (out + err).strip())


class Podman(object):
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
            _, rc, _, err = self.call("run", "--rm", *(flags + [self.ref(image), "true"]), check=False)
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
        r = subprocess.run(["runc", "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
        c = subprocess.run(["conmon", "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
        return "podman %s, %s, %s" % (v, r.decode().splitlines()[0] if r else "runc ?",
                                      c.decode().splitlines()[0] if c else "conmon ?")

    def ref(self, name):
        return "localhost/%s:latest" % name

    def import_image(self, tar, name):
        return self.call("import", "--quiet", tar, self.ref(name))[0]

    def run_detached(self, image, *cmd):
        dt, _, out, _ = self.call("run", "-d", *(self.run_flags + [self.ref(image)] + list(cmd)))
        return dt, out.strip().splitlines()[-1]

    def run_rm(self, image, *cmd):
        return self.call("run", "--rm", *(self.run_flags + [self.ref(image)] + list(cmd)), capture=False)[0]

    def remove(self, cid):
        self.call("rm", "-f", "-t", "0", cid)

    def helper_pid(self, cid):
        return int(self.call("inspect", "--format", "{{.State.ConmonPid}}", cid)[2].strip())

    def cleanup(self, problems):
        if not os.path.isdir(self.graphroot):
            return
        for args in (("rm", "-a", "-f", "-t", "0"), ("rmi", "-a", "-f")):
            _, rc, _, err = self.call(*args, check=False)
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


def time_cases(runtimes, cases, runs, warmup, base):
    """Interleave runtimes and cases so drift hits all of them alike; returns {case: {rt: [s]}}."""
    samples = {c[0]: {rt.name: [] for rt in runtimes} for c in cases}
    for i in range(-warmup, runs):
        for key, image, mode in cases:
            for rt in runtimes:
                if mode == "detach":
                    dt, cid = rt.run_detached(image, "true")
                    rt.remove(cid)  # untimed
                else:
                    dt = rt.run_rm(image, "true")
                # let monitors / conmon / cleanup helpers of this run finish before the next one
                if not quiesce(base):
                    raise BenchError("processes of the last %s run did not go away: %s"
                                     % (rt.name, procs_mentioning(base)))
                if i >= 0:
                    samples[key][rt.name].append(dt)
        if i >= 0:
            log("round %d/%d done" % (i + 1, runs))
    return samples


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


# ------------------------------------------------------------------ reporting

def fmt_ms(s):
    return "%.0f" % (s * 1000) if s >= 0.1 else "%.1f" % (s * 1000)


def report(res):
    lines = []
    lines.append("Start-up time, %d runs each (after %d warm-up), milliseconds; ratio = mydocker / podman"
                 % (res["runs"], res["warmup"]))
    lines.append("")
    lines.append("| case | mydocker median | mydocker p90 | podman median | podman p90 | ratio (median) | ratio (p90) |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for key, label in res["case_labels"]:
        m = res["timing"][key]["mydocker"]
        p = res["timing"][key]["podman"]
        lines.append("| %s | %s | %s | %s | %s | %.2f | %.2f |" % (
            label, fmt_ms(m["median"]), fmt_ms(m["p90"]), fmt_ms(p["median"]), fmt_ms(p["p90"]),
            m["median"] / p["median"], m["p90"] / p["p90"]))
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
    lines.append("| helper | RSS | PSS | USS | RSS (%d running, median) | PSS (%d running, median) | USS (%d running, median) |"
                 % ((mem["mydocker"]["together_count"],) * 3))
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for rt, label in (("mydocker", "mydocker monitor"), ("podman", "podman conmon")):
        a, t = mem[rt]["alone"], mem[rt]["together"]
        lines.append("| %s | %d | %d | %d | %d | %d | %d |" % (label, a["rss_kb"], a["pss_kb"], a["uss_kb"],
                                                             t["rss_kb"], t["pss_kb"], t["uss_kb"]))
    lines.append("")
    lines.append("Floor: `python -c pass` with the same interpreter takes %s ms (median of %d)."
                 % (fmt_ms(res["python_floor"]["median"]), res["python_floor"]["n"]))
    return "\n".join(lines)


# ------------------------------------------------------------------ set-up and clean-up

def snapshot_host():
    return {p: os.path.lexists(p) for p in PODMAN_HOST_PATHS + [os.path.join(CGROUP_ROOT, c, "libpod_parent")
                                                               for c in _controllers()]}


def _controllers():
    try:
        return sorted(os.listdir(CGROUP_ROOT))
    except OSError:
        return []


def _rm_cgroup_tree(path, problems):
    for dirpath, dirnames, _ in sorted(os.walk(path), key=lambda t: -len(t[0])):
        try:
            with open(os.path.join(dirpath, "cgroup.procs")) as f:
                if f.read().strip():
                    problems.append("cgroup %s still has processes" % dirpath)
                    continue
            os.rmdir(dirpath)
        except OSError as e:
            problems.append("cannot remove cgroup %s: %s" % (dirpath, e))


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


def cleanup(base, runtimes, host_before, problems):
    for rt in runtimes:
        try:
            rt.cleanup(problems)
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
            except (IOError, OSError, IndexError):
                pass
    return out


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()[:120]
    except (IOError, OSError):
        return "?"


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15, help="timed repetitions per case and runtime (default 15)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed rounds first (default 2)")
    ap.add_argument("--big-mb", type=int, default=300, help="incompressible MB added to the big image (default 300)")
    ap.add_argument("--mem-containers", type=int, default=5,
                    help="sleep containers side by side for the memory figures (default 5)")
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
    base = tempfile.mkdtemp(prefix="mydocker-bench-")
    os.chmod(base, 0o755)
    runtimes = []
    problems = []
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
        cases = [("detach", "busybox", "detach"), ("rm", "busybox", "rm"),
                 ("detach_big", "busybox-big", "detach"), ("rm_big", "busybox-big", "rm")]
        labels = [("detach", "`run -d busybox true` (returns)"),
                  ("rm", "`run --rm busybox true` (to completion)"),
                  ("detach_big", "`run -d` big image (+%d MB) `true`" % a.big_mb),
                  ("rm_big", "`run --rm` big image (+%d MB) `true`" % a.big_mb)]
        log("timing %d runs (+%d warm-up) of %d cases on 2 runtimes" % (a.runs, a.warmup, len(cases)))
        samples = time_cases(runtimes, cases, a.runs, a.warmup, base)
        floor = [run_cmd([a.python, "-c", "pass"])[0] for _ in range(a.runs)]
        log("measuring helper memory")
        mem = measure_memory(runtimes, max(1, a.mem_containers))
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
        cleanup(base, runtimes, host_before, problems)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if problems:
        log("clean-up found problems:")
        for p in problems:
            log("  - " + p)
        rc = rc or 2
    if res is not None:
        res["cleanup_problems"] = problems
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
