# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Netlink work of the networking engine, through pyroute2 only.

pyroute2 is imported lazily (it costs ~0.2 s), only by the functions that talk netlink; a
container's start (:func:`connect_netns`) sends its few requests through :mod:`rtnl` (packed
with ``struct``, checked against pyroute2's encoding by the unit tests) and ``rm`` finds the
links it deletes in sysfs, so neither loads any of pyroute2.
Only long-stable pyroute2 APIs are used (``IPRoute`` with ``link``/``addr``/``route``/
``get_links``/``get_addr``/``get_routes``/``link_lookup``), so this works with pyroute2 0.7.2
(Debian 12) as with 0.9.x.

Work inside a container's network namespace goes through a netlink socket opened *in* that
namespace: the calling thread ``setns()``es into ``/proc/<pid>/ns/net``, creates ``IPRoute()``
(a netlink socket belongs to the namespace it was created in) and ``setns()``es straight back.
No fork, no named netns under /var/run/netns, safe from threads.
"""

import ipaddress
import os
import socket
from contextlib import contextmanager

from ..errors import MyDockerError
from ..syscalls import CLONE_NEWNET, SYS
from .rtnl import Channel
from .rtnl import pyroute2_module as _pyroute2

IFNAMSIZ = 15  # usable characters of an interface name
RT_TABLE_MAIN = 254


def _iproute():
    return _pyroute2("pyroute2.iproute.linux").IPRoute()


def _netlink_error():
    return _pyroute2("pyroute2.netlink.exceptions").NetlinkError


@contextmanager
def host():
    """An IPRoute on the host (the caller's) network namespace."""
    ipr = _iproute()
    try:
        yield ipr
    finally:
        ipr.close()


def open_netns(pid):
    """An O_RDONLY fd on ``/proc/<pid>/ns/net`` (clear error when the process is gone)."""
    try:
        pid = int(pid)
    except (TypeError, ValueError):
        raise MyDockerError("invalid PID %r" % (pid,))
    path = "/proc/%d/ns/net" % pid
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise MyDockerError("cannot open the network namespace of PID %d: %s" % (pid, e.strerror))


@contextmanager
def in_netns(ns_fd):
    """An IPRoute whose socket lives in the namespace ``ns_fd``."""
    ipr = _in_ns(ns_fd, _iproute)  # a socket stays in the namespace it was made in
    try:
        yield ipr
    finally:
        ipr.close()


def index_of(ipr, name):
    idx = ipr.link_lookup(ifname=name)
    return idx[0] if idx else None


def _absent(name):
    """True when the host's sysfs shows no link ``name``: answers without loading pyroute2."""
    return os.path.isdir("/sys/class/net") and not os.path.lexists(os.path.join("/sys/class/net", name))


def link_exists(name):
    """Whether this namespace has a link ``name`` (if_nametoindex: no netlink, no pyroute2)."""
    if _absent(name):
        return False
    if _ifindex(name) is not None:
        return True
    with host() as ipr:
        return index_of(ipr, name) is not None


def link_info(name):
    """{"index", "kind", "up", "master", "addresses": ["a.b.c.d/n"]} or None."""
    return link_infos([name])[0]


def link_infos(names):
    """:func:`link_info` of each of ``names``, in order, over one netlink socket (:mod:`rtnl`'s
    two reads: no pyroute2, ~0.1 ms a link where an ``IPRoute`` each cost ~4 ms)."""
    out = []
    with Channel() as ch:
        for name in names:
            info = ch.link(name) if 0 < len(name) <= IFNAMSIZ and "/" not in name else None
            if info is not None:
                info["addresses"] = ch.addresses(info["index"])
            out.append(info)
    return out


def links_on(bridge):
    """Names of the links whose master is ``bridge``."""
    with host() as ipr:
        br = index_of(ipr, bridge)
        if br is None:
            return []
        return [l.get_attr("IFLA_IFNAME") for l in ipr.get_links()
                if l.get_attr("IFLA_MASTER") == br]


def link_names():
    """Names of the host's links, from sysfs (no netlink, no pyroute2); IPRoute without sysfs."""
    try:
        return os.listdir("/sys/class/net")
    except OSError:
        return list(all_links())


def all_links():
    """{name: {"kind", "master" (name or None)}} of the host namespace."""
    with host() as ipr:
        links = ipr.get_links()
    names = dict((l["index"], l.get_attr("IFLA_IFNAME")) for l in links)
    out = {}
    for l in links:
        li = l.get_attr("IFLA_LINKINFO")
        kind = li.get_attr("IFLA_INFO_KIND") if li is not None else None
        out[l.get_attr("IFLA_IFNAME")] = {"kind": kind, "master": names.get(l.get_attr("IFLA_MASTER"))}
    return out


def host_networks():
    """IPv4 networks the host already uses: main-table routes (not the default) and addresses."""
    nets = []
    with host() as ipr:
        for r in ipr.get_routes(family=socket.AF_INET):
            table = r.get_attr("RTA_TABLE") or r.get("table")
            if table != RT_TABLE_MAIN or r["dst_len"] == 0:
                continue
            dst = r.get_attr("RTA_DST")
            if dst:
                nets.append(("route", ipaddress.ip_network("%s/%d" % (dst, r["dst_len"]), strict=False),
                             r.get_attr("RTA_OIF")))
        for a in ipr.get_addr(family=socket.AF_INET):
            addr = a.get_attr("IFA_ADDRESS")
            if addr:
                nets.append(("address", ipaddress.ip_network("%s/%d" % (addr, a["prefixlen"]),
                                                             strict=False), a["index"]))
        names = dict((l["index"], l.get_attr("IFLA_IFNAME")) for l in ipr.get_links())
    return [(what, net, names.get(oif, "?")) for what, net, oif in nets]


def delete_link(name):
    """Delete a link by name; False when it did not exist."""
    if _absent(name):
        return False  # the usual case: a container's veth dies with its network namespace
    NetlinkError = _netlink_error()
    with host() as ipr:
        idx = index_of(ipr, name)
        if idx is None:
            return False
        try:
            ipr.link("del", index=idx)
        except NetlinkError as e:
            if e.code != 19:  # ENODEV: gone meanwhile
                raise MyDockerError("cannot delete link %s: %s" % (name, e))
            return False
        return True


def create_bridge(name, gateway, prefixlen):
    """Create bridge ``name`` with ``gateway/prefixlen``, up; undone on failure."""
    if len(name) > IFNAMSIZ:
        raise MyDockerError("bridge name %r is too long: at most %d characters" % (name, IFNAMSIZ))
    NetlinkError = _netlink_error()
    with host() as ipr:
        if index_of(ipr, name) is not None:
            raise MyDockerError("a network interface named %s already exists on the host" % name)
        try:
            ipr.link("add", ifname=name, kind="bridge")
        except NetlinkError as e:
            raise MyDockerError("cannot create bridge %s: %s" % (name, e))
        try:
            idx = index_of(ipr, name)
            net = ipaddress.ip_network("%s/%d" % (gateway, prefixlen), strict=False)
            ipr.addr("add", index=idx, address=str(gateway), prefixlen=int(prefixlen),
                     broadcast=str(net.broadcast_address))
            ipr.link("set", index=idx, state="up")
        except BaseException as e:
            try:
                ipr.link("del", index=index_of(ipr, name))
            except Exception:
                pass
            if isinstance(e, NetlinkError):
                raise MyDockerError("cannot configure bridge %s: %s" % (name, e))
            raise


def repair_bridge(name, gateway, prefixlen, ports=()):
    """Bring bridge ``name`` back to what create_bridge made (created when missing, up, with
    ``gateway/prefixlen``) and put the existing links of ``ports`` on it.  A link of that name
    that is not a bridge is an error.  Returns what was done, one string each."""
    done = []
    if index_of_name(name) is None:
        create_bridge(name, gateway, prefixlen)
        done.append("created bridge %s" % name)
    NetlinkError = _netlink_error()
    with host() as ipr:
        idx = index_of(ipr, name)
        link = ipr.get_links(idx)[0]
        li = link.get_attr("IFLA_LINKINFO")
        if li is None or li.get_attr("IFLA_INFO_KIND") != "bridge":
            raise MyDockerError("%s exists on the host but is not a bridge: delete it first" % name)
        try:
            want = "%s/%d" % (gateway, int(prefixlen))
            have = ["%s/%d" % (a.get_attr("IFA_ADDRESS"), a["prefixlen"])
                    for a in ipr.get_addr(family=socket.AF_INET, index=idx)]
            if want not in have:
                net = ipaddress.ip_network(want, strict=False)
                ipr.addr("add", index=idx, address=str(gateway), prefixlen=int(prefixlen),
                         broadcast=str(net.broadcast_address))
                done.append("added address %s to bridge %s" % (want, name))
            if not link["flags"] & 1:
                ipr.link("set", index=idx, state="up")
                done.append("set bridge %s up" % name)
            for port in ports:
                pidx = index_of(ipr, port)
                if pidx is None:
                    continue
                if ipr.get_links(pidx)[0].get_attr("IFLA_MASTER") != idx:
                    ipr.link("set", index=pidx, master=idx)
                    ipr.link("set", index=pidx, state="up")
                    done.append("attached %s to bridge %s" % (port, name))
        except NetlinkError as e:
            raise MyDockerError("cannot repair bridge %s: %s" % (name, e))
    return done


def index_of_name(name):
    with host() as ipr:
        return index_of(ipr, name)


def mac_for(ip):
    """02:42 followed by the four bytes of the IPv4 address."""
    return "02:42:" + ":".join("%02x" % b for b in ipaddress.ip_address(str(ip)).packed)


def _in_ns(ns_fd, fn):
    """``fn()`` run by this thread inside the network namespace ``ns_fd``, then straight back."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        SYS.setns(ns_fd, CLONE_NEWNET)
        try:
            return fn()
        finally:
            try:
                SYS.setns(own, CLONE_NEWNET)
            except OSError as e:  # pragma: no cover - cannot happen with CAP_SYS_ADMIN
                raise SystemExit("mydocker: cannot return to the host network namespace: %s" % e)
    finally:
        os.close(own)


def _ifindex(name):
    """The index of ``name`` in this thread's network namespace, None when there is none."""
    try:
        return socket.if_nametoindex(name)
    except OSError:
        return None


def connect_netns(host_name, peer_name, bridge, pid, ip, prefixlen, gateway, ifname="eth0", default_route=True):
    """veth ``host_name``<->``ifname``: the host end on ``bridge`` and up, the other end created
    straight in the network namespace of ``pid`` as ``ifname`` (eth0) with a MAC derived from
    ``ip``, given ``ip/prefixlen``, up, lo up, with ``default_route`` a default route via
    ``gateway``.  On failure the veth is deleted (both ends) and the error raised.

    The requests go through :mod:`rtnl` (no pyroute2 import): one to create the pair, four
    inside the namespace. ``peer_name`` is the name the peer had on the
    host in earlier versions: a leftover of a crashed start under it is deleted."""
    from . import rtnl
    NetlinkError = rtnl.NetlinkError
    ns_fd = open_netns(pid)
    nsr = None
    try:
        br = _ifindex(bridge)
        if br is None:
            raise MyDockerError("bridge %s of the network does not exist on the host" % bridge)
        with rtnl.Channel() as hr:
            for stale in (host_name, peer_name):  # leftovers of a crashed run of this container
                if not _absent(stale):
                    try:
                        hr.delete_link(stale)
                    except NetlinkError as e:
                        if e.code != 19:
                            raise MyDockerError("cannot delete link %s: %s" % (stale, e))
            nsr, has = _in_ns(ns_fd, lambda: (rtnl.Channel(), _ifindex(ifname) is not None))
            if has:
                raise MyDockerError("the container already has an %s" % ifname)
            net = ipaddress.ip_network("%s/%d" % (ip, prefixlen), strict=False)
            try:
                # A MAC derived from the IP (as Docker does): a container that comes back with
                # the same IP is reachable at once, with no stale neighbour entry to age out.
                hr.add_veth(host_name, ifname, mac_for(ip), ns_fd, master=br, up=True)
            except NetlinkError as e:
                raise MyDockerError("cannot create veth %s: %s" % (host_name, e))
            try:
                cidx, lo = _in_ns(ns_fd, lambda: (_ifindex(ifname), _ifindex("lo")))
                if cidx is None:
                    raise MyDockerError("the %s of the veth %s is not in the container" % (ifname, host_name))
                nsr.add_address(cidx, ip, prefixlen, net.broadcast_address)
                nsr.set_up(cidx)
                if lo is not None:
                    nsr.set_up(lo)
                if default_route:
                    nsr.add_default_route(gateway)
            except BaseException as e:
                try:
                    hr.delete_link(host_name)  # takes the peer with it, wherever it is
                except Exception:
                    pass
                if isinstance(e, NetlinkError):
                    raise MyDockerError("cannot connect the container to %s: %s" % (bridge, e))
                raise
    finally:
        if nsr is not None:
            nsr.close()
        os.close(ns_fd)


def set_sysctl(path, value):
    """Write a /proc/sys value (errors are MyDockerError)."""
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError as e:
        raise MyDockerError("cannot set %s: %s" % (path, e))


def get_sysctl(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None
