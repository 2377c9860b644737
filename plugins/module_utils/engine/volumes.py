# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Named volumes (driver local): ``<state root>/volumes/<name>/_data`` and ``volume.json`` beside it.

A volume's record is Docker's ``volume inspect`` shape (Name, Driver, Mountpoint, Labels, Options,
Scope, CreatedAt) plus ``Anonymous``. Records are written atomically under the state lock; the
same lock covers "is it in use?" and the removal, and a container's create resolves its volumes
(creating those it names on first use) under it too, so a volume is never removed while a
container record names it.

A container record's ``volumes`` entry of a named volume is
``{"host": <Mountpoint>, "container", "ro", "type": "volume", "name", "anonymous"?}``; a bind
mount's entry has no ``type`` (records from before named volumes keep working as binds).
"""

import binascii
import os
import stat
import time

from . import records
from .errors import MyDockerError, NotFound
from .store import Paths, apparent_size, file_lock, makedirs, read_json, remove_tree, state_lock, write_json
from .validate import validate_volume_name

DRIVER = "local"


def _paths(root):
    return root if isinstance(root, Paths) else Paths(root)


def volumes_dir(paths):
    return os.path.join(paths.root, "volumes")


def volume_dir(paths, name):
    return os.path.join(volumes_dir(paths), validate_volume_name(name))


def _record_file(paths, name):
    return os.path.join(volume_dir(paths, name), "volume.json")


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def check_driver(driver, driver_opts=None):
    if (driver or DRIVER) != DRIVER:
        raise MyDockerError("volume driver %r is not supported: only local" % (driver,))
    if driver_opts:
        raise MyDockerError("volume driver options are not supported (the local driver here takes none)")


def check_labels(labels):
    """{K: V} or ['K=V', 'K'] -> {K: V} (values as strings)."""
    if labels is None:
        return {}
    if isinstance(labels, dict):
        out = {}
        for k, v in labels.items():
            if not isinstance(k, str) or not k:
                raise MyDockerError("invalid volume label %r: the key must be a non-empty string" % (k,))
            out[k] = "" if v is None else str(v)
        return out
    out = {}
    for item in labels:
        k, _sep, v = str(item).partition("=")
        if not k:
            raise MyDockerError("invalid volume label %r: expected KEY=VALUE" % (item,))
        out[k] = v
    return out


def read_volume(root, name):
    """The volume's record, or None."""
    paths = _paths(root)
    rec = read_json(_record_file(paths, name))
    if rec is None:
        return None
    rec["Mountpoint"] = os.path.join(volume_dir(paths, name), "_data")
    return rec


def inspect_volume(root, name):
    rec = read_volume(root, name)
    if rec is None:
        raise NotFound("no such volume: %s" % name)
    return rec


def list_names(paths):
    try:
        names = sorted(os.listdir(volumes_dir(paths)))
    except FileNotFoundError:
        return []
    top = volumes_dir(paths)
    return [n for n in names if not n.startswith(".") and os.path.exists(os.path.join(top, n, "volume.json"))]


def users_of(paths, name):
    """The container records naming volume ``name`` (running or not)."""
    return [r for r in records.iter_records(paths, skip_corrupt=True)
            if any(v.get("type") == "volume" and v.get("name") == name for v in r.volumes)]


def _in_use(paths):
    used = {}
    for r in records.iter_records(paths, skip_corrupt=True):
        for v in r.volumes:
            if v.get("type") == "volume" and v.get("name"):
                used.setdefault(v["name"], []).append(r.name)
    return used


def create_volume(root, name=None, labels=None, driver=DRIVER, driver_opts=None, anonymous=False):
    """Create a volume (a random 64-hex name when ``name`` is None). An existing volume of that
    name is returned as it is (as Docker). Returns its record."""
    paths = _paths(root)
    check_driver(driver, driver_opts)
    labels = check_labels(labels)
    if name is None:  # a random name, yet not anonymous (as `docker volume create` without a name)
        name = binascii.hexlify(os.urandom(32)).decode()
    validate_volume_name(name)
    with state_lock(paths):
        rec, _created = _ensure(paths, name, labels, anonymous)
    return rec


def _ensure(paths, name, labels=None, anonymous=False):
    """Under the state lock: the volume's record, creating it if absent. (record, created)."""
    rec = read_volume(paths, name)
    if rec is not None:
        return rec, False
    vdir = volume_dir(paths, name)
    makedirs(volumes_dir(paths), 0o701)
    try:
        makedirs(os.path.join(vdir, "_data"))
        write_json(os.path.join(vdir, "volume.json"),
                   {"Name": name, "Driver": DRIVER, "Labels": labels or {}, "Options": {}, "Scope": "local",
                    "CreatedAt": _now(), "Anonymous": bool(anonymous)})
    except BaseException:
        remove_tree(vdir)
        raise
    return read_volume(paths, name), True


