"""The networking engine against the real kernel (root only).

Safety: traffic only goes to loopback and to addresses of namespaces, bridges and veths these
tests create; nothing is routed out of the machine.  Every test uses its own state root (so its
own iptables chains, tagged with the root hash), bridge names "mdt<hex>" and random 10.x subnets
checked against the host's routes; the fixture removes everything even when a test fails and
then checks that nothing of this root is left.
"""
import ipaddress
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import threading
import time

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import attach, ipam
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import iptables as ipt
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import ports as portsmod
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import Paths

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("iptables") or not shutil.which("unshare")
    or not os.path.exists("/usr/bin/busybox"),
    reason="needs root, iptables, unshare and busybox")

# No proxy variables may reach busybox wget: every request stays on this machine.
CLEAN_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
BUSYBOX = "/usr/bin/busybox"  # (its wget -T crashes in 1.35: timeouts come from subprocess)


def network_mod():
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import networks as network
    return network


def netlink_mod():
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import netlink
    return netlink


def run(cmd, check=True, **kw):
    kw.setdefault("env", CLEAN_ENV)
    kw.setdefault("timeout", 30)
    p = subprocess.run(cmd, capture_output=True, text=True,
                       **kw, check=False)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d): %s %s" % (cmd, p.returncode, p.stdout, p.stderr))
    return p


_USED = set()


