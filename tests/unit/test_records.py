"""Container records (engine/records.py) and the state lock (engine/store.py): no root needed."""
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import lifecycle, records, store
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError, NotFound
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import ipam
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import Paths

GO_RECORD = ('{"pid":" ","id":"4242424242","name":"4242424242","command":"sh",'
             '"createdTime":"2025-03-17 15:45:14","status":"running","volume":"","networkName":"",'
             '"portmapping":null,"ip":"","cgroupManager":{"Path":"mydocker-cgroup","Resource":null}}')


def ours(cid="1234567890", **extra):
    rec = {"pid": "", "id": cid, "name": "web", "command": "", "createdTime": "2025-03-17 15:45:14",
           "status": records.CREATED, "volume": "", "networkName": "br0", "portmapping": None,
           "ip": "192.168.0.2", "cgroupManager": {"Path": "mydocker-x/%s" % cid, "Resource": None},
           "cmd": ["sh", "-c", "echo hi there"], "image": "busybox", "layer": "abc",
           "volumes": [{"host": "/srv/a", "container": "/a", "ro": False},
                       {"host": "/srv/b", "container": "/b", "ro": True}],
           "ports": [{"host_ip": "", "host_port": 8080, "container_port": 80, "proto": "tcp"},
                     {"host_ip": "127.0.0.1", "host_port": 5353, "container_port": 53, "proto": "udp"}],
           "resources": {"memory": 104857600, "cpus": 0.5, "cpu_shares": None, "cpuset_cpus": "0"},
           "restartPolicy": {"name": "no", "maxRetries": 0}, "restartCount": 0}
    rec.update(extra)
    return rec


@pytest.fixture
def paths(tmp_path):
    p = Paths(str(tmp_path))
    p.ensure()
    return p


def test_round_trip_keeps_keys_and_order(paths):
    saved = records.save(paths, ours())
    with open(paths.container_config("1234567890")) as f:
        raw = f.read()
    on_disk = json.loads(raw)
    assert list(on_disk)[:len(records.GO_KEYS)] == list(records.GO_KEYS)
    assert raw.endswith("}\n") and ", " not in raw.split('"cmd"')[0]   # compact, one line
    back = records.load(paths, "1234567890")
    assert isinstance(back, records.Record) and back == saved == on_disk
    assert (back.id, back.name, back.network, back.ip, back.image) == ("1234567890", "web", "br0",
                                                                       "192.168.0.2", "busybox")
    assert back.pid is None and back.cmd == ["sh", "-c", "echo hi there"]
    assert back.own_cgroup == ("mydocker-x", "1234567890")


def test_go_keys_derived_from_ours(paths):
    rec = records.save(paths, ours(pid=4711))
    assert rec["pid"] == "4711" and records.load(paths, rec.id).pid == 4711
    assert rec["command"] == "sh -c 'echo hi there'"
    assert rec["volume"] == "/srv/a:/a,/srv/b:/b:ro"
    assert rec["portmapping"] == ["8080:80", "127.0.0.1:5353:53/udp"]
    assert rec["cgroupManager"] == {"Path": "mydocker-x/1234567890",
                                    "Resource": {"MemoryLimit": "104857600", "CpuCfsQuota": 50000,
                                                 "CpuShare": "", "CpuSet": "0"}}
    # an update of ours updates the Go tool's key with it
    rec = records.update(paths, rec.id, ports=[], volumes=[], resources={}, cmd=["ls", "-l"], pid="")
    assert (rec["portmapping"], rec["volume"], rec["command"], rec["pid"]) == (None, "", "ls -l", "")
    assert rec["cgroupManager"]["Resource"]["MemoryLimit"] == ""
    assert json.load(open(paths.container_config(rec.id))) == rec


