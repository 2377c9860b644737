# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mount specs as Docker writes them, parsed and normalised (pure: nothing here touches the host).

* ``--mount type=bind|volume|tmpfs,source=S,target=T[,readonly][,tmpfs-size=N][,tmpfs-mode=M]``
  (or a dict of community.docker's shape: type, source, target, read_only, tmpfs_size, tmpfs_mode)
* ``--tmpfs PATH[:size=N,mode=M,...]``
* ``--shm-size N``

A bind or volume mount becomes the record's volume entry (the ``volumes`` key, the shape
``validate.parse_volume`` returns), a tmpfs the record's ``tmpfs`` entry
``{"container", "size", "mode", "options"}``. The engine and the planners call the same
functions, so check mode and a real run refuse the same input with the same words.
"""

from .errors import MyDockerError
from .lazyre import lazy_re
from .validate import _normpath, check_volume_destination, validate_volume_name

MOUNT_TYPES = ("bind", "volume", "tmpfs")
# the flags a --tmpfs may carry besides size= and mode= (as Docker passes them to mount(2))
TMPFS_FLAGS = ("ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev")
TMPFS_DEFAULT_FLAGS = ("noexec", "nosuid", "nodev")

_SIZE_RE = lazy_re(r"^(\d+)\s*([kmgt]?)i?b?$")
_MODE_RE = lazy_re(r"^0?[0-7]{1,4}$")
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_TRUE = ("", "1", "true", "yes")
_FALSE = ("0", "false", "no")


def parse_size(value, what):
    """Bytes from 1048576, "1m", "64M", "1g", "512k"; None stays None. ``what`` names the option."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise MyDockerError("invalid %s %r: use a number of bytes or a size such as 64m" % (what, value))
    if isinstance(value, int):
        n = value
    else:
        m = _SIZE_RE.match(str(value).strip().lower())
        if not m:
            raise MyDockerError("invalid %s %r: use a number of bytes or a size such as 64m" % (what, value))
        n = int(m.group(1)) * _UNITS[m.group(2)]
    if n <= 0:
        raise MyDockerError("invalid %s %r: must be positive" % (what, value))
    return n


def parse_mode(value, what="tmpfs mode"):
    """A file mode: 1777, "1777", "0755" (octal) -> int; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise MyDockerError("invalid %s %r: use an octal mode such as 1777" % (what, value))
    text = str(value).strip()  # an int as YAML reads 1777: its digits are meant as octal
    if not _MODE_RE.match(text):
        raise MyDockerError("invalid %s %r: use an octal mode such as 1777" % (what, value))
    return int(text, 8)


def _target(path, spec):
    if not isinstance(path, str) or not path.startswith("/"):
        raise MyDockerError("invalid mount %r: the target must be an absolute path" % (spec,))
    if ".." in path.split("/") or _normpath(path) == "/":
        raise MyDockerError("invalid mount %r: the target must stay inside the container's root" % (spec,))
    return check_volume_destination(_normpath(path), spec)


def tmpfs_entry(target, size=None, mode=None, options=None, spec=None):
    """The record's tmpfs entry, normalised."""
    opts = []
    for o in options or []:
        if o not in TMPFS_FLAGS:
            raise MyDockerError("invalid tmpfs option %r in %r: use size=, mode= or one of %s"
                                % (o, spec, ", ".join(TMPFS_FLAGS)))
        if o not in opts:
            opts.append(o)
    return {"container": _target(target, spec if spec is not None else target),
            "size": parse_size(size, "tmpfs size"), "mode": parse_mode(mode),
            "options": sorted(opts)}


def parse_tmpfs(spec):
    """'PATH[:size=1m,mode=1777,exec,...]' or a dict {"container"/"target", "size", "mode"} -> entry."""
    if isinstance(spec, dict):
        return tmpfs_entry(spec.get("container") or spec.get("target"), spec.get("size"), spec.get("mode"),
                           spec.get("options"), spec)
    if not isinstance(spec, str):
        raise MyDockerError("invalid tmpfs %r: expected PATH[:size=N,mode=M]" % (spec,))
    path, _sep, rest = spec.partition(":")
    size = mode = None
    opts = []
    for item in [x for x in rest.split(",") if x] if rest else []:
        key, eq, value = item.partition("=")
        if key == "size" and eq:
            size = value
        elif key == "mode" and eq:
            mode = value
        elif not eq:
            opts.append(key)
        else:
            raise MyDockerError("invalid tmpfs option %r in %r: use size=, mode= or one of %s"
                                % (item, spec, ", ".join(TMPFS_FLAGS)))
    return tmpfs_entry(path, size, mode, opts, spec)


def tmpfs_mount_args(entry):
    """(flags names, data) for mount(2) of one tmpfs entry: Docker's default nosuid, nodev, noexec
    unless the entry says otherwise; mode 1777 unless given."""
    flags = set(TMPFS_DEFAULT_FLAGS)
    for o in entry.get("options") or []:
        if o in ("exec", "suid", "dev"):
            flags.discard("no" + o)
        elif o in ("noexec", "nosuid", "nodev", "ro"):
            flags.add(o)
    data = "mode=%o" % (entry["mode"] if entry.get("mode") is not None else 0o1777)
    if entry.get("size"):
        data += ",size=%d" % entry["size"]
    return flags, data


def _kv(spec):
    out = {}
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if key in out:
            raise MyDockerError("invalid mount %r: %s given twice" % (spec, key))
        out[key] = value.strip() if eq else None
    return out


