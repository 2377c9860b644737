# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Containers: the one API the CLI and the Ansible modules call.

create / start / run / stop / restart / remove / list / inspect / exec / logs. Every operation
takes a name or an ID. Every failure undoes what the steps before it did. Records are read and
written through ``records``; ``create`` lives in ``create`` and is imported when first used
(``__getattr__``), as are the modules only starting a container needs (``monitor``, ``process``),
so ``ps``, ``inspect`` and ``rm`` load a third of the engine. ``commit`` (``commit.py``) and
``prune`` (``prune.py``) are their own modules, imported by their callers: an Ansible module's zip
holds every file the syntax tree of what it imports names, and ``mydocker_container`` needs
neither (with them it shipped seven more files, 41 kB of source, on every task).
"""

from __future__ import annotations

import os
import time

from . import imageconfig, lifecycle, records
from .errors import MyDockerError, NotFound
from .records import ACTIVE, EXITED, RUNNING, Record
from .validate import (  # noqa: F401  # parse_volume: this API too  # pylint: disable=unused-import
    check_auto_remove,
    parse_restart,
    parse_volume,
)
from .view import (  # noqa: F401  # the API, read side in view.py  # pylint: disable=unused-import
    _paths,
    exists,
    find,
    inspect,
    list_containers,
    parse_env,
    view,
)
from .workspace import complete, find_again, start_lock

TYPE_CHECKING = False  # typing is ~5 ms of every command's start: annotations only (postponed)
if TYPE_CHECKING:
    from typing import Any


def __getattr__(name):
    """``create`` (this API too) on first use: see the module doc."""
    if name == "create":  # spelled out: AnsiballZ packs what the syntax tree imports
        from .create import create
        return create
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


# ---------------------------------------------------------------- start / run

def start(root: str | None, ref: str, stdio: tuple[int, int, int] | None = None,
          console: int | None = None, attached: bool = False) -> tuple[int, Any]:
    """Start a created or stopped container. Returns (pid, notify file or None).

    ``stdio``: three fds for the container (attached runs); default: log file.
    ``console``: a unix socket fd; the container sends the master of its new pty on it.
    """
    paths = _paths(root)
    rec = find(paths, ref)
    cid = rec.id
    with start_lock(paths, rec):
        rec = find_again(paths, rec)
        if lifecycle.true_status(rec) in ACTIVE:
            raise MyDockerError("container %s is already running" % rec.name)
        if lifecycle.monitor_alive(rec):
            _wait_monitor(rec, 10)  # the monitor of the last run is still cleaning up
            rec = find_again(paths, rec)
            if lifecycle.true_status(rec) in ACTIVE:
                raise MyDockerError("container %s is already running" % rec.name)
            if lifecycle.monitor_alive(rec):
                raise MyDockerError("container %s is busy: its monitor (pid %s) is still starting or cleaning "
                                    "it up" % (rec.name, rec.monitor_pid))
        if lifecycle.half_made(rec) and not lifecycle.is_own_mark(rec, "creator"):
            if lifecycle.mark_alive(rec, "creator"):
                raise MyDockerError("container %s is still being created (by process %s)"
                                    % (rec.name, rec.get("creatorPid")))
            rec = complete(paths, rec)
        if not (lifecycle.is_own_mark(rec, "creator") and not rec.get("stopRequested")
                and not rec.get("restartCount") and not rec.get("error")):  # run: our creator mark covers it
            records.update(paths, cid, stopRequested=False, restartCount=0, error="",
                           **lifecycle.own_mark("starter"))
        from .monitor import REMOVING, start_monitor
        try:  # an rm -f that stopped the container but failed later: its mark must not outlive it
            os.unlink(os.path.join(paths.container_dir(cid), REMOVING))
        except FileNotFoundError:
            pass
        lock = _attach_lock(paths, rec) if attached else None
        try:
            pid, notify = start_monitor(paths, cid, stdio=stdio, console=console, attached=attached)
        except BaseException:
            if lock is not None:
                os.close(lock)
            raise
        return pid, (notify if lock is None else _Attached(notify, paths, cid, lock))


def _attach_lock(paths, rec):
    """For an attached ``--rm`` run without a restart policy: the flock of ``monitor.ATTACHED``
    (an fd; None when it cannot be had), held until the caller has finished the container
    (``_Attached.finish``). Close-on-exec; the monitor closes its copy as it detaches."""
    if not rec.auto_remove or rec.restart_policy.get("name", "no") != "no":
        return None
    import fcntl

    from .monitor import ATTACHED
    try:
        fd = os.open(os.path.join(paths.container_dir(rec.id), ATTACHED), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


class _Attached:
    """The notify file of an attached ``--rm`` run that holds ``monitor.ATTACHED``: on the
    waiter's ``handover <code>`` the caller removes the container itself, as the resumed monitor
    would (``Monitor.after``; ``lifecycle.remove_exited``), then lets the lock go (``close``)."""

    def __init__(self, notify, paths, cid, lock):
        self.notify, self.paths, self.cid, self.lock = notify, paths, cid, lock

    def readline(self):
        return self.notify.readline()

    def fileno(self):  # a terminal's proxy waits on it too (cli/console.py)
        return self.notify.fileno()

    def finish(self, code):
        """The exit code, or None when the restart policy (changed since?) says to start again:
        that is the monitor's work, which the waiter resumes once the lock is let go."""
        try:
            rec = records.read(self.paths, self.cid)
            if rec is None:  # removed meanwhile (rm -f)
                return code
            if rec.restart_policy.get("name", "no") != "no":
                return None
            rec = lifecycle.remove_exited(self.paths, self.cid, code)
        finally:
            self.release()
        return rec.get("exitCode", code) if rec else code

    def release(self):
        if self.lock is not None:
            os.close(self.lock)
            self.lock = None

    def close(self):
        try:
            self.notify.close()
        finally:
            self.release()


