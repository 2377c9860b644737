"""export: a layer directory as a deterministic tar with OCI whiteouts, the blobs of an image and
their cache (the whiteout tests need root for mknod and trusted.* xattrs)."""
import gzip
import hashlib
import io
import json
import os
import stat
import tarfile

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import export, images, layers
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import Paths

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="mknod and trusted.* xattrs need root")


def make_tree(top):
    os.makedirs(os.path.join(top, "etc", "sub"))
    with open(os.path.join(top, "etc", "b.txt"), "w") as f:
        f.write("bee")
    with open(os.path.join(top, "etc", "a.txt"), "w") as f:
        f.write("ay")
    os.chmod(os.path.join(top, "etc", "a.txt"), 0o640)
    os.link(os.path.join(top, "etc", "a.txt"), os.path.join(top, "etc", "hard"))
    os.symlink("a.txt", os.path.join(top, "etc", "link"))
    for p in ("etc/sub", "etc/b.txt", "etc/a.txt", "etc/link", "etc"):
        os.utime(os.path.join(top, p), (1000, 1000), follow_symlinks=False)


def tar_bytes(top):
    buf = io.BytesIO()
    export.write_layer_tar(top, buf)
    return buf.getvalue()


def members(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return [(m.name, m.type, m.mode, m.mtime, m.uname, m.linkname) for m in tf]


def test_the_tar_is_sorted_parents_first_and_keeps_modes_mtimes_and_links(tmp_path):
    top = str(tmp_path / "l")
    make_tree(top)
    ms = members(tar_bytes(top))
    names = [m[0] for m in ms]
    assert names == ["etc", "etc/a.txt", "etc/b.txt", "etc/hard", "etc/link", "etc/sub"]
    by = dict((m[0], m) for m in ms)
    assert by["etc/a.txt"][2] == 0o640 and by["etc/a.txt"][3] == 1000
    assert by["etc/hard"][1] == tarfile.LNKTYPE and by["etc/hard"][5] == "etc/a.txt"
    assert by["etc/link"][1] == tarfile.SYMTYPE and by["etc/link"][5] == "a.txt"
    assert all(m[4] == "" for m in ms)  # numeric owners only: no host user names in a layer


def test_the_same_directory_gives_the_same_bytes_and_a_change_changes_them(tmp_path):
    top = str(tmp_path / "l")
    make_tree(top)
    first = tar_bytes(top)
    assert tar_bytes(top) == first
    os.utime(os.path.join(top, "etc", "b.txt"), (2000, 2000))
    assert tar_bytes(top) != first


@ROOT_ONLY
def test_overlay_whiteouts_become_oci_whiteouts_and_import_turns_them_back(tmp_path):
    top = str(tmp_path / "l")
    os.makedirs(os.path.join(top, "etc", "opq"))
    os.mknod(os.path.join(top, "etc", "gone"), stat.S_IFCHR | 0o600, os.makedev(0, 0))
    os.setxattr(os.path.join(top, "etc", "opq"), layers.OPAQUE_XATTR, b"y")
    for d in ("etc", "etc/opq"):  # long ago: the unpacked directories must keep it (not "now")
        os.utime(os.path.join(top, d), (5, 5))
    ms = members(tar_bytes(top))
    names = [m[0] for m in ms]
    assert names == ["etc", "etc/.wh.gone", "etc/opq", "etc/opq/.wh..wh..opq"]
    assert all(m[1] == tarfile.REGTYPE for m in ms if ".wh." in m[0])
    # and back: layers.unpack makes the same overlay whiteouts of it
    t = str(tmp_path / "l.tar")
    with open(t, "wb") as f:
        export.write_layer_tar(top, f)
    dest = str(tmp_path / "back")
    os.mkdir(dest)
    layers.unpack(t, dest)
    assert layers.is_whiteout(os.path.join(dest, "etc", "gone"))
    assert os.getxattr(os.path.join(dest, "etc", "opq"), layers.OPAQUE_XATTR) == b"y"
    assert tar_bytes(dest) == tar_bytes(top)


def make_image(root, tmp_path, files, name="app"):
    src = str(tmp_path / "src")
    os.makedirs(src, exist_ok=True)
    for fn, text in files.items():
        with open(os.path.join(src, fn), "w") as f:
            f.write(text)
        os.utime(os.path.join(src, fn), (5, 5))
    t = str(tmp_path / (name + ".tar"))
    with tarfile.open(t, "w") as tf:
        for fn in sorted(files):
            tf.add(os.path.join(src, fn), fn)
    return images.import_image(root, t, name)[0]


@pytest.mark.parametrize("media", ["oci", "docker"])
def test_image_blobs_are_consistent_and_cached(tmp_path, media):
    root = str(tmp_path / "root")
    rec = make_image(root, tmp_path, {"hello": "world"})
    b = export.image_blobs(root, "app", media=media)
    assert b["manifestDigest"] == "sha256:" + hashlib.sha256(b["manifest"]).hexdigest()
    assert b["configDigest"] == "sha256:" + hashlib.sha256(b["config"]).hexdigest()
    manifest, config = json.loads(b["manifest"]), json.loads(b["config"])
    assert manifest["mediaType"] == export.MEDIA[media]["manifest"]
    assert manifest["config"] == {"mediaType": export.MEDIA[media]["config"], "digest": b["configDigest"],
                                  "size": len(b["config"])}
    lay = b["layers"][0]
    assert len(b["layers"]) == 1 and lay["mediaType"] == export.MEDIA[media]["layer"]
    with open(lay["path"], "rb") as f:
        blob = f.read()
    assert lay["digest"] == "sha256:" + hashlib.sha256(blob).hexdigest() and lay["size"] == len(blob)
    raw = gzip.decompress(blob)
    assert lay["diffId"] == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert config["rootfs"] == {"type": "layers", "diff_ids": [lay["diffId"]]}
    assert [m[0] for m in members(raw)] == ["hello"]
    assert os.path.dirname(lay["path"]) == Paths(root).layers
    assert lay["path"].startswith(layers.layer_dir(Paths(root), rec["layer"]))
    mtime = os.stat(lay["path"]).st_mtime_ns
    again = export.image_blobs(root, "app", media=media)
    assert again["manifest"] == b["manifest"] and os.stat(lay["path"]).st_mtime_ns == mtime  # reused


def test_a_layer_made_by_this_tar_keeps_its_diff_id_and_reimport_is_the_same_layer(tmp_path):
    root = str(tmp_path / "root")
    make_image(root, tmp_path, {"x": "1"})
    b = export.image_blobs(root, "app")
    lay = b["layers"][0]
    root2 = str(tmp_path / "root2")
    rec2 = images.import_image(root2, lay["path"], "copy")[0]
    assert rec2["diffIds"] == [lay["diffId"]]
    assert export.image_blobs(root2, "copy")["layers"][0]["digest"] == lay["digest"]
    assert export.cached_blob(Paths(root2), rec2["layer"])["layerDiffId"] == lay["diffId"]


def test_removing_the_image_removes_the_cached_blob(tmp_path):
    root = str(tmp_path / "root")
    make_image(root, tmp_path, {"x": "1"})
    path = export.image_blobs(root, "app")["layers"][0]["path"]
    images.remove_image(root, "app")
    assert not os.path.exists(path) and not os.path.exists(path[:-len(".tar.gz")] + ".blob.json")


def test_a_cache_that_does_not_match_is_written_again(tmp_path):
    root = str(tmp_path / "root")
    make_image(root, tmp_path, {"x": "1"})
    b = export.image_blobs(root, "app")
    with open(b["layers"][0]["path"], "ab") as f:
        f.write(b"junk")
    assert export.image_blobs(root, "app")["layers"][0]["digest"] == b["layers"][0]["digest"]


def test_config_carries_the_image_config(tmp_path):
    root = str(tmp_path / "root")
    rec = make_image(root, tmp_path, {"x": "1"})
    rec = dict(rec, config={"Env": ["A=1"], "Cmd": ["sh"], "Entrypoint": [], "WorkingDir": "/w", "User": "1",
                            "ExposedPorts": ["80/tcp"], "Volumes": ["/data"], "StopSignal": "SIGINT",
                            "Labels": {"k": "v"}})
    c = export.image_config(rec, ["sha256:" + "a" * 64])
    assert c["config"] == {"Env": ["A=1"], "Cmd": ["sh"], "WorkingDir": "/w", "User": "1",
                           "ExposedPorts": {"80/tcp": {}}, "Volumes": {"/data": {}}, "StopSignal": "SIGINT",
                           "Labels": {"k": "v"}}
    assert c["os"] == "linux" and len(c["history"]) == 1


def test_unknown_media_and_unknown_image_are_one_line_errors(tmp_path):
    root = str(tmp_path / "root")
    with pytest.raises(MyDockerError, match="unknown manifest format"):
        export.image_blobs(root, "app", media="v1")
    with pytest.raises(MyDockerError, match="not found"):
        export.image_blobs(root, "nope")


def docker_archive(tmp_path, files):
    """A `docker save` archive of one plain layer tar written by Python's tarfile (GNU format:
    not the bytes export writes), and its diff id."""
    work = tmp_path / "arch"
    work.mkdir()
    layer = str(work / "l1" / "layer.tar")
    os.makedirs(os.path.dirname(layer))
    src = str(tmp_path / "lsrc")
    os.makedirs(src, exist_ok=True)
    with tarfile.open(layer, "w", format=tarfile.GNU_FORMAT) as tf:
        for fn, text in files.items():
            with open(os.path.join(src, fn), "w") as f:
                f.write(text)
            tf.add(os.path.join(src, fn), fn)
    did = layers.diff_id(layer)
    cfg = json.dumps({"config": {"Cmd": ["sh"]}, "rootfs": {"type": "layers", "diff_ids": [did]}}).encode()
    with open(str(work / "c.json"), "wb") as f:
        f.write(cfg)
    with open(str(work / "manifest.json"), "w") as f:
        json.dump([{"Config": "c.json", "RepoTags": ["app:latest"], "Layers": ["l1/layer.tar"]}], f)
    out = str(tmp_path / "app-docker.tar")
    with tarfile.open(out, "w") as tf:
        for n in ("manifest.json", "c.json", "l1", "l1/layer.tar"):
            tf.add(str(work / n), n, recursive=False)
    return out, did


def test_a_layer_from_an_archive_is_exported_with_its_own_diff_id(tmp_path):
    root = str(tmp_path / "root")
    arch, did = docker_archive(tmp_path, {"f": "x"})
    rec = images.import_image(root, arch, "app")[0]
    assert rec["diffIds"] == [did]
    base = layers.layer_dir(Paths(root), rec["layer"])
    assert os.path.isfile(base + ".src")  # the archive's bytes are kept for export
    b = export.image_blobs(root, "app", media="docker")
    assert b["layers"][0]["diffId"] == did
    assert json.loads(b["config"])["rootfs"]["diff_ids"] == [did]
    assert gzip.decompress(open(b["layers"][0]["path"], "rb").read()) == \
        tarfile.open(arch).extractfile("l1/layer.tar").read()
    assert not os.path.exists(base + ".src")  # the blob holds them now
    assert export.image_blobs(root, "app", media="docker")["manifest"] == b["manifest"]
    images.remove_image(root, "app")
    assert [n for n in os.listdir(Paths(root).layers) if not n.startswith(".")] == []


def test_a_refused_archive_keeps_no_layer_source(tmp_path):
    root = str(tmp_path / "root")
    arch, did = docker_archive(tmp_path, {"f": "x"})
    bad = str(tmp_path / "bad.tar")
    with tarfile.open(arch) as src, tarfile.open(bad, "w") as dst:
        for m in src:
            data = src.extractfile(m).read() if m.isfile() else None
            if m.name == "c.json":
                data = data.replace(did.encode(), b"sha256:" + b"0" * 64)
                m.size = len(data)
            dst.addfile(m, io.BytesIO(data) if data is not None else None)
    with pytest.raises(MyDockerError, match="diff ids"):
        images.import_image(root, bad, "app")
    assert os.listdir(Paths(root).layers) == []


def test_a_rootfs_image_exports_its_tarball_while_it_is_there_else_a_tar_of_its_own(tmp_path):
    root = str(tmp_path / "root")
    rec = make_image(root, tmp_path, {"x": "1", "y": "2"})
    b = export.image_blobs(root, "app")
    assert b["layers"][0]["diffId"] == rec["diffIds"][0]  # the stored copy of the tarball
    # without that copy and the source file, and without the cache: the tar written here
    for p in (Paths(root).image_tar("app"), str(tmp_path / "app.tar")):
        os.unlink(p)
    export.drop_cache(Paths(root), rec["layer"])
    c = export.image_blobs(root, "app")
    did = c["layers"][0]["diffId"]
    assert did != rec["diffIds"][0]
    assert json.loads(c["config"])["rootfs"]["diff_ids"] == [did]
    assert export.cached_blob(Paths(root), rec["layer"])["layerDiffId"] == rec["diffIds"][0]
    assert export.image_blobs(root, "app")["manifest"] == c["manifest"]
