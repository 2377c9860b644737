"""IPAM: pure logic and the locked file functions (no root, no netlink)."""
import ipaddress
import json
import os
import threading

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import ipam
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import Paths

NET = ipaddress.ip_network("192.168.0.0/24")
GW = ipaddress.ip_address("192.168.0.1")


def fresh(net=NET, gw=GW):
    return ipam.reserve_subnet_in({}, net, gw)


def test_reserve_marks_network_gateway_broadcast():
    data = fresh()
    s = data["192.168.0.0/24"]
    assert len(s) == 256
    assert s[0] == "1" and s[1] == "1" and s[255] == "1"
    assert s.count("1") == 3
    assert s.startswith("1100000")


def test_allocation_order_first_free():
    data = fresh()
    got = [str(ipam.allocate_in(data, NET)) for dummy in range(3)]
    assert got == ["192.168.0.2", "192.168.0.3", "192.168.0.4"]
    assert ipam.release_in(data, NET, "192.168.0.3")
    assert str(ipam.allocate_in(data, NET)) == "192.168.0.3"
    assert str(ipam.allocate_in(data, NET)) == "192.168.0.5"


def test_gateway_not_first_address():
    gw = ipaddress.ip_address("192.168.0.254")
    data = fresh(gw=gw)
    assert str(ipam.allocate_in(data, NET)) == "192.168.0.1"
    assert data["192.168.0.0/24"][254] == "1"


def test_requested_ip():
    data = fresh()
    assert str(ipam.allocate_in(data, NET, "192.168.0.77")) == "192.168.0.77"
    with pytest.raises(MyDockerError, match="already taken"):
        ipam.allocate_in(data, NET, "192.168.0.77")
    with pytest.raises(MyDockerError, match="already taken"):
        ipam.allocate_in(data, NET, "192.168.0.1")  # the gateway
    with pytest.raises(MyDockerError, match="outside the subnet"):
        ipam.allocate_in(data, NET, "10.0.0.5")
    with pytest.raises(MyDockerError, match="network address"):
        ipam.allocate_in(data, NET, "192.168.0.0")
    with pytest.raises(MyDockerError, match="broadcast address"):
        ipam.allocate_in(data, NET, "192.168.0.255")
    with pytest.raises(MyDockerError, match="invalid IP"):
        ipam.allocate_in(data, NET, "192.168.0.300")
    # the first free is still .2
    assert str(ipam.allocate_in(data, NET)) == "192.168.0.2"


def test_exhausted_and_release():
    net = ipaddress.ip_network("10.9.9.0/29")  # 8 addresses: net, gw, 5 hosts, broadcast
    data = fresh(net, net.network_address + 1)
    got = [str(ipam.allocate_in(data, net)) for dummy in range(5)]
    assert got == ["10.9.9.%d" % i for i in range(2, 7)]
    before = dict(data)
    with pytest.raises(MyDockerError, match="exhausted"):
        ipam.allocate_in(data, net)
    assert data == before  # nothing changed
    assert ipam.release_in(data, net, "10.9.9.4")
    assert not ipam.release_in(data, net, "10.9.9.4")  # already free
    assert not ipam.release_in(data, net, "10.9.9.0")  # never the network address
    assert not ipam.release_in(data, net, "10.9.9.7")  # nor the broadcast
    assert str(ipam.allocate_in(data, net)) == "10.9.9.4"


def test_go_tool_short_string_read_as_is():
    # The Go tool may store fewer characters than the subnet has: missing means free.
    data = {"192.168.0.0/24": "111001"}
    assert str(ipam.allocate_in(data, NET)) == "192.168.0.3"
    assert str(ipam.allocate_in(data, NET)) == "192.168.0.4"
    assert str(ipam.allocate_in(data, NET)) == "192.168.0.6"
    s = data["192.168.0.0/24"]
    assert len(s) == 256 and s[255] == "1"  # broadcast is never handed out
    # a string that never marked network/broadcast: still never handed out
    data = {"192.168.0.0/24": "0" * 256}
    assert str(ipam.allocate_in(data, NET, reserved=(GW,))) == "192.168.0.2"
    with pytest.raises(MyDockerError, match="broadcast"):
        ipam.allocate_in(data, NET, "192.168.0.255")


def test_other_subnets_untouched():
    other = ipaddress.ip_network("10.1.0.0/24")
    data = fresh()
    ipam.reserve_subnet_in(data, other, other.network_address + 1)
    snapshot = data["10.1.0.0/24"]
    ipam.allocate_in(data, NET)
    assert data["10.1.0.0/24"] == snapshot
    ipam.drop_subnet_in(data, NET)
    assert list(data) == ["10.1.0.0/24"]


