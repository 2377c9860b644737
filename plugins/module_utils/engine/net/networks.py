# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bridge networks: the API the runtime, the CLI and the modules call.

Plain Python plus pyroute2 (lazily, through ``netlink``); knows nothing of Ansible.

Network record ``<root>/network/network/<name>`` (SPEC 1.3; the Go tool's three keys first,
our additions after them)::

    {"Name": "testbridge",
     "IPRange": {"IP": "192.168.0.1", "Mask": "////AA=="},   # gateway, base64 of the mask
     "Driver": "bridge",
     "Subnet": "192.168.0.0/24", "Gateway": "192.168.0.1", "Bridge": "testbridge",
     "Created": "2025-03-17 15:45:14"}

A record written by the Go tool (only the first three keys) is read as it is: the subnet is
derived from IPRange, the bridge is the network name.

Host effects: a bridge named after the network holding the gateway address, the iptables rules
described in ``iptables.py``, ``net.ipv4.ip_forward=1`` and ``net.ipv4.conf.<bridge>.route_localnet=1``.
ip_forward is a host-wide toggle: it is switched on and left on (other software may rely on it;
Docker does the same).  route_localnet is set on our own bridge only and goes away with it; it
lets the kernel route a 127.0.0.1 packet DNATed in OUTPUT out of the bridge, where the
``-s 127.0.0.0/8 -o BR -j MASQUERADE`` rule gives it the gateway address as source, so published
ports answer on 127.0.0.1:HOSTPORT from the host itself.

Locking: every function takes the state lock itself (``ipam.lock``, which is ``store.state_lock``:
re-entrant per thread, so a caller may hold it around several of these calls).

