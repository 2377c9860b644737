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

Owners, since owners.json grew with the fill (60000 addresses taken: 1.6 MB, read and written
twice per allocate+release, ~100 ms): the owner of each address is one symlink
``<root>/network/ipam-owners/<subnet, "/" as "_">/<ip>`` whose target is the container ID, made
beside it and renamed over it (atomic) or unlinked, under the same lock:
allocate and release touch that one name whatever the fill. ``owners.json`` stays and is read as
it is: its entries (an earlier version's) count as before and leave it when their address is
released or their subnet dropped; new owners never go into it. :func:`load_owners` gives the
union, in the same shape as before. subnet.json is still the one truth of which address is taken.

Flat in the number of other networks (issue 13): an allocate or release changes one character of
one subnet's string, and :mod:`.ipamstore` writes just that byte in place (``pwrite`` +
``fdatasync``), found through an index it checks against the bytes of the file, instead of
reading, rewriting and fsyncing the whole file (6.6 MB with 100 other /16s). Whatever the fast
way cannot prove or do (no index, a file the Go tool wrote or changed, a short string to pad, an
unmarked gateway) takes the old way once: read whole, change, write whole; see its module doc.

The ``*_in`` functions are pure (they work on the loaded dicts); the others take the state lock
(see :func:`lock`) and change the files atomically (replaced whole, or one byte in place).
"""

import ipaddress
import os

from ..errors import MyDockerError
from ..store import makedirs, read_json, state_lock, write_json
from . import ipamstore

MIN_PREFIX = 16     # largest subnet: a /16 (65536 characters in subnet.json)
MAX_PREFIX = 30     # smallest subnet: a /30 (two usable addresses: gateway + one container)


def _rmtree(path):
    import shutil  # removal only: shutil loads bz2 and lzma (~3 ms of every networked create)
    shutil.rmtree(path, ignore_errors=True)


def lock(paths):
    """The state lock (``store.state_lock``: re-entrant per thread, so a caller may hold it around
    several networking calls)."""
    return state_lock(paths)


def owners_file(paths):
    return os.path.join(paths.ipam_dir, "owners.json")


def owners_dir(paths, net=None):
    """``<root>/network/ipam-owners`` (or the directory of ``net`` in it)."""
    d = os.path.join(os.path.dirname(paths.ipam_dir), "ipam-owners")
    return d if net is None else os.path.join(d, str(net).replace("/", "_"))


def _owner_names(paths, net):
    try:
        return os.listdir(owners_dir(paths, net))
    except FileNotFoundError:
        return []


def _holder(paths, net, ip):
    """The owner of ``ip`` in ``net`` by its owner link, None when there is none."""
    try:
        return os.readlink(os.path.join(owners_dir(paths, net), str(ip)))
    except (FileNotFoundError, NotADirectoryError):
        return None


def _fsync_dir(d):
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _set_holder(paths, net, ip, owner, sync=False):
    """The owner link of ``ip``: made beside it and renamed over it (atomic). The directory is
    not fsynced (``sync`` does it): subnet.json, fsynced, is the truth of what is taken; a link
    a power cut loses only makes its address look ownerless, which ``prune`` frees when no
    container uses it, and a link of a released address is replaced by the next owner's."""
    d = owners_dir(paths, net)
    makedirs(d, 0o700)
    link = os.path.join(d, str(ip))
    tmp = os.path.join(d, ".%s.%d.tmp" % (ip, os.getpid()))
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    os.symlink(owner, tmp)
    try:
        os.rename(tmp, link)
    except BaseException:
        os.unlink(tmp)
        raise
    if sync:
        _fsync_dir(d)


def _drop_holder(paths, net, ip):
    d = owners_dir(paths, net)
    try:
        os.unlink(os.path.join(d, str(ip)))
    except FileNotFoundError:
        pass
    # the directories exist only while they hold an owner: a failed run leaves nothing behind
    for empty in (d, owners_dir(paths)):
        try:
            os.rmdir(empty)
        except OSError:  # not empty (or gone): keep it
            break


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
    """Replace subnet.json by ``data`` whole (the bytes ``store.write_json`` writes), atomically."""
    ipamstore.write(paths, data)


def _fits(s, net, reserved):
    """True when ``allocate_in`` on ``s`` changes nothing but the address it takes: full length,
    network and broadcast taken, every reserved address inside ``net`` and taken."""
    if len(s) != net.num_addresses or s[0] != "1" or s[-1] != "1":
        return False
    base = int(net.network_address)
    for r in reserved:
        i = int(r) - base
        if not 0 <= i < len(s) or s[i] != "1":
            return False
    return True


def _load_legacy_owners(paths):
    data = read_json(owners_file(paths), default={})
    return data if isinstance(data, dict) else {}