def test_taken_in():
    data = fresh()
    ipam.allocate_in(data, NET, "192.168.0.9")
    assert [str(a) for a in ipam.taken_in(data, NET)] == ["192.168.0.1", "192.168.0.9"]


@pytest.mark.parametrize("bad,msg", [
    ("192.168.0.0", "CIDR"), ("192.168.0.0/33", "CIDR"), ("300.1.1.0/24", "CIDR"),
    ("abc", "CIDR"), ("", "CIDR"), ("fd00::/64", "IPv4"), ("10.0.0.0/31", "too small"),
    ("10.0.0.0/32", "too small"), ("10.0.0.0/8", "too large"),
])
def test_parse_subnet_errors(bad, msg):
    with pytest.raises(MyDockerError, match=msg):
        ipam.parse_subnet(bad)


def test_parse_subnet_normalises_host_bits():
    assert str(ipam.parse_subnet("192.168.0.7/24")) == "192.168.0.0/24"
    assert str(ipam.parse_subnet("10.0.0.0/30")) == "10.0.0.0/30"


# ---------------------------------------------------------------------------------------------
# files under the lock

def test_file_allocate_release_owners(tmp_path):
    paths = Paths(str(tmp_path))
    paths.ensure()
    ipam.reserve_subnet(paths, NET, GW)
    a = ipam.allocate(paths, NET, owner="1111111111")
    b = ipam.allocate(paths, NET, owner="2222222222")
    assert (a, b) == ("192.168.0.2", "192.168.0.3")
    raw = json.load(open(paths.ipam_file))
    assert list(raw) == ["192.168.0.0/24"]
    assert raw["192.168.0.0/24"].startswith("11110") and len(raw["192.168.0.0/24"]) == 256
    assert ipam.load_owners(paths) == {"192.168.0.0/24": {a: "1111111111", b: "2222222222"}}
    # the holder gets its own address back; another container does not
    assert ipam.allocate(paths, NET, a, owner="1111111111") == a
    with pytest.raises(MyDockerError, match="already taken"):
        ipam.allocate(paths, NET, a, owner="3333333333")
    # release by another owner is refused, by the holder works
    assert not ipam.release(paths, NET, a, owner="2222222222")
    assert ipam.release(paths, NET, a, owner="1111111111")
    assert ipam.addresses_of(paths, "1111111111") == []
    assert ipam.addresses_of(paths, "2222222222") == [("192.168.0.0/24", b)]
    ipam.drop_subnet(paths, NET)
    assert json.load(open(paths.ipam_file)) == {}
    assert ipam.load_owners(paths) == {}
    # no temp files left behind by the atomic writes
    assert sorted(os.listdir(paths.ipam_dir)) == ["owners.json", "subnet.json"]


def test_go_tool_file_read_as_is(tmp_path):
    paths = Paths(str(tmp_path))
    paths.ensure()
    # exactly what the Go tool writes after `network create` (gateway .1 taken), plus a /22
    # written short, as the Go tool may do; no owners.json
    with open(paths.ipam_file, "w") as f:
        f.write('{"192.168.0.0/24":"11%s1","10.4.0.0/22":"1110"}' % ("0" * 253))
    big = ipaddress.ip_network("10.4.0.0/22")
    assert ipam.allocate(paths, big) == "10.4.0.3"
    assert ipam.allocate(paths, NET, reserved=(GW,)) == "192.168.0.2"
    raw = json.load(open(paths.ipam_file))
    assert raw["192.168.0.0/24"].startswith("1110") and len(raw["192.168.0.0/24"]) == 256


def test_threads_get_distinct_addresses(tmp_path):
    paths = Paths(str(tmp_path))
    paths.ensure()
    ipam.reserve_subnet(paths, NET, GW)
    got, errors = [], []

    def worker(i):
        try:
            got.append(ipam.allocate(paths, NET, owner="%010d" % i))
        except Exception as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(got)) == 30
    s = json.load(open(paths.ipam_file))["192.168.0.0/24"]
    assert s.count("1") == 33 and len(s) == 256
    assert len(ipam.load_owners(paths)["192.168.0.0/24"]) == 30


def test_lock_is_reentrant(tmp_path):
    paths = Paths(str(tmp_path))
    paths.ensure()
    ipam.reserve_subnet(paths, NET, GW)
    with ipam.lock(paths):
        with ipam.lock(paths):
            assert ipam.allocate(paths, NET) == "192.168.0.2"


