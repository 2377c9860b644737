"""The pure parts of ``mydocker system service``'s client: which commands are handed over, the
request's wire format, and the context a service compares with its own.
(tests/system/test_service.py runs real commands through a real service.)"""
import os

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.cli import service_client as sc
from ansible_collections.mydocker.runtime.plugins.module_utils.cli.main import GROUP


@pytest.mark.parametrize("argv,root", [
    (["run", "-d", "busybox", "true"], "/var/lib/mydocker"),
    (["--root", "/x", "ps", "-a"], "/x"),
    (["--root=/y/../z", "rm", "-f", "c"], "/z"),
    (["run", "-d", "-p", "8080:80", "--name", "web", "img", "httpd", "-f"], "/var/lib/mydocker"),
    (["network", "ls"], "/var/lib/mydocker"),
])
def test_handed_over(argv, root, monkeypatch):
    monkeypatch.delenv("MYDOCKER_ROOT", raising=False)
    assert sc.servable(argv) == root


@pytest.mark.parametrize("argv", [
    [], ["--root"], ["--help"], ["-x", "ps"],
    ["run", "-it", "busybox", "sh"], ["run", "-i", "busybox"], ["run", "--tty", "busybox"],
    ["run", "--interactive=true", "busybox"], ["start", "-a", "c"], ["start", "--attach", "c"],
    ["run", "--help"], ["ps", "-h"],
    ["exec", "c", "true"], ["build", "."], ["pull", "x"], ["system", "service", "stop"], ["prune"], ["help", "run"],
])
def test_run_by_the_caller(argv):
    assert sc.servable(argv) is None


def test_root_from_the_environment(monkeypatch):
    monkeypatch.setenv("MYDOCKER_ROOT", "/srv/md")
    assert sc.servable(["ps"]) == "/srv/md"
    assert sc.servable(["--root", "/other", "ps"]) == "/other"


def test_served_commands_exist():
    assert sc.SERVED <= set(GROUP)
    assert not sc.SERVED & {"exec", "system", "prune", "build", "pull", "push", "login", "logout", "save", "load"}


def test_request_round_trip():
    argv = ["run", "-e", "A=b=c", "--name", "n\u00e9", "img", "sh", "-c", "echo $A", "\udcff"]
    env = {"PATH": "/bin", "EMPTY": "", "X": "1=2", "BYTES": "\udce9"}
    data = sc.encode(argv, "/tmp/d\u00ef", b"ctx\nlines", env)
    assert int(data[:10]) == len(data) - 10
    assert sc.decode(data[10:]) == (argv, "/tmp/d\u00ef", b"ctx\nlines", env)


def test_request_of_another_version():
    data = sc.encode(["ps"], "/", b"", {})[10:].replace(sc.VERSION, b"mydocker-service-0")
    with pytest.raises(ValueError):
        sc.decode(data)


def test_context_follows_umask_and_is_stable():
    a = sc.context()
    assert a == sc.context()
    old = os.umask(0o077)
    try:
        assert sc.context() != a
    finally:
        os.umask(old)
    assert sc.context() == a
    assert b"Max open files" in a and b"CapEff:" in a


def test_no_service_means_none(tmp_path, monkeypatch):
    monkeypatch.setenv("MYDOCKER_ROOT", str(tmp_path))
    assert sc.run(["ps"]) is None                      # no socket there
    monkeypatch.setenv("MYDOCKER_SERVICE", "0")
    assert sc.run(["ps"]) is None
