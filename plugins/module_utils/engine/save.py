# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``mydocker save``: images of the store as one archive that ``docker load``, ``podman load``
and ``skopeo`` read, and ``load``: every image of such an archive into the store.

    docker-archive   manifest.json ([{Config, RepoTags, Layers}]), repositories, the configs as
                     <hex>.json, each layer once as <diff id hex>/layer.tar (uncompressed, as
                     ``docker save`` writes them)
    oci-archive      oci-layout, index.json (one manifest per image and reference, named by the
                     annotations ``io.containerd.image.name`` (the whole reference) and
                     ``org.opencontainers.image.ref.name`` (the tag)), blobs/sha256/<hex>

The blobs come from ``export`` (and its cache).  Members are written in a fixed order with
fixed times and owners, so saving the same images twice gives the same bytes.
"""

import gzip
import io
import json
import os
import tarfile
import tempfile

from . import export, imageimport, imagestore
from . import reference as refs
from .errors import MyDockerError
from .store import Paths

FORMATS = ("docker-archive", "oci-archive")
NAME_ANNOTATION = "io.containerd.image.name"
REF_ANNOTATION = "org.opencontainers.image.ref.name"


def _info(name, size, mode=0o644, kind=tarfile.REGTYPE):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.size = size
    ti.mode = mode
    ti.mtime = 0
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


def _add_bytes(tf, name, data):
    tf.addfile(_info(name, len(data)), io.BytesIO(data))


def _add_dir(tf, name, seen):
    if name not in seen:
        seen.add(name)
        tf.addfile(_info(name, 0, 0o755, tarfile.DIRTYPE))


def _tar_size(blob):
    n = 0
    with gzip.open(blob, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            n += len(chunk)
    return n


def _tags_for(paths, name):
    """The references an archive gives the image ``name`` names: that reference (with its
    tag), or none for an image named by its ID (as ``docker save ID``)."""
    rec, ref = imagestore._resolve(paths, name)
    if rec is None:
        raise MyDockerError("image %s not found" % name)
    return [ref] if ref is not None and not ref.digest else []


def _docker_archive(tf, paths, wanted):
    manifest, repos, seen = [], {}, set()
    for name in wanted:
        b = export.image_blobs(paths, name, media="docker")
        tags = _tags_for(paths, name)
        cfg_name = b["configDigest"].split(":", 1)[1] + ".json"
        if cfg_name not in seen:
            seen.add(cfg_name)
            _add_bytes(tf, cfg_name, b["config"])
        layer_names = []
        for lay in b["layers"]:
            d = lay["diffId"].split(":", 1)[1]
            member = d + "/layer.tar"
            layer_names.append(member)
            if member in seen:
                continue
            _add_dir(tf, d, seen)
            seen.add(member)
            with gzip.open(lay["path"], "rb") as f:
                tf.addfile(_info(member, _tar_size(lay["path"])), f)
        entry = {"Config": cfg_name, "RepoTags": [], "Layers": layer_names}
        for r in tags:
            entry["RepoTags"].append("%s:%s" % (r.familiar_repository, r.tag or "latest"))
            repos.setdefault(r.familiar_repository, {})[r.tag or "latest"] = layer_names[-1].split("/")[0]
        # one entry per image: a second name of an image already in the archive adds its tag
        same = [m for m in manifest if m["Config"] == cfg_name and m["Layers"] == layer_names]
        if same:
            same[0]["RepoTags"] = sorted(set(same[0]["RepoTags"]) | set(entry["RepoTags"]))
        else:
            manifest.append(entry)
    _add_bytes(tf, "manifest.json", json.dumps(manifest, separators=(",", ":")).encode())
    _add_bytes(tf, "repositories", json.dumps(repos, sort_keys=True, separators=(",", ":")).encode())


def _oci_archive(tf, paths, wanted):
    seen = set()
    index = []
    _add_bytes(tf, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    for d in ("blobs", "blobs/sha256"):
        _add_dir(tf, d, seen)

    def blob(digest, data=None, path=None):
        member = "blobs/sha256/" + digest.split(":", 1)[1]
        if member in seen:
            return
        seen.add(member)
        if data is not None:
            _add_bytes(tf, member, data)
        else:
            with open(path, "rb") as f:
                tf.addfile(_info(member, os.path.getsize(path)), f)

    for name in wanted:
        b = export.image_blobs(paths, name, media="oci")
        for lay in b["layers"]:
            blob(lay["digest"], path=lay["path"])
        blob(b["configDigest"], b["config"])
        blob(b["manifestDigest"], b["manifest"])
        desc = {"mediaType": b["manifestMediaType"], "digest": b["manifestDigest"], "size": len(b["manifest"])}
        tags = _tags_for(paths, name)
        for r in tags:
            index.append(dict(desc, annotations={NAME_ANNOTATION: str(r), REF_ANNOTATION: r.tag or "latest"}))
        if not tags:
            index.append(desc)
    _add_bytes(tf, "index.json", export.canonical({"schemaVersion": 2, "manifests": index}))


def save(root, names, output=None, fmt="docker-archive", stream=None):
    """Write images ``names`` as one archive of format ``fmt`` to the file ``output`` (atomically:
    a refused save leaves no file) or to the binary stream ``stream``. Returns output."""
    if fmt not in FORMATS:
        raise MyDockerError("invalid format %r: use docker-archive or oci-archive" % (fmt,))
    if not names:
        raise MyDockerError("save needs at least one image")
    paths = root if isinstance(root, Paths) else Paths(root)
    for n in names:
        imagestore.get_image(paths, n)  # every name checked before anything is written
    if output is None and stream is None:
        raise MyDockerError("save needs an output file (-o FILE) or a stream")
    tmp = None
    try:
        if output is not None:
            output = os.path.abspath(output)
            d = os.path.dirname(output)
            if not os.path.isdir(d):
                raise MyDockerError("output directory %s does not exist" % d)
            fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(output) + ".", dir=d)
            stream = os.fdopen(fd, "wb")
        with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as tf:
            (_docker_archive if fmt == "docker-archive" else _oci_archive)(tf, paths, list(names))
        stream.flush()
        if tmp is not None:
            os.fsync(stream.fileno())
            stream.close()
            os.chmod(tmp, 0o644)
            os.rename(tmp, output)
            tmp = None
    finally:
        if tmp is not None:
            if not stream.closed:
                stream.close()
            if os.path.exists(tmp):
                os.unlink(tmp)
    return output


# ------------------------------------------------------------------ load

def archive_images(path):
    """[(entry index, [references])] of the images in the docker/OCI archive ``path``."""
    kind = imageimport.archive_kind(path)
    if kind == "rootfs":
        raise MyDockerError("%s is not an image archive (a rootfs tarball: import it with "
                            "mydocker image import FILE NAME)" % path)
    try:
        with tarfile.open(path) as tf:
            members = dict((m.name[2:] if m.name.startswith("./") else m.name, m) for m in tf)
            fname = "manifest.json" if kind == "docker" else "index.json"
            if fname not in members or not members[fname].isfile():
                raise MyDockerError("%s is not a valid image archive (no %s)" % (path, fname))
            doc = json.load(tf.extractfile(members[fname]))
    except (tarfile.TarError, ValueError, OSError, EOFError) as e:
        raise MyDockerError("%s is not a valid image archive (%s)" % (path, e))
    out = []
    if kind == "docker":
        for i, m in enumerate(doc if isinstance(doc, list) else []):
            out.append((i, [str(t) for t in (m.get("RepoTags") or [])]))
    else:
        for i, m in enumerate(doc.get("manifests") or [] if isinstance(doc, dict) else []):
            ann = m.get("annotations") or {}
            name = ann.get(NAME_ANNOTATION) or ann.get(REF_ANNOTATION)
            if name and refs.try_parse(name) is None:
                name = None  # a bare tag: the archive does not say the repository
            out.append((i, [name] if name else []))
    if not out:
        raise MyDockerError("%s holds no image" % path)
    return kind, out


def entry_digest(digest, entry):
    """The digest ("sha256:...") of the image a load of entry ``entry`` of the archive of
    ``digest`` records."""
    return "sha256:" + imageimport.entry_key(digest.split(":", 1)[-1], entry)


def load(root, path, force=False):
    """Import every image of archive ``path`` with every reference it names. Returns
    [(reference, record, changed)]; an image the archive does not name is refused."""
    path = os.path.abspath(path)
    kind, entries = archive_images(path)
    untagged = [i for i, names in entries if not names]
    if untagged:
        raise MyDockerError("%s: image %d of the archive has no name: import it with "
                            "mydocker image import FILE NAME" % (path, untagged[0] + 1))
    for i, names in entries:
        for n in names:
            refs.parse(n)
    done = []
    for i, names in entries:
        rec, changed = imageimport.import_image(root, path, names[0], force=force, entry=i)
        done.append((names[0], rec, changed))
        for n in names[1:]:
            before = imagestore.read_image(root, n)
            rec2 = imagestore.tag(root, names[0], n)
            done.append((n, rec2, before is None or before.get("digest") != rec2.get("digest")))
    return done
