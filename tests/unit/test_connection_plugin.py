# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection plugin without containers: argument lists, messages, and the pipe plumbing of
exec_command/put_file/fetch_file against a stand-in for the engine's exec that runs the command on
this host the way the engine does (an intermediate process that keeps every inherited fd)."""

import json
import os
import signal

import pytest

pytest.importorskip("ansible")

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.playbook.play_context import PlayContext

from ansible_collections.mydocker.runtime.plugins.connection import mydocker as plugin
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError, NotFound


def test_build_argv_root_and_user():
    assert plugin.build_argv("echo hi") == ["/bin/sh", "-c", "echo hi"]
    assert plugin.build_argv("echo hi", "root", "/bin/bash") == ["/bin/bash", "-c", "echo hi"]
    assert plugin.build_argv("echo hi", None, None) == ["/bin/sh", "-c", "echo hi"]
    assert plugin.build_argv("id", "app") == ["su", "-s", "/bin/sh", "app", "-c", "id"]


def test_transfer_argv_quotes_for_su_only():
    path = "/tmp/a b;$(x)"
    assert plugin.transfer_argv("in", path) == ["dd", "of=" + path, "bs=65536"]
    assert plugin.transfer_argv("out", path) == ["dd", "if=" + path, "bs=65536"]
    argv = plugin.transfer_argv("in", path, "app")
    assert argv[:5] == ["su", "-s", "/bin/sh", "app", "-c"]
    assert argv[5] == "dd 'of=/tmp/a b;$(x)' bs=65536"
    with pytest.raises(ValueError):
        plugin.transfer_argv("sideways", path)


def test_exec_env():
    assert plugin.exec_env(None) == {"HOME": "/root"}
    assert plugin.exec_env("root") == {"HOME": "/root"}
    assert plugin.exec_env("app") == {}


def test_describe_state():
    assert plugin.describe_state("web", "/r", {"status": "running"}) is None
    assert plugin.describe_state("web", "/r", None) == "mydocker: no container 'web' in the state root /r"
    msg = plugin.describe_state("web", "/r", {"status": "exited"})
    assert msg == "mydocker: container web is not running (status exited)"
    assert "\n" not in msg


def test_parse_report():
    assert plugin.parse_report(b"") == (None, None)
    assert plugin.parse_report(b"127 sh: not found") == (127, "sh: not found")
    assert plugin.parse_report(b"- container x is not running") == (None, "container x is not running")


# ---------------------------------------------------------------- plumbing with a stand-in engine

class FakeEngine:
    """containers.inspect / exec_start / exec_wait, running argv on this host. exec_start runs in
    the plugin's helper process, so it records its calls in a file."""

    def __init__(self, log, status="running", start_error=None):
        self.log = str(log)
        self.status = status
        self.start_error = start_error

    @property
    def calls(self):
        with open(self.log) as f:
            return [tuple(json.loads(line)) for line in f]

    def inspect(self, root, ref):
        if ref == "missing":
            raise NotFound("no such container: %s" % ref)
        return {"id": "1234567890", "name": ref, "status": self.status}

    def exec_start(self, root, ref, argv, stdio=(0, 1, 2), console=None, env=None, workdir=None):
        with open(self.log, "a") as f:
            f.write(json.dumps([root, ref, list(argv), dict(env or {})]) + "\n")
        if self.start_error is not None:
            raise self.start_error
        argv = self.translate(argv)
        # like the engine: an intermediate child that keeps every fd it inherited
        mid = os.fork()
        if mid == 0:
            inner = os.fork()
            if inner == 0:
                for i, fd in enumerate(stdio):
                    os.dup2(fd, i)
                os.execvp(argv[0], argv)
            status = os.waitpid(inner, 0)[1]
            os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
        return mid

    @staticmethod
    def exec_wait(pid):
        status = os.waitpid(pid, 0)[1]
        return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)

    @staticmethod
    def translate(argv):
        """dd as the container would run it, with this host's dd."""
        return list(argv)


@pytest.fixture
def conn(monkeypatch, tmp_path):
    engine = FakeEngine(tmp_path / "calls.log")
    monkeypatch.setattr(plugin, "containers", engine)
    monkeypatch.setattr(plugin.os, "geteuid", lambda: 0)
    c = plugin.Connection(PlayContext(), None)
    options = {"remote_addr": "web", "mydocker_root": "/tmp/mydocker-unit-root", "remote_user": None,
               "pipelining": False}
    monkeypatch.setattr(c, "get_option", lambda name, hostvars=None: options[name])
    c.engine = engine
    c.options = options
    return c


