# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bytecode for the collection's code that a task imports in the controller's process.

Ansible imports a collection's Python through its own collection loader, which compiles each
file's source on every import and never keeps the result: in a playbook, every worker process
compiled the module and the engine it runs in process again (~60 ms for ``mydocker_container``,
most of a no-change task's own cost). :func:`install` puts a finder ahead of Ansible's on
``sys.meta_path`` that answers nothing itself: for this collection's ``plugins.modules`` and
``plugins.module_utils`` it asks the other finders for the spec, as the import system would, and
gives the loader found a ``get_code`` that keeps code objects in the module path's cache
(:mod:`..module_utils.bytecode`: hash-based pycs checked against the source on every load, in
``$XDG_CACHE_HOME/mydocker.runtime/bytecode/``, read only under ``-B`` or
``PYTHONDONTWRITEBYTECODE``, off with ``MYDOCKER_BYTECODE_CACHE=0``). Redirects, the file names
and the module objects stay Ansible's; any failure falls back to the loader's own compile."""

import sys

from ansible_collections.mydocker.runtime.plugins.module_utils import bytecode

PREFIXES = ("ansible_collections.mydocker.runtime.plugins.modules.",
            "ansible_collections.mydocker.runtime.plugins.module_utils.")


def _cached_get_code(loader, cache):
    own = loader.get_code

    def get_code(fullname):
        try:
            source = loader.get_source(fullname)
            filename = loader.get_filename(fullname)
        except Exception:
            return own(fullname)
        if source is None or not filename:
            return own(fullname)  # a synthetic package: no code
        if isinstance(source, str):
            source = source.encode("utf-8")
        return bytecode.cached_compile(cache, fullname, source, filename)

    return get_code


class CachingFinder:
    """The meta path finder of :func:`install` (finds nothing of its own)."""

    def __init__(self, cache):
        self.cache = cache

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(PREFIXES):
            return None
        spec = None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
        loader = getattr(spec, "loader", None)
        if loader is not None and hasattr(loader, "get_source") and hasattr(loader, "get_filename") \
                and not getattr(loader, "_mydocker_bytecode", False):
            try:
                loader.get_code = _cached_get_code(loader, self.cache)
                loader._mydocker_bytecode = True
            except (AttributeError, TypeError):
                pass  # a loader that takes no attributes compiles as before
        return spec


def install():
    """Put the finder first on ``sys.meta_path`` (once); False when there is no cache to use."""
    if any(isinstance(f, CachingFinder) for f in sys.meta_path):
        return True
    path = bytecode.cache_dir()
    write = not sys.dont_write_bytecode
    if not path or not bytecode.usable(path, write):
        return False
    sys.meta_path.insert(0, CachingFinder(bytecode.Cache(path, write)))
    return True
