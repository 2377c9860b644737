"""Fixtures for tests against real containers: a private state root per test session, the CLI
run as a user runs it, and a check after every test that nothing was left behind."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.path.join(REPO, "bin", "mydocker")
# how the installed launcher starts it (scripts/install.sh): python -S from the venv
PYTHON = [sys.executable, "-S"] if sys.prefix != sys.base_prefix else [sys.executable]


def _need_root():
    if os.geteuid() != 0:
        pytest.skip("needs root")


class MyDocker:
    """Runs ``mydocker`` with this session's state root."""

    def __init__(self, root):
        self.root = root
        self.env = dict(os.environ, MYDOCKER_ROOT=root)

    def __call__(self, *args, check=True, timeout=60, input=None, env=None):
        p = subprocess.run(PYTHON + [CLI] + [str(a) for a in args], env=env or self.env,
                           capture_output=True, timeout=timeout,
                           input=input, check=False)
        p.out = p.stdout.decode("utf-8", "replace")
        p.err = p.stderr.decode("utf-8", "replace")
        if check and p.returncode != 0:
            raise AssertionError("mydocker %s failed (%d): %s%s"
                                 % (" ".join(map(str, args)), p.returncode, p.out, p.err))
        return p

    def inspect(self, ref):
        return json.loads(self("inspect", ref).out)[0]

    def record(self, cid):
        with open(os.path.join(self.root, "containers", cid, "config.json")) as f:
            return json.load(f)

    def ids(self):
        d = os.path.join(self.root, "containers")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []


def leftovers(root):
    """Mounts, cgroups and processes of this state root that are still there."""
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import cgroup_parent
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if root in line.split()[4]:
                found.append("mount " + line.split()[4])
    parent = cgroup_parent(root)
    for dirpath in ("/sys/fs/cgroup", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids",
                    "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpuset", "/sys/fs/cgroup/devices"):
        if os.path.exists(os.path.join(dirpath, parent)):
            for sub in os.listdir(os.path.join(dirpath, parent)):
                if os.path.isdir(os.path.join(dirpath, parent, sub)):
                    found.append("cgroup %s/%s/%s" % (dirpath, parent, sub))
    from ansible_collections.mydocker.runtime.plugins.module_utils.cli.service import running
    if running(root) is not None:
        found.append("service %s (mydocker system service)" % running(root))
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.readlink("/proc/%s/root" % pid).startswith(root):
                    found.append("process %s" % pid)
            except OSError:
                pass
    return found


@pytest.fixture(scope="session")
def session_root():
    _need_root()
    root = tempfile.mkdtemp(prefix="mydocker-test-")
    md = MyDocker(root)
    md("image", "busybox", "busybox")
    yield root
    for cid in md.ids():
        md("rm", "-f", cid, check=False)
    left = leftovers(root)
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import cgroup_parent
    left += [d for d in ("/sys/fs/cgroup/memory/" + cgroup_parent(root),) if os.path.exists(d)]
    shutil.rmtree(root, ignore_errors=True)
    assert not left, "left behind: %s" % left


@pytest.fixture
def md(session_root):
    """The CLI; after the test every container is removed and nothing may be left behind."""
    m = MyDocker(session_root)
    yield m
    for cid in m.ids():
        m("rm", "-f", cid, check=False)
    left = leftovers(session_root)
    assert not left, "left behind: %s" % left
    assert m.ids() == []
