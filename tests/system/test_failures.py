"""Bad input gets one clear line and a non-zero exit, and changes nothing (SPEC 5)."""
import os

import pytest
from conftest import leftovers


def assert_clean_failure(md, p, words):
    assert p.returncode != 0
    lines = p.err.strip().splitlines()
    assert len(lines) == 1, p.err
    assert lines[0].startswith("mydocker: ")
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert md.ids() == []
    assert os.listdir(os.path.join(md.root, "overlay2")) == []
    assert leftovers(md.root) == []


@pytest.mark.parametrize("args,words", [
    (["run", "nosuchimage", "true"], ["image nosuchimage not found"]),
    (["run", "../etc", "true"], ["invalid image name"]),
    (["run", "--name", "../escape", "busybox", "true"], ["invalid container name"]),
    (["run", "--name", "a/b", "busybox", "true"], ["invalid container name"]),
    (["run", "-v", "/:/host", "busybox", "true"], ["host's / cannot be a volume"]),
    (["run", "-v", "/tmp:/../../etc", "busybox", "true"], ["inside the container"]),
    # "relative:/x" names a volume since issue 11 (as Docker); a name that climbs out does not
    (["run", "-v", "../relative:/x", "busybox", "true"], ["absolute"]),
    (["run", "-v", "/a:/b:/c:/d", "busybox", "true"], ["invalid volume"]),
    (["run", "-e", "=x", "busybox", "true"], ["invalid environment variable"]),
    (["run", "--restart", "sometimes", "busybox", "true"], ["invalid restart policy"]),
    (["run", "--rm", "--restart", "always", "busybox", "true"], ["--rm"]),
    (["run", "-w", "relative", "busybox", "true"], ["working directory"]),
    (["run", "--hostname", "bad_host!", "busybox", "true"], ["invalid hostname"]),
    (["run", "busybox", "nosuchcommand"], ["nosuchcommand", "not found"]),
    (["run", "-d", "busybox", "nosuchcommand"], ["nosuchcommand", "not found"]),
    (["run", "-w", "/bin/busybox", "busybox", "true"], []),
    (["run", "busybox"], ["COMMAND"]),
    (["run", "-p", "8080:80", "busybox", "true"], ["network"]),
])
def test_run_refuses_and_leaves_nothing(md, args, words):
    assert_clean_failure(md, md(*args, check=False), words)


@pytest.mark.parametrize("cmd", [["stop"], ["start"], ["rm"], ["rm", "-f"], ["logs"], ["inspect"],
                                 ["exec", "{}", "true"], ["restart"], ["commit", "{}", "img"]])
def test_unknown_container(md, cmd):
    args = [c.replace("{}", "ghost") for c in cmd]
    if "ghost" not in args:
        args.append("ghost")
    p = md(*args, check=False)
    assert p.returncode != 0 and "no such container: ghost" in p.err


def test_duplicate_name_is_refused(md):
    md("run", "-d", "--name", "dup", "busybox", "sleep", "100")
    p = md("run", "-d", "--name", "dup", "busybox", "sleep", "100", check=False)
    assert p.returncode != 0 and "already in use" in p.err
    assert len(md.ids()) == 1


def test_failed_start_of_existing_container_keeps_it(md, tmp_path):
    md("run", "--name", "willbreak", "busybox", "true")
    # remove the image's layer out from under it: start must fail cleanly
    rec = md.inspect("willbreak")
    lower = os.path.join(md.root, "overlay2", rec["id"], "lower")
    target = os.readlink(lower)
    os.rename(target, target + ".away")
    try:
        p = md("start", "willbreak", check=False)
        assert p.returncode != 0 and "missing" in p.err
        assert md.inspect("willbreak")["status"] == "exited"
        assert rec["id"] in md.ids()
    finally:
        os.rename(target + ".away", target)
    md("start", "willbreak")


def test_missing_command_exits_127_like_a_shell(md):
    assert md("run", "--rm", "busybox", "nosuch", check=False).returncode == 127
    assert md("run", "-d", "busybox", "nosuch", check=False).returncode == 127
    md("run", "-d", "--name", "t127", "busybox", "sleep", "100")
    assert md("exec", "t127", "nosuch", check=False).returncode == 127
    assert md("exec", "t127", "/etc/hostname", check=False).returncode == 126