def test_go_tool_record_is_read_as_it_is(paths):
    os.makedirs(paths.container_dir("4242424242"))
    with open(paths.container_config("4242424242"), "w") as f:
        f.write(GO_RECORD)
    rec = records.find(paths, "4242424242")
    assert rec == json.loads(GO_RECORD)
    assert rec.pid is None and rec.cmd == [] and rec.volumes == [] and rec.port_specs == []
    assert rec.own_cgroup is None     # the Go tool's shared cgroup is not ours
    assert rec.restart_policy == {"name": "no"} and not rec.auto_remove
    assert [r.id for r in records.all_records(paths)] == ["4242424242"]
    assert records.users(paths, "image", "busybox") == []
    # nothing of ours is invented when it is written back: only the Go keys it has
    rec = records.update(paths, "4242424242", status=records.EXITED)
    assert rec == dict(json.loads(GO_RECORD), status="exited")
    assert lifecycle.true_status(rec) == records.EXITED


def test_find_by_name_and_bad_refs(paths):
    records.save(paths, ours())
    records.save(paths, ours("2222222222", name="db"))
    assert records.find(paths, "db").id == "2222222222"
    assert records.find(paths, "1234567890").name == "web"
    for bad in ("nosuch", "", "../x", ".lock", None, 7):
        with pytest.raises(NotFound):
            records.find(paths, bad)
    assert records.read(paths, "0000000000") is None
    with pytest.raises(NotFound):
        records.update(paths, "0000000000", status=records.EXITED)


def test_corrupt_record(paths):
    records.save(paths, ours())
    os.makedirs(paths.container_dir("9999999999"))
    with open(paths.container_config("9999999999"), "w") as f:
        f.write("[1, 2]")
    with pytest.raises(MyDockerError, match="corrupt state file"):
        records.all_records(paths)
    assert [r.id for r in records.all_records(paths, skip_corrupt=True)] == ["1234567890"]
    # a record without an id (hand-written) gets the name of its directory
    os.makedirs(paths.container_dir("3333333333"))
    with open(paths.container_config("3333333333"), "w") as f:
        f.write('{"name": "rec"}')
    assert records.find(paths, "rec").id == "3333333333"


def test_atomic_write_leaves_no_temp_file(paths, monkeypatch):
    records.save(paths, ours())
    before = open(paths.container_config("1234567890")).read()
    d = paths.container_dir("1234567890")
    assert os.listdir(d) == ["config.json"]
    # a failure in the middle of the write: the old record stays whole, no temp file is left
    real_fsync = os.fsync

    def boom(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError):
        records.update(paths, "1234567890", status=records.RUNNING)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert os.listdir(d) == ["config.json"]
    assert open(paths.container_config("1234567890")).read() == before
    records.delete(paths, "1234567890")
    assert not os.path.exists(d)


def _try_lock_elsewhere(path):
    """Whether another process can take the flock on ``path`` at once."""
    code = ("import fcntl, os, sys\n"
            "fd = os.open(sys.argv[1], os.O_RDWR)\n"
            "try:\n"
            "    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
            "except BlockingIOError:\n"
            "    sys.exit(1)\n"
            "sys.exit(0)\n")
    return subprocess.run([sys.executable, "-c", code, path], timeout=30, check=False).returncode == 0


def test_lock_is_reentrant_and_excludes_another_process(paths):
    with store.state_lock(paths):
        assert store.lock_held(paths.lock_file)
        with store.state_lock(paths):       # the same thread again: no deadlock
            records.update(paths, records.save(paths, ours()).id, status=records.RUNNING)
            with ipam.lock(paths):          # the networking engine's name for the same lock
                assert ipam.load(paths) == {}
            assert not _try_lock_elsewhere(paths.lock_file)
        assert store.lock_held(paths.lock_file)
        assert not _try_lock_elsewhere(paths.lock_file)   # still held after the inner block
    assert not store.lock_held(paths.lock_file)
    assert _try_lock_elsewhere(paths.lock_file)


def test_lock_excludes_another_thread(paths):
    order = []
    inside = threading.Event()

    def other():
        with store.state_lock(paths):
            order.append("other")

    with store.state_lock(paths):
        t = threading.Thread(target=other)
        t.start()
        inside.set()
        time.sleep(0.3)
        order.append("main")
    t.join(10)
    assert order == ["main", "other"]


