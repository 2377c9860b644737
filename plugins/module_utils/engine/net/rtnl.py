# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lean rtnetlink channel for the start path: pyroute2's message classes (``ifinfmsg``,
``ifaddrmsg``, ``rtmsg``: the encoding) sent over a plain netlink socket.

``IPRoute`` pulls in asyncio, ssl, concurrent.futures and some 100 modules (0.13-0.2 s here);
the three message classes cost ~25 modules and ~25 ms. A container's start needs only
requests that are answered by an ACK (create, set, add, delete), so the transport is one
``send`` and a ``recv`` until the ACK of that sequence number; an error is pyroute2's
``NetlinkError`` with the kernel's errno, as ``IPRoute`` raises it. Everything that reads the
kernel's tables (dumps) stays with ``IPRoute`` in :mod:`netlink`.
"""

import os
import socket
import struct

NETLINK_ROUTE = 0
RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_NEWADDR = 20
RTM_NEWROUTE = 24
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLMSG_ERROR = 0x2
IFF_UP = 0x1
RT_TABLE_MAIN = 254
RTPROT_BOOT = 3
RTN_UNICAST = 1


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


def netlink_error():
    return pyroute2_module("pyroute2.netlink.exceptions").NetlinkError


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

    def request(self, msg, mtype, flags=0):
        """Send ``msg`` (a pyroute2 message) as ``mtype``; returns once the kernel ACKs it."""
        self.seq += 1
        msg["header"]["type"] = mtype
        msg["header"]["flags"] = NLM_F_REQUEST | NLM_F_ACK | flags
        msg["header"]["sequence_number"] = self.seq
        msg["header"]["pid"] = 0
        msg.encode()
        self.sock.send(msg.data)
        while True:
            data = self.sock.recv(65536)
            off = 0
            while off + 20 <= len(data):
                length, typ, _fl, seq, _pid = struct.unpack_from("=IHHII", data, off)
                if typ == NLMSG_ERROR and seq == self.seq:
                    code = -struct.unpack_from("=i", data, off + 16)[0]
                    if code:
                        raise netlink_error()(code, os.strerror(code))
                    return
                if length < 16:
                    break
                off += (length + 3) & ~3

    # ---- the requests of a start

    def _link(self, index=0, up=None, attrs=()):
        m = pyroute2_module("pyroute2.netlink.rtnl.ifinfmsg").ifinfmsg()
        m["family"] = socket.AF_UNSPEC
        m["index"] = index
        m["flags"] = IFF_UP if up else 0
        m["change"] = IFF_UP if up is not None else 0
        m["attrs"] = list(attrs)
        return m

    def add_veth(self, name, peer_attrs, master=None, up=False):
        """``name``<->peer (``peer_attrs``: IFLA_* pairs, e.g. its name, address, namespace fd);
        ``name`` on ``master`` (an index) and up, in the same request."""
        info = {"attrs": [("IFLA_INFO_KIND", "veth"),
                          ("IFLA_INFO_DATA", {"attrs": [("VETH_INFO_PEER", {"attrs": list(peer_attrs)})]})]}
        attrs = [("IFLA_IFNAME", name)] + ([("IFLA_MASTER", master)] if master else []) + [("IFLA_LINKINFO", info)]
        self.request(self._link(up=up or None, attrs=attrs), RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL)

    def delete_link(self, name):
        self.request(self._link(attrs=[("IFLA_IFNAME", name)]), RTM_DELLINK)

    def set_up(self, index):
        self.request(self._link(index=index, up=True), RTM_NEWLINK)

    def add_address(self, index, ip, prefixlen, broadcast):
        m = pyroute2_module("pyroute2.netlink.rtnl.ifaddrmsg").ifaddrmsg()
        m["family"] = socket.AF_INET
        m["prefixlen"] = int(prefixlen)
        m["index"] = index
        m["attrs"] = [("IFA_LOCAL", str(ip)), ("IFA_ADDRESS", str(ip)), ("IFA_BROADCAST", str(broadcast))]
        self.request(m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL)

    def add_default_route(self, gateway):
        m = pyroute2_module("pyroute2.netlink.rtnl.rtmsg").rtmsg()
        m["family"] = socket.AF_INET
        m["dst_len"] = 0
        m["table"] = RT_TABLE_MAIN
        m["proto"] = RTPROT_BOOT
        m["scope"] = 0
        m["type"] = RTN_UNICAST
        m["attrs"] = [("RTA_TABLE", RT_TABLE_MAIN), ("RTA_GATEWAY", str(gateway))]
        self.request(m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL)
