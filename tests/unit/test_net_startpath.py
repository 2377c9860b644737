"""The networked start path without root: a publish is one iptables-save and one
iptables-restore (chains, jumps, old rules and new rules together), and the rtnetlink messages
of net/rtnl.py are what IPRoute would send: the same bytes as pyroute2's own encoding of each
request, and decoded back with pyroute2 here."""
import contextlib
import ipaddress
import socket
import struct

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import iptables as ipt
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import ports, rtnl

C = ipt.Chains("/srv/md")
CID = "1234567890"


class Net:
    name = "n1"
    bridge = "br9"
    subnet = ipaddress.ip_network("10.9.0.0/24")


def _snap(with_dnat):
    t = C.tag
    nat = ":PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
    if with_dnat:
        nat += (":MYDOCKER-DNAT{t} - [0:0]\n"
                "-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment mydocker{t}:jump:MYDOCKER-DNAT{t}"
                " -j MYDOCKER-DNAT{t}\n"
                "-A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment mydocker{t}:jump:MYDOCKER-DNAT{t}"
                " -j MYDOCKER-DNAT{t}\n"
                "-A MYDOCKER-DNAT{t} -p tcp -m tcp --dport 7000 -m comment --comment mydocker{t}:ctr:{c}"
                " -j DNAT --to-destination 10.9.0.2:70\n")
    text = ("*nat\n" + nat + "COMMIT\n*filter\n:FORWARD ACCEPT [0:0]\n:MYDOCKER-FWD{t} - [0:0]\n"
            "-A FORWARD -m comment --comment mydocker{t}:jump:MYDOCKER-FWD{t} -j MYDOCKER-FWD{t}\n"
            "-A MYDOCKER-FWD{t} -i br9 -m comment --comment mydocker{t}:net:n1 -j ACCEPT\nCOMMIT\n")
    return ipt.parse_rules(text.replace("{t}", t).replace("{c}", CID))


@pytest.fixture
def fake_publish(monkeypatch):
    restored = []
    monkeypatch.setattr(ports, "_load", lambda paths, name: Net())
    monkeypatch.setattr(ports, "_container_records", lambda paths: {})
    monkeypatch.setattr(ports.ipam, "lock", lambda paths: contextlib.nullcontext())
    monkeypatch.setattr(ports, "_check_host_port_free", lambda p: None)
    monkeypatch.setattr(ipt, "restore", restored.append)
    monkeypatch.setattr(ipt, "run", lambda *a, **k: pytest.fail("an iptables process beside save and restore"))
    monkeypatch.setattr(ipt, "all_dnat_rules", lambda: pytest.fail("a second read of the nat table"))
    return restored


def test_first_publish_makes_chain_jumps_and_rules_in_one_restore(monkeypatch, fake_publish):
    saves = []
    monkeypatch.setattr(ipt, "snapshot", lambda: saves.append(1) or _snap(False))
    out = ports.publish("/srv/md", "n1", CID, "10.9.0.2", ["8080:80"])
    assert out == [{"host_ip": "", "host_port": 8080, "container_port": 80, "proto": "tcp"}]
    assert saves == [1] and len(fake_publish) == 1
    ops = fake_publish[0]
    assert ops["nat"][0] == ["-N", C.dnat]
    assert [o[:3] for o in ops["nat"][1:3]] == [["-I", "PREROUTING", "1"], ["-I", "OUTPUT", "1"]]
    assert ops["nat"][1][3:] == ["-m", "addrtype", "--dst-type", "LOCAL", "-m", "comment", "--comment",
                                 C.comment("jump", C.dnat), "-j", C.dnat]
    comment = ["-m", "comment", "--comment", C.comment("ctr", CID)]
    assert ops["nat"][3] == ["-A", C.dnat, "-p", "tcp", "-m", "tcp", "--dport", "8080"] + comment + [
        "-j", "DNAT", "--to-destination", "10.9.0.2:80"]
    # the filter chain and its jump exist: only the rule
    assert ops["filter"] == [["-A", C.fwd, "-d", "10.9.0.2", "-o", "br9", "-p", "tcp", "-m", "tcp",
                              "--dport", "80"] + comment + ["-j", "ACCEPT"]]


def test_a_restart_replaces_its_old_rules_in_the_same_restore(monkeypatch, fake_publish):
    monkeypatch.setattr(ipt, "snapshot", lambda: _snap(True))
    ports.publish("/srv/md", "n1", CID, "10.9.0.3", ["7000:70"])  # its own 7000 is no conflict
    ops = fake_publish[0]
    assert ops["nat"][0][:2] == ["-D", C.dnat] and "10.9.0.2:70" in ops["nat"][0]
    assert [o[0] for o in ops["nat"]] == ["-D", "-A"]  # chain and jumps are there already
    assert "10.9.0.3:70" in ops["nat"][1]


