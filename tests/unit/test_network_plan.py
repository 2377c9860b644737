"""network_plan: the plan of a mydocker_network task (create, idempotency, recreate, drift,
absent) and apply() doing exactly the planned steps.  The host side (netlink, iptables) is
faked; records live in a temporary state root.  No root needed."""
import ipaddress

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import networks as network
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import Paths, write_json
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import network as network_plan
from ansible_collections.mydocker.runtime.plugins.module_utils.planning.plan import Step


class FakeNetlink:
    def __init__(self):
        self.links = set()
        self.routes = [("route", ipaddress.ip_network("192.0.2.0/24"), "eth0")]

    def link_exists(self, name):
        return name in self.links

    def host_networks(self):
        return list(self.routes)


@pytest.fixture
def host(monkeypatch):
    nl = FakeNetlink()
    monkeypatch.setattr(network, "_netlink", lambda: nl)
    state = {"drift": {}, "calls": []}
    monkeypatch.setattr(network, "drift", lambda root, name: list(state["drift"].get(name, [])))
    return nl, state


@pytest.fixture
def root(tmp_path):
    r = str(tmp_path / "root")
    Paths(r).ensure()
    return r


def record(root, name, subnet, gateway=None):
    net = ipaddress.ip_network(subnet)
    gw = gateway or str(net.network_address + 1)
    rec = {"Name": name, "IPRange": {"IP": gw, "Mask": network.mask_b64(net.prefixlen)}, "Driver": "bridge",
           "Subnet": subnet, "Gateway": gw, "Bridge": name, "Created": "2025-01-01 00:00:00"}
    write_json(Paths(root).network_file(name), rec)
    return rec


def attach(root, cid, name, net, ip):
    write_json(Paths(root).container_config(cid), {"id": cid, "name": name, "networkName": net, "ip": ip})


def test_create(root, host):
    plan = network_plan.plan_network(root, "mdtnet", subnet="10.77.1.9/24")
    assert plan.changed and plan.actions == ["create"]
    assert plan.steps == [Step("create", {"subnet": "10.77.1.0/24", "gateway": "10.77.1.1", "driver": "bridge"},
                               ("create",))]
    assert plan.before == {}
    assert plan.after == {"Name": "mdtnet", "Driver": "bridge", "Subnet": "10.77.1.0/24", "Gateway": "10.77.1.1",
                          "Bridge": "mdtnet", "IPRange": {"IP": "10.77.1.1", "Mask": "////AA=="}}
    assert plan.network["Containers"] == {}


def test_create_needs_subnet(root, host):
    with pytest.raises(MyDockerError, match="option subnet is required"):
        network_plan.plan_network(root, "mdtnet")


@pytest.mark.parametrize("kw,msg", [
    (dict(subnet="10.77.1.0/24", gateway="10.77.2.1"), "outside the subnet"),
    (dict(subnet="10.77.1.0/33"), "invalid subnet"),
    (dict(subnet="10.0.0.0/8"), "too large"),
    (dict(subnet="127.0.0.0/24"), "not usable"),
    (dict(subnet="192.0.2.0/25"), "overlaps the host route"),
    (dict(subnet="10.77.1.0/24", driver="macvlan"), "unsupported network driver"),
])
def test_create_bad_input(root, host, kw, msg):
    with pytest.raises(MyDockerError, match=msg):
        network_plan.plan_network(root, "mdtnet", **kw)


def test_create_refuses_existing_interface_and_overlap(root, host):
    nl = host[0]
    nl.links.add("mdtnet")
    with pytest.raises(MyDockerError, match="interface named mdtnet already exists"):
        network_plan.plan_network(root, "mdtnet", subnet="10.77.1.0/24")
    record(root, "other", "10.77.0.0/16")
    with pytest.raises(MyDockerError, match="overlaps 10.77.0.0/16 of network other"):
        network_plan.plan_network(root, "mdtx", subnet="10.77.1.0/24")


