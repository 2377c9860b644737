# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names between containers: every running member of a network finds the others by name and
alias through its own /etc/hosts, kept current here (docs/networking.md says why a hosts file and
not a DNS responder).

A container's hosts file (``<root>/containers/<id>/hosts``) is bind-mounted onto /etc/hosts, so
it is never renamed over (the mount would keep the old inode): ``write_in_place`` rewrites the
same inode with one ``pwrite`` of the whole text, padded with a comment to the old length so that
the file is a valid hosts file at every moment, then truncates it. Every refresh runs under the
state lock and recomputes whole files from the records, so a refresh that a crash interrupted is
made good by the next one (any start, stop or rm of a member, or ``refresh_all``).

Pure parts (``attachments``, ``render_hosts``, ``render_resolv``, ``parse_add_host``) take
records as dicts and are unit-tested without root.
"""

from __future__ import annotations

import os

from .. import records
from ..errors import MyDockerError
from ..store import state_lock
from ..validate import validate_hostname

TYPE_CHECKING = False  # typing is ~5 ms of every command's start: annotations only (postponed)
if TYPE_CHECKING:
    from typing import Any

BASE_HOSTS = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]


# ------------------------------------------------------------------ pure

def attachments(rec: dict) -> list[dict[str, Any]]:
    """The container's networks as [{"name", "ip", "aliases", ...}], first the one the Go tool's
    ``networkName``/``ip`` name. A record written before the "networks" key derives its one."""
    nets = rec.get("networks")
    if isinstance(nets, list):
        out = [dict(n, aliases=list(n.get("aliases") or [])) for n in nets if isinstance(n, dict) and n.get("name")]
        if out and out[0]["name"] == rec.get("networkName") and rec.get("ip"):
            out[0]["ip"] = rec["ip"]  # the Go tool's key names the first network's address
        return out
    if rec.get("networkName"):
        return [{"name": rec["networkName"], "ip": rec.get("ip") or "", "aliases": []}]
    return []


def names_of(rec: dict, network: str) -> list[str]:
    """The names a container answers to on ``network``: its name, then its aliases there."""
    out = [rec.get("name") or rec.get("id") or ""]
    for a in attachments(rec):
        if a["name"] == network:
            out.extend(x for x in a["aliases"] if x not in out)
    return [n for n in out if n]


def parse_add_host(item: Any) -> tuple[str, str]:
    """'NAME:IP' (or a (name, ip) pair) -> (name, ip); one clear line when it is not that."""
    if isinstance(item, (list, tuple)) and len(item) == 2:
        name, ip = str(item[0]), str(item[1])
    else:
        name, sep, ip = str(item).partition(":")
        if not sep:
            raise MyDockerError("invalid --add-host %r: expected NAME:IP" % item)
    try:
        validate_hostname(name)
    except MyDockerError:
        raise MyDockerError("invalid --add-host %r: %r is not a host name" % (item, name))
    import ipaddress  # --add-host given (~2 ms of every other run)
    try:
        ip = str(ipaddress.ip_address(ip.strip("[]")))
    except ValueError:
        raise MyDockerError("invalid --add-host %r: %r is not an IP address" % (item, ip))
    return name, ip


def parse_dns(servers: Any) -> list[str]:
    out = []
    for s in servers or []:
        import ipaddress  # --dns given (~2 ms of every other run)
        try:
            out.append(str(ipaddress.ip_address(str(s))))
        except ValueError:
            raise MyDockerError("invalid --dns %r: not an IP address" % (s,))
    return out


def parse_dns_search(domains: Any) -> list[str]:
    out = []
    for d in domains or []:
        d = str(d)
        if d != "." and not all(p and len(p) < 64 and p.replace("-", "").isalnum() for p in d.split(".")):
            raise MyDockerError("invalid --dns-search %r: not a domain name" % d)
        out.append(d)
    return out


def render_hosts(rec: dict, peers: list[dict]) -> str:
    """The /etc/hosts of ``rec``: localhost, its own addresses (or 127.0.1.1) with its host name,
    its --add-host entries, then, per network it is on, every running peer's address with its
    name and aliases there. ``peers``: the running records of the other containers."""
    hostname = rec.get("hostname") or rec.get("id") or ""
    own = [a for a in attachments(rec) if a.get("ip")]
    lines = list(BASE_HOSTS)
    if own:
        seen = set()
        for a in own:
            if a["ip"] not in seen:
                seen.add(a["ip"])
                lines.append("%s\t%s" % (a["ip"], hostname))
    else:
        lines.append("127.0.1.1\t%s" % hostname)
    for name, ip in rec.get("extraHosts") or []:
        lines.append("%s\t%s" % (ip, name))
    for a in attachments(rec):
        for p in sorted(peers, key=lambda r: r.get("name") or ""):
            if p.get("id") == rec.get("id"):
                continue
            for pa in attachments(p):
                if pa["name"] == a["name"] and pa.get("ip"):
                    lines.append("%s\t%s" % (pa["ip"], " ".join(names_of(p, a["name"]))))
    return "\n".join(lines) + "\n"


def render_resolv(host_text: str, dns: list | None = None, search: list | None = None) -> str:
    """The container's resolv.conf: the host's (``host_text``, loopback servers dropped, as
    Docker), with ``dns`` replacing its nameservers and ``search`` its search line."""
    lines = [ln for ln in host_text.splitlines()
             if not (ln.startswith("nameserver") and (" 127." in ln or " ::1" in ln))]
    if dns:
        lines = [ln for ln in lines if not ln.startswith("nameserver")] + ["nameserver %s" % s for s in dns]
    if search:
        lines = [ln for ln in lines if not ln.startswith(("search", "domain"))] + ["search " + " ".join(search)]
    return "\n".join(lines) + "\n"


def clash(name: str, aliases: list, network: str, others: list[dict]) -> str | None:
    """The one line refusing an alias on ``network`` that is the name of another member of it
    (None when there is none). Several containers may share an alias, as in Docker (each gets
    its line; a lookup takes the first): so a container recreated under a temporary name while
    the old one still exists keeps its aliases."""
    wanted = [n for n in list(aliases or []) if n and n != name]
    for o in others:
        if not any(a["name"] == network for a in attachments(o)):
            continue
        theirs = [o.get("name") or o.get("id") or ""]
        for w in wanted:
            if w in theirs:
                return ("the name %s is already used on network %s by container %s"
                        % (w, network, o.get("name") or o.get("id")))
    return None


# ------------------------------------------------------------------ files

def write_in_place(path: str, text: str) -> None:
    """Rewrite ``path`` keeping its inode (it is bind-mounted into a running container): one
    write of the whole text, padded with a comment to the old length (a valid file at every
    moment), then truncate and fsync. Creates the file when it is missing."""
    data = text.encode("utf-8")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        old = os.fstat(fd).st_size
        body = data
        if len(body) < old:
            pad = old - len(body)
            body = body + (b"#" + b" " * (pad - 2) + b"\n" if pad >= 2 else b"\n")
        os.pwrite(fd, body, 0)
        os.ftruncate(fd, len(data))
        os.fsync(fd)
    finally:
        os.close(fd)


def hosts_path(paths, cid: str) -> str:
    return os.path.join(paths.container_dir(cid), "hosts")


def _start_time(pid):
    try:
        with open("/proc/%d/stat" % int(pid)) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return None
    return None if fields[0] == "Z" else fields[19]


def running(rec: dict) -> bool:
    """The record says running and its process is still the one it names."""
    r = records.Record.of(rec)
    if r.status != records.RUNNING or not r.pid:
        return False
    st = _start_time(r.pid)
    return st is not None and (r.pid_start is None or st == r.pid_start)


def _own_hosts_file(rec: dict) -> bool:
    """Containers in another's network namespace or the host's share that file: not ours to write."""
    return not str(rec.get("networkMode") or "").startswith(("container:", "host"))


def refresh(paths, networks: Any = None, also: Any = ()) -> None:
    """Rewrite the hosts file of every running member of ``networks`` (None: of every network)
    and of the containers ``also`` (ids), from the records. Under the state lock."""
    with state_lock(paths):
        recs = list(records.iter_records(paths))
        live = [r for r in recs if running(r)]
        live_ids = set(r.id for r in live)
        also = set(also or ())
        want = set(networks) if networks is not None else None
        for r in recs:
            nets = set(a["name"] for a in attachments(r))
            member = r.id in live_ids and (want is None or nets & want)
            if not (member or r.id in also) or not _own_hosts_file(r):
                continue
            path = hosts_path(paths, r.id)
            if not os.path.isdir(os.path.dirname(path)):
                continue
            try:
                write_in_place(path, render_hosts(r, live))
            except OSError:
                if r.id in also:
                    raise
                # another member's file: its next refresh makes it good


def refresh_for(paths, rec: dict) -> None:
    """After ``rec`` started, stopped or went away: its own file and its networks' members."""
    nets = [a["name"] for a in attachments(rec)]
    refresh(paths, nets, also=[rec.get("id")])


