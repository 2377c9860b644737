"""users (the container's user as runc resolves it) and imageconfig (Entrypoint/Cmd as Docker)."""
import signal

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import imageconfig, users
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.tests.unit.fakes import RecordingSyscalls


@pytest.fixture
def etc(tmp_path):
    (tmp_path / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n# comment\nbad:line\n"
                                     "app:x:1000:1000:app:/home/app:/bin/sh\nother:x:1001:1001::/:/bin/sh\n")
    (tmp_path / "group").write_text("root:x:0:\napp:x:1000:\nstaff:x:50:app,other\nwheel:x:10:other\n")
    return str(tmp_path / "passwd"), str(tmp_path / "group")


@pytest.mark.parametrize("spec,uid,gid,groups", [
    ("", 0, 0, []), (None, 0, 0, []), ("root", 0, 0, []), ("app", 1000, 1000, [50]), ("1000", 1000, 1000, [50]),
    ("1001", 1001, 1001, [50, 10]), ("app:wheel", 1000, 10, []), ("1000:1000", 1000, 1000, []),
    ("other:0", 1001, 0, []), ("4242", 4242, 0, []), ("4242:77", 4242, 77, []),
])
def test_resolve(etc, spec, uid, gid, groups):
    u = users.resolve(spec, *etc)
    assert (u["uid"], u["gid"], u["groups"]) == (uid, gid, groups)


@pytest.mark.parametrize("spec,msg", [
    ("nosuch", "unable to find user nosuch"), ("app:nogroup", "unable to find group nogroup"),
    ("a:b:c", "invalid user"), ("../x", "invalid user"), ("9999999999", "out of range"), (":0", "invalid user"),
])
def test_resolve_refuses(etc, spec, msg):
    with pytest.raises(MyDockerError, match=msg):
        users.resolve(spec, *etc)


def test_switch_order():
    fake = RecordingSyscalls()
    users.switch({"uid": 5, "gid": 6, "groups": [7]}, fake)
    assert [c.name for c in fake.calls] == ["setgroups", "setresgid", "setresuid"]
    assert fake.calls[0]["gids"] == [7] and fake.calls[2]["ruid"] == 5


CFG = {"Entrypoint": ["/e"], "Cmd": ["d"]}


@pytest.mark.parametrize("command,entrypoint,argv", [
    (None, None, ["/e", "d"]), (["x"], None, ["/e", "x"]), (None, "/o", ["/o"]), (["x"], "/o", ["/o", "x"]),
    (["x"], "", ["x"]), (None, "", []), (["x"], ["/a", "-b"], ["/a", "-b", "x"]),
])
def test_command(command, entrypoint, argv):
    assert imageconfig.command(CFG, command, entrypoint) == argv


def test_from_image_config():
    c = imageconfig.from_image_config({"config": {"Cmd": "echo hi", "ExposedPorts": {"80/tcp": {}},
                                                  "Labels": {"a": 1}, "StopSignal": "SIGINT"}})
    assert c["Cmd"] == ["/bin/sh", "-c", "echo hi"] and c["ExposedPorts"] == ["80/tcp"]
    assert c["Labels"] == {"a": "1"} and c["Entrypoint"] == [] and c["User"] == ""
    with pytest.raises(ValueError):
        imageconfig.from_image_config({"config": {"Cmd": [1]}})


def test_parse_signal():
    assert imageconfig.parse_signal("SIGUSR1") == signal.SIGUSR1
    assert imageconfig.parse_signal("usr1") == signal.SIGUSR1
    assert imageconfig.parse_signal("9") == 9 and imageconfig.parse_signal("") == signal.SIGTERM
    with pytest.raises(MyDockerError):
        imageconfig.parse_signal("SIGNOPE")
