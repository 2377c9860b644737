# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Named volumes (engine/volumes.py), mount specs (engine/mounts.py), the storage part of the
in-container mount set-up (rootfs.py against the recording fake), and the planners of
mydocker_volume and of mydocker_container's storage options. No root needed."""
import json
import os

import pytest
import yaml

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import mounts, records, volumes
from ansible_collections.mydocker.runtime.plugins.module_utils.engine import rootfs as R
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError, NotFound
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import Paths
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.syscalls import (
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_RDONLY,
    MS_REMOUNT,
)
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.validate import parse_volume
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import mountopts
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import options as opts
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import volume as vplan
from ansible_collections.mydocker.runtime.plugins.modules import mydocker_volume, mydocker_volume_info
from ansible_collections.mydocker.runtime.tests.unit.fakes import RecordingSyscalls


@pytest.fixture
def paths(tmp_path):
    p = Paths(str(tmp_path / "root"))
    p.ensure()
    return p


def _container(paths, cid, name, vols):
    os.makedirs(paths.container_dir(cid))
    with open(paths.container_config(cid), "w") as f:
        json.dump({"id": cid, "name": name, "status": "exited", "volumes": vols}, f)


# ------------------------------------------------------------------ names and specs

@pytest.mark.parametrize("bad", ["..", "../x", ".x", "a/b", "x", "-x", "a\0b", "", "/x", "a b", None])
def test_volume_names_that_could_escape_are_refused(paths, bad):
    with pytest.raises(MyDockerError, match="invalid volume name"):
        volumes.create_volume(paths, bad) if bad is not None else volumes.validate_volume_name(bad)
    assert os.listdir(paths.root).count("volumes") == 0 or os.listdir(volumes.volumes_dir(paths)) == []


def test_parse_volume_names_binds_and_anonymous():
    assert parse_volume("data:/d:ro") == {"host": "", "container": "/d", "ro": True, "type": "volume", "name": "data"}
    assert parse_volume("/srv:/d") == {"host": "/srv", "container": "/d", "ro": False}
    assert parse_volume("/d")["anonymous"] is True
    for bad, words in (("..:/d", "host path must be absolute, a volume name"), ("v1:/proc", "cannot mount over"),
                       ("v1:rel", "absolute"),
                       ("a:b:c:d", "expected")):
        with pytest.raises(MyDockerError, match=words):
            parse_volume(bad)


def test_parse_mount_and_tmpfs():
    assert mounts.parse_mount("type=bind,source=/srv/,target=/d,readonly") == \
        ("volume", {"host": "/srv", "container": "/d", "ro": True, "mount": True})
    kind, e = mounts.parse_mount("type=volume,src=v1,dst=/d")
    assert kind == "volume" and e["name"] == "v1" and not e["ro"]
    kind, e = mounts.parse_mount("type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=700")
    assert kind == "tmpfs" and e["size"] == 1 << 20 and e["mode"] == 0o700
    assert mounts.parse_tmpfs("/run:size=64k,mode=1777,exec") == \
        {"container": "/run", "size": 65536, "mode": 0o1777, "options": ["exec"]}
    assert mounts.tmpfs_mount_args(mounts.parse_tmpfs("/run")) == ({"noexec", "nosuid", "nodev"}, "mode=1777")
    assert mounts.tmpfs_mount_args(mounts.parse_tmpfs("/run:exec,size=1k")) == \
        ({"nosuid", "nodev"}, "mode=1777,size=1024")
    for bad, words in (("type=nfs,target=/t", "type must be"), ("type=bind,source=rel,target=/t", "absolute source"),
                       ("type=tmpfs,source=x,target=/t", "no source"), ("target=/t,bogus=1", "unknown field"),
                       ("type=volume,source=v1,target=/t,tmpfs-size=1m", "for type=tmpfs"),
                       ("type=volume,target=/sys/x", "cannot mount over"),
                       ("type=volume,source=../x,target=/t", "invalid volume name")):
        with pytest.raises(MyDockerError, match=words):
            mounts.parse_mount(bad)
    for bad, words in (("/t:size=x", "invalid tmpfs size"), ("/t:mode=999", "invalid tmpfs mode"),
                       ("/t:bogus", "invalid tmpfs option"), ("rel", "absolute"), ("/", "inside")):
        with pytest.raises(MyDockerError, match=words):
            mounts.parse_tmpfs(bad)


