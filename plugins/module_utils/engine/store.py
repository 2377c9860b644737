# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""State root paths, atomic JSON files and the state lock (one flock, re-entrant).

Plain Python (standard library only); knows nothing of Ansible.
Layout (SPEC 1.3)::

    <root>/containers/<id>/config.json
    <root>/containers/<id>/log.txt
    <root>/overlay2/<id>/{lower,upper,work,merged}
    <root>/image/<name>.tar            (+ <name>.json and layers/<digest>/)
    <root>/network/network/<name>
    <root>/network/ipam/subnet.json
"""

from __future__ import annotations

import _thread  # get_ident only: threading itself is ~3 ms of every command's start
import errno
import fcntl
import os

from . import jsonio
from .errors import MyDockerError
from .validate import validate_name

TYPE_CHECKING = False  # typing is ~5 ms of every command's start: annotations only (postponed)
if TYPE_CHECKING:
    from collections.abc import Iterator  # noqa: F401
    from contextlib import AbstractContextManager
    from typing import Any

DEFAULT_ROOT = "/var/lib/mydocker"
ROOT_ENV = "MYDOCKER_ROOT"
CGROUP_PARENT_ENV = "MYDOCKER_CGROUP_PARENT"


def resolve_root(root: str | None = None) -> str:
    """The state root: explicit value, else $MYDOCKER_ROOT, else /var/lib/mydocker."""
    root = root or os.environ.get(ROOT_ENV) or DEFAULT_ROOT
    return os.path.abspath(root)


def cgroup_parent(root: str | None) -> str:
    """Cgroup parent directory name for containers of this state root.

    The default root uses ``mydocker``; any other root gets ``mydocker-<hash>`` so that
    instances side by side (tests) never see each other's cgroups.
    """
    env = os.environ.get(CGROUP_PARENT_ENV)
    if env:
        return validate_name(env, "cgroup parent")
    root = resolve_root(root)
    if root == DEFAULT_ROOT:
        return "mydocker"
    return "mydocker-" + fast_hash("sha1", root.encode("utf-8")).hexdigest()[:10]


class Paths:
    """All the paths of one state root."""

    def __init__(self, root: str | None = None) -> None:
        self.root = resolve_root(root)
        self.containers = os.path.join(self.root, "containers")
        self.overlay = os.path.join(self.root, "overlay2")
        self.images = os.path.join(self.root, "image")
        self.layers = os.path.join(self.images, "layers")
        self.network_dir = os.path.join(self.root, "network", "network")
        self.ipam_dir = os.path.join(self.root, "network", "ipam")
        self.ipam_file = os.path.join(self.ipam_dir, "subnet.json")
        self.lock_file = os.path.join(self.root, ".lock")

    def container_dir(self, cid: str) -> str:
        return os.path.join(self.containers, cid)

    def container_config(self, cid: str) -> str:
        return os.path.join(self.containers, cid, "config.json")

    def container_log(self, cid: str) -> str:
        return os.path.join(self.containers, cid, "log.txt")

    def overlay_dir(self, cid: str) -> str:
        return os.path.join(self.overlay, cid)

    def image_tar(self, name: str) -> str:
        return os.path.join(self.images, name + ".tar")

    def image_meta(self, name: str) -> str:
        return os.path.join(self.images, name + ".json")

    def network_file(self, name: str) -> str:
        return os.path.join(self.network_dir, name)

    def ensure(self) -> None:
        for d in (self.root, self.containers, self.overlay, self.images, self.layers,
                  self.network_dir, self.ipam_dir):
            makedirs(d)


def makedirs(path: str, mode: int = 0o755) -> None:
    try:
        os.makedirs(path, mode)
    except OSError as e:
        if e.errno != errno.EEXIST:
            raise


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fast_hash(name: str, data: bytes = b""):
    """A new ``sha1`` or ``sha256`` hash object, from the interpreter's built-in module where
    there is one (``_sha1``; ``_sha256``, ``_sha2`` from Python 3.12): importing hashlib (OpenSSL)
    is ~6 ms of every command's start. Same digests as hashlib."""
    try:
        if name == "sha1":
            from _sha1 import sha1 as new
        else:
            try:
                from _sha2 import sha256 as new
            except ImportError:
                from _sha256 import sha256 as new
    except ImportError:
        import hashlib
        return hashlib.new(name, data)
    return new(data)


