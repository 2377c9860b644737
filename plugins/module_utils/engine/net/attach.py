# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Containers on networks: connect a container's network namespace to a bridge (an IP from
``ipam``, a veth pair through ``netlink``), disconnect it, and prune what dead containers left
(veths on our bridges, port rules, IP reservations).

Plain Python plus pyroute2 (lazily, through ``netlink``); every function takes the state lock.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from ..errors import MyDockerError
from ..store import Paths
from ..validate import validate_name
from . import ipam
from . import iptables as ipt
from .names import attachments
from .networks import _all_networks, _container_records, _load, _netlink, peer_name, veth_name

TYPE_CHECKING = False  # typing is ~5 ms of every command's start: annotations only (postponed)
if TYPE_CHECKING:
    from typing import Any


def veth_for(cid: str, index: int = 0) -> tuple[str, str]:
    """(host end, peer) of the container's veth on its ``index``-th network: the first keeps the
    names it always had, the others are "vx"/"vy" + the id + the index (15 characters at most)."""
    if not index:
        return veth_name(cid), peer_name(cid)
    base = veth_name(cid)[4:]
    return "vx%s%d" % (base, index), "vy%s%d" % (base, index)


def _is_ours(name: str, cid: str) -> bool:
    return name == veth_name(cid) or (name.startswith("vx" + veth_name(cid)[4:]) and name[12:].isdigit())


def connect(root: str | None, network: str, cid: str, pid: int, ip: str | None = None,
            index: int = 0) -> dict[str, Any]:
    """Attach the process ``pid`` (its network namespace) to ``network``.

    Allocates ``ip`` or the first free address (a container gets back an address it still
    holds), creates the veth pair, moves one end into the namespace as eth0 with the address,
    lo up, default route via the gateway.  Everything is undone on failure.
    Returns {"network", "ip", "prefixlen", "gateway", "veth", "bridge"}."""
    paths = Paths(root)
    validate_name(cid, "container id")
    net = _load(paths, network)
    nl = _netlink()
    if not nl.link_exists(net.bridge):
        raise MyDockerError("bridge %s of network %s is missing on the host (recreate the network)"
                            % (net.bridge, net.name))
    addr = ipam.allocate(paths, net.subnet, ip, owner=cid, reserved=(net.gateway,))
    host_end, peer = veth_for(cid, index)
    try:
        nl.connect_netns(host_end, peer, net.bridge, pid, addr, net.subnet.prefixlen,
                         net.gateway, ifname="eth%d" % index, default_route=not index)
    except BaseException:
        ipam.release(paths, net.subnet, addr, owner=cid)
        raise
    return {"network": net.name, "ip": addr, "prefixlen": net.subnet.prefixlen,
            "gateway": str(net.gateway), "veth": host_end, "bridge": net.bridge}


def disconnect(root: str | None, network: str, cid: str, ip: str | None = None,
               release: bool = True, index: int = 0) -> None:
    """Delete the container's veth (if still there) and, with ``release``, its address(es) in
    ``network``.  Never fails on what is already gone."""
    paths = Paths(root)
    validate_name(cid, "container id")
    _netlink().delete_link(veth_for(cid, index)[0])
    if not release:
        return
    with ipam.lock(paths):
        try:
            net = _load(paths, network)
        except MyDockerError:
            return
        ips = set(i for c, i in ipam.addresses_of(paths, cid) if c == str(net.subnet))
        if ip:
            ips.add(str(ip))
        for i in sorted(ips):
            try:
                ipam.release(paths, net.subnet, i, owner=cid)
            except MyDockerError:
                pass


def release_container(root: str | None, cid: str) -> None:
    """Unpublish, delete the veth and release every address of ``cid`` (``rm``)."""
    paths = Paths(root)
    validate_name(cid, "container id")
    with ipam.lock(paths):
        ipt.delete_rules(ipt.Chains(paths.root), "ctr", cid)
        nl = _netlink()
        nl.delete_link(veth_name(cid))
        for name in nl.link_names():  # sysfs: pyroute2 is loaded only when one is left
            if _is_ours(name, cid):
                nl.delete_link(name)
        for cidr, ip in ipam.addresses_of(paths, cid):
            ipam.release(paths, ipaddress.ip_network(cidr), ip, owner=cid)