Container records are read through ``records`` (the Go tool's too).
"""

import base64
import errno
import hashlib
import ipaddress
import os
import socket
import time

from .. import records
from ..errors import MyDockerError
from ..store import Paths, read_json, write_json
from ..validate import NETWORK_DRIVERS, check_subnet_host_bits, validate_name, validate_network_driver
from . import ipam
from . import iptables as ipt

DRIVERS = NETWORK_DRIVERS
IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"
PROTOS = ("tcp", "udp")


def _netlink():
    from . import netlink  # keep the import local: pyroute2 is loaded only when needed
    return netlink


# ---------------------------------------------------------------------------------------------
# names, records

def validate_network_name(name):
    validate_name(name, "network name")
    if len(name) > 15:
        raise MyDockerError("network name %r is too long: the bridge is named after the network "
                            "and interface names have at most 15 characters" % name)
    return name


def mask_b64(prefixlen):
    mask = (0xFFFFFFFF << (32 - prefixlen)) & 0xFFFFFFFF
    return base64.b64encode(mask.to_bytes(4, "big")).decode("ascii")


def prefix_from_b64(mask):
    try:
        raw = base64.b64decode(mask)
    except (TypeError, ValueError):
        raise MyDockerError("invalid mask %r in network record" % (mask,))
    if len(raw) == 16:  # a Go net.IPMask of an IPv4-in-IPv6 form
        raw = raw[12:]
    if len(raw) != 4:
        raise MyDockerError("invalid mask %r in network record" % (mask,))
    bits = bin(int.from_bytes(raw, "big"))[2:].zfill(32)
    if "01" in bits:
        raise MyDockerError("invalid mask %r in network record" % (mask,))
    return bits.count("1")


def veth_name(cid):
    """Host end of a container's veth: "veth" + the id (10 digits) or a hash of a longer id."""
    if len(cid) <= 10 and cid.isalnum():
        return "veth" + cid
    return "veth" + hashlib.sha1(cid.encode("utf-8")).hexdigest()[:10]


def peer_name(cid):
    return "vp" + veth_name(cid)[4:]


class Network:
    """A loaded network record."""

    def __init__(self, record):
        self.record = record
        self.name = record["Name"]
        rng = record.get("IPRange") or {}
        self.gateway = ipaddress.ip_address(record.get("Gateway") or rng["IP"])
        if record.get("Subnet"):
            self.subnet = ipaddress.ip_network(record["Subnet"], strict=False)
        else:
            self.subnet = ipaddress.ip_network(
                "%s/%d" % (rng["IP"], prefix_from_b64(rng["Mask"])), strict=False)
        self.bridge = record.get("Bridge") or self.name
        self.driver = record.get("Driver") or "bridge"


def _load(paths, name):
    validate_name(name, "network name")
    rec = read_json(paths.network_file(name))
    if rec is None:
        raise MyDockerError("network %s not found" % name)
    try:
        net = Network(rec)
    except (KeyError, TypeError, ValueError):
        raise MyDockerError("corrupt network record %s" % paths.network_file(name))
    return net


def _all_networks(paths):
    out = []
    try:
        names = sorted(os.listdir(paths.network_dir))
    except OSError:
        return out
    for n in names:
        if n.startswith("."):
            continue
        try:
            out.append(_load(paths, n))
        except MyDockerError:
            continue
    return out


def _container_records(paths):
    """{cid: record} of every container of the root (corrupt records do not count here)."""
    return dict((rec.id, rec) for rec in records.iter_records(paths, skip_corrupt=True))


def _public(net):
    r = dict(net.record)
    r.setdefault("Subnet", str(net.subnet))
    r.setdefault("Gateway", str(net.gateway))
    r.setdefault("Bridge", net.bridge)
    return r


# ---------------------------------------------------------------------------------------------
# create / remove / list / inspect

def _check_overlap(paths, subnet, exclude=None):
    """Refuse a subnet overlapping another network of the root or a host route/address.
    ``exclude``: a network (name) being replaced: its record and its bridge do not count."""
    skip_dev = None
    for other in _all_networks(paths):
        if other.name == exclude:
            skip_dev = other.bridge
            continue
        if other.subnet.overlaps(subnet):
            raise MyDockerError("subnet %s overlaps %s of network %s" % (subnet, other.subnet, other.name))
    for what, net, dev in _netlink().host_networks():
        if dev is not None and dev == skip_dev:
            continue
        if net.overlaps(subnet):
            raise MyDockerError("subnet %s overlaps the host %s %s on %s" % (subnet, what, net, dev))


def parse_network_args(subnet, gateway=None, driver="bridge"):
    """Validate driver, subnet and gateway as create_network does (no I/O) ->
    (IPv4Network, gateway IPv4Address); the gateway defaults to the subnet's first address."""
    validate_network_driver(driver)
    if subnet is None or subnet == "":
        raise MyDockerError("a subnet is required (--subnet CIDR)")
    net = ipam.parse_subnet(subnet)
    if net.is_loopback or net.is_link_local or net.is_multicast or net.is_reserved \
            or net.is_unspecified:
        raise MyDockerError("subnet %s is not usable for containers (loopback, link-local, "
                            "multicast or reserved)" % net)
    if gateway is None or gateway == "":
        gw = ipam.default_gateway(net)
    else:
        gw = ipam.check_host_ip(net, gateway, "gateway")
    return net, gw


def check_create(root, name, subnet, gateway=None, driver="bridge", replacing=False):
    """Everything create_network checks before it changes anything, changing nothing itself
    (for check mode).  ``replacing``: the network ``name`` exists and will be removed first.
    Returns (IPv4Network, gateway IPv4Address)."""
    paths = Paths(root)
    validate_network_name(name)
    net, gw = parse_network_args(subnet, gateway, driver)
    if not replacing:
        if os.path.exists(paths.network_file(name)):
            raise MyDockerError("network %s already exists" % name)
        if _netlink().link_exists(name):
            raise MyDockerError("a network interface named %s already exists on the host" % name)
    _check_overlap(paths, net, exclude=name if replacing else None)
    return net, gw


def network_record(name, net, gw, driver="bridge", created=None):
    """The record create_network writes for (IPv4Network, gateway) ``net``, ``gw`` (without
    "Created" when ``created`` is None: what check mode predicts)."""
    record = {"Name": name, "IPRange": {"IP": str(gw), "Mask": mask_b64(net.prefixlen)}, "Driver": driver,
              "Subnet": str(net), "Gateway": str(gw), "Bridge": name}
    if created is not None:
        record["Created"] = created
    return record


def create_network(root, name, subnet, gateway=None, driver="bridge"):
    """Create a bridge network; returns its record.  Changes nothing on any error."""
    paths = Paths(root)
    validate_network_name(name)
    check_subnet_host_bits(subnet)
    net, gw = parse_network_args(subnet, gateway, driver)
    paths.ensure()
    with ipam.lock(paths):
        if os.path.exists(paths.network_file(name)):
            raise MyDockerError("network %s already exists" % name)
        nl = _netlink()
        if nl.link_exists(name):
            raise MyDockerError("a network interface named %s already exists on the host" % name)
        _check_overlap(paths, net)
        chains = ipt.Chains(paths.root)
        record = network_record(name, net, gw, driver, created=time.strftime("%Y-%m-%d %H:%M:%S"))
        nl.create_bridge(name, gw, net.prefixlen)
        rules = None
        try:
            # host-wide, switched on and left on (see the module docstring)
            nl.set_sysctl(IP_FORWARD, "1")
            nl.set_sysctl("/proc/sys/net/ipv4/conf/%s/route_localnet" % name, "1")
            rules = ipt.add_network_rules(chains, name, net, name)
            ipam.reserve_subnet(paths, net, gw)
            write_json(paths.network_file(name), record)
        except BaseException:
            try:
                os.unlink(paths.network_file(name))
            except OSError:
                pass
            try:
                data = ipam.load(paths)
                if str(net) in data:
                    ipam.drop_subnet(paths, net)
            except Exception:
                pass
            if rules is not None:
                rules.undo()
            try:
                nl.delete_link(name)
            except Exception:
                pass
            raise
        return record


def attached(paths, net):
    """Containers attached to ``net``: [(cid, name, ip)] from records and IP owners."""
    out = {}
    for cid, rec in _container_records(paths).items():
        if rec.network == net.name:
            out[cid] = (cid, rec.name, rec.ip)
    for ip, cid in ipam.owners_of(ipam.load_owners(paths), net.subnet).items():
        if cid not in out:
            out[cid] = (cid, cid, ip)
    return sorted(out.values())


def remove_network(root, name, force=False):
    """Remove a network: bridge, rules, IPAM entry, record.  Refuses while containers are
    attached unless ``force`` (which also detaches them: their veths, published-port rules and
    addresses go; their records are left to the runtime)."""
    paths = Paths(root)
    with ipam.lock(paths):
        net = _load(paths, name)
        users = attached(paths, net)
        if users and not force:
            raise MyDockerError("network %s is in use by container(s) %s; stop and remove them "
                                "first or use force" % (name, ", ".join(
                                    u[1] if u[1] == u[0] else "%s (%s)" % (u[1], u[0]) for u in users)))
        chains = ipt.Chains(paths.root)
        nl = _netlink()
        for cid in [u[0] for u in users]:
            ipt.delete_rules(chains, "ctr", cid)
            nl.delete_link(veth_name(cid))
        for link in nl.links_on(net.bridge):
            nl.delete_link(link)
        ipt.delete_rules(chains, "net", name)
        ipt.delete_legacy_masquerade(net.bridge, net.subnet)
        nl.delete_link(net.bridge)
        ipam.drop_subnet(paths, net.subnet)
        try:
            os.unlink(paths.network_file(name))
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise
        return _public(net)


def list_networks(root):
    return [_public(n) for n in _all_networks(Paths(root))]


def inspect_network(root, name):
    """The record plus "Containers": {cid: {"Name", "IPAddress"}}, and "Exists" of the bridge."""
    paths = Paths(root)
    net = _load(paths, name)
    rec = _public(net)
    rec["Containers"] = dict((cid, {"Name": n, "IPAddress": ip}) for cid, n, ip in attached(paths, net))
    return rec


def get_network(root, name):
    """The public record of one network (MyDockerError when unknown)."""
    return _public(_load(Paths(root), name))


# ---------------------------------------------------------------------------------------------
# published ports

def parse_publish(spec):
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


def publish(root, network, cid, ip, ports):
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


def unpublish(root, cid):
    """Delete every published-port rule of ``cid``; returns the deleted rules."""
    paths = Paths(root)
    validate_name(cid, "container id")
    with ipam.lock(paths):
        return ipt.delete_rules(ipt.Chains(paths.root), "ctr", cid)


# ---------------------------------------------------------------------------------------------
# containers

def connect(root, network, cid, pid, ip=None):
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
    host_end = veth_name(cid)
    try:
        nl.connect_netns(host_end, peer_name(cid), net.bridge, pid, addr, net.subnet.prefixlen,
                         net.gateway)
    except BaseException:
        ipam.release(paths, net.subnet, addr, owner=cid)
        raise
    return {"network": net.name, "ip": addr, "prefixlen": net.subnet.prefixlen,
            "gateway": str(net.gateway), "veth": host_end, "bridge": net.bridge}


def disconnect(root, network, cid, ip=None, release=True):
    """Delete the container's veth (if still there) and, with ``release``, its address(es) in
    ``network``.  Never fails on what is already gone."""
    paths = Paths(root)
    validate_name(cid, "container id")
    _netlink().delete_link(veth_name(cid))
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


def release_container(root, cid):
    """Unpublish, delete the veth and release every address of ``cid`` (``rm``)."""
    paths = Paths(root)
    validate_name(cid, "container id")
    with ipam.lock(paths):
        ipt.delete_rules(ipt.Chains(paths.root), "ctr", cid)
        _netlink().delete_link(veth_name(cid))
        for cidr, ip in ipam.addresses_of(paths, cid):
            ipam.release(paths, ipaddress.ip_network(cidr), ip, owner=cid)


def prune(root, live_cids):
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
        records = _container_records(paths)
        used = set()
        for cid, rec in records.items():
            if cid in live and rec.ip:
                used.add((rec.network, rec.ip))
        owners = ipam.load_owners(paths)
        data = ipam.load(paths)
        for n in nets:
            sub = ipam.owners_of(owners, n.subnet)
            for addr in ipam.taken_in(data, n.subnet):
                a = str(addr)
                if addr == n.gateway:
                    continue
                holder = sub.get(a)
                if (holder is not None and holder not in live) or \
                        (holder is None and (n.name, a) not in used):
                    ipam.release(paths, n.subnet, a)
                    removed.append("ip %s of network %s%s" % (a, n.name,
                                                              " (container %s)" % holder if holder else ""))
        ipt.gc_chains(chains)
    return removed


def drift(root, name):
    """What the host lacks compared with the record: [] when all is in place."""
    paths = Paths(root)
    net = _load(paths, name)
    nl = _netlink()
    problems = []
    info = nl.link_info(net.bridge)
    if info is None:
        problems.append("bridge %s is missing" % net.bridge)
    else:
        if info["kind"] != "bridge":
            problems.append("%s is not a bridge" % net.bridge)
        if not info["up"]:
            problems.append("bridge %s is down" % net.bridge)
        want = "%s/%d" % (net.gateway, net.subnet.prefixlen)
        if want not in info["addresses"]:
            problems.append("bridge %s lacks its gateway address %s" % (net.bridge, want))
    chains = ipt.Chains(paths.root)
    for table, chain, spec in ipt.network_rules(chains, net.bridge, net.subnet):
        if not ipt.rule_present(chains, table, chain, spec, "net", name):
            what = {"MASQUERADE": "MASQUERADE rule", "DROP": "loopback DROP rule"}.get(spec[-1], "FORWARD rule")
            problems.append("%s missing: -t %s -A %s %s" % (what, table, chain, " ".join(spec)))
    for table, builtin, match, chain in chains.jumps():
        if chain == chains.dnat:
            continue  # only needed once a port is published
        if not ipt.jump_present(chains, table, builtin, match, chain):
            problems.append("jump from %s to %s missing (-t %s)" % (builtin, chain, table))
    if info is not None:
        for cid, cname, dummy in attached(paths, net):
            veth = nl.link_info(veth_name(cid))
            if veth is not None and veth["master"] != info["index"]:
                problems.append("veth %s of container %s is not on bridge %s" % (veth_name(cid), cname, net.bridge))
    if nl.get_sysctl(IP_FORWARD) != "1":
        problems.append("net.ipv4.ip_forward is off")
    return problems


def repair_network(root, name):
    """Put back on the host what ``drift`` finds missing: the bridge (up, with its gateway
    address and the veths of attached containers that still exist), the network's iptables
    rules and our chains' jumps, ip_forward.  Returns what was done, one string each."""
    paths = Paths(root)
    done = []
    with ipam.lock(paths):
        net = _load(paths, name)
        nl = _netlink()
        ports = [veth_name(u[0]) for u in attached(paths, net)]
        done.extend(nl.repair_bridge(net.bridge, net.gateway, net.subnet.prefixlen, ports))
        localnet = "/proc/sys/net/ipv4/conf/%s/route_localnet" % net.bridge
        if nl.get_sysctl(localnet) != "1":
            nl.set_sysctl(localnet, "1")
        chains = ipt.Chains(paths.root)
        rs = ipt.RuleSet(chains)
        for table, chain, spec in ipt.network_rules(chains, net.bridge, net.subnet):
            if not ipt.rule_present(chains, table, chain, spec, "net", name):
                ipt.add_rule(rs, table, chain, spec, "net", name)
                done.append("added rule -t %s -A %s %s" % (table, chain, " ".join(spec)))
        for table, builtin, match, chain in chains.jumps():
            if chain == chains.dnat and not ipt.chain_exists(table, chain):
                continue  # only needed once a port is published
            if not ipt.jump_present(chains, table, builtin, match, chain):
                ipt.ensure_chain(chains, table, chain)
                done.append("added jump from %s to %s (-t %s)" % (builtin, chain, table))
        if nl.get_sysctl(IP_FORWARD) != "1":
            nl.set_sysctl(IP_FORWARD, "1")
            done.append("set net.ipv4.ip_forward=1")
    return done
