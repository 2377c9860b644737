# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cgroup v1: one directory ``<root>/<controller>/<parent>/<cid>`` per mounted hierarchy.

The hierarchies used are memory, cpu, cpuacct, cpuset, pids, freezer and devices, those that are
mounted; co-mounted hierarchies such as ``cpu,cpuacct`` are handled once. In the devices hierarchy
a new cgroup gets Docker's default allowlist (``base.DEFAULT_DEVICE_RULES``) before any process
joins it.
"""

from __future__ import annotations

import errno
import os

from .. import memswap
from ..errors import MyDockerError
from ..resources import CPU_SHARES_DEFAULT, cpu_list_to_set, cpu_set_to_list, format_bytes
from . import base

V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "devices")
V1_REQUIRED = ("memory", "cpu", "cpuset", "pids")
# The kernel shows an unlimited v1 memory limit as PAGE_COUNTER_MAX * PAGE_SIZE.
_V1_UNLIMITED_THRESHOLD = 1 << 62


def hierarchies(root: str) -> dict[str, str]:
    """{controller: hierarchy mount dir} for the v1 controllers we use that are mounted."""
    found = {}
    for controller in V1_CONTROLLERS:
        mount = os.path.join(root, controller)
        if os.path.isfile(os.path.join(mount, "cgroup.procs")):
            found[controller] = mount
    return found


def unique_mounts(hier: dict[str, str]) -> list[str]:
    """Hierarchy dirs once each (cpu and cpuacct may be the same co-mounted hierarchy)."""
    seen = set()
    mounts = []
    for controller in V1_CONTROLLERS:
        mount = hier.get(controller)
        if mount is None:
            continue
        real = os.path.realpath(mount)
        if real not in seen:
            seen.add(real)
            mounts.append(mount)
    return mounts


def device_rule(rule) -> str:
    """("c", 136, None, "rwm") -> "c 136:* rwm", as devices.allow wants it."""
    kind, major, minor, access = rule
    return "%s %s:%s %s" % (kind, "*" if major is None else major, "*" if minor is None else minor, access)


def memory_value(text):
    """v1 memory limit file -> bytes, None when unlimited."""
    if text is None:
        return None
    value = int(text.strip())
    if value < 0 or value >= _V1_UNLIMITED_THRESHOLD:
        return None
    return value


class CgroupV1(base.CgroupManager):
    """A container's cgroup in each mounted v1 hierarchy."""

    version = "v1"
    OOM_FILE = "memory.oom_control"

    def __init__(self, parent: str, cid: str, root: str = base.DEFAULT_ROOT) -> None:
        self._hier = hierarchies(root)
        super().__init__(parent, cid, root)

    @classmethod
    def mounts(cls, root: str) -> list[str]:
        return unique_mounts(hierarchies(root))

    def available_controllers(self) -> set[str]:
        return set(self._hier)

    def _ctl(self, controller, name):
        mount = self._hier.get(controller)
        if mount is None:
            return None
        return os.path.join(self._leaf(mount), name)

    def _check_controllers(self, res):
        if not self._mounts:
            raise MyDockerError("cgroup: no cgroup v1 hierarchy mounted under %s" % self.root)
        super()._check_controllers(res)

    # -- creation -----------------------------------------------------------------------------

    def _make_dirs(self, created):
        for mount in self._mounts:
            cpuset = mount == self._hier.get("cpuset")
            path = mount
            for part in self._parent_parts + [self.cid]:
                parent_path, path = path, os.path.join(path, part)
                self._mkdir_tracked(path, created)
                if cpuset:
                    self._copy_cpuset(parent_path, path)
        if "devices" in self._hier:
            self._set_devices()

    def _set_devices(self):
        """Deny every device, then allow the default list (one rule per write, as the kernel wants)."""
        base._write(self._ctl("devices", "devices.deny"), "a")
        allow = self._ctl("devices", "devices.allow")
        for rule in base.DEFAULT_DEVICE_RULES + tuple(self.extra_device_rules):
            base._write(allow, device_rule(rule))

    @staticmethod
    def _copy_cpuset(src, dst):
        """A new v1 cpuset is empty: no task can join until cpus and mems are filled in."""
        for name in ("cpuset.cpus", "cpuset.mems"):
            target = os.path.join(dst, name)
            if not base._read(target).strip():
                base._write(target, base._read(os.path.join(src, name)).strip() or "\n")

    # -- limits -------------------------------------------------------------------------------

    def _top_cpus_file(self):
        mount = self._hier.get("cpuset")
        return os.path.join(mount, "cpuset.cpus") if mount else None

    def _parent_cpus_file(self):
        return os.path.join(os.path.dirname(self._leaf(self._hier["cpuset"])), "cpuset.cpus")

    def _parent_cpus(self):
        try:
            return cpu_list_to_set(base._read(self._parent_cpus_file()))
        except (OSError, KeyError):
            return None

    def _apply_controllers(self, res, available):
        if "memory" in available:
            self._set_memory(res["memory"], res.get("memory_swap"))
            soft = self._ctl("memory", "memory.soft_limit_in_bytes")
            if self._has(soft) or res.get("memory_reservation") is not None:
                base._write(soft, str(res.get("memory_reservation") or -1))
        if "cpu" in available:
            base._write(self._ctl("cpu", "cpu.cfs_period_us"), str(base.CFS_PERIOD))
            quota = base.cfs_quota(res["cpus"])
            base._write(self._ctl("cpu", "cpu.cfs_quota_us"), str(-1 if quota is None else quota))
            shares = CPU_SHARES_DEFAULT if res["cpu_shares"] is None else res["cpu_shares"]
            base._write(self._ctl("cpu", "cpu.shares"), str(shares))
        if "cpuset" in available:
            cpus = res["cpuset_cpus"]
            if cpus is None:  # all the CPUs of the parent
                cpus = base._read(self._parent_cpus_file()).strip()
            base._write(self._ctl("cpuset", "cpuset.cpus"), cpus)

    def _set_memory(self, memory, swap=None):
        """memory.limit_in_bytes and memory.memsw.limit_in_bytes, equal (no swap beyond the limit).

        The kernel insists on memsw >= limit at every moment: when the limit goes up, memsw is
        raised first; when it goes down, the limit is lowered first.
        """
        limit_file = self._ctl("memory", "memory.limit_in_bytes")
        memsw_file = self._ctl("memory", "memory.memsw.limit_in_bytes")
        value = "-1" if memory is None else str(memory)
        if not self._has(memsw_file):
            if swap is not None:
                raise MyDockerError("cgroup %s: memory_swap needs swap accounting (memory.memsw.*), which this "
                                    "kernel does not have" % self.path)
            base._write(limit_file, value)
            return
        memsw = memswap.v1_memsw_text(memory, swap)
        current = memory_value(base._read(limit_file))
        first = memswap.v1_write_order(current, memory_value(memsw))
        order = ((memsw_file, memsw), (limit_file, value)) if first else ((limit_file, value), (memsw_file, memsw))
        for path, text in order:
            try:
                base._write(path, text)
            except OSError as e:
                if e.errno != errno.EBUSY:
                    raise
                usage = self._read_ctl("memory", "memory.usage_in_bytes")
                raise MyDockerError(
                    "cgroup %s: cannot set memory limit to %s: the processes use %s and it cannot be reclaimed"
                    % (self.path, format_bytes(memory), format_bytes(usage) if usage else "more"))

    def _read_controllers(self, out):
        out["memory"] = memory_value(self._read_ctl("memory", "memory.limit_in_bytes"))
        memsw = self._read_ctl("memory", "memory.memsw.limit_in_bytes")
        if memsw is not None:
            out["memory_swap"] = memswap.v1_read_swap(out["memory"], memory_value(memsw))
        out["memory_reservation"] = memory_value(self._read_ctl("memory", "memory.soft_limit_in_bytes"))
        quota = self._read_ctl("cpu", "cpu.cfs_quota_us")
        period = self._read_ctl("cpu", "cpu.cfs_period_us")
        if quota is not None and int(quota) > 0:
            out["cpus"] = round(int(quota) / int(period or base.CFS_PERIOD), 5)
        shares = self._read_ctl("cpu", "cpu.shares")
        if shares is not None and int(shares) != CPU_SHARES_DEFAULT:
            out["cpu_shares"] = int(shares)
        cpus = self._read_ctl("cpuset", "cpuset.cpus")
        if cpus:
            mine = cpu_list_to_set(cpus)
            if mine != self._parent_cpus():
                out["cpuset_cpus"] = cpu_set_to_list(mine)

    def _same(self, key, wanted, actual):
        # "all the parent's CPUs" is stored as that list and read back as unset
        if key == "cpuset_cpus" and wanted is not None and actual is None:
            return cpu_list_to_set(wanted) == self._parent_cpus()
        return super()._same(key, wanted, actual)