def check_names(paths, cid: str, name: str, wanted: list[dict], records_now: list | None = None) -> None:
    """Refuse (one line) a container ``name`` or alias that another member of one of the
    ``wanted`` attachments already answers to. ``records_now``: every record, when the caller
    has read them already (under the same lock)."""
    if not wanted:
        return
    others = [r for r in (records.iter_records(paths) if records_now is None else records_now) if r.id != cid]
    for a in wanted:
        msg = clash(name, a.get("aliases") or [], a["name"], others)
        if msg:
            raise MyDockerError(msg)


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def etc_texts(rec: dict) -> tuple[str, str]:
    """(hosts, resolv.conf) of a container at create. ``--network host``: the host's files with
    its --add-host entries (its DNS servers are reachable there, loopback ones too)."""
    dns, search = rec.get("dns") or [], rec.get("dnsSearch") or []
    if str(rec.get("networkMode") or "") == "host":
        hosts = _read("/etc/hosts")
        if hosts and not hosts.endswith("\n"):
            hosts += "\n"
        hosts += "".join("%s\t%s\n" % (ip, name) for name, ip in rec.get("extraHosts") or [])
        host_resolv = _read("/etc/resolv.conf")
        resolv = render_resolv(host_resolv, dns, search) if (dns or search) else host_resolv
        return hosts, resolv
    return render_hosts(rec, []), render_resolv(_read("/etc/resolv.conf"), dns, search)
