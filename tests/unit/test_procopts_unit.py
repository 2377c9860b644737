# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The process and security options (issue 11): sysctls, ulimits, labels and ps filters, the
init, what create records and what the container's spec gets, and the module's normalisation,
comparison and check-mode plan. No root, no containers."""
import copy
import os
import resource
import signal

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import (
    filters,
    init,
    lifecycle,
    procopts,
    sysctl,
    ulimits,
)
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import Paths
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import container as cp
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import procopts as pp

# ------------------------------------------------------------------ sysctl


@pytest.mark.parametrize("key", ["net.ipv4.ip_forward", "net.ipv4.conf.eth0.rp_filter", "kernel.shmmax",
                                 "kernel.msgmnb", "kernel.sem", "kernel.shm_rmid_forced", "fs.mqueue.msg_max"])
def test_namespaced_sysctls_are_accepted(key):
    assert sysctl.parse_sysctls(["%s=1" % key]) == {key: "1"}


@pytest.mark.parametrize("key", ["kernel.hostname", "vm.swappiness", "kernel.panic", "fs.file-max",
                                 "kernel.domainname", "net", "net..x", "../etc", "Net.ipv4.x"])
def test_other_sysctls_are_refused_with_one_line(key):
    with pytest.raises(MyDockerError) as e:
        sysctl.parse_sysctls({key: "1"})
    assert str(e.value).startswith("--sysctl: ") and "\n" not in str(e.value)


def test_sysctl_forms_and_apply(tmp_path):
    assert sysctl.parse_sysctls({"net.ipv4.ip_forward": 1, "kernel.shmmax": "  42 "}) == \
        {"kernel.shmmax": "42", "net.ipv4.ip_forward": "1"}
    with pytest.raises(MyDockerError, match="KEY=VALUE"):
        sysctl.parse_sysctls(["net.ipv4.ip_forward"])
    (tmp_path / "net" / "ipv4").mkdir(parents=True)
    sysctl.apply({"net.ipv4.ip_forward": "1"}, str(tmp_path))
    assert (tmp_path / "net" / "ipv4" / "ip_forward").read_text() == "1"
    with pytest.raises(MyDockerError, match="^cannot set sysctl kernel.sem=1 2 3 4: "):
        sysctl.apply({"kernel.sem": "1 2 3 4"}, str(tmp_path))


# ------------------------------------------------------------------ ulimits

@pytest.mark.parametrize("text, want", [
    ("nofile=1024:2048", {"name": "nofile", "soft": 1024, "hard": 2048}),
    ("nofile:1024:2048", {"name": "nofile", "soft": 1024, "hard": 2048}),
    ("nproc=100", {"name": "nproc", "soft": 100, "hard": 100}),
    ("core=-1", {"name": "core", "soft": -1, "hard": -1}),
    ("memlock=unlimited:unlimited", {"name": "memlock", "soft": -1, "hard": -1}),
    ("NOFILE=1:2", {"name": "nofile", "soft": 1, "hard": 2}),
])
def test_ulimit_spellings(text, want):
    assert ulimits.parse_ulimit(text) == want


@pytest.mark.parametrize("bad", ["nofile", "nofile=", "foo=1:2", "nofile=2048:1024", "nofile=a:b", "nofile=-1:5",
                                 "=1:2", 7])
def test_bad_ulimits_are_one_line(bad):
    with pytest.raises(MyDockerError) as e:
        ulimits.parse_ulimit(bad)
    assert str(e.value).startswith("--ulimit: ") and "\n" not in str(e.value)


def test_ulimits_last_one_wins_and_apply_calls_setrlimit():
    got = ulimits.parse_ulimits(["nofile=1:2", "core=0", "nofile=10:20"])
    assert got == [{"name": "core", "soft": 0, "hard": 0}, {"name": "nofile", "soft": 10, "hard": 20}]
    assert [ulimits.text_of(u) for u in got] == ["core:0:0", "nofile:10:20"]
    calls = []
    ulimits.apply(got + [{"name": "stack", "soft": -1, "hard": -1}], lambda r, v: calls.append((r, v)))
    assert calls == [(resource.RLIMIT_CORE, (0, 0)), (resource.RLIMIT_NOFILE, (10, 20)),
                     (resource.RLIMIT_STACK, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))]

    def fail(r, v):
        raise ValueError("not allowed to raise maximum limit")
    with pytest.raises(MyDockerError, match="^cannot set ulimit nofile:10:20: not allowed"):
        ulimits.apply(got[1:], fail)


# ------------------------------------------------------------------ labels and filters

def test_labels_from_items_dict_and_files(tmp_path):
    f = tmp_path / "labels"
    f.write_text("# comment\n\na=from-file\nb=2\n")
    assert filters.parse_labels(["a=x", "c"], [str(f)]) == {"a": "x", "b": "2", "c": ""}
    assert filters.parse_labels({"k": 1}) == {"k": "1"}
    with pytest.raises(MyDockerError, match="^--label-file: cannot read"):
        filters.parse_labels([], [str(tmp_path / "missing")])
    with pytest.raises(MyDockerError, match="^--label: invalid label name"):
        filters.parse_labels(["=x"])


C1 = {"id": "1111111111", "name": "web-1", "status": "running", "networkName": "front",
      "labels": {"app": "web", "tier": "front"}}
C2 = {"id": "2222222222", "name": "db", "status": "exited", "networkName": "",
      "labels": {"app": "db"}}


@pytest.mark.parametrize("items, want", [
    (["label=app"], ["web-1", "db"]),
    (["label=app=web"], ["web-1"]),
    (["label=app", "label=tier"], ["web-1"]),           # labels: every one must match
    (["name=web", "name=db"], ["web-1", "db"]),          # one kind: any one
    (["name=web", "status=exited"], []),                 # kinds are ANDed
    (["status=exited"], ["db"]),
    (["network=front"], ["web-1"]),
    (["id=222"], ["db"]),
    ([], ["web-1", "db"]),
])
def test_filters(items, want):
    f = filters.parse_filters(items)
    assert [c["name"] for c in (C1, C2) if filters.matches(c, f)] == want


@pytest.mark.parametrize("bad", ["colour=red", "label", "status=sleeping"])
def test_bad_filters(bad):
    with pytest.raises(MyDockerError, match="^--filter: invalid"):
        filters.parse_filters([bad])


# ------------------------------------------------------------------ init, normalize, spec

def test_init_wraps_the_command(tmp_path):
    tini = tmp_path / "tini"
    tini.write_text("")
    tini.chmod(0o755)
    assert init.tini_path([str(tmp_path / "none"), str(tini)]) == str(tini)
    with pytest.raises(MyDockerError, match="^--init: .*tini"):
        init.tini_path([str(tmp_path / "none")])
    spec = init.wrap({"cmd": ["sleep", "1"], "volumes": []}, str(tini))
    assert spec["cmd"] == ["/sbin/docker-init", "--", "sleep", "1"]
    assert spec["volumes"] == [{"host": str(tini), "container": "/sbin/docker-init", "ro": True}]


def test_normalize_gives_the_record_keys(monkeypatch):
    monkeypatch.setattr(procopts.caps, "bounding_set", lambda status_file=None: set(range(41)))
    monkeypatch.setattr(init, "tini_path", lambda: "/usr/bin/tini-static")
    got = procopts.normalize(["net_admin"], ["chown"], False, ["net.ipv4.ip_forward=1"], ["nofile=10:20"], True,
                             "usr1", ["tty", 1234], "500", ["a=b"])
    assert got == {"capAdd": ["CAP_NET_ADMIN"], "capDrop": ["CAP_CHOWN"], "privileged": False,
                   "sysctls": {"net.ipv4.ip_forward": "1"}, "ulimits": [{"name": "nofile", "soft": 10, "hard": 20}],
                   "init": True, "groupAdd": ["tty", "1234"], "oomScoreAdj": 500, "labels": {"a": "b"},
                   "stopSignal": "SIGUSR1", "devices": []}
    assert "stopSignal" not in procopts.normalize()  # the image's stays


def test_a_capability_the_runtime_lacks_cannot_be_added(monkeypatch):
    monkeypatch.setattr(procopts.caps, "bounding_set", lambda status_file=None: set(range(41)) - {24})
    with pytest.raises(MyDockerError, match="^--cap-add: CAP_SYS_RESOURCE not in this runtime"):
        procopts.normalize(cap_add=["sys_resource"])
    assert procopts.normalize(cap_add=["ALL"])["capAdd"] == ["ALL"]


@pytest.mark.parametrize("kw, start", [
    (dict(stop_signal="SIGNOPE"), "--stop-signal: invalid signal"),
    (dict(oom_score_adj=1001), "--oom-score-adj: invalid value"),
    (dict(oom_score_adj="x"), "--oom-score-adj: invalid value"),
    (dict(group_add=["a:b"]), "--group-add: invalid group"),
    (dict(cap_drop=["nope"]), "--cap-drop: unknown capability"),
])
def test_bad_input_is_one_line_naming_the_flag(kw, start):
    with pytest.raises(MyDockerError) as e:
        procopts.normalize(**kw)
    assert str(e.value).startswith(start)


def test_spec_of_an_old_record_is_unchanged_and_a_new_one_carries_the_options(tmp_path, monkeypatch):
    monkeypatch.setattr(init, "tini_path", lambda: "/usr/bin/tini-static")
    old = {"id": "1234567890", "name": "x", "cmd": ["sleep", "1"], "env": {}, "hostname": "h", "workdir": "/",
           "volumes": [], "user": ""}
    paths = Paths(str(tmp_path))
    before = lifecycle.spec_of(paths, old["id"], old)
    assert not set(before) & set(procopts.SPEC_KEYS) and before["cmd"] == ["sleep", "1"]
    new = dict(old, capAdd=["CAP_NET_ADMIN"], privileged=True, sysctls={"kernel.sem": "1 2 3 4"}, init=True,
               ulimits=[{"name": "nofile", "soft": 1, "hard": 2}], groupAdd=["5"], oomScoreAdj=10, labels={"a": "b"})
    spec = lifecycle.spec_of(paths, new["id"], new)
    assert spec["cmd"] == ["/sbin/docker-init", "--", "sleep", "1"] and spec["seccomp"] == "unconfined"
    assert spec["capAdd"] == ["CAP_NET_ADMIN"] and spec["oomScoreAdj"] == 10 and spec["groupAdd"] == ["5"]
    assert "labels" not in spec


def test_extra_groups_resolve_in_the_containers_group_file(tmp_path):
    g = tmp_path / "group"
    g.write_text("root:x:0:\ntty:x:5:\n")
    assert procopts.extra_groups({"groupAdd": ["tty", "1234"]}, str(g)) == [5, 1234]
    with pytest.raises(MyDockerError, match="unable to find group audio"):
        procopts.extra_groups({"groupAdd": ["audio"]}, str(g))


def test_before_caps_writes_oom_score_adj(tmp_path):
    f = tmp_path / "oom"
    procopts.before_caps({"oomScoreAdj": -5}, oom_file=str(f))
    assert f.read_text() == "-5"
    calls = []
    procopts.before_caps({"ulimits": [{"name": "nofile", "soft": 1, "hard": 2}]}, lambda r, v: calls.append(v))
    assert calls == [(1, 2)]


def test_signal_names():
    assert procopts.signal_name("term") == procopts.signal_name("15") == "SIGTERM"
    assert procopts.signal_name(signal.SIGUSR1) == "SIGUSR1"


# ------------------------------------------------------------------ the module

RECORD = {"id": "1234567890", "name": "web", "image": "busybox", "layer": "aaaa", "cmd": ["sleep", "1000"],
          "config": {"Cmd": ["sleep", "1000"], "Entrypoint": []}, "env": {}, "volumes": [], "ports": [],
          "networkName": "", "ip": "", "hostname": "web", "workdir": "/", "autoRemove": False,
          "restartPolicy": {"name": "no"}, "stopRequested": False, "user": "", "stopSignal": "",
          "resources": {"memory": None, "cpus": None, "cpu_shares": None, "cpuset_cpus": None, "pids_limit": None}}
IMAGE = {"name": "busybox", "layer": "aaaa", "config": {"Cmd": ["sh"], "StopSignal": "SIGQUIT"}}
BASE = dict(name="web", state="started", image="busybox", command=["sleep", "1000"])


def _plan(record="default", status="running", **params):
    if record == "default":
        record = RECORD
    p = dict(BASE, **params)
    return cp.decide(p, cp.Facts(record=copy.deepcopy(record), status=status if record else None,
                                 image=copy.deepcopy(IMAGE)))


def test_module_normalisers():
    assert pp.norm_capabilities(["net_admin", "CAP_NET_ADMIN"]) == ["CAP_NET_ADMIN"]
    assert pp.norm_ulimits(["nofile:1024:2048", "core=0"]) == ["core:0:0", "nofile:1024:2048"]
    assert pp.norm_stop_signal("usr1") == "SIGUSR1"
    assert pp.norm_oom_score_adj(None) == 0
    assert pp.norm_sysctls({"net.ipv4.ip_forward": 1}) == {"net.ipv4.ip_forward": "1"}
    assert pp.norm_labels({"a": 1}) == {"a": "1"}


@pytest.mark.parametrize("params, start", [
    (dict(capabilities=["nope"]), "capabilities: unknown capability"),
    (dict(cap_drop=["nope"]), "cap_drop: unknown capability"),
    (dict(sysctls={"vm.swappiness": "1"}), "sysctls: vm.swappiness is not a namespaced"),
    (dict(ulimits=["nofile:9:1"]), "ulimits: invalid ulimit"),
    (dict(stop_signal="NOPE"), "stop_signal: invalid signal"),
    (dict(oom_score_adj=5000), "oom_score_adj: invalid value"),
    (dict(groups=["a b"]), "groups: invalid group"),
    (dict(labels=["a=b"]), "labels: expected a mapping"),
])
def test_module_bad_input_names_the_option(params, start):
    with pytest.raises(MyDockerError) as e:
        _plan(**params)
    assert str(e.value).startswith(start) and "--" not in str(e.value).split(":", maxsplit=1)[0]


def test_an_old_record_compares_as_dockers_defaults():
    p = _plan(capabilities=[], cap_drop=[], privileged=False, sysctls={}, ulimits=[], init=False, groups=[],
              oom_score_adj=0, labels={}, stop_signal="SIGTERM")
    assert not p.steps, p.actions


@pytest.mark.parametrize("params, key", [
    (dict(capabilities=["NET_ADMIN"]), "capabilities"), (dict(cap_drop=["ALL"]), "cap_drop"),
    (dict(privileged=True), "privileged"), (dict(sysctls={"net.ipv4.ip_forward": "1"}), "sysctls"),
    (dict(ulimits=["nofile:1024:2048"]), "ulimits"), (dict(init=True), "init"), (dict(groups=["tty"]), "groups"),
    (dict(oom_score_adj=100), "oom_score_adj"), (dict(labels={"a": "b"}), "labels"),
    (dict(stop_signal="SIGUSR1"), "stop_signal"),
])
def test_a_change_recreates_and_the_same_wish_written_otherwise_does_not(params, key):
    p = _plan(**params)
    assert p.actions == ["recreate: %s changed" % key, "start"]
    step = p.find("recreate")
    arg = pp.CREATE_ARGS[key]
    assert step.args["options"][arg] == p.after[key]
    rec = dict(RECORD, capAdd=["CAP_NET_ADMIN"], capDrop=["ALL"], privileged=True,
               sysctls={"net.ipv4.ip_forward": "1"}, ulimits=[{"name": "nofile", "soft": 1024, "hard": 2048}],
               init=True, groupAdd=["tty"], oomScoreAdj=100, labels={"a": "b"}, stopSignal="SIGUSR1")
    again = dict(capabilities=["cap_net_admin"], cap_drop=["all"], privileged=True,
                 sysctls={"net.ipv4.ip_forward": 1}, ulimits=["nofile=1024:2048"], init=True, groups=["tty"],
                 oom_score_adj="100", labels={"a": "b"}, stop_signal="usr1")
    assert not _plan(record=rec, **{key: again[key]}).steps


def test_a_new_container_predicts_the_images_stop_signal_and_the_defaults():
    p = _plan(record=None)
    assert p.after["stop_signal"] == "SIGQUIT" and p.after["capabilities"] == [] and p.after["init"] is False
    assert not set(pp.CREATE_ARGS.values()) & set(p.find("create").args["options"])
    p = _plan(record=None, stop_signal="HUP", ulimits=["nofile:5"])
    assert p.after["stop_signal"] == "SIGHUP" and p.after["ulimits"] == ["nofile:5:5"]
    assert p.find("create").args["options"]["stop_signal"] == "SIGHUP"


# ------------------------------------------------------------------ memory_swap, memory_reservation

def test_memory_swap_and_reservation_parse_and_combine():
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine import memswap, resources
    mib = 1 << 20
    res = resources.normalize_resources({"memory": "64m", "memory_swap": "128m", "memory_reservation": "32m"})
    assert res["memory_swap"] == 128 * mib and res["memory_reservation"] == 32 * mib
    assert resources.normalize_resources(res) == res
    assert resources.normalize_resources({"memory": "64m", "memory_swap": "-1"})["memory_swap"] == -1
    assert set(resources.normalize_resources({"memory": "64m"})) == set(resources.RESOURCE_KEYS)  # as before
    for bad, msg in (({"memory_swap": "128m"}, "needs a memory limit"),
                     ({"memory": "64m", "memory_swap": "32m"}, "at least the memory limit"),
                     ({"memory": "64m", "memory_reservation": "128m"}, "not be above the memory limit"),
                     ({"memory": "64m", "memory_swap": "lots"}, "^invalid memory_swap 'lots'")):
        with pytest.raises(MyDockerError, match=msg):
            resources.normalize_resources(bad)
    # v1: memsw is memory without memory_swap; the write order keeps memsw >= limit at every moment
    assert memswap.v1_memsw_text(64, None) == "64" and memswap.v1_memsw_text(64, -1) == "-1"
    assert memswap.v1_memsw_text(None, None) == "-1" and memswap.v1_memsw_text(64, 128) == "128"
    assert memswap.v1_write_order(64, 128) and not memswap.v1_write_order(256, 128) and memswap.v1_write_order(64, None)
    assert memswap.v1_read_swap(64, 64) is None and memswap.v1_read_swap(64, None) == -1
    assert memswap.v1_read_swap(64, 128) == 128 and memswap.v1_read_swap(None, None) is None
    # v2: memory.swap.max is the swap alone
    assert memswap.v2_swap_text(64, None) == "0" and memswap.v2_swap_text(64, 128) == "64"
    assert memswap.v2_swap_text(64, -1) == "max" and memswap.v2_swap_text(None, None) == "max"
    assert memswap.v2_read_swap(64, "0") is None and memswap.v2_read_swap(64, "64") == 128
    assert memswap.v2_read_swap(64, "max") == -1 and memswap.v2_read_swap(None, "max") is None


def test_memory_swap_changes_in_place():
    mib = 1 << 20
    rec = copy.deepcopy(RECORD)
    rec["resources"].update(memory=64 * mib, memory_swap=128 * mib)
    assert not _plan(record=rec, memory="64m", memory_swap="128m").steps
    p = _plan(record=rec, memory="64m", memory_swap="256m", memory_reservation="32m")
    assert p.actions == ["update: memory_swap", "update: memory_reservation"]
    assert p.resources["memory_swap"] == 256 * mib and p.resources["memory_reservation"] == 32 * mib
    assert p.resources["memory"] == 64 * mib
    with pytest.raises(MyDockerError, match="^memory_swap: invalid memory_swap .* at least the memory limit"):
        _plan(record=rec, memory="64m", memory_swap="32m")
    p = _plan(record=None, memory="64m", memory_swap=-1)
    assert p.find("create").args["options"]["resources"]["memory_swap"] == -1 and p.after["memory_swap"] == -1


# ------------------------------------------------------------------ devices

def test_device_spellings_and_bad_paths():
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine import devices
    null = devices.parse_device("/dev/null")
    assert null == {"host": "/dev/null", "container": "/dev/null", "permissions": "rwm", "type": "c",
                    "major": 1, "minor": 3, "mode": null["mode"]}
    assert devices.parse_device("/dev/null:r")["permissions"] == "r"
    assert devices.parse_device("/dev/null:/dev/n2")["container"] == "/dev/n2"
    assert devices.text_of(devices.parse_device("/dev/null:/dev/n2:rw")) == "/dev/null:/dev/n2:rw"
    for bad, msg in (("/etc/passwd", "invalid host path"), ("/dev/null:/etc/x", "invalid container path"),
                     ("/dev/null:/dev/x:rwx", "invalid permissions"), ("/dev/null:/dev/x:rr", "invalid permissions"),
                     ("/dev/nope", "cannot use /dev/nope"), ("/dev/shm", "/dev/shm is not a device node"),
                     ("/dev/../etc/passwd", "invalid host path"), ("a:b:c:d", "invalid device")):
        with pytest.raises(MyDockerError, match="^--device: " + msg):
            devices.parse_device(bad)
    assert devices.cgroup_rules({"devices": [null]}) == [("c", 1, 3, "rwm")]
    assert devices.cgroup_rules({"privileged": True, "devices": [null]}) == [devices.ALL_DEVICES_RULE]
    assert pp.norm_devices(["/dev/null:/dev/n2:rw", "/dev/zero"]) == ["/dev/null:/dev/n2:rw", "/dev/zero:/dev/zero:rwm"]
    with pytest.raises(MyDockerError, match="^devices: invalid host path"):
        pp.norm_devices(["/etc/passwd"])


def test_device_nodes_and_cgroup_rules(tmp_path):
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine import devices
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.cgroups import base
    from ansible_collections.mydocker.runtime.tests.unit.fakes import RecordingSyscalls
    fake = RecordingSyscalls()
    d = {"host": "/dev/null", "container": "/dev/sub/n", "permissions": "r", "type": "c", "major": 1, "minor": 3,
         "mode": 0o600}
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "null").write_text("")
    devices.make_nodes([d, dict(d, container="/dev/null", fromHost=True)], str(tmp_path), fake)
    assert [(c["path"], c["device"]) for c in fake.named("mknod")] == [(str(tmp_path / "dev/sub/n"), os.makedev(1, 3))]
    assert base.CgroupManager.extra_device_rules == ()
    rec = {"id": "1234567890", "devices": [d]}
    assert lifecycle.cgroup_of(Paths(str(tmp_path)), rec).extra_device_rules == [("c", 1, 3, "r")]
