# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Published ports: parsing ``[HOSTIP:]HOSTPORT:CTRPORT[/proto]``, refusing a host port that is
taken (by another container of any state root, or by a process of the host), and the DNAT rules
of a container in our own iptables chains (``iptables.py``), deleted exactly.

Localhost: ``net.ipv4.conf.<bridge>.route_localnet=1`` (set by ``networks.create_network`` on our
own bridge only, gone with it) lets the kernel route a 127.0.0.1 packet DNATed in OUTPUT out of the
bridge, where the ``-s 127.0.0.0/8 -o BR -j MASQUERADE`` rule gives it the gateway address as source,
so published ports answer on 127.0.0.1:HOSTPORT from the host itself. Packets to 127.0.0.0/8 that
arrive *from* a bridge are dropped in the raw table (``iptables.py``).

Plain Python; knows nothing of Ansible. Every function takes the state lock itself.
"""

import errno
import ipaddress
import socket
from typing import Any, Optional, Union

from .. import records
from ..errors import MyDockerError
from ..store import Paths
from ..validate import validate_name
from . import ipam
from . import iptables as ipt
from .networks import _container_records, _load

PROTOS = ("tcp", "udp")


def parse_publish(spec: Union[str, dict[str, Any]]) -> dict[str, Any]:
    """``[HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp]`` (or such a dict) ->
    {"host_ip": "" or "a.b.c.d", "host_port": int, "container_port": int, "proto": "tcp"|"udp"}."""
    if isinstance(spec, dict):
        d = spec
        spec = format_publish({"host_ip": d.get("host_ip") or "", "host_port": d.get("host_port"),
                               "container_port": d.get("container_port"),
                               "proto": d.get("proto") or "tcp"})
    if not isinstance(spec, str) or not spec.strip():
        raise MyDockerError("invalid port mapping %r: expected [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]"
                            % (spec,))
    s = spec.strip()
    proto = "tcp"
    if "/" in s:
        s, proto = s.rsplit("/", 1)
        proto = proto.lower()
        if proto not in PROTOS:
            raise MyDockerError("invalid port mapping %r: protocol must be tcp or udp" % spec)
    parts = s.split(":")
    if len(parts) == 2:
        host_ip, hp, cp = "", parts[0], parts[1]
    elif len(parts) == 3:
        host_ip, hp, cp = parts
    else:
        raise MyDockerError("invalid port mapping %r: expected [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]"
                            % spec)
    if host_ip:
        try:
            addr = ipaddress.ip_address(host_ip)
        except ValueError:
            raise MyDockerError("invalid port mapping %r: %r is not an IPv4 address" % (spec, host_ip))
        if addr.version != 4:
            raise MyDockerError("invalid port mapping %r: only IPv4 host addresses are supported" % spec)
        host_ip = "" if addr.is_unspecified else str(addr)
    out = {"host_ip": host_ip, "proto": proto}
    for key, val in (("host_port", hp), ("container_port", cp)):
        if not val.isdigit():
            raise MyDockerError("invalid port mapping %r: %r is not a port number" % (spec, val))
        n = int(val)
        if not 1 <= n <= 65535:
            raise MyDockerError("invalid port mapping %r: port %d out of range 1-65535" % (spec, n))
        out[key] = n
    return out


# The Go tool's spelling: "8080:80", "127.0.0.1:8080:80", "53:53/udp" (the records write it).
format_publish = records.format_port


def _same_host_port(a, b):
    return a["proto"] == b["proto"] and a["host_port"] == b["host_port"] and (
        not a["host_ip"] or not b["host_ip"] or a["host_ip"] == b["host_ip"])


def _published_by_others(paths, chains, cid):
    """[(owner, port dict)] published by other containers of this root: records + live rules."""
    out = []
    for other, rec in _container_records(paths).items():
        if other == cid:
            continue
        for spec in rec.port_specs:
            try:
                out.append((rec.name, parse_publish(spec)))
            except MyDockerError:
                continue
    for chain, spec in ipt.all_dnat_rules():  # every state root: a DNAT holds no socket
        comment = ipt.rule_comment(spec) or ""
        parts = comment.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == chains.prefix:
            if parts[2] == cid:
                continue
            owner = parts[2]
        else:
            owner = "%s of another mydocker state root (%s)" % (parts[2], parts[0])
        try:
            proto = spec[spec.index("-p") + 1]
            port = int(spec[spec.index("--dport") + 1])
            hip = spec[spec.index("-d") + 1].split("/")[0] if "-d" in spec else ""
        except (ValueError, IndexError):
            continue
        out.append((owner, {"host_ip": hip, "host_port": port, "proto": proto}))
    return out


def _check_host_port_free(p):
    """Refuse a host port some process of the host already holds (bind test)."""
    typ = socket.SOCK_STREAM if p["proto"] == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, typ)
    try:
        if typ == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not "in use"
        try:
            s.bind((p["host_ip"] or "0.0.0.0", p["host_port"]))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise MyDockerError("host port %s/%d is already in use on the host"
                                    % (p["host_ip"] or "0.0.0.0", p["host_port"]) +
                                    ("" if p["proto"] == "tcp" else " (udp)"))
            if e.errno == errno.EADDRNOTAVAIL:
                raise MyDockerError("host IP %s is not an address of this host" % p["host_ip"])
            if e.errno != errno.EACCES:
                raise MyDockerError("cannot check host port %d: %s" % (p["host_port"], e.strerror))
    finally:
        s.close()


def publish(root: Optional[str], network: str, cid: str, ip: str,
            ports: Optional[list[Any]]) -> list[dict[str, Any]]:
    """Publish ``ports`` (specs or parse_publish dicts) of container ``cid`` at ``ip``.

    Refuses (changing nothing) a host port already published by another container of this root
    or in use on the host; any rules this container had before are replaced (``start``).
    Returns the normalised port dicts."""
    paths = Paths(root)
    validate_name(cid, "container id")
    wanted = [parse_publish(p) for p in (ports or [])]
    for i, a in enumerate(wanted):
        for b in wanted[:i]:
            if _same_host_port(a, b):
                raise MyDockerError("host port %d/%s is given twice" % (a["host_port"], a["proto"]))
    with ipam.lock(paths):
        net = _load(paths, network)
        addr = ipam.check_host_ip(net.subnet, ip, "container IP")
        chains = ipt.Chains(paths.root)
        if not wanted:
            ipt.delete_rules(chains, "ctr", cid)
            return []
        others = _published_by_others(paths, chains, cid)
        for p in wanted:
            for owner, q in others:
                if _same_host_port(p, q):
                    raise MyDockerError("host port %d/%s is already published by container %s"
                                        % (p["host_port"], p["proto"], owner))
        own_before = ipt.find_rules(chains, "ctr", cid)
        for p in wanted:
            # a port this container already publishes is held by our DNAT, not by a process
            _check_host_port_free(p)
        if own_before:
            ipt.delete_rules(chains, "ctr", cid)
        rs = ipt.RuleSet(chains)
        try:
            for p in wanted:
                for table, chain, spec in ipt.port_rules(chains, net.bridge, addr, p):
                    rs.add(table, chain, spec, "ctr", cid)
        except BaseException:
            rs.undo()
            raise
        return wanted


def unpublish(root: Optional[str], cid: str) -> list[str]:
    """Delete every published-port rule of ``cid``; returns the deleted rules."""
    paths = Paths(root)
    validate_name(cid, "container id")
    with ipam.lock(paths):
        return ipt.delete_rules(ipt.Chains(paths.root), "ctr", cid)
