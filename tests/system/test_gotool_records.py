"""Records the Go tool wrote, through the real CLI: listed by ps -a, removed by rm (root)."""
import json
import os
import shutil
import tempfile

import pytest
from conftest import MyDocker, _need_root, leftovers

GO_RECORD = ('{"pid":" ","id":"4242424242","name":"4242424242","command":"sh",'
             '"createdTime":"2025-03-17 15:45:14","status":"running","volume":"","networkName":"",'
             '"portmapping":null,"ip":"","cgroupManager":{"Path":"mydocker-cgroup","Resource":null}}')


@pytest.fixture
def own_root():
    """A state root of this test alone (no image needed)."""
    _need_root()
    root = tempfile.mkdtemp(prefix="mydocker-test-rec-")
    yield MyDocker(root)
    left = leftovers(root)
    shutil.rmtree(root, ignore_errors=True)
    assert not left, "left behind: %s" % left


def _write_go_record(md, cid="4242424242", text=GO_RECORD):
    d = os.path.join(md.root, "containers", cid)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        f.write(text)
    return d


def test_go_tool_record_listed_and_removed(own_root):
    md = own_root
    shared = [p for p in ("/sys/fs/cgroup/mydocker-cgroup", "/sys/fs/cgroup/memory/mydocker-cgroup")
              if os.path.isdir(p)]
    d = _write_go_record(md)
    out = md("ps", "-a").out.splitlines()
    assert out[0].split()[:5] == ["ID", "NAME", "IP", "PID", "STATUS"]
    row = [ln for ln in out[1:] if ln.startswith("4242424242")]
    assert len(row) == 1 and "exited" in row[0] and "2025-03-17 15:45:14" in row[0], out
    # its pid " " is no process: not running, so plain ps does not list it
    assert "4242424242" not in md("ps").out
    assert md("ps", "-a", "-q").out.split() == ["4242424242"]
    info = md.inspect("4242424242")
    assert info["status"] == "exited" and info["cgroupManager"] == {"Path": "mydocker-cgroup", "Resource": None}
    # the record on disk is untouched by reading it
    with open(os.path.join(d, "config.json")) as f:
        assert f.read() == GO_RECORD
    p = md("rm", "4242424242", check=False)
    assert p.returncode == 0, p.err
    assert p.err == ""
    assert not os.path.exists(d)
    assert md("ps", "-a", "-q").out.split() == []
    # the Go tool's shared cgroup is not ours: left as it was
    assert [p for p in ("/sys/fs/cgroup/mydocker-cgroup", "/sys/fs/cgroup/memory/mydocker-cgroup")
            if os.path.isdir(p)] == shared


def test_go_tool_record_removed_by_name(own_root):
    md = own_root
    rec = dict(json.loads(GO_RECORD), id="4343434343", name="legacy", command="top")
    d = _write_go_record(md, "4343434343", json.dumps(rec, separators=(",", ":")))
    assert md.inspect("legacy")["id"] == "4343434343"
    md("rm", "legacy")
    assert not os.path.exists(d)
    p = md("rm", "legacy", check=False)
    assert p.returncode != 0 and "no such container" in p.err and len(p.err.strip().splitlines()) == 1