def _temp_file(d, prefix):
    """(fd, path) of a new file ``<d>/<prefix><random>.tmp``, mode 0600, as tempfile.mkstemp
    makes it (O_EXCL, no symlink followed), without importing tempfile (~4 ms of every start)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _attempt in range(100):
        tmp = os.path.join(d, "%s%s.tmp" % (prefix, os.urandom(6).hex()))
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name in %s" % d)


def write_atomic(path: str, data: str | bytes, mode: int = 0o644, sync_dir: bool = True,
                 fsync: bool = True) -> None:
    """Write bytes or text to ``path`` atomically: temp file, fsync, rename, fsync dir (a caller
    writing several files in one directory passes ``sync_dir=False`` and calls :func:`sync_dir`
    once after the last). ``fsync=False`` (and ``sync_dir=False``) for a file that is only a hint,
    rebuilt when lost: still atomic, not durable."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    d = os.path.dirname(path) or "."
    makedirs(d)
    fd, tmp = _temp_file(d, "." + os.path.basename(path) + ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if sync_dir:
        _fsync_dir(d)


def sync_dir(path: str) -> None:
    """fsync the directory ``path`` (the renames into it are durable afterwards)."""
    _fsync_dir(path)


def write_json(path: str, obj: Any, sync_dir: bool = True) -> None:
    """``obj`` as compact JSON, atomically (:func:`write_atomic`; ``sync_dir``: the same)."""
    write_atomic(path, jsonio.dumps(obj, separators=(",", ":")) + "\n",
                 sync_dir=sync_dir)


def read_json(path: str, default: Any = None) -> Any:
    """Read a JSON file; ``default`` when it does not exist."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        if e.errno == errno.ENOENT:
            return default
        raise
    try:
        return jsonio.loads(raw.decode("utf-8"))
    except ValueError:
        raise MyDockerError("corrupt state file %s" % path)


class _Held:
    """One flock this process holds: its descriptor and how deep the ``with`` blocks are nested."""

    __slots__ = ("fd", "depth")

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd
        self.depth = 0


# (absolute lock file path, thread id) -> _Held.  A thread's key is its own, so this table needs
# no lock of its own; the flock on a descriptor per thread excludes the other threads and
# processes (flock locks belong to the open file description, not to the process).
_HELD: dict[tuple[str, int], _Held] = {}


def _forget_after_fork() -> None:
    """In a forked child: it holds none of its parent's locks.

    The inherited descriptors are closed (the parent's lock stays, it has its own descriptor;
    the child no longer prolongs it) and the table is emptied, so that the child's own
    ``with file_lock(...)`` takes the flock afresh instead of trusting a counter it inherited.
    The descriptors are O_CLOEXEC as well, for children that exec without this hook."""
    for held in list(_HELD.values()):
        if held.fd is not None:
            try:
                os.close(held.fd)
            except OSError:
                pass
            held.fd = None
    _HELD.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


def file_lock(path: str) -> AbstractContextManager[None]:
    """Hold an exclusive flock on ``path`` (created if missing) for the duration of the block.

    Re-entrant per process and thread: a nested ``with`` on the same file in the same thread
    only counts up; the flock is released when the outermost block ends. Other threads and
    other processes wait for it."""
    return _FileLock(path)


class _FileLock:
    """``file_lock``'s context manager (a class: contextlib is ~2 ms of every command's start)."""

    __slots__ = ("path", "key", "held")

    def __init__(self, path):
        self.path = path
        self.key = self.held = None

    def __enter__(self):
        key = self.key = (os.path.abspath(self.path), _thread.get_ident())
        held = _HELD.get(key)
        if held is None:
            makedirs(os.path.dirname(key[0]))
            fd = os.open(key[0], os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
            held = _HELD[key] = _Held(fd)
        held.depth += 1
        self.held = held

    def __exit__(self, *exc):
        held, key, self.held = self.held, self.key, None
        held.depth -= 1
        if held.depth == 0:
            if _HELD.get(key) is held:
                del _HELD[key]
            if held.fd is not None:  # None: a forked child whose hook closed it already
                os.close(held.fd)  # closing releases the lock
                held.fd = None
        return False


def lock_held(path: str) -> bool:
    """True when this thread holds the flock on ``path`` (through :func:`file_lock`)."""
    return (os.path.abspath(path), _thread.get_ident()) in _HELD


def state_lock(paths: Paths) -> AbstractContextManager[None]:
    """The one lock around every read-modify-write of the state root (re-entrant, see
    :func:`file_lock`)."""
    return file_lock(paths.lock_file)


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def remove_tree(path: str) -> None:
    """Delete ``path`` and everything below it as ``shutil.rmtree(path, ignore_errors=True)``
    does on Linux: through directory fds, never following a symlink (one swapped in meanwhile
    included); what cannot be deleted is left. Written out for ``rm`` and ``run --rm``, which
    need nothing else of shutil: importing it (bz2, lzma, fnmatch) is ~5 ms of each."""
    try:
        fd = os.open(path, _DIR_FLAGS)
    except OSError:
        try:
            os.unlink(path)  # a file or a symlink: itself, not what it points to
        except OSError:
            pass
        return
    try:
        _remove_below(fd)
    finally:
        os.close(fd)
    try:
        os.rmdir(path)
    except OSError:
        pass


def _remove_below(dfd):
    with os.scandir(dfd) as entries:
        names = [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
    for name, is_dir in names:
        if is_dir:
            try:
                sub = os.open(name, _DIR_FLAGS, dir_fd=dfd)
            except OSError:  # replaced by a symlink or a file meanwhile: not followed
                is_dir = False
            else:
                try:
                    _remove_below(sub)
                finally:
                    os.close(sub)
        try:
            if is_dir:
                os.rmdir(name, dir_fd=dfd)
            else:
                os.unlink(name, dir_fd=dfd)
        except OSError:
            pass


def apparent_size(path):
    """Apparent bytes of the files under ``path`` (lstat sizes, links not followed; 0 when absent):
    what a layer or a volume holds. ``system.du`` is the variant that counts each inode once and
    stays on one file system, for ``system df`` of a whole state root."""
    total = 0
    for top, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(top, f)).st_size
            except OSError:
                pass
    return total
