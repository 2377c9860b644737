# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Importing into the image store (``images``): a rootfs tarball as one layer, a ``docker save``
or OCI archive layer by layer into the content-addressed store (``layers``); commit of a
container's root; the reproducible busybox base image.

Every layer is unpacked into a temporary directory first; only when the whole archive was
accepted are they moved into place, the record and the reference written, under the lock.
A refused archive leaves nothing behind.
"""

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time

from . import imageconfig, layers
from . import imagestore as images  # the record store
from . import reference as refs
from .errors import MyDockerError
from .lazyre import lazy_re
from .store import Paths, makedirs, state_lock, write_json

_run = layers.run
_DIGEST_RE = lazy_re(r"^(sha256|sha384|sha512):([a-f0-9]{32,128})$")
_ARCHIVE_ERRORS = (OSError, KeyError, IndexError, ValueError, TypeError, AttributeError)


def _archive_kind(path):
    """'rootfs', 'docker' (docker save) or 'oci'; raises when ``path`` is not a tarball."""
    if not os.path.isfile(path):
        raise MyDockerError("image file %s does not exist" % path)
    try:
        with tarfile.open(path) as tf:
            names = set()
            for i, m in enumerate(tf):
                names.add(m.name.lstrip("./"))
                if i > 64:
                    break
    except (tarfile.TarError, EOFError, OSError) as e:
        raise MyDockerError("%s is not a tar archive (%s)" % (path, e))
    if not names:
        raise MyDockerError("%s is an empty tar archive" % path)
    if "index.json" in names and "oci-layout" in names:
        return "oci"
    if "manifest.json" in names and any(n.endswith("layer.tar") or n.startswith("blobs/") for n in names):
        return "docker"
    return "rootfs"


def _inside(work, name, what):
    """The path of ``name``, an entry the archive's own metadata names, checked to resolve (through
    any symlinks) to a regular file inside the extracted archive ``work``."""
    if not isinstance(name, str) or not name:
        raise MyDockerError("image archive refused: %s %r is not a file name" % (what, name))
    if name.startswith("/") or ".." in name.split("/"):
        raise MyDockerError("image archive refused: %s %r points outside the archive" % (what, name))
    top = os.path.realpath(work)
    real = os.path.realpath(os.path.join(top, name))
    if not real.startswith(top + os.sep):
        raise MyDockerError("image archive refused: %s %r resolves outside the archive (to %s)"
                            % (what, name, real))
    if not os.path.isfile(real):
        raise MyDockerError("image archive refused: %s %r is not a regular file in the archive" % (what, name))
    return real


def _load(work, name, what):
    with open(_inside(work, name, what)) as f:
        return json.load(f)


def _blob_name(d):
    m = _DIGEST_RE.match(str(d.get("digest") if isinstance(d, dict) else d))
    if not m:
        raise MyDockerError("image archive refused: OCI digest %r is not a valid digest"
                            % (d.get("digest") if isinstance(d, dict) else d))
    return "blobs/%s/%s" % m.groups()


def _read_archive(work, kind, entry=0):
    """([(layer tar path, what)], config json, manifest digest or None) of an extracted archive
    (of its image number ``entry``: a multi-image archive, ``save.load``)."""
    if kind == "docker":
        manifest = _load(work, "manifest.json", "manifest")[entry]
        lays = [(_inside(work, p, "manifest layer"), "layer %s" % p) for p in manifest["Layers"]]
        return lays, _load(work, manifest["Config"], "manifest config"), None
    index = _load(work, "index.json", "OCI index")
    desc = index["manifests"][entry]
    manifest = _load(work, _blob_name(desc), "OCI manifest")
    if "manifests" in manifest:  # nested index
        desc = manifest["manifests"][0]
        manifest = _load(work, _blob_name(desc), "OCI manifest")
    lays = [(_inside(work, _blob_name(d), "OCI layer"), "layer %s" % d["digest"]) for d in manifest["layers"]]
    return lays, _load(work, _blob_name(manifest["config"]), "OCI config"), desc.get("digest")


def entry_key(digest, entry=0):
    """The image key (hex) of image number ``entry`` of the archive of sha256 ``digest`` (hex):
    the archive's digest for the first, derived from it for the others."""
    if not entry:
        return digest
    return hashlib.sha256(("%s#%d" % (digest, entry)).encode()).hexdigest()


