# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation once: the engine and the planners call the same validators (engine/validate.py),
so the CLI, the module in check mode and a real run refuse bad input with the same words (the
module puts the option's name in front).  No root: engine.create refuses before it touches the
host."""

import io
import tarfile

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import containers as engine
from ansible_collections.mydocker.runtime.plugins.module_utils.engine import images
from ansible_collections.mydocker.runtime.plugins.module_utils.engine import validate as v
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import networks
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import Paths, write_json
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import container as cp
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import network as network_plan


def message(fn, *args, **kw):
    with pytest.raises(MyDockerError) as e:
        fn(*args, **kw)
    return str(e.value)


@pytest.fixture
def root(tmp_path):
    """A state root with one image (a tiny rootfs with a default command), no containers."""
    r = str(tmp_path / "root")
    tar = str(tmp_path / "rootfs.tar")
    with tarfile.open(tar, "w") as tf:
        ti = tarfile.TarInfo("bin/true")
        ti.size = 1
        tf.addfile(ti, io.BytesIO(b"x"))
    images.import_image(r, tar, "img")
    return r


def test_validators_alone():
    assert v.validate_workdir("/srv/app") == "/srv/app"
    assert v.validate_hostname("web-1.example") == "web-1.example"
    assert "working directory" in message(v.validate_workdir, "relative")
    assert "inside the container" in message(v.validate_workdir, "/a/../../etc")
    assert "invalid hostname" in message(v.validate_hostname, "bad_host!")
    assert "duplicate volume for container path /x" in message(
        v.check_unique_volumes, [{"host": "/a", "container": "/x", "ro": False},
                                 {"host": "/b", "container": "/x", "ro": True}])
    v.check_auto_remove(True, "no")
    v.check_auto_remove(True, None)
    v.check_auto_remove(False, "always")
    assert "--rm" in message(v.check_auto_remove, True, "always")
    v.check_needs_network("net", ["8080:80"], "10.0.0.2")
    v.check_needs_network("", [], "")
    assert "network" in message(v.check_needs_network, "", ["8080:80"])
    assert "network" in message(v.check_needs_network, None, None, "10.0.0.2")
    assert "unsupported network driver" in message(v.validate_network_driver, "macvlan")


BASE = dict(name="c", state="present", image="img", command=["true"])


@pytest.mark.parametrize("option,params,create_kw", [
    ("volumes", dict(volumes=["/a:/x", "/b:/x:ro"]), dict(volumes=["/a:/x", "/b:/x:ro"])),
    ("auto_remove", dict(auto_remove=True, restart_policy="always"), dict(auto_remove=True, restart="always")),
    ("auto_remove", dict(auto_remove=True, restart_policy="on-failure", restart_retries=3),
     dict(auto_remove=True, restart="on-failure:3")),
    ("working_dir", dict(working_dir="relative"), dict(workdir="relative")),
    ("hostname", dict(hostname="bad_host!"), dict(hostname="bad_host!")),
    ("published_ports", dict(published_ports=["8080:80"]), dict(ports=["8080:80"])),
    ("ip", dict(ip="10.9.0.2"), dict(ip="10.9.0.2")),
    ("volumes", dict(volumes=["/a:/proc"]), dict(volumes=["/a:/proc"])),
    ("volumes", dict(volumes=["/a:/sys/fs/cgroup"]), dict(volumes=["/a:/sys/fs/cgroup"])),
    ("volumes", dict(volumes=["/a:/dev"]), dict(volumes=["/a:/dev"])),
    ("pids_limit", dict(pids_limit=99999999999999999999), dict(resources={"pids_limit": 99999999999999999999})),
])
def test_planner_and_engine_say_the_same(root, option, params, create_kw):
    facts = cp.Facts(image=images.get_image(root, "img"))
    planned = message(cp.decide, dict(BASE, **params), facts)
    created = message(engine.create, root, "img", ["true"], name="c", **create_kw)
    assert planned == "%s: %s" % (option, created)
    assert engine.list_containers(root, all=True) == []


def test_update_of_an_auto_remove_container_refused_in_the_same_words(root):
    """A restart policy for a container made with auto_remove: check mode refuses it as the
    real run's engine.update does (it used to plan an update the engine then refused)."""
    rec = {"id": "1234567890", "name": "c", "image": "img", "cmd": ["true"], "autoRemove": True,
           "restartPolicy": {"name": "no", "maxRetries": 0}, "resources": {}}
    write_json(Paths(root).container_config(rec["id"]), rec)
    facts = cp.Facts(record=rec, status="created", image=images.get_image(root, "img"))
    planned = message(cp.decide, dict(BASE, restart_policy="always"), facts)
    updated = message(engine.update, root, rec["id"], restart="always")
    assert planned == "restart_policy: %s" % updated
    assert cp.decide(dict(BASE, restart_policy="no"), facts).actions == []


def test_network_driver_same_words(tmp_path):
    engine_msg = message(networks.parse_network_args, "10.77.1.0/24", None, "macvlan")
    planned = message(network_plan.plan_network, str(tmp_path), "mdtnet", subnet="10.77.1.0/24", driver="macvlan")
    assert planned == "%s (option driver)" % engine_msg


@pytest.mark.parametrize("dest,tree", [("/proc", "/proc"), ("/proc/sys/kernel", "/proc"), ("//proc/self", "/proc"),
                                       ("/sys", "/sys"), ("/sys/fs/cgroup/x", "/sys"), ("/dev", "/dev"),
                                       ("/dev/", "/dev"), ("//dev", "/dev")])
def test_runtime_paths_are_no_volume_destinations(dest, tree):
    with pytest.raises(MyDockerError, match="cannot mount over %s" % tree):
        v.parse_volume("/h:%s" % dest)


def test_volume_paths_normalised_with_one_leading_slash():
    assert v.parse_volume("//h//x/:/data/./y") == {"host": "/h/x", "container": "/data/y", "ro": False}
    assert v.parse_volume("/h:/dev/shm/x:ro")["container"] == "/dev/shm/x"
    assert v.parse_volume("/h:/procfs")["container"] == "/procfs"  # only /proc itself and below
    with pytest.raises(MyDockerError, match="host's / cannot be a volume"):
        v.parse_volume("//:/x")


def test_pids_limit_range():
    assert v.check_pids_limit(v.PIDS_MAX) == 4194304
    with pytest.raises(MyDockerError, match="at most 4194304"):
        v.check_pids_limit(4194305)


@pytest.mark.parametrize("value", ["", "  "])
def test_empty_flag_values_refused(value):
    with pytest.raises(MyDockerError, match="invalid --memory .*: empty"):
        v.check_flag_value("--memory", value)
    assert v.check_flag_value("--memory", None) is None and v.check_flag_value("--memory", "1g") == "1g"


def test_subnet_host_bits():
    assert v.check_subnet_host_bits("10.1.2.0/24") == "10.1.2.0/24"
    with pytest.raises(MyDockerError, match=r"invalid subnet 10.1.2.5/24: it has host bits set \(the network is "
                                            r"10.1.2.0/24\)"):
        v.check_subnet_host_bits("10.1.2.5/24")
    with pytest.raises(MyDockerError, match="host bits"):
        networks.create_network("/nonexistent/root", "n1", "10.1.2.5/24")


def test_bare_env_name(monkeypatch):
    monkeypatch.setenv("MDT_SET", "v")
    monkeypatch.delenv("MDT_UNSET", raising=False)
    assert engine.parse_env(["MDT_SET", "MDT_UNSET", "E="]) == {"MDT_SET": "v", "E": ""}
