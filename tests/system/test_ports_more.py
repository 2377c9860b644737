"""Published ports as Docker spells them (issue 11), with real packets: UDP, a host IP, a range,
a bare container port and -P on a host port the engine chooses (stable across stop/start), IPv6
refused in one line with nothing made, every rule of a container deleted exactly with it; and
the unless-stopped restart policy.

Traffic goes only to loopback and to containers these tests started on bridges they created.
The UDP echo server runs in the container's own network namespace (this busybox has no
``nc -u``): a host Python process entered into that namespace with nsenter, stopped by the
fixture.
"""
import os
import random
import socket
import subprocess
import sys
import time

import pytest
import test_networking
from test_networking import free_port, wait_http

net = test_networking.net  # the fixture: a fresh network, removed with all its rules afterwards

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(b"echo:" + data, peer)
"""


def cid_of(md, ref):
    return md.inspect(ref)["id"]


def rules_of(cid):
    out = subprocess.run(["iptables-save"], stdout=subprocess.PIPE, check=True).stdout.decode()
    return [ln for ln in out.splitlines() if ":ctr:%s" % cid in ln]


def free_range(n):
    """n consecutive TCP ports free on 127.0.0.1."""
    for _i in range(200):
        base = random.randint(20000, 30000)
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no free port range")


def udp_ask(port, payload, timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.3)
    deadline = time.time() + timeout
    try:
        while True:
            s.sendto(payload, ("127.0.0.1", port))
            try:
                return s.recvfrom(2048)[0]
            except socket.timeout:
                if time.time() > deadline:
                    raise
    finally:
        s.close()


def test_udp_on_a_host_ip_echoes_and_leaves_no_rule(md, net):
    port = free_port()
    md("run", "-d", "--name", "udp", "--net", net.name, "-p", "127.0.0.1:%d:5353/udp" % port,
       "busybox", "sleep", "1000")
    rec = md.inspect("udp")
    assert rec["portmapping"] == ["127.0.0.1:%d:5353/udp" % port]
    net.spawn_in(int(rec["pid"]), sys.executable, "-c", ECHO, "5353")
    assert udp_ask(port, b"ping") == b"echo:ping"
    assert md("port", "udp").out.split("\n")[0] == "5353/udp -> 127.0.0.1:%d" % port
    cid = rec["id"]
    assert len(rules_of(cid)) == 2  # DNAT + FORWARD, "-p udp"
    assert all("-p udp" in r for r in rules_of(cid))
    md("rm", "-f", "udp")
    assert rules_of(cid) == []


def test_a_range_on_a_host_ip(md, net):
    base = free_range(2)
    md("run", "-d", "--name", "rng", "--net", net.name, "-v", "%s:/www:ro" % net.www,
       "-p", "127.0.0.1:%d-%d:8000-8001" % (base, base + 1), "busybox", "sh", "-c",
       "httpd -p 8000 -h /www; httpd -f -p 8001 -h /www")
    assert "hello from mydocker" in wait_http("127.0.0.1", base)
    assert "hello from mydocker" in wait_http("127.0.0.1", base + 1)
    assert md("port", "rng").out.splitlines() == ["8000/tcp -> 127.0.0.1:%d" % base,
                                                  "8001/tcp -> 127.0.0.1:%d" % (base + 1)]
    cid = cid_of(md, "rng")
    assert len(rules_of(cid)) == 4
    md("rm", "-f", "rng")
    assert rules_of(cid) == []


def test_bare_port_and_publish_all_on_chosen_host_ports(md, net):
    md("run", "-d", "--name", "bare", "--net", net.name, "-v", "%s:/www:ro" % net.www, "-p", "80",
       "--expose", "81", "-P", "busybox", "sh", "-c", "httpd -p 81 -h /www; httpd -f -p 80 -h /www")
    lines = md("port", "bare").out.splitlines()
    assert [ln.split(" -> ")[0] for ln in lines] == ["80/tcp", "81/tcp"]
    chosen = [int(ln.rsplit(":", 1)[1]) for ln in lines]
    assert all(p > 0 for p in chosen) and chosen[0] != chosen[1]
    for p in chosen:
        assert "hello from mydocker" in wait_http("127.0.0.1", p)
    assert md("port", "bare", "80").out.strip() == "0.0.0.0:%d" % chosen[0]
    rec = md.inspect("bare")
    assert rec["exposedPorts"] == ["80/tcp", "81/tcp"] and rec["publishAllPorts"] is True
    md("stop", "-t", "0", "bare")
    md("start", "bare")
    assert [int(ln.rsplit(":", 1)[1]) for ln in md("port", "bare").out.splitlines()] == chosen
    assert "hello from mydocker" in wait_http("127.0.0.1", chosen[0])
    cid = rec["id"]
    md("rm", "-f", "bare")
    assert rules_of(cid) == []


@pytest.mark.parametrize("spec, words", [
    ("[::1]:8080:80", "IPv6 host addresses are not supported: the NAT of mydocker is IPv4 only"),
    ("localhost:8080:80", "not an IPv4 address"),
    ("5000-5002:80-81", "not of the same length"),
])
def test_refused_spellings_make_nothing(md, net, spec, words):
    r = md("run", "-d", "--name", "bad", "--net", net.name, "-p", spec, "busybox", "sleep", "1000", check=False)
    assert r.returncode != 0 and words in r.err and len(r.err.strip().splitlines()) == 1
    assert md.ids() == []


def test_unless_stopped_restarts_but_not_after_a_stop(md):
    md("run", "-d", "--name", "us", "--restart", "unless-stopped", "busybox", "sh", "-c", "sleep 0.2; exit 3")
    deadline = time.time() + 20
    while md.inspect("us").get("restartCount", 0) < 1:
        assert time.time() < deadline, "not restarted"
        time.sleep(0.1)
    assert md.inspect("us")["restartPolicy"] == {"name": "unless-stopped", "maxRetries": 0}
    md("stop", "-t", "0", "us")
    time.sleep(1)
    rec = md.inspect("us")
    assert rec["status"] == "exited" and rec["stopRequested"] is True
