"""imagestore: references, tags and the SPEC 1.3 records read as they are (no root needed)."""
import json
import os
import tarfile

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import images
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError, NotFound


def make_tar(path, files):
    with tarfile.open(path, "w") as tf:
        for name, text in files.items():
            p = path + ".src"
            with open(p, "w") as f:
                f.write(text)
            tf.add(p, name)
            os.unlink(p)
    return path


@pytest.fixture
def root(tmp_path):
    return str(tmp_path / "root")


def test_tags_share_one_image_and_the_last_one_removes_it(root, tmp_path):
    tar = make_tar(str(tmp_path / "a.tar"), {"hello": "a"})
    rec, changed = images.import_image(root, tar, "app")
    assert changed and rec["repoTags"] == ["app:latest"] and rec["name"] == "app"
    assert os.path.exists(os.path.join(root, "image", "app.json"))  # SPEC 1.3 file kept
    images.tag(root, "app", "me/app:v1")
    images.tag(root, rec["id"], "registry.example:5000/app")  # by ID
    assert sorted(images.read_image(root, "docker.io/me/app:v1")["repoTags"]) == \
        ["app:latest", "me/app:v1", "registry.example:5000/app:latest"]
    rows = images.list_images(root)
    assert [(r["repository"], r["tag"]) for r in rows] == \
        [("app", "latest"), ("me/app", "v1"), ("registry.example:5000/app", "latest")]
    assert len(set(r["id"] for r in rows)) == 1
    images.remove_image(root, "app")
    assert not os.path.exists(os.path.join(root, "image", "app.json"))
    assert images.image_exists(root, "me/app:v1") and not images.image_exists(root, "app")
    layer = images.read_image(root, "me/app:v1")["layerPath"]
    images.remove_image(root, "me/app:v1")
    assert os.path.isdir(layer)
    images.remove_image(root, "registry.example:5000/app")
    assert not os.path.exists(layer) and images.list_images(root) == []
    with pytest.raises(NotFound):
        images.remove_image(root, "app")


def test_a_tag_moved_away_drops_the_untagged_image(root, tmp_path):
    a = make_tar(str(tmp_path / "a.tar"), {"hello": "a"})
    b = make_tar(str(tmp_path / "b.tar"), {"hello": "b"})
    ra = images.import_image(root, a, "x:1")[0]
    images.import_image(root, b, "y")
    images.tag(root, "y", "x:1")
    assert images.read_image(root, "x:1")["digest"] != ra["digest"]
    assert not os.path.exists(ra["layerPath"])
    with pytest.raises(MyDockerError, match="a tag cannot have a digest"):
        images.tag(root, "y", "y@sha256:" + "0" * 64)


def test_a_spec13_record_with_a_name_that_is_no_reference(root):
    layers = os.path.join(root, "image", "layers", "0123456789abcdef")
    os.makedirs(layers)
    rec = {"name": "MyImg", "id": "0123456789ab", "digest": "sha256:" + "0123456789abcdef" * 4,
           "layer": "0123456789abcdef", "created": "2025-01-01 00:00:00", "size": 0, "config": {}}
    with open(os.path.join(root, "image", "MyImg.json"), "w") as f:
        json.dump(rec, f)
    got = images.get_image(root, "MyImg")
    assert got["layerPath"] == layers and got["layers"] == ["0123456789abcdef"]
    assert [(r["repository"], r["tag"]) for r in images.list_images(root)] == [("MyImg", "latest")]
    images.remove_image(root, "MyImg")
    assert not os.path.exists(layers) and not images.image_exists(root, "MyImg")
