# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure validators shared by the engine and the planners, so check mode and a real run refuse
bad input with the same words. Standard library only; nothing here touches the host."""

import os

from .errors import MyDockerError
from .lazyre import lazy_re

# Names that can never escape the state root: no '/', no '..', no leading dot or dash
# (``[A-Za-z0-9][A-Za-z0-9_.-]{0,127}``, the whole string: matched without re on every start)
_NAME_FIRST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NAME_CHARS = _NAME_FIRST | frozenset("_.-")


def is_name(name):
    return 0 < len(name) <= 128 and name[0] in _NAME_FIRST and _NAME_CHARS.issuperset(name)


def validate_name(name, what="name"):
    """Reject names that could escape the state root or break a file name."""
    if not isinstance(name, str) or not is_name(name) or ".." in name:
        raise MyDockerError(
            "invalid %s %r: use letters, digits, '_', '.', '-' (max 128), starting with a letter or digit"
            % (what, name))
    return name


# ---------------------------------------------------------------------------------------------
# container options: create, update and the module's planner call these, so a check-mode plan
# and a real run refuse the same input with the same words

_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME_RE = lazy_re(r"^%s(\.%s)*$" % (_LABEL, _LABEL))


def validate_hostname(hostname):
    """An RFC 1123 host name (dot-separated labels of letters, digits and inner '-')."""
    if not isinstance(hostname, str) or not _HOSTNAME_RE.match(hostname):
        raise MyDockerError("invalid hostname %r" % (hostname,))
    return hostname


def validate_workdir(path):
    """A working directory: absolute, and no '..' that could leave the container's root."""
    if not isinstance(path, str) or not path.startswith("/") or ".." in path.split("/"):
        raise MyDockerError("invalid working directory %r: must be an absolute path inside the container"
                            % (path,))
    return path


