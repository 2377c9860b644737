"""Names between containers on a network (engine/net/names.py): each running member's
/etc/hosts lists the others by name and alias, containers started later included, removed ones
gone; --add-host, --dns, --dns-search; the bad input of names refused with nothing left behind.

Traffic only to containers these tests started on bridges they created (netfix.py)."""
import os

import netfix
import pytest
from netfix import get, hosts, web

nets = netfix.nets  # the fixture of these tests' own networks

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def test_containers_reach_each_other_by_name_and_alias(md, nets):
    n = nets.new()
    api = web(md, nets, "api", "--network", n, "--network-alias", "backend")
    md("run", "-d", "--name", "client", "--network", n, "busybox", "sleep", "300")
    assert "hello from mydocker" in get(md, "client", "http://api:8000/").out
    assert "hello from mydocker" in get(md, "client", "http://backend:8000/").out
    ping = md("exec", "client", "ping", "-c", "1", "-W", "2", "api", check=False)
    assert ping.returncode == 0 and api["ip"] in ping.out
    # and the other way round: api learnt of client when client started
    assert "%s\tclient" % md.inspect("client")["ip"] in hosts(md, "api")


def test_a_container_started_later_appears_and_a_removed_one_goes(md, nets):
    n = nets.new()
    md("run", "-d", "--name", "first", "--network", n, "busybox", "sleep", "300")
    cid = md.inspect("first")["id"]
    path = os.path.join(md.root, "containers", cid, "hosts")
    inode = os.stat(path).st_ino
    assert "later" not in hosts(md, "first")
    web(md, nets, "later", "--network", n)
    assert "hello from mydocker" in get(md, "first", "http://later:8000/").out
    assert os.stat(path).st_ino == inode  # rewritten in place: the bind mount sees it
    md("stop", "-t", "0", "later")
    assert "later" not in hosts(md, "first")
    md("start", "later")
    assert "later" in hosts(md, "first")
    md("rm", "-f", "later")
    assert "later" not in hosts(md, "first")  # (no lookup of it: that would ask the host's resolvers)


def test_an_attached_run_rm_leaves_its_network_as_it_found_it(md, nets):
    """The attached CLI removes the container itself (containers._Attached): its veth, DNAT rule,
    name and IP go with it, as when its monitor removes it."""
    import subprocess
    n = nets.new()
    md("run", "-d", "--name", "first", "--network", n, "busybox", "sleep", "300")
    links = set(os.listdir("/sys/class/net"))
    out = md("run", "--rm", "--name", "brief", "--network", n, "-p", "127.0.0.1::8000", "busybox", "sh", "-c",
             "ip -4 -o addr show eth0").out.split()
    ip = out[out.index("inet") + 1].split("/")[0]
    assert md.ids() == [md.inspect("first")["id"]]
    assert set(os.listdir("/sys/class/net")) == links
    rules = subprocess.run(["iptables-save"], stdout=subprocess.PIPE, check=True).stdout.decode()
    assert [ln for ln in rules.splitlines() if ip + ":" in ln or ip + "/" in ln] == []
    assert "brief" not in hosts(md, "first")
    md("run", "-d", "--name", "next", "--network", n, "busybox", "sleep", "300")
    assert md.inspect("next")["ip"] == ip  # released: the lowest free address again


def test_names_stay_on_their_network(md, nets):
    n1, n2 = nets.new(), nets.new()
    md("run", "-d", "--name", "one", "--network", n1, "busybox", "sleep", "300")
    md("run", "-d", "--name", "two", "--network", n2, "busybox", "sleep", "300")
    assert "two" not in hosts(md, "one") and "one" not in hosts(md, "two")


def test_add_host_dns_and_dns_search(md, nets):
    n = nets.new()
    gw = md("network", "inspect", n).out.split('"Gateway": "')[1].split('"')[0]
    md("run", "-d", "--name", "d", "--network", n, "--add-host", "db.internal:%s" % gw, "--dns", gw,
       "--dns-search", "corp.example", "--dns-search", "example", "busybox", "sleep", "300")
    assert "%s\tdb.internal" % gw in hosts(md, "d")
    resolv = md("exec", "d", "cat", "/etc/resolv.conf").out.splitlines()
    assert [ln for ln in resolv if ln.startswith("nameserver")] == ["nameserver %s" % gw]
    assert "search corp.example example" in resolv


def test_other_names_go_to_the_hosts_resolvers(md, nets):
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net.names import render_resolv
    n = nets.new()
    md("run", "-d", "--name", "r", "--network", n, "busybox", "sleep", "300")
    with open("/etc/resolv.conf") as f:
        want = render_resolv(f.read())
    assert md("exec", "r", "cat", "/etc/resolv.conf").out == want


@pytest.mark.parametrize("args,msg", [
    (["--network-alias", "holder"], "the name holder is already used on network {n} by container holder"),
    (["--name", "h2", "--network-alias", "ok", "--network-alias", "holder"],
     "the name holder is already used on network {n} by container holder"),
    (["--add-host", "nocolon"], "invalid --add-host 'nocolon': expected NAME:IP"),
    (["--dns", "not-an-ip"], "invalid --dns 'not-an-ip': not an IP address"),
])
def test_bad_names_are_one_line_and_change_nothing(md, nets, args, msg):
    n = nets.new()
    md("run", "-d", "--name", "holder", "--network", n, "--network-alias", "taken", "busybox", "sleep", "300")
    before = md.ids()
    p = md(*(["run", "-d", "--network", n] + args + ["busybox", "true"]), check=False)
    assert p.returncode != 0
    assert p.err.strip().splitlines() == ["mydocker: " + msg.format(n=n)] or \
        p.err.strip().startswith("mydocker: " + msg.format(n=n))
    assert len(p.err.strip().splitlines()) == 1
    assert md.ids() == before
