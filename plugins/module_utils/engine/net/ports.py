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

from __future__ import annotations

import errno
import socket

from .. import records
from ..errors import MyDockerError
from ..store import Paths
from ..validate import validate_name
from . import ipam
from . import iptables as ipt
from .networks import _container_records, _load
from .portspec import (  # noqa: F401  # pylint: disable=unused-import  # parsing: portspec.py; still ports' API
    PROTOS,
    USAGE,
    _bad,
    _exposed_key,
    _host_ip,
    _port_dict,
    _split_host_ip,
    container_ports,
    parse_expose,
    parse_port_range,
    parse_publish,
    parse_publish_list,
)

TYPE_CHECKING = False  # typing is ~5 ms of every command's start: annotations only (postponed)
if TYPE_CHECKING:
    from typing import Any

# The Go tool's spelling: "8080:80", "127.0.0.1:8080:80", "53:53/udp" (the records write it).
format_publish = records.format_port


def _same_host_port(a, b):
    return a["proto"] == b["proto"] and a["host_port"] == b["host_port"] and (
        not a["host_ip"] or not b["host_ip"] or a["host_ip"] == b["host_ip"])


def _published_by_others(paths, chains, cid, snap=None):
    """[(owner, port dict)] published by other containers of this root: records + live rules
    (``snap``: an ``iptables.snapshot()`` to read them from, default: ``iptables -t nat -S``)."""
    out = []
    for other, rec in _container_records(paths).items():
        if other == cid:
            continue
        # our records: their port dicts (a host port the engine chose is held by its live rules
        # below only); a record without them (the Go tool's): its portmapping strings
        for d in rec.ports if "ports" in rec else rec.port_specs:
            try:
                p = _port_dict(d) if isinstance(d, dict) else parse_publish(d)
            except MyDockerError:
                continue
            if not p.get("auto"):
                out.append((rec.name, p))
    dnat = ipt.all_dnat_rules() if snap is None else [
        (c, sp) for c, rules in sorted(snap.get(ipt.NAT, {}).items()) if c.startswith("MYDOCKER-DNAT") for sp in rules]
    for chain, spec in dnat:  # every state root: a DNAT holds no socket
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


def _host_port_error(p):
    """None when no process of the host holds ``p``'s host port (bind test), else the error."""
    typ = socket.SOCK_STREAM if p["proto"] == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, typ)
    try:
        if typ == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not "in use"
        try:
            s.bind((p["host_ip"] or "0.0.0.0", p["host_port"]))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return MyDockerError("host port %s/%d is already in use on the host"
                                     % (p["host_ip"] or "0.0.0.0", p["host_port"]) +
                                     ("" if p["proto"] == "tcp" else " (udp)"))
            if e.errno == errno.EADDRNOTAVAIL:
                return MyDockerError("host IP %s is not an address of this host" % p["host_ip"])
            if e.errno != errno.EACCES:
                return MyDockerError("cannot check host port %d: %s" % (p["host_port"], e.strerror))
        return None
    finally:
        s.close()


def _check_host_port_free(p):
    """Refuse a host port some process of the host already holds (bind test)."""
    err = _host_port_error(p)
    if err is not None:
        raise err


