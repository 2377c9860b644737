# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host before and after: what the run created (containers, images, networks, processes,
iptables rules, links, mounts, cgroups, podman's host paths) is removed, and the clean-up is
verified; what it had to fix is a finding."""

import collections
import ipaddress
import os
import re
import shutil
import signal
import subprocess

from .common import (
    CGROUP_ROOT,
    PODMAN_HOST_PATHS,
    BenchError,
    children,
    cmdline,
    log,
    mountpoints_under,
    procs_mentioning,
    quiesce,
    read_file,
    reap,
)
from .hostnet import ROUTE_TYPES, ip_lines, netfilter_dump, netfilter_lines, netfilter_remove_new
from .peers import MyDocker, Podman


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
    # podman's global chains: netavark's, or the CNI plugins' (a podman 4.3 without netavark uses CNI)
    words = list(rt.bridges) + list(rt.subnets) + (["NETAVARK", "CNI-"] if isinstance(rt, Podman) else [rt.ipt_tag])
    ports = [re.compile(r"--dport %d\b" % p) for p in rt.ports]
    return lambda text: any(w and w in text for w in words) or any(p.search(text) for p in ports)


def restore_network(net_before, runtimes, problems, notes):
    """Remove and then rule out every network trace of ours: iptables rules and chains (netavark
    leaves its global NETAVARK_FORWARD and NETAVARK-HOSTPORT-* chains and their jumps behind by
    design, the CNI plugins their CNI-* chains: noted, not a finding; a leftover of mydocker is a
    finding), bridges, veths, routes,
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
    for line in ip_lines("-4", "-o", "route", "show", "table", "all"):
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
    if read_file("/proc/sys/net/ipv4/ip_forward") != net_before.ip_forward:
        notes.append("net.ipv4.ip_forward changed from %s to %s during the run"
                     % (net_before.ip_forward, read_file("/proc/sys/net/ipv4/ip_forward")))


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
    # first of all, mydocker's service (--service) if it still runs (a failure, an interruption):
    # the commands below must run in their own processes, and it would be a process left behind
    for rt in runtimes:
        if isinstance(rt, MyDocker):
            try:
                rt.cleanup_service(problems)
            except (BenchError, OSError) as e:
                problems.append("%s service clean-up: %s" % (rt.name, e))
    for rt in runtimes:
        try:
            rt.cleanup(problems, notes)
        except (BenchError, OSError) as e:
            problems.append("%s clean-up: %s" % (rt.name, e))
    if not quiesce(base, timeout=10):
        pids = procs_mentioning(base)
        problems.append("processes left behind, killed: %s" % ", ".join(
            "%d (%s)" % (p, cmdline(p)) for p in pids))
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
    left += ["process: %d %s" % (p, cmdline(p)) for p in procs_mentioning(base)]
    left += ["child process: %d %s" % (p, cmdline(p)) for p in children()]
    if os.path.exists(base):
        left.append("directory: " + base)
    left += ["host path: " + p for p, existed in host_before.items() if not existed and os.path.lexists(p)]
    if left:
        problems.append("left behind after clean-up: " + "; ".join(left))
    else:
        log("clean-up verified: no mount, cgroup, process, file or host path of this run is left")
