"""Storage as Docker users expect it (issue 11): named volumes that outlive their containers,
copy-up of the image's content into a new volume, anonymous volumes of the image's Volumes
(removed by rm -v and run --rm), --mount, --tmpfs, --read-only and --shm-size, seen from inside
real containers."""
import json
import os

import pytest
from test_images_layers import CONFIG, build_oci

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import images


@pytest.fixture
def vmd(md):
    """The CLI, with no volume in the session root before the test (other tests' runs of images with
    Volumes leave anonymous ones behind, unused: the md fixture removed their containers) and every
    volume removed after it."""
    md("volume", "prune", "-f", "-a")
    assert md("volume", "ls", "-q").out == ""
    yield md
    for cid in md.ids():
        md("rm", "-f", cid, check=False)
    for name in md("volume", "ls", "-q").out.split():
        md("volume", "rm", name)
    assert md("volume", "ls", "-q").out == ""


def _one_line_error(p, words):
    assert p.returncode != 0, p.out
    assert words in p.err, p.err
    assert len(p.err.strip().splitlines()) == 1, p.err


def test_named_volume_outlives_its_container(vmd):
    md = vmd
    md("run", "--name", "writer", "-v", "vdata:/data", "busybox", "sh", "-c", "echo hello > /data/f")
    assert md("volume", "ls", "-q").out.split() == ["vdata"]
    # in use by a container that is not running: not removed, one line naming it
    _one_line_error(md("volume", "rm", "vdata", check=False), "volume vdata is in use by container writer")
    md("rm", "writer")
    assert md("run", "--rm", "-v", "vdata:/data:ro", "busybox", "cat", "/data/f").out == "hello\n"
    p = md("run", "--rm", "--mount", "type=volume,source=vdata,target=/d,readonly", "busybox", "touch", "/d/x",
           check=False)
    assert p.returncode != 0 and "Read-only file system" in p.out + p.err
    info = json.loads(md("volume", "inspect", "vdata").out)[0]
    assert info["Name"] == "vdata" and info["Driver"] == "local" and info["Mountpoint"] == \
        os.path.join(md.root, "volumes", "vdata", "_data")
    with open(os.path.join(info["Mountpoint"], "f")) as f:
        assert f.read() == "hello\n"
    md("volume", "rm", "vdata")
    assert not os.path.exists(os.path.join(md.root, "volumes", "vdata"))


def test_volume_commands(vmd):
    md = vmd
    assert md("volume", "create", "--label", "team=a", "va").out == "va\n"
    assert md("volume", "create", "va").out == "va\n"  # exists: as it is (Docker)
    md("volume", "create", "vb")
    assert md("volume", "ls", "-q", "--filter", "label=team=a").out == "va\n"
    assert md("volume", "ls", "-q", "--filter", "name=v").out.split() == ["va", "vb"]
    md("run", "-d", "--name", "user", "-v", "vb:/b", "busybox", "sleep", "100")
    assert md("volume", "ls", "-q", "--filter", "dangling=true").out == "va\n"
    listing = md("volume", "ls").out.splitlines()
    assert listing[0].split() == ["DRIVER", "VOLUME", "NAME"] and listing[1].split() == ["local", "va"]
    # named volumes survive a plain prune; -a removes the unused ones
    assert "va" not in md("volume", "prune", "-f").out
    out = md("volume", "prune", "-f", "-a").out
    assert "va" in out and "vb" not in out
    assert md("volume", "ls", "-q").out == "vb\n"
    for bad in ("../x", ".x", "a/b", "x"):
        _one_line_error(md("volume", "create", bad, check=False), "invalid volume name")
        _one_line_error(md("run", "--rm", "-v", "%s:/d" % bad, "busybox", "true", check=False), "invalid volume")
    _one_line_error(md("volume", "create", "--driver", "nfs", "vc", check=False), "only local")
    _one_line_error(md("volume", "rm", "nosuch", check=False), "no such volume: nosuch")
    md("volume", "rm", "-f", "nosuch")
    md("rm", "-f", "user")
    assert md("volume", "ls", "-q").out == "vb\n"  # a named volume stays after rm -v too
    assert not os.path.exists(os.path.join(md.root, "volumes", "x"))


def test_copy_up_fills_a_new_empty_volume_only(vmd):
    md = vmd
    md("run", "--rm", "-v", "vetc:/etc", "busybox", "true")
    mp = os.path.join(md.root, "volumes", "vetc", "_data")
    assert os.path.isfile(os.path.join(mp, "passwd")) and not os.path.islink(os.path.join(mp, "passwd"))
    # no longer empty: what the container changed stays, no second copy-up
    md("run", "--rm", "-v", "vetc:/etc", "busybox", "sh", "-c", "rm /etc/passwd; echo mine > /etc/m")
    md("run", "--rm", "-v", "vetc:/etc", "busybox", "true")
    assert sorted(os.listdir(mp)).count("passwd") == 0 and open(os.path.join(mp, "m")).read() == "mine\n"


