"""image_plan: the plan of a mydocker_image task, and apply() doing exactly that plan
(real imports of small rootfs tarballs into a temporary state root; no root needed)."""
import io
import json
import os
import shutil
import tarfile
import tempfile

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import images
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import Paths, write_json
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import image as image_plan


def make_tar(path, files):
    with tarfile.open(path, "w") as tf:
        for name, data in sorted(files.items()):
            data = data.encode("utf-8")
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 0
            tf.addfile(ti, io.BytesIO(data))
    return path


@pytest.fixture
def root(tmp_path):
    return str(tmp_path / "root")


@pytest.fixture
def tar1(tmp_path):
    return make_tar(str(tmp_path / "one.tar"), {"etc/hostname": "", "bin/hello": "one"})


@pytest.fixture
def tar2(tmp_path):
    return make_tar(str(tmp_path / "two.tar"), {"etc/hostname": "", "bin/hello": "two"})


def run(root, name, **kw):
    """plan, then apply; returns (plan, record after)."""
    plan = image_plan.plan_image(root, name, **kw)
    after = image_plan.apply(plan) if plan.changed else plan.image
    return plan, after


def test_import_new_then_idempotent(root, tar1):
    plan = image_plan.plan_image(root, "img", source=tar1)
    assert plan.changed and plan.actions == ["import: %s (new image)" % tar1]
    assert plan.before == {}
    digest = images.file_digest(tar1)
    assert plan.after == {"name": "img", "id": digest[7:19], "digest": digest, "layer": digest[7:23],
                          "format": "rootfs", "source": tar1, "layerPresent": True}
    assert not images.image_exists(root, "img")  # planning changed nothing
    rec = image_plan.apply(plan)
    assert rec["digest"] == digest and rec["layerPresent"]
    # what the real run wrote is what the plan predicted
    assert image_plan.view(rec, True) == plan.after
    again = image_plan.plan_image(root, "img", source=tar1)
    assert not again.changed and again.actions == [] and again.before == again.after == plan.after


def test_same_content_other_path_is_no_change(root, tar1, tmp_path):
    run(root, "img", source=tar1)
    copy = str(tmp_path / "copy.tar")
    shutil.copyfile(tar1, copy)
    assert not image_plan.plan_image(root, "img", source=copy).changed


def test_changed_content(root, tar1, tar2):
    run(root, "img", source=tar1)
    plan, rec = run(root, "img", source=tar2)
    assert plan.changed and "content changed" in plan.actions[0]
    assert plan.before["digest"] == images.file_digest(tar1)
    assert plan.after["digest"] == rec["digest"] == images.file_digest(tar2)
    # the old layer is gone (nobody uses it)
    assert not os.path.isdir(os.path.join(Paths(root).layers, plan.before["layer"]))


def test_missing_layer_is_drift_with_source(root, tar1):
    rec = run(root, "img", source=tar1)[1]
    shutil.rmtree(rec["layerPath"])
    plan = image_plan.plan_image(root, "img", source=tar1)
    assert plan.changed and "missing on disk" in plan.actions[0]
    assert plan.before["layerPresent"] is False and plan.after["layerPresent"] is True
    rec = image_plan.apply(plan)
    assert rec["layerPresent"] and os.path.isfile(os.path.join(rec["layerPath"], "bin", "hello"))
    assert not image_plan.plan_image(root, "img", source=tar1).changed


def test_missing_layer_repaired_without_source(root, tar1):
    rec = run(root, "img", source=tar1)[1]
    shutil.rmtree(rec["layerPath"])
    plan = image_plan.plan_image(root, "img")
    assert plan.changed and plan.actions[0].startswith("import: %s" % Paths(root).image_tar("img"))
    assert plan.after == dict(plan.before, layerPresent=True)
    rec = image_plan.apply(plan)
    assert rec["layerPresent"] and rec["source"] == tar1  # the record keeps its source
    assert image_plan.view(rec, True) == plan.after
    assert not image_plan.plan_image(root, "img").changed


def test_missing_layer_without_any_source_fails(root, tar1):
    rec = run(root, "img", source=tar1)[1]
    shutil.rmtree(rec["layerPath"])
    os.unlink(Paths(root).image_tar("img"))
    os.unlink(tar1)
    with pytest.raises(MyDockerError, match="damaged"):
        image_plan.plan_image(root, "img")


def test_present_without_source_needs_the_image(root):
    with pytest.raises(MyDockerError, match="does not exist: give source"):
        image_plan.plan_image(root, "nope")


def test_force_reimports(root, tar1):
    run(root, "img", source=tar1)
    plan, rec = run(root, "img", source=tar1, force=True)
    assert plan.changed and plan.actions == ["import: %s (force)" % tar1]
    assert rec["layerPresent"]


