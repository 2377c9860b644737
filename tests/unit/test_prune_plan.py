"""planning/prune.py: what mydocker_prune removes for each kind (exited containers, unused
images and networks after them, leftovers first, build cache never), the bytes it reports, and
apply() doing exactly the planned steps.  Records live in a temporary state root; the host side
(network leftovers, the removals themselves) is faked.  No root needed."""
import os

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import containers as engine
from ansible_collections.mydocker.runtime.plugins.module_utils.engine import images, prune, system
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import networks as network
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import Paths, write_json
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import prune as prune_plan
from ansible_collections.mydocker.runtime.plugins.modules import mydocker_prune
from tests.unit.test_module_options import assert_documented

DEAD_PID = "999999999"


@pytest.fixture
def root(tmp_path, monkeypatch):
    r = str(tmp_path / "root")
    paths = Paths(r)
    paths.ensure()
    monkeypatch.setattr(system, "_network_leftovers", lambda paths, live: [])
    monkeypatch.setattr(system, "_engine_leftovers", lambda paths: [])

    def ctr(cid, name, status, image, net="", pid=""):
        write_json(paths.container_config(cid), {"id": cid, "name": name, "status": status, "image": image,
                                                 "layer": "L" + image, "networkName": net, "pid": pid})
        os.makedirs(os.path.join(paths.overlay_dir(cid), "upper"))
        with open(os.path.join(paths.overlay_dir(cid), "upper", "f"), "wb") as f:
            f.write(b"u" * 1000)
    ctr("1000000001", "done", "exited", "busybox", net="appnet")
    ctr("1000000002", "died", "running", "alpine", pid=DEAD_PID)    # its process is gone: exited
    ctr("1000000003", "fresh", "created", "busybox")
    for name in ("busybox", "alpine", "unused"):
        write_json(paths.image_meta(name), {"name": name, "layer": "L" + name})
        os.makedirs(os.path.join(paths.layers, "L" + name))
        with open(os.path.join(paths.layers, "L" + name, "bin"), "wb") as f:
            f.write(b"b" * 10000)
    for name, subnet in (("appnet", "10.77.1.0/24"), ("idlenet", "10.77.2.0/24")):
        gw = subnet.replace(".0/24", ".1")
        write_json(paths.network_file(name), {"Name": name, "IPRange": {"IP": gw, "Mask": "////AA=="},
                                              "Driver": "bridge", "Subnet": subnet, "Gateway": gw, "Bridge": name})
    return r


def test_spec_is_documented():
    assert_documented(mydocker_prune, prune_plan.argument_spec())
    assert all(v == {"type": "bool", "default": False} for v in prune_plan.argument_spec().values())


def test_nothing_chosen_nothing_removed(root):
    plan = prune_plan.plan_prune(root)
    assert not plan.changed and plan.space_reclaimed == 0
    assert plan.result()["removed"] == dict((k, []) for k in prune_plan.KINDS)


def test_a_root_that_does_not_exist(tmp_path):
    plan = prune_plan.plan_prune(str(tmp_path / "nope"), containers=True, images_=True, leftovers=True)
    assert not plan.changed
    assert not os.path.exists(str(tmp_path / "nope"))


def test_exited_containers_only(root):
    plan = prune_plan.plan_prune(root, containers=True)
    assert plan.actions == ["remove container done", "remove container died"]
    assert [s.args for s in plan.steps] == [{"cid": "1000000001"}, {"cid": "1000000002"}]
    assert plan.removed["containers"] == ["done", "died"]
    paths = Paths(root)
    assert plan.reclaimed["containers"] == system.container_size(paths, "1000000001") + \
        system.container_size(paths, "1000000002")
    assert plan.reclaimed["containers"] > 2000
    assert plan.before == {"containers": ["done", "died", "fresh"]}
    assert plan.after == {"containers": ["fresh"]}


def test_images_unused_now_or_after_the_containers(root):
    plan = prune_plan.plan_prune(root, images_=True)
    assert plan.removed["images"] == ["unused"]
    assert plan.reclaimed["images"] >= 10000
    plan = prune_plan.plan_prune(root, containers=True, images_=True)
    assert plan.removed["images"] == ["alpine", "unused"]   # busybox: the created container uses it
    assert plan.actions[-2:] == ["remove image alpine", "remove image unused"]


