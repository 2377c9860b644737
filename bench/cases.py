# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The measured cases: the two images, the interleaved timing rounds, the networks for the
networking case and the helper memory."""

import io
import os
import shutil
import statistics
import tarfile
import time

from .common import BenchError, log, procs_mentioning, quiesce, smaps_rollup
from .hostnet import fetch_loopback, netfilter_dump, netfilter_lines, pick_ports, pick_subnets
from .peers import MyDocker


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

def time_cases(runtimes, cases, runs, warmup, base, nets=None):
    """Interleave runtimes and cases so drift hits all of them alike; returns {key: {rt: [s]}}.

    ``cases`` are (keys, image, mode): "detach" (run -d true, then an untimed rm -f), "rm"
    (run --rm true) and "net" (run -d --net NET -p PORT:80 IMAGE httpd -f -p 80, then rm -f: two
    keys, both timed; ``nets[rt.name]`` gives NET and PORT)."""
    samples = {k: {rt.name: [] for rt in runtimes} for c in cases for k in c[0]}
    # processes of the runtimes that stay for the whole run (mydocker's service with --service): its
    # command line names the state root, but it is no leftover of the last container
    resident = set().union(*(rt.resident_pids() for rt in runtimes))
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
                if not quiesce(base, exclude=resident):
                    raise BenchError("processes of the last %s run did not go away: %s"
                                     % (rt.name, procs_mentioning(base, resident)))
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


def measure_ps(runtimes, count, runs):
    """`ps -a` with no container, then with ``count`` (mydocker: exited records on disk; podman:
    created containers in its database), interleaved; returns {rt: {"empty": stats, "full": ...}}."""
    empty = {rt.name: [] for rt in runtimes}
    full = {rt.name: [] for rt in runtimes}
    for i in range(runs + 1):  # the first round is a warm-up
        for rt in runtimes:
            dt = rt.list_all()
            if i:
                empty[rt.name].append(dt)
    for rt in runtimes:
        t0 = time.monotonic()
        rt.populate("busybox", count)
        log("ps: %s has %d containers (made in %.0f s)" % (rt.name, count, time.monotonic() - t0))
    try:
        for i in range(runs + 1):
            for rt in runtimes:
                dt = rt.list_all()
                if i:
                    full[rt.name].append(dt)
    finally:
        for rt in runtimes:
            rt.depopulate()
    return {rt.name: {"empty": empty[rt.name], "full": full[rt.name]} for rt in runtimes}
