# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A detached container's output: written by its monitor, rotated, read back by ``logs``.

The container's stdout and stderr are one FIFO (``<container>/log.fifo``) that the container
holds open read-write, so it never gets EPIPE when its monitor dies (it blocks once the pipe is
full until ``adopt`` starts a monitor that reads it again). The monitor's lean loop
(the waiter: ``RELAY``, only ``os``) copies what comes to ``log.txt`` unchanged
(SPEC 1.3: the file stays the raw output) and appends one line ``END_OFFSET UNIX_NS`` per
piece to ``log.txt.ts``: when each line was written, for ``--since`` and ``-t``. With
``max-size`` it rotates (``log.txt`` -> ``log.txt.1`` -> ... up to ``max-file`` files, each with
its ``.ts``). A log written before the index existed is read with its file's mtime as time.

A container with a healthcheck gets ``logloop.py`` instead (builtins, ``time``, ``select``): the
same copy, and every interval one probe process (``health.py``) waited for through a pidfd.
"""

import os
import time

from . import health, logloop, records  # at the top: a monitor runs on after a module's zip is gone
from .errors import MyDockerError
from .lazyre import lazy_re

DRIVERS = ("json-file",)  # the engine's one driver, under Docker's name for it
_SIZE = lazy_re(r"(?i)^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$")
_MULT = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}


def parse_size(value, what="max-size"):
    """'10m', '512k', '1g', '100' (bytes) -> bytes, more than 0 (Docker's RAMInBytes)."""
    m = _SIZE.match(str(value).strip())
    if not m or float(m.group(1)) * _MULT[m.group(2).lower()] < 1:
        raise MyDockerError("log option %s: invalid size %r (examples: 10m, 512k, 1g)" % (what, value))
    return int(float(m.group(1)) * _MULT[m.group(2).lower()])


def parse_log_config(driver=None, opts=None):
    """``--log-driver``/``--log-opt`` (a list of 'k=v[,k=v]' or a dict) -> Docker's LogConfig
    {"Type", "Config"}: only json-file, only max-size and max-file. None: nothing given."""
    if driver in (None, "") and not opts:
        return None
    if driver not in (None, "") and driver not in DRIVERS:
        raise MyDockerError("log driver %r is not supported (only %s)" % (driver, ", ".join(DRIVERS)))
    config = {}
    if isinstance(opts, dict):
        items = [(str(k), v) for k, v in opts.items()]
    elif isinstance(opts, (list, tuple)):
        items = []
        for opt in opts:
            for part in str(opt).split(","):
                key, sep, value = part.partition("=")
                if not sep:
                    raise MyDockerError("log option %r: expected KEY=VALUE" % part)
                items.append((key.strip(), value.strip()))
    elif opts is None:
        items = []
    else:
        raise MyDockerError("log options: expected KEY=VALUE strings or a mapping")
    for key, value in items:
        if value is None:
            continue
        if key == "max-size":
            parse_size(value)
            config[key] = str(value).strip()
        elif key == "max-file":
            text = str(value).strip()
            if isinstance(value, bool) or not text.isdigit() or int(text) < 1:
                raise MyDockerError("log option max-file: must be a positive integer, got %r" % (value,))
            config[key] = str(int(text))
        else:
            raise MyDockerError("log option %r is not supported (only max-size and max-file)" % key)
    if "max-file" in config and config["max-file"] != "1" and "max-size" not in config:
        raise MyDockerError("log option max-file needs max-size")
    return {"Type": DRIVERS[0], "Config": config}


def fifo_path(paths, cid):
    return os.path.join(paths.container_dir(cid), "log.fifo")


def open_fifo(paths, cid):
    """The container's end of its output FIFO (read-write: see the module's doc), created when
    missing. Close-on-exec; the monitor hands it to the container as stdout and stderr."""
    path = fifo_path(paths, cid)
    try:
        os.mkfifo(path, 0o600)
    except FileExistsError:
        pass
    return os.open(path, os.O_RDWR | os.O_CLOEXEC)


def waiter_args(paths, cid, relay, mode="child", reset=True, keep_fd=None):
    """How the monitor waits while the container runs: ("relay", ARGS) for the waiter's
    ``--log`` (output to copy, nothing else), ("loop", ARGS) for ``logloop`` (a healthcheck, or
    ``mode`` adopted), or (None, []) when there is nothing to do but wait. ``relay``: the container
    writes to its FIFO; ``keep_fd``: the monitor's end of it, made inheritable and named in the
    FIFO argument (FD:PATH) so the pipe, and what the container wrote before it exited, is held
    until the waiter has its own reader."""
    rec = records.read(paths, cid) or {}
    check = rec.get("healthcheck")
    if not relay and not check and mode == "child":
        return None, []
    if check and reset:  # a start is 'starting' again; an adopted container keeps its state
        health.begin(paths, cid)
    cfg = (rec.get("logConfig") or {}).get("Config") or {}
    size = parse_size(cfg["max-size"]) if cfg.get("max-size") else 0
    fifo = "-"
    if relay:
        fifo = fifo_path(paths, cid)
        if keep_fd is not None:
            os.set_inheritable(keep_fd, True)
            fifo = "%d:%s" % (keep_fd, fifo)
    log = [fifo, paths.container_log(cid), str(size), str(int(cfg.get("max-file") or 1))]
    if check or mode != "child":
        return "loop", [mode] + log + [health.schedule(check)]
    return "relay", ["--log"] + log


def precompile(engine):
    """Cache the bytecode of the engine copy's ``logloop.py`` (once per copy, by the monitor
    before it becomes the loop), so the loop imports it without compiling."""
    try:
        import importlib.util
        import py_compile
        src = os.path.join(engine, *(logloop.__name__.split(".")[:-1] + ["logloop.py"]))
        if os.path.exists(src) and not os.path.exists(importlib.util.cache_from_source(src)):
            py_compile.compile(src, doraise=True)
    except Exception:  # best effort (an Ansible module's interpreter may forbid it): the loop compiles it then
        pass


# The monitor of a container with a healthcheck, or of an adopted one: argv ENGINE + logloop's.
LOOP_CMD = """# mydocker monitor loop (output and healthchecks)
import sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.logloop import main
main(sys.argv[1:])
"""

# The waiter's copy of the output (``monitor.WAITER`` on ``--log FIFO LOGFILE MAXSIZE MAXFILE``):
# only os, as the waiter. Blocking reads until no one writes (the container and everything in
# it are gone: its PID namespace is), each piece to the log and its time (the log file's mtime
# after the write: no ``time`` module) to the index; then the waiter reaps PID 1 as ever.
RELAY = """fifo, logfile, maxsize, maxfile = a[8:12]
maxsize, maxfile = int(maxsize), int(maxfile)
held, sep, path = fifo.partition(":")
rd = os.open(path if sep and held.isdigit() else fifo, os.O_RDONLY | os.O_CLOEXEC)
if sep and held.isdigit():
    os.close(int(held))
fl = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
lf, tf = os.open(logfile, fl, 0o640), os.open(logfile + ".ts", fl, 0o640)
size = os.fstat(lf).st_size
while True:
    try:
        data = os.read(rd, 65536)
    except OSError:
        break
    if not data:
        break
    pos = 0
    while pos < len(data):
        end = data.find(b"\\n", pos)
        end = len(data) if end < 0 else end + 1
        if maxsize and size and size + end - pos > maxsize:
            os.close(lf)
            os.close(tf)
            for i in range(maxfile - 1, 0, -1):
                for ext in ("", ".ts"):
                    try:
                        os.rename(logfile + ("." + str(i - 1) if i > 1 else "") + ext, logfile + "." + str(i) + ext)
                    except OSError:
                        pass
            for ext in (("", ".ts") if maxfile <= 1 else ()):
                try:
                    os.unlink(logfile + ext)
                except OSError:
                    pass
            lf, tf = os.open(logfile, fl, 0o640), os.open(logfile + ".ts", fl, 0o640)
            size = 0
        try:
            os.write(lf, data[pos:end])
            size += end - pos
            os.write(tf, b"%d %d\\n" % (size, os.fstat(lf).st_mtime_ns))
        except OSError:
            pass
        pos = end
os.close(rd)
a = a[:7] + a[12:]
"""


# ------------------------------------------------------------------ reading

def log_files(path):
    """The files of a log, oldest first: path.N ... path.1, path."""
    d, base = os.path.split(path)
    rotated = []
    try:
        names = os.listdir(d)
    except OSError:
        names = []
    for n in names:
        if n.startswith(base + ".") and n[len(base) + 1:].isdigit():
            rotated.append(int(n[len(base) + 1:]))
    return [path + "." + str(i) for i in sorted(rotated, reverse=True)] + [path]


def _index(path):
    """[(end offset, unix ns)] of ``path``'s .ts file ([] when there is none)."""
    out = []
    try:
        with open(path + ".ts", "rb") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
                    out.append((int(parts[0]), int(parts[1])))
    except OSError:
        pass
    return out


def _lines_of(path, data, index, base=0):
    """(unix ns, line) for each line of ``data`` (read from offset ``base`` of ``path``)."""
    import bisect
    ends = [e for e, _t in index]
    try:
        fallback = int(os.stat(path).st_mtime * 1e9)
    except OSError:
        fallback = None
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end + 1
        i = bisect.bisect_right(ends, base + pos)
        yield (index[i][1] if i < len(index) else fallback), data[pos:end]
        pos = end


def read_lines(path):
    """Every (unix ns or None, line bytes) of the log at ``path``, across its rotated files."""
    for f in log_files(path):
        try:
            with open(f, "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        yield from _lines_of(f, data, _index(f))


def parse_since(value, now=None):
    """``--since``: RFC 3339 ('2026-12-01T12:00:00Z', with an offset or fraction), a Unix
    time ('1733050000.5') or a duration ago ('10m', '1h30m') -> unix ns."""
    import datetime
    import re

    now = time.time() if now is None else now
    text = str(value).strip()
    if re.match(r"^\d+(\.\d+)?$", text):
        return int(float(text) * 1e9)
    if re.match(r"^\d{4}-\d{2}-\d{2}", text):
        m = re.match(r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$", text, re.I)
        if m:
            clock = m.group(2) or "00:00:00"
            if len(clock) == 5:
                clock += ":00"
            tz = (m.group(4) or "Z").upper()
            tz = "+00:00" if tz == "Z" else (tz if ":" in tz else tz[:3] + ":" + tz[3:])
            try:
                dt = datetime.datetime.fromisoformat("%sT%s%s" % (m.group(1), clock, tz))
            except ValueError:
                dt = None
            if dt is not None:
                return int(dt.timestamp()) * 10 ** 9 + int(round(float(m.group(3) or 0) * 1e9))
        raise MyDockerError("--since: invalid time %r (RFC 3339 like 2026-12-01T12:00:00Z, or 10m)" % value)
    try:
        ago = health.parse_duration(text, "--since")
    except MyDockerError:
        raise MyDockerError("--since: invalid time %r (RFC 3339 like 2026-12-01T12:00:00Z, or 10m)" % value)
    return int(now * 1e9) - ago


def stamp(ns):
    """Docker's RFC 3339 with nanoseconds, UTC."""
    if ns is None:
        return "-"
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1000000000)) + ".%09dZ" % (ns % 1000000000)


def select_lines(path, since=None, tail=None):
    """The lines ``logs`` prints: since ``since`` (unix ns), the last ``tail`` of them."""
    items = read_lines(path)
    if since is not None:
        items = (x for x in items if x[0] is None or x[0] >= since)
    items = list(items)
    if tail is not None and tail >= 0:
        items = items[len(items) - tail:] if tail else []
    return items


def parse_tail(value):
    if value in (None, "all"):
        return None
    text = str(value).strip()
    if not text.isdigit():
        raise MyDockerError("--tail: expected a number of lines or 'all', got %r" % (value,))
    return int(text)


class Follower:
    """New lines of a log as they come (``logs -f``), across a rotation."""

    def __init__(self, path):
        self.path = path
        self.f = None
        self.pos = 0
        self.partial = b""

    def start_at_end(self):
        try:
            self.f = open(self.path, "rb")
        except OSError:
            return
        self.f.seek(0, os.SEEK_END)
        self.pos = self.f.tell()

    def poll(self):
        """[(unix ns, bytes)] written since the last call."""
        out = []
        if self.f is None:
            try:
                self.f = open(self.path, "rb")
            except OSError:
                return out
            self.pos = 0
        data = self.f.read()
        rotated = False
        try:
            rotated = os.stat(self.path).st_ino != os.fstat(self.f.fileno()).st_ino
        except OSError:
            rotated = True
        if data:
            index = _index(self.f.name) if not rotated else []
            out.extend(_lines_of(self.path, data, index, self.pos))
            self.pos += len(data)
        if rotated:
            self.f.close()
            self.f = None
        return out