@pytest.fixture
def volimg(md, tmp_path):
    bb = str(tmp_path / "bb.tar")
    images.make_busybox_rootfs(bb)
    path, _d = build_oci(tmp_path, bb, config=dict(CONFIG, User="0", Entrypoint=[], Cmd=["true"],
                                                   Volumes={"/data": {}, "/opq": {}}))
    md("image", "import", path, "volimg")
    yield "volimg"
    for cid in md.ids():
        md("rm", "-f", cid, check=False)
    md("rmi", "volimg")


def _anonymous(md):
    return [n for n in md("volume", "ls", "-q").out.split() if len(n) == 64]


def test_anonymous_volumes_of_the_image(vmd, volimg):
    md = vmd
    cid = md("run", "-d", volimg, "sleep", "100").out.strip()
    anon = _anonymous(md)
    assert len(anon) == 2
    rec = md.record(cid)
    assert sorted(v["container"] for v in rec["volumes"] if v.get("anonymous")) == ["/data", "/opq"]
    # copy-up of the image's /opq (the second layer's content after its opaque whiteout)
    assert md("exec", cid, "ls", "/opq").out.split() == ["new"]
    md("rm", "-f", cid)
    assert sorted(_anonymous(md)) == sorted(anon)  # rm without -v: they stay, dangling
    cid = md("run", "-d", volimg, "sleep", "100").out.strip()
    assert len(_anonymous(md)) == 4
    md("rm", "-f", "-v", cid)
    assert sorted(_anonymous(md)) == sorted(anon)
    # a run's own mount wins over the image's volume at that path
    md("run", "--rm", "-v", "own:/data", volimg, "true")
    assert sorted(_anonymous(md)) == sorted(anon)
    out = md("volume", "prune", "-f").out
    assert all(a in out for a in anon) and "own" not in out
    assert md("volume", "ls", "-q").out == "own\n"


def test_an_attached_run_rm_removes_its_anonymous_volumes(vmd):
    md = vmd
    before = _anonymous(md)
    out = md("run", "--rm", "-v", "/scratch", "busybox", "sh", "-c", "echo x > /scratch/f; cat /scratch/f").out
    assert out == "x\n"
    assert _anonymous(md) == before and md.ids() == []
    md("run", "--rm", "-v", "kept:/d", "busybox", "true")  # a named one stays
    assert "kept" in md("volume", "ls", "-q").out.split()
    md("volume", "rm", "kept")


def test_read_only_root_tmpfs_and_shm(vmd):
    md = vmd
    p = md("run", "--rm", "--read-only", "busybox", "sh", "-c",
           "touch /x; echo rc=$?; touch /dev/shm/x && echo shm-ok; touch /tmp/y; echo tmp=$?", check=False)
    assert "Read-only file system" in p.err and "rc=1\nshm-ok\ntmp=1\n" == p.out, (p.out, p.err)
    p = md("run", "--rm", "--read-only", "--tmpfs", "/run:size=1m", "--tmpfs", "/tmp", "-v", "rw1:/w", "busybox",
           "sh", "-c", "touch /run/a /tmp/b /w/c && echo ok; grep ' /run ' /proc/mounts")
    assert p.out.splitlines()[0] == "ok"
    fields = p.out.splitlines()[1].split()
    assert fields[:3] == ["tmpfs", "/run", "tmpfs"] and "size=1024k" in fields[3].split(",")
    assert {"nosuid", "nodev", "noexec"} <= set(fields[3].split(","))
    out = md("run", "--rm", "--mount", "type=tmpfs,target=/t,tmpfs-size=2m,tmpfs-mode=0700", "--shm-size", "2m",
             "busybox", "sh", "-c", "grep -E ' /(t|dev/shm) ' /proc/mounts; stat -c %a /t").out.splitlines()
    t = [ln.split() for ln in out if " /t " in ln][0]
    shm = [ln.split() for ln in out if " /dev/shm " in ln][0]
    assert "size=2048k" in t[3] and "mode=700" in t[3] and out[-1] == "700"
    assert "size=2048k" in shm[3]
    # without --read-only the root is writable and /dev/shm keeps Docker's 64 MiB
    out = md("run", "--rm", "busybox", "sh", "-c", "touch /x && grep ' /dev/shm ' /proc/mounts").out
    assert "size=65536k" in out
    for args, words in ((["--tmpfs", "/t:size=x"], "invalid tmpfs size"), (["--tmpfs", "/proc"], "cannot mount over"),
                        (["--mount", "type=nfs,target=/t"], "type must be one of"),
                        (["--mount", "type=tmpfs,source=/x,target=/t"], "takes no source"),
                        (["--shm-size", "0"], "invalid shm size"),
                        (["--tmpfs", "/t", "-v", "v9:/t"], "duplicate mount point /t")):
        _one_line_error(md("run", "--rm", *(args + ["busybox", "true"]), check=False), words)
    assert md("volume", "ls", "-q").out == "rw1\n"  # the refused runs made no volume


def test_system_df_counts_volumes(vmd):
    md = vmd
    md("run", "--rm", "-v", "dfv:/d", "busybox", "dd", "if=/dev/zero", "of=/d/z", "bs=1024", "count=512")
    rows = [ln.split() for ln in md("system", "df").out.splitlines()]
    vol = [r for r in rows if r[0] == "Volumes"][0]
    assert vol[1] == "1" and vol[2] == "0"
