"""Containers on bridge networks through the CLI: IPs, traffic, published ports, stop/start,
network rm, prune, and each bad input refused with nothing left behind.

Traffic goes only to loopback, to containers these tests started on bridges they created, and
to a network namespace the test made as an outside client.
"""
import json
import os
import subprocess
import sys
import time

import pytest
import test_network_engine
from conftest import CLI, leftovers
from test_network_engine import Env, http_get

drop_forward = test_network_engine.drop_forward  # a fixture shared with the engine tests

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


@pytest.fixture
def net(md, tmp_path):
    """A fresh network in this session's state root; removed (with all its rules) afterwards."""
    e = Env(tmp_path)
    e.root = md.root
    name = e.bridge_name()
    subnet = e.subnet()
    md("network", "create", "--driver", "bridge", "--subnet", subnet, name)
    e.name, e.cidr = name, subnet
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("hello from mydocker\n")
    e.www = str(www)
    try:
        yield e
    finally:
        for cid in md.ids():
            md("rm", "-f", cid, check=False)
        md("network", "rm", "-f", name, check=False)
        e.cleanup()
        assert not os.path.exists("/sys/class/net/%s" % name)
        assert [ln for ln in subprocess.run(["iptables-save"], stdout=subprocess.PIPE, check=False).stdout.decode()
                .splitlines() if name in ln] == []


def ip_of(md, ref):
    return md.inspect(ref)["ip"]


def wait_http(host, port, timeout=10):
    deadline = time.time() + timeout
    while True:
        try:
            return http_get(host, port, timeout=2)
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def web(md, net, name="web", port=None, extra=()):
    args = ["run", "-d", "--name", name, "--net", net.name, "-v", "%s:/www:ro" % net.www]
    if port:
        args += ["-p", "%d:80" % port]
    md(*(args + list(extra) + ["busybox", "httpd", "-f", "-p", "80", "-h", "/www"]))
    return ip_of(md, name)


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def test_containers_get_ips_and_reach_each_other_and_the_host(md, net):
    a = web(md, net, "a")
    md("run", "-d", "--name", "b", "--net", net.name, "busybox", "sleep", "1000")
    b = ip_of(md, "b")
    gw = json.loads(md("network", "inspect", net.name).out)[0]["IPRange"]["IP"]
    assert a != b and a != gw
    row = [ln for ln in md("ps").out.splitlines() if " a " in ln][0]
    assert a in row
    eth0 = md("exec", "b", "ip", "-o", "-4", "addr", "show", "eth0").out
    assert b in eth0
    assert "default via %s" % gw in md("exec", "b", "ip", "route").out
    assert md("exec", "b", "ping", "-c", "1", "-W", "2", gw).returncode == 0
    assert md("exec", "b", "ping", "-c", "1", "-W", "2", a).returncode == 0
    assert "hello from mydocker" in md("exec", "b", "wget", "-q", "-O", "-", "http://%s/" % a).out
    assert "hello from mydocker" in wait_http(a, 80)  # host -> container


def test_published_port_from_localhost_host_address_and_outside(md, net, drop_forward):
    port = free_port()
    web(md, net, "pub", port=port)
    assert "hello from mydocker" in wait_http("127.0.0.1", port)
    pid, host_ip, dummy = net.outside_client()
    assert "hello from mydocker" in wait_http(host_ip, port)  # the host's own address
    r = net.ns(pid, "/usr/bin/busybox", "wget", "-q", "-O", "-", "http://%s:%d/" % (host_ip, port),
               timeout=10)
    assert "hello from mydocker" in r.stdout  # from another namespace, as an outside client
    assert md.record(md.inspect("pub")["id"])["portmapping"] == ["%d:80" % port]


def test_stop_and_start_keep_ip_and_ports(md, net):
    port = free_port()
    ip = web(md, net, "keep", port=port)
    wait_http("127.0.0.1", port)
    md("stop", "-t", "0", "keep")
    with pytest.raises(OSError):
        http_get("127.0.0.1", port, timeout=1)
    md("start", "keep")
    assert ip_of(md, "keep") == ip
    assert "hello from mydocker" in wait_http("127.0.0.1", port)


def test_fixed_ip_and_rm_releases_everything(md, net):
    import ipaddress
    want = str(ipaddress.ip_network(net.cidr).network_address + 77)
    port = free_port()
    web(md, net, "fixed", port=port, extra=["--ip", want])
    assert ip_of(md, "fixed") == want
    p = md("run", "-d", "--net", net.name, "--ip", want, "busybox", "true", check=False)
    assert p.returncode != 0 and "taken" in p.err or "in use" in p.err
    cid = md.inspect("fixed")["id"]
    md("rm", "-f", "fixed")
    assert not os.path.exists("/sys/class/net/veth%s" % cid[:10])
    rules = subprocess.run(["iptables-save"], stdout=subprocess.PIPE, check=False).stdout.decode()
    assert cid not in rules
    # the address is free again
    md("run", "-d", "--name", "again", "--net", net.name, "--ip", want, "busybox", "sleep", "100")