def load_owners(paths):
    """{subnet: {ip: owner}}: owners.json as it is, plus the owner links (see the module doc)."""
    data = _load_legacy_owners(paths)
    try:
        dirs = os.listdir(owners_dir(paths))
    except FileNotFoundError:
        dirs = []
    for d in sorted(dirs):
        cidr = d.replace("_", "/")
        sub = None
        for ip in sorted(_owner_names(paths, cidr)):
            if ip.startswith("."):
                continue
            owner = _holder(paths, cidr, ip)
            if owner is not None:
                if sub is None:
                    sub = data[cidr] = dict(owners_of(data, cidr))
                sub[ip] = owner
    return data


def save_owners(paths, owners):
    """Replace every owner (owners.json and the owner files) by ``owners`` {subnet: {ip: owner}}:
    the owner links hold them afterwards, owners.json is left empty."""
    with lock(paths):
        _rmtree(owners_dir(paths))
        for cidr, sub in owners.items():
            sub = sub if isinstance(sub, dict) else {}
            for ip, owner in sub.items():
                _set_holder(paths, cidr, ip, owner, sync=False)
            if sub:
                _fsync_dir(owners_dir(paths, cidr))
        write_json(owners_file(paths), {})


def _forget_legacy(paths, net, ip=None):
    """Drop ``ip`` (every address of ``net`` with None) from owners.json; its holder or None.
    Rewrites the file only when it named it."""
    owners = _load_legacy_owners(paths)
    sub = owners_of(owners, net)
    if ip is None:
        if str(net) not in owners:
            return None
        owners.pop(str(net))
        write_json(owners_file(paths), owners)
        return None
    holder = sub.get(str(ip))
    if holder is not None:
        sub = dict(sub)
        sub.pop(str(ip))
        if sub:
            owners[str(net)] = sub
        else:
            owners.pop(str(net), None)
        write_json(owners_file(paths), owners)
    return holder


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
        _forget_legacy(paths, net)
        _rmtree(owners_dir(paths, net))


def drop_subnet(paths, net):
    with lock(paths):
        data = load(paths)
        if str(net) in data:
            drop_subnet_in(data, net)
            save(paths, data)
        _forget_legacy(paths, net)
        _rmtree(owners_dir(paths, net))


def allocate(paths, net, ip=None, owner=None, reserved=()):
    """Allocate under the lock; returns the address as a string.

    When ``ip`` is requested and already held by the same ``owner`` (a container re-attached by
    ``start``), it is handed back to it rather than refused.
    """
    with lock(paths), _slot(paths, net) as slot:
        if slot is not None and _fits(slot.value, net, reserved):
            data = {str(net): slot.value}  # the fast way: this subnet's string only
        else:
            slot = None
            data = load(paths)
        if ip is not None and owner is not None:
            addr = check_host_ip(net, ip)
            if is_taken_in(data, net, addr) and owner in (
                    _holder(paths, net, addr), owners_of(_load_legacy_owners(paths), net).get(str(addr))):
                return str(addr)
        addr = allocate_in(data, net, ip, reserved)
        # first the bit, then the owner: a crash in between leaves a bit
        if slot is not None:  # without owner, which prune frees (never a double allocation)
            slot.put(int(addr) - int(net.network_address), "1")
        else:
            save(paths, data)
        if owner is not None:
            if not os.path.exists(owners_file(paths)):
                write_json(owners_file(paths), {})  # the file of earlier versions stays there
            _set_holder(paths, net, addr, owner)
        return str(addr)


class _NoSlot:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _slot(paths, net):
    """A context giving this subnet's in-place :class:`ipamstore.Slot`, or None."""
    return ipamstore.open_slot(paths, str(net)) or _NoSlot()


def release(paths, net, ip, owner=None):
    """Release ``ip`` under the lock.  With ``owner``, an address now held by another owner is
    left alone.  Returns True when something was freed."""
    with lock(paths):
        addr = str(parse_ip(ip))
        holder = _holder(paths, net, addr)
        legacy = None
        if holder is None:  # owners.json only when there is no link (it may be large)
            holder = legacy = owners_of(_load_legacy_owners(paths), net).get(addr)
        if owner is not None and holder is not None and holder != owner:
            return False
        if holder is not None:
            _drop_holder(paths, net, addr)
            if legacy is not None:
                _forget_legacy(paths, net, addr)
        with _slot(paths, net) as slot:
            data = {str(net): slot.value} if slot is not None else load(paths)
            if release_in(data, net, addr):  # changes one character, never pads: always in place
                if slot is not None:
                    # no fdatasync: a release a power cut loses leaves the bit taken for a
                    # holder that let it go, which prune or its rm frees (see ipamstore)
                    slot.put(int(ipaddress.IPv4Address(addr)) - int(net.network_address), "0", sync=False)
                else:
                    save(paths, data)
                return True
        return holder is not None


def addresses_of(paths, owner):
    """[(subnet, ip)] held by ``owner`` according to owners.json and the owner links."""
    owners = load_owners(paths)
    out = []
    for cidr, sub in owners.items():
        if isinstance(sub, dict):
            for ip, who in sub.items():
                if who == owner:
                    out.append((cidr, ip))
    return out
