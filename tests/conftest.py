"""Shared pytest set-up: make the collection importable as ansible_collections.mydocker.runtime."""
import hashlib
import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _collection_path():
    # Inside an ansible_collections tree already (ansible-test, installed copy)?
    parts = REPO.split(os.sep)
    if len(parts) >= 3 and parts[-3] == "ansible_collections":
        return os.sep.join(parts[:-3])
    # one link per checkout, so suites of two checkouts can run side by side
    tag = hashlib.sha1(REPO.encode()).hexdigest()[:10]
    base = os.path.join(tempfile.gettempdir(), "mydocker-pytest-collections-%d-%s" % (os.getuid(), tag))
    link = os.path.join(base, "ansible_collections", "mydocker", "runtime")
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.realpath(link) != REPO:
        tmp = link + ".%d" % os.getpid()
        os.symlink(REPO, tmp)
        os.replace(tmp, link)
    return base


sys.path.insert(0, _collection_path())
