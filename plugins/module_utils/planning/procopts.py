# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The process and security options of ``mydocker_container`` (issue 11), with community.docker's
names and shapes: ``capabilities``, ``cap_drop``, ``privileged``, ``sysctls``, ``ulimits``
(``nofile:1024:2048``), ``init``, ``stop_signal``, ``groups``, ``oom_score_adj``, ``labels``.

Each is normalised by the engine's own parser (so check mode and a real run refuse the same
input with the same line), compared with the record (a record from before these options
compares as Docker's defaults) and changed by a new container, as Docker does.
"""

from ..engine import caps, devices, filters, memswap, procopts, sysctl, ulimits
from ..engine.errors import MyDockerError
from ..engine.resources import parse_memory
from .plan import Option

RECREATE = "recreate"  # the same words as options.RECREATE and options.UPDATE
UPDATE = "update"


def _wrap(option, fn, *args):
    try:
        return fn(*args)
    except MyDockerError as e:
        text = str(e)
        for flag in ("--device: ", "--cap-add: ", "--cap-drop: ", "--sysctl: ", "--ulimit: ", "--stop-signal: ",
                     "--group-add: ", "--oom-score-adj: ", "--label: "):
            if text.startswith(flag):
                text = text[len(flag):]
        raise MyDockerError("%s: %s" % (option, text))


def _list_of_strings(option, value):
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or any(isinstance(v, (dict, list, bool)) for v in value):
        raise MyDockerError("%s: expected a list of strings" % option)
    return [str(v) for v in value]


def norm_capabilities(value, params=None):
    return _wrap("capabilities", caps.parse_caps, _list_of_strings("capabilities", value), "--cap-add")


def norm_cap_drop(value, params=None):
    return _wrap("cap_drop", caps.parse_caps, _list_of_strings("cap_drop", value), "--cap-drop")


def norm_sysctls(value, params=None):
    if not isinstance(value, dict):
        raise MyDockerError("sysctls: expected a mapping of kernel parameters to values")
    return _wrap("sysctls", sysctl.parse_sysctls, value)


def norm_ulimits(value, params=None):
    """community.docker's 'NAME:SOFT[:HARD]' (and Docker's 'NAME=SOFT[:HARD]') -> sorted 'name:soft:hard'."""
    return [ulimits.text_of(u) for u in _wrap("ulimits", ulimits.parse_ulimits, _list_of_strings("ulimits", value))]


def norm_stop_signal(value, params=None):
    return _wrap("stop_signal", procopts.signal_name, value)


def norm_groups(value, params=None):
    return _wrap("groups", procopts.parse_groups, _list_of_strings("groups", value))


def norm_oom_score_adj(value, params=None):
    n = _wrap("oom_score_adj", procopts.parse_oom_score_adj, value)
    return 0 if n is None else n


def norm_labels(value, params=None):
    if not isinstance(value, dict):
        raise MyDockerError("labels: expected a mapping of label names to values")
    return _wrap("labels", filters.parse_labels, value)


def norm_devices(value, params=None):
    """'HOST[:CONTAINER][:PERMISSIONS]' -> sorted 'HOST:CONTAINER:PERMISSIONS' (the host node must exist)."""
    found = _wrap("devices", devices.parse_devices, _list_of_strings("devices", value))
    return [devices.text_of(d) for d in found]


def norm_bool(value, params=None):
    return bool(value)


def _memory_of(params):
    value = (params or {}).get("memory")
    if value in (None, 0, "0", -1, "-1") or (isinstance(value, str) and value.strip().lower() in ("", "unlimited")):
        return None
    try:
        return parse_memory(value)
    except MyDockerError:
        return None  # the memory option reports its own error


def _check_memory(option, params, swap=None, reservation=None):
    if (params or {}).get("memory") is None:
        return  # the container's own memory limit: checked by the engine
    res = {"memory": _memory_of(params), "memory_swap": swap, "memory_reservation": reservation}
    _wrap(option, memswap.check_memory_swap, res)


def norm_memory_swap(value, params=None):
    """Bytes of memory + swap; -1 or 'unlimited': unlimited swap; 0 or '': the default (None: no swap)."""
    if value in (0, "0"):
        return None
    swap = _wrap("memory_swap", memswap.parse_memory_swap, value, parse_memory)
    _check_memory("memory_swap", params, swap=swap)
    return swap


def norm_memory_reservation(value, params=None):
    reservation = _wrap("memory_reservation", memswap.parse_memory_reservation, value, parse_memory)
    _check_memory("memory_reservation", params, reservation=reservation)
    return reservation


def record_stop_signal(rec):
    try:
        return procopts.signal_name(rec.get("stopSignal") or None)
    except MyDockerError:
        return rec.get("stopSignal") or ""


OPTIONS = (
    Option("capabilities", "list", normalise=norm_capabilities, current=lambda r: list(r.get("capAdd") or []),
           change=RECREATE, elements="str"),
    Option("cap_drop", "list", normalise=norm_cap_drop, current=lambda r: list(r.get("capDrop") or []),
           change=RECREATE, elements="str"),
    Option("privileged", "bool", normalise=norm_bool, current=lambda r: bool(r.get("privileged")), change=RECREATE),
    Option("sysctls", "dict", normalise=norm_sysctls, current=lambda r: dict(r.get("sysctls") or {}),
           change=RECREATE),
    Option("ulimits", "list", normalise=norm_ulimits,
           current=lambda r: [ulimits.text_of(u) for u in r.get("ulimits") or []], change=RECREATE, elements="str"),
    Option("init", "bool", normalise=norm_bool, current=lambda r: bool(r.get("init")), change=RECREATE),
    Option("stop_signal", "str", normalise=norm_stop_signal, current=record_stop_signal, change=RECREATE),
    Option("groups", "list", normalise=norm_groups, current=lambda r: list(r.get("groupAdd") or []),
           change=RECREATE, elements="str"),
    Option("oom_score_adj", "int", normalise=norm_oom_score_adj, current=lambda r: r.get("oomScoreAdj") or 0,
           change=RECREATE),
    Option("labels", "dict", normalise=norm_labels, current=lambda r: dict(r.get("labels") or {}), change=RECREATE),
    Option("devices", "list", normalise=norm_devices,
           current=lambda r: [devices.text_of(d) for d in r.get("devices") or []], change=RECREATE, elements="str"),
    Option("memory_swap", "str", normalise=norm_memory_swap,
           current=lambda r: (r.get("resources") or {}).get("memory_swap"), change=UPDATE),
    Option("memory_reservation", "str", normalise=norm_memory_reservation,
           current=lambda r: (r.get("resources") or {}).get("memory_reservation"), change=UPDATE),
)
NAMES = tuple(o.name for o in OPTIONS)

# option -> (engine.create keyword, default of a new container)
CREATE_ARGS = {"capabilities": "cap_add", "cap_drop": "cap_drop", "privileged": "privileged", "sysctls": "sysctls",
               "ulimits": "ulimits", "init": "init", "stop_signal": "stop_signal", "groups": "group_add",
               "oom_score_adj": "oom_score_adj", "labels": "labels", "devices": "devices"}
DEFAULTS = {"capabilities": [], "cap_drop": [], "privileged": False, "sysctls": {}, "ulimits": [], "init": False,
            "groups": [], "oom_score_adj": 0, "labels": {}, "devices": []}


def create_kwargs(wish, missing):
    """The keyword arguments of engine.create for the options the task sets."""
    return dict((arg, wish[name]) for name, arg in CREATE_ARGS.items() if wish.get(name, missing) is not missing)


def predicted(out, image_config, missing):
    """Fill in what a new container gets for the options the task does not set."""
    for name, default in DEFAULTS.items():
        if out.get(name, missing) is missing:
            out[name] = default
    if out.get("stop_signal", missing) is missing:
        out["stop_signal"] = record_stop_signal({"stopSignal": (image_config or {}).get("StopSignal")})
    return out
