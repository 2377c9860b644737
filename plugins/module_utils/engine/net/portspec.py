# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Port specs as ``create`` reads them: ``-p [HOSTIP:][HOSTPORT[-END]:]CTRPORT[-END][/proto]``,
``--expose`` and ``-P``. Pure (no state, no iptables, no network modules), so a run without a
network does not load what publishing needs (``ports.py`` re-exports these names)."""

from __future__ import annotations

from ..errors import MyDockerError

TYPE_CHECKING = False  # typing is ~5 ms of every command's start: annotations only (postponed)
if TYPE_CHECKING:
    from typing import Any

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
            import ipaddress  # a host address given: rare
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
        import ipaddress  # a host address given: rare
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


def parse_publish_list(spec: str | int | dict[str, Any]) -> list[dict[str, Any]]:
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


def parse_publish(spec: str | dict[str, Any]) -> dict[str, Any]:
    """``[HOSTIP:][HOSTPORT:]CTRPORT[/tcp|/udp]`` (or such a dict) -> one port dict
    {"host_ip": "" or "a.b.c.d", "host_port": int (0: chosen by the engine), "container_port": int,
    "proto": "tcp"|"udp"} (``parse_publish_list`` reads ranges)."""
    ports = parse_publish_list(spec)
    if len(ports) != 1:
        raise _bad(spec, "a range of container ports gives several ports (parse_publish_list)")
    return ports[0]


def parse_expose(spec: str | int) -> list[str]:
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


def container_ports(ports: list[Any] | None, expose: list[Any] | None = None, publish_all: bool = False,
                    image_exposed: list[Any] | None = None) -> tuple[list[dict[str, Any]], list[str]]:
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
