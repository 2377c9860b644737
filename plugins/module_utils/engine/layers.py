# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The content-addressed layer store: each layer unpacked once, shared by every image and
container that uses it, never written to.

    <root>/image/layers/<L>/        the unpacked layer (L: the first 16 hex digits of its diff id,
                                    the sha256 of the uncompressed layer tar)
    <root>/image/layers/<L>.json    {"diffId", "size", ...}

A layer's whiteouts become overlay whiteouts when it is unpacked: ``.wh.NAME`` a character
device 0:0 called NAME, ``.wh..wh..opq`` the ``trusted.overlay.opaque=y`` attribute of its
directory; so a container's overlay (the image's layers as stacked lower directories) hides
what the layer deleted.  The names are short on purpose: the overlay mount options must fit in
one page, so a many-layer overlay is mounted with ``lowerdir=layers/<L>:...`` relative to
``<root>/image`` (as Docker's overlay2 driver does with its ``l/<short id>`` links).
"""

import os
import stat

from . import records
from .errors import MyDockerError
from .store import apparent_size as du
from .store import read_json, write_json

WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"


def sha256_file(path):
    import hashlib  # OpenSSL: fast on big layers; loaded when one is hashed (~6 ms of every start otherwise)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def diff_id(path):
    """``sha256:<hex>`` of the uncompressed content of the layer tar ``path`` (gzip or plain)."""
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    if not gz:
        return "sha256:" + sha256_file(path)
    import gzip  # here: run and ps never unpack (start-up cost)
    import hashlib
    h = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except (OSError, EOFError) as e:
        raise MyDockerError("image archive refused: layer %s is not a valid gzip stream (%s)"
                            % (os.path.basename(path), e))
    return "sha256:" + h.hexdigest()


def layer_name(digest):
    """The directory name of the layer with diff id ``digest`` ("sha256:<hex>" or <hex>)."""
    return digest.split(":", 1)[-1][:16]


def tar_error(stderr):
    """The line of tar's stderr that names what failed: the first ``tar: MEMBER: reason`` line,
    not the closing "Exiting with failure status" one."""
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    useful = [ln for ln in lines if "Exiting with failure status" not in ln]
    for ln in useful:
        body = ln[len("tar: "):] if ln.startswith("tar: ") else ln
        member, sep, reason = body.partition(": ")
        if sep and not member.startswith("/") and reason and "Removing leading" not in body:
            return "member %s: %s" % (member, reason)
    return (useful or lines or [""])[0]


def run(argv, what):
    import subprocess
    p = subprocess.run(argv, capture_output=True, check=False)
    if p.returncode != 0:
        err = tar_error(p.stderr) if argv[0] == "tar" else \
            (p.stderr.decode("utf-8", "replace").strip().splitlines() or [""])[-1]
        raise MyDockerError("%s: %s" % (what, err or "exit status %d" % p.returncode))
    return p


def check_members(layer_tar, dests, what):
    """Refuse a layer whose members (or hard-link targets) go through a symlink that an earlier
    layer left in one of ``dests`` and that leads out of it (tar guards the symlinks of the layer
    it extracts)."""
    import tarfile
    tops = [os.path.realpath(d) for d in dests]
    try:
        with tarfile.open(layer_tar) as tf:
            for m in tf:
                paths = [m.name] + ([m.linkname] if m.islnk() else [])  # a hard link's target too
                for name in paths:
                    parent = os.path.dirname(name.strip("/"))
                    if not parent:
                        continue
                    for top in tops:
                        real = os.path.realpath(os.path.join(top, parent))
                        if real != top and not real.startswith(top + os.sep):
                            raise MyDockerError("image archive refused: %s member %r would reach outside "
                                                "the image (through a symlink to %s)" % (what, m.name, real))
    except (tarfile.TarError, EOFError) as e:
        raise MyDockerError("image archive refused: %s is not a tar archive (%s)" % (what, e))


def convert_whiteouts(dest):
    """Turn the OCI whiteout files of the unpacked layer ``dest`` into overlay whiteouts. A
    directory keeps the mtime the layer gave it (the conversion's unlink and mknod would set it
    to now: an exported layer would then differ from the one imported)."""
    for dirpath, dirnames, filenames in os.walk(dest):
        before = None
        for fn in list(filenames) + list(dirnames):
            if not fn.startswith(WHITEOUT_PREFIX):
                continue
            if before is None:
                before = os.lstat(dirpath)
            wh = os.path.join(dirpath, fn)
            if os.path.isdir(wh) and not os.path.islink(wh):
                import shutil  # removal only (shutil loads bz2 and lzma: ~3 ms of every start)
                shutil.rmtree(wh)
                dirnames.remove(fn)
            else:
                os.unlink(wh)
            if fn == OPAQUE:
                os.setxattr(dirpath, OPAQUE_XATTR, b"y")
                continue
            target = os.path.join(dirpath, fn[len(WHITEOUT_PREFIX):])
            if os.path.isdir(target) and not os.path.islink(target):
                import shutil  # removal only (shutil loads bz2 and lzma: ~3 ms of every start)
                shutil.rmtree(target)
                if os.path.basename(target) in dirnames:
                    dirnames.remove(os.path.basename(target))
            elif os.path.lexists(target):
                os.unlink(target)
            os.mknod(target, stat.S_IFCHR | 0o600, os.makedev(0, 0))
        if before is not None:
            os.utime(dirpath, ns=(before.st_atime_ns, before.st_mtime_ns), follow_symlinks=False)


def is_whiteout(path):
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def unpack(layer_tar, dest, what="layer", lowers=()):
    """Extract one layer tar into the empty directory ``dest``, its whiteouts made overlay
    whiteouts. ``lowers``: the directories of the layers below (checked for symlinks out)."""
    check_members(layer_tar, list(lowers) + [dest], what)
    run(["tar", "-xpf", layer_tar, "-C", dest, "--numeric-owner"], "cannot unpack %s" % what)
    convert_whiteouts(dest)


def layer_dir(paths, name):
    return os.path.join(paths.layers, name)


def present(paths, name):
    return bool(name) and os.path.isdir(layer_dir(paths, name))


def store(paths, layer_tar, what, lowers=()):
    """Unpack ``layer_tar`` into the store unless a layer of the same diff id is there already.
    Returns (layer name, diff id, newly unpacked). The caller holds no lock; the rename into place
    is done under the state lock by ``commit_new``."""
    did = diff_id(layer_tar)
    name = layer_name(did)
    if present(paths, name):
        # still checked: the archive must not be accepted because a layer is already on disk
        check_members(layer_tar, list(lowers), what)
        return name, did, None
    import tempfile
    tmp = tempfile.mkdtemp(prefix=".tmp-", dir=paths.layers)
    try:
        os.chmod(tmp, 0o755)
        unpack(layer_tar, tmp, what, lowers)
    except BaseException:
        import shutil  # removal only (shutil loads bz2 and lzma: ~3 ms of every start)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return name, did, tmp


def commit_new(paths, name, did, tmp, extra=None):
    """Move an unpacked temporary layer into place (caller holds the state lock); a layer that
    appeared meanwhile wins and ``tmp`` is removed."""
    d = layer_dir(paths, name)
    if os.path.isdir(d):
        import shutil  # removal only (shutil loads bz2 and lzma: ~3 ms of every start)
        shutil.rmtree(tmp, ignore_errors=True)
        return False
    os.rename(tmp, d)
    meta = {"diffId": did, "size": du(d)}
    meta.update(extra or {})
    write_json(d + ".json", meta)
    return True


def meta(paths, name):
    return read_json(layer_dir(paths, name) + ".json") or {}


def container_users(paths, name):
    """Names of the containers whose overlay uses layer ``name``."""
    out = []
    for r in records.all_records(paths):
        if r.get("layer") == name or name in (r.get("layers") or []):
            out.append(r.name)
    return out


def remove(paths, name):
    """Delete layer ``name`` from disk (caller holds the lock and checked it is unused)."""
    d = layer_dir(paths, name)
    if os.path.isdir(d):
        import tempfile
        trash = tempfile.mkdtemp(prefix=".rm-", dir=paths.layers)
        os.rename(d, os.path.join(trash, "l"))
        import shutil  # removal only (shutil loads bz2 and lzma: ~3 ms of every start)
        shutil.rmtree(trash, ignore_errors=True)
    for extra in (".json", ".tar.gz", ".blob.json", ".src", ".src.json"):  # its record, export's cache
        if os.path.exists(d + extra):
            os.unlink(d + extra)


def overlay_lowers(paths, names):
    """The lower directories (top first, as overlay wants them) of layers ``names`` (bottom first)."""
    return [layer_dir(paths, n) for n in reversed(names)]


def disk_usage(paths):
    """{layer name: bytes} of every layer on disk."""
    out = {}
    try:
        entries = os.listdir(paths.layers)
    except OSError:
        return out
    for n in entries:
        d = os.path.join(paths.layers, n)
        if not n.startswith(".") and os.path.isdir(d):
            m = meta(paths, n)
            out[n] = m["size"] if isinstance(m.get("size"), int) else du(d)
    return out


def seed(paths, name, diff_id, src):
    """Keep ``src``, the layer tar (gzip or plain) an archive import unpacked as layer ``name``,
    so that an export writes the archive's own bytes (its diff id, and for a gzip layer its
    digest, stay the same). Renamed into place: the caller holds the lock; ``src`` is in the
    layer store's file system. ``export`` writes the kept tar again (``export._from_seed``);
    this lives here so that a pull, which keeps every blob it unpacks, needs no export code (a
    module's zip holds every file its imports name)."""
    base = layer_dir(paths, name)
    os.rename(src, base + ".src")
    write_json(base + ".src.json", {"diffId": diff_id})
