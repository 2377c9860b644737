"""Publish specs, network-create validation and Go-tool records (no root, no netlink)."""
import json
import os

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import networks as network
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import ports
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import Paths


@pytest.mark.parametrize("spec,want", [
    ("8080:80", ("", 8080, 80, "tcp")),
    ("8080:80/tcp", ("", 8080, 80, "tcp")),
    ("53:53/udp", ("", 53, 53, "udp")),
    ("53:53/UDP", ("", 53, 53, "udp")),
    ("127.0.0.1:8080:80", ("127.0.0.1", 8080, 80, "tcp")),
    ("0.0.0.0:8080:80", ("", 8080, 80, "tcp")),
    ("10.1.2.3:1:65535/udp", ("10.1.2.3", 1, 65535, "udp")),
    (" 8080:80 ", ("", 8080, 80, "tcp")),
    ({"host_port": 8080, "container_port": 80}, ("", 8080, 80, "tcp")),
    ({"host_ip": "127.0.0.1", "host_port": "81", "container_port": "80", "proto": "udp"},
     ("127.0.0.1", 81, 80, "udp")),
])
def test_parse_publish(spec, want):
    p = ports.parse_publish(spec)
    assert (p["host_ip"], p["host_port"], p["container_port"], p["proto"]) == want


@pytest.mark.parametrize("spec,msg", [
    ("", "expected"), (None, "expected"), ("a:b:c:d", "expected"),
    ("8080:80/sctp", "tcp or udp"), ("0:80", "out of range"), ("8080:0", "out of range"),
    ("70000:80", "out of range"), ("8080:65536", "out of range"), ("-1:80", "not a port"),
    ("x:80", "not a port"), ("8080:", "not a port"), ("300.0.0.1:8080:80", "not an IPv4"),
    ("localhost:8080:80", "not an IPv4"), ("[::1]:8080:80", "IPv6 host addresses are not supported"),
])
def test_parse_publish_errors(spec, msg):
    # "80" alone is no longer an error (issue 11): a free host port, see test_ports_parse.py
    with pytest.raises(MyDockerError, match=msg):
        ports.parse_publish(spec)


@pytest.mark.parametrize("spec", ["8080:80", "127.0.0.1:8080:80", "53:53/udp"])
def test_format_round_trip(spec):
    assert ports.format_publish(ports.parse_publish(spec)) == spec


def test_mask_b64():
    assert network.mask_b64(24) == "////AA=="
    assert network.mask_b64(16) == "//8AAA=="
    assert network.prefix_from_b64("////AA==") == 24
    assert network.prefix_from_b64("/////A==") == 30
    with pytest.raises(MyDockerError):
        network.prefix_from_b64("/wD/AA==")


def test_veth_names_fit():
    assert network.veth_name("6696563329") == "veth6696563329"
    assert len(network.veth_name("a-very-long-container-name")) <= 15
    assert len(network.peer_name("6696563329")) <= 15
    assert network.veth_name("x") != network.peer_name("x")


@pytest.mark.parametrize("kw,msg", [
    (dict(name="n1", subnet="10.0.0.0"), "CIDR"),
    (dict(name="n1", subnet="10.0.0.0/33"), "CIDR"),
    (dict(name="n1", subnet="banana"), "CIDR"),
    (dict(name="n1", subnet=None), "subnet is required"),
    (dict(name="n1", subnet="10.0.0.0/31"), "too small"),
    (dict(name="n1", subnet="10.0.0.0/32"), "too small"),
    (dict(name="n1", subnet="127.0.0.0/24"), "not usable"),
    (dict(name="n1", subnet="224.0.0.0/24"), "not usable"),
    (dict(name="n1", subnet="10.0.0.0/24", gateway="10.0.1.1"), "outside the subnet"),
    (dict(name="n1", subnet="10.0.0.0/24", gateway="10.0.0.0"), "network address"),
    (dict(name="n1", subnet="10.0.0.0/24", gateway="10.0.0.255"), "broadcast"),
    (dict(name="n1", subnet="10.0.0.0/24", gateway="10.0.0"), "invalid gateway"),
    (dict(name="n1", subnet="10.0.0.0/24", driver="overlay"), "unsupported network driver"),
    (dict(name="a-name-too-long-16", subnet="10.0.0.0/24"), "too long"),
    (dict(name="../etc", subnet="10.0.0.0/24"), "invalid network name"),
    (dict(name="a/b", subnet="10.0.0.0/24"), "invalid network name"),
])
def test_create_network_bad_input_changes_nothing(tmp_path, kw, msg):
    root = str(tmp_path / "root")
    with pytest.raises(MyDockerError, match=msg):
        network.create_network(root, **kw)
    assert not os.path.exists(root)  # validation fails before anything is written


