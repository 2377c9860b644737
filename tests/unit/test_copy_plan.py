"""planning/copy.py and engine/copy.py without a container: option normalisation (mode, owner,
group, the source), the diff view, the container's passwd/group files, and the resolver kept
inside a root directory whatever its symlinks say (a temporary directory stands for the
container's root). No root needed."""
import base64
import os

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import copy as ccopy
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import copy as copy_plan
from ansible_collections.mydocker.runtime.plugins.modules import mydocker_container_copy_into
from tests.unit.test_module_options import assert_documented


def test_spec_is_documented():
    assert_documented(mydocker_container_copy_into, copy_plan.argument_spec())


@pytest.mark.parametrize("given, want", [("0644", 0o644), ("644", 0o644), ("0o755", 0o755), ("1777", 0o1777),
                                         (420, 0o644), (None, None)])
def test_modes(given, want):
    assert copy_plan.norm_mode(given) == want


@pytest.mark.parametrize("bad", ["u+x", "0999", "", True, 0o10000, -1, "12"])
def test_bad_modes_name_the_option(bad):
    with pytest.raises(MyDockerError, match="^mode: "):
        copy_plan.norm_mode(bad)


def test_container_paths():
    assert copy_plan.norm_container_path("/etc/x") == "/etc/x"
    for bad in ("etc/x", "/", "/etc/", "/a/..", None):
        with pytest.raises(MyDockerError, match="^container_path: "):
            copy_plan.norm_container_path(bad)


PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65533:nobody:/home:/bin/false\nbroken\n# x\n"
GROUP = "root:x:0:\nnogroup:x:65533:\nweird\n"


def test_passwd_and_group_of_the_container():
    assert ccopy.parse_passwd(PASSWD) == {"root": (0, 0), "nobody": (65534, 65533)}
    assert ccopy.parse_group(GROUP) == {"root": 0, "nogroup": 65533}
    users = {"nobody": 65534}
    assert copy_plan._id("owner", "nobody", users, "user") == 65534
    assert copy_plan._id("owner", "1000", users, "user") == 1000
    assert copy_plan._id("owner", 7, users, "user") == 7
    with pytest.raises(MyDockerError, match="^owner: no user 'bob' in the container's /etc/passwd$"):
        copy_plan._id("owner", "bob", users, "user")
    with pytest.raises(MyDockerError, match="^group: no group 'staff' in the container's /etc/group$"):
        copy_plan._id("group", "staff", {}, "group")
    with pytest.raises(MyDockerError, match="^owner: "):
        copy_plan._id("owner", True, users, "user")


def test_sources(tmp_path):
    assert copy_plan.read_source(None, "héllo", False) == "héllo".encode()
    assert copy_plan.read_source(None, base64.b64encode(b"\0\1").decode(), True) == b"\0\1"
    with pytest.raises(MyDockerError, match="^content: is not valid base64"):
        copy_plan.read_source(None, "***", True)
    f = tmp_path / "f"
    f.write_bytes(b"data")
    assert copy_plan.read_source(str(f), None, False) == b"data"
    with pytest.raises(MyDockerError, match="^path: cannot read .*: No such file"):
        copy_plan.read_source(str(tmp_path / "nope"), None, False)
    with pytest.raises(MyDockerError, match="^path: .* is not a regular file"):
        copy_plan.read_source(str(tmp_path), None, False)
    with pytest.raises(MyDockerError, match="one of path or content"):
        copy_plan.read_source(str(f), "x", False)
    with pytest.raises(MyDockerError, match="one of path or content"):
        copy_plan.read_source(None, None, False)


def test_view_shows_small_text_only():
    info = {"mode": 0o644, "uid": 0, "gid": 0, "size": 3, "sha256": "abc"}
    assert copy_plan.view(None) == {}
    assert copy_plan.view(dict(info, content=b"hi\n"))["content"] == "hi\n"
    assert "content" not in copy_plan.view(info, b"\0bin")
    assert "content" not in copy_plan.view(info, b"\xff\xfe")
    assert "content" not in copy_plan.view(info, b"a" * (copy_plan.DIFF_MAX + 1))
    assert copy_plan.view(info)["mode"] == "0644"


class FakeRoot(ccopy.ContainerRoot):
    """A ContainerRoot on a plain directory (no container)."""

    def __init__(self, path):
        self.name = "fake"
        self.fd = os.open(path, ccopy.O_PATH | os.O_DIRECTORY)


@pytest.fixture
def tree(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("host\n")
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "tmp").mkdir()
    (r / "etc" / "passwd").write_text(PASSWD)
    os.symlink("/", r / "tmp" / "abs-root")
    os.symlink("../../../../..", r / "tmp" / "up")
    os.symlink(str(outside), r / "tmp" / "out")                # absolute: means <root>/<that path>
    os.symlink(str(outside / "secret"), r / "tmp" / "final")
    os.symlink("loop2", r / "tmp" / "loop1")
    os.symlink("loop1", r / "tmp" / "loop2")
    os.makedirs(str(r) + str(outside))
    cr = FakeRoot(str(r))
    yield cr, r, outside
    cr.close()


def resolved(cr, path):
    dfd, name = cr.resolve(path)
    try:
        return os.readlink("/proc/self/fd/%d" % dfd), name
    finally:
        os.close(dfd)


def test_the_resolver_stays_inside(tree):
    cr, r, outside = tree
    assert resolved(cr, "/etc/passwd") == (str(r / "etc"), "passwd")
    assert resolved(cr, "/tmp/abs-root/etc/x") == (str(r / "etc"), "x")
    assert resolved(cr, "/tmp/up/etc/x") == (str(r / "etc"), "x")
    assert resolved(cr, "/../../etc/x") == (str(r / "etc"), "x")
    assert resolved(cr, "/tmp/out/new") == (str(r) + str(outside), "new")
    assert resolved(cr, "/tmp/final") == (str(r) + str(outside), "secret")
    with pytest.raises(MyDockerError, match="too many symbolic links"):
        cr.resolve("/tmp/loop1")
    with pytest.raises(MyDockerError, match="directory nope does not exist"):
        cr.resolve("/nope/x")
    with pytest.raises(MyDockerError, match="passwd is not a directory"):
        cr.resolve("/etc/passwd/x")
    with pytest.raises(MyDockerError, match="names a directory"):
        cr.resolve("/tmp/abs-root")


def test_writes_and_reads_stay_inside(tree):
    cr, r, outside = tree
    cr.write_file("/tmp/final", b"inside\n", 0o640, os.getuid(), os.getgid())
    assert (outside / "secret").read_text() == "host\n"
    assert (r / str(outside).lstrip("/") / "secret").read_text() == "inside\n"
    assert os.path.islink(r / "tmp" / "final")     # the link stays, its target inside was written
    info = cr.stat_file("/tmp/final", want_content=100)
    assert info["content"] == b"inside\n" and info["mode"] == 0o640 and info["size"] == 7
    assert cr.stat_file("/tmp/nothing-here") is None
    with pytest.raises(MyDockerError, match="is a directory"):
        cr.stat_file("/etc")
    with pytest.raises(MyDockerError, match="is a directory"):
        cr.write_file("/tmp/abs-root/etc", b"x", 0o644, 0, 0)
    cr.set_attributes("/tmp/final", 0o600, os.getuid(), os.getgid())
    assert cr.stat_file("/tmp/final")["mode"] == 0o600
    assert [n for n in os.listdir(r / "tmp") if "mydocker-" in n] == []   # no temporary file left
    assert "root:x:0:0" in cr.read_text("/etc/passwd")
    assert cr.read_text("/etc/group") == ""
