# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning for the ``mydocker_prune`` module: what a prune of the chosen kinds removes, and
the space that gives back; ``apply`` removes exactly that.  Check mode returns the plan.

The kinds, in the order they are removed:

* ``leftovers``: what crashed runs left behind (``engine.prune``: records without a monitor,
  stale mounts, orphaned overlay directories and cgroups, veths, iptables rules and IP
  reservations of containers that are gone, unused engine copies);
* ``containers``: exited containers (not created ones, not those a monitor is restarting);
* ``images``: images no container uses (after the containers above are gone);
* ``networks``: networks no container is attached to (after the containers above are gone);
* ``volumes``: anonymous volumes no container names (after the containers above are gone); with
  ``volumes_all`` unused named volumes too (as ``docker volume prune`` of Docker 23+, ``-a``);
* ``build_cache``: there is no build cache yet: always nothing, zero bytes.

Each removal step goes through the engine's public API, which refuses what became busy in the
meantime (a container started again): the task then fails naming it, and what was removed
before stays removed.

Plain Python; knows nothing of Ansible."""

import os

from ..engine import containers as engine
from ..engine import images, lifecycle, prune, records, system, volumes
from ..engine.net import networks as network
from ..engine.records import EXITED
from ..engine.store import Paths
from .plan import Option, Plan, apply_steps, build_argument_spec

KINDS = ("leftovers", "containers", "images", "networks", "volumes", "build_cache")

MODULE_OPTIONS = tuple(Option(kind, "bool", default=False) for kind in KINDS) + \
    (Option("volumes_all", "bool", default=False),)


def argument_spec():
    return build_argument_spec(MODULE_OPTIONS)


class PrunePlan(Plan):
    """``removed``: {kind: [what goes]}; ``reclaimed``: {kind: bytes}; ``before``/``after``: the
    names of the selected kinds now and after the prune."""

    def __init__(self, root):
        super().__init__("prune")
        self.root = root
        self.removed = dict((k, []) for k in KINDS)
        self.reclaimed = dict((k, 0) for k in KINDS)

    @property
    def space_reclaimed(self):
        return sum(self.reclaimed.values())

    def result(self):
        return {"removed": dict((k, list(v)) for k, v in self.removed.items()),
                "reclaimed": dict(self.reclaimed, total=self.space_reclaimed)}


def _size(path):
    try:
        return os.lstat(path).st_size
    except OSError:
        return 0


def _image_size(paths, rec, kept_layers):
    """Bytes removing image ``rec`` gives back: its tarball and record, and its layer when no
    image or container left uses it (``kept_layers``)."""
    size = _size(paths.image_tar(rec["name"])) + _size(paths.image_meta(rec["name"]))
    layer = rec.get("layer")
    if isinstance(layer, str) and layer and layer not in kept_layers:
        size += system.du(os.path.join(paths.layers, layer)) + _size(os.path.join(paths.layers, layer + ".json"))
    return size


def _plan_containers(plan, paths, views, gone):
    for rec in views:
        rec = records.Record.of(rec)
        if rec.id in gone or rec.status != EXITED:
            continue
        if lifecycle.monitor_alive(rec):   # a restart policy is about to start it again
            continue
        size = system.container_size(paths, rec.id)
        plan.add("container", "remove container %s" % rec.name, cid=rec.id)
        plan.removed["containers"].append(rec.name)
        plan.reclaimed["containers"] += size
        gone.add(rec.id)


def _plan_images(plan, paths, recs, gone):
    left = [r for r in recs if r.id not in gone]
    used_names = set(r.image for r in left if r.image)
    imgs = images.list_images(paths.root)
    unused = [i for i in imgs if i.get("name") and i["name"] not in used_names]
    going = set(i["name"] for i in unused)
    kept_layers = set(r.layer for r in left if r.layer)
    kept_layers.update(i.get("layer") for i in imgs if i.get("name") not in going and isinstance(i.get("layer"), str))
    counted = set()
    for rec in unused:
        size = _image_size(paths, rec, kept_layers | counted)
        counted.add(rec.get("layer"))
        plan.add("image", "remove image %s" % rec["name"], name=rec["name"])
        plan.removed["images"].append(rec["name"])
        plan.reclaimed["images"] += size


def _plan_networks(plan, paths, gone):
    for net in network.list_networks(paths.root):
        users = network.inspect_network(paths.root, net["Name"]).get("Containers") or {}
        if any(cid not in gone for cid in users):
            continue
        plan.add("network", "remove network %s" % net["Name"], name=net["Name"])
        plan.removed["networks"].append(net["Name"])
        plan.reclaimed["networks"] += _size(paths.network_file(net["Name"]))


def _plan_volumes(plan, paths, gone, all):
    used = set(v.get("name") for r in records.all_records(paths, skip_corrupt=True) if r.id not in gone
               for v in r.volumes if v.get("type") == "volume")
    for name in volumes.list_names(paths):
        rec = volumes.read_volume(paths, name)
        if rec is None or name in used or not (all or rec.get("Anonymous")):
            continue
        plan.add("volume", "remove volume %s" % name, name=name)
        plan.removed["volumes"].append(name)
        plan.reclaimed["volumes"] += system.du(volumes.volume_dir(paths, name))


def _names(paths, kind):
    if kind == "containers":
        return [records.Record.of(r).name for r in engine.list_containers(paths, all=True)]
    if kind == "images":
        return [i["name"] for i in images.list_images(paths.root) if i.get("name")]
    if kind == "networks":
        return [n["Name"] for n in network.list_networks(paths.root)]
    if kind == "volumes":
        return volumes.list_names(paths)
    return []


def plan_prune(root, leftovers=False, containers=False, images_=False, networks=False, build_cache=False,
               volumes_=False, volumes_all=False):
    """Compute the plan (reads the state root and the host, changes nothing)."""
    paths = Paths(root)
    plan = PrunePlan(paths.root)
    if not os.path.isdir(paths.root):
        return plan
    wanted = {"leftovers": leftovers, "containers": containers, "images": images_, "networks": networks,
              "build_cache": build_cache, "volumes": volumes_}
    gone = set()
    if leftovers:
        found = system.leftovers(paths)
        if found["items"]:
            plan.add("leftovers", ["remove %s" % item for item in found["items"]])
            plan.removed["leftovers"] = list(found["items"])
            plan.reclaimed["leftovers"] = found["bytes"]
        gone.update(found["containers"])
    views = engine.list_containers(paths, all=True)
    if containers:
        _plan_containers(plan, paths, views, gone)
    if images_:
        _plan_images(plan, paths, records.all_records(paths, skip_corrupt=True), gone)
    if networks:
        _plan_networks(plan, paths, gone)
    if volumes_:
        _plan_volumes(plan, paths, gone, volumes_all)
    # build_cache: none yet, nothing to remove
    for kind in ("containers", "images", "networks", "volumes"):
        if wanted[kind]:
            names = _names(paths, kind)
            plan.before[kind] = names
            plan.after[kind] = [n for n in names if n not in plan.removed[kind]]
    if leftovers:
        plan.before["leftovers"] = list(plan.removed["leftovers"])
        plan.after["leftovers"] = []
    return plan


def _leftovers(plan):
    # what prune really removed (the same texts the plan listed, barring a change in between)
    plan.removed["leftovers"] = prune.prune(plan.root)


def _container(plan, cid):
    engine.remove(plan.root, cid)


def _image(plan, name):
    images.remove_image(plan.root, name)


def _network(plan, name):
    network.remove_network(plan.root, name)


def _volume(plan, name):
    volumes.remove_volume(plan.root, name)


STEPS = {"leftovers": _leftovers, "container": _container, "image": _image, "network": _network,
         "volume": _volume}


def apply(plan):
    """Execute ``plan``; returns plan.result() (the leftovers as prune reported them)."""
    apply_steps(STEPS, plan, plan)
    return plan.result()
