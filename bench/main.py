# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
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
import json
import os
import platform
import random
import shutil
import signal
import sys
import tempfile
import time

from . import ansible_rows
from .cases import build_big, build_small, measure_memory, measure_ps, setup_networks, time_cases
from .cleanup import cleanup, snapshot_host
from .common import RESULTS, BenchError, become_subreaper, engine_hash, log, run_cmd, stats
from .hostnet import NetSnapshot
from .ipam import measure_ipam
from .peers import MyDocker, Podman
from .report import report


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--runs", type=int, default=15, help="timed repetitions per case and runtime (default 15)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed rounds first (default 2)")
    ap.add_argument("--big-mb", type=int, default=300, help="incompressible MB added to the big image (default 300)")
    ap.add_argument("--mem-containers", type=int, default=5,
                    help="sleep containers side by side for the memory figures (default 5)")
    ap.add_argument("--ipam-runs", type=int, default=50,
                    help="timed allocate+release cycles per IPAM configuration (default 50)")
    ap.add_argument("--ps-containers", type=int, default=500,
                    help="containers on disk for the `ps -a` case (default 500, 0: skip it)")
    ap.add_argument("--no-net", action="store_true", help="skip the networking cases (and their host changes)")
    ap.add_argument("--no-ipam", action="store_true", help="skip the IP allocation measurements")
    ap.add_argument("--python", default=sys.executable, help="interpreter for bin/mydocker (default: this one)")
    ap.add_argument("--no-json", action="store_true", help="do not write bench/results/*.json")
    ap.add_argument("--service", action="store_true",
                    help="run mydocker's commands through `mydocker system service` (started for its state root "
                    "before the timed cases, stopped before the clean-up)")
    ansible_rows.add_args(ap)
    a = ap.parse_args()
    if os.geteuid() != 0:
        ap.error("run as root")
    if a.ansible and a.service:
        ap.error("--service is for the start-up cases, not --ansible")
    if a.ansible:  # only the Ansible-side rows (bench/ansible_rows.py), not the start-up cases
        if shutil.which("podman") is None:
            ap.error("podman is not installed (apt-get install podman)")
        return ansible_rows.run(a)
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
        md = MyDocker(base, a.python, service=a.service)
        runtimes.append(md)
        pd = Podman(base)
        runtimes.append(pd)
        log("temporary directory %s" % base)
        log("building images (busybox rootfs from the host's busybox, plus %d MB of random data)" % a.big_mb)
        small = build_small(base, md)  # its `image busybox` makes mydocker's state root
        service = None
        if a.service:
            log("starting mydocker's service: %s" % " ".join(md.cmd("system", "service", "start", "--time", "0")))
            service = md.start_service()
            log("mydocker's service runs: pid %d" % service["pid"])
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
        log("timing %d runs (+%d warm-up) of %d cases on 2 runtimes%s" % (
            a.runs, a.warmup, len(cases), " (mydocker through its service)" if a.service else ""))
        samples = time_cases(runtimes, cases, a.runs, a.warmup, base, nets)
        if service is not None:
            st = md.check_service("the end of the timed cases")
            service.update(status_after_timed_cases=st["line"], commands_taken=st["commands_taken"],
                           issued_servable=st["issued_servable"])
            log("mydocker's service after the timed cases: %s" % st["line"])
        floor = [run_cmd([a.python, "-c", "pass"])[0] for dummy in range(a.runs)]
        log("measuring helper memory")
        mem = measure_memory(runtimes, max(1, a.mem_containers))
        ps_res = None
        if a.ps_containers > 0:
            log("timing ps -a with 0 and %d containers" % a.ps_containers)
            ps_res = measure_ps(runtimes, a.ps_containers, a.runs)
            ps_res = {"count": a.ps_containers, "samples_s": ps_res,
                      "timing": {rt: {k: stats(v) for k, v in per.items()} for rt, per in ps_res.items()}}
        if service is not None:  # mydocker's last command of the run; the clean-up's run without it
            service.update(md.stop_service())
            log("stopped mydocker's service (%s)" % service["status_at_stop"])
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
            "ps": ps_res,
        }
        if service is not None:
            res["service"] = True
            res["service_status"] = service
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
