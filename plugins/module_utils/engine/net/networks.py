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
described in ``iptables.py``, ``net.ipv4.ip_forward=1`` (host-wide: switched on and left on, as
Docker does) and ``route_localnet=1`` on our own bridge (see ``ports.py``).

Locking: every function takes the state lock itself (``ipam.lock``, which is ``store.state_lock``:
re-entrant per thread, so a caller may hold it around several of these calls).

Container records are read through ``records`` (the Go tool's too).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import time

from .. import records
from ..errors import MyDockerError
from ..store import Paths, fast_hash, read_json, write_json
from ..validate import NETWORK_DRIVERS, check_subnet_host_bits, validate_name, validate_network_driver
from . import ipam
from . import iptables as ipt

TYPE_CHECKING = False  # typing is ~5 ms of every command's start: annotations only (postponed)
if TYPE_CHECKING:
    from typing import Any

DRIVERS = NETWORK_DRIVERS
IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"


def _netlink():
    from . import netlink  # keep the import local: pyroute2 is loaded only when needed
    return netlink


# ---------------------------------------------------------------------------------------------
# names, records

def validate_network_name(name: str) -> str:
    validate_name(name, "network name")
    if len(name) > 15:
        raise MyDockerError("network name %r is too long: the bridge is named after the network "
                            "and interface names have at most 15 characters" % name)
    return name


def mask_b64(prefixlen: int) -> str:
    import base64
    mask = (0xFFFFFFFF << (32 - prefixlen)) & 0xFFFFFFFF
    return base64.b64encode(mask.to_bytes(4, "big")).decode("ascii")


def prefix_from_b64(mask: str) -> int:
    import base64
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


def veth_name(cid: str) -> str:
    """Host end of a container's veth: "veth" + the id (10 digits) or a hash of a longer id."""
    if len(cid) <= 10 and cid.isalnum():
        return "veth" + cid
    return "veth" + fast_hash("sha1", cid.encode("utf-8")).hexdigest()[:10]


def peer_name(cid: str) -> str:
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


def check_create(root: str | None, name: str, subnet: str, gateway: str | None = None,
                 driver: str = "bridge", replacing: bool = False):
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


def create_network(root: str | None, name: str, subnet: str, gateway: str | None = None,
                   driver: str = "bridge") -> dict[str, Any]:
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
    from .names import attachments
    out = {}
    for cid, rec in _container_records(paths).items():
        for a in attachments(rec):  # every network of the container, not only its first
            if a["name"] == net.name:
                out[cid] = (cid, rec.name, a.get("ip") or "")
    for ip, cid in ipam.owners_of(ipam.load_owners(paths), net.subnet).items():
        if cid not in out:
            out[cid] = (cid, cid, ip)
    return sorted(out.values())


def remove_network(root: str | None, name: str, force: bool = False):
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


def list_networks(root: str | None) -> list[dict[str, Any]]:
    return [_public(n) for n in _all_networks(Paths(root))]


def inspect_network(root: str | None, name: str) -> dict[str, Any]:
    """The record plus "Containers": {cid: {"Name", "IPAddress"}}, and "Exists" of the bridge."""
    paths = Paths(root)
    net = _load(paths, name)
    rec = _public(net)
    rec["Containers"] = dict((cid, {"Name": n, "IPAddress": ip}) for cid, n, ip in attached(paths, net))
    return rec


def get_network(root, name):
    """The public record of one network (MyDockerError when unknown)."""
    return _public(_load(Paths(root), name))


def drift(root: str | None, name: str) -> list[str]:
    """What the host lacks compared with the record: [] when all is in place."""
    paths = Paths(root)
    net = _load(paths, name)
    nl = _netlink()
    problems = []
    members = [(cid, cname) for cid, cname, dummy in attached(paths, net)]
    infos = nl.link_infos([net.bridge] + [veth_name(cid) for cid, dummy in members])
    info = infos[0]
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
    snap = ipt.snapshot()  # one iptables-save for every check below (-C only for what it lacks)
    for table, chain, spec in ipt.network_rules(chains, net.bridge, net.subnet):
        if not ipt.rule_present(chains, table, chain, spec, "net", name, snap):
            what = {"MASQUERADE": "MASQUERADE rule", "DROP": "loopback DROP rule"}.get(spec[-1], "FORWARD rule")
            problems.append("%s missing: -t %s -A %s %s" % (what, table, chain, " ".join(spec)))
    for table, builtin, match, chain in chains.jumps():
        if chain == chains.dnat:
            continue  # only needed once a port is published
        if not ipt.jump_present(chains, table, builtin, match, chain, snap):
            problems.append("jump from %s to %s missing (-t %s)" % (builtin, chain, table))
    if info is not None:
        for (cid, cname), veth in zip(members, infos[1:]):
            if veth is not None and veth["master"] != info["index"]:
                problems.append("veth %s of container %s is not on bridge %s" % (veth_name(cid), cname, net.bridge))
    if nl.get_sysctl(IP_FORWARD) != "1":
        problems.append("net.ipv4.ip_forward is off")
    return problems


def repair_network(root: str | None, name: str) -> list[str]:
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