def archive_kind(path):
    """Public form of ``_archive_kind``: 'rootfs', 'docker' or 'oci' (MyDockerError when ``path``
    is not a tar archive).  Reads the archive, changes nothing."""
    return _archive_kind(os.path.abspath(path))


def file_digest(path):
    """``"sha256:<hex>"`` of a file: the content digest an import of it records."""
    return "sha256:" + layers.sha256_file(path)


def predict_layer(path, kind, digest):
    """The name of the top layer an import of archive ``path`` records (reads, changes nothing)."""
    if kind == "rootfs":
        return images.digest_ids(digest)[1]
    try:
        did = top_layer_diff_id(path, kind)
    except (MyDockerError, OSError, KeyError, IndexError, ValueError, TypeError, AttributeError,
            tarfile.TarError, EOFError):
        return None
    return layers.layer_name(did) if did else None


def _target(name):
    ref = refs.parse(name)
    if ref.digest:
        raise MyDockerError("invalid image name %s: an import cannot be named by a digest" % name)
    return ref


def _refuse_used(paths, name, layer):
    users = layers.container_users(paths, layer)
    if users:
        raise MyDockerError("cannot import image %s again with force: its layer is used by container(s) %s "
                            "(remove them first)" % (name, ", ".join(users)))


def _unpack_rootfs(paths, src, digest, name, force, tmps):
    lname = images.digest_ids(digest)[1]
    present = layers.present(paths, lname)
    if force and present:
        _refuse_used(paths, name, lname)
    with open(src, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    did = layers.diff_id(src) if gz else "sha256:" + digest
    if force or not present:
        tmp = tempfile.mkdtemp(prefix=".tmp-", dir=paths.layers)
        tmps.append([lname, did, tmp])
        os.chmod(tmp, 0o755)
        _run(["tar", "-xpf", src, "-C", tmp, "--numeric-owner"], "%s is not a valid image tarball" % src)
    return [lname], [did]


def _unpack_layers(paths, src, kind, name, force, tmps, entry=0):
    work = tempfile.mkdtemp(prefix=".import-", dir=paths.layers)
    try:
        _run(["tar", "-xf", src, "-C", work], "%s is not a valid image archive" % src)
        try:
            entries, cfg, mdigest = _read_archive(work, kind, entry)
            names, dids, lowers = [], [], []
            for tar, what in entries:
                did = layers.diff_id(tar)
                lname = layers.layer_name(did)
                layers.check_members(tar, lowers, what)
                if layers.present(paths, lname) and not force and lname not in names:
                    lowers.append(layers.layer_dir(paths, lname))
                elif lname in names:  # the same layer twice in one image
                    pass
                else:
                    if force and layers.present(paths, lname):
                        _refuse_used(paths, name, lname)
                    tmp = tempfile.mkdtemp(prefix=".tmp-", dir=paths.layers)
                    tmps.append([lname, did, tmp])
                    os.chmod(tmp, 0o755)
                    layers.unpack(tar, tmp, what, lowers)
                    os.link(tar, tmp + ".src")  # the archive's own bytes, for export (layers.seed)
                    lowers.append(tmp)
                names.append(lname)
                dids.append(did)
            config = imageconfig.from_image_config(cfg)
        except _ARCHIVE_ERRORS as e:
            raise MyDockerError("%s is not a valid image archive (%s)" % (src, e))
        want = ((cfg.get("rootfs") or {}).get("diff_ids") if isinstance(cfg, dict) else None)
        if isinstance(want, list) and want and want != dids:
            raise MyDockerError("image archive refused: the layers' diff ids %s are not the config's %s"
                                % (", ".join(d[7:19] for d in dids), ", ".join(str(d)[7:19] for d in want)))
        return names, dids, config, mdigest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def import_image(root, src, name, force=False, source=None, entry=0):
    """Import the tarball ``src`` as image ``name`` (a reference). Returns (record, changed).

    ``source``: what the record gives as the image's source when that is not ``src`` (an image
    re-imported from its stored tarball keeps the file it first came from).

    ``force``: import again even when the image already has this content (the layers are
    unpacked afresh and replace the ones on disk; refused while a container uses one).

    ``entry``: the image of a multi-image docker/OCI archive (its number; its key is derived
    from the archive's digest and the number)."""
    ref = _target(name)
    paths = Paths(root)
    paths.ensure()
    makedirs(os.path.join(paths.images, "images"))
    src = os.path.abspath(src)
    kind = _archive_kind(src)
    digest = entry_key(layers.sha256_file(src), entry)
    old = images._resolve(paths, name, by_id=False)[0]
    if not force and old and old.get("digest") == "sha256:" + digest and images.layer_present(paths, old):
        with state_lock(paths):
            rec = images._resolve(paths, name, by_id=False)[0] or old
            if (source and rec.get("source") != source) or images._stored(paths, digest) is None:
                rec = dict(rec, source=source or rec.get("source"))
                write_json(images._record_path(paths, digest), rec)
            if images._repos(paths).get(str(ref)) != digest or (source and old.get("source") != source):
                images._write_ref(paths, ref, rec)
        return images.read_image(paths, name), False
    tmps = []
    tmp_tar = None
    try:
        if kind == "rootfs":
            names, dids = _unpack_rootfs(paths, src, digest, name, force, tmps)
            config, mdigest = {}, None
            if ref.legacy_name:
                tmp_tar = paths.image_tar(ref.legacy_name) + ".tmp%d" % os.getpid()
                shutil.copyfile(src, tmp_tar)  # a copy: the user's file may change later
                os.chmod(tmp_tar, 0o644)
        else:
            names, dids, config, mdigest = _unpack_layers(paths, src, kind, name, force, tmps, entry)
        with state_lock(paths):
            for t in tmps:
                lname, did, tmp = t
                if force and layers.present(paths, lname):
                    _refuse_used(paths, name, lname)
                    layers.remove(paths, lname)
                if layers.commit_new(paths, lname, did, tmp) and os.path.exists(tmp + ".src"):
                    layers.seed(paths, lname, did, tmp + ".src")
                elif os.path.exists(tmp + ".src"):
                    os.unlink(tmp + ".src")
                t[2] = None
            rec = {"name": images.display_name(ref), "id": digest[:12], "digest": "sha256:" + digest,
                   "layer": names[-1], "layers": names, "diffIds": dids,
                   "created": time.strftime("%Y-%m-%d %H:%M:%S"),
                   "size": sum(layers.meta(paths, n).get("size") or 0 for n in set(names)),
                   "source": source or src, "format": kind, "config": config,
                   "repoDigests": ["%s@%s" % (ref.familiar_repository, mdigest)] if mdigest else []}
            prior = images._stored(paths, digest)
            if prior is not None:  # the same archive under another reference: one image
                rec["created"] = prior.get("created") or rec["created"]
                rec["repoDigests"] = sorted(set(prior.get("repoDigests") or []) | set(rec["repoDigests"]))
            write_json(images._record_path(paths, digest), rec)
            old_key = images._write_ref(paths, ref, rec, tar_src=tmp_tar)
            tmp_tar = None
            for k in set([old_key, images._key(old) if old else None]) - set([None, digest]):
                if images._stored(paths, k) is not None:
                    images._drop_if_untagged(paths, k)
                elif old is not None:  # the SPEC 1.3 record this name replaced
                    for n in old.get("layers") or [old["layer"]]:
                        images._gc_layer(paths, n)
    finally:
        for lname, did, tmp in tmps:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
                if os.path.exists(tmp + ".src"):
                    os.unlink(tmp + ".src")
        if tmp_tar is not None and os.path.exists(tmp_tar):
            os.unlink(tmp_tar)
    return images.read_image(paths, name), True


def top_layer_diff_id(path, kind):
    """The diff id of the top layer of the docker/OCI archive ``path``, read without unpacking it
    (for a check-mode prediction); None when the archive does not say."""
    with tarfile.open(path) as tf:
        members = dict((m.name.lstrip("./") if m.name != "." else m.name, m) for m in tf)

        def read(name):
            f = tf.extractfile(members[name.lstrip("./")])
            return f

        if kind == "docker":
            manifest = json.load(read("manifest.json"))[0]
            layer = manifest["Layers"][-1]
        else:
            index = json.load(read("index.json"))
            desc = index["manifests"][0]
            manifest = json.load(read(_blob_name(desc)))
            if "manifests" in manifest:
                manifest = json.load(read(_blob_name(manifest["manifests"][0])))
            layer = _blob_name(manifest["layers"][-1])
        f = read(layer)
        head = f.read(2)
        f.seek(0)
        stream = gzip.GzipFile(fileobj=f) if head == b"\x1f\x8b" else f
        h = hashlib.sha256()
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            h.update(chunk)
        return "sha256:" + h.hexdigest()


def tar_directory(src_dir, output):
    """Write a tar of ``src_dir`` (a merged root) to ``output`` atomically."""
    output = os.path.abspath(output)
    d = os.path.dirname(output)
    if not os.path.isdir(d):
        raise MyDockerError("output directory %s does not exist" % d)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(output) + ".", dir=d)
    os.close(fd)
    try:
        _run(["tar", "-cf", tmp, "--numeric-owner", "-C", src_dir, "."], "cannot write %s" % output)
        os.rename(tmp, output)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return output


