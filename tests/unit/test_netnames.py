# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure parts of names between containers and of network modes: engine/net/names.py,
engine/net/netmode.py and planning/netopts.py (no root, nothing on the host)."""

import os

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import names, netmode
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import netopts
from ansible_collections.mydocker.runtime.plugins.module_utils.planning.options import MISSING


def rec(cid, name, nets=None, old=None, **kw):
    r = {"id": cid, "name": name, "hostname": cid}
    if old:  # a record from before the "networks" key
        r.update(networkName=old[0], ip=old[1])
    if nets is not None:
        r["networks"] = nets
        if nets:
            r.update(networkName=nets[0]["name"], ip=nets[0].get("ip", ""))
    r.update(kw)
    return r


def test_an_old_record_has_its_one_network():
    assert names.attachments(rec("1", "a", old=("n1", "10.0.0.2"))) == [
        {"name": "n1", "ip": "10.0.0.2", "aliases": []}]
    assert names.attachments(rec("1", "a")) == []


def test_the_go_keys_name_the_first_address():
    r = rec("1", "a", nets=[{"name": "n1", "ip": "", "aliases": []}])
    r["ip"] = "10.0.0.9"
    assert names.attachments(r)[0]["ip"] == "10.0.0.9"


def test_hosts_list_peers_on_shared_networks_only():
    me = rec("1", "web", nets=[{"name": "n1", "ip": "10.0.0.2", "aliases": []},
                               {"name": "n2", "ip": "10.0.1.2", "aliases": []}],
             extraHosts=[["db.example", "10.0.0.99"]])
    api = rec("2", "api", nets=[{"name": "n1", "ip": "10.0.0.3", "aliases": ["backend"]}])
    other = rec("3", "other", nets=[{"name": "n3", "ip": "10.0.3.3", "aliases": []}])
    cache = rec("4", "cache", old=("n2", "10.0.1.4"))
    text = names.render_hosts(me, [me, api, other, cache])
    assert text.splitlines() == [
        "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
        "10.0.0.2\t1", "10.0.1.2\t1", "10.0.0.99\tdb.example",
        "10.0.0.3\tapi backend", "10.0.1.4\tcache"]


def test_a_container_without_network_has_its_name_on_127_0_1_1():
    assert names.render_hosts(rec("1", "a"), []).splitlines()[-1] == "127.0.1.1\t1"


def test_resolv_conf():
    host = "nameserver 127.0.0.53\nnameserver 192.0.2.1\nsearch corp\noptions ndots:2\n"
    assert names.render_resolv(host) == "nameserver 192.0.2.1\nsearch corp\noptions ndots:2\n"
    assert names.render_resolv(host, ["10.1.1.1"], ["a.example", "b"]) == \
        "options ndots:2\nnameserver 10.1.1.1\nsearch a.example b\n"


@pytest.mark.parametrize("item,msg", [
    ("foo", "invalid --add-host 'foo': expected NAME:IP"),
    ("foo:1.2.3", "invalid --add-host 'foo:1.2.3': '1.2.3' is not an IP address"),
    ("-x:1.2.3.4", "invalid --add-host '-x:1.2.3.4': '-x' is not a host name"),
])
def test_bad_add_host_is_one_line(item, msg):
    with pytest.raises(MyDockerError) as e:
        names.parse_add_host(item)
    assert str(e.value) == msg


def test_add_host_dns_and_search():
    assert names.parse_add_host("db:10.0.0.5") == ("db", "10.0.0.5")
    assert names.parse_dns(["10.0.0.1"]) == ["10.0.0.1"]
    with pytest.raises(MyDockerError, match="invalid --dns 'x'"):
        names.parse_dns(["x"])
    with pytest.raises(MyDockerError, match="not a domain name"):
        names.parse_dns_search(["a..b"])


def test_a_name_clash_on_a_network():
    api = rec("2", "api", nets=[{"name": "n1", "ip": "10.0.0.3", "aliases": ["backend"]}])
    assert names.clash("web", ["x", "api"], "n1", [api]) == \
        "the name api is already used on network n1 by container api"
    assert names.clash("web", ["backend"], "n1", [api]) is None  # an alias may be shared, as in Docker
    assert names.clash("web", ["api"], "n2", [api]) is None


def test_write_in_place_keeps_the_inode_and_is_valid_when_shorter(tmp_path):
    p = str(tmp_path / "hosts")
    with open(p, "w") as f:
        f.write("127.0.0.1\tlocalhost\n10.0.0.3\tapi\n10.0.0.4\tdb with a long line\n")
    ino = os.stat(p).st_ino
    names.write_in_place(p, "127.0.0.1\tlocalhost\n")
    assert os.stat(p).st_ino == ino
    assert open(p).read() == "127.0.0.1\tlocalhost\n"
    names.write_in_place(p, "127.0.0.1\tlocalhost\n10.0.0.7\tnew\n")
    assert open(p).read() == "127.0.0.1\tlocalhost\n10.0.0.7\tnew\n" and os.stat(p).st_ino == ino


def test_write_in_place_pads_before_it_truncates(tmp_path, monkeypatch):
    """What a crash between the write and the truncate leaves: the new lines, then a comment."""
    p = str(tmp_path / "hosts")
    with open(p, "w") as f:
        f.write("127.0.0.1\tlocalhost\n10.0.0.3\tapi\n")
    monkeypatch.setattr(os, "ftruncate", lambda fd, n: None)
    names.write_in_place(p, "1.2.3.4\tx\n")
    text = open(p).read()
    assert text.startswith("1.2.3.4\tx\n#") and text.endswith("\n") and len(text.splitlines()) == 2


@pytest.mark.parametrize("kw,msg", [
    (dict(network="host", ports=["80:80"]), "publishing ports is not possible with --network host"),
    (dict(network="none", networks=["n1"]), "network mode none cannot be combined with network n1"),
    (dict(networks=["n1", "n1"]), "network n1 is given twice"),
    (dict(network="none", ip="10.0.0.2"), "a fixed IP address needs a bridge network"),
    (dict(aliases=["a"]), "a network alias needs a network"),
    (dict(networks=["host", "container:x"]), "network mode host cannot be combined with container:x"),
    (dict(network="n1", aliases=["-bad"]), "invalid network alias '-bad'"),
])
def test_bad_network_arguments(kw, msg):
    with pytest.raises(MyDockerError) as e:
        netmode.normalize(**kw)
    assert str(e.value).startswith(msg)


def test_network_arguments():
    assert netmode.normalize() == ("", [])
    assert netmode.normalize(network="none") == ("none", [])
    assert netmode.normalize(network_mode="container:db") == ("container:db", [])
    got = netmode.normalize(network="n1", ip="10.0.0.5", aliases=["a", "a"],
                            networks=[{"name": "n2", "ipv4_address": "10.0.1.5", "aliases": "b"}])
    assert got == ("", [{"name": "n1", "ip": "10.0.0.5", "aliases": ["a"]},
                        {"name": "n2", "ip": "10.0.1.5", "aliases": ["b"]}])
    assert netmode.normalize(network_mode="n1")[1][0]["name"] == "n1"


def test_module_networks_compare_as_community_docker():
    current = [{"name": "n1", "ipv4_address": "10.0.0.2", "aliases": []},
               {"name": "n2", "ipv4_address": "10.0.1.2", "aliases": ["x"]}]
    wish = netopts.norm_networks([{"name": "n2"}])
    assert netopts.same_networks(wish, current)  # without purge, n1 stays
    wish = netopts.norm_networks([{"name": "n2"}], {"purge_networks": True})
    assert netopts.network_changes(wish, current) == ([], ["n1"])
    wish = netopts.norm_networks([{"name": "n2", "aliases": ["y"]}, "n3"])
    connect, disconnect = netopts.network_changes(wish, current)
    assert [w["name"] for w in connect] == ["n2", "n3"] and disconnect == ["n2"]
    assert [n["name"] for n in netopts.networks_after(wish, current)] == ["n1", "n2", "n3"]
    with pytest.raises(MyDockerError, match="networks: network n1 is listed twice"):
        netopts.norm_networks(["n1", {"name": "n1"}])
    with pytest.raises(MyDockerError, match="networks: unknown key"):
        netopts.norm_networks([{"name": "n1", "ipv4": "1"}])


def test_module_network_mode_and_etc_hosts():
    assert netopts.norm_network_mode("none") == "none"
    assert netopts.norm_network_mode("n1") == "n1"
    assert netopts.current_network_mode({"networkName": "n1"}) == "n1"
    assert netopts.current_network_mode({}) == "none"
    assert netopts.current_network_mode({"networkMode": "host"}) == "host"
    assert netopts.norm_etc_hosts({"db": "10.0.0.5"}) == {"db": "10.0.0.5"}
    with pytest.raises(MyDockerError, match="^etc_hosts: invalid --add-host"):
        netopts.norm_etc_hosts({"db": "nope"})


def test_a_new_container_is_predicted_as_its_record_will_read():
    out = netopts.predicted({"network": "", "networks": netopts.norm_networks([{"name": "n1"}]),
                             "network_mode": MISSING, "dns_servers": MISSING, "dns_search_domains": MISSING,
                             "etc_hosts": MISSING}, MISSING)
    assert out["network_mode"] == "n1" and out["networks"] == [{"name": "n1", "ipv4_address": "", "aliases": []}]
    assert (out["dns_servers"], out["dns_search_domains"], out["etc_hosts"]) == ([], [], {})
    args = netopts.create_args({"networks": netopts.norm_networks([{"name": "n1", "aliases": ["a"]}]),
                                "network_mode": MISSING, "dns_servers": ["10.0.0.1"],
                                "dns_search_domains": MISSING, "etc_hosts": {"x": "10.0.0.9"}}, MISSING)
    assert args == {"networks": [{"name": "n1", "ipv4_address": "", "aliases": ["a"]}], "dns": ["10.0.0.1"],
                    "add_hosts": {"x": "10.0.0.9"}}


# ------------------------------------------------------------------ the planner with the network options

def _decide(**params):
    import copy

    from ansible_collections.mydocker.runtime.plugins.module_utils.planning import container as cp
    record = {"id": "1234567890", "name": "web", "image": "busybox", "layer": "aaaa", "cmd": ["sleep", "1"],
              "networkName": "n1", "ip": "10.9.0.2", "hostname": "web", "restartPolicy": {"name": "no"},
              "networks": [{"name": "n1", "ip": "10.9.0.2", "aliases": ["w"]}],
              "dns": [], "dnsSearch": [], "extraHosts": []}
    image = {"name": "busybox", "layer": "aaaa", "config": {}}
    p = dict(name="web", state="started", image="busybox", command=["sleep", "1"], detach=True, stop_timeout=1)
    p.update(params)
    return cp.decide(p, cp.Facts(record=copy.deepcopy(record), status="running", image=image))


def test_the_planner_connects_in_place_and_recreates_for_dns():
    p = _decide(networks=[{"name": "n1", "aliases": ["w"]}, {"name": "n2"}])
    assert p.actions == ["connect: n2"] and [s.op for s in p.steps] == ["networks"]
    assert [n["name"] for n in p.after["networks"]] == ["n1", "n2"]
    assert _decide(networks=[{"name": "n1"}]).actions == []
    assert _decide(networks=[{"name": "n2"}], purge_networks=True).actions == ["disconnect: n1", "connect: n2"]
    assert _decide(networks=[{"name": "n1", "aliases": []}]).actions == ["reconnect: n1"]
    assert _decide(dns_servers=["10.9.0.1"]).actions == ["recreate: dns_servers changed", "start"]
    assert _decide(network_mode="n1").actions == []
    assert _decide(network_mode="host").actions == ["recreate: network_mode changed", "start"]
    step = _decide(network_mode="none", etc_hosts={"x": "10.9.0.7"}).find("recreate")
    assert step.args["options"]["network_mode"] == "none" and step.args["options"]["add_hosts"] == {"x": "10.9.0.7"}