def test_slash16_with_thousands_taken(tmp_path):
    """Sanity (no timing assertion): a /16 with 60000 addresses taken among many networks."""
    paths = Paths(str(tmp_path))
    paths.ensure()
    big = ipaddress.ip_network("10.20.0.0/16")
    data = ipam.reserve_subnet_in({}, big, big.network_address + 1)
    data[str(big)] = "1" * 60000 + data[str(big)][60000:]
    for i in range(50):  # many other networks in the same file
        n = ipaddress.ip_network("172.16.%d.0/24" % i)
        ipam.reserve_subnet_in(data, n, n.network_address + 1)
    ipam.save(paths, data)
    got = [ipam.allocate(paths, big, reserved=(big.network_address + 1,)) for dummy in range(200)]
    first = ipaddress.ip_address("10.20.0.0") + 60000
    assert got[0] == str(first)
    assert len(set(got)) == 200
    assert ipam.free_count_in(ipam.load(paths), big) == 65536 - 60000 - 1 - 200
    with pytest.raises(MyDockerError, match="already taken"):
        ipam.allocate(paths, big, "10.20.0.77")


def test_owner_links_one_per_address(tmp_path):
    """Owners are one symlink per address (ip -> container id), not a file that grows with the
    fill; owners.json stays (empty) for earlier versions."""
    paths = Paths(str(tmp_path))
    paths.ensure()
    ipam.reserve_subnet(paths, NET, GW)
    a = ipam.allocate(paths, NET, owner="1111111111")
    d = ipam.owners_dir(paths, NET)
    assert d == os.path.join(str(tmp_path), "network", "ipam-owners", "192.168.0.0_24")
    assert os.listdir(d) == [a] and os.readlink(os.path.join(d, a)) == "1111111111"
    assert json.load(open(ipam.owners_file(paths))) == {}
    b = ipam.allocate(paths, NET, owner="2222222222")
    assert ipam.release(paths, NET, a, owner="1111111111")
    assert os.listdir(d) == [b]
    assert ipam.release(paths, NET, b, owner="2222222222")
    assert not os.path.exists(d) and not os.path.exists(ipam.owners_dir(paths))  # gone with the last owner
    ipam.drop_subnet(paths, NET)
    assert not os.path.exists(d)


def test_owners_json_of_an_earlier_version_taken_over_as_is(tmp_path):
    paths = Paths(str(tmp_path))
    paths.ensure()
    ipam.reserve_subnet(paths, NET, GW)
    data = ipam.load(paths)
    for ip in ("192.168.0.2", "192.168.0.3"):
        ipam.allocate_in(data, NET, ip)
    ipam.save(paths, data)
    legacy = {"192.168.0.0/24": {"192.168.0.2": "1111111111", "192.168.0.3": "2222222222"}}
    with open(ipam.owners_file(paths), "w") as f:
        json.dump(legacy, f)
    assert ipam.load_owners(paths) == legacy
    assert ipam.addresses_of(paths, "2222222222") == [("192.168.0.0/24", "192.168.0.3")]
    # its owners keep their addresses: start takes its own back, another container does not get it
    assert ipam.allocate(paths, NET, "192.168.0.2", owner="1111111111") == "192.168.0.2"
    with pytest.raises(MyDockerError, match="already taken"):
        ipam.allocate(paths, NET, "192.168.0.2", owner="3333333333")
    assert not ipam.release(paths, NET, "192.168.0.2", owner="2222222222")
    c = ipam.allocate(paths, NET, owner="3333333333")
    assert c == "192.168.0.4"
    assert ipam.load_owners(paths) == {"192.168.0.0/24": dict(legacy["192.168.0.0/24"], **{c: "3333333333"})}
    # released: the entry leaves owners.json, the rest of it stays as it was
    assert ipam.release(paths, NET, "192.168.0.2", owner="1111111111")
    assert json.load(open(ipam.owners_file(paths))) == {"192.168.0.0/24": {"192.168.0.3": "2222222222"}}
    assert not ipam.is_taken_in(ipam.load(paths), NET, ipaddress.ip_address("192.168.0.2"))
    ipam.save_owners(paths, {"192.168.0.0/24": {"192.168.0.9": "4444444444"}})
    assert ipam.load_owners(paths) == {"192.168.0.0/24": {"192.168.0.9": "4444444444"}}
    assert json.load(open(ipam.owners_file(paths))) == {}
