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

USAGE = "expected [HOSTIP:][HOSTPORT[-END]:]CONTAINERPORT[-END][/tcp|/udp]"


def _bad(spec, why):
    return MyDockerError("invalid port mapping %r: %s" % (spec, why))


def parse_port_range(text: str, spec: Any = None) -> tuple[int, int]:
    """``N`` or ``N-M`` (1 <= N <= M <= 65535) -> (N, M)."""
    spec = text if spec is None else spec
    lo, sep, hi = text.partition("-")
    if not sep:
        hi = lo
    for val in (lo, hi):
        if not val.isdigit():
            raise _bad(spec, "%r is not a port number" % (text,))
        if not 1 <= int(val) <= 65535:
            raise _bad(spec, "port %d out of range 1-65535" % int(val))
    if int(lo) > int(hi):
        raise _bad(spec, "the range %r ends before it starts" % (text,))
    return int(lo), int(hi)


def _split_host_ip(spec, s):
    """'[v6]:REST' | 'IP:H:C' | 'H:C' | 'C' -> (host ip or None, host part or None, container part)."""
    if s.startswith("["):
        end = s.find("]")
        if end < 0:
            raise _bad(spec, "cannot find the closing ']' of the IPv6 address")
        if s[end + 1:end + 2] != ":" or s[end + 2:].count(":") != 1:
            raise _bad(spec, USAGE)
        addr = s[1:end]
        try:
            ipaddress.IPv6Address(addr.split("%")[0])
        except ValueError:
            raise _bad(spec, "%r is not an IPv6 address" % addr)
        raise _bad(spec, "IPv6 host addresses are not supported: the NAT of mydocker is IPv4 only "
                         "(publish on an IPv4 address, or on all of them)")
    parts = s.split(":")
    if len(parts) == 1:
        return None, None, parts[0]
    if len(parts) == 2:
        return None, parts[0], parts[1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    raise _bad(spec, "%s (an IPv6 address needs square brackets: [::1]:8080:80)" % USAGE)


def _host_ip(spec, text):
    if not text:
        return ""
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise _bad(spec, "the host address %r is not an IPv4 address (a host name is not accepted)" % text)
    if addr.version != 4:
        raise _bad(spec, "IPv6 host addresses are not supported: the NAT of mydocker is IPv4 only")
    return "" if addr.is_unspecified else str(addr)


def _port_dict(d):
    """A port dict as the records keep it (parse_publish's keys; ``auto`` and ``host_range``
    only for a host port the engine chooses, ``all`` for one that publish-all added)."""
    spec = d
    try:
        out = {"host_ip": _host_ip(spec, d.get("host_ip") or ""), "host_port": int(d.get("host_port") or 0),
               "container_port": int(d["container_port"]), "proto": (d.get("proto") or "tcp").lower()}
    except (KeyError, TypeError, ValueError):
        raise _bad(spec, USAGE)
    if out["proto"] not in PROTOS:
        raise _bad(spec, "protocol must be tcp or udp")
    if not 1 <= out["container_port"] <= 65535 or not 0 <= out["host_port"] <= 65535:
        raise _bad(spec, "port out of range 1-65535")
    if d.get("auto") or not out["host_port"]:
        out["auto"] = True
        if d.get("host_range"):
            parse_port_range(d["host_range"], spec)
            out["host_range"] = d["host_range"]
    if d.get("all"):
        out["all"] = True
    return out


def parse_publish_list(spec: Union[str, int, dict[str, Any]]) -> list[dict[str, Any]]:
    """One ``-p`` value -> its port dicts (a range gives one per port), as Docker reads it:
    ``8080:80``, ``127.0.0.1:8080:80``, ``53:53/udp``, ``5000-5010:5000-5010`` (pairwise),
    ``9001`` or ``127.0.0.1::9001`` (a free host port chosen by the engine: ``auto``),
    ``9010-9050:9010`` (a free host port of that range: ``auto`` and ``host_range``).
    IPv6 host addresses (``[::1]:8080:80``) are refused: the NAT is IPv4 only."""
    if isinstance(spec, dict):
        return [_port_dict(spec)]
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = str(spec)
    if not isinstance(spec, str) or not spec.strip():
        raise _bad(spec, USAGE)
    s = spec.strip()
    proto = "tcp"
    if "/" in s:
        s, proto = s.rsplit("/", 1)
        proto = proto.lower()
        if proto not in PROTOS:
            raise _bad(spec, "protocol must be tcp or udp")
    ip_text, host, ctr = _split_host_ip(spec, s)
    host_ip = _host_ip(spec, ip_text or "")
    c_lo, c_hi = parse_port_range(ctr, spec)
    base = {"host_ip": host_ip, "proto": proto}
    if not host:
        return [dict(base, host_port=0, container_port=c, auto=True) for c in range(c_lo, c_hi + 1)]
    h_lo, h_hi = parse_port_range(host, spec)
    if c_lo == c_hi:
        if h_lo == h_hi:
            return [dict(base, host_port=h_lo, container_port=c_lo)]
        return [dict(base, host_port=0, container_port=c_lo, auto=True, host_range="%d-%d" % (h_lo, h_hi))]
    if h_hi - h_lo != c_hi - c_lo:
        raise _bad(spec, "the host range %s and the container range %s are not of the same length" % (host, ctr))
    return [dict(base, host_port=h, container_port=c) for h, c in zip(range(h_lo, h_hi + 1), range(c_lo, c_hi + 1))]


def parse_publish(spec: Union[str, dict[str, Any]]) -> dict[str, Any]:
    """``[HOSTIP:][HOSTPORT:]CTRPORT[/tcp|/udp]`` (or such a dict) -> one port dict
    {"host_ip": "" or "a.b.c.d", "host_port": int (0: chosen by the engine), "container_port": int,
    "proto": "tcp"|"udp"} (``parse_publish_list`` reads ranges)."""
    ports = parse_publish_list(spec)
    if len(ports) != 1:
        raise _bad(spec, "a range of container ports gives several ports (parse_publish_list)")
    return ports[0]


def parse_expose(spec: Union[str, int]) -> list[str]:
    """``--expose`` / ``exposed_ports``: ``80``, ``80/udp``, ``9010-9050`` -> ['80/tcp', ...]."""
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = str(spec)
    if not isinstance(spec, str) or not spec.strip():
        raise MyDockerError("invalid exposed port %r: expected PORT[-END][/tcp|/udp]" % (spec,))
    s, _sep, proto = spec.strip().partition("/")
    proto = (proto or "tcp").lower()
    if proto not in PROTOS:
        raise MyDockerError("invalid exposed port %r: protocol must be tcp or udp" % spec)
    try:
        lo, hi = parse_port_range(s, spec)
    except MyDockerError as e:
        raise MyDockerError(str(e).replace("invalid port mapping", "invalid exposed port"))
    return ["%d/%s" % (p, proto) for p in range(lo, hi + 1)]


def _exposed_key(text):
    port, _sep, proto = str(text).partition("/")
    return (int(port), proto or "tcp")


def container_ports(ports: Optional[list[Any]], expose: Optional[list[Any]] = None, publish_all: bool = False,
                    image_exposed: Optional[list[Any]] = None) -> tuple[list[dict[str, Any]], list[str]]:
    """What ``create`` records: (the port dicts to publish, the exposed ports 'N/proto' sorted).

    Exposed: the image's ExposedPorts, ``expose`` and every published container port (as
    Docker). ``publish_all`` (``-P``) adds, for every exposed port not published already, one on
    a free host port chosen by the engine (marked ``all``)."""
    published = [p for spec in ports or [] for p in parse_publish_list(spec)]
    exposed = set()
    for text in image_exposed or []:
        try:
            exposed.update(_exposed_key(t) for t in parse_expose(text))
        except (MyDockerError, ValueError):
            continue  # an image's odd key does not stop a run
    for spec in expose or []:
        exposed.update(_exposed_key(t) for t in parse_expose(spec))
    exposed.update((p["container_port"], p["proto"]) for p in published)
    if publish_all:
        have = set((p["container_port"], p["proto"]) for p in published)
        published += [{"host_ip": "", "host_port": 0, "container_port": port, "proto": proto, "auto": True,
                       "all": True} for port, proto in sorted(exposed) if (port, proto) not in have]
    return published, ["%d/%s" % k for k in sorted(exposed)]


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


def publish(root: Optional[str], network: str, cid: str, ip: str,
            ports: Optional[list[Any]]) -> list[dict[str, Any]]:
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
        head, target = ipt._target_split(spec)
        cmds.append(["-A", chain] + head + ["-m", "comment", "--comment", chains.comment(scope, ident)] + target)
    return ops


def unpublish(root: Optional[str], cid: str) -> list[str]:
    """Delete every published-port rule of ``cid``; returns the deleted rules."""
    paths = Paths(root)
    validate_name(cid, "container id")
    with ipam.lock(paths):
        return ipt.delete_rules(ipt.Chains(paths.root), "ctr", cid)
