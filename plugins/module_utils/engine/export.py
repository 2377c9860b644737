# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An image of the store as the blobs a registry or an archive holds: one gzip-compressed layer
tar per layer, the image config and the manifest (OCI or Docker schema 2).

A layer directory becomes a deterministic tar: entries in name order (a directory before what
it holds), the mtimes, owners (numeric, no user names) and modes as they are on disk, hard
links as links; the layer's overlay whiteouts become OCI whiteouts again (a 0:0 character
device NAME is the empty file ``.wh.NAME``, a directory with ``trusted.overlay.opaque=y`` gets a
``.wh..wh..opq`` entry).  gzip without a name or a time, so the same directory always gives the
same bytes.

The compressed blob is cached beside the layer, by the layer's diff id:

    <root>/image/layers/<L>.tar.gz     the blob
    <root>/image/layers/<L>.blob.json  {"digest", "size", "diffId", "layerDiffId"}

so a second export (a ``save``, a ``push``) reuses it.

A layer that came from a docker or OCI archive keeps its diff id: the import keeps the
archive's own layer tar beside the layer (``<L>.src``, see ``layers.seed``), and the first export makes
the blob of those bytes (a gzip layer is used as it is, so its digest is the archive's too).
A tar written afresh from the directory could not have that diff id: the archive's header
format, order and padding are not recorded when a layer is unpacked.  A rootfs tarball import
keeps no copy of its own for this, but its tarball is used when it is still there with the
layer's diff id (the copy the store keeps for a SPEC 1.3 name, or the source file).  Where no
such tar is left (a state root from before this, a source file changed since), the diff id of
the tar written here is used, consistently: the config's ``rootfs.diff_ids`` and the
cache say the new one (``layerDiffId`` keeps the stored one), and every later export gives the
same bytes.  A layer that ``commit`` or ``build`` made here was stored from this very tar, so
its diff id is the same.
"""

import gzip
import hashlib
import json
import os
import stat
import tarfile
import tempfile
import time

from . import imagestore, layers
from . import reference as refs
from .errors import MyDockerError
from .store import Paths, read_json, state_lock, write_json

MEDIA = {
    "oci": {"manifest": "application/vnd.oci.image.manifest.v1+json",
            "config": "application/vnd.oci.image.config.v1+json",
            "layer": "application/vnd.oci.image.layer.v1.tar+gzip"},
    "docker": {"manifest": "application/vnd.docker.distribution.manifest.v2+json",
               "config": "application/vnd.docker.container.image.v1+json",
               "layer": "application/vnd.docker.image.rootfs.diff.tar.gzip"},
}


class _Hashing:
    """A write-only file that hashes and counts what goes through it to ``out``."""

    def __init__(self, out):
        self.out = out
        self.h = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.h.update(data)
        self.size += len(data)
        if self.out is not None:
            self.out.write(data)
        return len(data)

    def flush(self):
        if self.out is not None:
            self.out.flush()

    def digest(self):
        return "sha256:" + self.h.hexdigest()


def _opaque(path):
    try:
        return os.getxattr(path, layers.OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _entries(top, rel=""):
    """(relative name, absolute path) of everything under ``top``, parents first, names sorted."""
    here = os.path.join(top, rel) if rel else top
    try:
        names = sorted(os.listdir(here))
    except OSError as e:
        raise MyDockerError("cannot read layer directory %s: %s" % (here, e.strerror or e))
    for n in names:
        r = rel + "/" + n if rel else n
        p = os.path.join(top, r)
        yield r, p
        if stat.S_ISDIR(os.lstat(p).st_mode):
            yield from _entries(top, r)


def _normal(ti, st):
    ti.mtime = int(st.st_mtime)
    ti.uname = ""
    ti.gname = ""
    ti.uid = st.st_uid
    ti.gid = st.st_gid
    return ti


def _plain(name, st, mode):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.REGTYPE
    ti.size = 0
    ti.mode = mode
    return _normal(ti, st)


def write_layer_tar(src_dir, fileobj):
    """Write the deterministic layer tar of the directory ``src_dir`` to ``fileobj`` (a stream:
    only ``write`` is used). Overlay whiteouts become OCI whiteout files."""
    with tarfile.open(fileobj=fileobj, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        for rel, path in _entries(src_dir):
            st = os.lstat(path)
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:  # an overlay whiteout
                d, b = os.path.split(rel)
                tf.addfile(_plain(os.path.join(d, layers.WHITEOUT_PREFIX + b), st, 0o600))
                continue
            if stat.S_ISSOCK(st.st_mode):
                continue  # a tar cannot hold a socket (Docker leaves them out too)
            ti = tf.gettarinfo(path, arcname=rel)
            if ti is None:
                continue
            _normal(ti, st)
            if ti.isreg():
                with open(path, "rb") as f:
                    tf.addfile(ti, f)
            else:
                tf.addfile(ti)
            if ti.isdir() and _opaque(path):
                tf.addfile(_plain(rel + "/" + layers.OPAQUE, st, stat.S_IMODE(st.st_mode)))


def _blob_paths(paths, name):
    base = layers.layer_dir(paths, name)
    return base + ".tar.gz", base + ".blob.json"


def _from_seed(paths, name, tmp_raw, candidates=(), stored_diff_id=None):
    """(digest, size, diff id) of the blob made from the kept archive layer of ``name`` (or from
    the first of ``candidates``, files such as a rootfs import's stored tarball, whose diff id is
    ``stored_diff_id``), written to the open file ``tmp_raw``; None when there is none."""
    base = layers.layer_dir(paths, name)
    meta = read_json(base + ".src.json")
    src = base + ".src"
    if not isinstance(meta, dict) or not os.path.isfile(src):
        src = None
        for c in candidates if stored_diff_id else ():
            try:
                if c and os.path.isfile(c) and layers.diff_id(c) == stored_diff_id:
                    src, meta = c, {"diffId": stored_diff_id}
                    break
            except (OSError, MyDockerError):
                continue
        if src is None:
            return None
    with open(src, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
        f.seek(0)
        outer = _Hashing(tmp_raw)
        if gz:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                outer.write(chunk)
        else:
            with gzip.GzipFile(filename="", mode="wb", fileobj=outer, mtime=0, compresslevel=6) as z:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    z.write(chunk)
    return outer.digest(), outer.size, meta.get("diffId")


def cached_blob(paths, name):
    """The cached blob of layer ``name`` ({"digest", "size", "diffId", "layerDiffId", "path"}) or
    None when there is none (or it does not match its record)."""
    blob, meta_path = _blob_paths(paths, name)
    meta = read_json(meta_path)
    if not isinstance(meta, dict) or not os.path.isfile(blob):
        return None
    try:
        if os.path.getsize(blob) != meta.get("size"):
            return None
    except OSError:
        return None
    return dict(meta, path=blob)


def layer_blob(paths, name, stored_diff_id=None, candidates=()):
    """The gzip blob of layer ``name``: from the cache, or written (and cached) now.
    ``candidates``: files that may hold the layer's own tar (checked by its diff id)."""
    paths = paths if isinstance(paths, Paths) else Paths(paths)
    hit = cached_blob(paths, name)
    if hit is not None:
        return hit
    src = layers.layer_dir(paths, name)
    if not os.path.isdir(src):
        raise MyDockerError("layer %s is missing (import the image again)" % name)
    blob, meta_path = _blob_paths(paths, name)
    fd, tmp = tempfile.mkstemp(prefix=".blob-", dir=paths.layers)
    try:
        with os.fdopen(fd, "wb") as raw:
            kept = _from_seed(paths, name, raw, candidates, stored_diff_id)
            if kept is None or not kept[2]:
                raw.seek(0)
                raw.truncate()
                outer = _Hashing(raw)
                with gzip.GzipFile(filename="", mode="wb", fileobj=outer, mtime=0, compresslevel=6) as gz:
                    inner = _Hashing(gz)
                    write_layer_tar(src, inner)
                kept = (outer.digest(), outer.size, inner.digest())
            raw.flush()
            os.fsync(raw.fileno())
        did = kept[2]
        meta = {"digest": kept[0], "size": kept[1], "diffId": did,
                "layerDiffId": stored_diff_id or layers.meta(paths, name).get("diffId") or did}
        with state_lock(paths):
            if not os.path.isdir(src):
                raise MyDockerError("layer %s was removed while it was exported" % name)
            os.chmod(tmp, 0o644)
            os.rename(tmp, blob)
            tmp = None
            write_json(meta_path, meta)
            for p in (layers.layer_dir(paths, name) + ".src", layers.layer_dir(paths, name) + ".src.json"):
                if os.path.exists(p):  # the blob holds its bytes now
                    os.unlink(p)
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return dict(meta, path=blob)


def drop_cache(paths, name):
    """Remove the cached blob of layer ``name`` (with the layer; caller holds the lock)."""
    base = layers.layer_dir(paths, name)
    for p in _blob_paths(paths, name) + (base + ".src", base + ".src.json"):
        if os.path.exists(p):
            os.unlink(p)


def _created(rec):
    c = str(rec.get("created") or "")
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.strptime(c, "%Y-%m-%d %H:%M:%S"))
    except ValueError:
        return c or "1970-01-01T00:00:00Z"