class Env:
    def __init__(self, tmp_path):
        self.root = str(tmp_path / "state")
        self.paths = Paths(self.root)
        self.chains = ipt.Chains(self.root)
        self.procs = []
        self.links = []
        self.tmp = tmp_path

    # -- names and subnets ------------------------------------------------------------------
    def bridge_name(self):
        return "mdt" + secrets.token_hex(4)

    def subnet(self, prefix=24):
        taken = [n for dummy, n, dummy in netlink_mod().host_networks()]
        for dummy in range(500):
            a, b = random.randint(64, 250), random.randint(0, 255)
            net = ipaddress.ip_network("10.%d.%d.0/%d" % (a, b, prefix), strict=False)
            if str(net) in _USED or any(net.overlaps(t) for t in taken):
                continue
            _USED.add(str(net))
            return str(net)
        raise AssertionError("no free 10.x subnet")

    # -- namespaces and processes -------------------------------------------------------------
    def netns(self):
        """A process in a fresh network namespace; returns its PID."""
        p = subprocess.Popen(["unshare", "--net", "sleep", "300"], env=CLEAN_ENV)
        self.procs.append(p)
        own = os.readlink("/proc/self/ns/net")
        for dummy in range(500):
            try:
                if os.readlink("/proc/%d/ns/net" % p.pid) != own:
                    return p.pid
            except OSError:
                pass
            time.sleep(0.01)
        raise AssertionError("unshare did not enter a new netns")

    def ns(self, pid, *cmd, **kw):
        return run(["nsenter", "--net=/proc/%d/ns/net" % pid] + list(cmd), **kw)

    def spawn_in(self, pid, *cmd):
        p = subprocess.Popen(["nsenter", "--net=/proc/%d/ns/net" % pid] + list(cmd), env=CLEAN_ENV,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def httpd(self, pid, text):
        d = self.tmp / ("www%d" % pid)
        d.mkdir()
        (d / "index.html").write_text(text)
        self.spawn_in(pid, BUSYBOX, "httpd", "-f", "-p", "80", "-h", str(d))
        deadline = time.time() + 10
        while time.time() < deadline:
            r = self.ns(pid, BUSYBOX, "wget", "-q", "-O", "-", "http://127.0.0.1:80/",
                        check=False, timeout=5)
            if r.returncode == 0:
                return
            time.sleep(0.1)
        raise AssertionError("httpd did not start")

    def outside_client(self):
        """A netns joined to the host by a veth pair: host side .1/30, client side .2/30."""
        pid = self.netns()
        net = ipaddress.ip_network(self.subnet(30))
        h, c = net.network_address + 1, net.network_address + 2
        host_if = "mdo" + secrets.token_hex(4)
        peer_if = host_if + "p"
        self.links.append(host_if)
        run(["ip", "link", "add", host_if, "type", "veth", "peer", "name", peer_if])
        run(["ip", "link", "set", peer_if, "netns", str(pid)])
        run(["ip", "addr", "add", "%s/30" % h, "dev", host_if])
        run(["ip", "link", "set", host_if, "up"])
        self.ns(pid, "ip", "addr", "add", "%s/30" % c, "dev", peer_if)
        self.ns(pid, "ip", "link", "set", peer_if, "up")
        self.ns(pid, "ip", "link", "set", "lo", "up")
        return pid, str(h), net

    # -- state checks ------------------------------------------------------------------------
    def our_rules(self):
        out = run(["iptables-save"]).stdout
        return [l for l in out.splitlines() if self.chains.prefix + ":" in l
                or (self.chains.tag and self.chains.tag in l)]

    def ipam_data(self):
        return json.load(open(self.paths.ipam_file)) if os.path.exists(self.paths.ipam_file) else {}

    def cleanup(self):
        network = network_mod()
        errors = []
        for n in network.list_networks(self.root):
            try:
                network.remove_network(self.root, n["Name"], force=True)
            except Exception as e:  # keep cleaning
                errors.append(e)
        for p in reversed(self.procs):
            if p.poll() is None:
                p.kill()
            try:
                p.wait(10)
            except Exception as e:
                errors.append(e)
        nl = netlink_mod()
        for link in self.links:
            nl.delete_link(link)
        # whatever is left of this root (a failed test) goes too
        for table, chain, spec in ipt.find_rules(self.chains):
            ipt.run(["-t", table, "-D", chain] + spec, check=False)
        ipt.gc_chains(self.chains)
        return errors


@pytest.fixture
def env(tmp_path):
    e = Env(tmp_path)
    try:
        yield e
    finally:
        errors = e.cleanup()
        left = e.our_rules()
        nl = netlink_mod()
        links = [n for n in nl.all_links() if n.startswith(("mdt", "mdo"))]
        assert not errors, errors
        assert left == [], left
        assert [n for n in links if n in e.links] == []


@pytest.fixture
def drop_forward():
    """FORWARD policy DROP for the duration of a test (restored even on failure)."""
    before = run(["iptables", "-w", "-S", "FORWARD"]).stdout.splitlines()[0].split()[2]
    run(["iptables", "-w", "-P", "FORWARD", "DROP"])
    try:
        yield
    finally:
        run(["iptables", "-w", "-P", "FORWARD", before])


def http_get(host, port, timeout=5):
    """A plain HTTP/1.0 GET over a socket (no proxy settings can divert it)."""
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    finally:
        s.close()
    return b"".join(chunks).decode("utf-8", "replace")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# =============================================================================================

def test_create_network_host_effects(env, monkeypatch):
    network = network_mod()
    name, subnet = env.bridge_name(), env.subnet()
    rec = network.create_network(env.root, name, subnet)
    net = ipaddress.ip_network(subnet)
    gw = str(net.network_address + 1)
    assert rec["Name"] == name and rec["Driver"] == "bridge"
    assert rec["IPRange"] == {"IP": gw, "Mask": "////AA=="}
    on_disk = json.load(open(env.paths.network_file(name)))
    assert list(on_disk)[:3] == ["Name", "IPRange", "Driver"] and on_disk["Subnet"] == subnet
    info = netlink_mod().link_info(name)
    assert info["kind"] == "bridge" and info["up"] and "%s/24" % gw in info["addresses"]
    routes = run(["ip", "route", "show", subnet]).stdout
    assert "dev %s" % name in routes and "src %s" % gw in routes
    rules = "\n".join(env.our_rules())
    assert "-s %s ! -o %s" % (subnet, name) in rules and "MASQUERADE" in rules
    assert "-A POSTROUTING" in rules and "-A FORWARD" in rules
    s = env.ipam_data()[subnet]
    assert len(s) == 256 and s.count("1") == 3 and s[:2] == "11" and s[-1] == "1"
    assert open("/proc/sys/net/ipv4/ip_forward").read().strip() == "1"
    assert open("/proc/sys/net/ipv4/conf/%s/route_localnet" % name).read().strip() == "1"
    assert network.drift(env.root, name) == []
    # every rule and jump is found in the one iptables-save as it prints them: no -C asked
    asked = []
    real_run = network.ipt.run
    monkeypatch.setattr(network.ipt, "run", lambda args, **kw: asked.append(args) or real_run(args, **kw))
    assert network.drift(env.root, name) == [] and asked == []
    monkeypatch.undo()
    # a list/inspect view
    assert [n["Name"] for n in network.list_networks(env.root)] == [name]
    # removal leaves nothing, not even the uncommented POSTROUTING rule the Go tool would add
    legacy = ["-s", subnet, "!", "-o", name, "-j", "MASQUERADE"]
    run(["iptables", "-w", "-t", "nat", "-A", "POSTROUTING"] + legacy)
    network.remove_network(env.root, name)
    assert run(["iptables", "-w", "-t", "nat", "-C", "POSTROUTING"] + legacy, check=False).returncode != 0
    assert netlink_mod().link_info(name) is None
    assert env.our_rules() == []
    assert env.ipam_data() == {}
    assert not os.path.exists(env.paths.network_file(name))


def test_create_errors_change_nothing(env):
    network = network_mod()
    name, subnet = env.bridge_name(), env.subnet()
    network.create_network(env.root, name, subnet)
    rules_before = env.our_rules()
    ipam_before = env.ipam_data()
    client_pid, host_addr, link_net = env.outside_client()
    net = ipaddress.ip_network(subnet)
    cases = [
        ((name, env.subnet()), "already exists"),
        ((env.bridge_name(), str(net.supernet(1))), "overlaps %s of network %s" % (subnet, name)),
        ((env.bridge_name(), str(list(net.subnets(2))[1])), "overlaps"),
        ((env.bridge_name(), str(link_net.supernet(2))), "overlaps the host"),
    ]
    for args, msg in cases:
        with pytest.raises(MyDockerError, match=msg):
            network.create_network(env.root, *args)
        assert env.our_rules() == rules_before
        assert env.ipam_data() == ipam_before
        assert [n["Name"] for n in network.list_networks(env.root)] == [name]
        assert netlink_mod().link_info(args[0]) is None or args[0] == name
    # a host interface with the network's name
    with pytest.raises(MyDockerError, match="already exists on the host"):
        network.create_network(env.root, env.links[-1], env.subnet())
    assert env.our_rules() == rules_before
    with pytest.raises(MyDockerError, match="not found"):
        network.remove_network(env.root, "mdtnosuch")
    with pytest.raises(MyDockerError, match="not found"):
        attach.connect(env.root, "mdtnosuch", "1234567890", client_pid)


def test_traffic_between_containers_host_and_outside(env, drop_forward):
    """Two containers, ping each other and the gateway; a published port reached from the host
    via 127.0.0.1 and via a host address, from an outside netns and from the other container."""
    network = network_mod()
    name, subnet = env.bridge_name(), env.subnet()
    network.create_network(env.root, name, subnet)
    gw = str(ipaddress.ip_network(subnet).network_address + 1)
    a, b = env.netns(), env.netns()
    ca = attach.connect(env.root, name, "1000000001", a)
    cb = attach.connect(env.root, name, "1000000002", b, ip=str(ipaddress.ip_network(subnet)[200]))
    assert ca["ip"] == str(ipaddress.ip_network(subnet)[2]) and cb["ip"].endswith(".200")
    assert ca["veth"] == "veth1000000001"
    addrs = env.ns(a, "ip", "-o", "-4", "addr", "show", "dev", "eth0").stdout
    assert "%s/24" % ca["ip"] in addrs
    assert "default via %s dev eth0" % gw in env.ns(a, "ip", "route").stdout
    assert "UP" in env.ns(a, "ip", "-o", "link", "show", "lo").stdout
    for src, dst in ((a, cb["ip"]), (b, ca["ip"]), (a, gw), (b, gw)):
        env.ns(src, BUSYBOX, "ping", "-c", "1", "-W", "2", dst)

    env.httpd(b, "hello from b\n")
    hp = free_port()
    ports = portsmod.publish(env.root, name, "1000000002", cb["ip"], ["%d:80" % hp])
    assert ports == [{"host_ip": "", "host_port": hp, "container_port": 80, "proto": "tcp"}]
    assert "hello from b" in http_get("127.0.0.1", hp)             # host via localhost
    client, host_addr, dummy = env.outside_client()
    assert "hello from b" in http_get(host_addr, hp)               # host via its own address
    out = env.ns(client, BUSYBOX, "wget", "-q", "-O", "-",
                 "http://%s:%d/" % (host_addr, hp)).stdout       # an outside client
    assert "hello from b" in out
    out = env.ns(a, BUSYBOX, "wget", "-q", "-O", "-",
                 "http://%s:%d/" % (host_addr, hp)).stdout       # another container (hairpin)
    assert "hello from b" in out
    # direct container to container
    assert "hello from b" in env.ns(a, BUSYBOX, "wget", "-q", "-O", "-",
                                    "http://%s:80/" % cb["ip"]).stdout
    # unpublish removes exactly the port rules
    rules_with = env.our_rules()
    removed = portsmod.unpublish(env.root, "1000000002")
    assert len(removed) == 2 and all("1000000002" in r for r in removed)
    rules_without = env.our_rules()
    assert len(rules_with) - len(rules_without) >= 2
    assert not any("1000000002" in l for l in rules_without)
    with pytest.raises(OSError):
        http_get("127.0.0.1", hp, timeout=2)
    # network rm refuses, lists both containers
    with pytest.raises(MyDockerError, match="1000000001.*1000000002"):
        network.remove_network(env.root, name)
    attach.disconnect(env.root, name, "1000000001", ca["ip"])
    attach.disconnect(env.root, name, "1000000002", cb["ip"])
    assert env.ipam_data()[subnet].count("1") == 3
    assert netlink_mod().link_info("veth1000000001") is None
    network.remove_network(env.root, name)


def test_publish_errors_change_nothing(env):
    network = network_mod()
    name, subnet = env.bridge_name(), env.subnet()
    network.create_network(env.root, name, subnet)
    a, b = env.netns(), env.netns()
    ca = attach.connect(env.root, name, "2000000001", a)
    cb = attach.connect(env.root, name, "2000000002", b)
    hp = free_port()
    portsmod.publish(env.root, name, "2000000001", ca["ip"], ["%d:80" % hp, "%d:53/udp" % hp])
    before = env.our_rules()
    # already published by another container (tcp), udp of the same number too
    with pytest.raises(MyDockerError, match="already published by container 2000000001"):
        portsmod.publish(env.root, name, "2000000002", cb["ip"], ["%d:8080" % (hp + 0)])
    with pytest.raises(MyDockerError, match="already published"):
        portsmod.publish(env.root, name, "2000000002", cb["ip"], ["127.0.0.1:%d:53/udp" % hp])
    assert env.our_rules() == before
    # already published by another container's record (a crashed run without rules, the Go tool)
    os.makedirs(env.paths.container_dir("2000000003"))
    hp2 = free_port()
    with open(env.paths.container_config("2000000003"), "w") as f:
        json.dump({"id": "2000000003", "name": "rec", "portmapping": ["%d:80" % hp2]}, f)
    with pytest.raises(MyDockerError, match="already published by container rec"):
        portsmod.publish(env.root, name, "2000000002", cb["ip"], ["%d:80" % hp2])
    # in use on the host
    s = socket.socket()
    s.bind(("0.0.0.0", 0))
    s.listen(1)
    try:
        used = s.getsockname()[1]
        with pytest.raises(MyDockerError, match="in use on the host"):
            portsmod.publish(env.root, name, "2000000002", cb["ip"], ["9:80", "%d:80" % used])
    finally:
        s.close()
    # bad specs, a host IP that is not ours, an IP outside the subnet, an unknown network
    for ports, msg in ((["70000:80"], "out of range"), (["[::1]:80:80"], "IPv6"),  # "80" is valid (issue 11)
                       (["%d:80" % hp2, "%d:81" % hp2], "given twice"),
                       (["192.0.2.222:%d:80" % free_port()], "not an address of this host")):
        with pytest.raises(MyDockerError, match=msg):
            portsmod.publish(env.root, name, "2000000002", cb["ip"], ports)
    with pytest.raises(MyDockerError, match="outside the subnet"):
        portsmod.publish(env.root, name, "2000000002", "10.0.0.1", ["%d:80" % hp2])
    with pytest.raises(MyDockerError, match="not found"):
        portsmod.publish(env.root, "mdtnosuch", "2000000002", cb["ip"], ["%d:80" % hp2])
    assert env.our_rules() == before
    # re-publishing the same container replaces its rules (start after stop)
    portsmod.publish(env.root, name, "2000000001", ca["ip"], ["%d:80" % hp])
    assert len([l for l in env.our_rules() if "2000000001" in l]) == 2


def test_connect_errors_change_nothing(env):
    network = network_mod()
    name, subnet = env.bridge_name(), env.subnet(30)  # one address for a container
    network.create_network(env.root, name, subnet)
    net = ipaddress.ip_network(subnet)
    before = env.ipam_data()
    a, b = env.netns(), env.netns()
    # an IP outside the subnet, the gateway, a malformed one
    for ip, msg in (("10.0.0.1", "outside the subnet"), (str(net[1]), "already taken"),
                    ("1.2.3", "invalid IP"), (str(net[3]), "broadcast")):
        with pytest.raises(MyDockerError, match=msg):
            attach.connect(env.root, name, "3000000001", a, ip=ip)
    assert env.ipam_data() == before
    # a process that does not exist: the address is given back, no veth stays
    dead = subprocess.Popen(["true"])
    dead.wait()
    with pytest.raises(MyDockerError, match="network namespace of PID"):
        attach.connect(env.root, name, "3000000009", dead.pid)
    assert env.ipam_data() == before
    assert netlink_mod().link_info("veth3000000009") is None
    assert ipam.load_owners(env.paths) == {}
    c = attach.connect(env.root, name, "3000000001", a)
    assert c["ip"] == str(net[2])
    # exhausted
    with pytest.raises(MyDockerError, match="exhausted"):
        attach.connect(env.root, name, "3000000002", b)
    assert netlink_mod().link_info("veth3000000002") is None
    # taken by another container
    with pytest.raises(MyDockerError, match="already taken"):
        attach.connect(env.root, name, "3000000002", b, ip=c["ip"])
    assert env.ipam_data()[subnet] == "1111"
    # stop: the veth goes, the address stays reserved for the container
    attach.disconnect(env.root, name, "3000000001", c["ip"], release=False)
    # the container keeps its address while stopped, and gets it back
    c2 = attach.connect(env.root, name, "3000000001", a, ip=c["ip"])
    assert c2["ip"] == c["ip"]
    # a missing bridge is reported, no address taken
    attach.disconnect(env.root, name, "3000000001", c["ip"])
    netlink_mod().delete_link(name)
    assert "bridge %s is missing" % name in network.drift(env.root, name)
    with pytest.raises(MyDockerError, match="missing on the host"):
        attach.connect(env.root, name, "3000000001", a)
    assert env.ipam_data()[subnet] == "1101"


def test_connect_failures_inside_the_namespace_undo_everything(env):
    """net/rtnl.py's path: eth0 taken is refused before anything is made; a request refused
    inside the namespace after the pair exists deletes the pair and gives the address back."""
    network = network_mod()
    name, subnet = env.bridge_name(), env.subnet(24)
    network.create_network(env.root, name, subnet)
    before = env.ipam_data()
    a = env.netns()
    env.ns(a, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
    with pytest.raises(MyDockerError, match="already has an eth0"):
        attach.connect(env.root, name, "3000000011", a)
    assert netlink_mod().link_info("veth3000000011") is None
    assert env.ipam_data() == before and ipam.load_owners(env.paths) == {}
    b = env.netns()  # a default route already there: ours is refused (EEXIST) after the pair is made
    env.ns(b, "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1")
    env.ns(b, "ip", "link", "set", "d1", "up")
    env.ns(b, "ip", "link", "set", "d0", "up")
    env.ns(b, "ip", "route", "add", "default", "dev", "d0")
    with pytest.raises(MyDockerError, match="cannot connect the container to %s" % name):
        attach.connect(env.root, name, "3000000012", b)
    assert netlink_mod().link_info("veth3000000012") is None
    assert "eth0" not in env.ns(b, "ip", "-o", "link").stdout
    assert netlink_mod().links_on(name) == []
    assert env.ipam_data() == before and ipam.load_owners(env.paths) == {}
    # and a clean namespace is connected as before: eth0 with the MAC of its IP, lo up, the route
    c = attach.connect(env.root, name, "3000000013", env.netns())
    assert netlink_mod().link_info("veth3000000013")["master"] == netlink_mod().index_of_name(name)
    assert c["veth"] == "veth3000000013"
    attach.release_container(env.root, "3000000013")
    assert netlink_mod().link_info("veth3000000013") is None
    assert env.ipam_data() == before


def test_concurrent_connects(env):
    network = network_mod()
    name, subnet = env.bridge_name(), env.subnet()
    network.create_network(env.root, name, subnet)
    pids = [env.netns() for dummy in range(20)]
    results, errors = {}, []

    def worker(i):
        try:
            results[i] = attach.connect(env.root, name, "40000000%02d" % i, pids[i])
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    ips = [r["ip"] for r in results.values()]
    assert len(set(ips)) == 20
    s = env.ipam_data()[subnet]
    assert len(s) == 256 and s.count("1") == 23 and set(s) == {"0", "1"}
    assert len(ipam.load_owners(env.paths)[subnet]) == 20
    nl = netlink_mod()
    assert len(nl.links_on(name)) == 20
    # each namespace really has its own address
    for i in (0, 19):
        assert results[i]["ip"] in env.ns(pids[i], "ip", "-o", "-4", "addr").stdout
    env.ns(pids[0], BUSYBOX, "ping", "-c", "1", "-W", "2", results[19]["ip"])


def test_prune_and_force_remove(env):
    network = network_mod()
    name, subnet = env.bridge_name(), env.subnet()
    network.create_network(env.root, name, subnet)
    a, b = env.netns(), env.netns()
    ca = attach.connect(env.root, name, "5000000001", a)
    cb = attach.connect(env.root, name, "5000000002", b)
    hp = free_port()
    portsmod.publish(env.root, name, "5000000001", ca["ip"], ["%d:80" % hp])
    portsmod.publish(env.root, name, "5000000002", cb["ip"], ["%d:80" % (hp + 1 if hp < 65535 else 1)])
    # container a "crashes": its process dies (the kernel removes the veth with the netns)
    proc_a = [p for p in env.procs if p.pid == a][0]
    proc_a.kill()
    proc_a.wait()
    # and a stray veth of a crashed run hangs on the bridge
    run(["ip", "link", "add", "veth5000000009", "type", "veth", "peer", "name", "vp5000000009"])
    run(["ip", "link", "set", "veth5000000009", "master", name])
    # an address marked taken by nobody (a Go-tool crash)
    data = env.ipam_data()
    net = ipaddress.ip_network(subnet)
    ipam.allocate_in(data, net, str(net[100]))
    ipam.save(env.paths, data)
    removed = attach.prune(env.root, ["5000000002"])
    text = "\n".join(removed)
    assert "veth veth5000000009" in text
    assert text.count("5000000001") >= 3  # two rules and the address
    assert "ip %s" % net[100] in text
    assert "5000000002" not in text
    assert netlink_mod().link_info("veth5000000009") is None
    assert netlink_mod().link_info("vp5000000009") is None
    s = env.ipam_data()[subnet]
    assert s.count("1") == 4  # net, gw, b, broadcast
    assert not any("5000000001" in l for l in env.our_rules())
    assert attach.prune(env.root, ["5000000002"]) == []  # nothing left to prune
    # drift: a MASQUERADE rule deleted by hand
    spec = [sp for t, c, sp in ipt.find_rules(env.chains, "net", name) if "MASQUERADE" in sp][0]
    ipt.run(["-t", "nat", "-D", env.chains.post] + spec)
    assert any("MASQUERADE rule missing" in p for p in network.drift(env.root, name))
    # force removal detaches b
    with pytest.raises(MyDockerError, match="in use"):
        network.remove_network(env.root, name)
    network.remove_network(env.root, name, force=True)
    assert netlink_mod().link_info("veth5000000002") is None
    assert netlink_mod().link_info(name) is None
    assert env.our_rules() == []
    assert env.ipam_data() == {} and ipam.load_owners(env.paths) == {}


def test_ipam_in_place_beside_big_networks_and_go_tool_edits(env):
    """A connect and a disconnect change one byte of subnet.json where it is, whatever else the
    file holds (issue 13), and a file the Go tool rewrote meanwhile is taken over as it is."""
    network = network_mod()
    name, subnet = env.bridge_name(), env.subnet()
    network.create_network(env.root, name, subnet)
    # 20 other /16s in the file (data only: no bridge, no route, no traffic)
    data = env.ipam_data()
    for i in range(20):
        other = ipaddress.ip_network("10.%d.0.0/16" % (20 + i))
        ipam.reserve_subnet_in(data, other, other.network_address + 1)
    ipam.save(env.paths, data)
    with open(env.paths.ipam_file, "rb") as f:
        before = f.read()
    ino = os.stat(env.paths.ipam_file).st_ino
    a = attach.connect(env.root, name, "6000000001", env.netns())
    net = ipaddress.ip_network(subnet)
    assert a["ip"] == str(net[2])
    assert os.stat(env.paths.ipam_file).st_ino == ino
    assert env.ipam_data()[subnet].count("1") == 4
    attach.disconnect(env.root, name, "6000000001")
    assert os.stat(env.paths.ipam_file).st_ino == ino
    with open(env.paths.ipam_file, "rb") as f:
        assert f.read() == before
    # the Go tool rewrites the file in its own layout (keys sorted) and takes .2 for itself
    data = env.ipam_data()
    data[subnet] = ipam._set(data[subnet], 2, "1")
    with open(env.paths.ipam_file, "w") as f:
        f.write(json.dumps(data, sort_keys=True, separators=(",", ":")))
    pid_b = env.netns()
    b = attach.connect(env.root, name, "6000000002", pid_b)
    assert b["ip"] == str(net[3])
    got = env.ipam_data()
    assert got[subnet] == ipam._set(data[subnet], 3, "1")
    assert {k: v for k, v in got.items() if k != subnet} == {k: v for k, v in data.items() if k != subnet}
    assert b["ip"] in env.ns(pid_b, "ip", "-o", "-4", "addr").stdout
    network.remove_network(env.root, name, force=True)
    assert subnet not in env.ipam_data() and len(env.ipam_data()) == 20


def test_two_roots_side_by_side(env, tmp_path):
    network = network_mod()
    other = Env(tmp_path / "other")
    try:
        n1, n2 = env.bridge_name(), other.bridge_name()
        s1, s2 = env.subnet(), env.subnet()
        network.create_network(env.root, n1, s1)
        network.create_network(other.root, n2, s2)
        assert env.chains.post != other.chains.post
        # a host port published in one root is refused in the other (a DNAT holds no socket)
        hp = free_port()
        portsmod.publish(other.root, n2, "6000000001", str(ipaddress.ip_network(s2)[5]), ["%d:80" % hp])
        with pytest.raises(MyDockerError, match="another mydocker state root"):
            portsmod.publish(env.root, n1, "6000000002", str(ipaddress.ip_network(s1)[5]), ["%d:80" % hp])
        portsmod.publish(env.root, n1, "6000000002", str(ipaddress.ip_network(s1)[5]), ["%d:80" % (hp ^ 1)])
        portsmod.unpublish(env.root, "6000000002")
        network.remove_network(env.root, n1)
        assert env.our_rules() == []
        assert other.our_rules() != []
        assert network.drift(other.root, n2) == []
    finally:
        other.cleanup()
    assert other.our_rules() == []
