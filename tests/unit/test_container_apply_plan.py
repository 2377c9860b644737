# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container plan's steps are data (op, args, actions) and apply() executes exactly them
through its table: the engine is faked and records the calls (no root, no containers)."""

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import containers
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import container as cp
from ansible_collections.mydocker.runtime.plugins.module_utils.planning.plan import Plan, Step, apply_steps

IMAGE = {"name": "busybox", "layer": "aaaa", "config": {}}
RECORD = {
    "id": "1234567890", "name": "web", "image": "busybox", "layer": "aaaa", "cmd": ["sleep", "1000"], "env": {},
    "volumes": [], "ports": [{"host_ip": "", "host_port": 8080, "container_port": 80, "proto": "tcp"}],
    "networkName": "net", "ip": "", "hostname": "web", "workdir": "/", "autoRemove": False,
    "restartPolicy": {"name": "on-failure", "maxRetries": 3},
    "resources": {"memory": None, "cpus": None, "cpu_shares": None, "cpuset_cpus": None, "pids_limit": None},
    "stopRequested": False,
}
BASE = dict(name="web", state="started", image="busybox", command=["sleep", "1000"], published_ports=["8080:80"],
            network="net", restart_policy="on-failure", restart_retries=3, detach=True, stop_timeout=10)


def plan(status="running", record="default", **params):
    rec = dict(RECORD) if record == "default" else record
    facts = cp.Facts(record=rec, status=status if rec else None, image=dict(IMAGE))
    return cp.decide(dict(BASE, **params), facts)


class FakeEngine:
    def __init__(self, fail_start=False):
        self.calls = []
        self.fail_start = fail_start

    def exists(self, root, cid):
        return True

    def create(self, root, image, command, name=None, **kw):
        self.calls.append(("create", image, command, name, kw))
        return {"id": "new"}

    def remove(self, root, cid, force=False):
        self.calls.append(("remove", cid, force))

    def stop(self, root, cid, timeout=10):
        self.calls.append(("stop", cid, timeout))

    def start(self, root, cid):
        self.calls.append(("start", cid))
        if self.fail_start:
            raise MyDockerError("cannot start")

    def start_and_wait(self, root, cid):
        self.calls.append(("start_and_wait", cid))
        return 0, b"out\n", b""

    def update(self, root, cid, resources=None, restart=None):
        self.calls.append(("update", cid, resources, restart))

    def inspect(self, root, cid):
        return {"id": cid}


@pytest.fixture
def fake(monkeypatch):
    eng = FakeEngine()
    # the steps call engine.containers (imported when a step runs); the result is read through
    # engine.view, which is all a no-change run imports
    for fn in ("exists", "create", "remove", "stop", "start", "start_and_wait", "update"):
        monkeypatch.setattr(containers, fn, getattr(eng, fn))
    monkeypatch.setattr(cp.view, "inspect", eng.inspect)
    monkeypatch.setattr(cp.records, "update", lambda paths, cid, **kw: eng.calls.append(("rename", cid, kw)))
    return eng


def test_step_is_data_and_changed_is_steps():
    p = Plan("x")
    assert not p.changed and p.actions == []
    step = p.add("op", ["first", "second"], a=1)
    p.add("other", (), b=2)
    assert step == Step("op", {"a": 1}, ("first", "second")) and step.op == "op"
    assert p.changed and p.actions == ["first", "second"]
    assert p.find("other").args == {"b": 2} and p.find("none") is None
    seen = []
    apply_steps({"op": lambda ctx, a: seen.append((ctx, a)), "other": lambda ctx, b: seen.append((ctx, b))}, p, "c")
    assert seen == [("c", 1), ("c", 2)]
    with pytest.raises(MyDockerError, match="unknown plan step"):
        apply_steps({}, p, "c")


def test_update_step_carries_its_arguments(fake):
    p = plan(memory="128m", restart_policy="always")
    assert p.steps == [Step("update", {"resources": p.resources, "restart": "always"},
                            ("update: memory", "update: restart_policy"))]
    assert cp.apply("/r", p) == {"container": {"id": "1234567890"}}
    assert fake.calls == [("update", "1234567890", p.resources, "always")]


def test_create_and_start(fake):
    p = plan(record=None)
    assert [s.op for s in p.steps] == ["create", "start"]
    cp.apply("/r", p)
    (op, image, command, name, kw), start = fake.calls
    assert (op, image, command, name) == ("create", "busybox", ["sleep", "1000"], "web")
    assert kw["network"] == "net" and kw["ports"] == ["0.0.0.0:8080:80/tcp"] and kw["restart"] == "on-failure:3"
    assert start == ("start", "new")


def test_a_fresh_container_that_cannot_start_is_removed(fake):
    fake.fail_start = True
    with pytest.raises(MyDockerError, match="cannot start"):
        cp.apply("/r", plan(record=None))
    assert fake.calls[-1] == ("remove", "new", True)


def test_recreate_replaces_under_the_same_name(fake):
    p = plan(hostname="other", stop_timeout=3)
    assert p.steps[0].op == "recreate" and p.steps[0].args["timeout"] == 3
    cp.apply("/r", p)
    assert [c[0] for c in fake.calls] == ["create", "stop", "remove", "rename", "start"]
    assert fake.calls[0][3].startswith("web.new-")
    assert fake.calls[1] == ("stop", "1234567890", 3) and fake.calls[3] == ("rename", "new", {"name": "web"})
    assert fake.calls[4] == ("start", "new")


def test_remove_stop_restart_and_wait(fake):
    cp.apply("/r", plan(state="absent", force_kill=True))
    assert fake.calls == [("remove", "1234567890", True)]  # killed: no stop first
    del fake.calls[:]
    cp.apply("/r", plan(state="stopped", stop_timeout=4))
    assert fake.calls == [("stop", "1234567890", 4)]
    del fake.calls[:]
    cp.apply("/r", plan(restart=True, force_kill=True))
    assert fake.calls == [("stop", "1234567890", 0), ("start", "1234567890")]
    del fake.calls[:]
    out = cp.apply("/r", plan(status="exited", detach=False))
    assert fake.calls == [("start_and_wait", "1234567890")] and out["rc"] == 0 and out["stdout"] == "out\n"