@pytest.mark.parametrize("name", ["a/b", "../x", "averyveryverylongname", ""])
def test_bad_names(root, host, name):
    with pytest.raises(MyDockerError):
        network_plan.plan_network(root, name, subnet="10.77.1.0/24")


@pytest.mark.parametrize("kw", [
    dict(subnet="10.77.1.0/24"),
    dict(subnet="10.77.1.200/24"),      # same subnet written another way
    dict(),                             # subnet left out: keep it
    dict(gateway="10.77.1.1"),
    dict(subnet="10.77.1.0/24", gateway="10.77.1.1"),
])
def test_idempotent(root, host, kw):
    rec = record(root, "mdtnet", "10.77.1.0/24")
    plan = network_plan.plan_network(root, "mdtnet", **kw)
    assert not plan.changed and plan.actions == [] and plan.steps == []
    assert plan.before == plan.after == network_plan.view(rec)
    assert "Created" not in plan.before


def test_custom_gateway_kept_when_left_out(root, host):
    record(root, "mdtnet", "10.77.1.0/24", gateway="10.77.1.254")
    assert not network_plan.plan_network(root, "mdtnet", subnet="10.77.1.0/24").changed
    plan = network_plan.plan_network(root, "mdtnet", subnet="10.77.1.0/24", gateway="10.77.1.1")
    assert plan.actions == ["recreate: gateway changed (10.77.1.254 -> 10.77.1.1)"]


def test_recreate_on_subnet_change(root, host):
    record(root, "mdtnet", "10.77.1.0/24")
    plan = network_plan.plan_network(root, "mdtnet", subnet="10.77.2.0/24")
    assert plan.actions == ["recreate: subnet changed (10.77.1.0/24 -> 10.77.2.0/24)",
                            "recreate: gateway changed (10.77.1.1 -> 10.77.2.1)"]
    assert [s[0] for s in plan.steps] == ["remove", "create"]
    assert plan.before["Subnet"] == "10.77.1.0/24" and plan.after["Subnet"] == "10.77.2.0/24"


def test_recreate_into_overlapping_own_subnet_is_fine(root, host):
    nl = host[0]
    record(root, "mdtnet", "10.77.1.0/24")
    nl.routes.append(("route", ipaddress.ip_network("10.77.1.0/24"), "mdtnet"))  # its own bridge
    plan = network_plan.plan_network(root, "mdtnet", subnet="10.77.0.0/23")
    assert plan.changed


def test_recreate_refused_with_containers_unless_force(root, host):
    record(root, "mdtnet", "10.77.1.0/24")
    attach(root, "1234567890", "web", "mdtnet", "10.77.1.2")
    with pytest.raises(MyDockerError, match=r"must be recreated .* container\(s\) web \(1234567890\)"):
        network_plan.plan_network(root, "mdtnet", subnet="10.77.2.0/24")
    plan = network_plan.plan_network(root, "mdtnet", subnet="10.77.2.0/24", force=True)
    assert plan.actions[-1] == "detach: container web"
    assert plan.steps[0][:2] == ("remove", {"force": True})


def test_drift_is_a_change(root, host):
    state = host[1]
    rec = record(root, "mdtnet", "10.77.1.0/24")
    state["drift"]["mdtnet"] = ["bridge mdtnet is missing", "net.ipv4.ip_forward is off"]
    plan = network_plan.plan_network(root, "mdtnet", subnet="10.77.1.0/24")
    assert plan.changed and [s[:2] for s in plan.steps] == [("repair", {})]
    assert plan.actions == ["repair: bridge mdtnet is missing", "repair: net.ipv4.ip_forward is off"]
    assert plan.before == dict(network_plan.view(rec), Drift=state["drift"]["mdtnet"])
    assert plan.after == dict(network_plan.view(rec), Drift=[])