def _ephemeral_port(p):
    """A port the kernel gives a socket bound to port 0 (its ip_local_port_range), 0 if none."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if p["proto"] == "tcp" else socket.SOCK_DGRAM)
    try:
        s.bind((p["host_ip"] or "0.0.0.0", 0))
        return s.getsockname()[1]
    except OSError:
        return 0
    finally:
        s.close()


def _choose_host_ports(wanted, others):
    """Give every ``auto`` port a free host port: the one it had (a restart keeps it) if still
    free, else the first free one of its ``host_range``, else one the kernel picks."""
    taken = [q for _owner, q in others] + [p for p in wanted if not p.get("auto")]

    def free(p, port):
        q = dict(p, host_port=port)
        return port > 0 and not any(_same_host_port(q, t) for t in taken) and _host_port_error(q) is None

    for p in wanted:
        if not p.get("auto"):
            continue
        lo, hi = parse_port_range(p["host_range"]) if p.get("host_range") else (1, 65535)
        keep = p["host_port"] if lo <= p["host_port"] <= hi else 0
        if free(p, keep):
            chosen = keep
        elif p.get("host_range"):
            chosen = next((n for n in range(lo, hi + 1) if free(p, n)), 0)
        else:
            chosen = next((n for n in (_ephemeral_port(p) for _i in range(64)) if free(p, n)), 0)
        if not chosen:
            raise MyDockerError("no free host port for container port %d/%s%s" % (
                p["container_port"], p["proto"], " in %s" % p["host_range"] if p.get("host_range") else ""))
        p["host_port"] = chosen
        taken.append(p)


def publish(root: str | None, network: str, cid: str, ip: str,
            ports: list[Any] | None) -> list[dict[str, Any]]:
    """Publish ``ports`` (specs or port dicts) of container ``cid`` at ``ip``.

    Refuses (changing nothing) a host port already published by another container of this root
    or in use on the host; any rules this container had before are replaced (``start``). A port
    whose host port the engine chooses (``auto``) gets a free one here.
    Returns the normalised port dicts, chosen host ports filled in (the record keeps them)."""
    paths = Paths(root)
    validate_name(cid, "container id")
    wanted = [p for spec in ports or [] for p in parse_publish_list(spec)]
    for i, a in enumerate(wanted):
        for b in wanted[:i]:
            if not a.get("auto") and not b.get("auto") and _same_host_port(a, b):
                raise MyDockerError("host port %d/%s is given twice" % (a["host_port"], a["proto"]))
    with ipam.lock(paths):
        net = _load(paths, network)
        addr = ipam.check_host_ip(net.subnet, ip, "container IP")
        chains = ipt.Chains(paths.root)
        if not wanted:
            ipt.delete_rules(chains, "ctr", cid)
            return []
        snap = ipt.snapshot()  # one iptables-save for the checks, the chains and the jumps
        others = _published_by_others(paths, chains, cid, snap)
        for p in wanted:
            for owner, q in others:
                if not p.get("auto") and _same_host_port(p, q):
                    raise MyDockerError("host port %d/%s is already published by container %s"
                                        % (p["host_port"], p["proto"], owner))
        own_before = ipt.find_rules(chains, "ctr", cid, snap)
        for p in wanted:
            # a port this container already publishes is held by our DNAT, not by a process
            if not p.get("auto"):
                _check_host_port_free(p)
        _choose_host_ports(wanted, others)
        rules = [rule for p in wanted for rule in ipt.port_rules(chains, net.bridge, addr, p)]
        if snap is not None:
            try:
                ipt.restore(publish_ops(chains, snap, own_before, rules, "ctr", cid))
                return wanted
            except MyDockerError:
                ipt.delete_rules(chains, "ctr", cid)  # what an earlier table's COMMIT let in; then as before
        elif own_before:
            ipt.delete_rules(chains, "ctr", cid)
        rs = ipt.RuleSet(chains)
        try:
            rs.add_many(rules, "ctr", cid)
        except BaseException:
            rs.undo()
            raise
        return wanted


def publish_ops(chains, snap, delete, rules, scope, ident):
    """The ``iptables.restore`` ops that replace the rules ``delete`` [(table, chain, spec)] by
    ``rules`` [(table, chain, spec)] with our comment, creating the chains and jumps ``snap``
    (an ``iptables.snapshot()``) lacks: a start's whole publish in one ``iptables-restore``."""
    ops = {}
    for table, chain, spec in delete:
        ops.setdefault(table, []).append(["-D", chain] + spec)
    ready = set()
    for table, chain, spec in rules:
        cmds = ops.setdefault(table, [])
        have = snap.get(table, {})
        if (table, chain) not in ready:
            ready.add((table, chain))
            if chain not in have:
                cmds.append(["-N", chain])
            for jt, builtin, match, target in chains.jumps():
                jump = ipt._jump_spec(chains, match, chain)
                if jt == table and target == chain and jump not in have.get(builtin, []):
                    cmds.append(["-I", builtin, "1"] + jump)
        cmds.append(["-A", chain] + ipt.commented(chains, spec, scope, ident))
    return ops


def unpublish(root: str | None, cid: str) -> list[str]:
    """Delete every published-port rule of ``cid``; returns the deleted rules."""
    paths = Paths(root)
    validate_name(cid, "container id")
    with ipam.lock(paths):
        return ipt.delete_rules(ipt.Chains(paths.root), "ctr", cid)
