"""save and load: archives that podman and skopeo accept, and that load into a fresh state root
and run. podman gets its own storage under a temporary directory, reset and removed after."""
import json
import os
import shutil
import subprocess
import tarfile
import tempfile

import pytest
from conftest import MyDocker, leftovers


def _tool(name):
    if shutil.which(name) is None:
        pytest.skip("%s is not installed (scripts/test.sh installs it)" % name)


@pytest.fixture
def podman(tmp_path):
    _tool("podman")
    top = tempfile.mkdtemp(prefix="mydocker-podman-")
    base = ["podman", "--root", os.path.join(top, "root"), "--runroot", os.path.join(top, "run"),
            "--runtime", "runc", "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
            "--events-backend", "none"]

    def run(*args, check=True):
        p = subprocess.run(base + list(args), capture_output=True, timeout=180, check=False)
        if check and p.returncode != 0:
            raise AssertionError("podman %s failed: %s" % (" ".join(args), p.stderr.decode()))
        return p.stdout.decode()
    try:
        yield run
    finally:
        subprocess.run(base + ["system", "reset", "-f"], capture_output=True, timeout=180, check=False)
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def image(md):
    md("tag", "busybox", "saved/app:v1")
    yield "saved/app:v1"
    md("rmi", "saved/app:v1", check=False)


def test_docker_archive_loads_into_podman_with_its_tags(md, image, podman, tmp_path):
    out = str(tmp_path / "d.tar")
    md("save", "-o", out, image, "busybox")
    with tarfile.open(out) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))
    assert len(manifest) == 1 and sorted(manifest[0]["RepoTags"]) == ["busybox:latest", "saved/app:v1"]
    loaded = podman("load", "-i", out)
    assert "saved/app:v1" in loaded
    info = json.loads(podman("image", "inspect", "saved/app:v1"))[0]
    with tarfile.open(out) as tf:
        cfg = json.load(tf.extractfile(manifest[0]["Config"]))
    assert info["RootFS"]["Layers"] == cfg["rootfs"]["diff_ids"]
    assert info["Id"] == manifest[0]["Config"][:-len(".json")]


def test_oci_archive_loads_into_podman(md, image, podman, tmp_path):
    out = str(tmp_path / "o.tar")
    md("save", "--format", "oci-archive", "-o", out, image)
    with tarfile.open(out) as tf:
        names = tf.getnames()
        index = json.load(tf.extractfile("index.json"))
    assert "oci-layout" in names and len(index["manifests"]) == 1
    assert index["manifests"][0]["annotations"]["io.containerd.image.name"] == "docker.io/saved/app:v1"
    podman("load", "-i", out)
    info = json.loads(podman("image", "inspect", "docker.io/saved/app:v1"))[0]
    assert len(info["RootFS"]["Layers"]) == 1


def test_skopeo_inspects_both_formats(md, image, tmp_path):
    _tool("skopeo")
    d, o = str(tmp_path / "d.tar"), str(tmp_path / "o.tar")
    md("save", "-o", d, image)
    md("save", "--format", "oci-archive", "-o", o, image)
    raw = subprocess.run(["skopeo", "inspect", "--raw", "docker-archive:" + d], capture_output=True, check=True)
    dm = json.loads(raw.stdout)
    assert dm["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    di = json.loads(subprocess.run(["skopeo", "inspect", "docker-archive:" + d], capture_output=True,
                                   check=True).stdout)
    oi = json.loads(subprocess.run(["skopeo", "inspect", "oci-archive:" + o], capture_output=True,
                                   check=True).stdout)
    assert di["Layers"] and oi["Layers"] and di["Os"] == oi["Os"] == "linux"
    # skopeo can also copy the OCI archive into a directory, checking every digest on the way
    dest = str(tmp_path / "dir")
    subprocess.run(["skopeo", "copy", "oci-archive:" + o, "dir:" + dest], capture_output=True, check=True)
    assert os.path.exists(os.path.join(dest, "manifest.json"))


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_save_then_load_into_a_fresh_state_root_runs(md, image, tmp_path, fmt):
    out = str(tmp_path / "a.tar")
    md("run", "--rm", image, "sh", "-c", "true")
    md("save", "--format", fmt, "-o", out, image, "busybox")
    fresh = tempfile.mkdtemp(prefix="mydocker-test-load-")
    m2 = MyDocker(fresh)
    try:
        p = m2("load", "-i", out)
        assert "saved/app:v1" in p.out
        assert "unchanged" in m2("load", "-i", out).out  # a second load changes nothing
        assert m2("run", "--rm", image, "sh", "-c", "echo loaded").out == "loaded\n"
        assert m2("run", "--rm", "busybox", "true").returncode == 0
        # and saved again from there, the layers are the same blobs (diff ids kept)
        again = str(tmp_path / "b.tar")
        m2("save", "--format", fmt, "-o", again, image)
        assert _diff_ids(out, fmt, "saved/app:v1") == _diff_ids(again, fmt, "saved/app:v1")
    finally:
        for cid in m2.ids():
            m2("rm", "-f", cid, check=False)
        left = leftovers(fresh)
        shutil.rmtree(fresh, ignore_errors=True)
        assert not left


def _diff_ids(path, fmt, ref):
    with tarfile.open(path) as tf:
        if fmt == "docker-archive":
            for m in json.load(tf.extractfile("manifest.json")):
                if ref in m["RepoTags"]:
                    return json.load(tf.extractfile(m["Config"]))["rootfs"]["diff_ids"]
        index = json.load(tf.extractfile("index.json"))
        for d in index["manifests"]:
            if d["annotations"]["io.containerd.image.name"].endswith(ref):
                man = json.load(tf.extractfile("blobs/sha256/" + d["digest"][7:]))
                return json.load(tf.extractfile("blobs/sha256/" + man["config"]["digest"][7:]))["rootfs"]["diff_ids"]
    raise AssertionError("%s not in %s" % (ref, path))


def test_save_of_an_unknown_image_writes_nothing(md, tmp_path):
    out = str(tmp_path / "x.tar")
    p = md("save", "-o", out, "busybox", "no-such-image", check=False)
    assert p.returncode != 0 and "no-such-image" in p.err and len(p.err.strip().splitlines()) == 1
    assert os.listdir(str(tmp_path)) == []


def test_load_of_a_rootfs_tarball_is_refused(md, tmp_path):
    t = str(tmp_path / "r.tar")
    with tarfile.open(t, "w") as tf:
        tf.add(__file__, "file")
    p = md("load", "-i", t, check=False)
    assert p.returncode != 0 and "image import" in p.err