def test_storage_options_check_before_anything_is_made():
    vols, out = volumes.storage_options([parse_volume("v1:/a")], ["type=tmpfs,target=/t"], ["/run:size=1m"], True,
                                        "1m")
    assert [v["container"] for v in vols] == ["/a"]
    assert [t["container"] for t in out["tmpfs"]] == ["/run", "/t"]
    assert out["readOnly"] is True and out["shmSize"] == 1 << 20
    assert volumes.storage_options([], None, None, False, None) == ([], {})
    with pytest.raises(MyDockerError, match="duplicate mount point /a"):
        volumes.storage_options([parse_volume("v1:/a")], None, ["/a"])
    with pytest.raises(MyDockerError, match="invalid shm size"):
        volumes.storage_options([], shm_size="-1")


# ------------------------------------------------------------------ the store

def test_create_list_inspect_remove(paths):
    rec = volumes.create_volume(paths, "v1", labels={"a": 1})
    assert rec["Labels"] == {"a": "1"} and rec["Driver"] == "local" and not rec["Anonymous"]
    assert os.path.isdir(rec["Mountpoint"]) and rec["Mountpoint"] == os.path.join(paths.root, "volumes", "v1", "_data")
    assert volumes.create_volume(paths, "v1", labels={"b": "2"})["Labels"] == {"a": "1"}  # as it is
    anon = volumes.create_volume(paths)["Name"]
    assert len(anon) == 64 and not volumes.read_volume(paths, anon)["Anonymous"]
    assert [v["Name"] for v in volumes.list_volumes(paths, {"label": ["a=1"]})] == ["v1"]
    assert [v["Name"] for v in volumes.list_volumes(paths, {"name": ["v"]})] == ["v1"]
    with pytest.raises(MyDockerError, match="invalid filter"):
        volumes.list_volumes(paths, {"size": ["1"]})
    with pytest.raises(MyDockerError, match="only local"):
        volumes.create_volume(paths, "v2", driver="nfs")
    with pytest.raises(MyDockerError, match="driver options"):
        volumes.create_volume(paths, "v2", driver_opts={"type": "nfs"})
    with pytest.raises(NotFound):
        volumes.remove_volume(paths, "nosuch")
    assert volumes.remove_volume(paths, "nosuch", force=True) is False
    assert volumes.remove_volume(paths, "v1") is True
    assert volumes.read_volume(paths, "v1") is None and not os.path.exists(volumes.volume_dir(paths, "v1"))


def test_in_use_is_not_removed_nor_pruned(paths):
    volumes.create_volume(paths, "v1")
    _container(paths, "1234567890", "web", [{"host": "x", "container": "/d", "ro": False, "type": "volume",
                                             "name": "v1"}])
    with pytest.raises(MyDockerError, match="^volume v1 is in use by container web$"):
        volumes.remove_volume(paths, "v1", force=True)
    assert volumes.prune_volumes(paths, all=True) == ([], 0)
    assert [v["InUse"] for v in volumes.list_volumes(paths)] == [["web"]]
    assert [v["Name"] for v in volumes.list_volumes(paths, {"dangling": ["false"]})] == ["v1"]
    assert volumes.list_volumes(paths, {"dangling": ["true"]}) == []


