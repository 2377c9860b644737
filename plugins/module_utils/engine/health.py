# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Healthchecks as Docker has them: the configuration (``--health-*``, the module's
``healthcheck:``, the image's config ``Healthcheck`` in nanoseconds), and one probe.

The record keeps the effective check under ``healthcheck`` (Docker's shape: Test, Interval,
Timeout, StartPeriod, Retries; durations in nanoseconds; absent or None: no check) and its state
under ``health``: {"status": starting|healthy|unhealthy, "failingStreak": N, "log": the last 5
results {start, end, exitCode, output}}. The per-container monitor's lean loop
(``logs.SUPERVISOR``) only keeps time: each probe is a short-lived process of its own
(``PROBE``: ``probe_main``), which enters the container as ``exec`` does, kills the command at
the timeout and writes the result atomically under the state lock. So nothing here is ever
imported by the monitor while it waits.
"""

import os
import time

from . import records
from .errors import MyDockerError
from .lazyre import lazy_re
from .store import state_lock

SECOND = 1000000000
DEFAULTS = {"Interval": 30 * SECOND, "Timeout": 30 * SECOND, "StartPeriod": 0, "Retries": 3}
KEEP_RESULTS = 5
MAX_OUTPUT = 4096
STARTING, HEALTHY, UNHEALTHY = "starting", "healthy", "unhealthy"

_UNITS = {"ns": 1, "us": 1000, "µs": 1000, "ms": 1000000, "s": SECOND, "m": 60 * SECOND, "h": 3600 * SECOND}
_PART = lazy_re(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(value, what="duration"):
    """A Docker (Go) duration -> nanoseconds: '30s', '1m30s', '500ms', '1h', '1.5s'. A number
    (the module's YAML) is seconds. Raises one line naming ``what``."""
    if isinstance(value, bool):
        raise MyDockerError("%s: invalid duration %r" % (what, value))
    if isinstance(value, (int, float)):
        return int(round(value * SECOND))
    text = str(value).strip()
    sign = 1
    if text[:1] in "+-" and text:
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return 0
    pos, total = 0, 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not text or pos != len(text):
        raise MyDockerError("%s: invalid duration %r (examples: 30s, 1m30s, 500ms)" % (what, value))
    return sign * int(round(total))


def format_duration(ns):
    """Nanoseconds -> Go's spelling ('1m30s', '500ms', '0s')."""
    ns = int(ns)
    if ns == 0:
        return "0s"
    if ns % SECOND:
        for unit, size in (("ms", 1000000), ("us", 1000), ("ns", 1)):
            if ns % size == 0:
                return "%d%s" % (ns // size, unit)
    s = ns // SECOND
    out = ""
    if s >= 3600:
        out += "%dh" % (s // 3600)
        s %= 3600
    if s >= 60 or out:
        out += "%dm" % (s // 60)
        s %= 60
    return out + "%ds" % s


def normalize_test(test, what="healthcheck test"):
    """A string (shell form) -> ["CMD-SHELL", string]; a list must start with CMD, CMD-SHELL
    or NONE (as Docker's and community.docker's); [] or None -> None (inherit)."""
    if test is None or test == [] or test == "":
        return None
    if isinstance(test, str):
        return ["CMD-SHELL", test]
    if not isinstance(test, (list, tuple)) or not all(isinstance(a, str) for a in test):
        raise MyDockerError("%s: expected a string or a list of strings" % what)
    test = list(test)
    kind = test[0]
    if kind == "NONE":
        return ["NONE"]
    if kind == "CMD-SHELL":
        if len(test) != 2 or not test[1]:
            raise MyDockerError("%s: CMD-SHELL takes exactly one command string" % what)
        return test
    if kind == "CMD":
        if len(test) < 2:
            raise MyDockerError("%s: CMD needs a command" % what)
        return test
    raise MyDockerError("%s: a list must start with CMD, CMD-SHELL or NONE, not %r" % (what, kind))


def _positive(value, what, allow_zero=False):
    ns = parse_duration(value, what)
    if ns < 0 or (ns == 0 and not allow_zero):
        raise MyDockerError("%s: must be %s, got %r" % (what, "0 or more" if allow_zero else "more than 0", value))
    return ns


def normalize(spec, prefix="healthcheck"):
    """{test, interval, timeout, retries, start_period} (any given; durations as Docker
    strings or seconds) -> Docker's {Test, Interval, Timeout, StartPeriod, Retries}, only the
    keys given (None for no test given). Bad input: one line naming the field."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise MyDockerError("%s: expected a mapping" % prefix)
    unknown = sorted(set(spec) - {"test", "interval", "timeout", "retries", "start_period"})
    if unknown:
        raise MyDockerError("%s: unknown key %s" % (prefix, unknown[0]))
    out = {"Test": normalize_test(spec.get("test"), prefix + ".test")}
    for key, docker, zero in (("interval", "Interval", False), ("timeout", "Timeout", False),
                              ("start_period", "StartPeriod", True)):
        if spec.get(key) is not None:
            out[docker] = _positive(spec[key], "%s.%s" % (prefix, key), allow_zero=zero)
    if spec.get("retries") is not None:
        r = spec["retries"]
        if isinstance(r, bool) or not isinstance(r, int) and not (isinstance(r, str) and r.isdigit()) or int(r) < 0:
            raise MyDockerError("%s.retries: must be an integer of 0 or more, got %r" % (prefix, r))
        if int(r):
            out["Retries"] = int(r)
    return out


def effective(image_check, wish):
    """The check a container runs: the image's ``Healthcheck`` with the wish (``normalize``'s
    shape) over it, as Docker merges them (a wish without a test keeps the image's test; zero
    values inherit), defaults filled. None: no check (none anywhere, or NONE)."""
    base = dict(image_check or {})
    wish = wish or {}
    test = wish.get("Test") or base.get("Test") or None
    if not test or test[0] == "NONE":
        return None
    out = {"Test": list(test)}
    for key, default in DEFAULTS.items():
        out[key] = int(wish.get(key) or base.get(key) or default)
    return out


def for_create(image_config, healthcheck):
    """``create``'s ``healthcheck`` (the module's {test, interval, ...} or Docker's {Test,
    Interval, ...} as ``from_flags`` gives) over the image's -> the record's ``healthcheck``."""
    if healthcheck is not None and not isinstance(healthcheck, dict):
        raise MyDockerError("healthcheck: expected a mapping")
    wish = healthcheck
    if healthcheck and not any(k[:1].isupper() for k in healthcheck):
        wish = normalize(healthcheck)
    elif healthcheck:
        wish = dict(healthcheck)
        if wish.get("Test") is not None:
            wish["Test"] = normalize_test(wish["Test"])
    return effective((image_config or {}).get("Healthcheck"), wish)


def from_flags(cmd=None, interval=None, timeout=None, retries=None, start_period=None, disable=False):
    """The ``--health-*`` flags of ``run`` -> a wish for ``effective`` (None: nothing given)."""
    if disable:
        if cmd:
            raise MyDockerError("--no-healthcheck conflicts with --health-cmd")
        return {"Test": ["NONE"]}
    spec = {"test": ["CMD-SHELL", cmd] if cmd else None, "interval": interval, "timeout": timeout,
            "retries": int(retries) if isinstance(retries, str) and retries.isdigit() else retries,
            "start_period": start_period}
    if all(v is None for v in spec.values()):
        return None
    try:
        return normalize(spec, "--health")
    except MyDockerError as e:  # named as the flag: --health-start-period
        text = str(e)
        head, sep, rest = text.partition(":")
        raise MyDockerError(head.replace(".", "-").replace("_", "-") + sep + rest)


def argv_of(test):
    """The command line of a check: CMD -> its arguments; CMD-SHELL -> /bin/sh -c."""
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", test[1]]
    return list(test[1:])


# ------------------------------------------------------------------ the state in the record

def initial():
    return {"status": STARTING, "failingStreak": 0, "log": []}


def next_state(state, result, check, in_start_period):
    """The health after one probe ``result`` ({start, end, exitCode, output}), as Docker
    counts: a success is healthy at once; ``Retries`` consecutive failures are unhealthy;
    failures during the start period do not count (unless the check was healthy already)."""
    state = dict(state or initial())
    log = list(state.get("log") or []) + [result]
    state["log"] = log[-KEEP_RESULTS:]
    if result["exitCode"] == 0:
        state["status"] = HEALTHY
        state["failingStreak"] = 0
    elif in_start_period and state.get("status") != HEALTHY:
        pass
    else:
        state["failingStreak"] = int(state.get("failingStreak") or 0) + 1
        if state["failingStreak"] >= int(check.get("Retries") or DEFAULTS["Retries"]):
            state["status"] = UNHEALTHY
    return state


def status_of(rec):
    """'starting', 'healthy', 'unhealthy' for a running container with a check, else ''."""
    if not rec.get("healthcheck"):
        return ""
    return (rec.get("health") or {}).get("status") or STARTING


def iso_now():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1000000)


def begin(paths, cid):
    """A (re)started container's health is 'starting' again."""
    with state_lock(paths):
        return records.update(paths, cid, health=initial())


def record_result(paths, cid, result, check, in_start_period, pid=None):
    """Write one probe's result under the lock (not when the container is gone or was started
    again since: ``pid``). Returns the new state or None."""
    with state_lock(paths):
        rec = records.read(paths, cid)
        if rec is None or (pid is not None and str(rec.get("pid")) != str(pid)):
            return None
        state = next_state(rec.get("health"), result, check, in_start_period)
        records.update(paths, cid, health=state)
        return state


# ------------------------------------------------------------------ one probe (its own process)

# What the monitor's loop runs for each probe: argv ROOT CID BEGAN (the container's start time).
PROBE = """# mydocker healthcheck probe
import os, sys
sys.path.insert(0, os.environ.get("MYDOCKER_ENGINE") or sys.argv[1])
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.health import probe_main
probe_main(sys.argv[2:])
"""


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        return []


def _kill_tree(pid):
    import signal
    for c in _children(pid):
        try:
            os.kill(c, signal.SIGKILL)
        except OSError:
            pass
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def run_probe(paths, rec, check, clock=time.time):
    """Run the check once inside the running container ``rec``. Returns the result."""
    import tempfile

    from . import lifecycle, process
    start = iso_now()
    out = tempfile.TemporaryFile()
    null = os.open(os.devnull, os.O_RDONLY)
    code, extra = -1, b""
    try:
        try:
            pid = process.enter(rec.pid, lifecycle.cgroup_of(paths, rec), lifecycle.spec_of(paths, rec.id, rec),
                                argv_of(check["Test"]), (null, out.fileno(), out.fileno()))
        except MyDockerError as e:
            code, extra = int(getattr(e, "code", 1) or 1), str(e).encode()
        else:
            deadline = clock() + check["Timeout"] / SECOND
            while True:
                got, status = os.waitpid(pid, os.WNOHANG)
                if got:
                    code = process.exit_code(status)
                    break
                if clock() >= deadline:
                    _kill_tree(pid)
                    os.waitpid(pid, 0)
                    code = -1
                    extra = b"Health check exceeded timeout (%s)" % format_duration(check["Timeout"]).encode()
                    break
                time.sleep(0.01)
        out.seek(0)
        data = out.read(MAX_OUTPUT + 1) + extra
    finally:
        os.close(null)
        out.close()
    return {"start": start, "end": iso_now(), "exitCode": code,
            "output": data[:MAX_OUTPUT].decode("utf-8", "replace")}


def probe_main(argv):
    """The probe process: ROOT CID BEGAN (epoch seconds of the container's start)."""
    from . import lifecycle
    from .store import Paths
    root, cid, began = argv[:3]
    paths = Paths(root)
    code = 0
    try:
        rec = records.read(paths, cid)
        check = rec and rec.get("healthcheck")
        if rec is not None and check and lifecycle.is_running(rec):
            result = run_probe(paths, rec, check)
            in_start = time.time() - float(began) < check.get("StartPeriod", 0) / SECOND
            record_result(paths, cid, result, check, in_start, pid=rec.pid)
    except Exception:
        code = 1
    os._exit(code)


def schedule(check):
    """What the monitor's loop needs: 'INTERVAL_SECONDS' or '-' (no check)."""
    if not check:
        return "-"
    return repr(check["Interval"] / SECOND)
