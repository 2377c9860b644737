# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: mydocker
short_description: Run tasks in mydocker containers
version_added: 0.1.0
description:
  - Runs tasks inside a running mydocker container through the runtime's own exec (the container's
    namespaces, root filesystem and cgroup), the way M(mydocker.runtime.mydocker_container_exec) and
    C(mydocker exec) do. No daemon, socket or SSH is involved.
  - The plugin runs on the controller and calls the mydocker engine of the controller directly, so
    it reaches only containers of the machine Ansible runs on. For containers of another host, run
    Ansible on that host (for example a play on it that runs C(ansible-playbook) there), or delegate
    to that host with M(mydocker.runtime.mydocker_container_exec). It needs the privileges the
    engine needs (root).
  - Commands run as C(/bin/sh -c CMD) (the shell is the play's C(ansible_shell_executable)), with
    the container's environment plus C(HOME); the exit status is the command's.
  - Files are copied by an exec'd C(dd) in the container, which reads the local file as its stdin
    (or writes its stdout into the local file), so the data never passes through the controller's
    memory as a whole and paths, symlinks included, are resolved inside the container's root only.
    The container needs C(/bin/sh) and C(dd) (busybox has both).
author:
  - mydocker.runtime contributors (@mydocker)
extends_documentation_fragment:
  - connection_pipelining
options:
  remote_addr:
    description:
      - The name or ID of the container.
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
      - name: mydocker_container
      - name: ansible_mydocker_container
  remote_user:
    description:
      - The user in the container the commands run as. Without it (or as C(root)), they run as
        the container's root.
      - The runtime's exec has no user option, so for another user the command runs through the
        container's C(su) (C(su -s SHELL USER -c CMD)); the user must be in the container's
        C(/etc/passwd) and C(su) must be there (busybox and util-linux C(su) work for root
        without a password).
    type: str
    vars:
      - name: ansible_user
      - name: ansible_mydocker_user
    env:
      - name: ANSIBLE_REMOTE_USER
    ini:
      - section: defaults
        key: remote_user
    keyword:
      - name: remote_user
  mydocker_root:
    description:
      - The runtime's state root on the controller.
      - Without it, E(MYDOCKER_ROOT), else C(/var/lib/mydocker).
    type: path
    env:
      - name: MYDOCKER_ROOT
    vars:
      - name: ansible_mydocker_root
notes:
  - Exec'd commands run with the container's capability set and C(no_new_privs), as C(mydocker exec)
    does, so C(become) cannot gain privileges from a non-root O(remote_user) (C(sudo) and a
    set-uid C(su) are refused). Become from root to another user (C(become_method=su),
    C(become_user=USER)) works.
  - Containers without Python (busybox) can still run M(ansible.builtin.raw) and
    M(ansible.builtin.script) tasks; other modules need a Python in the container.
seealso:
  - module: mydocker.runtime.mydocker_container_exec
  - plugin: mydocker.runtime.mydocker_containers
    plugin_type: inventory
"""

EXAMPLES = r"""
# inventory.ini
#   [containers]
#   web1 ansible_connection=mydocker.runtime.mydocker
#   db ansible_connection=mydocker.runtime.mydocker mydocker_container=6696563329
#   [containers:vars]
#   ansible_mydocker_root=/var/lib/mydocker

- name: Work inside a busybox container (no Python there)
  hosts: containers
  gather_facts: false
  tasks:
    - name: A command through the container's shell
      ansible.builtin.raw: uname -n; id -u

    - name: A script from the controller, copied in and run there
      ansible.builtin.script: files/configure.sh

- name: Use the connection for one task only
  hosts: localhost
  tasks:
    - name: In container web1
      ansible.builtin.raw: cat /etc/hostname
      delegate_to: web1
      vars:
        ansible_connection: mydocker.runtime.mydocker
"""

import errno
import os
import selectors
import shlex
import time

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

try:
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine import containers
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError, NotFound
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import resolve_root
except ImportError as exc:  # pragma: no cover - the engine ships with the collection
    containers = None
    ENGINE_IMPORT_ERROR = exc
else:
    ENGINE_IMPORT_ERROR = None

display = Display()

BUFSIZE = 65536
ROOT_USERS = (None, "", "root", "0")


# ---------------------------------------------------------------- pure helpers (unit-tested)

def build_argv(cmd, user=None, shell="/bin/sh"):
    """The argument list that runs the shell command ``cmd`` in the container as ``user``."""
    shell = shell or "/bin/sh"
    if user in ROOT_USERS:
        return [shell, "-c", cmd]
    return ["su", "-s", shell, user, "-c", cmd]


def transfer_argv(direction, path, user=None, shell="/bin/sh"):
    """The command that writes its stdin into ``path`` ("in") or copies ``path`` to its stdout ("out")."""
    if direction == "in":
        argv = ["dd", "of=" + path, "bs=%d" % BUFSIZE]
    elif direction == "out":
        argv = ["dd", "if=" + path, "bs=%d" % BUFSIZE]
    else:
        raise ValueError(direction)
    if user in ROOT_USERS:
        return argv
    return build_argv(" ".join(shlex.quote(a) for a in argv), user, shell)


def exec_env(user=None):
    """What the commands get on top of the container's environment."""
    if user in ROOT_USERS:
        return {"HOME": "/root"}
    return {}  # su sets HOME, USER, LOGNAME and SHELL for the user


def describe_state(name, root, record):
    """None when ``record`` (containers.inspect, or None when missing) is a running container,
    else a one-line reason."""
    if record is None:
        return "mydocker: no container %r in the state root %s" % (name, root)
    status = record.get("status")
    if status != "running":
        return "mydocker: container %s is not running (status %s)" % (name, status)
    return None


def _close(*fds):
    for fd in fds:
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


def _exec_in_child(root, name, argv, stdio, env, report_w):
    """Body of the helper process: start ``argv`` in the container with ``stdio`` and exit with
    its exit status. A failure to start is written to ``report_w`` as "<code> <message>".
    It never returns."""
    try:
        try:
            pid = containers.exec_start(root, name, argv, stdio=tuple(stdio), env=env)
        except MyDockerError as e:
            code = getattr(e, "code", None)
            msg = "%s %s" % (code if isinstance(code, int) else "-", e)
            os.write(report_w, msg.encode("utf-8", "replace")[:4000])
        except BaseException as e:  # noqa: B036 - everything must reach the parent
            os.write(report_w, ("- %s" % e).encode("utf-8", "replace")[:4000])
        else:
            os.close(report_w)
            os._exit(containers.exec_wait(pid))
    finally:
        os._exit(255)


def parse_report(raw):
    """(code or None, message) from what ``_exec_in_child`` reported; (None, None) for nothing."""
    if not raw:
        return None, None
    text = raw.decode("utf-8", "replace")
    code, dummy, msg = text.partition(" ")
    try:
        return int(code), msg
    except ValueError:
        return None, msg


class Connection(ConnectionBase):
    """Tasks in a mydocker container through the engine's exec."""

    transport = "mydocker.runtime.mydocker"
    has_pipelining = True

    def __init__(self, play_context, new_stdin, *args, **kwargs):
        super().__init__(play_context, new_stdin, *args, **kwargs)
        if ENGINE_IMPORT_ERROR is not None:
            raise AnsibleError("mydocker: cannot load the mydocker engine: %s" % ENGINE_IMPORT_ERROR)
        self._root = None
        self._name = None

    # ------------------------------------------------------------ connection

    def _settings(self):
        self._name = self.get_option("remote_addr")
        self._root = resolve_root(self.get_option("mydocker_root"))
        return self._root, self._name

    def _user(self):
        return self.get_option("remote_user")

    def _check_running(self):
        root, name = self._settings()
        if os.geteuid() != 0:
            raise AnsibleConnectionFailure("mydocker: the connection needs root on the controller "
                                           "(the engine enters the container's namespaces)")
        try:
            record = containers.inspect(root, name)
        except NotFound:
            record = None
        except MyDockerError as e:
            raise AnsibleConnectionFailure("mydocker: %s" % e)
        reason = describe_state(name, root, record)
        if reason:
            raise AnsibleConnectionFailure(reason)
        return record

    def _connect(self):
        if not self._connected:
            record = self._check_running()
            display.vvv("MYDOCKER: container %s (%s) in %s" % (self._name, record.get("id"), self._root),
                        host=self._name)
            self._connected = True
        return self

    def close(self):
        self._connected = False

    def reset(self):
        self.close()

    # ------------------------------------------------------------ exec

    def _start(self, argv, stdio, parent_fds=()):
        """Fork a helper that execs ``argv`` in the container with ``stdio`` (three fds) and exits
        with the command's status. Returns (helper pid, report fd).

        The engine forks the container process from the process that calls it, so it would
        inherit the controller's ends of the pipes (``parent_fds``) and stdin would never reach
        end of file. The helper closes them first."""
        report_r, report_w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            _close(report_r, report_w)
            raise
        if pid == 0:  # pragma: no cover - the child
            _close(report_r, *parent_fds)
            _exec_in_child(self._root, self._name, argv, stdio, exec_env(self._user()), report_w)
        os.close(report_w)
        return pid, report_r

    def _finish(self, pid, report_r):
        """Wait for the helper; (exit status, start failure or None)."""
        while True:
            try:
                status = os.waitpid(pid, 0)[1]
                break
            except InterruptedError:
                continue
        try:
            chunks = []
            while True:
                b = os.read(report_r, 4096)
                if not b:
                    break
                chunks.append(b)
        finally:
            os.close(report_r)
        code, msg = parse_report(b"".join(chunks))
        rc = 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        if msg is not None:
            return (code if code is not None else rc), msg
        return rc, None

    def _fail_start(self, code, msg):
        """A command that did not start: gone container -> connection failure, else (rc, stderr)."""
        if code in (126, 127):
            return code, b"", to_bytes(msg + "\n")
        self.close()
        self._check_running()
        raise AnsibleConnectionFailure("mydocker: cannot exec in container %s: %s" % (self._name, msg))

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        self._check_running()
        shell = self._play_context.executable or "/bin/sh"
        argv = build_argv(to_text(cmd, errors="surrogate_or_strict"), self._user(), shell)
        display.vvv("EXEC %s" % argv, host=self._name)

        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            pid, report_r = self._start(argv, (in_r, out_w, err_w), (in_w, out_r, err_r))
        except BaseException:
            _close(in_r, in_w, out_r, out_w, err_r, err_w)
            raise
        _close(in_r, out_w, err_w)
        try:
            stdout, stderr = self._communicate(in_w, out_r, err_r, in_data, sudoable)
        finally:
            _close(in_w, out_r, err_r)
            rc, msg = self._finish(pid, report_r)
        if msg is not None:
            return self._fail_start(rc, msg)
        return rc, stdout, stderr

    def _communicate(self, in_w, out_r, err_r, in_data, sudoable):
        """Feed ``in_data`` (after a become password when one is asked for) and collect the output."""
        out, err = bytearray(), bytearray()
        bufs = {out_r: out, err_r: err}
        sel = selectors.DefaultSelector()
        sel.register(out_r, selectors.EVENT_READ)
        sel.register(err_r, selectors.EVENT_READ)
        try:
            if sudoable and self.become and self.become.expect_prompt():
                self._become_handshake(sel, bufs, in_w, out)
            pending = memoryview(to_bytes(in_data)) if in_data else memoryview(b"")
            if pending:
                sel.register(in_w, selectors.EVENT_WRITE)
            else:
                _close(in_w)
                in_w = None
            while sel.get_map():
                for key, dummy in sel.select():
                    fd = key.fd
                    if fd == in_w:
                        try:
                            n = os.write(fd, pending[:BUFSIZE])
                        except BrokenPipeError:
                            n = len(pending)
                        pending = pending[n:]
                        if not pending:
                            sel.unregister(fd)
                            _close(fd)
                            in_w = None
                        continue
                    data = os.read(fd, BUFSIZE)
                    if data:
                        bufs[fd].extend(data)
                    else:
                        sel.unregister(fd)
        finally:
            sel.close()
            _close(in_w)
        return bytes(out), bytes(err)

    def _become_handshake(self, sel, bufs, in_w, out):
        """Read until become reports success or asks for the password (then send it)."""
        timeout = self._play_context.timeout or 10
        deadline = time.time() + timeout
        seen = bytearray()
        while not self.become.check_success(bytes(seen)):
            if self.become.check_password_prompt(bytes(seen)):
                password = self.become.get_option("become_pass") or ""
                os.write(in_w, to_bytes(password, errors="surrogate_or_strict") + b"\n")
                seen.clear()
                continue
            left = deadline - time.time()
            if left <= 0:
                raise AnsibleError("mydocker: timeout waiting for the privilege escalation prompt: %s"
                                   % to_native(bytes(seen)))
            events = sel.select(left)
            for key, dummy in events:
                data = os.read(key.fd, BUFSIZE)
                if not data:
                    raise AnsibleError("mydocker: privilege escalation failed: %s" % to_native(bytes(seen)))
                seen.extend(data)
        # what came after the success marker belongs to the command
        marker = to_bytes(self.become.success)
        idx = bytes(seen).find(marker)
        if idx >= 0:
            rest = bytes(seen)[idx + len(marker):].lstrip(b"\r\n")
            out.extend(rest)

    # ------------------------------------------------------------ files

    def _run_transfer(self, direction, remote, local_fd):
        """dd in the container with ``local_fd`` as its stdin (in) or stdout (out)."""
        argv = transfer_argv(direction, remote, self._user(), self._play_context.executable or "/bin/sh")
        err_r, err_w = os.pipe()
        null = os.open(os.devnull, os.O_RDWR)
        stdio = (local_fd, null, err_w) if direction == "in" else (null, local_fd, err_w)
        try:
            pid, report_r = self._start(argv, stdio, (err_r,))
        except BaseException:
            _close(err_r, err_w, null)
            raise
        _close(err_w, null)
        try:
            chunks = []
            while True:
                b = os.read(err_r, 4096)
                if not b:
                    break
                if sum(len(c) for c in chunks) < 65536:
                    chunks.append(b)
        finally:
            _close(err_r)
            rc, msg = self._finish(pid, report_r)
        if msg is not None:
            if rc in (126, 127):
                raise AnsibleError("mydocker: cannot copy files in container %s: %s" % (self._name, msg))
            self._fail_start(rc, msg)
        return rc, b"".join(chunks)

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        self._check_running()
        display.vvv("PUT %s TO %s" % (in_path, out_path), host=self._name)
        out_path = self._prefix_login_path(out_path)
        try:
            local_fd = os.open(to_bytes(in_path, errors="surrogate_or_strict"), os.O_RDONLY)
        except OSError as e:
            if e.errno == errno.ENOENT:
                raise AnsibleFileNotFound("mydocker: file or module does not exist: %s" % to_native(in_path))
            raise AnsibleError("mydocker: cannot read %s: %s" % (to_native(in_path), e.strerror))
        try:
            rc, err = self._run_transfer("in", out_path, local_fd)
        finally:
            os.close(local_fd)
        if rc != 0:
            raise AnsibleError("mydocker: failed to write %s in container %s (rc %d): %s"
                               % (out_path, self._name, rc, to_native(err).strip()))

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        self._check_running()
        display.vvv("FETCH %s TO %s" % (in_path, out_path), host=self._name)
        in_path = self._prefix_login_path(in_path)
        b_out = to_bytes(out_path, errors="surrogate_or_strict")
        try:
            local_fd = os.open(b_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as e:
            raise AnsibleError("mydocker: cannot write %s: %s" % (to_native(out_path), e.strerror))
        try:
            rc, err = self._run_transfer("out", in_path, local_fd)
        finally:
            os.close(local_fd)
        if rc != 0:
            try:
                os.unlink(b_out)
            except OSError:
                pass
            raise AnsibleError("mydocker: failed to read %s in container %s (rc %d): %s"
                               % (in_path, self._name, rc, to_native(err).strip()))

    def _prefix_login_path(self, path):
        """Relative paths are relative to / in the container (as docker's connection plugin does)."""
        if not path.startswith("/"):
            path = os.path.join("/", path)
        return os.path.normpath(path) if not path.endswith("/") else path
