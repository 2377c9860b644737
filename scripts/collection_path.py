# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make a checkout importable as ``ansible_collections.mydocker.runtime``: the one place that does
it, for bin/mydocker (and so the launcher scripts/install.sh writes, which runs bin/mydocker),
tests/conftest.py and bench/.

Python finds the collection only as ``<base>/ansible_collections/mydocker/runtime``. ``use(repo)``
puts such a base first on ``sys.path``:

- the tree the checkout already is in (ansible-test's copy, an installed collection);
- /usr/share/ansible/collections when scripts/install.sh linked the checkout there;
- else a directory with a symlink to the checkout, one per checkout (the name has a hash of its
  path, so two checkouts side by side do not take each other's code).

``cache_bytecode(repo)`` keeps compiled bytecode of a checkout in a private directory when the
environment forbids .pyc files beside the sources.

Load this file by its path (it is not inside any package)::

    spec = importlib.util.spec_from_file_location("mydocker_collection_path", path)
"""

import os
import stat
import sys

try:  # the built-in module: hashlib (OpenSSL) costs a few ms more at every start of bin/mydocker
    from _sha1 import sha1
except ImportError:  # an interpreter built without it
    from hashlib import sha1

REPO = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
INSTALLED = ("/usr/share/ansible/collections",)
PARTS = ("ansible_collections", "mydocker", "runtime")


def tmpdir():
    """``tempfile.gettempdir()``, without importing tempfile (about 10 ms at every start) in the
    usual cases: $TMPDIR, $TEMP, $TMP or /tmp when it is a writable directory."""
    for d in [os.environ.get(n) for n in ("TMPDIR", "TEMP", "TMP")] + ["/tmp"]:
        if d and os.path.isdir(d) and os.access(d, os.W_OK | os.X_OK):
            return os.path.abspath(d)
        if d:
            break  # the first one named decides; let tempfile say what to use instead
    import tempfile
    return tempfile.gettempdir()


def link_dir(repo=REPO, prefix="mydocker-collections", parent=None):
    """The per-checkout base directory for the symlink: ``<tmp>/<prefix>-<uid>-<hash of repo>``."""
    tag = sha1(os.path.realpath(repo).encode()).hexdigest()[:10]
    return os.path.join(parent or tmpdir(), "%s-%d-%s" % (prefix, os.getuid(), tag))


def bytecode_dir(repo=REPO, parent=None):
    """A directory of ours only (uid, mode 0700) for the compiled bytecode of ``repo``, one per
    checkout (``<tmp>/mydocker-pycache-<uid>-<hash of repo>``); None when it cannot be had."""
    d = link_dir(repo, "mydocker-pycache", parent)
    try:
        os.mkdir(d, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        st = os.lstat(d)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    return d


def cache_bytecode(repo=REPO, parent=None):
    """When $PYTHONDONTWRITEBYTECODE (or ``-B``) keeps .pyc files out of the checkout, every start
    would compile every module again (about 50 ms for ``run``): keep them in
    :func:`bytecode_dir` instead (``sys.pycache_prefix``), never beside the sources. Returns the
    directory, or None when nothing was changed."""
    if not sys.dont_write_bytecode or sys.pycache_prefix is not None:
        return None
    d = bytecode_dir(repo, parent)
    if d is not None:
        sys.pycache_prefix = d
        sys.dont_write_bytecode = False
    return d


def venv_site():
    """Under ``python -S`` (the launcher install.sh writes starts so) from a venv: put the venv's
    site-packages (pyroute2) on ``sys.path``, where site.py would have put it, without the rest of
    what site.py does at every start (its .pth files, the user site, sitecustomize: ~2.5 ms).
    A venv that includes the system's site-packages gets site.py's own work (``site.main``).
    Returns the directory added, "site" or None (site.py ran at start, or this is no venv)."""
    if not sys.flags.no_site:
        return None
    exe = os.path.dirname(sys.executable)
    for cfg in (os.path.join(exe, "pyvenv.cfg"), os.path.join(os.path.dirname(exe), "pyvenv.cfg")):
        try:
            with open(cfg) as f:
                lines = f.read().splitlines()
            break
        except OSError:
            continue
    else:
        return None
    keys = dict((k.strip().lower(), v.strip().lower()) for k, sep, v in (ln.partition("=") for ln in lines) if sep)
    d = os.path.join(os.path.dirname(cfg), "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
    if keys.get("include-system-site-packages") == "true" or not os.path.isdir(d):
        import site
        site.main()
        return "site"
    if d not in sys.path:
        sys.path.append(d)
    return d


def _own_dirs(base, link):
    """Create ``base`` .. the link's directory: ours, and writable by us only (so no other user
    can swap the link for their code)."""
    os.makedirs(os.path.dirname(link), mode=0o755, exist_ok=True)
    d = os.path.dirname(link)
    while True:
        st = os.lstat(d)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            raise RuntimeError("%s is not a directory of uid %d: remove it" % (d, os.getuid()))
        if st.st_mode & 0o022:
            os.chmod(d, stat.S_IMODE(st.st_mode) & ~0o022)
        if d == base:
            return
        d = os.path.dirname(d)


def link_checkout(base, repo=REPO):
    """``base/ansible_collections/mydocker/runtime`` -> ``repo`` (replaced atomically if it is not)."""
    repo = os.path.realpath(repo)
    base = os.path.abspath(base)
    link = os.path.join(base, *PARTS)
    _own_dirs(base, link)
    if os.path.realpath(link) != repo:
        tmp = "%s.%d" % (link, os.getpid())
        os.symlink(repo, tmp)
        os.replace(tmp, link)
    return base


def collections_base(repo=REPO, base=None):
    """A directory in which ``ansible_collections/mydocker/runtime`` is ``repo`` (see above).

    ``base``: where to make the symlink when one is needed (default: ``link_dir(repo)``)."""
    for path in (os.path.abspath(repo), os.path.realpath(repo)):
        if tuple(path.split(os.sep)[-3:]) == PARTS:
            return os.sep.join(path.split(os.sep)[:-3])
    repo = os.path.realpath(repo)
    for installed in INSTALLED:
        if os.path.realpath(os.path.join(installed, *PARTS)) == repo:
            return installed
    return link_checkout(base or link_dir(repo), repo)


def use(repo=REPO, base=None):
    """Put ``collections_base(repo, base)`` first on ``sys.path``; returns it."""
    found = collections_base(repo, base)
    if found in sys.path:
        sys.path.remove(found)
    sys.path.insert(0, found)
    return found
