# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container plan: normalisation, comparison and decisions (no root, no containers)."""

import copy

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import container as cp
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import options as opts

IMAGE = {"name": "busybox", "layer": "aaaa", "config": {"Env": ["PATH=/bin", "LANG=C"]}}

RECORD = {
    "id": "1234567890", "name": "web", "image": "busybox", "layer": "aaaa",
    "cmd": ["sleep", "1000"], "env": {"LANG": "C", "A": "1"},
    "volumes": [{"host": "/srv/b", "container": "/b", "ro": True},
                {"host": "/srv/a", "container": "/a", "ro": False}],
    "ports": [{"host_ip": "", "host_port": 8080, "container_port": 80, "proto": "tcp"}],
    "networkName": "net", "ip": "10.9.0.2", "hostname": "web", "workdir": "/",
    "autoRemove": False, "restartPolicy": {"name": "on-failure", "maxRetries": 3},
    "resources": {"memory": 64 * 1024 * 1024, "cpus": 0.5, "cpu_shares": None,
                  "cpuset_cpus": None, "pids_limit": 50},
    "stopRequested": False,
}

BASE = dict(name="web", state="started", image="busybox", command=["sleep", "1000"],
            env={"A": "1"}, volumes=["/srv/a:/a", "/srv/b:/b:ro"], published_ports=["8080:80"],
            network="net", ip="10.9.0.2", hostname="web", working_dir="/", memory="64m", cpus=0.5,
            pids_limit=50, restart_policy="on-failure", restart_retries=3, detach=True,
            stop_timeout=10)


def facts(status="running", record="default", **kw):
    if record == "default":
        record = RECORD
    return cp.Facts(record=copy.deepcopy(record) if record else None, status=status if record else None,
                    image=copy.deepcopy(kw.pop("image", IMAGE)), **kw)


def plan(status="running", record="default", fkw=None, **params):
    p = dict(BASE)
    p.update(params)
    return cp.decide(p, facts(status, record, **(fkw or {})))


# ------------------------------------------------------------------ normalisers

@pytest.mark.parametrize("a,b", [
    ("sleep 1000", ["sleep", "1000"]),
    ("sh -c 'echo a b'", ["sh", "-c", "echo a b"]),
    (["sleep", 1000], ["sleep", "1000"]),
])
def test_command_forms(a, b):
    assert opts.norm_command(a) == b


@pytest.mark.parametrize("bad", ["", [], "sh -c 'unclosed", [True], {"a": 1}])
def test_command_bad(bad):
    with pytest.raises(MyDockerError, match="^command: "):
        opts.norm_command(bad)


def test_env():
    assert opts.norm_env({"A": 1, "B": "x", "C": None, "D": 1.5}) == {"A": "1", "B": "x", "C": "", "D": "1.5"}
    with pytest.raises(MyDockerError, match="^env: .*quote"):
        opts.norm_env({"A": True})
    with pytest.raises(MyDockerError, match="^env: "):
        opts.norm_env({"1A": "x"})


def test_volumes_written_two_ways():
    assert opts.norm_volumes(["/srv/b/:/b/:ro", "/srv//a:/a:rw"]) == opts.norm_volumes(["/srv/a:/a", "/srv/b:/b:ro"])
    assert opts.norm_volumes(["/srv/a:/a", "/srv/b:/b:ro"]) == ["/srv/a:/a", "/srv/b:/b:ro"]


# "rel:/a" is a named volume since issue 11 (as Docker); names that could leave the state root are not
@pytest.mark.parametrize("bad", [["/srv/a"], ["/:/a"], ["../rel:/a"], [".rel:/a"], ["r/el:/a"], ["/a:/../x"],
                                 ["/a:/x", "/b:/x"], ["vol:/x", "/b:/x"]])
def test_volumes_bad(bad):
    with pytest.raises(MyDockerError, match="^volumes: "):
        opts.norm_volumes(bad)


def test_ports_written_two_ways():
    a = opts.norm_ports(["8080:80", "0.0.0.0:53:53/UDP", "127.0.0.1:81:80/tcp"])
    b = opts.norm_ports(["127.0.0.1:81:80", "53:53/udp", "0.0.0.0:8080:80/tcp", "8080:80"])
    assert a == b == ["0.0.0.0:53:53/udp", "0.0.0.0:8080:80/tcp", "127.0.0.1:81:80/tcp"]
    with pytest.raises(MyDockerError, match="^published_ports: "):
        opts.norm_ports(["70000:80"])


def test_limits():
    assert opts.norm_memory("64m") == opts.norm_memory(67108864) == opts.norm_memory("65536k") == 67108864
    assert opts.norm_memory("0") is None and opts.norm_memory("unlimited") is None
    with pytest.raises(MyDockerError, match="^memory: invalid memory"):
        opts.norm_memory("12x")
    with pytest.raises(MyDockerError, match="^memory: .*minimum"):
        opts.norm_memory("1m")
    assert opts.norm_cpus("0.5") == opts.norm_cpus(0.5) == 0.5
    assert opts.norm_cpus(0) is None
    assert opts.norm_cpu_shares(1024) is None and opts.norm_cpu_shares(512) == 512
    assert opts.norm_pids_limit(-1) is None and opts.norm_pids_limit(10) == 10
    with pytest.raises(MyDockerError, match="^cpu_shares: "):
        opts.norm_cpu_shares(1)


