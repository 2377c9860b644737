# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``--sysctl K=V``: only the kernel parameters that belong to the container's own namespaces
(as runc's validator allows them): ``net.*`` (the container always has a private network
namespace), the IPC namespace's ``kernel.shm*``, ``kernel.msg*``, ``kernel.sem`` and
``fs.mqueue.*``. Anything else would change the host and is refused with one line.

``apply`` writes them in the container's init, after it entered its namespaces and before the
root filesystem (whose /proc/sys is read-only) and the user process: /proc/sys/net and the IPC
parameters are those of the writing process's namespaces.
"""

import os

from .errors import MyDockerError
from .lazyre import lazy_re

IPC_KEYS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
            "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced")
IPC_PREFIXES = ("fs.mqueue.",)
NET_PREFIX = "net."
_KEY_RE = lazy_re(r"^[a-z0-9_]+(?:\.[A-Za-z0-9_@:+-]+)+$")


def check_key(key, option="--sysctl"):
    """``key`` if it is one of the container's namespaced parameters; MyDockerError otherwise."""
    if not isinstance(key, str) or not _KEY_RE.match(key) or ".." in key:
        raise MyDockerError("%s: invalid kernel parameter name %r" % (option, key))
    if key in IPC_KEYS or key.startswith(IPC_PREFIXES) or key.startswith(NET_PREFIX):
        return key
    raise MyDockerError("%s: %s is not a namespaced kernel parameter (allowed: net.*, kernel.shm*, "
                        "kernel.msg*, kernel.sem, fs.mqueue.*): it would change the host" % (option, key))


def parse_sysctls(items, option="--sysctl"):
    """['K=V', ...] or {K: V} -> {K: V} (values as strings, sorted keys)."""
    if items is None:
        return {}
    if isinstance(items, dict):
        pairs = list(items.items())
    elif isinstance(items, (list, tuple)):
        pairs = []
        for item in items:
            key, sep, value = str(item).partition("=")
            if not sep:
                raise MyDockerError("%s: %r must be KEY=VALUE" % (option, item))
            pairs.append((key.strip(), value))
    else:
        raise MyDockerError("%s: expected KEY=VALUE items" % option)
    out = {}
    for key, value in pairs:
        if isinstance(value, bool):
            value = "1" if value else "0"
        if value is None or not isinstance(value, (str, int, float)) or "\n" in str(value):
            raise MyDockerError("%s: invalid value %r for %s" % (option, value, key))
        out[check_key(key, option)] = str(value).strip()
    return dict(sorted(out.items()))


def path_of(key, proc_sys="/proc/sys"):
    return os.path.join(proc_sys, *key.split("."))


def apply(sysctls, proc_sys="/proc/sys"):
    """Write each parameter; a failure names it."""
    for key, value in sorted((sysctls or {}).items()):
        check_key(key)
        try:
            with open(path_of(key, proc_sys), "w") as f:
                f.write(value)
        except OSError as e:
            raise MyDockerError("cannot set sysctl %s=%s: %s" % (key, value, e.strerror or e))
