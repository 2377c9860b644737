# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``--ulimit NAME=SOFT[:HARD]`` (Docker) and ``NAME:SOFT[:HARD]`` (community.docker's module):
resource limits set with setrlimit(2) in the container's init before the user process starts
(before the capabilities are cut: raising a hard limit needs CAP_SYS_RESOURCE).

The canonical form, stored in the record, is a list sorted by name of
{"name", "soft", "hard"} with -1 for unlimited.
"""

import resource

from .errors import MyDockerError

# Docker's names (go-units ulimit.go) -> resource's constant names
LIMITS = {"as": "RLIMIT_AS", "core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA",
          "fsize": "RLIMIT_FSIZE", "locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK",
          "msgqueue": "RLIMIT_MSGQUEUE", "nice": "RLIMIT_NICE", "nofile": "RLIMIT_NOFILE",
          "nproc": "RLIMIT_NPROC", "rss": "RLIMIT_RSS", "rtprio": "RLIMIT_RTPRIO", "rttime": "RLIMIT_RTTIME",
          "sigpending": "RLIMIT_SIGPENDING", "stack": "RLIMIT_STACK"}


def _number(text, item, option):
    text = str(text).strip().lower()
    if text in ("unlimited", "-1"):
        return -1
    if not text.isdigit():
        raise MyDockerError("%s: invalid ulimit %r: limits are numbers (or unlimited)" % (option, item))
    return int(text)


def parse_ulimit(item, option="--ulimit"):
    """'nofile=1024:2048', 'nofile:1024:2048', 'nofile=1024' or {"name", "soft", "hard"}."""
    if isinstance(item, dict):
        name, soft, hard = item.get("name"), item.get("soft"), item.get("hard", item.get("soft"))
        text = "%s=%s:%s" % (name, soft, hard)
    elif isinstance(item, str):
        text = item.strip()
        if "=" in text:
            name, _sep, values = text.partition("=")
        else:
            name, _sep, values = text.partition(":")
        soft, _sep, hard = values.partition(":")
        if not values:
            raise MyDockerError("%s: invalid ulimit %r: use NAME=SOFT[:HARD]" % (option, item))
        hard = hard if hard != "" else soft
    else:
        raise MyDockerError("%s: invalid ulimit %r: use NAME=SOFT[:HARD]" % (option, item))
    name = str(name).strip().lower()
    if name not in LIMITS:
        raise MyDockerError("%s: invalid ulimit %r: unknown limit %r (known: %s)"
                            % (option, item, name, ", ".join(sorted(LIMITS))))
    if soft is None or hard is None:
        raise MyDockerError("%s: invalid ulimit %r: use NAME=SOFT[:HARD]" % (option, item))
    soft, hard = _number(soft, item, option), _number(hard, item, option)
    if hard != -1 and (soft == -1 or soft > hard):
        raise MyDockerError("%s: invalid ulimit %r: the soft limit is above the hard limit" % (option, item))
    return {"name": name, "soft": soft, "hard": hard}


def parse_ulimits(items, option="--ulimit"):
    """A list of ulimits -> canonical list (the last one of a name wins, as in Docker)."""
    if items is None:
        return []
    if not isinstance(items, (list, tuple)):
        raise MyDockerError("%s: expected a list of NAME=SOFT[:HARD]" % option)
    by_name = {}
    for item in items:
        u = parse_ulimit(item, option)
        by_name[u["name"]] = u
    return [by_name[n] for n in sorted(by_name)]


def text_of(u):
    """The module's spelling: 'nofile:1024:2048'."""
    return "%s:%d:%d" % (u["name"], u["soft"], u["hard"])


def _rlim(n):
    return resource.RLIM_INFINITY if n == -1 else n


def apply(ulimits, setrlimit=resource.setrlimit):
    """setrlimit for each (-1: RLIM_INFINITY); a failure names the limit."""
    def conv(n):
        return resource.RLIM_INFINITY if n == -1 else n

    for u in ulimits or []:
        try:
            setrlimit(getattr(resource, LIMITS[u["name"]]), (_rlim(u["soft"]), _rlim(u["hard"])))
        except (OSError, ValueError) as e:
            raise MyDockerError("cannot set ulimit %s: %s" % (text_of(u), getattr(e, "strerror", None) or e))
