# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cgroup v2: one directory ``<root>/<parent>/<cid>`` in the unified hierarchy, with the
controllers enabled in the ancestors' ``cgroup.subtree_control``.

v2 has no device files: a new leaf gets the eBPF device filter of devicefilter.py for
``base.DEFAULT_DEVICE_RULES`` before any process joins it.
"""

from __future__ import annotations

import os

from .. import memswap
from ..errors import MyDockerError
from ..resources import cpu_list_to_set, cpu_set_to_list
from . import base

V2_CONTROLLERS = ("cpu", "cpuset", "memory", "pids")
V2_DEFAULT_WEIGHT = 100


def shares_to_weight(shares: int | None) -> int:
    """cgroup v1 cpu.shares -> v2 cpu.weight, the way runc converts it."""
    if shares is None:
        return V2_DEFAULT_WEIGHT
    return 1 + ((shares - 2) * 9999) // 262142


def weight_to_shares(weight: int) -> int | None:
    """Smallest cpu.shares that converts to ``weight`` (the conversion is not one-to-one)."""
    if weight == V2_DEFAULT_WEIGHT:
        return None
    return 2 + -(-((weight - 1) * 262142) // 9999)


class CgroupV2(base.CgroupManager):
    """A container's cgroup in the unified hierarchy."""

    version = "v2"
    OOM_FILE = "memory.events"

    @classmethod
    def mounts(cls, root: str) -> list[str]:
        return [root]

    def available_controllers(self) -> set[str]:
        try:
            return set(base._read(os.path.join(self.root, "cgroup.controllers")).split())
        except OSError:
            return set()

    def _ctl(self, controller, name):
        return os.path.join(self._leaf(self.root), name)

    # -- creation -----------------------------------------------------------------------------

    @staticmethod
    def _enable(directory, wanted):
        path = os.path.join(directory, "cgroup.subtree_control")
        enabled = set(base._read(path).split())
        missing = [c for c in wanted if c not in enabled]
        if missing:
            base._write(path, " ".join("+" + c for c in missing))

    def _make_dirs(self, created):
        available = self.available_controllers()
        wanted = [c for c in V2_CONTROLLERS if c in available]
        path = self.root
        for part in self._parent_parts:
            self._enable(path, wanted)
            path = os.path.join(path, part)
            self._mkdir_tracked(path, created)
        self._enable(path, wanted)
        leaf = os.path.join(path, self.cid)
        if self._mkdir_tracked(leaf, created):   # an existing leaf keeps the filter it has
            base._attach_devices(leaf, base.DEFAULT_DEVICE_RULES + tuple(self.extra_device_rules))

    # -- limits -------------------------------------------------------------------------------

    def _top_cpus_file(self):
        return os.path.join(self.root, "cpuset.cpus.effective")

    def _apply_controllers(self, res, available):
        if "memory" in available:
            base._write(self._ctl("memory", "memory.max"), "max" if res["memory"] is None else str(res["memory"]))
            swap = self._ctl("memory", "memory.swap.max")
            if self._has(swap):
                base._write(swap, memswap.v2_swap_text(res["memory"], res.get("memory_swap")))
            elif res.get("memory_swap") is not None:
                raise MyDockerError("cgroup %s: memory_swap needs memory.swap.max, which this kernel does not have"
                                    % self.path)
            low = self._ctl("memory", "memory.low")
            if self._has(low) or res.get("memory_reservation") is not None:
                base._write(low, str(res.get("memory_reservation") or 0))
        if "cpu" in available:
            quota = base.cfs_quota(res["cpus"])
            base._write(self._ctl("cpu", "cpu.max"),
                        "%s %d" % ("max" if quota is None else quota, base.CFS_PERIOD))
            base._write(self._ctl("cpu", "cpu.weight"), str(shares_to_weight(res["cpu_shares"])))
        if "cpuset" in available:
            # An empty cpuset.cpus in v2 means "inherit the parent's".
            base._write(self._ctl("cpuset", "cpuset.cpus"), res["cpuset_cpus"] or "\n")

    def _read_controllers(self, out):
        memory = self._read_ctl("memory", "memory.max")
        if memory and memory != "max":
            out["memory"] = int(memory)
        out["memory_swap"] = memswap.v2_read_swap(out["memory"], self._read_ctl("memory", "memory.swap.max"))
        low = self._read_ctl("memory", "memory.low")
        out["memory_reservation"] = int(low) if low and low != "0" else None
        cpu_max = self._read_ctl("cpu", "cpu.max")
        if cpu_max and cpu_max.split()[0] != "max":
            fields = cpu_max.split()
            period = int(fields[1]) if len(fields) > 1 else base.CFS_PERIOD
            out["cpus"] = round(int(fields[0]) / period, 5)
        weight = self._read_ctl("cpu", "cpu.weight")
        if weight:
            out["cpu_shares"] = weight_to_shares(int(weight))
        cpus = self._read_ctl("cpuset", "cpuset.cpus")
        if cpus:
            out["cpuset_cpus"] = cpu_set_to_list(cpu_list_to_set(cpus))

    def _same(self, key, wanted, actual):
        # cpu.weight is coarser than cpu.shares: compare after the conversion
        if key == "cpu_shares":
            return shares_to_weight(wanted) == shares_to_weight(actual)
        return super()._same(key, wanted, actual)