def test_go_tool_network_record_read_as_is(tmp_path):
    paths = Paths(str(tmp_path))
    paths.ensure()
    with open(paths.network_file("testbridge"), "w") as f:
        f.write('{"Name":"testbridge","IPRange":{"IP":"192.168.0.1","Mask":"////AA=="},"Driver":"bridge"}')
    nets = network.list_networks(str(tmp_path))
    assert len(nets) == 1
    n = nets[0]
    assert n["Subnet"] == "192.168.0.0/24" and n["Gateway"] == "192.168.0.1" and n["Bridge"] == "testbridge"
    info = network.inspect_network(str(tmp_path), "testbridge")
    assert info["Containers"] == {}
    # a container record of the Go tool attached to it shows up
    os.makedirs(paths.container_dir("6696563329"))
    with open(paths.container_config("6696563329"), "w") as f:
        json.dump({"pid": "1", "id": "6696563329", "name": "web", "networkName": "testbridge",
                   "ip": "192.168.0.2", "portmapping": ["8080:80"], "status": "running"}, f)
    info = network.inspect_network(str(tmp_path), "testbridge")
    assert info["Containers"] == {"6696563329": {"Name": "web", "IPAddress": "192.168.0.2"}}
    with pytest.raises(MyDockerError, match="in use by container"):
        network.remove_network(str(tmp_path), "testbridge")
    with pytest.raises(MyDockerError, match="not found"):
        network.inspect_network(str(tmp_path), "nosuch")
    with pytest.raises(MyDockerError, match="not found"):
        network.remove_network(str(tmp_path), "nosuch")


def test_cli_parser(tmp_path, capsys):
    import argparse

    from ansible_collections.mydocker.runtime.plugins.module_utils.cli import network as cli_network
    ap = argparse.ArgumentParser()
    ap.add_argument("--root")
    cli_network.add_network_parser(ap.add_subparsers(dest="cmd"))
    a = ap.parse_args(["network", "create", "--driver", "bridge", "--subnet", "10.0.0.0/24", "n1"])
    assert (a.driver, a.subnet, a.gateway, a.name) == ("bridge", "10.0.0.0/24", None, "n1")
    a = ap.parse_args(["network", "create", "-subnet", "10.0.0.0/24", "-driver", "bridge", "n1"])
    assert a.subnet == "10.0.0.0/24"
    a = ap.parse_args(["--root", str(tmp_path), "network", "rm", "-f", "a", "b"])
    assert a.force and a.names == ["a", "b"] and a.fn is cli_network.cmd_remove
    paths = Paths(str(tmp_path))
    paths.ensure()
    with open(paths.network_file("testbridge"), "w") as f:
        f.write('{"Name":"testbridge","IPRange":{"IP":"192.168.0.1","Mask":"////AA=="},"Driver":"bridge"}')
    for cmd in ("ls", "list"):
        a = ap.parse_args(["--root", str(tmp_path), "network", cmd])
        assert a.fn(a) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[0].split()[:3] == ["NAME", "IPRange", "Driver"]
        assert out[1].split()[:3] == ["testbridge", "192.168.0.1/24", "bridge"]
    with pytest.raises(SystemExit):
        ap.parse_args(["network", "create", "n1"])  # --subnet is required: a clear usage error
