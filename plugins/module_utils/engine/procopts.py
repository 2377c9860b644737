# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The process and security options of a container (issue 11), in one place for the hot files:

- ``normalize`` checks what ``create`` was given and returns the record keys (``capAdd``,
  ``capDrop``, ``privileged``, ``sysctls``, ``ulimits``, ``init``, ``groupAdd``,
  ``oomScoreAdj``, ``labels``, and ``stopSignal`` when one was given);
- ``extend_spec`` carries them from the record into the spec the container's init reads (a
  record written before these options, without the keys, gives the spec it always gave);
- ``before_rootfs``, ``before_caps``, ``keep_caps`` and ``extra_groups`` are the init's steps, in
  the kernel's order: sysctls in the new namespaces first, then rlimits and oom_score_adj while
  the init still has every capability, the capability sets last before the user switch and exec.
"""


from . import caps, devices, imageconfig, ulimits  # ulimits and caps: used in the init after its pivot_root
from .errors import MyDockerError
from .lazyre import lazy_re
from .syscalls import PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, PR_CAPBSET_DROP

_GROUP_RE = lazy_re(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
OOM_MIN, OOM_MAX = -1000, 1000


def signal_name(value, option="--stop-signal"):
    """'TERM', 'sigterm', '15' -> 'SIGTERM' (a number without a name stays a number)."""
    try:
        n = imageconfig.parse_signal(value)
    except MyDockerError:
        raise MyDockerError("%s: invalid signal %r" % (option, value))
    import signal  # its enum names the number (--stop-signal only: ~3 ms of every other start)
    try:
        return signal.Signals(n).name
    except ValueError:
        return str(n)


def parse_groups(groups, option="--group-add"):
    if groups is None:
        return []
    if not isinstance(groups, (list, tuple)):
        raise MyDockerError("%s: expected a list of group names or ids" % option)
    out = []
    for g in groups:
        text = str(g).strip() if isinstance(g, (str, int)) and not isinstance(g, bool) else None
        if not text or not _GROUP_RE.match(text) or (text.isdigit() and int(text) > 2 ** 31 - 1):
            raise MyDockerError("%s: invalid group %r" % (option, g))
        if text not in out:
            out.append(text)
    return out


def parse_oom_score_adj(value, option="--oom-score-adj"):
    if value is None or value == "":
        return None
    try:
        n = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        n = None
    if n is None or not OOM_MIN <= n <= OOM_MAX:
        raise MyDockerError("%s: invalid value %r: must be an integer from -1000 to 1000" % (option, value))
    return n


def _sysctl():
    from . import sysctl  # only with --sysctl (a plain start loads neither it nor filters, init)
    return sysctl


def _labels(labels, label_files):
    if not labels and not label_files:
        return {}  # what filters.parse_labels makes of them
    from . import filters
    return filters.parse_labels(labels, label_files)


def normalize(cap_add=None, cap_drop=None, privileged=False, sysctls=None, ulimits_=None, init_=False,
              stop_signal=None, group_add=None, oom_score_adj=None, labels=None, label_files=None, devices_=None):
    """The record keys for these options; MyDockerError (one line naming the option) for bad input."""
    out = {
        "capAdd": caps.parse_caps(cap_add, "--cap-add"),
        "capDrop": caps.parse_caps(cap_drop, "--cap-drop"),
        "privileged": bool(privileged),
        "sysctls": {} if sysctls in (None, [], {}) else _sysctl().parse_sysctls(sysctls),
        "ulimits": ulimits.parse_ulimits(ulimits_),
        "init": bool(init_),
        "groupAdd": parse_groups(group_add),
        "oomScoreAdj": parse_oom_score_adj(oom_score_adj),
        "labels": _labels(labels, label_files),
        "devices": devices.parse_devices(devices_),
    }
    if out["init"]:
        from . import init
        init.tini_path()
    have = caps.bounding_set()
    missing = [c for c in out["capAdd"] if c != caps.ALL and have is not None and caps.CAP_NUMBERS[c] not in have]
    if missing:
        raise MyDockerError("--cap-add: %s not in this runtime's own bounding set: it cannot be given"
                            % ", ".join(missing))
    if stop_signal not in (None, ""):
        out["stopSignal"] = signal_name(stop_signal)
    return out


SPEC_KEYS = ("capAdd", "capDrop", "privileged", "sysctls", "ulimits", "groupAdd", "oomScoreAdj")


def extend_spec(spec, rec):
    """``spec`` (lifecycle.spec_of) with the record's process options; the init wraps the command."""
    for key in SPEC_KEYS:
        if rec.get(key) not in (None, [], {}, False):
            spec[key] = rec.get(key)
    if rec.get("privileged"):
        spec["seccomp"] = "unconfined"
    if rec.get("devices") or rec.get("privileged"):
        explicit = list(rec.get("devices") or [])
        named = set(d["container"] for d in explicit)
        host = [dict(d, fromHost=True) for d in devices.host_devices() if d["container"] not in named] \
            if rec.get("privileged") else []
        spec["devices"] = host + explicit
    if rec.get("init"):
        from . import init
        spec = init.wrap(spec)
    return spec