def test_resolve_creates_on_first_use_and_the_images_volumes(paths):
    vols = [parse_volume("v1:/a"), parse_volume("/srv:/b")]
    out, created = volumes.resolve(paths, vols, {"/data": {}, "/a": {}, "/t": {}}, taken=["/t"])
    assert created[0] == "v1" and len(created) == 2
    assert [v["container"] for v in out] == ["/a", "/b", "/data"]
    assert out[0]["host"] == os.path.join(paths.root, "volumes", "v1", "_data")
    assert out[2]["anonymous"] and len(out[2]["name"]) == 64 and volumes.read_volume(paths, out[2]["name"])["Anonymous"]
    again, created2 = volumes.resolve(paths, vols[:1])
    assert created2 == [] and again[0]["host"] == out[0]["host"]
    volumes.forget(paths, created)  # a create that failed: nothing of it stays
    assert volumes.list_names(paths) == []


def test_remove_anonymous_and_prune(paths):
    out, _c = volumes.resolve(paths, [parse_volume("named:/n"), parse_volume("/anon")])
    rec = {"id": "1", "name": "x", "volumes": out}
    assert volumes.remove_anonymous(paths, rec) == [out[1]["name"]]
    assert volumes.list_names(paths) == ["named"]
    volumes.create_volume(paths, "other")
    out2, _c = volumes.resolve(paths, [parse_volume("/anon")])
    names, _bytes = volumes.prune_volumes(paths)
    assert names == [out2[0]["name"]]
    names, _bytes = volumes.prune_volumes(paths, all=True)
    assert sorted(names) == ["named", "other"]
    assert [u["Name"] for u in volumes.disk_usage(paths)] == []


def test_a_volume_record_is_written_under_the_lock_atomically(paths, monkeypatch):
    calls = []
    real = volumes.write_json
    monkeypatch.setattr(volumes, "write_json", lambda p, o: (calls.append(p), real(p, o)))
    volumes.create_volume(paths, "v1")
    assert calls == [os.path.join(paths.root, "volumes", "v1", "volume.json")]


def test_a_failed_record_write_leaves_no_directory(paths, monkeypatch):
    def boom(p, o):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(volumes, "write_json", boom)
    with pytest.raises(OSError):
        volumes.create_volume(paths, "v1")
    assert not os.path.exists(os.path.join(paths.root, "volumes", "v1"))


# ------------------------------------------------------------------ copy-up

def test_copy_up_copies_without_following_symlinks(tmp_path):
    root = tmp_path / "merged"
    (root / "etc" / "sub").mkdir(parents=True)
    (root / "etc" / "f").write_text("image\n")
    os.chmod(str(root / "etc" / "f"), 0o640)
    (root / "etc" / "sub" / "g").write_text("g\n")
    secret = tmp_path / "host-secret"
    secret.write_text("secret\n")
    os.symlink(str(secret), str(root / "etc" / "abs-link"))
    os.symlink("../../../../host-secret", str(root / "etc" / "rel-link"))
    os.symlink("/../../../../..", str(root / "escape"))
    os.mkfifo(str(root / "etc" / "fifo"))
    vol = tmp_path / "vol"
    vol.mkdir()
    vol2 = tmp_path / "vol2"
    vol2.mkdir()
    rec = {"volumes": [{"host": str(vol), "container": "/etc", "type": "volume", "name": "v"},
                       {"host": str(vol2), "container": "/escape/tmp", "type": "volume", "name": "w"},
                       {"host": str(tmp_path), "container": "/etc"}]}  # a bind: never copied into
    volumes.copy_up(rec, str(root), R.secure_join)
    assert sorted(os.listdir(str(vol))) == ["abs-link", "f", "rel-link", "sub"]
    assert (vol / "f").read_text() == "image\n" and oct(os.stat(str(vol / "f")).st_mode & 0o777) == "0o640"
    assert os.readlink(str(vol / "abs-link")) == str(secret) and os.path.islink(str(vol / "rel-link"))
    assert (vol / "sub" / "g").read_text() == "g\n"
    assert os.listdir(str(vol2)) == []  # /escape/tmp resolves inside the root: not there, nothing copied
    (root / "etc" / "f").write_text("changed\n")
    volumes.copy_up(rec, str(root), R.secure_join)  # not empty any more: left as it is
    assert (vol / "f").read_text() == "image\n"


