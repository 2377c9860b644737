# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registry credentials in the Docker client's ``config.json`` format::

    {"auths": {"127.0.0.1:5000": {"auth": "<base64 of user:password>"}, ...}}

Where: ``$MYDOCKER_CONFIG/config.json`` when that variable names a directory (as Docker's
``DOCKER_CONFIG``), else ``<state root>/auth/config.json``: each state root has its own logins,
so test roots and the default root never share one.  The file is written atomically under the
state lock with mode 0600 (its directory 0700); keys other than ``auths`` are kept as they are.

Reading falls back to the Docker client's own file (``$DOCKER_CONFIG/config.json`` or
``~/.docker/config.json``) for a registry mydocker has no login for; it is never written.
Docker Hub is stored under Docker's key ``https://index.docker.io/v1/``.
"""

import base64
import json
import os

from .errors import MyDockerError
from .store import Paths, makedirs, state_lock

CONFIG_ENV = "MYDOCKER_CONFIG"
HUB_KEY = "https://index.docker.io/v1/"


def config_path(root=None):
    d = os.environ.get(CONFIG_ENV)
    if d:
        return os.path.join(os.path.abspath(d), "config.json")
    return os.path.join(Paths(root).root, "auth", "config.json")


def _docker_config_path():
    d = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(d, "config.json")


def key_of(registry):
    """The ``auths`` key of a registry: ``https://index.docker.io/v1/`` for Docker Hub, else
    ``host[:port]`` (a scheme or path given is dropped)."""
    r = (registry or "").strip()
    if not r:
        raise MyDockerError("registry name is empty")
    for prefix in ("https://", "http://"):
        if r.startswith(prefix):
            r = r[len(prefix):]
    r = r.split("/", 1)[0]
    if r in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        return HUB_KEY
    if not r or any(c.isspace() for c in r):
        raise MyDockerError("invalid registry name %r" % registry)
    return r


def _read(path):
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise MyDockerError("cannot read the credentials file %s: %s" % (path, e))
    if not isinstance(data, dict):
        raise MyDockerError("the credentials file %s is not a JSON object" % path)
    return data


def _decode(entry, path):
    if not isinstance(entry, dict):
        return None
    if entry.get("auth"):
        try:
            user, sep, password = base64.b64decode(entry["auth"]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            raise MyDockerError("the credentials file %s has a bad auth entry" % path)
        if sep:
            return user, password
    if entry.get("username") and entry.get("password"):
        return entry["username"], entry["password"]
    return None


def _lookup(data, key):
    auths = data.get("auths") if isinstance(data.get("auths"), dict) else {}
    for k, v in auths.items():
        if key_of(k) == key:
            return v
    return None


def get(root, registry):
    """(user, password) for ``registry``, or None (anonymous)."""
    key = key_of(registry)
    for path in (config_path(root), _docker_config_path()):
        creds = _decode(_lookup(_read(path), key), path)
        if creds:
            return creds
    return None


def stored(root, registry):
    """(user, password) mydocker's own file holds for ``registry`` (not Docker's), or None."""
    path = config_path(root)
    return _decode(_lookup(_read(path), key_of(registry)), path)


def _write(path, data):
    d = os.path.dirname(path)
    if not os.path.isdir(d):
        makedirs(d)
        os.chmod(d, 0o700)
    tmp = "%s.tmp%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _locked(root):
    paths = Paths(root)
    makedirs(paths.root)
    return state_lock(paths)


def save(root, registry, user, password):
    """Store the login; returns True when the file changed."""
    if not user or ":" in user:
        raise MyDockerError("invalid user name %r (empty or with ':')" % user)
    if not password:
        raise MyDockerError("empty password")
    key = key_of(registry)
    path = config_path(root)
    with _locked(root):
        data = _read(path)
        auths = data.get("auths") if isinstance(data.get("auths"), dict) else {}
        for k in [k for k in auths if key_of(k) == key and k != key]:
            auths.pop(k)
        entry = {"auth": base64.b64encode(("%s:%s" % (user, password)).encode("utf-8")).decode("ascii")}
        if auths.get(key) == entry and os.path.exists(path):
            return False
        auths[key] = entry
        data["auths"] = auths
        _write(path, data)
    return True


def remove(root, registry):
    """Forget the login of ``registry``; returns True when there was one."""
    key = key_of(registry)
    path = config_path(root)
    with _locked(root):
        data = _read(path)
        auths = data.get("auths") if isinstance(data.get("auths"), dict) else {}
        gone = [k for k in auths if key_of(k) == key]
        if not gone:
            return False
        for k in gone:
            auths.pop(k)
        data["auths"] = auths
        _write(path, data)
    return True
