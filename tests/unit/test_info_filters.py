"""planning/info.py: the *_info modules' filters (validation in one line, matching) and their
listing of a state root; the option tables say what the modules' DOCUMENTATION says. No root."""
import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import Paths, write_json
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import imageview, info, otherinfo
from ansible_collections.mydocker.runtime.plugins.modules import (
    mydocker_container_info,
    mydocker_image_info,
    mydocker_network_info,
)
from tests.unit.test_module_options import assert_documented


@pytest.mark.parametrize("module, spec", [
    (mydocker_container_info, info.container_argument_spec()),
    (mydocker_image_info, info.image_argument_spec()),
    (mydocker_network_info, info.network_argument_spec()),
])
def test_specs_are_documented(module, spec):
    assert_documented(module, spec)


def test_the_old_specs_are_kept():
    assert info.image_argument_spec()["name"] == {"type": "list", "elements": "str"}
    assert info.network_argument_spec()["name"] == {"type": "list", "elements": "str"}
    assert info.container_argument_spec()["name"] == {"type": "str"}


@pytest.mark.parametrize("filters, allowed, msg", [
    ({"colour": "red"}, info.CONTAINER_FILTERS, "filters: unknown filter 'colour' (use name, status, image"),
    ({"status": "dead"}, info.CONTAINER_FILTERS, "filters: status: invalid status 'dead'"),
    ({"status": ["running", "x"]}, info.CONTAINER_FILTERS, "filters: status: invalid status 'x'"),
    ({"label": "=v"}, info.CONTAINER_FILTERS, "filters: label: invalid label filter '=v'"),
    ({"name": {"a": 1}}, info.IMAGE_FILTERS, "filters: name: expected a string or a list of strings"),
    ({"name": [True]}, info.IMAGE_FILTERS, "filters: name: expected a string"),
    ({"driver": "bridge"}, info.IMAGE_FILTERS, "filters: unknown filter 'driver' (use name)"),
])
def test_bad_filters_say_what_is_wrong(filters, allowed, msg):
    with pytest.raises(MyDockerError) as e:
        info.normalise_filters(filters, allowed)
    assert str(e.value).startswith(msg)
    assert "\n" not in str(e.value)


def test_normalised_filters_are_lists_of_strings():
    assert info.normalise_filters(None, info.IMAGE_FILTERS) == {}
    assert info.normalise_filters({"name": "a", "driver": ["bridge"]}, info.NETWORK_FILTERS) == \
        {"name": ["a"], "driver": ["bridge"]}


def test_matching():
    f = {"name": "web-1", "status": "running", "image": "busybox", "network": "appnet",
         "label": {"tier": "front", "env": "prod"}}

    def m(**flt):
        return info.matches(f, info.normalise_filters(flt, info.CONTAINER_FILTERS))
    assert m()
    assert m(name="web-*") and m(name=["db", "web-?"]) and not m(name="web") and not m(name="WEB-*")
    assert m(status=["exited", "running"]) and not m(status="exited")
    assert m(image="busybox", network="appnet") and not m(image="busybox", network="other")
    assert m(label="tier") and m(label=["tier=front", "env=prod"]) and not m(label=["tier=front", "env=dev"])
    assert not m(label="missing")
    assert not info.matches({"name": "x"}, {"label": ["a"]})   # no labels: no label filter matches


@pytest.fixture
def root(tmp_path):
    r = str(tmp_path / "root")
    paths = Paths(r)
    paths.ensure()
    for cid, name, status, image, net in (("1000000001", "web-1", "created", "busybox", "appnet"),
                                          ("1000000002", "web-2", "exited", "busybox", ""),
                                          ("1000000003", "db", "created", "alpine", "appnet")):
        write_json(paths.container_config(cid), {"id": cid, "name": name, "status": status, "image": image,
                                                 "networkName": net})
    for name in ("busybox", "alpine", "app-one"):
        write_json(paths.image_meta(name), {"name": name, "layer": "l" + name})
    return r


def test_container_info_lists_and_filters(root):
    out = info.container_info(root)
    assert [c["name"] for c in out["containers"]] == ["web-1", "web-2", "db"]
    assert out["exists"] and out["container"] == {}
    out = info.container_info(root, filters={"name": "web-*", "status": "created"})
    assert [c["name"] for c in out["containers"]] == ["web-1"]
    out = info.container_info(root, filters={"network": "appnet", "image": "alpine"})
    assert [c["name"] for c in out["containers"]] == ["db"]
    out = info.container_info(root, filters={"name": "nothing*"})
    assert out == {"exists": False, "container": {}, "containers": []}


def test_container_info_by_name_keeps_its_keys(root):
    out = info.container_info(root, "db")
    assert out["exists"] and out["container"]["id"] == "1000000003"
    assert out["containers"] == [out["container"]]
    out = info.container_info(root, "db", filters={"status": "running"})
    assert out["exists"] and out["container"]["name"] == "db" and out["containers"] == []
    assert info.container_info(root, "nope") == {"exists": False, "container": {}, "containers": []}
    with pytest.raises(MyDockerError, match="^name:"):
        info.container_info(root, "../etc")


def test_image_info_filters(root):
    recs, exists = imageview.image_info(root, filters={"name": "app-*"})
    assert [r["name"] for r in recs] == ["app-one"] and exists == {"app-one": True}
    recs, exists = imageview.image_info(root)
    assert [r["name"] for r in recs] == ["alpine", "app-one", "busybox"]
    recs, exists = imageview.image_info(root, ["busybox", "nope"], filters={"name": "a*"})
    assert recs == [] and exists == {"busybox": True, "nope": False}


def test_network_info_filters_before_looking_at_the_host(root, monkeypatch):
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import networks as network
    from ansible_collections.mydocker.runtime.plugins.module_utils.planning import network as network_plan
    for name, subnet in (("appnet", "10.77.1.0/24"), ("backnet", "10.77.2.0/24")):
        gw = subnet.replace(".0/24", ".1")
        rec = {"Name": name, "IPRange": {"IP": gw, "Mask": "////AA=="}, "Driver": "bridge", "Subnet": subnet,
               "Gateway": gw, "Bridge": name}
        write_json(Paths(root).network_file(name), rec)
    asked = []
    monkeypatch.setattr(network, "drift", lambda root, name: asked.append(name) or [])
    recs, exists = otherinfo.network_info(root, filters={"name": "app*", "driver": "bridge"})
    assert [r["Name"] for r in recs] == ["appnet"] and exists == {"appnet": True}
    assert asked == ["appnet"]
    recs, exists = otherinfo.network_info(root, filters={"driver": "macvlan"})
    assert recs == [] and exists == {}
    recs, exists = network_plan.info(root)
    assert [r["Name"] for r in recs] == ["appnet", "backnet"]