def test_force_refused_when_a_container_uses_the_layer(root, tar1):
    rec = run(root, "img", source=tar1)[1]
    write_json(Paths(root).container_config("1234567890"),
               {"id": "1234567890", "name": "c1", "image": "img", "layer": rec["layer"]})
    with pytest.raises(MyDockerError, match="used by container"):
        image_plan.plan_image(root, "img", source=tar1, force=True)


def test_bad_source(root, tmp_path):
    with pytest.raises(MyDockerError, match="does not exist"):
        image_plan.plan_image(root, "img", source=str(tmp_path / "missing.tar"))
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(MyDockerError, match="not a tar archive"):
        image_plan.plan_image(root, "img", source=str(junk))


@pytest.mark.parametrize("name", ["../x", ".hidden", "", "-x", "a//b", "UPPER", "a:b:c", "x@sha256:12"])
def test_bad_names(root, name):
    with pytest.raises(MyDockerError, match="invalid image name"):
        image_plan.plan_image(root, name)


def test_a_path_is_a_reference_not_a_file_name(root, tar1):
    """``a/b`` is a Docker reference (docker.io/a/b:latest) since images have references; it
    never becomes a path under the state root."""
    plan, rec = run(root, "a/b", source=tar1)
    assert rec["repoTags"] == ["a/b:latest"]
    assert not os.path.exists(os.path.join(root, "image", "a"))


def test_absent(root, tar1):
    assert not image_plan.plan_image(root, "img", state="absent").changed
    run(root, "img", source=tar1)
    plan = image_plan.plan_image(root, "img", state="absent")
    assert plan.changed and plan.actions == ["remove"] and plan.after == {}
    assert images.image_exists(root, "img")
    assert image_plan.apply(plan) == {}
    assert not images.image_exists(root, "img")
    assert not image_plan.plan_image(root, "img", state="absent").changed


def test_absent_refused_while_used(root, tar1):
    rec = run(root, "img", source=tar1)[1]
    write_json(Paths(root).container_config("1234567890"),
               {"id": "1234567890", "name": "c1", "image": "img", "layer": rec["layer"]})
    with pytest.raises(MyDockerError, match="used by container.*c1.*force"):
        image_plan.plan_image(root, "img", state="absent")
    plan = image_plan.plan_image(root, "img", state="absent", force=True)
    assert plan.actions == ["remove: used by container(s) c1 (force)"]
    image_plan.apply(plan)
    assert not images.image_exists(root, "img")
    assert os.path.isdir(rec["layerPath"])  # the container still needs its layer


def test_absent_rejects_present_options(root):
    with pytest.raises(MyDockerError, match="source only applies to state=present"):
        image_plan.plan_image(root, "img", state="absent", source="/x.tar")


def test_option_conflicts(root, tar1):
    with pytest.raises(MyDockerError, match="mutually exclusive"):
        image_plan.plan_image(root, "img", source=tar1, container="c1")
    with pytest.raises(MyDockerError, match="output needs option container"):
        image_plan.plan_image(root, "img", output="/tmp/x.tar")


def test_commit_unknown_container(root):
    with pytest.raises(MyDockerError, match="container c9 .option container. does not exist"):
        image_plan.plan_image(root, "img", container="c9")


def _fake_container(root, tar1):
    rec = run(root, "base", source=tar1)[1]
    write_json(Paths(root).container_config("1234567890"),
               {"id": "1234567890", "name": "c1", "image": "base", "layer": rec["layer"]})


def test_commit_only_when_missing_or_forced(root, tar1, monkeypatch):
    _fake_container(root, tar1)
    calls = []

    def fake_commit(r, ref, image=None, output=None):
        calls.append((ref, image, output))
        if image:
            return images.import_image(r, tar1, image)[0]
        return {"output": output}
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine import commit
    monkeypatch.setattr(commit, "commit", fake_commit)
    plan, rec = run(root, "snap", container="c1")
    assert plan.actions == ["commit: container c1 (new image)"]
    assert plan.after == {"name": "snap", "format": "rootfs", "source": "commit", "layerPresent": True}
    assert calls == [("1234567890", "snap", None)] and rec["name"] == "snap"
    assert not image_plan.plan_image(root, "snap", container="c1").changed
    plan = run(root, "snap", container="c1", force=True)[0]
    assert plan.actions == ["commit: container c1 (force)"] and len(calls) == 2


def test_commit_to_output(root, tar1, tmp_path, monkeypatch):
    _fake_container(root, tar1)
    out = str(tmp_path / "out.tar")

    def fake_commit(r, ref, image=None, output=None):
        open(output, "w").close()
        return {"output": output}
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine import commit
    monkeypatch.setattr(commit, "commit", fake_commit)
    plan, rec = run(root, "x", container="c1", output=out)
    assert plan.diff_name == "output" and plan.output == out and rec == {}
    assert plan.before == {"path": out, "exists": False} and plan.after == {"path": out, "exists": True}
    assert os.path.exists(out) and not images.image_exists(root, "x")
    assert not image_plan.plan_image(root, "x", container="c1", output=out).changed
    assert image_plan.plan_image(root, "x", container="c1", output=out, force=True).changed
    with pytest.raises(MyDockerError, match="output directory"):
        image_plan.plan_image(root, "x", container="c1", output=str(tmp_path / "no" / "x.tar"))