def test_absent(root, host):
    assert not network_plan.plan_network(root, "mdtnet", state="absent").changed
    rec = record(root, "mdtnet", "10.77.1.0/24")
    plan = network_plan.plan_network(root, "mdtnet", state="absent")
    assert plan.actions == ["remove"] and plan.before == network_plan.view(rec) and plan.after == {}
    attach(root, "1234567890", "web", "mdtnet", "10.77.1.2")
    with pytest.raises(MyDockerError, match="in use by container.*web"):
        network_plan.plan_network(root, "mdtnet", state="absent")
    plan = network_plan.plan_network(root, "mdtnet", state="absent", force=True)
    assert plan.actions == ["remove", "detach: container web"]


def test_apply_runs_exactly_the_steps(root, host, monkeypatch):
    state = host[1]
    calls = []

    def create(r, name, subnet, gateway=None, driver="bridge"):
        calls.append(("create", name, subnet, gateway))
        return record(r, name, subnet, gateway)

    def remove(r, name, force=False):
        calls.append(("remove", name, force))
        import os
        os.unlink(Paths(r).network_file(name))

    def repair(r, name):
        calls.append(("repair", name))
        state["drift"][name] = []
        return ["created bridge"]
    monkeypatch.setattr(network, "create_network", create)
    monkeypatch.setattr(network, "remove_network", remove)
    monkeypatch.setattr(network, "repair_network", repair)

    plan = network_plan.plan_network(root, "mdtnet", subnet="10.77.1.0/24")
    out = network_plan.apply(plan)
    assert calls == [("create", "mdtnet", "10.77.1.0/24", "10.77.1.1")]
    assert network_plan.view(out) == plan.after and out["Containers"] == {}
    assert not network_plan.plan_network(root, "mdtnet", subnet="10.77.1.0/24").changed

    del calls[:]
    plan = network_plan.plan_network(root, "mdtnet", subnet="10.77.4.0/24", gateway="10.77.4.254")
    out = network_plan.apply(plan)
    assert calls == [("remove", "mdtnet", False), ("create", "mdtnet", "10.77.4.0/24", "10.77.4.254")]
    assert network_plan.view(out) == plan.after

    del calls[:]
    state["drift"]["mdtnet"] = ["bridge mdtnet is missing"]
    plan = network_plan.plan_network(root, "mdtnet")
    network_plan.apply(plan)
    assert calls == [("repair", "mdtnet")]
    assert not network_plan.plan_network(root, "mdtnet").changed

    del calls[:]
    network_plan.apply(network_plan.plan_network(root, "mdtnet", state="absent"))
    assert calls == [("remove", "mdtnet", False)]


def test_apply_fails_when_repair_leaves_drift(root, host, monkeypatch):
    state = host[1]
    record(root, "mdtnet", "10.77.1.0/24")
    state["drift"]["mdtnet"] = ["mdtnet is not a bridge"]
    monkeypatch.setattr(network, "repair_network", lambda r, n: [])
    plan = network_plan.plan_network(root, "mdtnet")
    with pytest.raises(MyDockerError, match="could not be repaired: mdtnet is not a bridge"):
        network_plan.apply(plan)


def test_info(root, host):
    state = host[1]
    record(root, "mdta", "10.77.1.0/24")
    record(root, "mdtb", "10.77.2.0/24")
    attach(root, "1234567890", "web", "mdta", "10.77.1.2")
    state["drift"]["mdtb"] = ["bridge mdtb is missing"]
    nets, exists = network_plan.info(root)
    assert [n["Name"] for n in nets] == ["mdta", "mdtb"] and exists == {"mdta": True, "mdtb": True}
    assert nets[0]["Containers"] == {"1234567890": {"Name": "web", "IPAddress": "10.77.1.2"}}
    assert nets[0]["Drift"] == [] and nets[1]["Drift"] == ["bridge mdtb is missing"]
    nets, exists = network_plan.info(root, ["mdtb", "nope"])
    assert [n["Name"] for n in nets] == ["mdtb"] and exists == {"mdtb": True, "nope": False}
