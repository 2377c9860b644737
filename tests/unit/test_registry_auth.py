"""engine.auth: the Docker client's config.json format, mode 0600, where the file is."""
import base64
import json
import os

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import auth
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.delenv("MYDOCKER_CONFIG", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    return str(tmp_path / "root")


def test_save_get_remove(root):
    assert auth.get(root, "127.0.0.1:5000") is None
    assert auth.save(root, "127.0.0.1:5000", "alice", "pw:with colon") is True
    path = os.path.join(root, "auth", "config.json")
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700
    with open(path) as f:
        data = json.load(f)
    assert base64.b64decode(data["auths"]["127.0.0.1:5000"]["auth"]) == b"alice:pw:with colon"
    assert auth.get(root, "127.0.0.1:5000") == ("alice", "pw:with colon")
    assert auth.get(root, "http://127.0.0.1:5000/v2/") == ("alice", "pw:with colon")
    assert auth.save(root, "127.0.0.1:5000", "alice", "pw:with colon") is False   # no change
    assert auth.remove(root, "127.0.0.1:5000") is True
    assert auth.remove(root, "127.0.0.1:5000") is False
    assert auth.get(root, "127.0.0.1:5000") is None


def test_other_keys_kept_and_hub_key(root):
    os.makedirs(os.path.join(root, "auth"))
    with open(os.path.join(root, "auth", "config.json"), "w") as f:
        json.dump({"credsStore": "x", "auths": {"other:1": {"auth": base64.b64encode(b"u:p").decode()}}}, f)
    auth.save(root, "docker.io", "me", "secret")
    with open(os.path.join(root, "auth", "config.json")) as f:
        data = json.load(f)
    assert data["credsStore"] == "x" and set(data["auths"]) == {"other:1", auth.HUB_KEY}
    assert auth.get(root, "index.docker.io") == ("me", "secret")
    assert auth.get(root, "other:1") == ("u", "p")


def test_mydocker_config_env_and_docker_fallback(root, tmp_path, monkeypatch):
    d = tmp_path / "docker"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"auths": {"https://reg.example:443": {
        "auth": base64.b64encode(b"dk:dpw").decode()}}}))
    assert auth.get(root, "reg.example:443") == ("dk", "dpw")   # read from Docker's file
    assert auth.stored(root, "reg.example:443") is None         # not ours
    monkeypatch.setenv("MYDOCKER_CONFIG", str(tmp_path / "mine"))
    auth.save(root, "reg.example:443", "me", "mine")
    assert os.path.exists(str(tmp_path / "mine" / "config.json"))
    assert auth.get(root, "reg.example:443") == ("me", "mine")
    assert json.loads((d / "config.json").read_text())["auths"]["https://reg.example:443"]  # never written


def test_bad_input(root):
    for args in (("r:1", "", "p"), ("r:1", "a:b", "p"), ("r:1", "a", "")):
        with pytest.raises(MyDockerError):
            auth.save(root, *args)
    with pytest.raises(MyDockerError):
        auth.key_of("")
    assert not os.path.exists(os.path.join(root, "auth", "config.json"))
    os.makedirs(os.path.join(root, "auth"))
    with open(os.path.join(root, "auth", "config.json"), "w") as f:
        f.write("{not json")
    with pytest.raises(MyDockerError, match="cannot read the credentials file"):
        auth.get(root, "r:1")
