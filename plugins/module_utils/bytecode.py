# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bytecode cache for the module's own zip (AnsiballZ), called by every module before its
other imports.

A module runs from a zip that Ansible writes anew for every task, with sources only, and
``zipimport`` never caches what it compiles: every task compiled every file it imports (the
planner, the engine, Ansible's ``basic``) again, and Python 3.10 and 3.11 compile each one twice
(``get_filename`` compiles only to name the file). ``cache_bytecode()`` gives the importers of
this zip a ``get_code`` that keeps code objects the way Python keeps ``__pycache__`` files for a
directory: a hash-based pyc (PEP 552, checked against the source on every load, so an edited
or another version of a file is compiled again), one file per module name, in
``$XDG_CACHE_HOME/mydocker.runtime/bytecode/<python tag>/`` (default ``~/.cache``), a directory
of the user's own, mode 0700, written atomically. Nothing is cached when Python is told not to
write bytecode (``-B``, ``PYTHONDONTWRITEBYTECODE``) or ``MYDOCKER_BYTECODE_CACHE=0``; the
cache is then only read, or not used. Outside a zip (tests, a checkout, ``ansible-test``) it
does nothing. Any failure falls back to the importer's own compile.

Standard library only; imports nothing of the collection or of Ansible."""

import importlib.util
import marshal
import os
import stat
import sys
import tempfile
import zipimport

_HEADER = importlib.util.MAGIC_NUMBER + b"\x03\x00\x00\x00"  # PEP 552 flags: hash-based, checked
_fix_co_filename = getattr(__import__("_imp"), "_fix_co_filename", None)


def cache_dir():
    """The cache directory to use (None: caching is off)."""
    if os.environ.get("MYDOCKER_BYTECODE_CACHE") == "0":
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base) or not sys.implementation.cache_tag:
        return None  # no home to keep it in (never a directory relative to where the task runs)
    return os.path.join(base, "mydocker.runtime", "bytecode", sys.implementation.cache_tag)


def usable(path, create):
    """The directory exists (made when ``create``), is ours and writable by nobody else."""
    try:
        if create and not os.path.isdir(path):
            os.makedirs(path, 0o700)
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o077


class Cache:
    def __init__(self, path, write):
        self.path = path
        self.write = write

    def load(self, fullname, source):
        try:
            with open(os.path.join(self.path, fullname + ".pyc"), "rb") as f:
                data = f.read()
        except OSError:
            return None
        if data[:16] != _HEADER + importlib.util.source_hash(source):
            return None
        try:
            return marshal.loads(data[16:])
        except (ValueError, EOFError, TypeError):
            return None

    def store(self, fullname, source, code):
        if not self.write:
            return
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.path)
            with os.fdopen(fd, "wb") as f:
                f.write(_HEADER + importlib.util.source_hash(source) + marshal.dumps(code))
            os.replace(tmp, os.path.join(self.path, fullname + ".pyc"))
            tmp = None
        except (OSError, ValueError):
            pass
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass


def cached_compile(cache, fullname, source, filename):
    """The code of ``source`` (bytes) as file ``filename``: the one ``cache`` keeps for this very
    source, else compiled and kept (``cache`` None: compiled only)."""
    code = cache.load(fullname, source) if cache else None
    if code is not None:
        if _fix_co_filename is not None:
            _fix_co_filename(code, filename)
        return code
    code = compile(source, filename, "exec", dont_inherit=True)
    if cache:
        cache.store(fullname, source, code)
    return code


def _source_path(importer, fullname):
    """(path of the source inside the archive, file name as zipimport gives it) or None."""
    try:
        is_pkg = importer.is_package(fullname)
    except ImportError:
        return None
    inner = importer.prefix + fullname.rpartition(".")[2]
    inner = inner + "/__init__.py" if is_pkg else inner + ".py"
    return inner, importer.archive + os.sep + inner.replace("/", os.sep)


def _patch(importer, cache):
    """Give one zipimporter (an instance of this archive) a caching get_code and a get_filename
    that does not compile."""
    if getattr(importer, "_mydocker_bytecode", False):
        return importer
    own_code, own_filename = importer.get_code, importer.get_filename

    def get_filename(fullname):
        found = _source_path(importer, fullname)
        if found is None or found[0].replace("/", os.sep) not in getattr(importer, "_files", ()):
            return own_filename(fullname)
        return found[1]

    def get_code(fullname):
        found = _source_path(importer, fullname)
        try:
            source = importer.get_data(found[1]) if found is not None else None
        except OSError:
            source = None
        if source is None:  # no source in the archive (bytecode only): the importer's own way
            return own_code(fullname)
        return cached_compile(cache, fullname, source, found[1])

    importer.get_filename, importer.get_code = get_filename, get_code
    importer._mydocker_bytecode = True
    return importer


def cache_bytecode():
    """Cache the bytecode of what the module imports from its zip from here on (see the module's
    docstring). Returns True when the importers of the zip were given the cache."""
    loader = globals().get("__loader__")
    if not isinstance(loader, zipimport.zipimporter) or not hasattr(zipimport.zipimporter, "exec_module"):
        return False  # not run from a zip, or a Python whose zipimport has another shape
    archive = loader.archive
    path = cache_dir()
    cache = Cache(path, not sys.dont_write_bytecode) if path and usable(path, not sys.dont_write_bytecode) \
        else None
    for importer in list(sys.path_importer_cache.values()):
        if isinstance(importer, zipimport.zipimporter) and importer.archive == archive:
            _patch(importer, cache)

    def hook(entry):
        importer = zipimport.zipimporter(entry)  # ZipImportError (an ImportError) for anything else
        return _patch(importer, cache) if importer.archive == archive else importer

    sys.path_hooks.insert(0, hook)
    return True
