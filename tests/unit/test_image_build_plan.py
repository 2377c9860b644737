"""mydocker_image source=build and source=load: the check-mode prediction and apply() doing that
plan (metadata-only builds and loads of small archives into temporary state roots)."""
import io
import tarfile

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import images, save
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
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
    r = str(tmp_path / "root")
    images.import_image(r, make_tar(str(tmp_path / "base.tar"), {"bin/hello": "one"}), "base")
    return r


@pytest.fixture
def ctx(tmp_path):
    c = tmp_path / "ctx"
    c.mkdir()
    (c / "Containerfile").write_text('FROM base\nARG V=1\nENV VERSION=$V\nCMD ["hello"]\n')
    return str(c)


def test_build_predicts_then_does_then_is_unchanged(root, ctx):
    plan = image_plan.plan_image(root, "me/app:1", source="build", build={"path": ctx})
    assert plan.changed and plan.actions[0].startswith("build: %s (" % ctx)
    assert plan.before == {} and plan.after["source"] == "build"
    rec = image_plan.apply(plan)
    assert rec["id"] == plan.after["id"] and "VERSION=1" in rec["config"]["Env"]
    again = image_plan.plan_image(root, "me/app:1", source="build", build={"path": ctx})
    assert not again.changed and again.actions == []
    other = image_plan.plan_image(root, "me/app:1", source="build", build={"path": ctx, "args": {"V": "2"}})
    assert other.changed and other.after["id"] != rec["id"]
    assert image_plan.apply(other)["config"]["Env"] == ["VERSION=2"]
    nocache = image_plan.plan_image(root, "me/app:1", source="build",
                                    build={"path": ctx, "args": {"V": "2"}, "nocache": True})
    assert nocache.changed and "(no-cache)" in nocache.actions[0]


def test_build_options_are_checked(root, ctx):
    with pytest.raises(MyDockerError, match="needs option build with build.path"):
        image_plan.plan_image(root, "x", source="build")
    with pytest.raises(MyDockerError, match="unknown key bogus"):
        image_plan.plan_image(root, "x", source="build", build={"path": ctx, "bogus": 1})
    with pytest.raises(MyDockerError, match="option build needs source=build"):
        image_plan.plan_image(root, "x", source="/some/file.tar", build={"path": ctx})


def test_load_predicts_every_image_of_the_archive(root, tmp_path):
    images.tag(root, "base", "me/other:2")
    arch = str(tmp_path / "a.tar")
    save.save(root, ["base", "me/other:2"], arch)
    fresh = str(tmp_path / "fresh")
    plan = image_plan.plan_image(fresh, "me/other:2", source="load", load_path=arch)
    assert plan.changed and plan.actions == ["load: %s (new or changed: base, me/other:2)" % arch]
    rec = image_plan.apply(plan)
    assert rec["name"] == "me/other:2" and images.image_exists(fresh, "base")
    again = image_plan.plan_image(fresh, "me/other:2", source="load", load_path=arch)
    assert not again.changed
    forced = image_plan.plan_image(fresh, "me/other:2", source="load", load_path=arch, force=True)
    assert forced.changed
    with pytest.raises(MyDockerError, match=r"image nothere is not in archive .* \(it has base:latest, me/other:2\)"):
        image_plan.plan_image(fresh, "nothere", source="load", load_path=arch)
    with pytest.raises(MyDockerError, match="needs option load_path"):
        image_plan.plan_image(fresh, "base", source="load")