def test_restart_policy():
    assert opts.norm_restart_policy("no") == "no"
    assert opts.norm_restart_policy(False) == "no"
    assert opts.norm_restart_policy("on-failure", {"restart_retries": 3}) == "on-failure:3"
    assert opts.norm_restart_policy("on-failure", {}) == "on-failure"
    assert opts.norm_restart_policy("always", {"restart_retries": 3}) == "always"
    assert opts.policy_text({"name": "on-failure", "maxRetries": 3}) == "on-failure:3"
    with pytest.raises(MyDockerError, match="^restart_policy: "):
        opts.norm_restart_policy("sometimes")


def test_record_and_wish_agree():
    wish = cp.normalise_wish(dict(BASE))
    current = cp.config_of_record(RECORD)
    for name in cp.OPTION_NAMES:
        if wish[name] is cp.MISSING:
            continue
        assert wish[name] == current[name] or name == "env", name
    assert wish["auto_remove"] is cp.MISSING


# ------------------------------------------------------------------ decisions

def test_unchanged():
    p = plan()
    assert p.actions == [] and not p.changed and p.steps == []
    assert p.before == p.after


def test_same_wish_written_differently():
    p = plan(command="sleep 1000", memory="65536k", cpus="0.50", volumes=["/srv/b/:/b:ro", "/srv/a:/a:rw"],
             published_ports=["0.0.0.0:8080:80/tcp"], env={"A": 1})
    assert p.actions == []


def test_not_given_is_not_compared():
    p = plan(command=None, env=None, memory=None, volumes=None, published_ports=None, network=None, ip=None,
             hostname=None, working_dir=None, restart_policy=None, restart_retries=None, image=None)
    assert p.actions == []


def test_create_and_start():
    p = plan(record=None)
    assert p.actions == ["create", "start"]
    assert p.before == {"state": "absent"}
    assert p.after["state"] == "running" and p.after["memory"] == 64 * 1024 * 1024
    assert p.after["env"] == {"LANG": "C", "A": "1"}


def test_present_creates_without_starting():
    p = plan(record=None, state="present")
    assert p.actions == ["create"] and p.after["state"] == "created"


def test_create_needs_image_and_command():
    with pytest.raises(MyDockerError, match="^image: "):
        cp.decide(dict(BASE, image=None), cp.Facts())
    with pytest.raises(MyDockerError, match="^command: .*no default command"):
        plan(record=None, command=None)


def test_limits_in_place():
    p = plan(memory="128m", pids_limit=0)
    assert p.actions == ["update: memory", "update: pids_limit"]
    assert [s.op for s in p.steps] == ["update"]
    assert p.resources["memory"] == 128 * 1024 * 1024 and p.resources["pids_limit"] is None
    assert p.resources["cpus"] == 0.5  # the others stay
    assert p.after["memory"] == 128 * 1024 * 1024 and p.before["memory"] == 64 * 1024 * 1024


def test_restart_policy_in_place():
    p = plan(restart_policy="always")
    assert p.actions == ["update: restart_policy"] and p.restart_policy == "always" and p.resources is None


@pytest.mark.parametrize("change,why", [
    (dict(image="other"), "recreate: image changed"),
    (dict(command="sleep 5"), "recreate: command changed"),
    (dict(env={"A": "2"}), "recreate: env changed"),
    (dict(volumes=["/srv/a:/a"]), "recreate: volumes changed"),
    (dict(published_ports=["8081:80"]), "recreate: published_ports changed"),
    (dict(hostname="other"), "recreate: hostname changed"),
    (dict(working_dir="/tmp"), "recreate: working_dir changed"),
    (dict(ip="10.9.0.3"), "recreate: ip changed"),
    (dict(recreate=True), "recreate: requested"),
])
def test_recreate(change, why):
    p = plan(**change)
    assert p.actions == [why, "start"]
    assert [s.op for s in p.steps] == ["recreate", "start"]


def test_recreate_names_every_option():
    p = plan(env={"A": "2"}, hostname="x", memory="128m")
    assert p.actions == ["recreate: env, hostname changed", "start"]


def test_new_image_layer_and_missing_layer():
    assert plan(fkw=dict(image=dict(IMAGE, layer="bbbb"))).actions == ["recreate: image changed (new layer)", "start"]
    assert plan(fkw=dict(layer_ok=False)).actions == ["recreate: image layer missing", "start"]


