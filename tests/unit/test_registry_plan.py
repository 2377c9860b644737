"""The planners' registry paths without a registry: what must not ask one (a present image
without force_source, a login already stored, the container's pull=never) and bad input.
127.0.0.1:9 (nothing listens) is the registry: a planner that asked it would fail."""
import io
import tarfile

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import auth, images
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import image as image_plan
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import imagepull
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import login as login_plan

REF = "127.0.0.1:9/team/app:1"


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.delenv("MYDOCKER_CONFIG", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    return str(tmp_path / "root")


@pytest.fixture
def present(root, tmp_path):
    path = str(tmp_path / "r.tar")
    with tarfile.open(path, "w") as tf:
        ti = tarfile.TarInfo("etc/x")
        ti.size = 2
        tf.addfile(ti, io.BytesIO(b"x\n"))
    images.import_image(root, path, REF)
    return REF


def test_present_image_is_not_asked_for_without_force_source(root, present):
    plan = image_plan.plan_image(root, present, source="pull")
    assert plan.steps == []
    with pytest.raises(MyDockerError, match="cannot reach registry 127.0.0.1:9"):
        image_plan.plan_image(root, present, source="pull", force_source=True)


def test_pull_options_checked(root, present):
    with pytest.raises(MyDockerError, match="invalid platform"):
        image_plan.plan_image(root, present, source="pull", platform="amd64")
    with pytest.raises(MyDockerError, match="registry_username and registry_password go together"):
        image_plan.plan_image(root, present, source="pull", registry_username="u")
    with pytest.raises(MyDockerError, match="option push only applies to state=present"):
        image_plan.plan_image(root, present, state="absent", push=True)
    with pytest.raises(MyDockerError, match="needs a tag, not a digest"):
        image_plan.plan_image(root, "127.0.0.1:9/team/app@sha256:" + "a" * 64, source="pull", push=True)


def test_password_never_in_steps_or_diff(root, present):
    with pytest.raises(MyDockerError, match="cannot reach registry"):
        image_plan.plan_image(root, present, push=True, registry_username="u", registry_password="hunter2")
    auth.save(root, "127.0.0.1:9", "u", "hunter2")
    plan = login_plan.plan_login(root, "127.0.0.1:9", username="u", password="hunter2")
    assert plan.steps == [] and "hunter2" not in repr((plan.before, plan.after, plan.steps))
    plan = login_plan.plan_login(root, "http://127.0.0.1:9/", state="absent")
    assert [s.op for s in plan.steps] == ["logout"] and plan.after["loggedIn"] is False
    login_plan.apply(plan)
    assert auth.stored(root, "127.0.0.1:9") is None
    with pytest.raises(MyDockerError, match="cannot reach registry"):   # a new login is checked first
        login_plan.plan_login(root, "127.0.0.1:9", username="u", password="other")
    with pytest.raises(MyDockerError, match="needs username and password"):
        login_plan.plan_login(root, "127.0.0.1:9", username="u")


def test_container_pull_policy(root, present):
    class F:
        pass
    facts = F()
    assert imagepull.image_for(root, present, None, facts)["name"] == images.read_image(root, present)["name"]
    assert imagepull.image_for(root, present, "missing", facts)["name"]   # here: no registry asked
    assert not getattr(facts, "pull", None)
    with pytest.raises(MyDockerError, match="cannot reach registry"):
        imagepull.image_for(root, present, "always", facts)
    with pytest.raises(MyDockerError, match="is not one of missing, always, never"):
        imagepull.image_for(root, present, "sometimes", facts)
    with pytest.raises(MyDockerError, match="not found"):
        imagepull.image_for(root, "127.0.0.1:9/team/none:1", "never", facts)
