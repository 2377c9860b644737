"""mydocker build with the busybox image: RUN in real containers, COPY --chown, a whiteout made by
RUN rm, the build cache, a failing RUN that names its line and leaves nothing behind."""
import json
import os
import stat

import pytest

CONTAINERFILE = """\
# built by test_build
FROM busybox
ARG WHO=nobody
ENV GREETING=hello \\
    PLACE=world
WORKDIR /app
COPY --chown=nobody:nogroup data/ /app/data/
COPY top.txt ./
RUN echo "$GREETING $PLACE $WHO" > /app/run.txt && \\
    rm /etc/group
RUN ["/bin/sh", "-c", "ls /app/data > /app/list.txt"]
LABEL purpose=test
EXPOSE 8080
USER nobody
CMD ["cat", "/app/run.txt"]
STOPSIGNAL SIGINT
"""


def _layers(md):
    d = os.path.join(md.root, "image", "layers")
    return sorted(n for n in os.listdir(d) if not n.startswith(".") and os.path.isdir(os.path.join(d, n)))


def _image(md, name):
    with open(os.path.join(md.root, "image", "refs", "repositories.json")) as f:
        key = json.load(f)["refs"][name]
    with open(os.path.join(md.root, "image", "images", key + ".json")) as f:
        return json.load(f)


@pytest.fixture
def ctx(tmp_path, md):
    c = tmp_path / "ctx"
    (c / "data").mkdir(parents=True)
    (c / "data" / "one").write_text("1\n")
    (c / "data" / "skip.log").write_text("no\n")
    (c / "top.txt").write_text("top\n")
    (c / ".dockerignore").write_text("data/*.log\n")
    (c / "Containerfile").write_text(CONTAINERFILE)
    made = []
    yield c, made
    for name in made:
        md("rmi", name, check=False)


def test_build_runs_copies_and_whites_out(md, ctx):
    c, made = ctx
    made.append("test-build/app:1")
    before = set(_layers(md))
    p = md("build", "-t", "test-build/app:1", "--build-arg", "WHO=tester", str(c), timeout=300)
    assert "Successfully built" in p.out
    rec = _image(md, "docker.io/test-build/app:1")
    new = [n for n in rec["layers"] if n not in before]
    assert len(new) == 5  # WORKDIR, two COPY, two RUN: one layer per filesystem change
    assert md("run", "--rm", "--user", "0", "test-build/app:1").out == "hello world tester\n"
    out = md("run", "--rm", "--user", "0", "test-build/app:1", "sh", "-c",
             "stat -c '%u:%g %n' /app/data/one; cat /app/list.txt; "
             "ls /etc/group 2>/dev/null || echo gone; cat /app/top.txt").out.splitlines()
    assert out == ["65534:65534 /app/data/one", "one", "gone", "top"]
    assert md("run", "--rm", "test-build/app:1", "id", "-u").out == "65534\n"  # USER nobody
    # the rm made a whiteout (a 0:0 character device) in the RUN's layer, the lower file is intact
    layers = os.path.join(md.root, "image", "layers")
    wh = [os.path.join(layers, n, "etc", "group") for n in new if os.path.lexists(os.path.join(layers, n, "etc"))]
    assert len(wh) == 1 and stat.S_ISCHR(os.lstat(wh[0]).st_mode) and os.lstat(wh[0]).st_rdev == 0
    assert os.path.isfile(os.path.join(layers, rec["layers"][0], "etc", "group"))
    cfg = rec["config"]
    assert cfg["Cmd"] == ["cat", "/app/run.txt"] and cfg["WorkingDir"] == "/app" and cfg["User"] == "nobody"
    assert cfg["Labels"] == {"purpose": "test"} and cfg["ExposedPorts"] == ["8080/tcp"]
    assert cfg["StopSignal"] == "SIGINT" and "GREETING=hello" in cfg["Env"] and "PLACE=world" in cfg["Env"]
    assert md("run", "--rm", "test-build/app:1", "ls", "/app/data").out == "one\n"  # .dockerignore
    assert md.ids() == [] and not os.listdir(os.path.join(md.root, "overlay2"))


def test_a_rebuild_with_nothing_changed_is_cached_and_a_changed_file_is_not(md, ctx):
    c, made = ctx
    made.append("test-build/cache:1")
    md("build", "-t", "test-build/cache:1", str(c), timeout=300)
    first = _image(md, "docker.io/test-build/cache:1")
    layers = _layers(md)
    p = md("build", "-t", "test-build/cache:1", str(c), timeout=300)
    assert "unchanged" in p.out and p.out.count("Using cache") == 5
    assert _layers(md) == layers and _image(md, "docker.io/test-build/cache:1")["id"] == first["id"]
    (c / "top.txt").write_text("changed\n")
    p = md("build", "-t", "test-build/cache:1", str(c), timeout=300)
    assert p.out.count("Using cache") == 2  # WORKDIR and the first COPY; from the changed COPY on: new
    assert md("run", "--rm", "test-build/cache:1", "cat", "/app/top.txt").out == "changed\n"
    # the image it replaced went with its tag, and its layers no other image uses with it
    assert len(_layers(md)) == len(layers)


