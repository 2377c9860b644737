# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``network connect`` / ``network disconnect`` of a container, running or not: a running one
gets (or loses) the interface at once, a stopped one at its next start. The record's "networks"
list changes under the state lock; the Go tool's networkName/ip keep naming the first network.
Every member's /etc/hosts is refreshed (``names``).
"""


from __future__ import annotations

from .. import records
from ..errors import MyDockerError
from ..store import Paths, state_lock
from . import attach, names, netmode
from .networks import _load

TYPE_CHECKING = False  # typing is ~5 ms of every command's start: annotations only (postponed)
if TYPE_CHECKING:
    from typing import Any


def _first_keys(atts):
    """The record's keys for ``atts``, in interface order: the first (eth0, the default route) is
    the one the Go tool's networkName/ip name, also after a reconnect."""
    atts = sorted(atts, key=lambda a: a.get("index", 0))
    first = atts[0] if atts else {}
    return {"networks": atts, "networkName": first.get("name", ""), "ip": first.get("ip", "")}


def connect(root: str | None, network: str, ref: str, ip: str | None = None,
            aliases: Any = None) -> records.Record:
    """Connect container ``ref`` to ``network`` (with a fixed ``ip`` and ``aliases``)."""
    paths = Paths(root)
    want = netmode.normalize(networks=[{"name": network, "ip": ip or "", "aliases": aliases or []}])[1][0]
    _load(paths, network)  # an unknown network: one line
    with state_lock(paths):
        rec = records.find(paths, ref)
        if netmode.mode_of(rec):
            raise MyDockerError("container %s uses --network %s: it cannot be connected to a network"
                                % (rec.name, netmode.mode_of(rec)))
        atts = attach._indexed(rec)
        if any(a["name"] == network for a in atts):
            raise MyDockerError("container %s is already connected to network %s" % (rec.name, network))
        names.check_names(paths, rec.id, rec.name, [want])
        used = set(a["index"] for a in atts)
        want["index"] = min(i for i in range(len(atts) + 1) if i not in used)
        if names.running(rec):
            net = attach.connect(paths.root, network, rec.id, rec.pid, ip=want["ip"] or None,
                                 index=want["index"])
            want.update(ip=net["ip"], veth=net["veth"], ifname="eth%d" % want["index"])
        try:
            rec = records.update(paths, rec.id, **_first_keys(atts + [want]))
            names.refresh_for(paths, rec)
        except BaseException:
            if names.running(rec):
                attach.disconnect(paths.root, network, rec.id, want["ip"], index=want["index"])
            raise
    return rec


def disconnect(root: str | None, network: str, ref: str) -> records.Record:
    """Disconnect container ``ref`` from ``network`` (its interface, its address there)."""
    paths = Paths(root)
    with state_lock(paths):
        rec = records.find(paths, ref)
        atts = attach._indexed(rec)
        mine = [a for a in atts if a["name"] == network]
        if not mine:
            raise MyDockerError("container %s is not connected to network %s" % (rec.name, network))
        a = mine[0]
        if rec.ports and a is atts[0] and names.running(rec):
            raise MyDockerError("container %s publishes ports on network %s: stop it before disconnecting it"
                                % (rec.name, network))
        rest = [x for x in atts if x is not a]
        running = names.running(rec)
        attach.disconnect(paths.root, network, rec.id, a.get("ip") or None, release=True, index=a["index"])
        keys = _first_keys(rest)
        rec = records.update(paths, rec.id, **keys)
        names.refresh(paths, [network], also=[rec.id] if running else [])
    return rec