def test_a_failed_copy_up_leaves_the_volume_empty(tmp_path, monkeypatch):
    root = tmp_path / "merged"
    (root / "d").mkdir(parents=True)
    (root / "d" / "a").write_text("a")
    (root / "d" / "b").write_text("b")
    vol = tmp_path / "vol"
    vol.mkdir()
    real = os.lchown
    seen = []

    def fail_second(p, u, g):
        seen.append(p)
        if len(seen) == 2:
            raise OSError(5, "Input/output error")
        return real(p, u, g)
    monkeypatch.setattr(os, "lchown", fail_second)
    with pytest.raises(MyDockerError, match="^cannot copy the image's /d into volume v: Input/output error$"):
        volumes.copy_up({"volumes": [{"host": str(vol), "container": "/d", "type": "volume", "name": "v"}]},
                        str(root), R.secure_join)
    assert os.listdir(str(vol)) == []


# ------------------------------------------------------------------ in the container's mount namespace

@pytest.fixture
def rootfs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "merged"
    (root / "proc").mkdir(parents=True)
    (root / "sys").mkdir()
    return str(root)


def test_tmpfs_read_only_and_shm(rootfs, tmp_path):
    fake = RecordingSyscalls()
    vol = tmp_path / "v"
    vol.mkdir()
    R.setup_rootfs(rootfs, {}, [{"host": str(vol), "container": "/run/data", "ro": False}], syscalls=fake,
                   tmpfs=[mounts.parse_tmpfs("/run:size=1m"), mounts.parse_tmpfs("/x:mode=700,exec,ro")],
                   read_only=True, shm_size=2 << 20)
    m = fake.named("mount")
    shm = [c for c in m if c["target"].endswith("/dev/shm")][0]
    assert shm["data"] == "mode=1777,size=2097152"
    targets = [c["target"] for c in m]
    run = targets.index(os.path.join(rootfs, "run"))
    assert targets.index(os.path.join(rootfs, "run/data")) > run  # the tmpfs parent first, then the volume in it
    t = m[run]
    assert t["fstype"] == "tmpfs" and t["data"] == "mode=1777,size=1048576"
    assert t["flags"] == MS_NOSUID | MS_NODEV | MS_NOEXEC
    x = [c for c in m if c["target"] == os.path.join(rootfs, "x")][0]
    assert x["data"] == "mode=700" and x["flags"] == MS_NOSUID | MS_NODEV | MS_RDONLY
    last = fake.calls[-1]
    assert last.name == "mount" and last["target"] == "/" and last["flags"] == MS_BIND | MS_REMOUNT | MS_RDONLY


def test_defaults_stay_as_before(rootfs):
    fake = RecordingSyscalls()
    R.setup_rootfs(rootfs, {}, [], syscalls=fake)
    assert [c["data"] for c in fake.named("mount") if c["target"].endswith("/dev/shm")] == ["mode=1777,size=65536k"]
    assert not [c for c in fake.named("mount") if c["target"] == "/" and c["flags"] & MS_REMOUNT]


# ------------------------------------------------------------------ mydocker_container's storage options

def test_the_same_wish_written_two_ways_is_the_same():
    a = mountopts.norm_mounts([{"type": "tmpfs", "target": "/t/", "tmpfs_size": "1m", "tmpfs_mode": 1777},
                               {"source": "v1", "target": "/v", "read_only": False}])
    b = mountopts.norm_mounts([{"type": "volume", "source": "v1", "target": "/v"},
                               {"type": "tmpfs", "target": "/t", "tmpfs_size": 1048576, "tmpfs_mode": "1777"}])
    assert a == b and [m["target"] for m in a] == ["/t", "/v"]
    assert mountopts.norm_tmpfs(["/run:size=1024k", "/tmp"]) == mountopts.norm_tmpfs(["/tmp", "/run/:size=1m"]) == \
        ["/run:size=1048576", "/tmp"]
    assert mountopts.norm_shm_size("64m") == mountopts.norm_shm_size(67108864) == mountopts.record_shm_size({})
    assert opts.norm_volumes(["data:/d:rw", "/srv:/s"]) == ["data:/d", "/srv:/s"]


