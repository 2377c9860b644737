# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One cgroup per container, on cgroup v1 and v2.

Plain Python (standard library only); knows nothing of Ansible.

A container's cgroup is ``<parent>/<cid>``:

* v1: ``<root>/<controller>/<parent>/<cid>`` in each of the memory, cpu, cpuacct, cpuset,
  pids and freezer hierarchies that are mounted (co-mounted hierarchies such as
  ``cpu,cpuacct`` are handled once);
* v2: ``<root>/<parent>/<cid>``, with the controllers enabled in the ancestors'
  ``cgroup.subtree_control``.

Every path is under ``root`` so that tests can run the same code against a fake tree, and every
file-system operation goes through the small ``_mkdir``/``_rmdir``/``_write``/``_read``/``_kill``
helpers below.
"""

import errno
import os
import signal
import time

from .errors import MyDockerError
from .resources import (
    CPU_SHARES_DEFAULT,
    RESOURCE_KEYS,
    cpu_list_to_set,
    cpu_set_to_list,
    format_bytes,
    normalize_resources,
)
from .validate import validate_name

DEFAULT_ROOT = "/sys/fs/cgroup"
CFS_PERIOD = 100000
V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "cpuset", "pids", "freezer")
V1_REQUIRED = ("memory", "cpu", "cpuset", "pids")
V2_CONTROLLERS = ("cpu", "cpuset", "memory", "pids")
V2_DEFAULT_WEIGHT = 100
# The kernel shows an unlimited v1 memory limit as PAGE_COUNTER_MAX * PAGE_SIZE.
_V1_UNLIMITED_THRESHOLD = 1 << 62

# Which controller owns each limit.
_LIMIT_CONTROLLER = {"memory": "memory", "cpus": "cpu", "cpu_shares": "cpu",
                     "cpuset_cpus": "cpuset", "pids_limit": "pids"}


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


# ---------------------------------------------------------------------------------------------

def detect_version(root=DEFAULT_ROOT):
    """"v2" when ``root`` is a unified (cgroup2) hierarchy, else "v1"."""
    if os.path.exists(os.path.join(root, "cgroup.controllers")):
        return "v2"
    return "v1"


def _v1_hierarchies(root):
    """{controller: hierarchy mount dir} for the v1 controllers we use that are mounted."""
    found = {}
    for controller in V1_CONTROLLERS:
        mount = os.path.join(root, controller)
        if os.path.isfile(os.path.join(mount, "cgroup.procs")):
            found[controller] = mount
    return found


def _unique_mounts(hierarchies):
    """Hierarchy dirs once each (cpu and cpuacct may be the same co-mounted hierarchy)."""
    seen = set()
    mounts = []
    for controller in V1_CONTROLLERS:
        mount = hierarchies.get(controller)
        if mount is None:
            continue
        real = os.path.realpath(mount)
        if real not in seen:
            seen.add(real)
            mounts.append(mount)
    return mounts


def _split_parent(parent):
    if not isinstance(parent, str) or not parent.strip("/"):
        raise MyDockerError("invalid cgroup parent %r" % (parent,))
    parts = parent.strip("/").split("/")
    for part in parts:
        validate_name(part, "cgroup parent")
    return parts


def shares_to_weight(shares):
    """cgroup v1 cpu.shares -> v2 cpu.weight, the way runc converts it."""
    if shares is None:
        return V2_DEFAULT_WEIGHT
    return 1 + ((shares - 2) * 9999) // 262142


def weight_to_shares(weight):
    """Smallest cpu.shares that converts to ``weight`` (the conversion is not one-to-one)."""
    if weight == V2_DEFAULT_WEIGHT:
        return None
    return 2 + -(-((weight - 1) * 262142) // 9999)


def _os_error(action, path, err):
    """One line: which cgroup, which file, what the kernel said."""
    where = " (%s)" % err.filename if getattr(err, "filename", None) else ""
    return MyDockerError("cgroup: cannot %s %s%s: %s" % (action, path, where, err.strerror or err))


def list_ids(parent, root=DEFAULT_ROOT, version=None):
    """Container IDs that have a cgroup under ``parent`` (in any hierarchy, for prune)."""
    parts = _split_parent(parent)
    version = version or detect_version(root)
    if version == "v2":
        bases = [root]
    else:
        bases = _unique_mounts(_v1_hierarchies(root))
    ids = set()
    for base in bases:
        directory = os.path.join(base, *parts)
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        ids.update(n for n in names if os.path.isdir(os.path.join(directory, n)))
    return sorted(ids)


class Cgroup:
    """The cgroup of one container: ``<parent>/<cid>``."""

    def __init__(self, parent, cid, root=DEFAULT_ROOT, version=None):
        self._parent_parts = _split_parent(parent)
        validate_name(cid, "container id")
        self.parent = "/".join(self._parent_parts)
        self.cid = cid
        self.root = root
        self.version = version or detect_version(root)
        if self.version not in ("v1", "v2"):
            raise MyDockerError("unknown cgroup version %r" % (self.version,))
        self.path = self.parent + "/" + cid
        if self.version == "v1":
            self._hier = _v1_hierarchies(root)
            self._mounts = _unique_mounts(self._hier)
        else:
            self._hier = {}
            self._mounts = [root]

    def __repr__(self):
        return "Cgroup(%r, %s)" % (self.path, self.version)

    # -- paths --------------------------------------------------------------------------------

    def _leaf(self, mount):
        return os.path.join(mount, *(self._parent_parts + [self.cid]))

    def leaf_dirs(self):
        """The container's directory in every hierarchy."""
        return [self._leaf(m) for m in self._mounts]

    def _ctl(self, controller, name):
        """Path of a control file of the leaf ("memory", "memory.max" -> .../memory.max)."""
        if self.version == "v2":
            return os.path.join(self._leaf(self.root), name)
        mount = self._hier.get(controller)
        if mount is None:
            return None
        return os.path.join(self._leaf(mount), name)

    def _has(self, path):
        return path is not None and os.path.exists(path)

    # -- creation -----------------------------------------------------------------------------

    def exists(self):
        return any(os.path.isdir(d) for d in self.leaf_dirs())

    def create(self, resources=None):
        """Create the cgroup and apply ``resources``. On failure undo everything, then raise."""
        res = self._normalize(resources)
        self._check_controllers(res)
        if self.exists() and self.procs():
            raise MyDockerError("cgroup %s already exists and has processes" % self.path)
        created = []
        try:
            if self.version == "v1":
                self._create_v1(created)
            else:
                self._create_v2(created)
            self._apply(res)
        except BaseException as e:
            self._undo(created)
            if isinstance(e, OSError):
                raise _os_error("create", self.path, e)
            raise
        return res

    def _check_controllers(self, res):
        if self.version == "v1":
            if not self._mounts:
                raise MyDockerError("cgroup: no cgroup v1 hierarchy mounted under %s" % self.root)
            available = set(self._hier)
        else:
            available = self._v2_available()
        for key in RESOURCE_KEYS:
            if res[key] is not None and _LIMIT_CONTROLLER[key] not in available:
                raise MyDockerError("cgroup: %s limit requested but the %s controller is not available (%s)"
                                    % (key, _LIMIT_CONTROLLER[key], self.version))

    def _mkdir_tracked(self, path, created):
        try:
            _mkdir(path)
        except OSError as e:
            if e.errno != errno.EEXIST:
                raise _os_error("create", self.path, e)
            return False
        created.append(path)
        return True

    def _create_v1(self, created):
        for mount in self._mounts:
            cpuset = mount == self._hier.get("cpuset")
            path = mount
            for part in self._parent_parts + [self.cid]:
                parent_path, path = path, os.path.join(path, part)
                self._mkdir_tracked(path, created)
                if cpuset:
                    self._copy_cpuset(parent_path, path)

    def _copy_cpuset(self, src, dst):
        """A new v1 cpuset is empty: no task can join until cpus and mems are filled in."""
        for name in ("cpuset.cpus", "cpuset.mems"):
            target = os.path.join(dst, name)
            if not _read(target).strip():
                _write(target, _read(os.path.join(src, name)).strip() or "\n")

    def _v2_available(self):
        try:
            return set(_read(os.path.join(self.root, "cgroup.controllers")).split())
        except OSError:
            return set()

    def _enable_v2(self, directory, wanted):
        path = os.path.join(directory, "cgroup.subtree_control")
        enabled = set(_read(path).split())
        missing = [c for c in wanted if c not in enabled]
        if missing:
            _write(path, " ".join("+" + c for c in missing))

    def _create_v2(self, created):
        wanted = [c for c in V2_CONTROLLERS if c in self._v2_available()]
        path = self.root
        for part in self._parent_parts:
            self._enable_v2(path, wanted)
            path = os.path.join(path, part)
            self._mkdir_tracked(path, created)
        self._enable_v2(path, wanted)
        self._mkdir_tracked(os.path.join(path, self.cid), created)

    def _undo(self, created):
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
        if self.version == "v1":
            mount = self._hier.get("cpuset")
            candidates = [os.path.join(mount, "cpuset.cpus")] if mount else []
        else:
            candidates = [os.path.join(self.root, "cpuset.cpus.effective")]
        for path in candidates:
            try:
                cpus = cpu_list_to_set(_read(path), "available CPUs")
            except (OSError, MyDockerError):
                continue
            if cpus:
                return cpus
        return None

    def update(self, resources):
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
            raise _os_error("update", self.path, e)
        return res

    def _apply(self, res):
        if self.version == "v1":
            self._apply_v1(res)
        else:
            self._apply_v2(res)

    def _apply_v1(self, res):
        if "memory" in self._hier:
            self._set_memory_v1(res["memory"])
        if "cpu" in self._hier:
            _write(self._ctl("cpu", "cpu.cfs_period_us"), str(CFS_PERIOD))
            quota = -1 if res["cpus"] is None else int(round(res["cpus"] * CFS_PERIOD))
            _write(self._ctl("cpu", "cpu.cfs_quota_us"), str(quota))
            shares = CPU_SHARES_DEFAULT if res["cpu_shares"] is None else res["cpu_shares"]
            _write(self._ctl("cpu", "cpu.shares"), str(shares))
        if "cpuset" in self._hier:
            cpus = res["cpuset_cpus"]
            if cpus is None:  # all the CPUs of the parent
                cpus = _read(os.path.join(os.path.dirname(self._leaf(self._hier["cpuset"])),
                                          "cpuset.cpus")).strip()
            _write(self._ctl("cpuset", "cpuset.cpus"), cpus)
        if "pids" in self._hier:
            _write(self._ctl("pids", "pids.max"), "max" if res["pids_limit"] is None
                   else str(res["pids_limit"]))

    def _set_memory_v1(self, memory):
        """memory.limit_in_bytes and memory.memsw.limit_in_bytes, equal (no swap beyond the limit).

        The kernel insists on memsw >= limit at every moment: when the limit goes up, memsw is
        raised first; when it goes down, the limit is lowered first.
        """
        limit_file = self._ctl("memory", "memory.limit_in_bytes")
        memsw_file = self._ctl("memory", "memory.memsw.limit_in_bytes")
        value = "-1" if memory is None else str(memory)
        if not self._has(memsw_file):
            _write(limit_file, value)
            return
        current = _v1_memory_value(_read(limit_file))
        raising = memory is None or (current is not None and memory > current)
        order = (memsw_file, limit_file) if raising else (limit_file, memsw_file)
        for path in order:
            try:
                _write(path, value)
            except OSError as e:
                if e.errno != errno.EBUSY:
                    raise
                usage = self._read_ctl("memory", "memory.usage_in_bytes")
                raise MyDockerError(
                    "cgroup %s: cannot set memory limit to %s: the processes use %s and it cannot be reclaimed"
                    % (self.path, format_bytes(memory), format_bytes(usage) if usage else "more"))

    def _apply_v2(self, res):
        available = self._v2_available()
        if "memory" in available:
            _write(self._ctl("memory", "memory.max"), "max" if res["memory"] is None else str(res["memory"]))
            swap = self._ctl("memory", "memory.swap.max")
            if self._has(swap):
                _write(swap, "max" if res["memory"] is None else "0")
        if "cpu" in available:
            quota = "max" if res["cpus"] is None else str(int(round(res["cpus"] * CFS_PERIOD)))
            _write(self._ctl("cpu", "cpu.max"), "%s %d" % (quota, CFS_PERIOD))
            _write(self._ctl("cpu", "cpu.weight"), str(shares_to_weight(res["cpu_shares"])))
        if "cpuset" in available:
            # An empty cpuset.cpus in v2 means "inherit the parent's".
            _write(self._ctl("cpuset", "cpuset.cpus"), res["cpuset_cpus"] or "\n")
        if "pids" in available:
            _write(self._ctl("pids", "pids.max"), "max" if res["pids_limit"] is None
                   else str(res["pids_limit"]))

    def read_limits(self):
        """The limits in force, in the canonical form of ``normalize_resources``."""
        if not self.exists():
            raise MyDockerError("cgroup %s does not exist" % self.path)
        out = dict((key, None) for key in RESOURCE_KEYS)
        if self.version == "v1":
            out["memory"] = _v1_memory_value(self._read_ctl("memory", "memory.limit_in_bytes"))
            quota = self._read_ctl("cpu", "cpu.cfs_quota_us")
            period = self._read_ctl("cpu", "cpu.cfs_period_us")
            if quota is not None and int(quota) > 0:
                out["cpus"] = round(int(quota) / int(period or CFS_PERIOD), 5)
            shares = self._read_ctl("cpu", "cpu.shares")
            if shares is not None and int(shares) != CPU_SHARES_DEFAULT:
                out["cpu_shares"] = int(shares)
            cpus = self._read_ctl("cpuset", "cpuset.cpus")
            if cpus:
                mine = cpu_list_to_set(cpus)
                if mine != self._parent_cpus_v1():
                    out["cpuset_cpus"] = cpu_set_to_list(mine)
        else:
            memory = self._read_ctl("memory", "memory.max")
            if memory and memory != "max":
                out["memory"] = int(memory)
            cpu_max = self._read_ctl("cpu", "cpu.max")
            if cpu_max and cpu_max.split()[0] != "max":
                fields = cpu_max.split()
                period = int(fields[1]) if len(fields) > 1 else CFS_PERIOD
                out["cpus"] = round(int(fields[0]) / period, 5)
            weight = self._read_ctl("cpu", "cpu.weight")
            if weight:
                out["cpu_shares"] = weight_to_shares(int(weight))
            cpus = self._read_ctl("cpuset", "cpuset.cpus")
            if cpus:
                out["cpuset_cpus"] = cpu_set_to_list(cpu_list_to_set(cpus))
        pids = self._read_ctl("pids", "pids.max")
        if pids and pids != "max":
            out["pids_limit"] = int(pids)
        return out

    def diff(self, resources):
        """{key: (wanted, actual)} for every limit that differs from ``resources``; {} if none.

        Compares the way the kernel stores values (v2 cpu.weight, v1 "all CPUs" cpuset).
        """
        wanted = self._normalize(resources)
        actual = self.read_limits()
        out = {}
        for key in RESOURCE_KEYS:
            w, a = wanted[key], actual[key]
            if key == "cpus" and w is not None and a is not None:
                same = abs(w - a) < 1e-6
            elif key == "cpu_shares" and self.version == "v2":
                same = shares_to_weight(w) == shares_to_weight(a)
            elif key == "cpuset_cpus" and self.version == "v1" and w is not None:
                same = (a is None and cpu_list_to_set(w) == self._parent_cpus_v1()) or w == a
            else:
                same = w == a
            if not same:
                out[key] = (w, a)
        return out

    def _read_ctl(self, controller, name):
        path = self._ctl(controller, name)
        if path is None:
            return None
        try:
            return _read(path).strip()
        except OSError:
            return None

    def _parent_cpus_v1(self):
        mount = self._hier.get("cpuset")
        try:
            return cpu_list_to_set(_read(os.path.join(os.path.dirname(self._leaf(mount)), "cpuset.cpus")))
        except (OSError, TypeError):
            return None

    def oom_kill_count(self):
        """How many processes the OOM killer killed in this cgroup; None if not readable."""
        if self.version == "v1":
            path = self._ctl("memory", "memory.oom_control")
        else:
            path = self._ctl("memory", "memory.events")
        if path is None:
            return None
        try:
            text = _read(path)
        except OSError:
            return None
        for line in text.splitlines():
            fields = line.split()
            if len(fields) == 2 and fields[0] == "oom_kill":
                return int(fields[1])
        return None

    # -- processes ----------------------------------------------------------------------------

    def add(self, pid):
        """Move process ``pid`` into the cgroup (every hierarchy)."""
        for leaf in self.leaf_dirs():
            path = os.path.join(leaf, "cgroup.procs")
            try:
                _write(path, str(int(pid)))
            except OSError as e:
                raise MyDockerError("cgroup: cannot add process %s to %s: %s"
                                    % (pid, leaf, e.strerror or e))

    def procs(self):
        """Sorted PIDs in the cgroup (union over the hierarchies)."""
        pids = set()
        for leaf in self.leaf_dirs():
            try:
                text = _read(os.path.join(leaf, "cgroup.procs"))
            except OSError:
                continue
            pids.update(int(p) for p in text.split())
        return sorted(pids)

    def kill_all(self, sig=signal.SIGKILL):
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

    def destroy(self, timeout=5.0):
        """Kill what is left, remove the cgroup everywhere, then the parent if it is empty.

        Never raises when the cgroup is already gone. Raises MyDockerError only when a leaf
        cannot be removed before ``timeout`` (a process that will not die).
        """
        deadline = time.time() + timeout
        leaves = [d for d in self.leaf_dirs() if os.path.isdir(d)]
        while leaves:
            if self.procs():
                self.kill_all(signal.SIGKILL)
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


def _v1_memory_value(text):
    """v1 memory limit file -> bytes, None when unlimited."""
    if text is None:
        return None
    value = int(text.strip())
    if value < 0 or value >= _V1_UNLIMITED_THRESHOLD:
        return None
    return value
