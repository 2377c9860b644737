"""Real images: references with tags, the content-addressed layer store, whiteouts as overlay
whiteouts, a state root of the SPEC 1.3 layout still read (migration on read).

The OCI image is built here: layer 1 is the busybox rootfs plus files, layer 2 (gzipped) deletes
``etc/removed-me`` with a plain whiteout and makes ``opq`` opaque."""
import gzip
import hashlib
import io
import json
import os
import stat
import tarfile

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import images

CONFIG = {"Entrypoint": ["/app/entry.sh"], "Cmd": ["default-arg"], "User": "1000:1000",
          "WorkingDir": "/app", "Env": ["APPV=1", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
          "ExposedPorts": {"8080/tcp": {}}, "Volumes": {"/data": {}}, "StopSignal": "SIGUSR1",
          "Labels": {"org.example.app": "appimg"}}


def _add(tf, name, data=b"", mode=0o644, kind=tarfile.REGTYPE, uid=0, gid=0):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.uid, ti.gid = uid, gid
    if kind == tarfile.REGTYPE:
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    else:
        tf.addfile(ti)


def _sha(b):
    return hashlib.sha256(b).hexdigest()


def build_oci(tmp_path, busybox_tar, config=None):
    """An OCI archive of two layers; returns (path, [diff ids])."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as out, tarfile.open(busybox_tar) as base:
        for m in base:
            out.addfile(m, base.extractfile(m) if m.isfile() else None)
        _add(out, "etc/removed-me", b"old\n")
        _add(out, "etc/keep", b"kept\n")
        _add(out, "opq", kind=tarfile.DIRTYPE, mode=0o755)
        _add(out, "opq/old", b"old\n")
        _add(out, "opq/olddir", kind=tarfile.DIRTYPE, mode=0o755)
        _add(out, "opq/olddir/deep", b"deep\n")
        _add(out, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/app:/bin/sh\n"
                                b"other:x:1001:1001::/:/bin/sh\n")
        _add(out, "etc/group", b"root:x:0:\napp:x:1000:\nstaff:x:50:app,other\nwheel:x:10:other\n")
    layer1 = buf.getvalue()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as out:
        _add(out, "etc", kind=tarfile.DIRTYPE, mode=0o755)
        _add(out, "etc/.wh.removed-me")
        _add(out, "opq", kind=tarfile.DIRTYPE, mode=0o755)
        _add(out, "opq/.wh..wh..opq")
        _add(out, "opq/new", b"new\n")
        _add(out, "app", kind=tarfile.DIRTYPE, mode=0o755, uid=1000, gid=1000)
        _add(out, "app/entry.sh", b'#!/bin/sh\nif [ "$1" = default-arg ] || [ "$1" = show ]; then\n'
                                  b'  echo "entry $* in $(pwd) as $(id -u):$(id -g) APPV=$APPV"; exit 0\nfi\n'
                                  b'exec "$@"\n', mode=0o755)
    layer2 = buf.getvalue()
    layer2_gz = gzip.compress(layer2, mtime=0)
    diff_ids = ["sha256:" + _sha(layer1), "sha256:" + _sha(layer2)]
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": config or {"Cmd": ["sh"]},
                      "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "config": {
        "mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + _sha(cfg), "size": len(cfg)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + _sha(layer1),
                    "size": len(layer1)},
                   {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": "sha256:" + _sha(layer2_gz), "size": len(layer2_gz)}]}).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + _sha(manifest),
        "size": len(manifest)}]}).encode()
    path = str(tmp_path / "app-oci.tar")
    with tarfile.open(path, "w") as tf:
        _add(tf, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
        _add(tf, "index.json", index)
        _add(tf, "blobs", kind=tarfile.DIRTYPE, mode=0o755)
        _add(tf, "blobs/sha256", kind=tarfile.DIRTYPE, mode=0o755)
        for blob in (cfg, manifest, layer1, layer2_gz):
            _add(tf, "blobs/sha256/" + _sha(blob), blob)
    return path, diff_ids


@pytest.fixture
def oci(md, tmp_path):
    bb = str(tmp_path / "bb.tar")
    images.make_busybox_rootfs(bb)
    return build_oci(tmp_path, bb)


def _layer_dirs(md):
    d = os.path.join(md.root, "image", "layers")
    return sorted(n for n in os.listdir(d) if not n.startswith(".") and os.path.isdir(os.path.join(d, n)))


def test_two_layer_oci_image_whiteouts_and_shared_layers(md, oci):
    path, diff_ids = oci
    before = _layer_dirs(md)
    md("image", "import", path, "appimg:v1")
    try:
        names = [d[7:23] for d in diff_ids]
        assert sorted(set(_layer_dirs(md)) - set(before)) == sorted(names)
        top = os.path.join(md.root, "image", "layers", names[1])
        st = os.lstat(os.path.join(top, "etc", "removed-me"))  # an overlay whiteout, not a .wh. file
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
        assert os.getxattr(os.path.join(top, "opq"), "trusted.overlay.opaque") == b"y"
        assert not os.path.exists(os.path.join(top, "etc", ".wh.removed-me"))
        assert not os.path.exists(os.path.join(top, "opq", ".wh..wh..opq"))

        run = ["run", "--rm", "appimg:v1"]
        assert md(*run, "ls", "/opq").out == "new\n"
        assert md(*run, "cat", "/etc/keep").out == "kept\n"
        p = md(*run, "cat", "/etc/removed-me", check=False)
        assert p.returncode != 0 and "No such file" in p.out + p.err

        # one layer store: a second reference to the same archive unpacks nothing
        md("image", "import", path, "registry.example:5000/team/app:2")
        assert sorted(set(_layer_dirs(md)) - set(before)) == sorted(names)
        out = md("images").out.splitlines()
        assert out[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
        rows = [ln.split() for ln in out[1:]]
        assert ["appimg", "v1"] == [r[:2] for r in rows if r[0] == "appimg"][0]
        assert ["registry.example:5000/team/app", "2"] in [r[:2] for r in rows]
        ids = set(r[2] for r in rows if r[0] in ("appimg", "registry.example:5000/team/app"))
        assert len(ids) == 1
        assert md("images", "-q", "--filter", "reference=appimg").out.split() == list(ids)
        dig = md("images", "--digests", "--filter", "reference=appimg:*").out.splitlines()
        assert dig[0].split()[:3] == ["REPOSITORY", "TAG", "DIGEST"] and dig[1].split()[2].startswith("sha256:")

        # what a reader of the SPEC 1.3 layout sees: every image/*.json is an image record
        for fn in os.listdir(os.path.join(md.root, "image")):
            if fn.endswith(".json"):
                rec = json.load(open(os.path.join(md.root, "image", fn)))
                assert rec["name"] == fn[:-5] and os.path.isdir(os.path.join(md.root, "image", "layers", rec["layer"]))

        # tags: one image, several names; rmi of a tag keeps the image until its last tag
        md("tag", "appimg:v1", "appimg")
        assert md("images", "--filter", "reference=appimg").out.count(list(ids)[0]) == 2
        md("rmi", "appimg:v1")
        assert md(*run[:-1], "appimg", "cat", "/opq/new").out == "new\n"
        md("rmi", "registry.example:5000/team/app:2")
        assert sorted(set(_layer_dirs(md)) - set(before)) == sorted(names)
    finally:
        md("rmi", "appimg", check=False)
        md("rmi", "appimg:v1", check=False)
        md("rmi", "registry.example:5000/team/app:2", check=False)
    assert _layer_dirs(md) == before  # the last tag took the image and its unshared layers
    assert "appimg" not in md("images").out


def test_a_container_stacks_the_layers_and_keeps_them(md, oci):
    path, diff_ids = oci
    md("image", "import", path, "stacked")
    cid = md("run", "-d", "stacked", "sleep", "100").out.strip()
    try:
        rec = md.record(cid)
        assert rec["layers"] == [d[7:23] for d in diff_ids] and rec["imageId"].startswith("sha256:")
        p = md("rmi", "stacked", check=False)
        assert p.returncode != 0 and "used by" in p.err
        assert md("exec", cid, "ls", "/opq").out == "new\n"
        md("exec", cid, "sh", "-c", "echo w > /opq/written")
        upper = os.path.join(md.root, "overlay2", cid, "upper", "opq", "written")
        assert open(upper).read() == "w\n"
        df = md("system", "df").out
        assert "Images" in df and "Layers" in df and "Containers" in df
    finally:
        md("rm", "-f", cid)
        md("rmi", "stacked")


def test_commit_of_a_layered_container(md, oci):
    path, _d = oci
    md("image", "import", path, "tocommit")
    md("run", "--name", "lc", "tocommit", "sh", "-c", "echo c > /opq/c")
    try:
        md("commit", "lc", "committed:v1")
        assert md("run", "--rm", "committed:v1", "ls", "/opq").out == "c\nnew\n"
    finally:
        md("rm", "lc")
        md("rmi", "tocommit")
        md("rmi", "committed:v1", check=False)


def test_spec13_state_root_is_read_and_migrated(md, tmp_path):
    """An image known only by image/<name>.json + <name>.tar (no repositories.json entry, no
    record of its own) is listed, runs, can be tagged and removed."""
    tar = str(tmp_path / "r.tar")
    images.make_busybox_rootfs(tar)
    with tarfile.open(tar, "a") as tf:  # not the session's busybox image
        _add(tf, "legacy-marker", b"legacy\n")
    md("image", "import", tar, "legacyimg")
    rec = images.read_image(md.root, "legacyimg")
    key = rec["digest"].split(":")[1]
    os.unlink(os.path.join(md.root, "image", "images", key + ".json"))
    repos = os.path.join(md.root, "image", "refs", "repositories.json")
    table = json.load(open(repos))
    table["refs"].pop("docker.io/library/legacyimg:latest")
    json.dump(table, open(repos, "w"))
    assert os.path.exists(os.path.join(md.root, "image", "legacyimg.json"))
    assert ["legacyimg", "latest"] in [ln.split()[:2] for ln in md("images").out.splitlines()]
    assert md("run", "--rm", "legacyimg:latest", "echo", "ok").out == "ok\n"
    assert md("run", "--rm", "docker.io/library/legacyimg", "echo", "ok").out == "ok\n"
    md("tag", "legacyimg", "legacyimg:v2")
    md("rmi", "legacyimg:v2")
    assert md("run", "--rm", "legacyimg", "echo", "ok").out == "ok\n"
    md("rmi", "legacyimg")
    assert not os.path.exists(os.path.join(md.root, "image", "legacyimg.json"))
    assert not os.path.exists(os.path.join(md.root, "image", "legacyimg.tar"))
    assert not os.path.isdir(os.path.join(md.root, "image", "layers", key[:16]))
