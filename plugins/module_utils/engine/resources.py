# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing and validation of container resource limits.

Plain Python (standard library only); knows nothing of Ansible or of cgroups.

The canonical form (what ``normalize_resources`` returns, what the container record stores
and what ``cgroups.Cgroup.read_limits`` reads back) is a dict with exactly these keys::

    memory       int bytes (a multiple of the page size, >= 6 MiB) or None (unlimited)
    cpus         float (0.01 .. host CPUs, 5 decimals at most) or None (unlimited)
    cpu_shares   int 2 .. 262144 or None (the default, 1024)
    cpuset_cpus  canonical CPU list such as "0-1" or "0,2-3", or None (all CPUs)
    pids_limit   positive int or None (unlimited)

and, only when set (``MEMORY_KEYS``, engine/memswap.py)::

    memory_swap  int bytes of memory + swap (>= memory) or -1 (unlimited swap); unset: no
                 swap beyond the memory limit; needs memory
    memory_reservation  int bytes (the soft limit, <= memory)

``None`` (and the empty string) always means "not set": unlimited / the default.
"""

from __future__ import annotations

import math
import os

from . import memswap
from .errors import MyDockerError
from .lazyre import lazy_re
from .validate import check_pids_limit

TYPE_CHECKING = False  # typing is ~5 ms of every command's start: annotations only (postponed)
if TYPE_CHECKING:
    from collections.abc import Iterable  # noqa: F401
    from typing import Any

RESOURCE_KEYS = ("memory", "cpus", "cpu_shares", "cpuset_cpus", "pids_limit")
# issue 11: in the canonical form only when set (a record or a caller comparing the five keys
# above sees what it always saw)
MEMORY_KEYS = ("memory_swap", "memory_reservation")
ALL_RESOURCE_KEYS = RESOURCE_KEYS + MEMORY_KEYS

MIN_MEMORY = 6 * 1024 * 1024          # Docker's minimum: 6 MiB
MAX_MEMORY = 1 << 62                  # beyond this the kernel means "unlimited"
MIN_CPUS = 0.01                       # CFS quota minimum is 1 ms per 100 ms period
CPU_SHARES_MIN = 2
CPU_SHARES_MAX = 262144
CPU_SHARES_DEFAULT = 1024
CPUS_ONLINE_FILE = "/sys/devices/system/cpu/online"
MAX_CPU_INDEX = 8191

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
# "100", "100b", "100m", "100mb", "100MiB", "1.5g", "512 k"
_MEMORY_RE = lazy_re(r"^(\d+(?:\.\d+)?|\.\d+)\s*(?:([kmgt])(?:i?b)?|(b))?$")
_INT_RE = lazy_re(r"^\s*-?\d+\s*$")


def _page_size():
    try:
        return os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 4096


def _unset(value):
    return value is None or (isinstance(value, str) and value.strip() == "")


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_memory(value: Any) -> int | None:
    """Memory size to bytes: 1048576, "512k", "100m", "100M", "100mb", "1g", "1.5GiB".

    The result is rounded down to the page size (as the kernel does) and must be at least
    6 MiB. Raises MyDockerError naming the option otherwise.
    """
    if _is_number(value):
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            raise MyDockerError("invalid memory %r: not a number" % (value,))
        number = value
    elif isinstance(value, str):
        text = value.strip().lower()
        if text.startswith("-"):
            raise MyDockerError("invalid memory %r: must be positive" % (value,))
        m = _MEMORY_RE.match(text)
        if not m:
            raise MyDockerError(
                "invalid memory %r: use a number of bytes or a size such as 512k, 100m, 1g" % (value,))
        unit = _UNITS[m.group(2) or m.group(3) or ""]
        number = float(m.group(1)) * unit if "." in m.group(1) else int(m.group(1)) * unit
    else:
        raise MyDockerError("invalid memory %r: use a number of bytes or a size such as 100m" % (value,))
    if number <= 0:
        raise MyDockerError("invalid memory %r: must be positive" % (value,))
    if number >= MAX_MEMORY:
        raise MyDockerError("invalid memory %r: too large (maximum %s)" % (value, format_bytes(MAX_MEMORY)))
    page = _page_size()
    nbytes = int(number) // page * page
    if nbytes < MIN_MEMORY:
        raise MyDockerError("invalid memory %r: minimum is 6MiB (%d bytes)" % (value, MIN_MEMORY))
    return nbytes


def parse_cpus(value: Any, host_cpus: int | None = None) -> float | None:
    """Number of CPUs as a float: "0.5", 1, "2". Must be in 0.01 .. the host's CPU count."""
    if host_cpus is None:
        host_cpus = os.cpu_count() or 1
    if _is_number(value):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise MyDockerError("invalid cpus %r: use a number such as 0.5 or 2" % (value,))
    else:
        raise MyDockerError("invalid cpus %r: use a number such as 0.5 or 2" % (value,))
    if math.isnan(number) or math.isinf(number):
        raise MyDockerError("invalid cpus %r: not a number" % (value,))
    if number <= 0:
        raise MyDockerError("invalid cpus %r: must be greater than 0" % (value,))
    if number < MIN_CPUS:
        raise MyDockerError("invalid cpus %r: minimum is %s" % (value, MIN_CPUS))
    if number > host_cpus:
        raise MyDockerError("invalid cpus %r: the host has only %d CPU%s"
                            % (value, host_cpus, "" if host_cpus == 1 else "s"))
    # The CFS quota is in microseconds per 100000 us period: 5 decimals is all there is.
    return round(number, 5)


