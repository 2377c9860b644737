"""Networks of the name and multi-network tests: each a fresh bridge and subnet of the test's own
(test_network_engine.Env), removed with everything on it in the fixture's finally."""
import os
import subprocess

import pytest
from test_network_engine import Env


class Nets:
    def __init__(self, md, tmp_path):
        self.md = md
        self.env = Env(tmp_path)
        self.env.root = md.root
        self.made = []
        www = tmp_path / "www"
        www.mkdir()
        (www / "index.html").write_text("hello from mydocker\n")
        self.www = str(www)

    def new(self):
        name, subnet = self.env.bridge_name(), self.env.subnet()
        self.md("network", "create", "--driver", "bridge", "--subnet", subnet, name)
        self.made.append(name)
        return name

    def cleanup(self):
        for cid in self.md.ids():
            self.md("rm", "-f", cid, check=False)
        for name in self.made:
            self.md("network", "rm", "-f", name, check=False)
        self.env.cleanup()
        rules = subprocess.run(["iptables-save"], stdout=subprocess.PIPE, check=False).stdout.decode()
        for name in self.made:
            assert not os.path.exists("/sys/class/net/%s" % name)
            assert [ln for ln in rules.splitlines() if name in ln] == []


@pytest.fixture
def nets(md, tmp_path):
    n = Nets(md, tmp_path)
    try:
        yield n
    finally:
        n.cleanup()


def web(md, nets, name, *args):
    """A busybox httpd serving "hello from mydocker" on port 8000, with ``args`` (networks...)."""
    md(*(["run", "-d", "--name", name, "-v", "%s:/www:ro" % nets.www] + list(args)
         + ["busybox", "httpd", "-f", "-p", "8000", "-h", "/www"]))
    return md.inspect(name)


def hosts(md, ref):
    return md("exec", ref, "cat", "/etc/hosts").out


def get(md, ref, url):
    """busybox wget in container ``ref`` (no -T: it crashes in busybox 1.35; the CLI times out)."""
    return md("exec", ref, "wget", "-q", "-O", "-", url, check=False, timeout=30)
