# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every part of the benchmark uses: paths, the error, the log, running commands (each in its
own session), processes and mounts under /proc, statistics."""

import hashlib
import os
import statistics
import subprocess
import sys
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


def _pgid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[2])
    except (OSError, ValueError, IndexError):
        return None


def procs_mentioning(text, exclude=()):
    """PIDs (not ours, none of ``exclude`` nor in their process groups: mydocker's service and the
    spare it keeps forked for the next command) whose command line mentions ``text``."""
    me = os.getpid()
    groups = {g for g in (_pgid(p) for p in exclude) if g is not None}
    found = []
    needle = text.encode()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me or int(d) in exclude:
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if needle in cmd and (not groups or _pgid(int(d)) not in groups):
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


def quiesce(text, timeout=15.0, exclude=()):
    """Wait until no process mentions ``text`` (monitors, conmon, cleanup helpers of the last run),
    apart from those of ``exclude`` (processes meant to stay, such as mydocker's service)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reap()
        if not procs_mentioning(text, exclude):
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


def read_file(path):
    """The stripped text of a small file (a /proc or /sys value), or None when it cannot be read."""
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def stats(samples):
    """Median, p90 (inclusive quantiles), min, max and mean of ``samples`` (seconds)."""
    s = sorted(samples)
    n = len(s)
    if n == 1:
        p90 = s[0]
    else:
        p90 = statistics.quantiles(s, n=10, method="inclusive")[8]
    return {"n": n, "median": statistics.median(s), "p90": p90, "min": s[0], "max": s[-1],
            "mean": statistics.mean(s)}


def children():
    """PIDs of our own child processes (adopted orphans included)."""
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


def cmdline(pid):
    """The command line of ``pid``, shortened, for messages."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()[:120]
    except OSError:
        return "?"
