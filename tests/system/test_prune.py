"""prune finds and removes what crashed runs left behind."""
import os
import subprocess
import time

from conftest import leftovers


def test_prune_removes_crash_leftovers(md, tmp_path):
    import sys
    sys.path.insert(0, os.path.dirname(__file__))
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.cgroups import Cgroup
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import cgroup_parent

    # 1. a container directory without a record (a run that died while creating)
    os.makedirs(os.path.join(md.root, "containers", "1111111111"))
    # 2. an overlay directory with a mount still on it, and no record
    merged = os.path.join(md.root, "overlay2", "2222222222", "merged")
    os.makedirs(merged)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", merged], check=True)
    # 3. a cgroup of a container that does not exist
    Cgroup(cgroup_parent(md.root), "3333333333").create({})
    # 4. a container whose monitor was killed: a record saying running with nobody watching (it
    #    still runs: prune must adopt it, never kill it)
    cid = md("run", "-d", "--name", "orphan", "busybox", "sleep", "1000").out.strip()
    rec = md.inspect(cid)
    os.kill(int(rec["monitorPid"]), 9)
    time.sleep(0.2)
    # 5. a healthy stopped and a healthy running container must survive
    md("run", "--name", "stopped", "busybox", "true")
    md("run", "-d", "--name", "healthy", "busybox", "sleep", "1000")

    out = md("prune").out
    assert "containers/1111111111" in out
    assert "overlay2/2222222222" in out
    assert "3333333333" in out
    assert "orphan" in out
    assert sorted(md.inspect(n)["name"] for n in ("stopped", "healthy")) == ["healthy", "stopped"]
    assert md.inspect("healthy")["status"] == "running"
    assert not os.path.exists(os.path.join(md.root, "containers", "1111111111"))
    assert not os.path.exists(os.path.join(md.root, "overlay2", "2222222222"))
    # the orphan still runs: prune adopted it with a new monitor instead of killing it
    assert "adopted container orphan" in out
    now = md.inspect(cid)
    assert now["status"] == "running" and now["pid"] == rec["pid"]
    assert now["monitorPid"] != rec["monitorPid"] and now["adoptedAt"]
    assert open("/proc/%s/stat" % rec["pid"]).read().rsplit(")", 1)[1].split()[0] != "Z"
    assert md("prune").out.strip() == "nothing to prune"
    md("rm", "-f", "healthy", "stopped", "orphan")
    assert leftovers(md.root) == []