def _parse_int(value, option):
    if _is_number(value):
        if isinstance(value, float) and not value.is_integer():
            raise MyDockerError("invalid %s %r: must be an integer" % (option, value))
        return int(value)
    if isinstance(value, str) and _INT_RE.match(value):
        return int(value)
    raise MyDockerError("invalid %s %r: must be an integer" % (option, value))


def parse_cpu_shares(value: Any) -> int | None:
    """Relative CPU weight (cgroup v1 cpu.shares): an integer in 2 .. 262144."""
    shares = _parse_int(value, "cpu_shares")
    if not CPU_SHARES_MIN <= shares <= CPU_SHARES_MAX:
        raise MyDockerError("invalid cpu_shares %r: must be between %d and %d"
                            % (value, CPU_SHARES_MIN, CPU_SHARES_MAX))
    return shares


def cpu_list_to_set(text: str, option: str = "cpuset_cpus") -> set[int]:
    """Parse a kernel CPU list ("0-2,4") into a set of ints."""
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str):
        raise MyDockerError("invalid %s %r: use a CPU list such as 0-1 or 0,2" % (option, text))
    cpus = set()
    stripped = text.strip()
    if not stripped:
        return cpus
    for part in stripped.split(","):
        lo, dash, hi = part.strip().partition("-")  # (\d+)(?:-(\d+))?, without re
        if not lo.isdecimal() or dash and not hi.isdecimal():
            raise MyDockerError("invalid %s %r: use a CPU list such as 0-1 or 0,2" % (option, text))
        first = int(lo)
        last = int(hi) if dash else first
        if last < first:
            raise MyDockerError("invalid %s %r: range %s goes backwards" % (option, text, part.strip()))
        if last > MAX_CPU_INDEX:
            raise MyDockerError("invalid %s %r: CPU %d is out of range" % (option, text, last))
        cpus.update(range(first, last + 1))
    return cpus


def cpu_set_to_list(cpus: Iterable[int]) -> str:
    """Format a set of ints the way the kernel does: {0,1,2,4} -> "0-2,4"."""
    parts = []
    ordered = sorted(cpus)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else "%d-%d" % (ordered[i], ordered[j]))
        i = j + 1
    return ",".join(parts)


