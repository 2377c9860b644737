# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A container's network mode: bridge networks (one or several attachments), ``none``
(loopback only), ``host`` (the host's network namespace) or ``container:NAME`` (the network
namespace of another running container).

``normalize`` turns create's arguments into (mode, attachments) and refuses bad combinations
with one line; ``spec_extra`` is what a start adds to the process spec (which namespace to join,
which /etc files to bind). Pure except ``spec_extra`` (reads the other container's record).
"""


from __future__ import annotations

from .. import records
from ..errors import MyDockerError
from ..validate import validate_hostname, validate_name

TYPE_CHECKING = False  # typing is ~5 ms of every command's start: annotations only (postponed)
if TYPE_CHECKING:
    from typing import Any

NONE = "none"
HOST = "host"
BRIDGE = "bridge"
CONTAINER = "container:"


def is_mode(name: Any) -> bool:
    return isinstance(name, str) and (name in (NONE, HOST) or name.startswith(CONTAINER))


def _attachment(item: Any) -> dict[str, Any]:
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict) or not item.get("name"):
        raise MyDockerError("a network must be a name or {name, ipv4_address, aliases}: %r" % (item,))
    name = str(item["name"])
    validate_name(name, "network name")
    ip = item.get("ipv4_address") or item.get("ip") or ""
    aliases = item.get("aliases") or []
    if isinstance(aliases, str):
        aliases = [aliases]
    for a in aliases:
        try:
            validate_hostname(str(a))
        except MyDockerError:
            raise MyDockerError("invalid network alias %r: not a host name" % (a,))
    seen = []
    for a in aliases:
        if str(a) not in seen:
            seen.append(str(a))
    return {"name": name, "ip": str(ip), "aliases": seen}


def normalize(network: str | None = None, ip: str | None = None, networks: Any = None,
              aliases: Any = None, network_mode: str | None = None,
              ports: Any = None) -> tuple[str, list[dict[str, Any]]]:
    """(mode, attachments): mode "" (bridge networks, maybe none at all), "none", "host" or
    "container:NAME"; attachments [{"name", "ip", "aliases"}], the first carrying ``ip`` and
    ``aliases``."""
    items = ([network] if network else []) + list(networks or [])
    mode = network_mode or ""
    if mode == BRIDGE:
        mode = ""
    if mode and not is_mode(mode):  # a bridge network's name given as the mode (as Docker)
        items.insert(0, mode)
        mode = ""
    atts = []
    for it in items:
        if is_mode(it):
            if mode and mode != it:
                raise MyDockerError("network mode %s cannot be combined with %s" % (mode, it))
            mode = it
            continue
        a = _attachment(it)
        if any(x["name"] == a["name"] for x in atts):
            raise MyDockerError("network %s is given twice" % a["name"])
        atts.append(a)
    if mode and atts:
        raise MyDockerError("network mode %s cannot be combined with network %s" % (mode, atts[0]["name"]))
    if mode.startswith(CONTAINER):
        validate_name(mode[len(CONTAINER):] or "-", "container name")
    if mode == HOST and ports:
        raise MyDockerError("publishing ports is not possible with --network host (the container uses the "
                            "host's ports)")
    if mode.startswith(CONTAINER) and ports:
        raise MyDockerError("publishing ports is not possible with --network %s (publish them on that "
                            "container)" % mode)
    if mode and (ip or aliases):
        raise MyDockerError("%s needs a bridge network (not --network %s)"
                            % ("a fixed IP address" if ip else "a network alias", mode))
    if atts:
        if ip:
            atts[0]["ip"] = str(ip)
        for a in _attachment({"name": atts[0]["name"], "aliases": aliases})["aliases"]:
            if a not in atts[0]["aliases"]:
                atts[0]["aliases"].append(a)
    elif aliases:
        raise MyDockerError("a network alias needs a network")
    return mode, atts


def mode_of(rec: dict) -> str:
    return str(rec.get("networkMode") or "")


def target_of(paths, rec: dict) -> records.Record:
    """The running container whose network namespace a ``container:NAME`` container joins."""
    from .names import running
    ref = mode_of(rec)[len(CONTAINER):]
    other = records.find(paths, ref)
    if other.id == rec.get("id"):
        raise MyDockerError("container %s cannot join its own network namespace" % ref)
    if not running(other):
        raise MyDockerError("cannot join the network namespace of container %s: it is not running" % ref)
    return other


def with_mode(paths, rec: dict, spec: dict) -> dict[str, Any]:
    """The process spec of a start with the network mode in it: "netns" ("host" or
    "/proc/PID/ns/net") and, for ``container:NAME``, that container's hosts and resolv.conf bound
    as this one's."""
    import os
    mode = mode_of(rec)
    spec = dict(spec)
    if mode == HOST:
        spec["netns"] = HOST
    elif mode.startswith(CONTAINER):
        other = target_of(paths, rec)
        odir = paths.container_dir(other.id)
        spec["netns"] = "/proc/%d/ns/net" % other.pid
        spec["etcFiles"] = dict(spec.get("etcFiles") or {},
                                **{"/etc/hosts": os.path.join(odir, "hosts"),
                                   "/etc/resolv.conf": os.path.join(odir, "resolv.conf")})
    return spec


def parse_create(paths, network, ip, networks, aliases, network_mode, ports, add_hosts, dns, dns_search):
    """create's network arguments checked: (mode, attachments, extra hosts [[name, ip]], dns
    servers, search domains). A ``container:NAME`` must name an existing container."""
    from . import names
    mode, atts = normalize(network, ip, networks, aliases, network_mode, ports)
    items = add_hosts.items() if isinstance(add_hosts, dict) else add_hosts or []
    extra = [list(names.parse_add_host(h)) for h in items]
    if mode.startswith(CONTAINER):
        records.find(paths, mode[len(CONTAINER):])  # an unknown container: one line
    return mode, atts, extra, names.parse_dns(dns), names.parse_dns_search(dns_search)