def test_cgroup_drift():
    p = plan(fkw=dict(cgroup_diff={"memory": (64 * 1024 * 1024, 100 * 1024 * 1024)}))
    assert p.actions == ["update: memory (changed on the host)"]
    assert p.before["memory"] == 100 * 1024 * 1024 and p.after["memory"] == 64 * 1024 * 1024
    assert p.resources["memory"] == 64 * 1024 * 1024


def test_dead_process_is_started():
    assert plan(status="exited").actions == ["start: process not running"]
    stopped = dict(RECORD, stopRequested=True)
    assert plan(status="exited", record=stopped).actions == ["start"]
    assert plan(status="created").actions == ["start"]
    assert plan(status="restarting").actions == []


def test_stopped_and_restart():
    assert plan(state="stopped").actions == ["stop"]
    assert plan(state="stopped", status="exited").actions == []
    assert plan(restart=True).actions == ["restart"]
    assert plan(restart=True, status="exited").actions == ["start: process not running"]
    p = plan(state="present", env={"A": "2"})
    assert p.actions == ["recreate: env changed", "start"]  # it ran before
    p = plan(state="present", env={"A": "2"}, status="exited")
    assert p.actions == ["recreate: env changed"] and p.after["state"] == "created"


def test_absent():
    p = plan(state="absent")
    assert p.actions == ["remove"] and p.after == {"state": "absent"}
    p = cp.decide(dict(name="web", state="absent"), cp.Facts())
    assert p.actions == [] and p.before == p.after


def test_detach_false():
    p = plan(record=None, detach=False, auto_remove=True, restart_policy=None, restart_retries=None)
    assert p.actions == ["create", "start"] and p.after["state"] == "absent"
    assert plan(status="exited", detach=False).after["state"] == "exited"
    with pytest.raises(MyDockerError, match="^detach: "):
        plan(record=None, detach=False, restart_policy="always")


def test_bad_combinations():
    with pytest.raises(MyDockerError, match="^auto_remove: "):
        plan(auto_remove=True, restart_policy="always")
    with pytest.raises(MyDockerError, match="^published_ports: .*network"):
        plan(record=None, network=None, ip=None)
    with pytest.raises(MyDockerError, match="^ip: "):
        plan(record=None, network=None, published_ports=None)
    with pytest.raises(MyDockerError, match="^state: "):
        plan(state="running")


def test_ip_outside_the_network():
    net = {"Name": "net", "Subnet": "10.9.0.0/24", "Gateway": "10.9.0.1"}
    assert plan(fkw=dict(network=net)).actions == []
    for ip in ("10.9.1.5", "10.9.0.1", "10.9.0.255", "10.9.0.0"):
        with pytest.raises(MyDockerError, match="^ip: "):
            plan(ip=ip, fkw=dict(network=net))


# ------------------------------------------------------------------ security_opts

def test_security_opts_normalised(tmp_path):
    prof = tmp_path / "p.json"
    prof.write_text('{"defaultAction": "SCMP_ACT_ALLOW"}')
    assert opts.norm_security_opts([]) == []
    want = ["no-new-privileges", "seccomp=unconfined"]
    assert opts.norm_security_opts(["seccomp:unconfined", "no-new-privileges:true"]) == want
    assert opts.norm_security_opts(["no-new-privileges", "seccomp=unconfined"]) == want
    # the last seccomp option counts, as in Docker
    assert opts.norm_security_opts(["seccomp=unconfined", "seccomp=%s" % prof]) == ["seccomp=%s" % prof]
    assert opts.security_text(["seccomp=%s/./p.json" % tmp_path]) == ["seccomp=%s" % prof]


@pytest.mark.parametrize("bad,msg", [(["apparmor=x"], "unsupported --security-opt"),
                                     (["seccomp=rel.json"], "must be an absolute path"),
                                     (["seccomp=/nonexistent/p.json"], "cannot read seccomp profile"),
                                     ("seccomp=unconfined", "expected a list")])
def test_security_opts_bad(bad, msg):
    with pytest.raises(MyDockerError, match="^security_opts: .*%s" % msg):
        opts.norm_security_opts(bad)


def test_security_opts_change_recreates_and_same_is_idempotent():
    rec = dict(RECORD, securityOpt=["seccomp:unconfined"])
    assert plan(record=rec, security_opts=["seccomp=unconfined"]).actions == []
    assert plan(record=rec).actions == []  # not given: not compared
    p = plan(record=rec, security_opts=[])
    assert p.actions == ["recreate: security_opts changed", "start"]
    assert p.before["security_opts"] == ["seccomp=unconfined"] and p.after["security_opts"] == []
    p = plan(security_opts=["seccomp=unconfined"])  # RECORD has none: the default profile
    assert p.actions == ["recreate: security_opts changed", "start"]
    assert p.steps[0].args["options"]["security_opt"] == ["seccomp=unconfined"]
    p = plan(record=None, security_opts=["no-new-privileges"])
    assert p.after["security_opts"] == ["no-new-privileges"]
    assert plan(record=None).after["security_opts"] == []