def test_a_failing_run_names_its_line_and_leaves_nothing(md, ctx, tmp_path):
    c, made = ctx
    (c / "Bad").write_text("FROM busybox\nRUN echo made > /made\nCOPY top.txt /top\n"
                           "RUN echo broken >&2; exit 3\nRUN true\n")
    before_layers = _layers(md)
    images = sorted(os.listdir(os.path.join(md.root, "image", "images")))
    p = md("build", "-t", "test-build/bad", "-f", str(c / "Bad"), str(c), check=False, timeout=300)
    assert p.returncode != 0
    assert p.err.strip().splitlines()[-1] == "mydocker: Bad:4: RUN exit 3: echo broken >&2; exit 3 (broken)"
    assert _layers(md) == before_layers  # the layers of the steps before went again
    assert sorted(os.listdir(os.path.join(md.root, "image", "images"))) == images
    assert "test-build/bad" not in md("images").out
    assert md.ids() == [] and not os.listdir(os.path.join(md.root, "overlay2"))
    # the md fixture checks for mounts, cgroups and processes of the state root


def test_from_scratch_copy_and_add_of_a_tar(md, ctx, tmp_path):
    import tarfile
    c, made = ctx
    made.append("test-build/scratch")
    src = tmp_path / "arch"
    (src / "inner").mkdir(parents=True)
    (src / "inner" / "f").write_text("from the tar\n")
    with tarfile.open(str(c / "a.tar"), "w") as tf:
        tf.add(str(src / "inner"), "inner")
    bb = os.path.realpath(os.path.join(md.root, "image", "layers", _image(md, "docker.io/library/busybox:latest")
                                       ["layers"][0], "bin", "busybox"))
    import shutil
    shutil.copyfile(bb, str(c / "busybox"))
    os.chmod(str(c / "busybox"), 0o755)
    (c / "Containerfile").write_text("FROM scratch\nCOPY busybox /bin/busybox\nADD a.tar /x/\n"
                                     'ENTRYPOINT ["/bin/busybox"]\nCMD ["cat", "/x/inner/f"]\n')
    md("build", "-t", "test-build/scratch", str(c), timeout=300)
    assert md("run", "--rm", "test-build/scratch").out == "from the tar\n"
    assert len(_image(md, "docker.io/test-build/scratch:latest")["layers"]) == 2


def test_bad_input_changes_nothing(md, ctx):
    c, made = ctx
    (c / "Containerfile").write_text("FROM busybox\nCOPY missing.txt /x\n")
    layers = _layers(md)
    p = md("build", "-t", "test-build/x", str(c), check=False)
    assert p.returncode != 0 and p.err.strip() == \
        "mydocker: Containerfile:2: COPY failed: missing.txt: no such file or directory in the build context"
    (c / "Containerfile").write_text("FROM busybox\nCOPY ../etc/passwd /x\n")
    p = md("build", "-t", "test-build/x", str(c), check=False)
    assert p.returncode != 0 and "outside the build context" in p.err
    (c / "out").symlink_to("/etc/passwd")
    (c / "Containerfile").write_text("FROM busybox\nCOPY out /x\n")
    p = md("build", "-t", "test-build/x", str(c), check=False)
    assert p.returncode != 0 and "out is outside the build context (it leads to /etc/passwd)" in p.err
    p = md("build", "-t", "test-build/x", "-f", str(c / "nope"), str(c), check=False)
    assert p.returncode != 0 and "no Containerfile" in p.err
    assert _layers(md) == layers


def test_commit_is_a_new_layer_on_the_image_layers_with_the_config(md, ctx):
    c, made = ctx
    made += ["test-build/commit-base", "test-build/committed"]
    (c / "Containerfile").write_text('FROM busybox\nENV FROM_IMAGE=1\nWORKDIR /w\nCMD ["sh", "-c", "echo base"]\n')
    md("build", "-t", "test-build/commit-base", str(c), timeout=300)
    base = _image(md, "docker.io/test-build/commit-base:latest")
    md("run", "--name", "tocommit", "-e", "FROM_RUN=2", "test-build/commit-base", "sh", "-c",
       "rm /etc/group; echo new > /w/new; mkdir -p /etc/opq && rm -rf /etc/opq")
    md("commit", "tocommit", "test-build/committed")
    rec = _image(md, "docker.io/test-build/committed:latest")
    assert rec["layers"][:-1] == base["layers"] and len(rec["layers"]) == len(base["layers"]) + 1
    top = os.path.join(md.root, "image", "layers", rec["layers"][-1])
    assert sorted(os.listdir(top)) == ["etc", "w"]  # only the changes, not a flattened copy
    st = os.lstat(os.path.join(top, "etc", "group"))
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert "FROM_IMAGE=1" in rec["config"]["Env"] and "FROM_RUN=2" in rec["config"]["Env"]
    assert rec["config"]["WorkingDir"] == "/w"
    md("rm", "tocommit")
    out = md("run", "--rm", "test-build/committed", "sh", "-c",
             "cat /w/new; ls /etc/group 2>/dev/null || echo gone; echo $FROM_RUN; pwd").out
    assert out == "new\ngone\n2\n/w\n"