def test_exec_command_status_streams_and_env(conn):
    rc, out, err = conn.exec_command("echo out; echo err >&2; exit 3")
    assert (rc, out, err) == (3, b"out\n", b"err\n")
    root, ref, argv, env = conn.engine.calls[-1]
    assert root == "/tmp/mydocker-unit-root" and ref == "web"
    assert argv == ["/bin/sh", "-c", "echo out; echo err >&2; exit 3"]
    assert env == {"HOME": "/root"}


def test_exec_command_stdin_reaches_eof(conn):
    # pipelining: the command reads stdin to its end; it only ends when the helper did not
    # leak the controller's end of the pipe into the intermediate process
    data = b"x" * (3 * 65536 + 17)

    def hung(signum, frame):
        raise AssertionError("the command never saw the end of its stdin")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        rc, out, err = conn.exec_command("wc -c", in_data=data)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert rc == 0
    assert out.strip() == str(len(data)).encode()


def test_exec_command_as_user_goes_through_su(conn):
    conn.options["remote_user"] = "app"
    conn.engine.translate = lambda argv: ["/bin/sh", "-c", "echo " + " ".join(argv[:4])]
    rc, out, err = conn.exec_command("id")
    assert conn.engine.calls[-1][2] == ["su", "-s", "/bin/sh", "app", "-c", "id"]
    assert conn.engine.calls[-1][3] == {}
    assert out == b"su -s /bin/sh app\n"


def test_exec_command_missing_and_stopped_container(conn):
    conn.options["remote_addr"] = "missing"
    with pytest.raises(AnsibleConnectionFailure, match=r"no container 'missing' in the state root"):
        conn.exec_command("true")
    conn.options["remote_addr"] = "web"
    conn.engine.status = "exited"
    with pytest.raises(AnsibleConnectionFailure, match=r"container web is not running \(status exited\)"):
        conn.exec_command("true")


def test_exec_command_not_started(conn):
    conn.engine.start_error = MyDockerError("/bin/sh: executable file not found in $PATH", code=127)
    rc, out, err = conn.exec_command("true")
    assert rc == 127
    assert b"executable file not found" in err
    conn.engine.start_error = MyDockerError("cannot enter the container: gone")
    with pytest.raises(AnsibleConnectionFailure, match="cannot exec in container web: cannot enter"):
        conn.exec_command("true")


def test_put_and_fetch_stream_through_dd(conn, tmp_path):
    if not any(os.access(os.path.join(d, "dd"), os.X_OK) for d in os.environ.get("PATH", "").split(":")):
        pytest.skip("no dd on this host")
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(1024 * 1024 + 3))
    remote = tmp_path / "remote.bin"
    conn.put_file(str(src), str(remote))
    assert conn.engine.calls[-1][2] == ["dd", "of=%s" % remote, "bs=65536"]
    assert remote.read_bytes() == src.read_bytes()
    back = tmp_path / "back.bin"
    conn.fetch_file(str(remote), str(back))
    assert conn.engine.calls[-1][2] == ["dd", "if=%s" % remote, "bs=65536"]
    assert back.read_bytes() == src.read_bytes()


def test_put_missing_local_file(conn, tmp_path):
    with pytest.raises(AnsibleFileNotFound):
        conn.put_file(str(tmp_path / "nope"), "/tmp/x")


def test_fetch_missing_remote_file_removes_partial(conn, tmp_path):
    dest = tmp_path / "dest"
    with pytest.raises(AnsibleError, match="failed to read /nonexistent/x in container web"):
        conn.fetch_file("/nonexistent/x", str(dest))
    assert not dest.exists()


def test_relative_paths_are_from_the_container_root(conn):
    assert conn._prefix_login_path("etc/passwd") == "/etc/passwd"
    assert conn._prefix_login_path("/a/../b") == "/b"
    assert conn._prefix_login_path("/tmp/dir/") == "/tmp/dir/"


class FakeBecome:
    """What the plugin uses of a become plugin that asks for a password."""

    success = "BECOME-SUCCESS-abc"

    def expect_prompt(self):
        return True

    def check_success(self, data):
        return self.success.encode() in data

    def check_password_prompt(self, data):
        return b"Password:" in data

    def get_option(self, name):
        assert name == "become_pass"
        return "s3cret"


def test_become_password_is_sent_and_the_preamble_dropped(conn):
    conn.become = FakeBecome()
    cmd = "printf 'Password:'; read p; echo BECOME-SUCCESS-abc; echo got=$p; cat"
    rc, out, err = conn.exec_command(cmd, in_data=b"module\n", sudoable=True)
    assert rc == 0
    assert out == b"got=s3cret\nmodule\n"


def test_become_without_sudoable_sends_nothing(conn):
    conn.become = FakeBecome()
    rc, out, err = conn.exec_command("echo plain", sudoable=False)
    assert (rc, out) == (0, b"plain\n")