def test_another_containers_dnat_in_the_snapshot_is_a_conflict(monkeypatch, fake_publish):
    monkeypatch.setattr(ipt, "snapshot", lambda: _snap(True))
    with pytest.raises(MyDockerError) as e:
        ports.publish("/srv/md", "n1", "5555555555", "10.9.0.3", ["7000:70"])
    assert "host port 7000/tcp is already published by container %s" % CID in str(e.value)
    assert fake_publish == []


def test_a_refused_restore_cleans_up_and_goes_rule_by_rule(monkeypatch):
    monkeypatch.setattr(ports, "_load", lambda paths, name: Net())
    monkeypatch.setattr(ports, "_container_records", lambda paths: {})
    monkeypatch.setattr(ports.ipam, "lock", lambda paths: contextlib.nullcontext())
    monkeypatch.setattr(ports, "_check_host_port_free", lambda p: None)
    monkeypatch.setattr(ipt, "snapshot", lambda: _snap(False))

    def refuse(ops):
        raise MyDockerError("iptables-restore failed: no")
    monkeypatch.setattr(ipt, "restore", refuse)
    deleted, added = [], []
    monkeypatch.setattr(ipt, "delete_rules", lambda chains, scope, ident: deleted.append((scope, ident)) or [])
    monkeypatch.setattr(ipt.RuleSet, "add_many", lambda self, rules, scope, ident: added.append(len(rules)))
    ports.publish("/srv/md", "n1", CID, "10.9.0.2", ["8080:80"])
    assert deleted == [("ctr", CID)] and added == [2]


# ------------------------------------------------------------------ rtnl: the messages

class FakeSock:
    def __init__(self, code=0):
        self.sent, self.code = [], code

    def send(self, data):
        self.sent.append(bytes(data))

    def recv(self, size):
        length, typ, flags, seq, pid = struct.unpack_from("=IHHII", self.sent[-1])
        other = struct.pack("=IHHII", 20, rtnl.NLMSG_ERROR, 0, seq + 100, 0) + struct.pack("=i", 0)
        ack = struct.pack("=IHHII", 36, rtnl.NLMSG_ERROR, 0, seq, 0) + struct.pack("=i", -self.code) + \
            self.sent[-1][:16]
        return other + ack

    def close(self):
        pass


def _channel(code=0):
    ch = rtnl.Channel.__new__(rtnl.Channel)
    ch.sock, ch.seq = FakeSock(code), 0
    return ch


def _pyroute2(cls, kind, flags, seq, fields, attrs):
    """The same request encoded by pyroute2's message class (the reference)."""
    mod = {"ifinfmsg": "pyroute2.netlink.rtnl.ifinfmsg", "ifaddrmsg": "pyroute2.netlink.rtnl.ifaddrmsg",
           "rtmsg": "pyroute2.netlink.rtnl.rtmsg"}[cls]
    m = getattr(rtnl.pyroute2_module(mod), cls)()
    for k, v in fields.items():
        m[k] = v
    m["attrs"] = attrs
    m["header"]["type"] = kind
    m["header"]["flags"] = rtnl.NLM_F_REQUEST | rtnl.NLM_F_ACK | flags
    m["header"]["sequence_number"] = seq
    m["header"]["pid"] = 0
    m.encode()
    return bytes(m.data)


def _decoded(cls, data):
    mod = {"ifinfmsg": "pyroute2.netlink.rtnl.ifinfmsg", "ifaddrmsg": "pyroute2.netlink.rtnl.ifaddrmsg",
           "rtmsg": "pyroute2.netlink.rtnl.rtmsg"}[cls]
    m = getattr(rtnl.pyroute2_module(mod), cls)(data)
    m.decode()
    return m


