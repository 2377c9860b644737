# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One cgroup per container, on cgroup v1 and v2.

Plain Python (standard library only); knows nothing of Ansible.

A container's cgroup is ``<parent>/<cid>``:

* v1 (v1.py): ``<root>/<controller>/<parent>/<cid>`` in each mounted hierarchy we use;
* v2 (v2.py): ``<root>/<parent>/<cid>``, with the controllers enabled in the ancestors'
  ``cgroup.subtree_control``.

``Cgroup(parent, cid)`` returns the manager for the layout found under ``root``; both managers
share the interface and every layout-independent step of ``base.CgroupManager``. Every path is
under ``root`` and every file-system operation goes through the helpers of base.py, so that tests
can run the same code against a fake tree.
"""

from __future__ import annotations

from ..errors import MyDockerError
from ..resources import cpu_list_to_set, cpu_set_to_list
from .base import CFS_PERIOD, DEFAULT_ROOT, CgroupManager, child_dirs, detect_version, split_parent
from .v1 import V1_CONTROLLERS, V1_REQUIRED, CgroupV1
from .v2 import V2_CONTROLLERS, V2_DEFAULT_WEIGHT, CgroupV2, shares_to_weight, weight_to_shares

__all__ = [
    "CFS_PERIOD", "DEFAULT_ROOT", "V1_CONTROLLERS", "V1_REQUIRED", "V2_CONTROLLERS", "V2_DEFAULT_WEIGHT",
    "Cgroup", "CgroupManager", "CgroupV1", "CgroupV2", "cpu_list_to_set", "cpu_set_to_list",
    "detect_version", "list_ids", "manager_class", "shares_to_weight", "weight_to_shares",
]

MANAGERS = {"v1": CgroupV1, "v2": CgroupV2}


def manager_class(root: str = DEFAULT_ROOT, version: str | None = None) -> type[CgroupManager]:
    """The manager class for ``version``, or for the layout detected under ``root``."""
    version = version or detect_version(root)
    try:
        return MANAGERS[version]
    except (KeyError, TypeError):
        raise MyDockerError("unknown cgroup version %r" % (version,))


def Cgroup(parent: str, cid: str, root: str = DEFAULT_ROOT, version: str | None = None) -> CgroupManager:
    """The cgroup of one container, ``<parent>/<cid>``, managed for the v1 or v2 layout.

    Named like a class because callers construct it as one (``Cgroup(parent, cid).create()``).
    """
    return manager_class(root, version)(parent, cid, root)


def list_ids(parent: str, root: str = DEFAULT_ROOT, version: str | None = None) -> list[str]:
    """Container IDs that have a cgroup under ``parent`` (in any hierarchy, for prune)."""
    parts = split_parent(parent)
    return child_dirs(manager_class(root, version).mounts(root), parts)