def test_network_rm_refuses_while_attached(md, net):
    md("run", "-d", "--name", "att", "--net", net.name, "busybox", "sleep", "1000")
    p = md("network", "rm", net.name, check=False)
    assert p.returncode != 0 and "att" in p.err
    assert os.path.exists("/sys/class/net/%s" % net.name)
    md("rm", "-f", "att")
    md("network", "rm", net.name)
    assert not os.path.exists("/sys/class/net/%s" % net.name)
    assert net.name not in md("network", "ls").out


def test_many_parallel_runs_get_distinct_ips(md, net):
    procs = [subprocess.Popen([sys.executable, CLI, "run", "-d", "--net", net.name, "busybox", "sleep", "100"],
                              env=md.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for dummy in range(10)]
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    ips = [ip_of(md, cid) for cid in md.ids()]
    assert len(set(ips)) == 10
    with open(os.path.join(md.root, "network", "ipam", "subnet.json")) as f:
        bits = json.load(f)[net.cidr]
    assert set(bits) <= {"0", "1"}
    assert bits.count("1") == 10 + 3  # network, gateway, broadcast and ten containers


@pytest.mark.parametrize("args,words", [
    (["--net", "nosuchnet"], ["nosuchnet"]),
    (["--net", "{net}", "-p", "70000:80"], ["port"]),
    (["--net", "{net}", "-p", "[::1]:8080:80"], ["port mapping", "IPv6"]),  # a bare "80" is valid (issue 11)
    (["--net", "{net}", "--ip", "192.0.2.10"], ["192.0.2.10"]),
    (["--ip", "10.0.0.5"], ["network"]),
])
def test_bad_network_options_change_nothing(md, net, args, words):
    before = open(os.path.join(md.root, "network", "ipam", "subnet.json")).read()
    args = [a.replace("{net}", net.name) for a in args]
    p = md(*(["run", "-d"] + args + ["busybox", "true"]), check=False)
    assert p.returncode != 0
    assert len(p.err.strip().splitlines()) == 1
    for w in words:
        assert w in p.err.lower() or w in p.err, (w, p.err)
    assert md.ids() == []
    assert open(os.path.join(md.root, "network", "ipam", "subnet.json")).read() == before
    assert leftovers(md.root) == []


def test_published_port_taken_by_another_container(md, net):
    port = free_port()
    web(md, net, "first", port=port)
    p = md("run", "-d", "--net", net.name, "-p", "%d:80" % port, "busybox", "true", check=False)
    assert p.returncode != 0 and str(port) in p.err
    assert [r["name"] for r in json.loads(md("inspect", "first").out)] == ["first"]
    assert len(md.ids()) == 1


def test_bad_network_create(md, net):
    for args, word in ((["--subnet", "10.0.0.0/33", "x1"], "subnet"), (["--subnet", "nonsense", "x2"], "subnet"),
                       (["--subnet", net.cidr, "x3"], "overlap"), (["--driver", "macvlan", "--subnet",
                                                                    "10.250.250.0/24", "x4"], "driver"),
                       (["--subnet", "10.250.251.0/24", net.name], "exists")):
        p = md("network", "create", *args, check=False)
        assert p.returncode != 0, args
        assert word in p.err.lower(), (word, p.err)
    assert md("network", "ls", "-q").out.split() == [net.name]


def test_prune_removes_network_leftovers_of_dead_containers(md, net):
    cid = md("run", "-d", "--name", "crash", "--net", net.name, "-p", "%d:80" % free_port(), "busybox",
             "sleep", "1000").out.strip()
    rec = md.inspect(cid)
    os.kill(int(rec["monitorPid"]), 9)
    time.sleep(0.2)
    out = md("prune").out
    assert "crash" in out
    # the container still runs: prune adopts it (never kills it); stopping it then releases its
    # network like any stop
    assert "adopted container crash" in out and md.inspect(cid)["status"] == "running"
    md("stop", "crash")
    assert not os.path.exists("/sys/class/net/veth%s" % cid[:10])
    assert cid not in subprocess.run(["iptables-save"], stdout=subprocess.PIPE, check=False).stdout.decode()
    bits = json.load(open(os.path.join(md.root, "network", "ipam", "subnet.json")))[net.cidr]
    assert bits.count("1") == 3
