"""Several networks per container (engine/net/attach.py, live.py) and the network modes none,
host and container:NAME (engine/net/netmode.py), through the CLI; each bad input one line with
nothing changed.

Traffic only to containers these tests started on bridges they created (netfix.py); the host
network mode test sends nothing."""
import os

import netfix
import pytest
from netfix import get, hosts, web

nets = netfix.nets  # the fixture of these tests' own networks

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def addrs(md, ref):
    return md("exec", ref, "ip", "-o", "-4", "addr").out


def links_of(cid):
    return sorted(n for n in os.listdir("/sys/class/net") if cid[:10] in n)


def test_run_on_two_networks(md, nets):
    n1, n2 = nets.new(), nets.new()
    web(md, nets, "a", "--network", n1)
    web(md, nets, "b", "--network", n2)
    md("run", "-d", "--name", "both", "--network", n1, "--network", n2, "busybox", "sleep", "300")
    rec = md.inspect("both")
    assert rec["networkName"] == n1 and [n["name"] for n in rec["networks"]] == [n1, n2]
    out = addrs(md, "both")
    assert " eth0 " in out and " eth1 " in out
    assert "hello from mydocker" in get(md, "both", "http://a:8000/").out
    assert "hello from mydocker" in get(md, "both", "http://b:8000/").out
    assert "both" in hosts(md, "a") and "both" in hosts(md, "b")
    md("stop", "-t", "0", "both")
    md("start", "both")
    assert [n["ip"] for n in md.inspect("both")["networks"]] == [n["ip"] for n in rec["networks"]]
    cid = rec["id"]
    assert len(links_of(cid)) == 2
    md("rm", "-f", "both")
    assert links_of(cid) == []


def test_connect_and_disconnect_a_running_container(md, nets):
    n1, n2 = nets.new(), nets.new()
    web(md, nets, "srv", "--network", n2)
    md("run", "-d", "--name", "c", "--network", n1, "busybox", "sleep", "300")
    cid = md.inspect("c")["id"]
    md("network", "connect", "--alias", "client", n2, "c")
    assert " eth1 " in addrs(md, "c")
    assert "hello from mydocker" in get(md, "c", "http://srv:8000/").out
    assert "\tc client" in hosts(md, "srv")
    p = md("network", "connect", n2, "c", check=False)
    assert p.returncode != 0 and p.err.strip() == "mydocker: container c is already connected to network %s" % n2
    md("network", "disconnect", n2, "c")
    assert " eth1 " not in addrs(md, "c") and "\tc" not in hosts(md, "srv")
    assert [n["name"] for n in md.inspect("c")["networks"]] == [n1]
    assert links_of(cid) == ["veth" + cid]
    p = md("network", "disconnect", n2, "c", check=False)
    assert p.err.strip() == "mydocker: container c is not connected to network %s" % n2


def test_connect_a_stopped_container_applies_at_start(md, nets):
    n1, n2 = nets.new(), nets.new()
    md("run", "-d", "--name", "s", "--network", n1, "busybox", "sleep", "300")
    md("stop", "-t", "0", "s")
    md("network", "connect", n2, "s")
    md("start", "s")
    assert " eth1 " in addrs(md, "s")


@pytest.mark.parametrize("args,msg", [
    (["--network", "host", "-p", "8080:80"],
     "publishing ports is not possible with --network host (the container uses the host's ports)"),
    (["--network", "mdnonexistent0"], "network mdnonexistent0 not found"),
    (["--network", "none", "--network", "{n}"], "network mode none cannot be combined with network {n}"),
    (["--network", "{n}", "--network", "{n}"], "network {n} is given twice"),
])
def test_bad_network_input_is_one_line_and_changes_nothing(md, nets, args, msg):
    n = nets.new()
    before = md.ids()
    p = md(*(["run", "-d"] + [a.format(n=n) for a in args] + ["busybox", "true"]), check=False)
    assert p.returncode != 0 and p.err.strip() == "mydocker: " + msg.format(n=n)
    assert md.ids() == before


def test_connect_an_unknown_network_or_an_alias_clash(md, nets):
    n = nets.new()
    md("run", "-d", "--name", "x", "busybox", "sleep", "300")
    md("run", "-d", "--name", "y", "--network", n, "busybox", "sleep", "300")
    p = md("network", "connect", "mdnonexistent0", "x", check=False)
    assert p.err.strip() == "mydocker: network mdnonexistent0 not found"
    p = md("network", "connect", "--alias", "y", n, "x", check=False)
    assert p.err.strip() == "mydocker: the name y is already used on network %s by container y" % n
    assert md.inspect("x")["networks"] == []


def test_network_none_host_and_container(md, nets):
    n = nets.new()
    md("run", "-d", "--name", "lo", "--network", "none", "busybox", "sleep", "300")
    out = addrs(md, "lo")
    assert " lo " in out and "eth0" not in out
    md("run", "-d", "--name", "h", "--network", "host", "busybox", "sleep", "300")
    pid = md.inspect("h")["pid"]
    assert os.readlink("/proc/%s/ns/net" % pid) == os.readlink("/proc/self/ns/net")
    md("run", "-d", "--name", "owner", "--network", n, "busybox", "sleep", "300")
    md("run", "-d", "--name", "guest", "--network", "container:owner", "busybox", "sleep", "300")
    g, o = md.inspect("guest")["pid"], md.inspect("owner")["pid"]
    assert os.readlink("/proc/%s/ns/net" % g) == os.readlink("/proc/%s/ns/net" % o)
    assert md.inspect("owner")["ip"] in addrs(md, "guest")