def run(root: str | None, image: str, command: list[str] | None = None, detach: bool = True,
        stdio: tuple[int, int, int] | None = None, console: int | None = None,
        **kwargs: Any) -> tuple[Record, int, Any]:
    """create + start; a failure at any step removes the container again."""
    from .create import create
    paths = _paths(root)
    rec = create(paths, image, command, _until_running=True, **kwargs)
    try:
        pid, notify = start(paths, rec.id, stdio=stdio, console=console, attached=not detach)
    except BaseException:
        # the record may be gone already (rm -f raced the start): its files go all the same
        lifecycle.remove_files(paths, records.read(paths, rec.id) or rec)
        raise
    rec = records.read(paths, rec.id) or rec
    return rec, pid, notify


def wait_exit(notify: Any) -> int:
    """Block until an attached container is done; returns its exit code."""
    try:
        while True:
            line = notify.readline().decode("utf-8", "replace").strip()
            if not line:
                return 255
            if line.startswith("exited "):
                return int(line.split()[1])
            if line.startswith("handover ") and isinstance(notify, _Attached):
                code = notify.finish(int(line.split()[1]))
                if code is not None:
                    return code
    finally:
        notify.close()


def _run_captured(start, wait):
    """``start(stdio)`` with stdin /dev/null and stdout/stderr into temporary files, then
    ``wait(what start returned)``. Returns (exit code, stdout bytes, stderr bytes)."""
    import tempfile  # captured runs only (~4 ms of every other command's start)
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        handle = start((null, out.fileno(), err.fileno()))
        os.close(null)
        null = None
        code = wait(handle)
        out.seek(0)
        err.seek(0)
        return code, out.read(), err.read()
    finally:
        if null is not None:
            os.close(null)
        out.close()
        err.close()


def start_and_wait(root: str | None, ref: str) -> tuple[int, bytes, bytes]:
    """Start a created or stopped container attached and wait until it is done (restart policy
    included). Returns (exit code, stdout bytes, stderr bytes); stdin is /dev/null."""
    return _run_captured(lambda stdio: start(root, ref, stdio=stdio, attached=True)[1], wait_exit)


def exec_and_wait(root: str | None, ref: str, argv: list[str], env: Any = None,
                  workdir: str | None = None, user: str | None = None) -> tuple[int, bytes, bytes]:
    """``exec_start`` then ``exec_wait``: (exit code, stdout bytes, stderr bytes)."""
    return _run_captured(lambda stdio: exec_start(root, ref, argv, stdio=stdio, env=env, workdir=workdir,
                                                  user=user), exec_wait)


# ---------------------------------------------------------------- update

def update(root: str | None, ref: str, resources: dict[str, Any] | None = None,
           restart: Any = None) -> Record:
    """Change a container in place: its limits (``resources``: the complete set, as for create;
    applied to the cgroup when it exists) and/or its restart policy (read by the monitor at the
    next exit). Returns the record. On failure the cgroup gets its old limits back."""
    paths = _paths(root)
    rec = find(paths, ref)
    changes = {}
    if restart is not None:
        policy = parse_restart(restart)
        check_auto_remove(rec.auto_remove, policy["name"])
        changes["restartPolicy"] = policy
    if resources is not None:
        from .resources import normalize_resources
        res = normalize_resources(resources)
        cg = lifecycle.cgroup_of(paths, rec)
        if cg.exists():
            try:
                cg.update(res)
            except MyDockerError:
                try:
                    cg.update(rec.resources)
                except MyDockerError:
                    pass
                raise
        changes["resources"] = res  # records.save derives cgroupManager.Resource
    if changes:
        rec = records.update(paths, rec.id, **changes)
    return rec


# ---------------------------------------------------------------- stop / rm

def _wait_monitor(rec, timeout):
    deadline = time.time() + timeout
    while lifecycle.monitor_alive(rec) and time.time() < deadline:
        time.sleep(0.02)
    return not lifecycle.monitor_alive(rec)