def resolve(paths, vols, image_volumes=None, taken=()):
    """Under the state lock, for ``create``: give every named or anonymous volume entry its host path,
    creating the volumes that do not exist yet, and add an anonymous volume for each of the
    image's ``Volumes`` that no mount of the run covers (``taken``: container paths of tmpfs
    mounts). Returns (entries, names created here: to remove again if the create fails)."""
    out, created = [], []
    covered = set(v["container"] for v in vols) | set(taken)
    extra = []
    for path in sorted(image_volumes or {}):
        norm = "/" + os.path.normpath(path).lstrip("/")
        if norm != "/" and norm not in covered and ".." not in norm.split("/"):
            extra.append({"host": "", "container": norm, "ro": False, "type": "volume", "name": "",
                          "anonymous": True})
            covered.add(norm)
    for v in list(vols) + extra:
        if v.get("type") != "volume":
            out.append(v)
            continue
        v = dict(v)
        if not v.get("name"):
            v["name"] = binascii.hexlify(os.urandom(32)).decode()
            v["anonymous"] = True
        rec, new = _ensure(paths, v["name"], anonymous=bool(v.get("anonymous")))
        if new:
            created.append(v["name"])
        v["host"] = rec["Mountpoint"]
        out.append(v)
    return out, created


def storage_options(vols, mounts=None, tmpfs=None, read_only=False, shm_size=None):
    """create's storage options checked and normalised, before anything is made: (the -v entries and
    the bind/volume --mounts, {the record keys "tmpfs", "readOnly", "shmSize"}: each only when set,
    so records look as before for runs without them)."""
    from .mounts import check_unique_targets, parse_shm_size, parse_tmpfs, split_mounts
    mvols, mtmpfs = split_mounts(mounts)
    tlist = [parse_tmpfs(t) for t in tmpfs or []] + mtmpfs
    vols = list(vols) + mvols
    check_unique_targets(vols, tlist)
    out = {}
    if tlist:
        out["tmpfs"] = tlist
    if read_only:
        out["readOnly"] = True
    shm = parse_shm_size(shm_size)
    if shm:
        out["shmSize"] = shm
    return vols, out


def forget(paths, names):
    """Remove the volumes ``names`` again (a create that failed) unless a container names them."""
    if not names:
        return
    with state_lock(paths):
        used = _in_use(paths)
        for n in names:
            if n not in used:
                remove_tree(volume_dir(paths, n))


def remove_volume(root, name, force=False):
    """Remove a volume that no container names. ``force``: a missing volume is no error."""
    paths = _paths(root)
    validate_volume_name(name)
    with state_lock(paths):
        if read_volume(paths, name) is None:
            if force:
                return False
            raise NotFound("no such volume: %s" % name)
        users = users_of(paths, name)
        if users:
            raise MyDockerError("volume %s is in use by container %s" % (name, users[0].name))
        _remove_dir(paths, name)
    return True


def _remove_dir(paths, name):
    vdir = volume_dir(paths, name)
    # the record first: a half-removed volume is never listed as one
    os.unlink(os.path.join(vdir, "volume.json"))
    remove_tree(vdir)


def remove_anonymous(paths, rec):
    """``rm -v`` / ``run --rm``: the anonymous volumes of container ``rec`` (already removed) that
    no other container names."""
    names = [v["name"] for v in records.Record.of(rec).volumes if v.get("type") == "volume" and v.get("anonymous")
             and v.get("name")]
    if not names:
        return []
    gone = []
    with state_lock(paths):
        used = _in_use(paths)
        for n in names:
            if n not in used and read_volume(paths, n) is not None:
                _remove_dir(paths, n)
                gone.append(n)
    return gone


def _match(rec, used, filters):
    for key, values in (filters or {}).items():
        values = values if isinstance(values, list) else [values]
        for want in values:
            want = str(want)
            if key == "name" and want not in rec["Name"]:
                return False
            if key == "driver" and want != rec["Driver"]:
                return False
            if key == "dangling":
                if want.lower() not in ("true", "1", "false", "0"):
                    raise MyDockerError("invalid filter dangling=%s: use true or false" % want)
                if (want.lower() in ("true", "1")) == (rec["Name"] in used):
                    return False
            if key == "label":
                k, sep, v = want.partition("=")
                if k not in rec["Labels"] or (sep and rec["Labels"][k] != v):
                    return False
            if key not in ("name", "driver", "dangling", "label"):
                raise MyDockerError("invalid filter %r: use name, driver, dangling or label" % key)
    return True


def parse_filters(items):
    """['k=v', ...] -> {k: [v, ...]}."""
    out = {}
    for item in items or []:
        k, sep, v = item.partition("=")
        if not sep:
            raise MyDockerError("invalid filter %r: expected KEY=VALUE" % item)
        out.setdefault(k, []).append(v)
    return out