def commit_directory(root, src_dir, name):
    """Make image ``name`` from the directory ``src_dir`` (a container's merged root)."""
    _target(name)
    paths = Paths(root)
    paths.ensure()
    fd, tmp = tempfile.mkstemp(prefix=".commit-", suffix=".tar", dir=paths.images)
    os.close(fd)
    try:
        tar_directory(src_dir, tmp)
        rec = import_image(root, tmp, name, source="commit")[0]
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return rec


def make_busybox_rootfs(dest_tar, busybox=None):
    """Build a minimal rootfs tarball from a static busybox binary (for the base image).

    The tarball is reproducible: the same binary always gives the same bytes (names sorted, fixed
    modes, owners and times), so importing it again is recognised as no change."""
    busybox = busybox or shutil.which("busybox") or "/bin/busybox"
    if not os.path.isfile(busybox):
        raise MyDockerError("busybox not found at %s: install busybox-static" % busybox)
    work = tempfile.mkdtemp(prefix="mydocker-busybox-")
    try:
        for d, mode in (("bin", 0o755), ("sbin", 0o755), ("usr", 0o755), ("usr/bin", 0o755),
                        ("usr/sbin", 0o755), ("etc", 0o755), ("proc", 0o555), ("sys", 0o555),
                        ("dev", 0o755), ("tmp", 0o1777), ("root", 0o700), ("var", 0o755),
                        ("var/www", 0o755), ("home", 0o755)):
            makedirs(os.path.join(work, d))
            os.chmod(os.path.join(work, d), mode)
        shutil.copyfile(busybox, os.path.join(work, "bin", "busybox"))
        os.chmod(os.path.join(work, "bin", "busybox"), 0o755)
        applets = subprocess.run([busybox, "--list-full"], stdout=subprocess.PIPE, check=False).stdout.decode().split()
        for a in applets:
            p = os.path.join(work, a)
            if a == "bin/busybox" or os.path.lexists(p) or not os.path.isdir(os.path.dirname(p)):
                continue
            os.symlink("/bin/busybox", p)
        files = {"passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
                 "group": "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n", "hostname": "", "hosts": "",
                 "resolv.conf": ""}
        for fn, text in files.items():
            with open(os.path.join(work, "etc", fn), "w") as f:
                f.write(text)
            os.chmod(os.path.join(work, "etc", fn), 0o644)
        _run(["tar", "-cf", dest_tar, "--sort=name", "--mtime=@0", "--numeric-owner", "--owner=0", "--group=0",
              "-C", work, "."], "cannot write %s" % dest_tar)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest_tar
