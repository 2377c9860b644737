# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``mydocker_host_info``: the runtime and its state root at a glance (read only, so check mode
and a real run are the same call).

Plain Python; knows nothing of Ansible."""

from ..engine import containers as engine
from ..engine import images, system
from ..engine.net import networks as network
from ..engine.records import STATUSES
from ..engine.store import Paths
from .plan import Option, build_argument_spec

MODULE_OPTIONS = (
    Option("containers", "bool", default=False),
    Option("images", "bool", default=False),
    Option("networks", "bool", default=False),
    Option("disk_usage", "bool", default=False),
)


def argument_spec():
    return build_argument_spec(MODULE_OPTIONS)


def count_by_status(containers):
    """{"total": n, "running": n, "restarting": n, "created": n, "exited": n} of container views."""
    out = dict((s, 0) for s in STATUSES)
    for c in containers:
        out[c["status"]] = out.get(c["status"], 0) + 1
    out["total"] = len(containers)
    return out


def host_info(root, containers=False, images_list=False, networks=False, disk_usage=False):
    """The result of one mydocker_host_info task (without ``changed``)."""
    paths = Paths(root)
    ctrs = engine.list_containers(paths, all=True)
    imgs = images.list_images(paths.root)
    nets = network.list_networks(paths.root)
    out = {
        "host": {
            "version": system.VERSION,
            "root": paths.root,
            "cgroup_layout": system.cgroup_layout(),
            "seccomp": system.seccomp_available(),
            "containers": count_by_status(ctrs),
            "images": len(imgs),
            "networks": len(nets),
        },
    }
    if containers:
        out["containers"] = ctrs
    if images_list:
        out["images"] = imgs
    if networks:
        out["networks"] = nets
    if disk_usage:
        out["disk_usage"] = system.disk_usage(paths)
    return out
