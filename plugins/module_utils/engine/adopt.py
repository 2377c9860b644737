# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Re-adoption: a new monitor for a container that still runs after its monitor died.

The container's PID 1 is not the new monitor's child (it was re-parented when its monitor died),
so the new monitor cannot ``waitpid`` for it and never learns its exit status: it watches the
process through a pidfd (``os.pidfd_open``, Linux 5.3+; polling ``/proc/PID/stat`` with the
recorded start time where there is none) and, once it is gone, resumes the engine like any
monitor with the exit code 255 ("unknown"; the record's ``adoptedAt`` says the container was
adopted), which records the exit, applies the restart policy and cleans up. A restart makes the
container this monitor's own child again.
"""

import os
import sys
import time

from . import lifecycle, logs, records, signals
from .errors import MyDockerError
from .monitor import _daemonize, engine_copy
from .syscalls import PR_SET_CHILD_SUBREAPER, SYS

UNKNOWN_EXIT = 255  # what an adopted container's exit is recorded as

# The adopted monitor while the container runs: builtins and two C modules, as lean as the
# monitor's own waiter. argv: ENGINE ROOT CID PID START (START: the /proc/PID/stat start time).
WATCHER = """# mydocker monitor of an adopted container
import os, select, sys, time
engine, root, cid, pid, start = sys.argv[1:6]
pid = int(pid)
def alive():
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z" and (not start or fields[19] == start)
try:
    fd = os.pidfd_open(pid)
except (AttributeError, OSError):
    fd = None
if alive():  # the pidfd (opened before) is that process
    if fd is not None:
        p = select.poll()
        p.register(fd, select.POLLIN)
        while not p.poll():
            pass
    else:
        while alive():
            time.sleep(0.2)
os.execv(sys.executable, [sys.executable, "-I", os.path.join(engine, "resume.py"), root, cid, "@EXIT@",
                          "-", repr(time.time()), "0.1"])
""".replace("@EXIT@", str(UNKNOWN_EXIT))


def adopt(paths, cid):
    """Start a new monitor for the running container ``cid`` whose monitor died; it names itself
    in the record (``monitorPid``, ``adoptedAt``) before this returns. Returns its pid.
    The caller holds the state lock (``prune``)."""
    rec = records.load(paths, cid)
    if not lifecycle.is_running(rec):
        raise MyDockerError("container %s is not running: nothing to adopt" % rec.name)
    engine = engine_copy(paths)
    relay = os.path.exists(logs.fifo_path(paths, cid))
    _kind, loop = logs.waiter_args(paths, cid, relay, mode="adopted:" + (rec.pid_start or ""), reset=False)
    pid_r, pid_w = os.pipe()  # the new monitor -> us: its pid
    go_r, go_w = os.pipe()    # us -> the new monitor: "go" once the record names it
    child = os.fork()
    if child == 0:
        code = 1
        try:
            os.close(pid_r)
            os.close(go_w)
            _daemonize({pid_w, go_r})
            os.write(pid_w, str(os.getpid()).encode())
            os.close(pid_w)
            if os.read(go_r, 2) == b"go":
                os.close(go_r)
                SYS.prctl(PR_SET_CHILD_SUBREAPER, 1)  # a restart's container is our child
                for s in (signals.SIGINT, signals.SIGHUP, signals.SIGPIPE, signals.SIGTERM):
                    signals.signal(s, signals.SIG_IGN)
                if relay or rec.get("healthcheck"):  # its output FIFO to read, its healthcheck to run
                    logs.precompile(engine)
                    os.execv(sys.executable, [sys.executable, "-S", "-E", "-s", "-c", logs.LOOP_CMD, engine,
                                              paths.root, cid, str(rec.pid), "-", repr(time.time()), "0.1"] + loop)
                os.execv(sys.executable, [sys.executable, "-S", "-E", "-s", "-c", WATCHER, engine, paths.root,
                                          cid, str(rec.pid), rec.pid_start or ""])
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(pid_w)
    os.close(go_r)
    try:
        os.waitpid(child, 0)  # the first fork exits at once
        raw = b""
        while True:
            chunk = os.read(pid_r, 64)
            if not chunk:
                break
            raw += chunk
        if not raw.strip().isdigit():
            raise MyDockerError("cannot start a new monitor for container %s" % rec.name)
        mpid = int(raw)
        records.update(paths, cid, monitorPid=str(mpid), monitorStart=lifecycle.proc_start_time(mpid),
                       adoptedAt=lifecycle.now())
        os.write(go_w, b"go")
    finally:
        os.close(pid_r)
        os.close(go_w)
    deadline = time.time() + 5
    while lifecycle.proc_start_time(mpid) is not None and time.time() < deadline:
        try:
            with open("/proc/%d/cmdline" % mpid, "rb") as f:
                cmdline = f.read()
                if b"# mydocker monitor" in cmdline:  # WATCHER or logs.LOOP_CMD
                    break
        except OSError:
            break
        time.sleep(0.01)
    return mpid