def stale_addresses(paths, nets, live):
    """[(network, address, holder or None)] that prune releases: owned by a container not in
    ``live``, or owned by nobody and the IP of no live record. Reads only."""
    used = set()
    for cid, rec in _container_records(paths).items():
        if cid in live:
            used.update((a["name"], a["ip"]) for a in attachments(rec) if a.get("ip"))
    owners = ipam.load_owners(paths)
    data = ipam.load(paths)
    out = []
    for n in nets:
        sub = ipam.owners_of(owners, n.subnet)
        for addr in ipam.taken_in(data, n.subnet):
            a = str(addr)
            if addr == n.gateway:
                continue
            holder = sub.get(a)
            if (holder is not None and holder not in live) or (holder is None and (n.name, a) not in used):
                out.append((n, a, holder))
    return out


def address_text(net, addr, holder):
    return "ip %s of network %s%s" % (addr, net.name, " (container %s)" % holder if holder else "")


def prune(root: str | None, live_cids: Iterable[str]) -> list[str]:
    """Remove what containers that no longer exist left behind: veths on our bridges, published
    port rules, IP reservations.  ``live_cids``: every container id that still has a directory
    (being created included).  Returns a list of strings, one per thing removed."""
    paths = Paths(root)
    live = set(live_cids or [])
    removed = []
    with ipam.lock(paths):
        chains = ipt.Chains(paths.root)
        nets = _all_networks(paths)
        nl = _netlink()
        # veths on our bridges that belong to no live container
        bridges = set(n.bridge for n in nets)
        live_veths = set(veth_name(c) for c in live)
        for name, info in nl.all_links().items():
            if name.startswith("vx") and any(_is_ours(name, c) for c in live):
                continue  # a live container's second (third, ...) network
            if info["master"] in bridges and info["kind"] == "veth" and name not in live_veths:
                if nl.delete_link(name):
                    removed.append("veth %s" % name)
        # published-port rules of dead containers
        for table, chain, spec in ipt.find_rules(chains, "ctr"):
            owner = ipt.rule_comment(spec).split(":", 2)[2]
            if owner not in live:
                removed.extend("iptables %s" % r for r in ipt.delete_rules(chains, "ctr", owner))
        # rules of networks that no longer exist
        names = set(n.name for n in nets)
        for table, chain, spec in ipt.find_rules(chains, "net"):
            owner = ipt.rule_comment(spec).split(":", 2)[2]
            if owner not in names:
                removed.extend("iptables %s" % r for r in ipt.delete_rules(chains, "net", owner))
        # addresses: owned by a dead container, or owned by nobody and used by no live record
        for n, a, holder in stale_addresses(paths, nets, live):
            ipam.release(paths, n.subnet, a)
            removed.append(address_text(n, a, holder))
        ipt.gc_chains(chains)
    return removed


# ---------------------------------------------------------------- every network of a container

def _indexed(rec):
    """The record's attachments, each with its interface index (kept, or the lowest free)."""
    atts = attachments(rec)
    used = set(a["index"] for a in atts if isinstance(a.get("index"), int))
    nxt = 0
    for i, a in enumerate(atts):
        if not isinstance(a.get("index"), int):
            if i == 0 and 0 not in used:
                a["index"] = 0
            else:
                while nxt in used:
                    nxt += 1
                a["index"] = nxt
            used.add(a["index"])
    return atts


def connect_all(root: str | None, rec: dict, pid: int) -> list[dict[str, Any]]:
    """Connect ``pid`` to every network of the record (a start); returns the attachments with
    their addresses, veths and interfaces. All undone when one fails."""
    cid = rec["id"]
    done = []
    try:
        for a in _indexed(rec):
            net = connect(root, a["name"], cid, pid, ip=a.get("ip") or None, index=a["index"])
            done.append(dict(a, ip=net["ip"], veth=net["veth"], ifname="eth%d" % a["index"]))
    except BaseException:
        for a in done:
            disconnect(root, a["name"], cid, a["ip"], index=a["index"])
        raise
    return done


def disconnect_all(root: str | None, rec: dict, release: bool = True, first_ip: str | None = None) -> None:
    """Delete every veth of the record's networks and, with ``release``, their addresses
    (``first_ip``: the first network's address when the record does not know it yet)."""
    for i, a in enumerate(_indexed(rec)):
        ip = (first_ip if i == 0 else None) or a.get("ip") or None
        disconnect(root, a["name"], rec["id"], ip, release=release, index=a["index"])