def online_cpus(path: str | None = None) -> set[int]:
    """The host's online CPUs as a set of ints (from /sys/devices/system/cpu/online)."""
    try:
        with open(path or CPUS_ONLINE_FILE) as f:
            return cpu_list_to_set(f.read(), "online CPUs")
    except OSError:
        return set(range(os.cpu_count() or 1))


def parse_cpuset(value: Any, available: set[int] | None = None) -> str | None:
    """Validate a cpuset ("0-1", "0,1", "1") and return its canonical kernel form ("0-1").

    ``available``: CPU list string or iterable of ints the cpuset must stay within
    (default: the host's online CPUs).
    """
    cpus = cpu_list_to_set(value)
    if not cpus:
        raise MyDockerError("invalid cpuset_cpus %r: empty CPU list" % (value,))
    if available is None:
        available = online_cpus()
    elif isinstance(available, str):
        available = cpu_list_to_set(available, "available CPUs")
    available = set(available)
    missing = sorted(cpus - available)
    if missing:
        raise MyDockerError("invalid cpuset_cpus %r: CPU %s not available on this host (available: %s)"
                            % (value, cpu_set_to_list(missing), cpu_set_to_list(available) or "none"))
    return cpu_set_to_list(cpus)


def parse_pids_limit(value: Any) -> int | None:
    """Maximum number of processes: a positive int; -1, 0 or "max" mean unlimited (None)."""
    if isinstance(value, str) and value.strip().lower() in ("max", "unlimited"):
        return None
    limit = _parse_int(value, "pids_limit")
    if limit in (-1, 0):
        return None
    if limit < 0:
        raise MyDockerError("invalid pids_limit %r: must be positive, or -1/0 for unlimited" % (value,))
    return check_pids_limit(limit, value)


def normalize_resources(resources: dict[str, Any], available_cpus: set[int] | None = None,
                        host_cpus: int | None = None) -> dict[str, Any]:
    """Validate a dict of limits and return the canonical form (all five keys, None = unset).

    Accepts user spellings ("100m", "0.5", "0,1") as well as an already canonical dict, so
    ``normalize_resources(normalize_resources(x)) == normalize_resources(x)``.
    A cpu_shares of 1024 is the default and becomes None.
    """
    if resources is None:
        resources = {}
    if not isinstance(resources, dict):
        raise MyDockerError("invalid resources %r: expected a mapping" % (resources,))
    unknown = sorted(set(resources) - set(ALL_RESOURCE_KEYS))
    if unknown:
        raise MyDockerError("unknown resource option %s (known: %s)"
                            % (", ".join(repr(k) for k in unknown), ", ".join(ALL_RESOURCE_KEYS)))
    out = dict((key, None) for key in RESOURCE_KEYS)
    value = resources.get("memory")
    if not _unset(value):
        out["memory"] = parse_memory(value)
    value = resources.get("cpus")
    if not _unset(value):
        out["cpus"] = parse_cpus(value, host_cpus)
    value = resources.get("cpu_shares")
    if not _unset(value):
        shares = parse_cpu_shares(value)
        out["cpu_shares"] = None if shares == CPU_SHARES_DEFAULT else shares
    value = resources.get("cpuset_cpus")
    if not _unset(value):
        out["cpuset_cpus"] = parse_cpuset(value, available_cpus)
    value = resources.get("pids_limit")
    if not _unset(value):
        out["pids_limit"] = parse_pids_limit(value)
    more = {"memory_swap": memswap.parse_memory_swap(resources.get("memory_swap"), parse_memory),
            "memory_reservation": memswap.parse_memory_reservation(resources.get("memory_reservation"), parse_memory)}
    memswap.check_memory_swap(dict(out, **more))
    out.update((k, v) for k, v in more.items() if v is not None)
    return out


def format_bytes(n: int | None) -> str:
    """Human-readable size: 104857600 -> "100MiB", 1610612736 -> "1.5GiB", None -> "unlimited"."""
    if n is None:
        return "unlimited"
    n = int(n)
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(n) >= size:
            text = ("%.2f" % (n / size)).rstrip("0").rstrip(".")
            return text + unit
    return "%dB" % n