_ALIASES = {"src": "source", "dst": "target", "destination": "target", "ro": "readonly",
            "read_only": "readonly", "tmpfs_size": "tmpfs-size", "tmpfs_mode": "tmpfs-mode",
            "read-only": "readonly"}
_KNOWN = ("type", "source", "target", "readonly", "tmpfs-size", "tmpfs-mode", "volume-nocopy", "consistency",
          "bind-propagation")


def _bool(value, spec):
    if value is None or value is True:
        return True
    if value is False:
        return False
    text = str(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise MyDockerError("invalid mount %r: readonly must be true or false" % (spec,))


def parse_mount(spec):
    """One --mount (a 'k=v,...' string or a community.docker dict) -> ("volume", entry) for a bind or
    volume mount (a ``volumes`` entry) or ("tmpfs", entry)."""
    if isinstance(spec, dict):
        raw = {}
        for k, v in spec.items():
            if v is None:
                continue
            raw[_ALIASES.get(k, k)] = v
    elif isinstance(spec, str):
        raw = dict((_ALIASES.get(k, k), v) for k, v in _kv(spec).items())
    else:
        raise MyDockerError("invalid mount %r: expected type=...,source=...,target=..." % (spec,))
    for k in raw:
        if k not in _KNOWN:
            raise MyDockerError("invalid mount %r: unknown field %s" % (spec, k))
    mtype = raw.get("type") or "volume"
    if mtype not in MOUNT_TYPES:
        raise MyDockerError("invalid mount %r: type must be one of %s" % (spec, ", ".join(MOUNT_TYPES)))
    target = _target(raw.get("target"), spec)
    ro = _bool(raw.get("readonly", False), spec)
    source = raw.get("source") or ""
    if mtype == "tmpfs":
        if source:
            raise MyDockerError("invalid mount %r: a tmpfs mount takes no source" % (spec,))
        entry = tmpfs_entry(target, raw.get("tmpfs-size"), raw.get("tmpfs-mode"), ["ro"] if ro else [], spec)
        entry["mount"] = True  # from --mount (the module compares its mounts and tmpfs apart)
        return "tmpfs", entry
    if raw.get("tmpfs-size") is not None or raw.get("tmpfs-mode") is not None:
        raise MyDockerError("invalid mount %r: tmpfs-size and tmpfs-mode are for type=tmpfs" % (spec,))
    if mtype == "bind":
        if not isinstance(source, str) or not source.startswith("/"):
            raise MyDockerError("invalid mount %r: a bind mount needs an absolute source" % (spec,))
        host = _normpath(source)
        if host == "/":
            raise MyDockerError("invalid mount %r: the host's / cannot be a volume" % (spec,))
        return "volume", {"host": host, "container": target, "ro": ro, "mount": True}
    if source:
        validate_volume_name(source)
        return "volume", {"host": "", "container": target, "ro": ro, "type": "volume", "name": source, "mount": True}
    return "volume", {"host": "", "container": target, "ro": ro, "type": "volume", "name": "", "anonymous": True,
                      "mount": True}


def split_mounts(mounts):
    """--mount values -> (volume entries, tmpfs entries)."""
    vols, tmpfs = [], []
    for m in mounts or []:
        kind, entry = parse_mount(m)
        (tmpfs if kind == "tmpfs" else vols).append(entry)
    return vols, tmpfs


def check_unique_targets(volumes, tmpfs):
    """One mount per container path across volumes, binds and tmpfs."""
    seen = set()
    for e in list(volumes) + list(tmpfs):
        if e["container"] in seen:
            raise MyDockerError("duplicate mount point %s" % e["container"])
        seen.add(e["container"])


SHM_DEFAULT = 64 << 20


def parse_shm_size(value):
    return parse_size(value, "shm size")


def mount_dict(kind, e):
    """A bind/volume or tmpfs entry as community.docker's ``mounts`` element, canonical."""
    if kind == "tmpfs":
        return {"type": "tmpfs", "source": "", "target": e["container"], "read_only": "ro" in (e.get("options") or []),
                "tmpfs_size": e.get("size"), "tmpfs_mode": None if e.get("mode") is None else "%o" % e["mode"]}
    if e.get("type") == "volume":
        src = "" if e.get("anonymous") else e.get("name") or ""
        return {"type": "volume", "source": src, "target": e["container"], "read_only": bool(e.get("ro")),
                "tmpfs_size": None, "tmpfs_mode": None}
    return {"type": "bind", "source": e["host"], "target": e["container"], "read_only": bool(e.get("ro")),
            "tmpfs_size": None, "tmpfs_mode": None}


def volume_text(v):
    """One volume entry as the module compares it: 'HOST:CTR[:ro]', 'NAME:CTR[:ro]' or ':CTR' for
    an anonymous one (whose random name is not the user's wish)."""
    if v.get("type") == "volume":
        src = "" if v.get("anonymous") else v.get("name", "")
    else:
        src = v["host"]
    return "%s:%s%s" % (src, v["container"], ":ro" if v.get("ro") else "")


def tmpfs_text(t):
    """One tmpfs entry as the module compares it."""
    opts = []
    if t.get("size"):
        opts.append("size=%d" % t["size"])
    if t.get("mode") is not None:
        opts.append("mode=%o" % t["mode"])
    opts.extend(t.get("options") or [])
    return t["container"] + (":" + ",".join(opts) if opts else "")