def test_docker_save_archive_is_predicted(root, tmp_path):
    layer = make_tar(str(tmp_path / "layer.tar"), {"bin/hello": "docker"})
    cfg = {"config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]}}
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    (tmp_path / "manifest.json").write_text(json.dumps([{"Config": "cfg.json", "Layers": ["l1/layer.tar"]}]))
    arch = str(tmp_path / "save.tar")
    with tarfile.open(arch, "w") as tf:
        tf.add(str(tmp_path / "manifest.json"), "manifest.json")
        tf.add(str(tmp_path / "cfg.json"), "cfg.json")
        tf.add(layer, "l1/layer.tar")
    plan, rec = run(root, "d", source=arch)
    assert plan.after["format"] == "docker" and image_plan.view(rec, True) == plan.after
    assert rec["config"]["Cmd"] == ["sh"]


def test_info(root, tar1):
    run(root, "a", source=tar1)
    recs, exists = image_plan.info(root, ["a", "b"])
    assert [r["name"] for r in recs] == ["a"] and exists == {"a": True, "b": False}
    recs, exists = image_plan.info(root)
    assert exists == {"a": True} and recs[0]["layerPresent"]


def test_busybox_image_is_reproducible_and_idempotent(tmp_path):
    bb = shutil.which("busybox")
    if not bb:
        pytest.skip("no busybox on this host")
    root = str(tmp_path / "root")
    plan = image_plan.plan_image(root, "bb", busybox=bb)
    assert plan.changed and plan.actions[0].startswith("import: busybox:%s" % bb)
    scratch = list(plan.scratch)
    image_plan.apply(plan)
    image_plan.cleanup(plan)
    assert not any(os.path.exists(d) for d in scratch)
    again = image_plan.plan_image(root, "bb", busybox=bb)
    try:
        assert not again.changed and again.before == again.after
        assert again.image["source"] == "busybox:%s" % bb
    finally:
        image_plan.cleanup(again)
    with pytest.raises(MyDockerError, match="busybox"):
        image_plan.plan_image(root, "bb", busybox=bb, source="/x.tar")
    assert [p for p in os.listdir(tempfile.gettempdir()) if p in [os.path.basename(d) for d in scratch]] == []


def test_tags_are_added_once_and_predicted(root, tar1, tar2):
    plan, rec = run(root, "img", source=tar1, tag=["img:v1", "registry.example:5000/img:1"])
    assert plan.actions[1:] == ["tag: img:v1", "tag: registry.example:5000/img:1"]
    rec = image_plan.get(root, "img:v1")
    assert sorted(rec["repoTags"]) == ["img:latest", "img:v1", "registry.example:5000/img:1"]
    again = image_plan.plan_image(root, "img", source=tar1, tag=["img:v1"])
    assert not again.changed
    # a tag that names another image moves to this one
    run(root, "other", source=tar2)
    plan = image_plan.plan_image(root, "other", source=tar2, tag=["img:v1"])
    assert plan.actions == ["tag: img:v1"]
    image_plan.apply(plan)
    assert image_plan.get(root, "img:v1")["digest"] == image_plan.get(root, "other")["digest"]
    with pytest.raises(MyDockerError, match="tag: invalid image name"):
        image_plan.plan_image(root, "img", tag=["Bad"])
    with pytest.raises(MyDockerError, match="only applies to state=present"):
        image_plan.plan_image(root, "img", state="absent", tag=["x"])


def test_absent_removes_a_tag_then_the_image(root, tar1):
    run(root, "img", source=tar1, tag=["img:v1"])
    write_json(os.path.join(root, "containers", "1234567890", "config.json"),
               {"id": "1234567890", "name": "c1", "image": "img:v1", "layer": images.read_image(root, "img")["layer"]})
    plan, rec = run(root, "img:v1", state="absent")  # not the last tag: the container keeps its image
    assert plan.actions == ["remove: tag img:v1 (the image keeps img:latest)"]
    assert images.image_exists(root, "img") and not images.image_exists(root, "img:v1")
    with pytest.raises(MyDockerError, match="used by container"):
        image_plan.plan_image(root, "img", state="absent")
    os.unlink(os.path.join(root, "containers", "1234567890", "config.json"))
    layer = image_plan.get(root, "img")["layerPath"]
    run(root, "img", state="absent")
    assert not images.image_exists(root, "img") and not os.path.exists(layer)