def device_rules(rec):
    """The device cgroup rules of the record beyond the default allowlist."""
    return devices.cgroup_rules(rec)


def before_rootfs(spec, proc_sys="/proc/sys"):
    """In the container's namespaces, before its root: the sysctls (the host's /proc is still
    writable here; what it shows of net.* and the IPC parameters is the container's)."""
    if spec.get("sysctls"):
        _sysctl().apply(spec["sysctls"], proc_sys)  # before the init's pivot_root: it can still import


def before_caps(spec, setrlimit=None, oom_file="/proc/self/oom_score_adj"):
    """While the init still has every capability: rlimits, oom_score_adj."""
    if spec.get("ulimits"):
        if setrlimit is None:
            ulimits.apply(spec["ulimits"])
        else:
            ulimits.apply(spec["ulimits"], setrlimit)
    if spec.get("oomScoreAdj") is not None:
        try:
            with open(oom_file, "w") as f:
                f.write(str(int(spec["oomScoreAdj"])))
        except OSError as e:
            raise MyDockerError("cannot set oom_score_adj %s: %s" % (spec["oomScoreAdj"], e.strerror or e))


def keep_caps(spec, last_cap, status_file="/proc/self/status"):
    """The capability numbers to keep; None (Docker's fourteen) for a spec without the options."""
    if not (spec.get("capAdd") or spec.get("capDrop") or spec.get("privileged")):
        return None
    return caps.capability_set(spec.get("capAdd"), spec.get("capDrop"), spec.get("privileged"), last_cap,
                               caps.bounding_set(status_file))


def cut_capabilities(spec, syscalls, become):
    """The capability sets cut to what the container keeps, and ``become()`` (the user switch,
    returning the uid or None) in between as runc orders them: the bounding and ambient sets
    first, the user switch while CAP_SETUID/CAP_SETGID are still effective, the effective,
    permitted and inheritable sets last (a uid other than 0 lost them all in setresuid, as in
    Docker). A spec without the options keeps the steps it always had."""
    keep = keep_caps(spec, syscalls.last_cap())
    if keep is None:
        syscalls.drop_capabilities()
        become()
        return
    for cap in range(syscalls.last_cap() + 1):
        if cap not in keep:
            try:
                syscalls.prctl(PR_CAPBSET_DROP, cap)
            except OSError:
                pass
    try:
        syscalls.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError:
        pass
    if not become():
        syscalls.capset(sum(1 << c for c in keep))


def extra_groups(spec, group_file="/etc/group"):
    """The gids of ``--group-add`` (names resolved in the container's /etc/group)."""
    wanted = spec.get("groupAdd") or []
    if not wanted:
        return []
    by_name = {}
    try:
        with open(group_file, errors="replace") as f:
            for line in f:
                parts = line.strip().split(":")
                if len(parts) >= 3 and parts[2].isdigit():
                    by_name.setdefault(parts[0], int(parts[2]))
    except OSError:
        pass
    gids = []
    for g in wanted:
        if str(g).isdigit():
            gids.append(int(g))
        elif g in by_name:
            gids.append(by_name[g])
        else:
            raise MyDockerError("unable to find group %s: no matching entries in group file" % g)
    return gids
