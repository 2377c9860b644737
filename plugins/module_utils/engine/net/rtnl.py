# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lean rtnetlink channel for the start path: the few requests a container's start sends,
packed with ``struct`` and sent over a plain netlink socket.

A start needs only requests the kernel answers with an ACK (create the veth pair, add the
address, set links up, add the default route, delete a link), five fixed layouts of
``nlmsghdr`` + ``ifinfomsg``/``ifaddrmsg``/``rtmsg`` + attributes. Building them with pyroute2's
message classes cost its import (``pyroute2.common``, ``pyroute2.config``: logging,
multiprocessing, pickle, platform, the ``ifinfmsg`` plugins: ~50 ms of every networked start);
the unit tests pack each request with pyroute2 as well and require the same bytes,
and decode ours back with pyroute2. Two reads are here too, for the checks a no-change run
makes (``mydocker_network``'s drift): one link by name (:meth:`Channel.link`) and the IPv4
addresses of one link (:meth:`Channel.addresses`); the unit tests compare both with pyroute2's
answers for every link of the host. Everything else that reads the kernel's tables, creates
bridges or repairs them stays with pyroute2's ``IPRoute`` in :mod:`netlink`.
An error is :class:`NetlinkError` with the kernel's errno (``code``), as pyroute2 raises it.
"""

import errno
import os
import socket
import struct

NETLINK_ROUTE = 0
RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_GETLINK = 18
RTM_NEWADDR = 20
RTM_GETADDR = 22
RTM_NEWROUTE = 24
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_DUMP = 0x300
NLMSG_ERROR = 0x2
NLMSG_DONE = 0x3
IFF_UP = 0x1
RT_TABLE_MAIN = 254
RTPROT_BOOT = 3
RTN_UNICAST = 1
AF_UNSPEC = 0
AF_INET = 2
IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_MASTER = 10
IFLA_LINKINFO = 18
IFLA_NET_NS_FD = 28
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
VETH_INFO_PEER = 1
IFA_ADDRESS = 1
IFA_LOCAL = 2
IFA_BROADCAST = 4
RTA_GATEWAY = 5
RTA_TABLE = 15


def pyroute2_module(name):
    """pyroute2's submodule ``name``, loaded without running the package's ``__init__`` first.

    That ``__init__`` imports all of pyroute2 (NDB, IPDB, conntrack, nftables, ...: ~2/3 of
    the ~0.2 s), of which we use ``IPRoute`` only. The package is put in ``sys.modules`` as a
    module of its own spec whose ``__init__`` runs on the first attribute it does not have
    (PEP 562), so whoever imports ``pyroute2`` itself later gets the whole package as before.
    If that fails in any way, pyroute2 is imported the usual way."""
    import importlib
    import sys
    if "pyroute2" in sys.modules:
        return importlib.import_module(name)
    try:
        _lazy_pyroute2_package(sys)
        return importlib.import_module(name)
    except Exception:
        for m in [m for m in sys.modules if m == "pyroute2" or m.startswith("pyroute2.")]:
            del sys.modules[m]
    importlib.import_module("pyroute2")
    return importlib.import_module(name)


def _lazy_pyroute2_package(sys):
    import importlib.util
    spec = importlib.util.find_spec("pyroute2")
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return
    pkg = importlib.util.module_from_spec(spec)
    state = {"done": False}

    def __getattr__(attr):
        if state["done"] or attr.startswith("__") and attr.endswith("__") and attr != "__all__" or any(
                os.path.exists(os.path.join(d, attr + ".py")) or os.path.isdir(os.path.join(d, attr))
                for d in spec.submodule_search_locations):
            # a submodule (``from pyroute2 import config``): importlib imports it itself
            raise AttributeError("module 'pyroute2' has no attribute %r" % attr)
        state["done"] = True
        del pkg.__dict__["__getattr__"]
        spec.loader.exec_module(pkg)
        return getattr(pkg, attr)

    pkg.__getattr__ = __getattr__
    sys.modules["pyroute2"] = pkg


class NetlinkError(Exception):
    """A request the kernel refused: ``code`` is its errno (as pyroute2's ``NetlinkError``)."""

    def __init__(self, code, msg=None):
        super().__init__(code, msg or os.strerror(code))
        self.code = code

    def __str__(self):
        return "(%d, %r)" % self.args


# ---- packing (struct only): attributes are (type, payload bytes), padded to 4 bytes

def attr(kind, payload):
    return struct.pack("=HH", 4 + len(payload), kind) + payload + b"\0" * (-len(payload) % 4)


def attr_str(kind, text):
    return attr(kind, text.encode() + b"\0")


def attr_u32(kind, value):
    return attr(kind, struct.pack("=I", value))


def attr_ipv4(kind, ip):
    return attr(kind, socket.inet_aton(str(ip)))


def attr_mac(kind, mac):
    return attr(kind, bytes(int(b, 16) for b in mac.split(":")))


def ifinfomsg(index=0, up=None, attrs=()):
    """``struct ifinfomsg`` (family, type, index, flags, change) and its attributes;
    ``up``: None leaves IFF_UP alone, True sets it."""
    flag = IFF_UP if up else 0
    change = IFF_UP if up is not None else 0
    return struct.pack("=BxHiII", AF_UNSPEC, 0, index, flag, change) + b"".join(attrs)


def ifaddrmsg(index, prefixlen, attrs=()):
    return struct.pack("=BBBBI", AF_INET, int(prefixlen), 0, 0, index) + b"".join(attrs)


def rtmsg(table, proto, scope, rtype, attrs=()):
    """``struct rtmsg`` for an IPv4 route with no destination (dst_len 0): the default route."""
    return struct.pack("=BBBBBBBBI", AF_INET, 0, 0, 0, table, proto, scope, rtype, 0) + b"".join(attrs)


def message(body, mtype, flags, seq, ack=True):
    """``struct nlmsghdr`` + ``body``: a request that asks for an ACK (unless ``ack`` is false)."""
    flags |= NLM_F_REQUEST | (NLM_F_ACK if ack else 0)
    return struct.pack("=IHHII", 16 + len(body), mtype, flags, seq, 0) + body


def attrs_of(data, off, end):
    """{type: payload} of the attributes in ``data[off:end]`` (the nested flag bit cleared; the
    first of a repeated type)."""
    out = {}
    while off + 4 <= end:
        length, kind = struct.unpack_from("=HH", data, off)
        if length < 4:
            break
        out.setdefault(kind & 0x3FFF, data[off + 4:off + length])
        off += (length + 3) & ~3
    return out


def _u32(payload):
    return struct.unpack("=I", payload[:4])[0] if payload is not None and len(payload) >= 4 else None


class Channel:
    """One NETLINK_ROUTE socket; it belongs to the network namespace it was created in."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        try:
            self.sock.bind((0, 0))
        except BaseException:
            self.sock.close()
            raise
        self.seq = 0

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def request(self, body, mtype, flags=0):
        """Send ``body`` (a packed ifinfomsg, ifaddrmsg or rtmsg) as ``mtype``; returns once the
        kernel ACKs it (raises :class:`NetlinkError` when it refuses)."""
        self.seq += 1
        self.sock.send(message(body, mtype, flags, self.seq))
        while True:
            data = self.sock.recv(65536)
            off = 0
            while off + 20 <= len(data):
                length, typ, _fl, seq, _pid = struct.unpack_from("=IHHII", data, off)
                if typ == NLMSG_ERROR and seq == self.seq:
                    code = -struct.unpack_from("=i", data, off + 16)[0]
                    if code:
                        raise NetlinkError(code)
                    return
                if length < 16:
                    break
                off += (length + 3) & ~3

    def query(self, body, mtype, dump=False):
        """The kernel's answer to a GET (``dump``: every message up to NLMSG_DONE) as a list of
        (type, data, offset of the body, end) tuples; raises :class:`NetlinkError` when refused."""
        self.seq += 1
        self.sock.send(message(body, mtype, NLM_F_DUMP if dump else 0, self.seq, ack=False))
        out = []
        while True:
            data = self.sock.recv(1 << 16)
            off = 0
            while off + 16 <= len(data):
                length, typ, _fl, seq, _pid = struct.unpack_from("=IHHII", data, off)
                if length < 16:
                    break
                if seq == self.seq:
                    if typ == NLMSG_ERROR:
                        code = -struct.unpack_from("=i", data, off + 16)[0]
                        if code:
                            raise NetlinkError(code)
                        return out
                    if typ == NLMSG_DONE:
                        return out
                    out.append((typ, data, off + 16, off + length))
                    if not dump:
                        return out
                off += (length + 3) & ~3

    def link(self, name):
        """{"index", "kind", "up", "master"} of the link ``name`` (IFLA_INFO_KIND, IFF_UP,
        IFLA_MASTER), or None when this namespace has no such link."""
        try:
            msgs = self.query(ifinfomsg(attrs=[attr_str(IFLA_IFNAME, name)]), RTM_GETLINK)
        except NetlinkError as e:
            if e.code == errno.ENODEV:
                return None
            raise
        if not msgs:
            return None
        dummy, data, off, end = msgs[0]
        index, flags = struct.unpack_from("=iI", data, off + 4)
        attrs = attrs_of(data, off + 16, end)
        info = attrs.get(IFLA_LINKINFO)
        kind = attrs_of(info, 0, len(info)).get(IFLA_INFO_KIND) if info is not None else None
        return {"index": index, "kind": kind.rstrip(b"\0").decode() if kind is not None else None,
                "up": bool(flags & IFF_UP), "master": _u32(attrs.get(IFLA_MASTER))}

    def addresses(self, index):
        """The IPv4 addresses of link ``index`` as "a.b.c.d/n", in the kernel's order."""
        out = []
        for dummy, data, off, end in self.query(struct.pack("=BBBBI", AF_INET, 0, 0, 0, 0), RTM_GETADDR, dump=True):
            family, prefixlen, dummy_flags, dummy_scope, idx = struct.unpack_from("=BBBBI", data, off)
            if family != AF_INET or idx != index:
                continue
            addr = attrs_of(data, off + 8, end).get(IFA_ADDRESS)
            if addr is not None and len(addr) == 4:
                out.append("%s/%d" % (socket.inet_ntoa(addr), prefixlen))
        return out

    # ---- the requests of a start

    def add_veth(self, name, peer_name, peer_mac, peer_ns_fd, master=None, up=False):
        """``name``<->``peer_name``: the peer created with ``peer_mac`` straight in the network
        namespace ``peer_ns_fd``; ``name`` on ``master`` (an index) and up, in the same request."""
        peer = ifinfomsg(attrs=[attr_str(IFLA_IFNAME, peer_name), attr_mac(IFLA_ADDRESS, peer_mac),
                                attr_u32(IFLA_NET_NS_FD, peer_ns_fd)])
        info = attr(IFLA_LINKINFO, attr_str(IFLA_INFO_KIND, "veth")
                    + attr(IFLA_INFO_DATA, attr(VETH_INFO_PEER, peer)))
        attrs = [attr_str(IFLA_IFNAME, name)] + ([attr_u32(IFLA_MASTER, master)] if master else []) + [info]
        self.request(ifinfomsg(up=up or None, attrs=attrs), RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL)

    def delete_link(self, name):
        self.request(ifinfomsg(attrs=[attr_str(IFLA_IFNAME, name)]), RTM_DELLINK)

    def set_up(self, index):
        self.request(ifinfomsg(index=index, up=True), RTM_NEWLINK)

    def add_address(self, index, ip, prefixlen, broadcast):
        attrs = [attr_ipv4(IFA_LOCAL, ip), attr_ipv4(IFA_ADDRESS, ip), attr_ipv4(IFA_BROADCAST, broadcast)]
        self.request(ifaddrmsg(index, prefixlen, attrs), RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL)

    def add_default_route(self, gateway):
        attrs = [attr_u32(RTA_TABLE, RT_TABLE_MAIN), attr_ipv4(RTA_GATEWAY, gateway)]
        self.request(rtmsg(RT_TABLE_MAIN, RTPROT_BOOT, 0, RTN_UNICAST, attrs), RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL)