def test_a_record_reads_back_as_the_wish():
    vols = [dict(parse_volume("data:/d"), host="/r/volumes/data/_data"), parse_volume("/srv:/s:ro")]
    mvols, mtmpfs = mounts.split_mounts(["type=volume,source=v1,target=/v", "type=tmpfs,target=/t,tmpfs-size=1m",
                                         "type=volume,target=/anon"])
    rec = {"volumes": vols + [dict(v, host="/x") for v in mvols]
           + [dict(parse_volume("/img"), host="/y", name="f" * 64)],  # the image's Volumes: not the user's wish
           "tmpfs": [mounts.parse_tmpfs("/run:size=1m")] + mtmpfs, "readOnly": True, "shmSize": 1 << 20}
    assert mountopts.record_volumes(rec) == opts.norm_volumes(["data:/d", "/srv:/s:ro"])
    assert mountopts.record_mounts(rec) == mountopts.norm_mounts([
        {"source": "v1", "target": "/v"}, {"type": "tmpfs", "target": "/t", "tmpfs_size": "1m"},
        {"type": "volume", "target": "/anon"}])
    assert mountopts.record_tmpfs(rec) == mountopts.norm_tmpfs(["/run:size=1m"])
    assert mountopts.record_read_only(rec) is True and mountopts.record_read_only({}) is False
    assert mountopts.record_shm_size(rec) == 1 << 20
    old = {"volumes": [{"host": "/srv", "container": "/s", "ro": False}]}  # a record from before: all binds
    assert mountopts.record_volumes(old) == ["/srv:/s"] and mountopts.record_mounts(old) == []


@pytest.mark.parametrize("option,bad,words", [
    ("mounts", [{"type": "nfs", "target": "/t"}], "^mounts: .*type must be"),
    ("mounts", [{"target": "/t"}, {"type": "tmpfs", "target": "/t"}], "^mounts: two mounts"),
    ("mounts", "x", "^mounts: expected"),
    ("tmpfs", ["/t:size=-1"], "^tmpfs: "),
    ("read_only", "yes", "^read_only: "),
    ("shm_size", "lots", "^shm_size: "),
    ("volumes", ["/anon"], "^volumes: .*anonymous"),
])
def test_bad_storage_options(option, bad, words):
    with pytest.raises(MyDockerError, match=words):
        dict((o.name, o) for o in opts.OPTIONS)[option].normalise(bad, {})


# ------------------------------------------------------------------ mydocker_volume

def _doc(module):
    return yaml.safe_load(module.DOCUMENTATION)["options"]


@pytest.mark.parametrize("module,spec", [(mydocker_volume, vplan.argument_spec()),
                                         (mydocker_volume_info, vplan.info_argument_spec())])
def test_volume_modules_document_their_spec(module, spec):
    doc = _doc(module)
    assert sorted(doc) == sorted(spec)
    for name, entry in doc.items():
        documented = dict((k, entry[k]) for k in ("type", "elements", "choices", "default", "aliases", "required")
                          if k in entry)
        assert spec[name] == documented, name


def test_plan_create_then_nothing_then_recreate(paths):
    plan = vplan.plan_volume(paths.root, "v1", labels={"a": "1"})
    assert plan.actions == ["create"] and plan.before == {} and plan.after["Labels"] == {"a": "1"}
    assert volumes.list_names(paths) == []  # planning changes nothing
    rec = vplan.apply(plan)
    assert rec["Labels"] == {"a": "1"}
    plan = vplan.plan_volume(paths.root, "v1", labels={"a": "1"})
    assert not plan.changed and plan.before == plan.after
    plan = vplan.plan_volume(paths.root, "v1", labels={"a": "2"})  # recreate=never: as it is
    assert not plan.changed
    plan = vplan.plan_volume(paths.root, "v1", labels={"a": "2"}, recreate="options-changed")
    assert plan.actions == ["recreate: labels changed"] and plan.after["Labels"] == {"a": "2"}
    assert vplan.apply(plan)["Labels"] == {"a": "2"}
    assert vplan.plan_volume(paths.root, "v1", recreate="always").actions == ["recreate: recreate=always"]
    plan = vplan.plan_volume(paths.root, "v1", state="absent")
    assert plan.actions == ["remove"] and plan.after == {}
    assert vplan.apply(plan) == {} and volumes.list_names(paths) == []
    assert not vplan.plan_volume(paths.root, "v1", state="absent").changed


