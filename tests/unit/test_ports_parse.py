# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The port spellings Docker accepts (issue 11): ranges, a bare container port, a host range
for one container port, UDP, a host IP; IPv6 refused in one line; --expose and -P; the rules of
a range added in one iptables-restore per table (no iptables is run here)."""

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import iptables as ipt
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import ports


def P(hp, cp, ip="", proto="tcp", **kw):
    return dict({"host_ip": ip, "host_port": hp, "container_port": cp, "proto": proto}, **kw)


@pytest.mark.parametrize("spec, want", [
    ("8080:80", [P(8080, 80)]),
    ("127.0.0.1:8080:80", [P(8080, 80, "127.0.0.1")]),
    ("0.0.0.0:8080:80", [P(8080, 80)]),
    ("53:53/udp", [P(53, 53, proto="udp")]),
    ("53:53/UDP", [P(53, 53, proto="udp")]),
    ("5000-5002:6000-6002", [P(5000, 6000), P(5001, 6001), P(5002, 6002)]),
    ("127.0.0.1:5000-5001:80-81", [P(5000, 80, "127.0.0.1"), P(5001, 81, "127.0.0.1")]),
    ("9001", [P(0, 9001, auto=True)]),
    (9001, [P(0, 9001, auto=True)]),
    ("9001-9002/udp", [P(0, 9001, proto="udp", auto=True), P(0, 9002, proto="udp", auto=True)]),
    ("127.0.0.1::9001", [P(0, 9001, "127.0.0.1", auto=True)]),
    ("9010-9050:9010", [P(0, 9010, auto=True, host_range="9010-9050")]),
    ("9010-9010:9010", [P(9010, 9010)]),
])
def test_docker_spellings(spec, want):
    assert ports.parse_publish_list(spec) == want


@pytest.mark.parametrize("spec, words", [
    ("[::1]:8080:80", "IPv6 host addresses are not supported: the NAT of mydocker is IPv4 only"),
    ("[::1:2000:3000", "closing ']'"),
    ("::1:2000:3000", "an IPv6 address needs square brackets"),
    ("foo:2000:3000", "is not an IPv4 address (a host name is not accepted)"),
    ("8080:80/sctp", "protocol must be tcp or udp"),
    ("5000-5010:80-81", "not of the same length"),
    ("8080:5000-5001", "not of the same length"),
    ("5010-5000:80", "ends before it starts"),
    ("0:80", "out of range"),
    ("8080:70000", "out of range"),
    ("a:80", "is not a port number"),
    ("", "expected"),
])
def test_refused_in_one_line(spec, words):
    with pytest.raises(MyDockerError) as e:
        ports.parse_publish_list(spec)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_parse_publish_is_one_port_and_reads_record_dicts():
    assert ports.parse_publish("127.0.0.1:8080:80/udp") == P(8080, 80, "127.0.0.1", "udp")
    with pytest.raises(MyDockerError):
        ports.parse_publish("5000-5001:5000-5001")
    # a record from before issue 11 (no auto key) and one with a chosen host port
    assert ports.parse_publish({"host_ip": "", "host_port": 8080, "container_port": 80, "proto": "tcp"}) == P(8080, 80)
    chosen = P(32768, 9001, auto=True, host_range="32768-32800")
    assert ports.parse_publish(dict(chosen)) == chosen


def test_expose_and_publish_all():
    assert ports.parse_expose("80") == ["80/tcp"]
    assert ports.parse_expose("9000-9001/udp") == ["9000/udp", "9001/udp"]
    with pytest.raises(MyDockerError) as e:
        ports.parse_expose("x/tcp")
    assert "invalid exposed port" in str(e.value)
    published, exposed = ports.container_ports(["8080:80"], ["81"], False, {"443/tcp": {}})
    assert published == [P(8080, 80)] and exposed == ["80/tcp", "81/tcp", "443/tcp"]
    published, exposed = ports.container_ports(["8080:80"], ["81"], True, ["443/tcp"])
    assert published == [P(8080, 80), P(0, 81, auto=True, all=True), P(0, 443, auto=True, all=True)]
    assert ports.container_ports(None, None, True, None) == ([], [])


def test_choose_host_ports_keeps_skips_and_ranges(monkeypatch):
    monkeypatch.setattr(ports, "_host_port_error", lambda p: None if p["host_port"] != 9011 else MyDockerError("x"))
    others = [("other", P(9010, 80))]
    wanted = [P(0, 9010, auto=True, host_range="9010-9050"), P(7000, 1, auto=True), P(0, 2, auto=True)]
    monkeypatch.setattr(ports, "_ephemeral_port", lambda p: 40000)
    ports._choose_host_ports(wanted, others)
    # 9010: another container's, 9011: a process of the host's; 7000 is kept (a restart)
    assert [p["host_port"] for p in wanted] == [9012, 7000, 40000]
    with pytest.raises(MyDockerError) as e:
        ports._choose_host_ports([P(0, 5, auto=True, host_range="9010-9011")], others)
    assert "no free host port for container port 5/tcp in 9010-9011" in str(e.value)


def test_a_range_is_added_in_one_restore_per_table(monkeypatch):
    calls, restored = [], []
    monkeypatch.setattr(ipt, "ensure_chain", lambda chains, t, c: calls.append((t, c)))
    monkeypatch.setattr(ipt, "restore", restored.append)
    monkeypatch.setattr(ipt, "run", lambda *a, **k: pytest.fail("one iptables call per rule"))
    chains = ipt.Chains("/srv/md")
    rules = [r for p in ports.parse_publish_list("5000-5002:6000-6002")
             for r in ipt.port_rules(chains, "br9", "10.9.0.2", p)]
    rs = ipt.RuleSet(chains)
    rs.add_many(rules, "ctr", "1234567890")
    assert calls == [("nat", chains.dnat), ("filter", chains.fwd)]
    assert [sorted(o) for o in restored] == [["nat"], ["filter"]]
    assert len(rs.added) == 6 and all(len(ops[t]) == 3 for ops in restored for t in ops)
    # exact deletion: what was added carries the container's comment, as delete_rules finds it
    assert all(ipt.rule_comment(full) == chains.comment("ctr", "1234567890") for _t, _c, full in rs.added)
    assert rs.added[0][2][-4:] == ["-j", "DNAT", "--to-destination", "10.9.0.2:6000"]


def test_a_refused_restore_falls_back_rule_by_rule(monkeypatch):
    monkeypatch.setattr(ipt, "ensure_chain", lambda chains, t, c: None)

    def refuse(ops):
        raise MyDockerError("iptables-restore failed: no")
    monkeypatch.setattr(ipt, "restore", refuse)
    ran = []
    monkeypatch.setattr(ipt, "run", lambda args, check=True: ran.append(args) or (0, "", ""))
    chains = ipt.Chains("/srv/md")
    rules = [r for p in ports.parse_publish_list("5000-5001:5000-5001")
             for r in ipt.port_rules(chains, "b", "10.0.0.2", p)]
    rs = ipt.RuleSet(chains)
    rs.add_many(rules, "ctr", "1")
    assert len(ran) == 4 and len(rs.added) == 4 and all(a[2] == "-A" for a in ran)