def list_volumes(root, filters=None):
    """The volumes' records (with ``InUse``: the names of the containers naming each), filtered as
    ``docker volume ls --filter`` (name, driver, dangling, label)."""
    paths = _paths(root)
    used = _in_use(paths)
    out = []
    for name in list_names(paths):
        rec = read_volume(paths, name)
        if rec is None or not _match(rec, used, filters):
            continue
        rec["InUse"] = used.get(name, [])
        out.append(rec)
    return out


def prune_candidates(paths, all=False):
    """Names of the volumes ``volume prune`` would remove: unused anonymous ones (``all``: unused named
    ones too, as Docker 23+)."""
    used = _in_use(paths)
    out = []
    for name in list_names(paths):
        rec = read_volume(paths, name)
        if rec is None or name in used:
            continue
        if all or rec.get("Anonymous"):
            out.append(name)
    return out


def prune_volumes(root, all=False):
    """Remove unused volumes (anonymous only unless ``all``). Returns (names, bytes reclaimed)."""
    paths = _paths(root)
    removed, reclaimed = [], 0
    with state_lock(paths):
        for name in prune_candidates(paths, all=all):
            reclaimed += apparent_size(volume_dir(paths, name))
            _remove_dir(paths, name)
            removed.append(name)
    return removed, reclaimed


def disk_usage(root):
    """For ``system df``: [{"Name", "Size", "InUse", "Anonymous"}]."""
    paths = _paths(root)
    used = _in_use(paths)
    out = []
    for name in list_names(paths):
        rec = read_volume(paths, name)
        if rec is None:
            continue
        out.append({"Name": name, "Size": apparent_size(rec["Mountpoint"]), "InUse": len(used.get(name, [])),
                    "Anonymous": bool(rec.get("Anonymous"))})
    return out


# ------------------------------------------------------------------------- copy-up at start

def copy_up(rec, rootfs, secure_join):
    """Docker's copy-up: a volume that is empty gets the image's content at its mount point.
    ``rootfs``: the container's mounted root on the host (before its process starts);
    ``secure_join``: rootfs.secure_join (the mount point resolved inside the root). Nothing
    is followed: symlinks are copied as symlinks, only regular files, directories and
    symlinks are copied."""
    for v in records.Record.of(rec).volumes:
        if v.get("type") != "volume" or not v.get("host") or not os.path.isdir(v["host"]):
            continue
        # the volume's own lock: two containers starting on one new volume copy it once
        with file_lock(os.path.join(os.path.dirname(v["host"]), ".copyup.lock")):
            try:
                _copy_up_one(v, rootfs, secure_join)
            except OSError as e:
                raise MyDockerError("cannot copy the image's %s into volume %s: %s"
                                    % (v["container"], v.get("name"), e.strerror or e))


def _copy_up_one(v, rootfs, secure_join):
    if os.listdir(v["host"]):
        return
    src = secure_join(rootfs, v["container"])
    try:
        st = os.lstat(src)
    except OSError:
        return
    if not stat.S_ISDIR(st.st_mode) or not src.startswith(rootfs.rstrip("/") + "/"):
        return
    try:
        _copy_tree(src, v["host"])
    except BaseException:
        _empty(v["host"])  # a failed copy-up leaves the volume as empty as it was
        raise
    os.chown(v["host"], st.st_uid, st.st_gid)
    os.chmod(v["host"], stat.S_IMODE(st.st_mode))


def _empty(path):
    for name in os.listdir(path):
        p = os.path.join(path, name)
        if os.path.isdir(p) and not os.path.islink(p):
            remove_tree(p)
        else:
            os.unlink(p)


def _copy_tree(src, dst):
    """Copy the directory ``src`` into the existing directory ``dst`` without following symlinks."""
    with os.scandir(src) as it:
        entries = list(it)
    for e in entries:
        s, d = os.path.join(src, e.name), os.path.join(dst, e.name)
        st = os.lstat(s)
        if stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(s), d)
        elif stat.S_ISDIR(st.st_mode):
            os.mkdir(d, 0o700)
            _copy_tree(s, d)
        elif stat.S_ISREG(st.st_mode):
            fd = os.open(s, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                with os.fdopen(fd, "rb", closefd=False) as fin, \
                        open(os.open(d, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                                     0o600), "wb") as fout:
                    import shutil  # copy-up only (shutil loads bz2 and lzma: ~5 ms of every start)
                    shutil.copyfileobj(fin, fout)
            finally:
                os.close(fd)
        else:
            continue  # devices, fifos, sockets: not copied
        os.lchown(d, st.st_uid, st.st_gid)
        if not stat.S_ISLNK(st.st_mode):
            os.chmod(d, stat.S_IMODE(st.st_mode))
            os.utime(d, ns=(st.st_atime_ns, st.st_mtime_ns))
