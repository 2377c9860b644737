# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""State root paths, atomic JSON files and the state lock.

Plain Python (standard library only); knows nothing of Ansible.
Layout (SPEC 1.3)::

    <root>/containers/<id>/config.json
    <root>/containers/<id>/log.txt
    <root>/overlay2/<id>/{lower,upper,work,merged}
    <root>/image/<name>.tar            (+ <name>.json and layers/<digest>/)
    <root>/network/network/<name>
    <root>/network/ipam/subnet.json
"""

import errno
import fcntl
import hashlib
import json
import os
import tempfile
from contextlib import contextmanager

from .errors import MyDockerError
from .validate import validate_name

DEFAULT_ROOT = "/var/lib/mydocker"
ROOT_ENV = "MYDOCKER_ROOT"
CGROUP_PARENT_ENV = "MYDOCKER_CGROUP_PARENT"


def resolve_root(root=None):
    """The state root: explicit value, else $MYDOCKER_ROOT, else /var/lib/mydocker."""
    root = root or os.environ.get(ROOT_ENV) or DEFAULT_ROOT
    return os.path.abspath(root)


def cgroup_parent(root):
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
    return "mydocker-" + hashlib.sha1(root.encode("utf-8")).hexdigest()[:10]


class Paths:
    """All the paths of one state root."""

    def __init__(self, root=None):
        self.root = resolve_root(root)
        self.containers = os.path.join(self.root, "containers")
        self.overlay = os.path.join(self.root, "overlay2")
        self.images = os.path.join(self.root, "image")
        self.layers = os.path.join(self.images, "layers")
        self.network_dir = os.path.join(self.root, "network", "network")
        self.ipam_dir = os.path.join(self.root, "network", "ipam")
        self.ipam_file = os.path.join(self.ipam_dir, "subnet.json")
        self.lock_file = os.path.join(self.root, ".lock")

    def container_dir(self, cid):
        return os.path.join(self.containers, cid)

    def container_config(self, cid):
        return os.path.join(self.containers, cid, "config.json")

    def container_log(self, cid):
        return os.path.join(self.containers, cid, "log.txt")

    def overlay_dir(self, cid):
        return os.path.join(self.overlay, cid)

    def image_tar(self, name):
        return os.path.join(self.images, name + ".tar")

    def image_meta(self, name):
        return os.path.join(self.images, name + ".json")

    def network_file(self, name):
        return os.path.join(self.network_dir, name)

    def ensure(self):
        for d in (self.root, self.containers, self.overlay, self.images, self.layers,
                  self.network_dir, self.ipam_dir):
            makedirs(d)


def makedirs(path, mode=0o755):
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


def write_atomic(path, data, mode=0o644):
    """Write bytes or text to ``path`` atomically: temp file, fsync, rename, fsync dir."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    d = os.path.dirname(path) or "."
    makedirs(d)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
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
    _fsync_dir(d)


def write_json(path, obj):
    write_atomic(path, json.dumps(obj, indent=None, separators=(",", ":"), sort_keys=False) + "\n")


def read_json(path, default=None):
    """Read a JSON file; ``default`` when it does not exist."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        if e.errno == errno.ENOENT:
            return default
        raise
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:
        raise MyDockerError("corrupt state file %s" % path)


@contextmanager
def locked(path, shared=False):
    """Hold an flock on ``path`` (created if missing) for the duration of the block."""
    makedirs(os.path.dirname(path))
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def state_lock(paths):
    """The one lock around every read-modify-write of the state root."""
    return locked(paths.lock_file)