def test_plan_refuses_what_the_engine_refuses(paths):
    volumes.create_volume(paths, "v1")
    _container(paths, "1234567890", "db", [{"host": "x", "container": "/d", "ro": False, "type": "volume",
                                            "name": "v1"}])
    for kw in (dict(state="absent"), dict(recreate="always")):
        with pytest.raises(MyDockerError, match="^volume v1 is in use by container db$"):
            vplan.plan_volume(paths.root, "v1", **kw)
    for kw, words in ((dict(driver="nfs"), "only local"), (dict(driver_options={"o": "x"}), "driver options"),
                      (dict(recreate="sometimes"), "invalid recreate")):
        with pytest.raises(MyDockerError, match=words):
            vplan.plan_volume(paths.root, "v2", **kw)
    with pytest.raises(MyDockerError, match="invalid volume name"):
        vplan.plan_volume(paths.root, "../v")


def test_info(paths):
    volumes.create_volume(paths, "v1")
    vols, exists, vol = vplan.info(paths.root, "v1")
    assert exists is True and vol["Name"] == "v1" and vol["InUse"] == [] and len(vols) == 1
    assert vplan.info(paths.root, "v2") == ([], False, {})
    assert [v["Name"] for v in vplan.info(paths.root)[0]] == ["v1"]


def test_records_without_volume_keys_still_work():
    rec = records.Record({"id": "1", "name": "old"})
    assert rec.volumes == [] and mountopts.record_volumes(rec) == [] and mountopts.record_tmpfs(rec) == []


# ------------------------------------------------------------------ mydocker_prune knows volumes

def test_prune_plan_removes_unused_anonymous_then_named(paths):
    from ansible_collections.mydocker.runtime.plugins.module_utils.planning import prune as prune_plan
    out, _c = volumes.resolve(paths, [parse_volume("named:/n"), parse_volume("/anon")])
    volumes.create_volume(paths, "kept")
    _container(paths, "1234567890", "user", [dict(parse_volume("kept:/k"), host="x")])
    with open(os.path.join(out[1]["host"], "f"), "wb") as f:
        f.write(b"x" * 5000)
    plan = prune_plan.plan_prune(paths.root, volumes_=True)
    assert plan.removed["volumes"] == [out[1]["name"]] and 5000 < plan.reclaimed["volumes"] < 5000 + 4096
    assert plan.actions == ["remove volume %s" % out[1]["name"]]
    assert sorted(plan.before["volumes"]) == sorted(["named", "kept", out[1]["name"]])
    assert volumes.read_volume(paths, out[1]["name"]) is not None  # planning changes nothing
    prune_plan.apply(plan)
    assert sorted(volumes.list_names(paths)) == ["kept", "named"]
    plan = prune_plan.plan_prune(paths.root, volumes_=True, volumes_all=True)
    assert plan.removed["volumes"] == ["named"]
    assert prune_plan.plan_prune(paths.root, volumes_all=True).removed["volumes"] == []


def test_disk_usage_counts_volumes(paths):
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine import system
    rec = volumes.create_volume(paths, "big")
    with open(os.path.join(rec["Mountpoint"], "f"), "wb") as f:
        f.write(b"x" * 5000)
    du = system.disk_usage(paths.root)
    assert 5000 < du["volumes"] < 5000 + 4096 and du["other"] < 4096
    assert volumes.disk_usage(paths) == [{"Name": "big", "Size": 5000, "InUse": 0, "Anonymous": False}]
