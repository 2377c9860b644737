# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the cgroup v1 and v2 managers share: the file-system helpers, detection, and the
``CgroupManager`` base class with every step that does not depend on the layout.

Every file-system operation, signal and bpf(2) call of the package goes through ``_mkdir``/
``_rmdir``/``_write``/``_read``/``_kill``/``_attach_devices`` below, called as ``base._write(...)``
from v1.py and v2.py, so that tests can replace them in this one module and run the same code
against a fake tree.
"""

from __future__ import annotations

import errno
import os
import time

from .. import signals
from ..errors import MyDockerError
from ..resources import ALL_RESOURCE_KEYS, MEMORY_KEYS, RESOURCE_KEYS, normalize_resources
from ..resources import cpu_list_to_set as _cpu_list_to_set
from ..validate import validate_name
from . import devicefilter

DEFAULT_ROOT = "/sys/fs/cgroup"
CFS_PERIOD = 100000

# Docker's default device allowlist (runc's AllowedDevices without tun): mknod of any node, and
# read/write only of these. (type, major, minor, access); None is the wildcard "*".
DEFAULT_DEVICE_RULES = (
    ("c", None, None, "m"), ("b", None, None, "m"),
    ("c", 1, 3, "rwm"),     # /dev/null
    ("c", 1, 5, "rwm"),     # /dev/zero
    ("c", 1, 7, "rwm"),     # /dev/full
    ("c", 1, 8, "rwm"),     # /dev/random
    ("c", 1, 9, "rwm"),     # /dev/urandom
    ("c", 5, 0, "rwm"),     # /dev/tty
    ("c", 5, 1, "rwm"),     # /dev/console
    ("c", 5, 2, "rwm"),     # /dev/ptmx
    ("c", 136, None, "rwm"),  # /dev/pts/*
)

# Which controller owns each limit.
LIMIT_CONTROLLER = {"memory": "memory", "cpus": "cpu", "cpu_shares": "cpu",
                    "cpuset_cpus": "cpuset", "pids_limit": "pids",
                    "memory_swap": "memory", "memory_reservation": "memory"}


def start_grace_period(root: str = DEFAULT_ROOT) -> None:
    """Write this process's PID into the ``cgroup.procs`` of the cgroup it is in (a move to where
    it already is). The kernel takes its lock for cgroup moves (``cgroup_threadgroup_rwsem``) and
    its first writer in a while waits for an RCU grace period (5-30 ms here); a writer that comes
    during that wait, or within about one grace period after it, waits only for what is left of
    it. So a process that does this just before it exits starts that wait early for the
    container's own move that follows (``monitor._daemonize``). It moves nothing; any failure is
    ignored (the move that follows then waits as it would have)."""
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return
    for line in lines:
        hid, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if hid == "0" and not controllers:
            base = root  # v2 (or the unified hierarchy of a hybrid host)
        else:
            names = [c[len("name="):] if c.startswith("name=") else c for c in controllers.split(",") if c]
            if not names:
                continue
            base = os.path.join(root, names[0])
        procs = os.path.join(base, path.lstrip("/"), "cgroup.procs")
        try:
            fd = os.open(procs, os.O_WRONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            os.write(fd, str(os.getpid()).encode("ascii"))
            return
        except OSError:
            continue
        finally:
            os.close(fd)


class ProcsWriter:
    """Open ``cgroup.procs`` files (``CgroupManager.open_procs``); closed with the process or
    ``close()``."""

    def __init__(self, paths):
        self.fds = []
        for path in paths:
            try:
                self.fds.append((os.open(path, os.O_WRONLY | os.O_CLOEXEC), os.path.dirname(path)))
            except OSError as e:
                self.close()
                raise MyDockerError("cgroup: cannot open %s: %s" % (path, e.strerror or e))

    def add(self, pid: int) -> None:
        for fd, leaf in self.fds:
            try:
                os.write(fd, str(int(pid)).encode("ascii"))
            except OSError as e:
                raise MyDockerError("cgroup: cannot add process %s to %s: %s" % (pid, leaf, e.strerror or e))

    def close(self) -> None:
        for fd, dummy in self.fds:
            os.close(fd)
        self.fds = []


# ---------------------------------------------------------------------------------------------
# ---------------------------------------------------------------------------------------------
# The only functions that touch the file system or send signals (tests replace some of them).

def _mkdir(path):
    os.mkdir(path, 0o755)


def _rmdir(path):
    os.rmdir(path)


def _write(path, value):
    """Write one value in a single write(2), as cgroup files want. The file must exist."""
    data = value if isinstance(value, bytes) else str(value).encode("ascii")
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    try:
        os.write(fd, data)
    except OSError as e:  # the kernel's refusal: say which file
        raise OSError(e.errno, e.strerror, path)
    finally:
        os.close(fd)


def _read(path):
    with open(path) as f:
        return f.read()


def _kill(pid, sig):
    os.kill(pid, sig)


def _attach_devices(path, rules):
    """cgroup v2: load and attach the eBPF device filter that allows ``rules`` (bpf(2))."""
    devicefilter.attach(path, rules)


# ---------------------------------------------------------------------------------------------

def detect_version(root: str = DEFAULT_ROOT) -> str:
    """"v2" when ``root`` is a unified (cgroup2) hierarchy, else "v1"."""
    if os.path.exists(os.path.join(root, "cgroup.controllers")):
        return "v2"
    return "v1"


def split_parent(parent: str) -> list[str]:
    """"a/b" -> ["a", "b"], each part a valid name; MyDockerError otherwise."""
    if not isinstance(parent, str) or not parent.strip("/"):
        raise MyDockerError("invalid cgroup parent %r" % (parent,))
    parts = parent.strip("/").split("/")
    for part in parts:
        validate_name(part, "cgroup parent")
    return parts


def os_error(action, path, err):
    """One line: which cgroup, which file, what the kernel said."""
    where = " (%s)" % err.filename if getattr(err, "filename", None) else ""
    return MyDockerError("cgroup: cannot %s %s%s: %s" % (action, path, where, err.strerror or err))


def child_dirs(mounts: list[str], parts: list[str]) -> list[str]:
    """Sorted names of the directories under ``<mount>/<parts>`` in any of ``mounts``."""
    ids = set()
    for base in mounts:
        directory = os.path.join(base, *parts)
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        ids.update(n for n in names if os.path.isdir(os.path.join(directory, n)))
    return sorted(ids)


def cfs_quota(cpus):
    """CPUs (a float) -> CFS quota in microseconds per CFS_PERIOD; None when unlimited."""
    return None if cpus is None else int(round(cpus * CFS_PERIOD))


def read_oom_kill(text):
    """The ``oom_kill N`` line of memory.oom_control (v1) or memory.events (v2) -> N."""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == "oom_kill":
            return int(fields[1])
    return None


class CgroupManager:
    """The cgroup of one container, ``<parent>/<cid>``; v1.py and v2.py fill in the layout.

    A subclass provides ``mounts`` (the hierarchy dirs the leaf lives in), ``available_controllers``,
    ``_ctl`` (path of a control file of the leaf), ``_make_dirs``, ``_top_cpus_file``,
    ``_apply_controllers``, ``_read_controllers`` and ``OOM_FILE``; it may refine ``_same``.
    """

    version = ""
    OOM_FILE = ""        # memory control file with the "oom_kill N" line

    extra_device_rules = ()  # beyond DEFAULT_DEVICE_RULES: --device, --privileged (devices.py)

    def __init__(self, parent: str, cid: str, root: str = DEFAULT_ROOT) -> None:
        self._parent_parts = split_parent(parent)
        validate_name(cid, "container id")
        self.parent = "/".join(self._parent_parts)
        self.cid = cid
        self.root = root
        self.path = self.parent + "/" + cid
        self._mounts = self.mounts(root)

    def __repr__(self):
        return "Cgroup(%r, %s)" % (self.path, self.version)

    # -- what a layout provides ---------------------------------------------------------------

    @classmethod
    def mounts(cls, root: str) -> list[str]:
        """The hierarchy directories under ``root`` that a container's cgroup lives in."""
        raise NotImplementedError

    def available_controllers(self) -> set[str]:
        raise NotImplementedError

    def _ctl(self, controller, name):
        raise NotImplementedError

    def _make_dirs(self, created):
        raise NotImplementedError

    def _top_cpus_file(self):
        raise NotImplementedError

    def _apply_controllers(self, res, available):
        raise NotImplementedError

    def _read_controllers(self, out):
        raise NotImplementedError

    # -- paths --------------------------------------------------------------------------------

    def _leaf(self, mount):
        return os.path.join(mount, *(self._parent_parts + [self.cid]))

    def leaf_dirs(self) -> list[str]:
        """The container's directory in every hierarchy."""
        return [self._leaf(m) for m in self._mounts]

    @staticmethod
    def _has(path):
        return path is not None and os.path.exists(path)

    def _read_ctl(self, controller, name):
        path = self._ctl(controller, name)
        if path is None:
            return None
        try:
            return _read(path).strip()
        except OSError:
            return None

    # -- creation -----------------------------------------------------------------------------

    def exists(self) -> bool:
        """Whether the cgroup is there in at least one hierarchy."""
        return any(os.path.isdir(d) for d in self.leaf_dirs())

    def complete(self) -> bool:
        """Whether the cgroup is there in every hierarchy (a cgroup made before a hierarchy was
        added to the managed ones, e.g. devices, is not; ``create`` fills in the rest)."""
        return all(os.path.isdir(d) for d in self.leaf_dirs())

    def create(self, resources: dict | None = None) -> dict:
        """Create the cgroup and apply ``resources``. On failure undo everything, then raise."""
        res = self._normalize(resources)
        self._check_controllers(res)
        if self.exists() and self.procs():
            raise MyDockerError("cgroup %s already exists and has processes" % self.path)
        created = []
        try:
            self._make_dirs(created)
            self._apply(res)
        except BaseException as e:
            self._undo(created)
            if isinstance(e, OSError):
                raise os_error("create", self.path, e)
            raise
        return res

    def _check_controllers(self, res):
        available = self.available_controllers()
        for key in ALL_RESOURCE_KEYS:
            if res.get(key) is not None and LIMIT_CONTROLLER[key] not in available:
                raise MyDockerError("cgroup: %s limit requested but the %s controller is not available (%s)"
                                    % (key, LIMIT_CONTROLLER[key], self.version))

    def _mkdir_tracked(self, path, created):
        try:
            _mkdir(path)
        except OSError as e:
            if e.errno != errno.EEXIST:
                raise os_error("create", self.path, e)
            return False
        created.append(path)
        return True

    @staticmethod
    def _undo(created):
        for path in reversed(created):
            try:
                _rmdir(path)
            except OSError:
                pass

    # -- limits -------------------------------------------------------------------------------

    def _normalize(self, resources):
        return normalize_resources(resources, available_cpus=self._available_cpus())

    def _available_cpus(self):
        """CPUs a container may use: the top cpuset, else the host's online CPUs (None)."""
        path = self._top_cpus_file()
        if path is None:
            return None
        try:
            return _cpu_list_to_set(_read(path), "available CPUs") or None
        except (OSError, MyDockerError):
            return None

    def update(self, resources: dict | None) -> dict:
        """Change the limits of the existing cgroup in place to exactly ``resources``.

        Limits missing from ``resources`` (or None) go back to unlimited / the default.
        """
        res = self._normalize(resources)
        self._check_controllers(res)
        if not self.exists():
            raise MyDockerError("cgroup %s does not exist" % self.path)
        try:
            self._apply(res)
        except OSError as e:
            raise os_error("update", self.path, e)
        return res

    def _apply(self, res):
        available = self.available_controllers()
        self._apply_controllers(res, available)
        if "pids" in available:   # pids.max is the same file in v1 and v2
            _write(self._ctl("pids", "pids.max"), "max" if res["pids_limit"] is None
                   else str(res["pids_limit"]))

    def read_limits(self) -> dict:
        """The limits in force, in the canonical form of ``normalize_resources``."""
        if not self.exists():
            raise MyDockerError("cgroup %s does not exist" % self.path)
        out = dict((key, None) for key in RESOURCE_KEYS)
        self._read_controllers(out)
        pids = self._read_ctl("pids", "pids.max")
        if pids and pids != "max":
            out["pids_limit"] = int(pids)
        for key in MEMORY_KEYS:  # only when set, as normalize_resources gives them
            if out.get(key, 0) is None:
                del out[key]
        return out

    def diff(self, resources: dict | None) -> dict:
        """{key: (wanted, actual)} for every limit that differs from ``resources``; {} if none.

        Compares the way the kernel stores values (v2 cpu.weight, v1 "all CPUs" cpuset).
        """
        wanted = self._normalize(resources)
        actual = self.read_limits()
        out = {}
        for key in ALL_RESOURCE_KEYS:
            w, a = wanted.get(key), actual.get(key)
            if key in MEMORY_KEYS and w is None:
                continue  # not set: not compared (a hand-changed memory limit is the memory's drift)
            if not self._same(key, w, a):
                out[key] = (w, a)
        return out

    def _same(self, key, wanted, actual):
        """Whether the limit ``key`` as wanted is what the kernel holds."""
        if key == "cpus" and wanted is not None and actual is not None:
            return abs(wanted - actual) < 1e-6
        return wanted == actual

    def oom_kill_count(self) -> int | None:
        """How many processes the OOM killer killed in this cgroup; None if not readable."""
        path = self._ctl("memory", self.OOM_FILE)
        if path is None:
            return None
        try:
            return read_oom_kill(_read(path))
        except OSError:
            return None

    # -- processes ----------------------------------------------------------------------------

    def add(self, pid: int) -> None:
        """Move process ``pid`` into the cgroup (every hierarchy)."""
        for leaf in self.leaf_dirs():
            path = os.path.join(leaf, "cgroup.procs")
            try:
                _write(path, str(int(pid)))
            except OSError as e:
                raise MyDockerError("cgroup: cannot add process %s to %s: %s"
                                    % (pid, leaf, e.strerror or e))

    def open_procs(self) -> ProcsWriter:
        """The ``cgroup.procs`` of every hierarchy, opened now; ``add(pid)`` writes into them later,
        whatever the writer's root is by then (``process.spawn``: the init's ``pivot_root`` moves the
        root of the mount namespace it shares with the writer)."""
        return ProcsWriter([os.path.join(leaf, "cgroup.procs") for leaf in self.leaf_dirs()])

    def procs(self) -> list[int]:
        """Sorted PIDs in the cgroup (union over the hierarchies)."""
        pids = set()
        for leaf in self.leaf_dirs():
            try:
                text = _read(os.path.join(leaf, "cgroup.procs"))
            except OSError:
                continue
            pids.update(int(p) for p in text.split())
        return sorted(pids)

    def kill_all(self, sig: int = signals.SIGKILL) -> list[int]:
        """Send ``sig`` to every process in the cgroup; return the PIDs signalled."""
        sent = []
        for pid in self.procs():
            try:
                _kill(pid, sig)
            except OSError as e:
                if e.errno != errno.ESRCH:
                    raise
                continue
            sent.append(pid)
        return sent

    def destroy(self, timeout: float = 5.0) -> None:
        """Kill what is left, remove the cgroup everywhere, then the parent if it is empty.

        Never raises when the cgroup is already gone. Raises MyDockerError only when a leaf
        cannot be removed before ``timeout`` (a process that will not die).
        """
        deadline = time.time() + timeout
        leaves = [d for d in self.leaf_dirs() if os.path.isdir(d)]
        while leaves:
            if self.procs():
                self.kill_all(signals.SIGKILL)
            for leaf in list(leaves):
                try:
                    _rmdir(leaf)
                except OSError as e:
                    if e.errno == errno.ENOENT:
                        leaves.remove(leaf)
                        continue
                    if e.errno not in (errno.EBUSY, errno.ENOTEMPTY) or time.time() > deadline:
                        raise MyDockerError("cgroup: cannot remove %s: %s" % (leaf, e.strerror or e))
                    continue
                leaves.remove(leaf)
            if leaves:
                time.sleep(0.02)
        self._remove_parents()

    def _remove_parents(self):
        """rmdir the parent directories when empty; another container may hold or race them."""
        for mount in self._mounts:
            parts = list(self._parent_parts)
            while parts:
                try:
                    _rmdir(os.path.join(mount, *parts))
                except OSError as e:
                    if e.errno in (errno.EBUSY, errno.ENOTEMPTY, errno.ENOENT, errno.EEXIST):
                        break
                    raise MyDockerError("cgroup: cannot remove %s: %s"
                                        % (os.path.join(mount, *parts), e.strerror or e))
                parts.pop()