def test_veth_request_is_pyroute2s_encoding_of_the_nested_peer():
    ch = _channel()
    ch.add_veth("veth1", "eth0", "02:42:0a:09:00:02", 7, master=5, up=True)
    info = {"attrs": [("IFLA_INFO_KIND", "veth"), ("IFLA_INFO_DATA", {"attrs": [("VETH_INFO_PEER", {"attrs": [
        ("IFLA_IFNAME", "eth0"), ("IFLA_ADDRESS", "02:42:0a:09:00:02"), ("IFLA_NET_NS_FD", 7)]})]})]}
    flags = rtnl.NLM_F_CREATE | rtnl.NLM_F_EXCL
    assert ch.sock.sent[0] == _pyroute2("ifinfmsg", rtnl.RTM_NEWLINK, flags, 1,
                                        {"family": 0, "index": 0, "flags": 1, "change": 1},
                                        [("IFLA_IFNAME", "veth1"), ("IFLA_MASTER", 5), ("IFLA_LINKINFO", info)])
    m = _decoded("ifinfmsg", ch.sock.sent[0])
    assert m["header"]["type"] == rtnl.RTM_NEWLINK
    assert m["header"]["flags"] == rtnl.NLM_F_REQUEST | rtnl.NLM_F_ACK | flags
    assert m["flags"] & rtnl.IFF_UP and m["change"] & rtnl.IFF_UP
    assert m.get_attr("IFLA_IFNAME") == "veth1" and m.get_attr("IFLA_MASTER") == 5
    li = m.get_attr("IFLA_LINKINFO")
    assert li.get_attr("IFLA_INFO_KIND") == "veth"
    peer = li.get_attr("IFLA_INFO_DATA").get_attr("VETH_INFO_PEER")
    assert peer.get_attr("IFLA_IFNAME") == "eth0"
    assert peer.get_attr("IFLA_ADDRESS") == "02:42:0a:09:00:02"
    assert peer.get_attr("IFLA_NET_NS_FD") == 7
    # without a master and not up: neither the attribute nor the flag
    ch.add_veth("veth123456789", "eth1", "02:42:0a:09:00:03", 9)
    m = _decoded("ifinfmsg", ch.sock.sent[1])
    assert m.get_attr("IFLA_MASTER") is None and (m["flags"], m["change"]) == (0, 0)
    assert m.get_attr("IFLA_IFNAME") == "veth123456789"


def test_link_requests_are_pyroute2s_encoding():
    ch = _channel()
    ch.set_up(4)
    ch.delete_link("veth12345")
    assert ch.sock.sent[0] == _pyroute2("ifinfmsg", rtnl.RTM_NEWLINK, 0, 1,
                                        {"family": 0, "index": 4, "flags": 1, "change": 1}, [])
    assert ch.sock.sent[1] == _pyroute2("ifinfmsg", rtnl.RTM_DELLINK, 0, 2,
                                        {"family": 0, "index": 0, "flags": 0, "change": 0},
                                        [("IFLA_IFNAME", "veth12345")])


def test_address_and_route_requests():
    ch = _channel()
    ch.add_address(3, "10.9.0.2", 24, "10.9.0.255")
    ch.add_default_route("10.9.0.1")
    flags = rtnl.NLM_F_CREATE | rtnl.NLM_F_EXCL
    assert ch.sock.sent[0] == _pyroute2("ifaddrmsg", rtnl.RTM_NEWADDR, flags, 1,
                                        {"family": socket.AF_INET, "prefixlen": 24, "index": 3},
                                        [("IFA_LOCAL", "10.9.0.2"), ("IFA_ADDRESS", "10.9.0.2"),
                                         ("IFA_BROADCAST", "10.9.0.255")])
    assert ch.sock.sent[1] == _pyroute2("rtmsg", rtnl.RTM_NEWROUTE, flags, 2,
                                        {"family": socket.AF_INET, "dst_len": 0, "table": 254, "proto": 3,
                                         "scope": 0, "type": 1},
                                        [("RTA_TABLE", 254), ("RTA_GATEWAY", "10.9.0.1")])
    a = _decoded("ifaddrmsg", ch.sock.sent[0])
    assert (a["family"], a["prefixlen"], a["index"]) == (socket.AF_INET, 24, 3)
    want = ["10.9.0.2", "10.9.0.2", "10.9.0.255"]
    assert [a.get_attr(k) for k in ("IFA_LOCAL", "IFA_ADDRESS", "IFA_BROADCAST")] == want
    r = _decoded("rtmsg", ch.sock.sent[1])
    assert (r["dst_len"], r["table"], r["type"]) == (0, 254, 1)
    assert r.get_attr("RTA_GATEWAY") == "10.9.0.1" and r["header"]["sequence_number"] == 2


def test_a_kernel_error_is_a_netlink_error_with_the_errno():
    ch = _channel(code=17)
    with pytest.raises(rtnl.NetlinkError) as e:
        ch.delete_link("veth1")
    assert e.value.code == 17 and str(e.value) == "(17, 'File exists')"


