# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IP address management: ``<root>/network/ipam/subnet.json`` (SPEC 1.3).

Plain Python, standard library only; knows nothing of Ansible or netlink.

Format, kept exactly as the Go tool wrote it::

    {"192.168.0.0/24": "1110000...0001"}

one character per address of the subnet (index 0 is the network address, the last index the
broadcast address), ``'1'`` = taken.  A file written by the Go tool is read as it is: a string
shorter than the subnet counts the missing tail as free, and the network and broadcast addresses
are never handed out whatever the string says.

Beside it, ``owners.json`` (our own addition; the Go tool never reads it) remembers which
container holds which address, ``{"192.168.0.0/24": {"192.168.0.2": "<container id>"}}``, so that
``prune`` can tell a leftover of a crashed run from an address in use and ``start`` can take its
own address back.

Speed: finding a free address is one ``str.find('0')`` (C speed) on one subnet's string, never a
Python loop over addresses or over networks, so a /16 with thousands of addresses taken
allocates as fast as an empty /24.

The ``*_in`` functions are pure (they work on the loaded dicts); the others take the state lock
(see :func:`lock`) and replace the files atomically.
"""

import ipaddress
import os

from ..errors import MyDockerError
from ..store import read_json, state_lock, write_json

MIN_PREFIX = 16     # largest subnet: a /16 (65536 characters in subnet.json)
MAX_PREFIX = 30     # smallest subnet: a /30 (two usable addresses: gateway + one container)


def lock(paths):
    """The state lock (``store.state_lock``: re-entrant per thread, so a caller may hold it around
    several networking calls)."""
    return state_lock(paths)


def owners_file(paths):
    return os.path.join(paths.ipam_dir, "owners.json")


# ---------------------------------------------------------------------------------------------
# parsing

def parse_subnet(cidr):
    """``"10.0.0.0/24"`` -> IPv4Network (host bits are cleared, like the Go tool's ParseCIDR)."""
    if not isinstance(cidr, str) or "/" not in cidr:
        raise MyDockerError("invalid subnet %r: expected CIDR notation such as 192.168.0.0/24" % (cidr,))
    try:
        net = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        raise MyDockerError("invalid subnet %r: expected CIDR notation such as 192.168.0.0/24" % (cidr,))
    if net.version != 4:
        raise MyDockerError("invalid subnet %r: only IPv4 subnets are supported" % (cidr,))
    if net.prefixlen > MAX_PREFIX:
        raise MyDockerError("subnet %s is too small: need at least a /%d (gateway plus one container)"
                            % (net, MAX_PREFIX))
    if net.prefixlen < MIN_PREFIX:
        raise MyDockerError("subnet %s is too large: at most a /%d (%d addresses) is supported"
                            % (net, MIN_PREFIX, 2 ** (32 - MIN_PREFIX)))
    return net


def parse_ip(ip, what="IP address"):
    try:
        addr = ipaddress.ip_address(ip.strip() if isinstance(ip, str) else ip)
    except ValueError:
        raise MyDockerError("invalid %s %r" % (what, ip))
    if addr.version != 4:
        raise MyDockerError("invalid %s %r: only IPv4 is supported" % (what, ip))
    return addr


def check_host_ip(net, ip, what="IP address"):
    """``ip`` must be a usable host address of ``net`` (not network, not broadcast)."""
    addr = parse_ip(ip, what)
    if addr not in net:
        raise MyDockerError("%s %s is outside the subnet %s" % (what, addr, net))
    if addr == net.network_address or addr == net.broadcast_address:
        raise MyDockerError("%s %s is the %s address of %s" % (
            what, addr, "network" if addr == net.network_address else "broadcast", net))
    return addr


def default_gateway(net):
    return net.network_address + 1


# ---------------------------------------------------------------------------------------------
# pure operations on the loaded dicts

def _bitmap(data, net):
    """The normalised string of ``net``: full length, network and broadcast taken."""
    size = net.num_addresses
    s = data.get(str(net))
    if not isinstance(s, str):
        s = ""
    if len(s) < size:
        s = s + "0" * (size - len(s))
    elif len(s) > size:
        s = s[:size]
    if s[0] != "1" or s[-1] != "1":
        s = "1" + s[1:-1] + "1"
    return s


def _set(s, idx, ch):
    return s[:idx] + ch + s[idx + 1:]


def reserve_subnet_in(data, net, gateway):
    """Start (or restart) the string of ``net`` with network, gateway and broadcast taken."""
    s = "1" + "0" * (net.num_addresses - 2) + "1"
    s = _set(s, int(gateway) - int(net.network_address), "1")
    data[str(net)] = s
    return data


def drop_subnet_in(data, net):
    data.pop(str(net), None)
    return data


def is_taken_in(data, net, ip):
    s = data.get(str(net))
    idx = int(ip) - int(net.network_address)
    return isinstance(s, str) and idx < len(s) and s[idx] == "1"


def allocate_in(data, net, ip=None, reserved=()):
    """Take ``ip`` (or the first free address) in ``net``; returns the IPv4Address.

    ``reserved`` addresses (the gateway) are marked taken first, so a file from the Go tool that
    never marked its gateway cannot hand it out.
    """
    s = _bitmap(data, net)
    base = int(net.network_address)
    for r in reserved:
        s = _set(s, int(r) - base, "1")
    if ip is None:
        idx = s.find("0")
        if idx < 0:
            raise MyDockerError("subnet %s is exhausted: no free address left" % net)
    else:
        addr = check_host_ip(net, ip)
        idx = int(addr) - base
        if s[idx] == "1":
            raise MyDockerError("IP address %s is already taken in %s" % (addr, net))
    data[str(net)] = _set(s, idx, "1")
    return ipaddress.IPv4Address(base + idx)


def release_in(data, net, ip):
    """Free ``ip``; never frees network, broadcast or anything outside ``net``. True if it was taken."""
    addr = parse_ip(ip)
    if addr not in net or addr in (net.network_address, net.broadcast_address):
        return False
    s = data.get(str(net))
    if not isinstance(s, str):
        return False
    idx = int(addr) - int(net.network_address)
    if idx >= len(s) or s[idx] != "1":
        return False
    data[str(net)] = _set(s, idx, "0")
    return True


def taken_in(data, net):
    """All taken host addresses of ``net`` (network and broadcast left out)."""
    s = data.get(str(net))
    if not isinstance(s, str):
        return []
    base = int(net.network_address)
    out = []
    idx = s.find("1", 1)
    last = net.num_addresses - 1
    while 0 < idx < last:
        out.append(ipaddress.IPv4Address(base + idx))
        idx = s.find("1", idx + 1)
    return out


def free_count_in(data, net):
    return _bitmap(data, net).count("0")


# ---------------------------------------------------------------------------------------------
# files

def load(paths):
    data = read_json(paths.ipam_file, default={})
    if not isinstance(data, dict):
        raise MyDockerError("corrupt state file %s: expected an object" % paths.ipam_file)
    return data


def save(paths, data):
    write_json(paths.ipam_file, data)


def load_owners(paths):
    data = read_json(owners_file(paths), default={})
    return data if isinstance(data, dict) else {}


def save_owners(paths, owners):
    write_json(owners_file(paths), owners)


def owners_of(owners, net):
    sub = owners.get(str(net))
    return sub if isinstance(sub, dict) else {}


# ---------------------------------------------------------------------------------------------
# locked read-modify-write

def reserve_subnet(paths, net, gateway):
    with lock(paths):
        data = load(paths)
        reserve_subnet_in(data, net, gateway)
        save(paths, data)
        owners = load_owners(paths)
        if str(net) in owners:
            owners.pop(str(net))
            save_owners(paths, owners)


def drop_subnet(paths, net):
    with lock(paths):
        data = load(paths)
        if str(net) in data:
            drop_subnet_in(data, net)
            save(paths, data)
        owners = load_owners(paths)
        if str(net) in owners:
            owners.pop(str(net))
            save_owners(paths, owners)


def allocate(paths, net, ip=None, owner=None, reserved=()):
    """Allocate under the lock; returns the address as a string.

    When ``ip`` is requested and already held by the same ``owner`` (a container re-attached by
    ``start``), it is handed back to it rather than refused.
    """
    with lock(paths):
        data = load(paths)
        owners = load_owners(paths)
        sub = owners_of(owners, net)
        if ip is not None and owner is not None:
            addr = check_host_ip(net, ip)
            if sub.get(str(addr)) == owner and is_taken_in(data, net, addr):
                return str(addr)
        addr = allocate_in(data, net, ip, reserved)
        save(paths, data)  # first the bit, then the owner: a crash in between leaves a bit
        if owner is not None:  # without owner, which prune frees (never a double allocation)
            sub = dict(sub)
            sub[str(addr)] = owner
            owners[str(net)] = sub
            save_owners(paths, owners)
        return str(addr)


def release(paths, net, ip, owner=None):
    """Release ``ip`` under the lock.  With ``owner``, an address now held by another owner is
    left alone.  Returns True when something was freed."""
    with lock(paths):
        addr = str(parse_ip(ip))
        owners = load_owners(paths)
        sub = owners_of(owners, net)
        holder = sub.get(addr)
        if owner is not None and holder is not None and holder != owner:
            return False
        if holder is not None:
            sub = dict(sub)
            sub.pop(addr)
            if sub:
                owners[str(net)] = sub
            else:
                owners.pop(str(net), None)
            save_owners(paths, owners)
        data = load(paths)
        if release_in(data, net, addr):
            save(paths, data)
            return True
        return holder is not None


def addresses_of(paths, owner):
    """[(subnet, ip)] held by ``owner`` according to owners.json."""
    owners = load_owners(paths)
    out = []
    for cidr, sub in owners.items():
        if isinstance(sub, dict):
            for ip, who in sub.items():
                if who == owner:
                    out.append((cidr, ip))
    return out