def image_config(rec, diff_ids):
    """The OCI/Docker image config document of the image record ``rec`` with ``diff_ids``."""
    cfg = rec.get("config") or {}
    c = {}
    for k in ("Env", "Cmd", "Entrypoint"):
        if cfg.get(k):
            c[k] = list(cfg[k])
    for k in ("WorkingDir", "User", "StopSignal"):
        if cfg.get(k):
            c[k] = cfg[k]
    if cfg.get("ExposedPorts"):
        c["ExposedPorts"] = dict((p, {}) for p in cfg["ExposedPorts"])
    if cfg.get("Volumes"):
        c["Volumes"] = dict((v, {}) for v in cfg["Volumes"])
    if cfg.get("Labels"):
        c["Labels"] = dict(cfg["Labels"])
    history = rec.get("history")
    if not isinstance(history, list) or len([h for h in history if not h.get("empty_layer")]) != len(diff_ids):
        history = [{"created": _created(rec), "created_by": "mydocker %s" % (rec.get("source") or "import")}
                   for _d in diff_ids]
    return {"created": _created(rec), "architecture": rec.get("architecture") or "amd64",
            "os": "linux", "config": c, "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
            "history": history}


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode("utf-8")


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _rootfs_tars(paths, rec):
    """The files that may still be the tarball a rootfs image was imported from: the copy the
    store keeps for a SPEC 1.3 name, the source file."""
    if rec.get("format") != "rootfs":
        return []
    out = []
    for t in rec.get("repoTags") or []:
        r = refs.try_parse(t)
        if r is not None and r.legacy_name:
            out.append(paths.image_tar(r.legacy_name))
    if rec.get("source") and os.path.isabs(str(rec["source"])):
        out.append(rec["source"])
    return out


