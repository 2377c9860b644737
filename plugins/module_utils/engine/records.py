# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container records: the one reader and the one writer of ``<root>/containers/<id>/config.json``.

A record is a :class:`Record`, a dict of the JSON object exactly as it is on disk (SPEC 1.3), with
typed properties for the keys the engine reads. The Go tool's keys come first, in its order::

    pid (a string), id, name, command, createdTime, status, volume, networkName, portmapping, ip,
    cgroupManager {"Path", "Resource"}

then ours (cmd, image, layer, env, volumes, ports, resources, restartPolicy, ...). Where a Go key
repeats one of ours (command <- cmd, volume <- volumes, portmapping <- ports,
cgroupManager.Resource <- resources) it is derived in :func:`go_keys` when the record is written;
nobody else writes those keys. A record the Go tool wrote (its keys only) is read as it is.

Every write is atomic (temp file, rename) under the state lock.
"""

from __future__ import annotations

import os

from . import jsonio
from .errors import MyDockerError, NotFound
from .store import Paths, read_json, remove_tree, state_lock, write_json

TYPE_CHECKING = False  # typing is ~5 ms of every command's start: annotations only (postponed)
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator  # noqa: F401
    from typing import Any, Union

# The statuses a record holds (also what ``ps`` shows, after lifecycle.true_status).
CREATED = "created"
RUNNING = "running"
RESTARTING = "restarting"
EXITED = "exited"
STATUSES = (CREATED, RUNNING, RESTARTING, EXITED)
ACTIVE = (RUNNING, RESTARTING)   # a process or its monitor is (meant to be) there

GO_KEYS = ("pid", "id", "name", "command", "createdTime", "status", "volume", "networkName",
           "portmapping", "ip", "cgroupManager")

if TYPE_CHECKING:
    PathsLike = Union[Paths, str, None]


def _paths(root: PathsLike) -> Paths:
    return root if isinstance(root, Paths) else Paths(root)


# ---------------------------------------------------------------------------------------------
# the Go tool's spellings of our keys

def format_port(p: dict) -> str:
    """The Go tool's spelling of a published port: "8080:80", "127.0.0.1:8080:80", "53:53/udp"."""
    s = "%s:%s" % (p["host_port"], p["container_port"])
    if p.get("host_ip"):
        s = "%s:%s" % (p["host_ip"], s)
    if p.get("proto", "tcp") != "tcp":
        s += "/" + p["proto"]
    return s


def format_volume(v: dict) -> str:
    return "%s:%s%s" % (v["host"], v["container"], ":ro" if v.get("ro") else "")


def go_resources(res: dict) -> dict:
    """cgroupManager.Resource of the Go tool from our resources."""
    return {"MemoryLimit": str(res["memory"]) if res.get("memory") else "",
            "CpuCfsQuota": int(res["cpus"] * 100000) if res.get("cpus") else 0,
            "CpuShare": str(res["cpu_shares"]) if res.get("cpu_shares") else "",
            "CpuSet": res.get("cpuset_cpus") or ""}


# shlex.quote's safe characters (``[\w@%+=:,./-]`` in ASCII): shlex imports re (~3 ms of every start)
_SHELL_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-")


def shell_join(argv: Iterable[str]) -> str:
    """``shlex.join(argv)``, without importing shlex."""
    return " ".join(a if a and _SHELL_SAFE.issuperset(a) else "'" + a.replace("'", "'\"'\"'") + "'" for a in argv)


def go_keys(rec: dict) -> dict:
    """The Go tool's keys that repeat ours, derived from ours (only where ours are there)."""
    out: dict = {}
    if "pid" in rec:
        out["pid"] = "" if rec["pid"] is None else str(rec["pid"])
    if "cmd" in rec:
        out["command"] = shell_join(rec["cmd"] or [])
    if "volumes" in rec:
        out["volume"] = ",".join(format_volume(v) for v in rec["volumes"] or [])
    if "ports" in rec:
        out["portmapping"] = [format_port(p) for p in rec["ports"]] if rec["ports"] else None
    if "resources" in rec:
        cgm = rec.get("cgroupManager")
        out["cgroupManager"] = dict(cgm if isinstance(cgm, dict) else {"Path": ""},
                                    Resource=go_resources(rec["resources"] or {}))
    return out


# ---------------------------------------------------------------------------------------------
# the record type

