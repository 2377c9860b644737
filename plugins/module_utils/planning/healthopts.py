# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module's ``healthcheck``, ``log_driver`` and ``log_options`` (rows of ``options.OPTIONS``)
and ``state: healthy`` (``wait_healthy``).

A healthcheck is compared in one canonical form, the check the container really runs (the
image's ``Healthcheck`` under the task's, as Docker merges them, defaults filled, durations in
Go's spelling: ``1m`` and ``60s`` are both ``1m0s``), or None for no check. ``test_cli_compatible``
as community.docker: false (default) and no ``test`` disables the check; true keeps the image's
test and overrides the rest.
"""

import time

from ..engine import health, view
from ..engine.errors import MyDockerError
from ..engine.logs import DRIVERS, parse_log_config, parse_size

HEALTH_KEYS = ("test", "interval", "timeout", "retries", "start_period")


def _fail(option, e):
    text = str(e)
    raise MyDockerError(text if text.startswith(option) else "%s: %s" % (option, text))


def norm_healthcheck(value, params=None):
    """The task's dict -> Docker's partial {Test, Interval, ...} (merged with the image later:
    ``resolve``)."""
    if not isinstance(value, dict):
        raise MyDockerError("healthcheck: expected a mapping")
    spec = dict((k, v) for k, v in value.items() if k != "test_cli_compatible" and v is not None)
    try:
        partial = health.normalize(spec, "healthcheck")
    except MyDockerError as e:
        _fail("healthcheck", e)
    if partial["Test"] is None and not value.get("test_cli_compatible"):
        partial["Test"] = ["NONE"]
    return {"partial": partial}


def display(check):
    """A record's effective check -> the canonical form the module compares and diffs."""
    if not check:
        return None
    return {"test": list(check["Test"]), "interval": health.format_duration(check["Interval"]),
            "timeout": health.format_duration(check["Timeout"]),
            "start_period": health.format_duration(check["StartPeriod"]), "retries": int(check["Retries"])}


def record_healthcheck(rec):
    return display(rec.get("healthcheck"))


def resolve(wished, image, missing=None):
    """``norm_healthcheck``'s value with the image's check under it -> the canonical form."""
    if wished is missing:
        return wished
    cfg = (image or {}).get("config") or {}
    return display(health.effective(cfg.get("Healthcheck"), wished["partial"]))


def image_default(image):
    """The check of a container made without the option: the image's."""
    return display(health.effective(((image or {}).get("config") or {}).get("Healthcheck"), None))


def create_arg(canonical):
    """The canonical form -> ``engine.create``'s ``healthcheck`` (NONE to drop the image's)."""
    return dict(canonical) if canonical else {"test": ["NONE"]}


def predicted(out, image, missing):
    """``predicted_config``'s values of these options for a new container."""
    if out["healthcheck"] is missing:
        out["healthcheck"] = image_default(image)
    if out["log_driver"] is missing:
        out["log_driver"] = DRIVERS[0]
    if out["log_options"] is missing:
        out["log_options"] = {}


def create_options(wish, missing):
    """``engine.create``'s keyword arguments for these options of ``wish``."""
    out = {}
    if wish["healthcheck"] is not missing:
        out["healthcheck"] = create_arg(wish["healthcheck"])
    if wish["log_driver"] is not missing:
        out["log_driver"] = wish["log_driver"]
    if wish["log_options"] is not missing:
        out["log_options"] = dict((k, str(v)) for k, v in wish["log_options"].items())
    return out


def with_wait(plan, params):
    """``state: healthy`` is ``started``, then a wait of ``healthy_wait_timeout`` seconds."""
    timeout = params.get("healthy_wait_timeout")
    plan.wait_healthy = (300 if timeout is None else timeout) if params.get("state") == "healthy" else None
    return plan


def wait_if_asked(root, plan, cid):
    if getattr(plan, "wait_healthy", None) is not None:
        wait_healthy(root, cid, plan.wait_healthy)


def check_wait(plan):
    """``state: healthy`` needs a check on the container the plan leaves."""
    if getattr(plan, "wait_healthy", None) and not (plan.after or {}).get("healthcheck"):
        raise MyDockerError("state: healthy needs a healthcheck (the option healthcheck or the image's)")
    return plan


def _log_canon(config):
    cfg = (config or {}).get("Config") or {}
    out = {}
    if cfg.get("max-size"):
        out["max-size"] = parse_size(cfg["max-size"])
    if cfg.get("max-file") and (cfg.get("max-file") != "1" or "max-size" in out):
        out["max-file"] = int(cfg["max-file"])
    return out


def norm_log_options(value, params=None):
    """{max-size, max-file} -> {max-size: bytes, max-file: N} ('10m' and '10485760' are the same)."""
    try:
        return _log_canon(parse_log_config((params or {}).get("log_driver"), value))
    except MyDockerError as e:
        _fail("log_options", e)


def record_log_options(rec):
    return _log_canon(rec.get("logConfig"))


def norm_log_driver(value, params=None):
    if value not in DRIVERS:
        raise MyDockerError("log_driver: %r is not supported (only %s)" % (value, ", ".join(DRIVERS)))
    return value


def record_log_driver(rec):
    return (rec.get("logConfig") or {}).get("Type") or DRIVERS[0]


def wait_healthy(root, ref, timeout, poll=0.2):
    """Block until container ``ref`` is healthy (``state: healthy``). Raises with the last
    probe's output when it stops running or ``timeout`` seconds pass. Returns its record."""
    deadline = time.time() + timeout
    while True:
        rec = view.inspect(root, ref)
        if not rec.get("healthcheck"):
            raise MyDockerError("state=healthy: container %s has no healthcheck" % rec["name"])
        if rec["status"] not in ("running", "restarting"):
            raise MyDockerError("state=healthy: container %s is %s%s" % (rec["name"], rec["status"], _last(rec)))
        if health.status_of(rec) == health.HEALTHY:
            return rec
        if time.time() >= deadline:
            raise MyDockerError("state=healthy: container %s is still %s after %ss%s"
                                % (rec["name"], health.status_of(rec), timeout, _last(rec)))
        time.sleep(poll)


def _last(rec):
    log = (rec.get("health") or {}).get("log") or []
    if not log:
        return " (no probe finished yet)"
    last = log[-1]
    return "; last probe: exit code %s, output: %r" % (last.get("exitCode"), (last.get("output") or "").strip()[:1000])