def image_blobs(paths, ref, media="oci"):
    """The blobs of image ``ref`` (a reference or an ID): ``dict(manifest=bytes,
    manifestDigest, config=bytes, configDigest, layers=[dict(digest, size, diffId, path,
    mediaType)], record)``; ``media``: "oci" or "docker" (schema 2)."""
    if media not in MEDIA:
        raise MyDockerError("unknown manifest format %r (oci or docker)" % (media,))
    paths = paths if isinstance(paths, Paths) else Paths(paths)
    rec = imagestore.get_image(paths, ref)
    names = list(rec.get("layers") or [rec["layer"]])
    stored = list(rec.get("diffIds") or [])
    mt = MEDIA[media]
    out_layers = []
    for i, n in enumerate(names):
        b = layer_blob(paths, n, stored[i] if i < len(stored) else None,
                       _rootfs_tars(paths, rec) if len(names) == 1 else ())
        out_layers.append({"digest": b["digest"], "size": b["size"], "diffId": b["diffId"],
                           "path": b["path"], "mediaType": mt["layer"]})
    config = canonical(image_config(rec, [lay["diffId"] for lay in out_layers]))
    manifest = {"schemaVersion": 2, "mediaType": mt["manifest"],
                "config": {"mediaType": mt["config"], "digest": digest_of(config), "size": len(config)},
                "layers": [{"mediaType": lay["mediaType"], "digest": lay["digest"], "size": lay["size"]}
                           for lay in out_layers]}
    mbytes = canonical(manifest)
    return {"manifest": mbytes, "manifestDigest": digest_of(mbytes), "manifestMediaType": mt["manifest"],
            "config": config, "configDigest": digest_of(config), "layers": out_layers, "record": rec}