class Record(dict):
    """One container record: the JSON object of its config.json, keys as on disk."""

    @classmethod
    def of(cls, data: dict) -> Record:
        return data if isinstance(data, Record) else cls(data)

    @property
    def id(self) -> str:
        return self.get("id") or ""

    @property
    def name(self) -> str:
        return self.get("name") or self.id

    @property
    def status(self) -> str:
        """The status written in the record (see lifecycle.true_status for the host's view)."""
        return self.get("status") or ""

    @property
    def pid(self) -> int | None:
        """The container's host PID, None when there is none (the Go tool writes " ")."""
        try:
            return int(str(self.get("pid") or "").strip())
        except ValueError:
            return None

    @property
    def pid_start(self) -> str | None:
        return self.get("pidStart")

    @property
    def monitor_pid(self) -> int | None:
        try:
            return int(str(self.get("monitorPid") or "").strip())
        except ValueError:
            return None

    @property
    def monitor_start(self) -> str | None:
        return self.get("monitorStart")

    @property
    def network(self) -> str:
        return self.get("networkName") or ""

    @property
    def ip(self) -> str:
        return self.get("ip") or ""

    @property
    def image(self) -> str | None:
        return self.get("image")

    @property
    def layer(self) -> str | None:
        return self.get("layer")

    @property
    def cmd(self) -> list:
        return list(self.get("cmd") or [])

    @property
    def env(self) -> dict:
        return dict(self.get("env") or {})

    @property
    def volumes(self) -> list:
        return list(self.get("volumes") or [])

    @property
    def ports(self) -> list:
        return list(self.get("ports") or [])

    @property
    def port_specs(self) -> list:
        """The published ports as the Go tool spells them (its ``portmapping``)."""
        return list(self.get("portmapping") or [])

    @property
    def resources(self) -> dict:
        return dict(self.get("resources") or {})

    @property
    def hostname(self) -> str:
        return self.get("hostname") or self.id

    @property
    def workdir(self) -> str:
        return self.get("workdir") or "/"

    @property
    def restart_policy(self) -> dict:
        return dict(self.get("restartPolicy") or {"name": "no"})

    @property
    def restart_count(self) -> int:
        return int(self.get("restartCount") or 0)

    @property
    def exit_code(self) -> int | None:
        return self.get("exitCode")

    @property
    def stop_requested(self) -> bool:
        return bool(self.get("stopRequested"))

    @property
    def auto_remove(self) -> bool:
        return bool(self.get("autoRemove"))

    @property
    def cgroup_path(self) -> str:
        cgm = self.get("cgroupManager")
        return (cgm.get("Path") if isinstance(cgm, dict) else "") or ""

    @property
    def own_cgroup(self) -> tuple | None:
        """(parent, id) of the container's own cgroup, None when the record names no cgroup of
        its own (the Go tool's shared ``mydocker-cgroup``: not ours to create or remove)."""
        parent, _sep, leaf = self.cgroup_path.rpartition("/")
        if not parent or not leaf or leaf != self.id:
            return None
        return parent, leaf

    def on_disk(self) -> dict:
        """The JSON object to write: Go keys first (derived from ours), then ours."""
        data = dict(self, **go_keys(self))
        out = dict((k, data[k]) for k in GO_KEYS if k in data)
        out.update((k, v) for k, v in data.items() if k not in out)
        return out


# ---------------------------------------------------------------------------------------------
# the reader

def _valid_id(cid: Any) -> bool:
    return isinstance(cid, str) and bool(cid) and "/" not in cid and not cid.startswith(".") and "\0" not in cid


def read(root: PathsLike, cid: str) -> Record | None:
    """The record of container ``cid`` (an ID), None when there is none.

    A file that is not a JSON object is corrupt (MyDockerError). A record without an ``id`` (a
    hand-written or half-written one) gets the name of its directory."""
    paths = _paths(root)
    if not _valid_id(cid):
        return None
    return _record(paths, cid, read_json(paths.container_config(cid)))


