# -*- coding: utf-8 -*-
# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-container monitor: the parent of the container's PID 1.

It is forked (never exec'd: it needs nothing from disk once running, so it also survives an
Ansible module's temporary files going away), detaches into its own session, starts the
container, records its exit code and time, applies the restart policy and cleans up.

Protocol on the notify pipe back to whoever started it: ``started <pid>`` or ``error <msg>``,
later ``exited <code>`` (read by attached runs).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc
import os
import signal
import time

from . import lifecycle
from .process import exit_code, report_error
from .state import MyDockerError
from .sysapi import SYS, PR_SET_CHILD_SUBREAPER


def _write(fd, line):
    if fd is None:
        return
    try:
        os.write(fd, (line.replace("\n", " ") + "\n").encode("utf-8", "replace"))
    except OSError:
        pass


def _daemonize(keep):
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    os.chdir("/")
    os.umask(0o022)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        if fd not in keep:
            os.dup2(devnull, fd)
    os.close(devnull)
    for fd in range(3, 1024):
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def start_monitor(paths, cid, stdio=None, console=None, attached=False):
    """Fork the monitor for container ``cid`` and wait until the container runs (or failed).

    Returns (container pid, notify fd) — the fd stays open only when ``attached``; it then
    yields ``exited <code>`` when the container is done. Raises MyDockerError on failure.
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r)
            keep = {w} | set(stdio or ())
            if console is not None:
                keep.add(console)
            _daemonize(keep)
            Monitor(paths, cid, stdio, console, w).run()
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    os.waitpid(pid, 0)  # the first fork exits at once
    f = os.fdopen(r, "rb", buffering=0)
    line = f.readline().decode("utf-8", "replace").strip()
    if line.startswith("started "):
        if not attached:
            f.close()
            return int(line.split()[1]), None
        return int(line.split()[1]), f
    f.close()
    if line.startswith("error "):
        raise report_error(line[len("error "):])
    raise MyDockerError("the container monitor died before the container started")


class Monitor(object):
    def __init__(self, paths, cid, stdio, console, notify):
        self.paths = paths
        self.cid = cid
        self.stdio = stdio
        self.console = console
        self.notify = notify
        self.pid = None
        self._log_fd = None

    def _stdio(self):
        if self.stdio:
            return self.stdio
        if self._log_fd is None:
            self._log_fd = os.open(self.paths.container_log(self.cid),
                                   os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
            null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
            self._null_fd = null
        return (self._null_fd, self._log_fd, self._log_fd)

    def _wait(self, pid):
        while True:
            try:
                got, status = os.waitpid(-1, 0)
            except InterruptedError:
                continue
            except ChildProcessError:
                return 255
            if got == pid:
                return exit_code(status)

    def run(self):
        SYS.prctl(PR_SET_CHILD_SUBREAPER, 1)
        for s in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE, signal.SIGTERM):
            signal.signal(s, signal.SIG_IGN)
        gc.collect()
        if hasattr(gc, "freeze"):
            gc.freeze()  # keep pages shared with the parent: refcounts won't touch them
        first = True
        delay = 0.1
        while True:
            try:
                # a terminal goes to the first start only; restarts write to the log
                console, self.console = self.console, None
                self.pid = lifecycle.launch(self.paths, self.cid, self._stdio(), os.getpid(), console)
                if console is not None:
                    os.close(console)
            except Exception as e:
                msg = str(e) if isinstance(e, MyDockerError) else "cannot start the container: %r" % (e,)
                if first:
                    _write(self.notify, "error %d %s" % (getattr(e, "code", 1) or 1, msg))
                    return
                lifecycle.finish(self.paths, self.cid, 127, msg)
                break
            if first:
                _write(self.notify, "started %d" % self.pid)
                first = False
            began = time.time()
            code = self._wait(self.pid)
            if time.time() - began > 10:
                delay = 0.1
            if not lifecycle.after_exit(self.paths, self.cid, code):
                break
            # restart: back off, but stop promptly if asked to
            deadline = time.time() + delay
            delay = min(delay * 2, 10.0)
            while time.time() < deadline:
                time.sleep(0.05)
                if lifecycle.stop_requested(self.paths, self.cid):
                    break
            if lifecycle.stop_requested(self.paths, self.cid):
                lifecycle.finish(self.paths, self.cid, code, None)
                break
        rec = lifecycle.final(self.paths, self.cid)
        code = rec.get("exitCode", 255) if rec else 255
        _write(self.notify, "exited %d" % code)

