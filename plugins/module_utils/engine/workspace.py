# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A container's files beside its record (/etc files, overlay directories, the link to the
image layer, volume host directories, the cgroup) and its own lock.

``make_files`` is safe to repeat: ``start`` calls it through ``complete`` for a container whose
creator died half-way (the record still names its creator, see ``lifecycle.half_made``).
"""

import errno
import fcntl
import os

from . import records
from .cgroups import Cgroup
from .devices import cgroup_rules
from .errors import MyDockerError, NotFound
from .store import cgroup_parent, makedirs, write_atomic


def etc_texts(rec):
    """(hosts, resolv.conf) of a new container: its own name, --add-host, --dns, --dns-search
    (net/names.py; the hosts of its peers come when it starts)."""
    from .net import names
    return names.etc_texts(rec)


ETC_FILES = ("hostname", "hosts", "resolv.conf")


def write_etc_files(paths, rec, only=ETC_FILES):
    """The container's /etc/hostname, /etc/hosts and /etc/resolv.conf (those in ``only``), made from
    its record: atomic (temp file, rename), not synced. They are derived from the record, not state:
    after a power cut one may be empty or missing, and ``missing_etc_files`` at the next start finds
    it and has it made again (no container runs across a power cut)."""
    cdir = paths.container_dir(rec.id)
    hosts, resolv = etc_texts(rec)
    texts = {"hostname": rec.hostname + "\n", "hosts": hosts, "resolv.conf": resolv}
    for name in only:
        write_atomic(os.path.join(cdir, name), texts[name], sync_dir=False, fsync=False)


def missing_etc_files(paths, cid):
    """The names of the container's /etc files that are missing or empty (none of them is empty
    when it is made): what a power cut can leave of a file written without fsync."""
    cdir = paths.container_dir(cid)
    out = []
    for name in ETC_FILES:
        try:
            if os.stat(os.path.join(cdir, name)).st_size:
                continue
        except FileNotFoundError:
            pass
        out.append(name)
    return out


def make_files(paths, rec, layer_path):
    """The container's files beside its record: /etc files, overlay directories, the link to the
    image layer, volume host directories, the cgroup. Safe to repeat (``start`` completes a
    container whose creator died half-way)."""
    cid = rec.id
    write_etc_files(paths, rec)
    ov = paths.overlay_dir(cid)
    for d in ("upper", "work", "merged"):
        makedirs(os.path.join(ov, d))
    lower = os.path.join(ov, "lower")
    if os.path.lexists(lower) and os.readlink(lower) != layer_path:
        os.unlink(lower)
    if not os.path.lexists(lower):
        os.symlink(layer_path, lower)
    for v in rec.volumes:
        if not os.path.exists(v["host"]):
            makedirs(v["host"])
    cg = Cgroup(cgroup_parent(paths.root), cid)
    cg.extra_device_rules = cgroup_rules(rec)  # --device, --privileged (issue 11)
    cg.create(rec.resources)


def complete(paths, rec):
    """A container whose creator died before it was complete: make what is missing (the same
    steps as ``create``), then clear the creator's mark. Returns the record."""
    layer_path = os.path.join(paths.layers, rec.layer) if rec.layer else ""
    if not layer_path or not os.path.isdir(layer_path):
        raise MyDockerError("container %s was left half-made by a create that died, and the layer of its "
                            "image %s is gone: remove it (rm) and create it again" % (rec.name, rec.image))
    try:
        make_files(paths, rec, layer_path)
    except OSError as e:
        raise MyDockerError("cannot complete container %s (left half-made by a create that died): %s"
                            % (rec.name, e.strerror or e))
    return records.update(paths, rec.id, creatorPid="", creatorStart=None)


def start_lock(paths, rec):
    """The container's own lock, held by ``start`` until the container runs (or failed) and by
    ``rm`` while it removes the container, so the two never interleave. Never creates the
    container's directory again: NotFound when it is gone."""
    return _StartLock(os.path.join(paths.container_dir(rec.id), ".start.lock"), rec.name)


class _StartLock:
    """``start_lock``'s context manager (a class: contextlib is ~2 ms of every command's start)."""

    __slots__ = ("path", "name", "fd")

    def __init__(self, path, name):
        self.path, self.name, self.fd = path, name, None

    def __enter__(self):
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            raise NotFound("no such container: %s" % self.name) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def __exit__(self, *exc):
        fd, self.fd = self.fd, None
        os.close(fd)
        return False


def find_again(paths, rec):
    """The record once more (under the start lock): NotFound naming the container when it was
    removed meanwhile."""
    now = records.read(paths, rec.id)
    if now is None:
        raise NotFound("no such container: %s (it was removed)" % rec.name)
    return now


def check_host_addresses(ports):
    """Every host IP a port is published on (parse_publish dicts) is an address of this host:
    checked before anything is created, so such a run fails changing nothing."""
    for p in ports or []:
        if not p.get("host_ip"):
            continue
        import socket  # only for a port on a given host IP (~4 ms of every start otherwise)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind((p["host_ip"], 0))
        except OSError as e:
            if e.errno == errno.EADDRNOTAVAIL:
                raise MyDockerError("host IP %s is not an address of this host" % p["host_ip"])
        finally:
            s.close()
