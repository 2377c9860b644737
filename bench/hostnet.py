# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's network, read and restored: routes and addresses (to pick free subnets), free
ports, the one loopback fetch per runtime, iptables/ip6tables dumps and removal of our rules."""

import collections
import http.client
import ipaddress
import os
import re
import shlex
import socket
import subprocess
import time

from .common import BenchError, read_file


def ip_lines(*args):
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
    for line in ip_lines("-4", "-o", "route", "show", "table", "all"):
        words = line.split()
        if words and words[0] in ROUTE_TYPES:
            words = words[1:]
        if not words or words[0] == "default":
            continue
        try:
            nets.append(ipaddress.ip_network(words[0], strict=False))
        except ValueError:
            pass
    for line in ip_lines("-4", "-o", "addr", "show"):
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
        self.ip_forward = read_file("/proc/sys/net/ipv4/ip_forward")
