"""The image config honoured as Docker does: Entrypoint + Cmd (run's arguments replace Cmd,
--entrypoint replaces the Entrypoint), Env (the run's win), WorkingDir, User (resolved in the
image's /etc/passwd and /etc/group at start, -u overrides, exec runs as the same user),
StopSignal (stop sends it), and inspect showing the resolved config."""
import time

import pytest
from test_images_layers import CONFIG, build_oci

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import images


@pytest.fixture
def appimg(md, tmp_path):
    bb = str(tmp_path / "bb.tar")
    images.make_busybox_rootfs(bb)
    path, _d = build_oci(tmp_path, bb, config=CONFIG)
    md("image", "import", path, "appimg")
    yield "appimg"
    for cid in md.ids():
        md("rm", "-f", cid, check=False)
    md("rmi", "appimg")


def test_entrypoint_cmd_env_workdir_user(md, appimg):
    assert md("run", "--rm", appimg).out == "entry default-arg in /app as 1000:1000 APPV=1\n"
    assert md("run", "--rm", appimg, "show", "x").out == "entry show x in /app as 1000:1000 APPV=1\n"
    assert md("run", "--rm", "-e", "APPV=2", "-w", "/tmp", appimg, "show").out == \
        "entry show in /tmp as 1000:1000 APPV=2\n"
    out = md("run", "--rm", appimg, "id").out
    assert out.startswith("uid=1000(app) gid=1000(app)"), out
    assert md("run", "--rm", "-u", "0", appimg, "id", "-u").out == "0\n"
    # a name: its passwd gid, the groups that list it as supplementary ones
    assert md("run", "--rm", "-u", "app", appimg, "id", "-G").out.split() == ["1000", "50"]
    # name:group: that group only
    assert md("run", "--rm", "-u", "other:wheel", appimg, "id").out.split()[:2] == ["uid=1001(other)", "gid=10(wheel)"]
    assert md("run", "--rm", "-u", "other:wheel", appimg, "id", "-G").out.split() == ["10"]
    # a uid the image does not know: gid 0
    assert md("run", "--rm", "-u", "4242", appimg, "sh", "-c", "id -u; id -g").out.split() == ["4242", "0"]
    # not root: no effective capabilities left
    status = md("run", "--rm", appimg, "cat", "/proc/self/status").out
    assert "CapEff:\t0000000000000000" in status
    assert "CapEff:\t0000000000000000" not in md("run", "--rm", "-u", "0", appimg, "cat", "/proc/self/status").out
    # --entrypoint replaces the Entrypoint (and drops the image's Cmd); '' clears it
    assert md("run", "--rm", "--entrypoint", "/bin/echo", appimg, "hi").out == "hi\n"
    assert md("run", "--rm", "--entrypoint", "", appimg, "pwd").out == "/app\n"


def test_unknown_user_is_one_line_and_leaves_nothing(md, appimg):
    p = md("run", "--rm", "-u", "nosuch", appimg, check=False)
    assert p.returncode != 0 and "unable to find user nosuch" in p.err
    assert len(p.err.strip().splitlines()) == 1
    p = md("run", "--rm", "-u", "a:b:c", appimg, check=False)
    assert p.returncode != 0 and "invalid user" in p.err
    assert md.ids() == []


def test_exec_runs_as_the_containers_user_unless_told(md, appimg):
    cid = md("run", "-d", appimg, "sleep", "100").out.strip()
    assert md("exec", cid, "id", "-u").out == "1000\n"
    assert md("exec", "-u", "0", cid, "id", "-u").out == "0\n"
    assert md("exec", "-u", "other", cid, "id", "-u").out == "1001\n"
    assert md("exec", cid, "pwd").out == "/app\n"
    md("rm", "-f", cid)


def test_inspect_shows_the_resolved_config(md, appimg):
    cid = md("run", "-d", "--name", "cfg2", "-e", "EXTRA=x", appimg, "sleep", "100").out.strip()
    cfg = md.inspect(cid)["config"]
    assert cfg["Entrypoint"] == ["/app/entry.sh"] and cfg["Cmd"] == ["sleep", "100"]
    assert cfg["User"] == "1000:1000" and cfg["WorkingDir"] == "/app"
    assert "APPV=1" in cfg["Env"] and "EXTRA=x" in cfg["Env"]
    assert cfg["ExposedPorts"] == ["8080/tcp"] and cfg["Volumes"] == ["/data"]
    assert cfg["StopSignal"] == "SIGUSR1" and cfg["Labels"] == {"org.example.app": "appimg"}
    assert cfg["ImageId"].startswith("sha256:")
    md("rm", "-f", cid)


def test_stop_sends_the_images_stop_signal(md, appimg):
    cid = md("run", "-d", appimg, "sh", "-c",
             "trap 'echo got-usr1; exit 3' USR1; trap 'echo got-term; exit 4' TERM; "
             "while true; do sleep 0.1; done").out.strip()
    time.sleep(0.5)
    t0 = time.time()
    md("stop", "-t", "8", cid)
    assert time.time() - t0 < 6
    rec = md.inspect(cid)
    assert rec["exitCode"] == 3, rec
    assert "got-usr1" in md("logs", cid).out
    md("rm", cid)
