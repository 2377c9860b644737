# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image config (OCI image-spec ``config``, docker's ``Config``) as a container uses it,
combined with what ``run`` gives exactly as Docker does:

- the command is Entrypoint + Cmd; run's arguments replace Cmd; ``--entrypoint X`` replaces the
  Entrypoint (and drops the image's Cmd), ``--entrypoint ''`` clears it;
- Env: the image's variables, the run's win;
- WorkingDir and User: the run's, else the image's;
- ExposedPorts, Volumes, StopSignal, Labels: recorded (StopSignal is what ``stop`` sends).

Pure: standard library only.
"""


from . import signals
from .errors import MyDockerError

KEYS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes", "StopSignal",
        "Labels", "Healthcheck")


def _strings(value, what):
    if value is None:
        return []
    if isinstance(value, str):
        return ["/bin/sh", "-c", value]  # the shell form of a Dockerfile
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise ValueError("%s must be a list of strings" % what)
    return list(value)


def from_image_config(cfg):
    """The keys of ``KEYS`` from an image config document (``{"config": {...}}`` or docker's
    ``{"Config": {...}}``); raises ValueError on malformed values."""
    if not isinstance(cfg, dict):
        raise ValueError("the image config is not a JSON object")
    c = cfg.get("config") or cfg.get("Config") or {}
    if not isinstance(c, dict):
        raise ValueError("the image config's config is not a JSON object")
    out = {"Env": _strings(c.get("Env"), "Env"), "Cmd": _strings(c.get("Cmd"), "Cmd"),
           "Entrypoint": _strings(c.get("Entrypoint"), "Entrypoint"),
           "WorkingDir": str(c.get("WorkingDir") or ""), "User": str(c.get("User") or ""),
           "ExposedPorts": sorted((c.get("ExposedPorts") or {}).keys()),
           "Volumes": sorted((c.get("Volumes") or {}).keys()),
           "StopSignal": str(c.get("StopSignal") or ""),
           "Labels": dict((str(k), str(v)) for k, v in (c.get("Labels") or {}).items())}
    hc = c.get("Healthcheck")
    if isinstance(hc, dict) and isinstance(hc.get("Test"), list):  # Docker's, durations in ns (health.py runs it)
        out["Healthcheck"] = dict([("Test", [str(a) for a in hc["Test"]])] + [
            (k, int(hc[k])) for k in ("Interval", "Timeout", "StartPeriod", "Retries") if isinstance(hc.get(k), int)])
    return out


def command(cfg, command=None, entrypoint=None):
    """The argv of a container: (Entrypoint, Cmd) resolved as Docker does. ``entrypoint``: None
    (the image's), a string (``--entrypoint``; '' clears) or a list."""
    cfg = cfg or {}
    ep = _entrypoint(cfg, entrypoint)
    if command:
        cmd = list(command)
    else:
        cmd = list(cfg.get("Cmd") or []) if entrypoint is None else []
    return ep + cmd


def _entrypoint(cfg, entrypoint):
    if entrypoint is None:
        return list((cfg or {}).get("Entrypoint") or [])
    if isinstance(entrypoint, str):
        return [entrypoint] if entrypoint else []
    return list(entrypoint)


def resolved(img, cmd, entrypoint, env, workdir, user):
    """The container's config as ``inspect`` shows it: the image record ``img``'s config with
    the run's choices (``cmd``: the whole argv, as ``command`` made it)."""
    cfg = img.get("config") or {}
    ep = _entrypoint(cfg, entrypoint)
    return {"Image": img.get("name"), "ImageId": img.get("imageId"), "Entrypoint": ep,
            "Cmd": cmd[len(ep):], "Env": ["%s=%s" % kv for kv in env.items()], "WorkingDir": workdir,
            "User": user, "ExposedPorts": list(cfg.get("ExposedPorts") or []),
            "Volumes": list(cfg.get("Volumes") or []), "StopSignal": cfg.get("StopSignal") or "",
            "Labels": dict(cfg.get("Labels") or {})}


def parse_signal(value):
    """A signal number from ``SIGTERM``, ``TERM``, ``15``; MyDockerError for anything else."""
    if value is None or value == "":
        return signals.SIGTERM
    s = str(value).strip().upper()
    if s.isdigit():
        n = int(s)
        if 0 < n < 65:
            return n
    else:
        name = s if s.startswith("SIG") else "SIG" + s
        num = signals.number(name)
        if num is not None and name.isalnum():
            return num
    raise MyDockerError("invalid stop signal %r" % (value,))
