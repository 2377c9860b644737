"""image import / images / rmi, the shared read-only layer, commit to the store and to a tar."""
import os
import subprocess
import tarfile
import time


def test_image_is_unpacked_once_and_shared(md):
    a = md("run", "-d", "busybox", "sleep", "1000").out.strip()
    b = md("run", "-d", "busybox", "sleep", "1000").out.strip()
    la = os.path.realpath(os.path.join(md.root, "overlay2", a, "lower"))
    lb = os.path.realpath(os.path.join(md.root, "overlay2", b, "lower"))
    assert la == lb and la.startswith(os.path.join(md.root, "image", "layers"))
    mounts = open("/proc/self/mountinfo").read()
    assert "lowerdir=%s," % la in mounts
    # the container's writes go to its own upper layer, never to the shared layer
    md("exec", a, "sh", "-c", "echo mine > /bin/newfile")
    assert not os.path.exists(os.path.join(la, "bin", "newfile"))
    assert os.path.exists(os.path.join(md.root, "overlay2", a, "upper", "bin", "newfile"))
    assert md("exec", b, "cat", "/bin/newfile", check=False).returncode != 0


def test_import_list_and_remove(md, tmp_path):
    root = tmp_path / "rootfs"
    (root / "bin").mkdir(parents=True)
    bb = subprocess.run(["which", "busybox"], stdout=subprocess.PIPE, check=False).stdout.decode().strip()
    os.link(bb, root / "bin" / "busybox") if os.stat(bb).st_dev == os.stat(tmp_path).st_dev else \
        subprocess.run(["cp", bb, str(root / "bin" / "busybox")], check=True)
    os.symlink("busybox", root / "bin" / "sh")
    (root / "marker").write_text("mine\n")
    tar = tmp_path / "img.tar"
    subprocess.run(["tar", "-cf", str(tar), "-C", str(root), "."], check=True)
    md("image", "import", tar, "custom")
    assert os.path.exists(os.path.join(md.root, "image", "custom.tar"))
    assert "custom" in md("images").out.split()
    assert md("run", "--rm", "custom", "/bin/busybox", "cat", "/marker").out == "mine\n"
    assert "unchanged" in md("image", "import", tar, "custom").out
    cid = md("run", "-d", "custom", "/bin/busybox", "sleep", "1000").out.strip()
    p = md("rmi", "custom", check=False)
    assert p.returncode != 0 and "used by" in p.err
    md("rm", "-f", cid)
    md("rmi", "custom")
    assert "custom" not in md("images").out.split()
    assert not os.path.exists(os.path.join(md.root, "image", "custom.tar"))


def test_import_refuses_what_is_not_a_tarball(md, tmp_path):
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"this is not a tar file at all" * 100)
    p = md("image", "import", bad, "bad", check=False)
    assert p.returncode != 0 and "not a tar" in p.err
    p = md("image", "import", tmp_path / "missing.tar", "bad", check=False)
    assert p.returncode != 0 and "does not exist" in p.err
    assert "bad" not in md("images").out.split()
    assert [n for n in os.listdir(os.path.join(md.root, "image", "layers")) if n.startswith(".")] == []


def test_commit_running_container_to_image_and_tar(md, tmp_path):
    md("run", "-d", "--name", "src", "-v", "%s:/vol" % tmp_path, "busybox", "sh", "-c",
       "echo committed > /etc/motd; echo volume > /vol/v; sleep 1000")
    time.sleep(0.3)
    md("commit", "src", "snap")
    assert md("run", "--rm", "snap", "cat", "/etc/motd").out == "committed\n"
    assert md("run", "--rm", "snap", "ls", "/vol", check=False).out == ""  # volumes are not committed
    out = tmp_path / "out" / "snap.tar"
    out.parent.mkdir()
    md("commit", "src", "--output", out)
    with tarfile.open(out) as tf:
        names = tf.getnames()
        assert "./etc/motd" in names and "./bin/busybox" in names
        assert tf.extractfile("./etc/motd").read() == b"committed\n"
    md("rm", "-f", "src")
    md("rmi", "snap")


def test_commit_stopped_container(md):
    md("run", "--name", "done", "busybox", "sh", "-c", "echo after > /after")
    md("commit", "done", "afterimg")
    assert md("run", "--rm", "afterimg", "cat", "/after").out == "after\n"
    assert not os.listdir(os.path.join(md.root, "overlay2", md.inspect("done")["id"], "merged"))
    md("rm", "done")
    md("rmi", "afterimg")


def test_import_copies_the_tarball(md, tmp_path):
    src = tmp_path / "src.tar"
    subprocess.run(["cp", os.path.join(md.root, "image", "busybox.tar"), str(src)], check=True)
    md("image", "import", src, "copied")
    stored = os.path.join(md.root, "image", "copied.tar")
    assert os.stat(stored).st_ino != os.stat(src).st_ino
    assert oct(os.stat(stored).st_mode & 0o777) == "0o644"
    md("rmi", "copied")