def _record(paths, cid, data):
    """``data`` read from ``cid``'s record file as a Record (None for no file)."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise MyDockerError("corrupt state file %s" % paths.container_config(cid))
    rec = Record(data)
    if not rec.get("id"):
        rec["id"] = cid
    return rec


def load(root: PathsLike, cid: str) -> Record:
    """The record of container ``cid`` (an ID); NotFound when there is none."""
    rec = read(root, cid)
    if rec is None:
        raise NotFound("no such container: %s" % cid)
    return rec


def list_ids(root: PathsLike) -> list:
    """IDs (directory names) under containers/, sorted; a directory may lack its record."""
    try:
        names = os.listdir(_paths(root).containers)
    except OSError:
        return []
    return sorted(n for n in names if not n.startswith("."))


def iter_records(root: PathsLike, skip_corrupt: bool = False) -> Iterator[Record]:
    """Every record of the root, by ID. A corrupt one raises unless ``skip_corrupt``."""
    paths = _paths(root)
    for cid in list_ids(paths):
        try:
            rec = read(paths, cid)
        except (MyDockerError, OSError):
            if skip_corrupt:
                continue
            raise
        if rec is not None:
            yield rec


def all_records(root: PathsLike, skip_corrupt: bool = False) -> list:
    return list(iter_records(root, skip_corrupt))


def find(root: PathsLike, ref: Any) -> Record:
    """The record of the container called ``ref`` (ID, else name); NotFound."""
    paths = _paths(root)
    if not _valid_id(ref):
        raise NotFound("no such container: %r" % (ref,))
    rec = read(paths, ref)
    if rec is not None:
        return rec
    for rec in with_name(paths, ref):
        return rec
    raise NotFound("no such container: %s" % ref)


# the characters of a name no JSON writer escapes (Python's json, Go's encoding/json): such a
# name is in a record's bytes as it is, between quotes
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def with_name(root: PathsLike, name: str) -> Iterator[Record]:
    """The records whose ``name`` is ``name``, by ID. For a name of letters, digits and ``_.-``
    (every name mydocker accepts), only the record files whose bytes hold ``"name"`` are parsed:
    with 500 records, 4.1 ms against 7-9 ms for :func:`iter_records` (``run``'s name check, ``rm
    NAME``, ``start NAME``); every file is still read. A corrupt record raises, as in
    :func:`iter_records`, when its bytes hold the name."""
    paths = _paths(root)
    if not isinstance(name, str) or not name or not _PLAIN.issuperset(name):
        for rec in iter_records(paths):
            if rec.get("name") == name:
                yield rec
        return
    needle = b'"' + name.encode("ascii") + b'"'
    for cid in list_ids(paths):
        if not _valid_id(cid):
            continue
        path = paths.container_config(cid)
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            continue
        if needle not in raw:
            continue
        try:
            data = jsonio.loads(raw.decode("utf-8"))
        except ValueError:
            raise MyDockerError("corrupt state file %s" % path) from None
        rec = _record(paths, cid, data)
        if rec.get("name") == name:
            yield rec


def users(root: PathsLike, key: str, value: Any, records: Iterable[Record] | None = None) -> list:
    """Names of the containers whose record has ``key`` == ``value``, by ID."""
    recs = all_records(root) if records is None else records
    return [r.name for r in recs if r.get(key) == value]


# ---------------------------------------------------------------------------------------------
# the writer

def save(root: PathsLike, rec: dict, lasting: bool = True) -> Record:
    """Write ``rec`` atomically under the state lock (Go keys derived); returns it as written.
    ``lasting=False``: a change no reboot needs (the monitor's PID, "running"): the new file's
    bytes are synced as ever, the directory is not, so a power cut may bring back the record as
    it was before the change, never a broken one."""
    paths = _paths(root)
    rec = Record(Record.of(rec).on_disk())
    if not _valid_id(rec.get("id")):
        raise MyDockerError("invalid container id %r" % (rec.get("id"),))
    with state_lock(paths):
        write_json(paths.container_config(rec.id), rec, sync_dir=lasting)
    return rec


def update(root: PathsLike, cid: str, _lasting: bool = True, **changes: Any) -> Record:
    """Read-modify-write of a record under the state lock; returns the new record (NotFound).
    ``_lasting``: :func:`save`'s ``lasting``."""
    paths = _paths(root)
    with state_lock(paths):
        rec = load(paths, cid)
        rec.update(changes)
        return save(paths, rec, _lasting)


def delete(root: PathsLike, cid: str) -> None:
    """Remove the container's directory (record, log, etc files) under the state lock."""
    paths = _paths(root)
    if not _valid_id(cid):
        raise MyDockerError("invalid container id %r" % (cid,))
    with state_lock(paths):
        remove_tree(paths.container_dir(cid))
