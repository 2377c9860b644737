"""reference: Docker's parsing and normalisation of image references."""
import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import reference as R
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError

D = "sha256:" + "ab" * 32


@pytest.mark.parametrize("ref,full,familiar", [
    ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
    ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("me/app", "docker.io/me/app:latest", "me/app:latest"),
    ("localhost/app:v1", "localhost/app:v1", "localhost/app:v1"),
    ("localhost:5000/a/b/c:2", "localhost:5000/a/b/c:2", "localhost:5000/a/b/c:2"),
    ("registry.example.com/team/app", "registry.example.com/team/app:latest", "registry.example.com/team/app:latest"),
    ("app@" + D, "docker.io/library/app@" + D, "app@" + D),
    ("app:v1@" + D, "docker.io/library/app:v1@" + D, "app:v1@" + D),
    ("a_b.c-d__e", "docker.io/library/a_b.c-d__e:latest", "a_b.c-d__e:latest"),
])
def test_normalise(ref, full, familiar):
    r = R.parse(ref)
    assert str(r) == full and R.normalize(ref) == full
    assert r.familiar == familiar == R.familiar(full)


@pytest.mark.parametrize("ref,why", [
    ("", "empty"), ("Busybox", "lowercase"), ("a//b", "repository path"), ("-x", "repository path"),
    (".hidden", "repository path"), ("../x", "bad registry"), ("x:", "tag"), ("x:-t", "tag"),
    ("x@sha256:12", "digest"), ("a:b:c", "repository path"), (":tag", "no repository"),
    ("x" * 300, "longer than"),
])
def test_invalid(ref, why):
    with pytest.raises(MyDockerError, match="invalid image name") as e:
        R.parse(ref)
    assert why in str(e.value) and "\n" not in str(e.value)


def test_legacy_name_is_only_for_official_latest():
    assert R.parse("busybox").legacy_name == "busybox"
    assert R.parse("docker.io/library/busybox:latest").legacy_name == "busybox"
    assert R.parse("busybox:v1").legacy_name is None
    assert R.parse("me/app").legacy_name is None
    assert R.parse("localhost/app").legacy_name is None


def test_filter_patterns():
    assert R.matches("busybox", "busybox")
    assert R.matches("busy*", "docker.io/library/busybox:1")
    assert R.matches("busybox:*", "busybox:1")
    assert not R.matches("alpine", "busybox")
    assert R.looks_like_id("0123456789ab") and not R.looks_like_id("busybox")
