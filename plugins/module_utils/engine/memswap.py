# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``--memory-swap`` and ``--memory-reservation`` (issue 11): parsing, and the cgroup values of
v1 (memory.memsw.limit_in_bytes, memory.soft_limit_in_bytes) and v2 (memory.swap.max,
memory.low), written and read back in the canonical form of ``resources``.

As in Docker: memory_swap is the total of memory and swap, -1 allows unlimited swap, and it
needs a memory limit no larger than itself. Without it a container keeps what it always had
here: no swap beyond its memory limit. memory_reservation is a soft limit below the memory
limit. Both change live (``update``), as Docker's do.
"""

from .errors import MyDockerError


def _memory(value, option, parse_memory):
    try:
        return parse_memory(value)
    except MyDockerError as e:
        raise MyDockerError(str(e).replace("invalid memory", "invalid %s" % option, 1))


def _unset(value):
    return value is None or (isinstance(value, str) and value.strip() == "")


def parse_memory_swap(value, parse_memory):
    """None (unset), -1 (unlimited: -1 or 'unlimited'), or bytes (``parse_memory``: resources')."""
    if _unset(value):
        return None
    if value in (-1, "-1") or (isinstance(value, str) and value.strip().lower() in ("unlimited", "max")):
        return -1
    return _memory(value, "memory_swap", parse_memory)


def parse_memory_reservation(value, parse_memory):
    if _unset(value) or value in (0, "0"):
        return None
    return _memory(value, "memory_reservation", parse_memory)


def check_memory_swap(res):
    """The combinations Docker refuses."""
    memory, swap, reservation = res.get("memory"), res.get("memory_swap"), res.get("memory_reservation")
    if swap is not None and memory is None:
        raise MyDockerError("invalid memory_swap: it needs a memory limit too (memory_swap is memory plus swap)")
    if swap not in (None, -1) and swap < memory:
        raise MyDockerError("invalid memory_swap %d: it must be at least the memory limit (%d bytes)" % (swap, memory))
    if reservation is not None and memory is not None and reservation > memory:
        raise MyDockerError("invalid memory_reservation %d: it must not be above the memory limit (%d bytes)"
                            % (reservation, memory))


# ----------------------------------------------------------------- cgroup v1

def v1_memsw_text(memory, swap):
    """memory.memsw.limit_in_bytes for (memory, memory_swap)."""
    if memory is None or swap == -1:
        return "-1"
    return str(memory if swap is None else swap)


def v1_write_order(current_limit, new_memsw):
    """True: write memsw first. The kernel wants memsw >= limit at every moment: memsw first when
    the new memsw is not below the current limit, else the limit first."""
    if new_memsw is None:  # unlimited
        return True
    return current_limit is not None and new_memsw >= current_limit


def v1_read_swap(limit, memsw):
    """(limit, memsw) as the v1 files say (None: unlimited) -> canonical memory_swap."""
    if limit is None:
        return None
    if memsw is None:
        return -1
    return None if memsw == limit else memsw


# ----------------------------------------------------------------- cgroup v2

def v2_swap_text(memory, swap):
    """memory.swap.max (the swap alone, beyond memory.max)."""
    if memory is None or swap == -1:
        return "max"
    return "0" if swap is None else str(swap - memory)


def v2_read_swap(memory, text):
    if memory is None or text is None:
        return None
    if text == "max":
        return -1
    n = int(text)
    return None if n == 0 else memory + n
