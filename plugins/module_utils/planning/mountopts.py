# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mydocker_container's storage options (volumes, mounts, tmpfs, read_only, shm_size): each
normalised (the same wish written two ways is the same value) and read back from a container
record in that same canonical form. The parsing is engine.mounts' and engine.validate's, so
check mode and a real run refuse the same input with the same words."""

from ..engine import mounts
from ..engine.errors import MyDockerError
from ..engine.validate import check_unique_volumes, parse_volume


def _fail(option, msg):
    raise MyDockerError("%s: %s" % (option, msg))


def _wrap(option, fn, *args):
    try:
        return fn(*args)
    except MyDockerError as e:
        text = str(e)
        raise MyDockerError(text if text.startswith(option + ":") else "%s: %s" % (option, text))


def _by_target(items, key):
    return sorted(items, key=lambda x: x[key])


def norm_volumes(value, params=None):
    """['HOST:CTR[:ro|rw]', 'NAME:CTR[:ro|rw]', ...] -> sorted canonical strings ('/h:/c', 'name:/c:ro').
    A bare container path (an anonymous volume) is refused here: use mounts (type volume, no source)."""
    if not isinstance(value, (list, tuple)):
        _fail("volumes", "expected a list of HOST:CONTAINER[:ro] strings")
    vols = []
    for v in value:
        parsed = _wrap("volumes", parse_volume, v)
        if parsed.get("anonymous"):
            _fail("volumes", "invalid volume %r: expected HOST:CONTAINER[:ro] or NAME:CONTAINER[:ro] (an "
                             "anonymous volume: mounts with type volume and no source)" % (v,))
        vols.append(parsed)
    _wrap("volumes", check_unique_volumes, vols)
    return [mounts.volume_text(v) for v in _by_target(vols, "container")]


def record_volumes(rec):
    """The record's -v entries (not --mount ones, not the anonymous volumes of the image's Volumes)."""
    return [mounts.volume_text(v) for v in _by_target(rec.get("volumes") or [], "container")
            if not v.get("mount") and not v.get("anonymous")]


def norm_mounts(value, params=None):
    """community.docker's mounts: [{type, source, target, read_only, tmpfs_size, tmpfs_mode}] ->
    canonical dicts sorted by target (sizes in bytes, modes as octal strings)."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(m, dict) for m in value):
        _fail("mounts", "expected a list of dicts with type, source, target")
    out = []
    for m in value:
        kind, entry = _wrap("mounts", mounts.parse_mount, dict(m))
        out.append(mounts.mount_dict(kind, entry))
    targets = [m["target"] for m in out]
    if len(set(targets)) != len(targets):
        _fail("mounts", "two mounts at the same target")
    return _by_target(out, "target")


def record_mounts(rec):
    out = [mounts.mount_dict("volume", v) for v in rec.get("volumes") or [] if v.get("mount")]
    out += [mounts.mount_dict("tmpfs", t) for t in rec.get("tmpfs") or [] if t.get("mount")]
    return _by_target(out, "target")


def norm_tmpfs(value, params=None):
    """['PATH[:size=N,mode=M,...]', ...] or {PATH: 'size=N,...'} -> sorted canonical strings."""
    if isinstance(value, dict):
        value = ["%s:%s" % (k, v) if v else k for k, v in value.items()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(t, str) for t in value):
        _fail("tmpfs", "expected a list of PATH[:size=N,mode=M] strings")
    entries = [_wrap("tmpfs", mounts.parse_tmpfs, t) for t in value]
    return sorted(mounts.tmpfs_text(t) for t in entries)


def record_tmpfs(rec):
    return sorted(mounts.tmpfs_text(t) for t in rec.get("tmpfs") or [] if not t.get("mount"))


def norm_read_only(value, params=None):
    if not isinstance(value, bool):
        _fail("read_only", "expected a boolean")
    return value


def record_read_only(rec):
    return bool(rec.get("readOnly"))


def norm_shm_size(value, params=None):
    """'64m', 67108864 -> bytes."""
    return _wrap("shm_size", mounts.parse_shm_size, value)


def record_shm_size(rec):
    return rec.get("shmSize") or mounts.SHM_DEFAULT


# the create defaults of the options above, for the predicted configuration of a new container
DEFAULTS = (("mounts", []), ("tmpfs", []), ("read_only", False), ("shm_size", mounts.SHM_DEFAULT))
# option -> engine.create keyword
CREATE_ARGS = (("mounts", "mounts"), ("tmpfs", "tmpfs"), ("read_only", "read_only"), ("shm_size", "shm_size"))
