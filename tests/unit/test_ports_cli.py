# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The command line's port flags (issue 11): -p ranges and bare ports, -P, --expose, the restart
policy unless-stopped and ``mydocker port`` (parsing and printing; no container runs)."""

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.cli import containers as cc
from ansible_collections.mydocker.runtime.plugins.module_utils.cli import main as cli


def parse(*argv):
    return cli.parse_args(list(argv))


def test_run_port_flags():
    a = parse("run", "-d", "--net", "n", "-p", "5000-5001:80-81", "-p", "9001", "-P", "--expose", "90",
              "--expose", "91-92/udp", "--restart", "unless-stopped", "busybox", "sleep", "1")
    assert a.publish == ["5000-5001:80-81", "9001"] and a.publish_all and a.expose == ["90", "91-92/udp"]
    assert a.restart == "unless-stopped"
    b = parse("run", "busybox", "true")
    assert b.publish_all is False and b.expose == []


def test_run_passes_expose_and_publish_all(monkeypatch):
    seen = {}

    def run(root, image, command, detach=True, **kw):
        seen.update(kw)
        return {"id": "1234567890"}, 1, None
    monkeypatch.setattr(cc.C, "run", run)
    monkeypatch.setattr(cc, "out", lambda *a: None)
    a = parse("run", "-d", "--net", "n", "-P", "--expose", "90", "busybox", "sleep", "1")
    assert a.fn(a) == 0
    assert seen["expose"] == ["90"] and seen["publish_all"] is True


@pytest.mark.parametrize("argv, want", [
    ((), ["53/udp -> 127.0.0.1:5353", "80/tcp -> 0.0.0.0:33000", "8000/tcp -> 127.0.0.1:5000"]),
    (("80",), ["0.0.0.0:33000"]),
    (("53/udp",), ["127.0.0.1:5353"]),
    (("53",), []),
])
def test_port_prints_docker_lines(monkeypatch, argv, want):
    rec = {"ports": [{"host_ip": "127.0.0.1", "host_port": 5000, "container_port": 8000, "proto": "tcp"},
                     {"host_ip": "", "host_port": 33000, "container_port": 80, "proto": "tcp", "auto": True},
                     {"host_ip": "127.0.0.1", "host_port": 5353, "container_port": 53, "proto": "udp"}]}
    monkeypatch.setattr(cc.C, "inspect", lambda root, ref: rec)
    lines = []
    monkeypatch.setattr(cc, "out", lines.append)
    a = parse("port", "web", *argv)
    assert a.fn is cc.cmd_port and a.fn(a) == 0
    assert lines == want