def test_the_start_path_loads_no_pyroute2():
    """What a networked start and rm import: rtnl and netlink without any pyroute2 module, and
    (for a create, which reads network records) neither hashlib, shutil nor subprocess."""
    import subprocess
    import sys
    code = ("import sys\n"
            "from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import networks, ports\n"
            "print(sorted(m for m in ('hashlib', 'shutil', 'subprocess') if m in sys.modules))\n"
            "from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import netlink, rtnl, attach\n"
            "ch = rtnl.Channel.__new__(rtnl.Channel)\n"
            "rtnl.ifinfomsg(attrs=[rtnl.attr_str(rtnl.IFLA_IFNAME, 'x')])\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pyroute2'))\n")
    out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, check=True,
                         env=dict(__import__("os").environ, PYTHONPATH=":".join(sys.path))).stdout
    assert out.decode().split("\n")[:2] == ["[]", "[]"]


def test_link_and_address_reads_answer_as_pyroute2_for_every_host_link():
    """rtnl's two reads (one link by name, one link's IPv4 addresses) against pyroute2's
    IPRoute on this host's own links (read only); then netlink.link_infos, which drift uses."""
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import netlink
    ipr = rtnl.pyroute2_module("pyroute2.iproute.linux").IPRoute()
    try:
        want = {}
        for link in ipr.get_links():
            li = link.get_attr("IFLA_LINKINFO")
            idx = link["index"]
            want[link.get_attr("IFLA_IFNAME")] = {
                "index": idx, "kind": li.get_attr("IFLA_INFO_KIND") if li is not None else None,
                "up": bool(link["flags"] & 1), "master": link.get_attr("IFLA_MASTER"),
                "addresses": ["%s/%d" % (a.get_attr("IFA_ADDRESS"), a["prefixlen"])
                              for a in ipr.get_addr(family=socket.AF_INET, index=idx)]}
    finally:
        ipr.close()
    assert "lo" in want and "127.0.0.1/8" in want["lo"]["addresses"]
    with rtnl.Channel() as ch:
        for name, info in want.items():
            got = ch.link(name)
            got["addresses"] = ch.addresses(got["index"])
            assert got == info, name
        assert ch.link("nosuchlink0") is None
    names = sorted(want) + ["nosuchlink0", "x" * 16, ""]
    assert netlink.link_infos(names) == [want.get(n) for n in names]
    assert netlink.link_info("lo") == want["lo"]


def test_a_refused_query_is_a_netlink_error():
    ch = _channel(code=1)
    with pytest.raises(rtnl.NetlinkError) as e:
        ch.link("lo")
    assert e.value.code == 1
    hdr = struct.unpack_from("=IHHII", ch.sock.sent[0])
    assert hdr[1] == rtnl.RTM_GETLINK and hdr[2] == rtnl.NLM_F_REQUEST  # a GET without an ACK asked


def test_presence_is_read_from_the_snapshot_and_asked_of_iptables_only_when_missing(monkeypatch):
    snap = _snap(False)
    asked = []
    monkeypatch.setattr(ipt, "run", lambda args, **kw: asked.append(args) or (1, "", ""))
    assert ipt.rule_present(C, "filter", C.fwd, ["-i", "br9", "-j", "ACCEPT"], "net", "n1", snap)
    assert ipt.jump_present(C, "filter", "FORWARD", [], C.fwd, snap)
    assert asked == []
    # not as printed in the snapshot: iptables -C has the last word (here: absent)
    assert not ipt.rule_present(C, "filter", C.fwd, ["-o", "br9", "-j", "ACCEPT"], "net", "n1", snap)
    assert not ipt.jump_present(C, "nat", "POSTROUTING", [], C.post, snap)
    assert [a[:4] for a in asked] == [["-t", "filter", "-C", C.fwd], ["-t", "nat", "-C", "POSTROUTING"]]
    # without a snapshot (iptables-save unreadable): -C, as before, and its answer
    monkeypatch.setattr(ipt, "run", lambda args, **kw: asked.append(args) or (0, "", ""))
    assert ipt.rule_present(C, "filter", C.fwd, ["-i", "br9", "-j", "ACCEPT"], "net", "n1")
    assert len(asked) == 3


# ------------------------------------------------------------------ iptables: reading rules fast

def test_split_rule_is_shlex_split():
    import random
    import shlex
    cases = ['-A X -m comment --comment "mydocker:ctr:1" -j Y', '-A X -m comment --comment "" -j Y',
             '-A X --c a"b"c -j Y', "-A X --c 'q r' -j Y", '-A X --c "a\\"b" -j Y', '-A X "a""b"', '"x" y',
             '-A X\t"t ab"\t-j Y', '-A X "unterminated']
    rnd = random.Random(13)
    cases += ["".join(rnd.choice('ab -"\t\'\\') for _i in range(rnd.randint(0, 14))) for _n in range(5000)]
    for c in cases:
        try:
            want = shlex.split(c)
        except ValueError:
            with pytest.raises(ValueError):
                ipt.split_rule(c)
            continue
        assert ipt.split_rule(c) == want, c
