# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the host says of a container record: whether its process, its monitor and the processes
that mark it (creator, starter) are alive (``/proc/PID/stat`` and the start time the record
keeps), and so its true status.

Its own module, importing records only: ``view`` (inspect, ps, the info modules) needs this and
nothing of a start, so an info module's AnsiballZ does not ship the whole engine. ``lifecycle``
re-exports every name.
"""

import os
import time

from . import records
from .records import CREATED, EXITED, RESTARTING, RUNNING, Record


def now():
    return time.strftime("%Y-%m-%d %H:%M:%S")


def proc_start_time(pid):
    """Start time (clock ticks since boot) of ``pid``, or None when it does not exist."""
    try:
        with open("/proc/%d/stat" % int(pid)) as f:
            data = f.read()
    except (OSError, ValueError):
        return None
    fields = data.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None  # a zombie is gone for our purposes
    return fields[19]


def pid_alive(pid, start):
    if not pid:
        return False
    st = proc_start_time(pid)
    return st is not None and (start is None or st == start)


def is_running(rec):
    rec = Record.of(rec)
    return rec.status in records.ACTIVE and pid_alive(rec.pid, rec.pid_start)


def monitor_alive(rec):
    rec = Record.of(rec)
    return pid_alive(rec.monitor_pid, rec.monitor_start)


# Who is working on a container right now. ``create`` writes creatorPid/creatorStart into the
# first record and clears them when the container is complete (``run``: when it runs), so a
# record that still carries them after its creator died is half-made. ``start`` writes
# starterPid/starterStart; the monitor registers itself (``register_monitor``) before it touches
# anything. ``prune`` leaves alone what a live creator, starter or monitor is working on.

def own_mark(what):
    """{"<what>Pid", "<what>Start"} naming this process (what: "creator" or "starter")."""
    pid = os.getpid()
    return {what + "Pid": str(pid), what + "Start": proc_start_time(pid)}


def mark_alive(rec, what):
    """Whether the process named by the record's ``what`` mark is still the one that wrote it."""
    rec = Record.of(rec)
    return pid_alive(rec.get(what + "Pid"), rec.get(what + "Start"))


def is_own_mark(rec, what):
    rec = Record.of(rec)
    return str(rec.get(what + "Pid") or "") == str(os.getpid()) and mark_alive(rec, what)


def half_made(rec):
    """A record whose creator has not finished it (it may still be at work: see ``busy``)."""
    return Record.of(rec).status == CREATED and bool(Record.of(rec).get("creatorPid"))


def busy(rec):
    """Whether a live creator, starter or monitor is working on the container."""
    return mark_alive(rec, "creator") or mark_alive(rec, "starter") or monitor_alive(rec)


def _exit_unseen(rec):
    """PID 1 is a zombie its live monitor has not reaped yet: the monitor copies the container's
    last output to the log first (logs.SUPERVISOR), so until then it still counts as running."""
    try:
        with open("/proc/%d/stat" % int(rec.pid)) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, ValueError, TypeError):
        return False
    return fields[0] == "Z" and fields[19] == rec.pid_start and monitor_alive(rec)


def true_status(rec):
    """'running', 'restarting', 'created' or 'exited': what the host really shows."""
    rec = Record.of(rec)
    st = rec.status
    if st == RUNNING and (pid_alive(rec.pid, rec.pid_start) or _exit_unseen(rec)):
        return RUNNING
    if st == RESTARTING and monitor_alive(rec):
        return RESTARTING
    if st == CREATED:
        return CREATED
    return EXITED
