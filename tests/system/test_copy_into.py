"""mydocker_container_copy_into's planner against real containers: writes land inside the
container however its symlinks point (absolute, relative with .., on the last component), a
volume is written through, idempotency by checksum, mode and owner from the container's own
/etc/passwd, and a stopped container is refused. Root; nothing is left behind (md fixture)."""
import os
import tempfile

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import copy as copy_plan


def copy(md, container_path, content, **kw):
    plan = copy_plan.plan_copy(md.root, "cp", container_path, content=content, **kw)
    if plan.changed:
        copy_plan.apply(plan)
    return plan


@pytest.fixture
def hostdir():
    d = tempfile.mkdtemp(prefix="mdt-copy-host-")
    yield d
    for dirpath, dirs, files in os.walk(d, topdown=False):
        for f in files:
            os.unlink(os.path.join(dirpath, f))
        for x in dirs:
            os.rmdir(os.path.join(dirpath, x))
    os.rmdir(d)


def test_symlinks_in_the_container_never_lead_out(md, hostdir):
    victim = os.path.join(hostdir, "victim")
    with open(victim, "w") as f:
        f.write("host\n")
    md("run", "-d", "--name", "cp", "busybox", "sleep", "1000")
    md("exec", "cp", "sh", "-c",
       "ln -s / /tmp/root && ln -s ../../../../../../.. /tmp/up && mkdir -p %s && ln -s %s /tmp/final "
       "&& ln -s %s /tmp/hostdir" % (hostdir, victim, hostdir))
    # an absolute link to / is the container's /
    copy(md, "/tmp/root/etc/injected", "a\n")
    assert not os.path.exists("/etc/injected")
    assert md("exec", "cp", "cat", "/etc/injected").out == "a\n"
    # .. past the top stays at the container's root
    copy(md, "/tmp/up/tmp/up-file", "b\n")
    assert md("exec", "cp", "cat", "/tmp/up-file").out == "b\n"
    # a last component that links to a host file's path writes the container's file of that path
    copy(md, "/tmp/final", "c\n")
    with open(victim) as f:
        assert f.read() == "host\n"
    assert md("exec", "cp", "cat", victim).out == "c\n"
    # a directory link to a host directory's path: the container's directory of that path
    copy(md, "/tmp/hostdir/new", "d\n")
    assert sorted(os.listdir(hostdir)) == ["victim"]
    assert md("exec", "cp", "cat", os.path.join(hostdir, "new")).out == "d\n"
    # a path through a missing directory is refused, in one line, naming it
    with pytest.raises(MyDockerError) as e:
        copy(md, "/nope/x", "e\n")
    assert str(e.value).startswith("container_path: container path /nope/x: directory nope does not exist")
    with pytest.raises(MyDockerError, match="is a directory"):
        copy(md, "/tmp/root/etc", "e\n")


def test_idempotent_mode_owner_and_force(md):
    md("run", "-d", "--name", "cp", "busybox", "sleep", "1000")
    plan = copy(md, "/etc/app.conf", "x=1\n", mode="0600", owner="nobody")
    assert plan.actions == ["create /etc/app.conf"]
    assert plan.after["content"] == "x=1\n" and plan.before == {}
    assert md("exec", "cp", "stat", "-c", "%a %u %g", "/etc/app.conf").out.split() == ["600", "65534", "65534"]
    again = copy_plan.plan_copy(md.root, "cp", "/etc/app.conf", content="x=1\n", mode=0o600, owner=65534)
    assert not again.changed
    plan = copy(md, "/etc/app.conf", "x=1\n", mode="0644")
    assert plan.actions == ["update /etc/app.conf: mode 0600 -> 0644"]
    assert md("exec", "cp", "stat", "-c", "%a %u %g", "/etc/app.conf").out.split() == ["644", "65534", "65534"]
    plan = copy(md, "/etc/app.conf", "x=2\n")
    assert plan.actions == ["write /etc/app.conf: content changed"]
    assert plan.before["content"] == "x=1\n" and plan.after["content"] == "x=2\n"
    assert md("exec", "cp", "stat", "-c", "%a %u %g", "/etc/app.conf").out.split() == ["644", "65534", "65534"]
    assert not copy(md, "/etc/app.conf", "other\n", force=False).changed
    assert copy(md, "/etc/app.conf", "x=2\n", force=True).actions == ["write /etc/app.conf: forced"]
    assert md("exec", "cp", "cat", "/etc/app.conf").out == "x=2\n"
    with pytest.raises(MyDockerError, match="^owner: no user 'nosuchuser' in the container's /etc/passwd$"):
        copy(md, "/etc/app.conf", "y\n", owner="nosuchuser")
    # no temporary file is left beside it
    assert md("exec", "cp", "ls", "-a", "/etc").out.count("mydocker-") == 0


def test_a_volume_is_written_through_and_a_stopped_container_refused(md, hostdir):
    md("run", "-d", "--name", "cp", "-v", "%s:/data" % hostdir, "busybox", "sleep", "1000")
    copy(md, "/data/f", "vol\n")
    with open(os.path.join(hostdir, "f")) as f:
        assert f.read() == "vol\n"
    md("stop", "-t", "0", "cp")
    with pytest.raises(MyDockerError, match="^container cp is not running: files are copied into running"):
        copy_plan.plan_copy(md.root, "cp", "/data/g", content="x")
    assert sorted(os.listdir(hostdir)) == ["f"]