def stop(root: str | None, ref: str, timeout: float = 10) -> bool:
    """SIGTERM, SIGKILL after ``timeout`` s; returns once the process is confirmed gone.

    Returns True when something was stopped."""
    paths = _paths(root)
    rec = find(paths, ref)
    cid = rec.id
    if rec.status not in ACTIVE and not lifecycle.monitor_alive(rec):
        return False
    rec = records.update(paths, cid, stopRequested=True)
    try:
        sig = imageconfig.parse_signal(rec.get("stopSignal"))
    except MyDockerError:
        sig = imageconfig.parse_signal(None)  # an image's StopSignal we cannot read: SIGTERM
    if not lifecycle.kill_and_wait(rec, timeout, sig):
        raise MyDockerError("container %s (pid %s) did not die after SIGKILL" % (rec.name, rec.pid))
    deadline = time.time() + 15
    while lifecycle.monitor_alive(rec) and time.time() < deadline:
        # a monitor that was still starting the container (or restarting it) when the stop came
        # may start it after all: stop that one too
        now = records.read(paths, cid)
        if now is not None and lifecycle.is_running(now):
            lifecycle.kill_and_wait(now, 0)
        time.sleep(0.02)
    if lifecycle.monitor_alive(rec):
        raise MyDockerError("the monitor of container %s did not finish" % rec.name)
    rec = records.read(paths, cid)
    if rec is not None and rec.status != EXITED:
        # the monitor died (crashed or was killed): clean up in its place
        lifecycle.finish(paths, cid, rec.exit_code if rec.exit_code is not None else 137, None)
        lifecycle.final(paths, cid)
    return True


def restart(root: str | None, ref: str, timeout: float = 10) -> tuple[int, Any]:
    stop(root, ref, timeout)
    return start(root, ref)


def _stop_for_removal(paths, cid):
    """``stop`` for ``rm -f``: the waiter is told (monitor.REMOVING) not to start an engine to record
    an exit about to be deleted; ``stop`` finishes the container in its place. A failure unmarks."""
    from .monitor import REMOVING
    mark = os.path.join(paths.container_dir(cid), REMOVING)
    with open(mark, "w"):
        pass
    try:
        stop(paths, cid, timeout=0)
    except BaseException:
        try:
            os.unlink(mark)
        except OSError:
            pass
        raise


def remove(root: str | None, ref: str, force: bool = False, volumes: bool = False) -> bool:
    """Remove a container; ``volumes`` (rm -v): its anonymous volumes too (named ones stay)."""
    paths = _paths(root)
    rec = find(paths, ref)
    try:
        with start_lock(paths, rec):  # a start in progress finishes first
            rec = records.read(paths, rec.id)
            if rec is None:
                return True  # removed meanwhile (or started with --rm and gone already)
            if lifecycle.true_status(rec) in ACTIVE or lifecycle.monitor_alive(rec):
                if not force:
                    raise MyDockerError("container %s is running: stop it first or use rm -f" % rec.name)
                _stop_for_removal(paths, rec.id)
            elif lifecycle.mark_alive(rec, "creator") and not lifecycle.is_own_mark(rec, "creator"):
                if not force:
                    raise MyDockerError("container %s is still being created (by process %s): use rm -f"
                                        % (rec.name, rec.get("creatorPid")))
            rec = records.read(paths, rec.id)
            if rec is None:
                return True  # it was started with --rm and is gone already
            lifecycle.remove_files(paths, rec)
            if volumes:
                from .volumes import remove_anonymous
                remove_anonymous(paths, rec)
    except NotFound:
        return True  # its directory went away meanwhile: removed by someone else
    return True


# ---------------------------------------------------------------- exec / logs

def exec_start(root: str | None, ref: str, argv: list[str], stdio: tuple[int, int, int] = (0, 1, 2),
               console: int | None = None, env: Any = None, workdir: str | None = None,
               user: str | None = None) -> int:
    """Start ``argv`` inside a running container (as ``user``, default the container's). Returns
    the pid to wait for; raises if the command could not be started."""
    paths = _paths(root)
    rec = find(paths, ref)
    if lifecycle.true_status(rec) != RUNNING:
        raise MyDockerError("container %s is not running" % rec.name)
    if not argv:
        raise MyDockerError("no command given")
    if workdir is not None and not workdir.startswith("/"):
        raise MyDockerError("invalid working directory %r: must be absolute" % workdir)
    from . import process, users
    spec = lifecycle.spec_of(paths, rec.id, rec)
    users.validate(user)
    kw = {"user": user} if user else {}
    return process.enter(rec.pid, lifecycle.cgroup_of(paths, rec), spec, list(argv),
                         stdio, console=console, env=parse_env(env), workdir=workdir, **kw)


def exec_wait(pid: int) -> int:
    """The exit status of a command started by ``exec_start``."""
    from . import process
    return process.wait(pid)


def log_path(root: str | None, ref: str) -> tuple[str, Record]:
    paths = _paths(root)
    rec = find(paths, ref)
    return paths.container_log(rec.id), rec