# Docker's rule for volume names; it keeps '/', '..' and NUL out, so a name is one directory
# under <state root>/volumes
_VOLUME_NAME_RE = lazy_re(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


def validate_volume_name(name):
    if not isinstance(name, str) or not _VOLUME_NAME_RE.match(name) or ".." in name or len(name) > 255:
        raise MyDockerError("invalid volume name %r: use [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least 2 characters)"
                            % (name,))
    return name


def _named_volume(spec, name, ctr, ro):
    """A named (or, with no name, anonymous) volume's entry; its host path is the engine's to fill."""
    if not ctr.startswith("/") or ".." in ctr.split("/") or _normpath(ctr) == "/":
        raise MyDockerError("invalid volume %r: the container path must be absolute and inside the container's "
                            "root" % (spec,))
    ctr = check_volume_destination(_normpath(ctr), spec)
    if name:
        try:
            validate_volume_name(name)
        except MyDockerError:
            raise MyDockerError("invalid volume %r: a host path must be absolute, a volume name "
                                "[a-zA-Z0-9][a-zA-Z0-9_.-]+" % (spec,))
        return {"host": "", "container": ctr, "ro": ro, "type": "volume", "name": name}
    return {"host": "", "container": ctr, "ro": ro, "type": "volume", "name": "", "anonymous": True}


def parse_volume(spec):
    """'HOST:CTR[:ro|rw]', 'NAME:CTR[:ro|rw]', '/CTR' (anonymous) or a dict -> {"host", "container", "ro"}
    (a named volume: also "type": "volume", "name"; the host path is filled by engine.volumes)."""
    if isinstance(spec, dict):
        if spec.get("type") == "volume":
            return _named_volume(spec, spec.get("name") or "", spec.get("container", ""), bool(spec.get("ro")))
        host, ctr, ro = spec.get("host", ""), spec.get("container", ""), bool(spec.get("ro"))
    else:
        if not isinstance(spec, str):
            raise MyDockerError("invalid volume %r: expected HOST:CONTAINER[:ro]" % (spec,))
        parts = spec.split(":")
        if len(parts) == 3 and parts[2] in ("ro", "rw"):
            host, ctr, ro = parts[0], parts[1], parts[2] == "ro"
        elif len(parts) == 2:
            host, ctr, ro = parts[0], parts[1], False
        elif len(parts) == 1 and spec.startswith("/"):
            return _named_volume(spec, "", spec, False)
        else:
            raise MyDockerError("invalid volume %r: expected HOST:CONTAINER[:ro]" % spec)
        if host and not host.startswith("/"):
            return _named_volume(spec, host, ctr, ro)
    if not host.startswith("/") or not ctr.startswith("/"):
        raise MyDockerError("invalid volume %r: both paths must be absolute" % spec)
    host = _normpath(host)
    if host == "/":
        raise MyDockerError("invalid volume %r: the host's / cannot be a volume" % spec)
    if ".." in ctr.split("/") or _normpath(ctr) == "/":
        raise MyDockerError("invalid volume %r: the container path must stay inside the container's root"
                            % spec)
    ctr = check_volume_destination(_normpath(ctr), spec)
    return {"host": host, "container": ctr, "ro": ro}


def _normpath(path):
    """os.path.normpath, and one leading slash ("//proc" is /proc: POSIX keeps two)."""
    return "/" + os.path.normpath(path).lstrip("/")


# The container's /proc and /sys (and below) and its /dev are the runtime's: a bind over them
# would undo the masks, the read-only paths and the device allowlist (runc refuses /proc and
# /sys destinations and their children too).
RUNTIME_TREES = ("/proc", "/sys")
RUNTIME_DIRS = ("/dev",)


def check_volume_destination(ctr, spec=None):
    """``ctr``: a normalised absolute container path; refuse /proc, /sys and below, /dev."""
    for tree in RUNTIME_TREES:
        if ctr == tree or ctr.startswith(tree + "/"):
            raise MyDockerError("invalid volume %r: cannot mount over %s (or inside it) in the container"
                                % (spec if spec is not None else ctr, tree))
    if ctr in RUNTIME_DIRS:
        raise MyDockerError("invalid volume %r: cannot mount over %s in the container"
                            % (spec if spec is not None else ctr, ctr))
    return ctr


def parse_restart(value):
    """'no' | 'always' | 'unless-stopped' | 'on-failure[:N]' -> {"name", "maxRetries"}.

    unless-stopped is kept by its name: restarted like always, never after a stop a user asked
    for (``stopRequested``; the engine restarts nothing at boot or adoption)."""
    value = value or "no"
    name, _sep, count = value.partition(":")
    if name in ("no", "always", "unless-stopped") and not count:
        return {"name": name, "maxRetries": 0}
    if name == "on-failure":
        try:
            n = int(count) if count else 0
        except ValueError:
            n = -1
        if n >= 0:
            return {"name": name, "maxRetries": n}
    raise MyDockerError("invalid restart policy %r: use no, always, unless-stopped or on-failure[:N]" % value)


def check_unique_volumes(volumes):
    """``volumes``: parsed volumes ({"host", "container", "ro"}); one per container path."""
    seen = set()
    for v in volumes:
        if v["container"] in seen:
            raise MyDockerError("duplicate volume for container path %s" % v["container"])
        seen.add(v["container"])
    return volumes


def check_auto_remove(auto_remove, policy):
    """``--rm`` (auto_remove) and a restart policy other than no exclude each other.
    ``policy``: the policy's name (no, always, on-failure) or None."""
    if auto_remove and policy not in (None, "", "no"):
        raise MyDockerError("--rm (auto remove) cannot be combined with restart policy %s" % policy)


def check_needs_network(network, ports=None, ip=None):
    """Published ports and a fixed IP address only exist on a network."""
    if network:
        return
    if ports:
        raise MyDockerError("publishing ports needs a network")
    if ip:
        raise MyDockerError("a fixed IP address needs a network")


# The kernel refuses pids.max above PID_MAX_LIMIT (4194304, 2^22).
PIDS_MAX = 4194304


def check_pids_limit(limit, value=None):
    """A pids limit the kernel will take: 1 .. PIDS_MAX (``value``: what the user wrote)."""
    if limit > PIDS_MAX:
        raise MyDockerError("invalid pids_limit %r: at most %d (the kernel's maximum number of processes)"
                            % (limit if value is None else value, PIDS_MAX))
    return limit


def check_flag_value(flag, value):
    """A command-line limit given with an empty value (``--memory ''``) is a mistake, not "no
    limit": leave the flag out for none."""
    if isinstance(value, str) and not value.strip():
        raise MyDockerError("invalid %s %r: empty (leave the option out for no limit)" % (flag, value))
    return value


# ---------------------------------------------------------------------------------------------
# networks

def check_subnet_host_bits(cidr):
    """``10.1.2.5/24`` names an address, not a network: refused as Docker refuses it (the
    ``mydocker_network`` module normalises it instead, as its documentation says)."""
    import ipaddress
    if isinstance(cidr, str) and "/" in cidr:
        try:
            net = ipaddress.ip_network(cidr.strip(), strict=False)
        except ValueError:
            return cidr  # not a subnet at all: the parser says so
        if str(net.network_address) != cidr.strip().split("/")[0]:
            raise MyDockerError("invalid subnet %s: it has host bits set (the network is %s)" % (cidr, net))
    return cidr


NETWORK_DRIVERS = ("bridge",)


def validate_network_driver(driver):
    if driver not in NETWORK_DRIVERS:
        raise MyDockerError("unsupported network driver %r: only %s" % (driver, ", ".join(NETWORK_DRIVERS)))
    return driver