def test_a_shared_layer_is_not_counted(root):
    paths = Paths(root)
    write_json(paths.image_meta("copy"), {"name": "copy", "layer": "Lunused"})
    plan = prune_plan.plan_prune(root, images_=True)
    assert plan.removed["images"] == ["copy", "unused"]
    layer = system.du(os.path.join(paths.layers, "Lunused"))
    files = sum(os.path.getsize(paths.image_meta(n)) for n in ("copy", "unused"))
    assert plan.reclaimed["images"] == layer + files     # the layer once
    write_json(paths.container_config("1000000004"), {"id": "1000000004", "name": "x", "status": "created",
                                                      "image": "busybox", "layer": "Lunused"})
    plan = prune_plan.plan_prune(root, images_=True)
    assert plan.reclaimed["images"] == files              # a container still uses the layer


def test_networks_unused_now_or_after_the_containers(root, monkeypatch):
    monkeypatch.setattr(network.ipam, "load_owners", lambda paths: {})
    assert prune_plan.plan_prune(root, networks=True).removed["networks"] == ["idlenet"]
    plan = prune_plan.plan_prune(root, containers=True, networks=True)
    assert plan.removed["networks"] == ["appnet", "idlenet"]
    assert plan.reclaimed["networks"] == sum(os.path.getsize(Paths(root).network_file(n))
                                             for n in ("appnet", "idlenet"))


def test_build_cache_is_accepted_and_empty(root):
    plan = prune_plan.plan_prune(root, build_cache=True)
    assert not plan.changed and plan.reclaimed["build_cache"] == 0


def test_leftovers_first_and_their_containers_count_as_gone(root):
    paths = Paths(root)
    os.makedirs(paths.container_dir("1000000009"))                  # a directory without a record
    os.makedirs(os.path.join(paths.overlay_dir("2000000000"), "upper"))   # an overlay without one
    with open(os.path.join(paths.overlay_dir("2000000000"), "upper", "x"), "wb") as f:
        f.write(b"x" * 300)
    write_json(paths.container_config("1000000005"), {"id": "1000000005", "name": "orphan", "status": "running",
                                                      "image": "unused", "pid": DEAD_PID,
                                                      "monitorPid": DEAD_PID})
    plan = prune_plan.plan_prune(root, leftovers=True, images_=True)
    assert plan.steps[0].op == "leftovers"
    assert plan.removed["leftovers"] == ["container died (no monitor)", "container orphan (no monitor)",
                                         "directory containers/1000000009", "directory overlay2/2000000000"]
    assert plan.reclaimed["leftovers"] >= 300
    assert "unused" in plan.removed["images"]     # its only user goes with the leftovers
    assert plan.before["leftovers"] == plan.removed["leftovers"] and plan.after["leftovers"] == []
    plan = prune_plan.plan_prune(root, leftovers=True, containers=True)
    assert plan.removed["containers"] == ["done"]   # "died" goes with the leftovers, not twice


def test_apply_does_the_planned_steps_in_order(root, monkeypatch):
    calls = []
    monkeypatch.setattr(prune, "prune", lambda r: calls.append(("prune", r)) or ["directory overlay2/x"])
    monkeypatch.setattr(engine, "remove", lambda r, cid: calls.append(("rm", cid)))
    monkeypatch.setattr(images, "remove_image", lambda r, name: calls.append(("rmi", name)))
    monkeypatch.setattr(network, "remove_network", lambda r, name: calls.append(("rmnet", name)))
    monkeypatch.setattr(network.ipam, "load_owners", lambda paths: {})
    monkeypatch.setattr(system, "leftovers", lambda paths: {"items": ["directory overlay2/x"], "containers": [],
                                                            "bytes": 5})
    plan = prune_plan.plan_prune(root, leftovers=True, containers=True, images_=True, networks=True)
    predicted = plan.result()
    out = prune_plan.apply(plan)
    r = Paths(root).root
    assert calls == [("prune", r), ("rm", "1000000001"), ("rm", "1000000002"), ("rmi", "alpine"),
                     ("rmi", "unused"), ("rmnet", "appnet"), ("rmnet", "idlenet")]
    assert out == predicted
    assert out["reclaimed"]["total"] == sum(v for k, v in out["reclaimed"].items() if k != "total")
