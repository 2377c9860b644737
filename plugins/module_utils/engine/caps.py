# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capability names and the container's capability set (``--cap-add``, ``--cap-drop``,
``--privileged``), computed as Docker's ``TweakCapabilities`` does:

- privileged: every capability the kernel knows;
- ``ALL`` in the added ones: every capability but the dropped ones;
- ``ALL`` in the dropped ones: only the added ones;
- otherwise Docker's fourteen, minus the dropped, plus the added.

Names are accepted with or without ``CAP_`` in any case; they are stored as ``CAP_NAME`` (and
``ALL``). Pure: the set is applied by ``syscalls.drop_capabilities`` in the container's init.
"""

from .errors import MyDockerError
from .syscalls import DEFAULT_CAPS

# capability(7), in kernel order (include/uapi/linux/capability.h)
CAP_NUMBERS = dict((name, i) for i, name in enumerate((
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE")))
ALL = "ALL"


def normalize_cap(name, option="--cap-add"):
    """'net_admin', 'NET_ADMIN', 'CAP_NET_ADMIN' -> 'CAP_NET_ADMIN'; 'all' -> 'ALL'."""
    if not isinstance(name, str) or not name.strip():
        raise MyDockerError("%s: invalid capability %r" % (option, name))
    text = name.strip().upper()
    if text == ALL:
        return ALL
    if not text.startswith("CAP_"):
        text = "CAP_" + text
    if text not in CAP_NUMBERS:
        raise MyDockerError("%s: unknown capability %r" % (option, name))
    return text


def parse_caps(names, option="--cap-add"):
    """A list (or one comma-separated string) of names -> the sorted canonical list, no repeats."""
    if names is None:
        return []
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    if not isinstance(names, (list, tuple)):
        raise MyDockerError("%s: expected a list of capability names" % option)
    return sorted(set(normalize_cap(n, option) for n in names))


def bounding_set(status_file="/proc/self/status"):
    """The capability numbers in this process's bounding set (None when it cannot be read)."""
    try:
        with open(status_file) as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    mask = int(line.split(":", 1)[1].strip(), 16)
                    return set(i for i in range(64) if mask >> i & 1)
    except (OSError, ValueError):
        pass
    return None


def capability_set(cap_add=None, cap_drop=None, privileged=False, last_cap=40, available=None):
    """The capability numbers the container keeps (bounding, effective, permitted, inheritable).
    ``available``: the bounding set of the runtime (``privileged`` and ``ALL`` mean every one of
    those: a runtime that itself runs without some capability cannot give it)."""
    every = set(range(last_cap + 1))
    if available is not None:
        every &= set(available)
    if privileged:
        return every
    adds = parse_caps(cap_add, "--cap-add")
    drops = parse_caps(cap_drop, "--cap-drop")

    def number(names):
        return set(CAP_NUMBERS[n] for n in names if n != ALL) & every

    if ALL in adds:
        return every - number(drops)
    if ALL in drops:
        return number(adds)
    return (set(DEFAULT_CAPS.values()) - number(drops)) | number(adds)


def names_of(numbers):
    """Capability numbers -> their names, in kernel order (for inspect and tests)."""
    by_number = dict((v, k) for k, v in CAP_NUMBERS.items())
    return [by_number.get(n, "CAP_%d" % n) for n in sorted(numbers)]