def test_forked_child_does_not_hold_or_prolong_the_lock(paths):
    r, w = os.pipe()
    with store.state_lock(paths):
        pid = os.fork()
        if pid == 0:   # the child: it holds nothing, and waits until told to end
            os.close(w)
            ok = not store.lock_held(paths.lock_file)
            os.read(r, 1)
            os._exit(0 if ok else 1)
    os.close(r)
    try:
        # the parent's block is over while the child lives on: the lock is free
        assert _try_lock_elsewhere(paths.lock_file)
    finally:
        os.write(w, b"x")
        os.close(w)
        dummy, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_lock_fd_is_cloexec(paths):
    import fcntl
    with store.state_lock(paths):
        held = [h for k, h in store._HELD.items() if k[0] == os.path.abspath(paths.lock_file)]
        assert len(held) == 1 and fcntl.fcntl(held[0].fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC


def test_users_of_an_image_and_a_layer(paths):
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine import images
    records.save(paths, ours("3000000002", name="b", image="alpine", layer="L2"))
    records.save(paths, ours("3000000001", name="a"))
    records.save(paths, ours("3000000003", name="c"))
    assert images.image_users(paths.root, "busybox") == ["a", "c"]
    assert images.image_users(paths.root, "alpine") == ["b"]
    assert images.layer_container_users(paths.root, "L2") == ["b"]
    assert images.layer_container_users(paths.root, "nosuch") == []


def test_network_reads_records_through_records(paths):
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import networks, ports
    records.save(paths, ours("3000000001", name="a"))
    os.makedirs(paths.container_dir("3000000009"))
    with open(paths.container_config("3000000009"), "w") as f:
        f.write("not json")   # a corrupt record does not stop the network engine
    got = networks._container_records(paths)
    assert list(got) == ["3000000001"] and got["3000000001"].port_specs == ["8080:80", "127.0.0.1:5353:53/udp"]
    assert ports.format_publish is records.format_port


def _write_raw(paths, cid, text):
    os.makedirs(paths.container_dir(cid), exist_ok=True)
    with open(paths.container_config(cid), "w") as f:
        f.write(text)


def test_with_name_parses_only_what_holds_the_name(paths, monkeypatch):
    records.save(paths, ours("1111111111", name="web"))
    records.save(paths, ours("2222222222", name="db", hostname="web"))   # "web" in another field
    _write_raw(paths, "3333333333", '{"id": "3333333333", "name": "go-web"}')  # a Go-style record
    _write_raw(paths, "4444444444", "not json")  # corrupt, and without the name: not read as JSON
    parsed = []
    real = records._record
    monkeypatch.setattr(records, "_record", lambda p, cid, data: parsed.append(cid) or real(p, cid, data))
    assert [r.id for r in records.with_name(paths, "web")] == ["1111111111"]
    assert parsed == ["1111111111", "2222222222"]   # the files that hold "web"; not the Go one, nor the corrupt one
    assert [r.id for r in records.with_name(paths, "go-web")] == ["3333333333"]
    assert records.find(paths, "go-web").id == "3333333333"
    assert list(records.with_name(paths, "nosuch")) == []
    with pytest.raises(NotFound):
        records.find(paths, "nosuch")
    _write_raw(paths, "5555555555", '{"name": "web", ')  # corrupt and holding the name: as iter_records
    with pytest.raises(MyDockerError, match="corrupt state file"):
        list(records.with_name(paths, "web"))


def test_with_name_of_a_name_json_may_escape(paths):
    # the Go tool checked no names: one with characters a JSON writer escapes is compared parsed
    _write_raw(paths, "6666666666", json.dumps({"id": "6666666666", "name": "caf\u00e9 <1>"}))
    assert [r.id for r in records.with_name(paths, "caf\u00e9 <1>")] == ["6666666666"]
    assert records.find(paths, "caf\u00e9 <1>").id == "6666666666"
