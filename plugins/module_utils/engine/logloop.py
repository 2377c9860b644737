# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The monitor's lean loop while a container with a healthcheck runs, or one that was adopted
(``adopt``): it copies the output as the waiter does (``logs.RELAY``) and keeps the check's
time. Run as ``logs.LOOP_CMD`` with nothing but builtins, ``time`` and ``select``; a module, not a
string compiled at start, so its bytecode is cached (``logs.precompile``) and a monitor does not
pay for the compiler's memory.

argv: ENGINE ROOT CID PID NOTIFY BEGAN DELAY MODE FIFO LOGFILE MAXSIZE MAXFILE HEALTH [FD...]
MODE: "child" (PID is our child) or "adopted:START" (not ours: watched through a pidfd).
FIFO: "-", PATH or FD:PATH (FD: the monitor's end, held until ours is open).
"""

import os
import select
import sys
import time

PROBE = ("import sys; sys.path.insert(0, sys.argv[1]); "
         "from ansible_collections.mydocker.runtime.plugins.module_utils.engine.health import probe_main; "
         "probe_main(sys.argv[2:])")
FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC


class Log:
    """log.txt (raw) and log.txt.ts ("END_OFFSET UNIX_NS" per piece), rotated at ``maxsize``."""

    def __init__(self, path, maxsize, maxfile):
        self.path, self.maxsize, self.maxfile = path, maxsize, maxfile
        self.open()

    def open(self):
        self.lf = os.open(self.path, FLAGS, 0o640)
        self.tf = os.open(self.path + ".ts", FLAGS, 0o640)
        self.size = os.fstat(self.lf).st_size

    def rotate(self):
        os.close(self.lf)
        os.close(self.tf)
        for i in range(self.maxfile - 1, 0, -1):
            src = self.path + ("." + str(i - 1) if i > 1 else "")
            for ext in ("", ".ts"):
                try:
                    os.rename(src + ext, self.path + "." + str(i) + ext)
                except OSError:
                    pass
        if self.maxfile <= 1:
            for ext in ("", ".ts"):
                try:
                    os.unlink(self.path + ext)
                except OSError:
                    pass
        self.open()

    def write(self, data):
        now = time.time_ns()
        pos = 0
        while pos < len(data):
            end = data.find(b"\n", pos)
            end = len(data) if end < 0 else end + 1
            seg = data[pos:end]
            if self.maxsize and self.size and self.size + len(seg) > self.maxsize:
                self.rotate()
            os.write(self.lf, seg)
            self.size += len(seg)
            os.write(self.tf, b"%d %d\n" % (self.size, now))
            pos = end


def _pidfd(pid):
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


class Loop:
    def __init__(self, a):
        self.engine = a[0]
        self.root, self.cid, pid, self.notify, self.began, self.delay = a[1:7]
        mode, fifo, logfile, maxsize, maxfile, hc = a[7:13]
        self.fds = a[13:]
        self.pid = int(pid)
        self.adopted = mode.startswith("adopted:")
        self.start = mode[8:] if self.adopted else ""
        self.interval = None if hc == "-" else float(hc)
        self.poll = select.poll()
        self.log = self.rd = None
        if fifo != "-":
            self.log = Log(logfile, int(maxsize), int(maxfile))
            held, sep, path = fifo.partition(":")
            if not (sep and held.isdigit()):
                held, path = None, fifo
            self.rd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            self.poll.register(self.rd, select.POLLIN)
            if held is not None:  # our own reader is open: the pipe no longer needs the monitor's end
                os.close(int(held))
        self.cfd = _pidfd(self.pid)
        if self.cfd is not None:
            self.poll.register(self.cfd, select.POLLIN)
        self.probe = self.pfd = None
        self.next = float(self.began) + self.interval if self.interval else None
        self.status = None
        self.gone = self.adopted and not self.alive()

    def alive(self):
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return False
        return fields[0] != "Z" and (not self.start or fields[19] == self.start)

    def drain(self):
        while self.rd is not None:
            try:
                data = os.read(self.rd, 65536)
            except BlockingIOError:
                return
            except InterruptedError:
                continue
            if not data:
                self.poll.unregister(self.rd)
                os.close(self.rd)
                self.rd = None
                return
            try:
                self.log.write(data)
            except OSError:
                pass

    def reap(self):
        while True:
            try:
                got, st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                if not self.adopted:
                    self.gone = True
                return
            except InterruptedError:
                continue
            if got == 0:
                return
            if got == self.pid and not self.adopted:
                self.status, self.gone = st, True
            elif got == self.probe:
                if self.pfd is not None:
                    self.poll.unregister(self.pfd)
                    os.close(self.pfd)
                self.probe = self.pfd = None
                self.next = time.time() + self.interval

    def spawn(self):
        self.probe = os.fork()
        if self.probe == 0:
            try:
                os.closerange(3, 65536)
                os.execv(sys.executable, [sys.executable, "-I", "-c", PROBE, self.engine, self.root, self.cid,
                                          self.began])
            finally:
                os._exit(127)
        self.pfd = _pidfd(self.probe)
        if self.pfd is not None:
            self.poll.register(self.pfd, select.POLLIN)

    def run(self):
        while not self.gone:
            wait = 1000.0 if self.cfd is not None else 100.0
            if self.probe is not None and self.pfd is None:
                wait = min(wait, 50.0)
            if self.next is not None and self.probe is None:
                wait = max(0.0, min(wait, (self.next - time.time()) * 1000))
            try:
                self.poll.poll(wait)
            except InterruptedError:
                pass
            self.drain()  # before the exit is reaped: the log is complete once the exit is seen
            self.reap()
            if self.adopted and not self.alive():
                self.gone = True
            if not self.gone and self.next is not None and self.probe is None and time.time() >= self.next:
                self.spawn()
        self.drain()
        limit = time.time() + 2
        while self.probe is not None and time.time() < limit:
            self.reap()
            time.sleep(0.02)
        if self.probe is not None:
            try:
                os.kill(self.probe, 9)
                os.waitpid(self.probe, 0)
            except OSError:
                pass
        if self.adopted or self.status is None:
            code = 255
        elif os.WIFSIGNALED(self.status):
            code = 128 + os.WTERMSIG(self.status)
        else:
            code = os.WEXITSTATUS(self.status)
        if os.path.exists(os.path.join(self.root, "containers", self.cid, "removing")):  # monitor.REMOVING
            if self.notify != "-":
                try:
                    os.write(int(self.notify), b"exited %d\n" % code)
                except OSError:
                    pass
            os._exit(0)  # rm -f finishes the container itself (containers.remove)
        os.execv(sys.executable, [sys.executable, "-I", os.path.join(self.engine, "resume.py"), self.root, self.cid,
                                  str(code), self.notify, repr(time.time()) if self.adopted else self.began,
                                  self.delay] + self.fds)


def main(argv):
    Loop(argv).run()
