"""engine/system.py and planning/host.py: the runtime's version kept equal to galaxy.yml's, the
cgroup layout read from the mount table, disk usage counting every file once, and the host
summary of a state root.  No root needed."""
import os

import yaml

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import system
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import Paths, write_json
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import host
from ansible_collections.mydocker.runtime.plugins.modules import mydocker_host_info

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

V2 = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n"
V1 = ("tmpfs /sys/fs/cgroup tmpfs ro,nosuid 0 0\n"
      "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n"
      "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\n")
HYBRID = V1 + "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nsdelegate 0 0\n"


def test_version_is_galaxys():
    with open(os.path.join(REPO, "galaxy.yml")) as f:
        assert system.VERSION == yaml.safe_load(f)["version"]


def test_cgroup_layouts():
    assert system.cgroup_layout(V2) == "v2"
    assert system.cgroup_layout(V1) == "v1"
    assert system.cgroup_layout(HYBRID) == "hybrid"
    assert system.cgroup_layout("proc /proc proc rw 0 0\n") == "none"
    # mounts elsewhere do not count
    assert system.cgroup_layout("cgroup2 /tmp/x/sys/fs/cgroup cgroup2 rw 0 0\n" + V1) == "v1"
    assert system.cgroup_layout(V2, root="/other") == "none"


def test_cgroup_layout_of_this_host_is_one_of_the_four():
    assert system.cgroup_layout() in ("v1", "v2", "hybrid", "none")
    assert system.seccomp_available() in (True, False)


def test_du_counts_files_once_and_not_symlink_targets(tmp_path):
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    (d / "a").write_bytes(b"x" * 100)
    (d / "sub" / "b").write_bytes(b"y" * 50)
    os.link(d / "a", d / "sub" / "hard")
    big = tmp_path / "big"
    big.write_bytes(b"z" * 10000)
    os.symlink(str(big), d / "link")
    size = system.du(str(d))
    assert size == 150 + len(str(big))   # the link's own size, its target not
    assert system.du(str(tmp_path / "nope")) == 0
    seen = set()
    assert system.du(str(d), seen) == size
    assert system.du(str(d), seen) == 0       # counted already


def test_disk_usage_by_directory(tmp_path):
    paths = Paths(str(tmp_path / "root"))
    paths.ensure()
    write_json(paths.container_config("1234567890"), {"id": "1234567890"})
    (tmp_path / "root" / "image" / "x.tar").write_bytes(b"t" * 1000)
    os.makedirs(paths.overlay_dir("1234567890") + "/upper")
    (tmp_path / "root" / "overlay2" / "1234567890" / "upper" / "f").write_bytes(b"u" * 7)
    (tmp_path / "root" / ".lock").write_bytes(b"")
    du = system.disk_usage(paths.root)
    assert du["image"] == 1000
    assert du["overlay2"] == 7
    assert du["containers"] == os.path.getsize(paths.container_config("1234567890"))
    assert du["network"] == 0
    assert du["volumes"] == 0
    assert du["other"] == 0
    assert du["total"] == sum(v for k, v in du.items() if k != "total")
    assert system.container_size(paths, "1234567890") == du["containers"] + 7


def test_count_by_status():
    views = [{"status": "running"}, {"status": "exited"}, {"status": "exited"}]
    assert host.count_by_status(views) == {"total": 3, "running": 1, "exited": 2, "created": 0, "restarting": 0}


def test_host_info_of_a_state_root(tmp_path):
    root = str(tmp_path / "root")
    paths = Paths(root)
    paths.ensure()
    write_json(paths.container_config("1234567890"), {"id": "1234567890", "name": "a", "status": "created"})
    write_json(paths.container_config("2234567890"), {"id": "2234567890", "name": "b", "status": "running",
                                                      "pid": "999999999"})
    write_json(paths.image_meta("busybox"), {"name": "busybox", "layer": "abc"})
    out = host.host_info(root)
    h = out["host"]
    assert h["version"] == system.VERSION and h["root"] == paths.root
    assert h["containers"] == {"total": 2, "created": 1, "exited": 1, "running": 0, "restarting": 0}
    assert h["images"] == 1 and h["networks"] == 0
    assert sorted(out) == ["host"]
    out = host.host_info(root, containers=True, images_list=True, networks=True, disk_usage=True)
    assert [c["name"] for c in out["containers"]] == ["a", "b"]
    assert out["containers"][1]["status"] == "exited"   # the true status, not the file's
    assert [i["name"] for i in out["images"]] == ["busybox"]
    assert out["networks"] == []
    assert out["disk_usage"]["total"] > 0


def test_host_info_spec_is_documented():
    from tests.unit.test_module_options import assert_documented
    assert_documented(mydocker_host_info, host.argument_spec())
