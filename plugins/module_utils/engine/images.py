# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Images: import a rootfs tarball (or a ``docker save`` / OCI archive) once into a read-only
layer that every container of the image shares as overlay ``lowerdir``.

    <root>/image/<name>.tar          the image as the Go tool keeps it (a rootfs tarball)
    <root>/image/<name>.json         our metadata: layer id, digest, size, created, config
    <root>/image/layers/<layer>/     the unpacked root filesystem (shared, never written)
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time

from . import records
from .errors import MyDockerError, NotFound
from .store import Paths, makedirs, read_json, state_lock, write_json
from .validate import validate_name


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _tar_error(stderr):
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


def _run(argv, what):
    p = subprocess.run(argv, capture_output=True, check=False)
    if p.returncode != 0:
        err = _tar_error(p.stderr) if argv[0] == "tar" else \
            (p.stderr.decode("utf-8", "replace").strip().splitlines() or [""])[-1]
        raise MyDockerError("%s: %s" % (what, err or "exit status %d" % p.returncode))
    return p


def _du(path):
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for fn in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, fn)).st_size
            except OSError:
                pass
    return total


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


_DIGEST_RE = re.compile(r"^(sha256|sha384|sha512):([a-f0-9]{32,128})$")


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


def _check_layer_members(layer_tar, dest, what):
    """Refuse a layer whose members (or hard-link targets) go through a symlink that an earlier
    layer left in ``dest`` and that leads out of it (tar guards the symlinks of the layer it extracts)."""
    top = os.path.realpath(dest)
    try:
        with tarfile.open(layer_tar) as tf:
            for m in tf:
                paths = [m.name] + ([m.linkname] if m.islnk() else [])  # a hard link's target too
                for name in paths:
                    parent = os.path.dirname(name.strip("/"))
                    if not parent:
                        continue
                    real = os.path.realpath(os.path.join(top, parent))
                    if real != top and not real.startswith(top + os.sep):
                        raise MyDockerError("image archive refused: %s member %r would reach outside the "
                                            "image (through a symlink to %s)" % (what, m.name, real))
    except (tarfile.TarError, EOFError) as e:
        raise MyDockerError("image archive refused: %s is not a tar archive (%s)" % (what, e))


def _apply_layer(layer_tar, dest, what="layer"):
    """Extract one layer of a docker/OCI image over ``dest``, honouring whiteouts."""
    _check_layer_members(layer_tar, dest, what)
    _run(["tar", "-xpf", layer_tar, "-C", dest, "--numeric-owner"], "cannot unpack %s" % what)
    for dirpath, dirnames, filenames in os.walk(dest):
        for fn in filenames:
            if not fn.startswith(".wh."):
                continue
            wh = os.path.join(dirpath, fn)
            os.unlink(wh)
            if fn == ".wh..wh..opq":
                continue  # opaque dir: earlier layers were applied in order already
            target = os.path.join(dirpath, fn[len(".wh."):])
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            elif os.path.lexists(target):
                os.unlink(target)


def _unpack_archive(path, kind, dest):
    """Unpack ``path`` into ``dest``; returns the image config (Env, Cmd, WorkingDir)."""
    if kind == "rootfs":
        _run(["tar", "-xpf", path, "-C", dest, "--numeric-owner"], "%s is not a valid image tarball" % path)
        return {}
    work = tempfile.mkdtemp(prefix=".import-", dir=os.path.dirname(dest))
    try:
        _run(["tar", "-xf", path, "-C", work], "%s is not a valid image archive" % path)
        if kind == "docker":
            manifest = _load(work, "manifest.json", "manifest")[0]
            layers = [(_inside(work, p, "manifest layer"), "layer %s" % p) for p in manifest["Layers"]]
            cfg = _load(work, manifest["Config"], "manifest config")
        else:
            index = _load(work, "index.json", "OCI index")
            desc = index["manifests"][0]

            def blob_name(d):
                m = _DIGEST_RE.match(str(d["digest"]))
                if not m:
                    raise MyDockerError("image archive refused: OCI digest %r is not a valid digest" % d["digest"])
                return "blobs/%s/%s" % m.groups()
            manifest = _load(work, blob_name(desc), "OCI manifest")
            if "manifests" in manifest:  # nested index
                manifest = _load(work, blob_name(manifest["manifests"][0]), "OCI manifest")
            layers = [(_inside(work, blob_name(d), "OCI layer"), "layer %s" % d["digest"])
                      for d in manifest["layers"]]
            cfg = _load(work, blob_name(manifest["config"]), "OCI config")
        for layer, what in layers:
            _apply_layer(layer, dest, what)
        c = cfg.get("config") or cfg.get("Config") or {}
        return {"Env": c.get("Env") or [], "Cmd": c.get("Cmd") or [],
                "Entrypoint": c.get("Entrypoint") or [], "WorkingDir": c.get("WorkingDir") or ""}
    except (OSError, KeyError, IndexError, ValueError, TypeError, AttributeError) as e:
        raise MyDockerError("%s is not a valid image archive (%s)" % (path, e))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def archive_kind(path):
    """Public form of ``_archive_kind``: 'rootfs', 'docker' or 'oci' (MyDockerError when ``path``
    is not a tar archive).  Reads the archive, changes nothing."""
    return _archive_kind(os.path.abspath(path))


def file_digest(path):
    """``"sha256:<hex>"`` of a file: the content digest an import of it records."""
    return "sha256:" + _sha256_file(path)


def digest_ids(digest):
    """(image id, layer name) an import of content ``digest`` ("sha256:<hex>" or <hex>) records."""
    hexd = digest.split(":", 1)[-1]
    return hexd[:12], hexd[:16]


def layer_present(root, rec):
    """True when the unpacked layer of the image record ``rec`` is on disk."""
    return bool(rec and rec.get("layer")) and os.path.isdir(os.path.join(Paths(root).layers, rec["layer"]))


def read_image(root, name):
    """The stored image record of ``name`` (even when its layer is missing) or None."""
    validate_name(name, "image name")
    return read_json(Paths(root).image_meta(name))


def image_users(root, name):
    """Names (or IDs) of the containers whose record uses image ``name``, sorted by ID."""
    return records.users(root, "image", name)


def image_exists(root, name):
    return os.path.exists(Paths(root).image_meta(name))


def get_image(root, name):
    """The image record; raises NotFound."""
    validate_name(name, "image name")
    paths = Paths(root)
    rec = read_json(paths.image_meta(name))
    if rec is None:
        raise NotFound("image %s not found (import it with: mydocker image import FILE %s)" % (name, name))
    rec["layerPath"] = os.path.join(paths.layers, rec["layer"])
    if not os.path.isdir(rec["layerPath"]):
        raise MyDockerError("image %s is damaged: layer %s is missing (import it again)" % (name, rec["layer"]))
    return rec


def list_images(root):
    paths = Paths(root)
    out = []
    try:
        entries = sorted(os.listdir(paths.images))
    except OSError:
        return out
    for fn in entries:
        if fn.endswith(".json") and not fn.startswith("."):
            rec = read_json(os.path.join(paths.images, fn))
            if rec:
                out.append(rec)
    return out


def import_image(root, src, name, force=False, source=None):
    """Import the tarball ``src`` as image ``name``. Returns (record, changed).

    ``source``: what the record gives as the image's source when that is not ``src`` (an image
    re-imported from its stored tarball keeps the file it first came from).

    ``force``: import again even when the image already has this content (the layer is unpacked
    afresh and replaces the one on disk; running containers keep the files they have open)."""
    validate_name(name, "image name")
    paths = Paths(root)
    paths.ensure()
    src = os.path.abspath(src)
    kind = _archive_kind(src)
    digest = _sha256_file(src)
    old = read_json(paths.image_meta(name))
    if not force and old and old.get("digest") == "sha256:" + digest and \
            os.path.isdir(os.path.join(paths.layers, old["layer"])):
        if source and old.get("source") != source:
            with state_lock(paths):
                old = read_json(paths.image_meta(name)) or old
                old["source"] = source
                write_json(paths.image_meta(name), old)
        return old, False
    image_id, layer = digest_ids(digest)
    layer_dir = os.path.join(paths.layers, layer)
    tmp_layer = None
    if force and os.path.isdir(layer_dir):
        _refuse_replacing_used_layer(paths, name, layer)
    if force or not os.path.isdir(layer_dir):
        tmp_layer = tempfile.mkdtemp(prefix=".tmp-", dir=paths.layers)
        try:
            os.chmod(tmp_layer, 0o755)
            config = _unpack_archive(src, kind, tmp_layer)
        except BaseException:
            shutil.rmtree(tmp_layer, ignore_errors=True)
            raise
    else:
        config = (read_json(os.path.join(layer_dir + ".json")) or {}).get("config", {})
    tar_path = paths.image_tar(name)
    tmp_tar = tar_path + ".tmp%d" % os.getpid()
    try:
        if kind == "rootfs":
            shutil.copyfile(src, tmp_tar)  # a copy: the user's file may change later
            os.chmod(tmp_tar, 0o644)
        with state_lock(paths):
            if tmp_layer is not None:
                if os.path.isdir(layer_dir) and force:  # replace the layer on disk
                    _refuse_replacing_used_layer(paths, name, layer)
                    trash = tempfile.mkdtemp(prefix=".rm-", dir=paths.layers)
                    os.rename(layer_dir, os.path.join(trash, "l"))
                    os.rename(tmp_layer, layer_dir)
                    write_json(layer_dir + ".json", {"config": config, "digest": digest})
                    shutil.rmtree(trash, ignore_errors=True)
                elif os.path.isdir(layer_dir):  # imported concurrently
                    shutil.rmtree(tmp_layer, ignore_errors=True)
                else:
                    os.rename(tmp_layer, layer_dir)
                    write_json(layer_dir + ".json", {"config": config, "digest": digest})
                tmp_layer = None
            if kind == "rootfs":
                os.rename(tmp_tar, tar_path)
            rec = {"name": name, "id": image_id, "digest": "sha256:" + digest, "layer": layer,
                   "created": time.strftime("%Y-%m-%d %H:%M:%S"), "size": _du(layer_dir),
                   "source": source or src, "format": kind, "config": config}
            write_json(paths.image_meta(name), rec)
            if old and old.get("layer") != layer:
                _gc_layer(paths, old["layer"])
    finally:
        if tmp_layer is not None:
            shutil.rmtree(tmp_layer, ignore_errors=True)
        if os.path.exists(tmp_tar):
            os.unlink(tmp_tar)
    return rec, True


def _layer_users(paths, layer):
    users = []
    for rec in list_images(paths.root):
        if rec.get("layer") == layer:
            users.append("image " + rec["name"])
    users.extend("container " + n for n in records.users(paths, "layer", layer))
    return users


def layer_container_users(root, layer):
    """Names of the containers whose overlay uses ``layer`` as lower directory."""
    return [u[len("container "):] for u in _layer_users(Paths(root), layer) if u.startswith("container ")]


def _refuse_replacing_used_layer(paths, name, layer):
    users = layer_container_users(paths.root, layer)
    if users:
        raise MyDockerError("cannot import image %s again with force: its layer is used by container(s) %s "
                            "(remove them first)" % (name, ", ".join(users)))


def _gc_layer(paths, layer):
    """Remove a layer nobody uses any more (caller holds the state lock)."""
    if _layer_users(paths, layer):
        return False
    d = os.path.join(paths.layers, layer)
    if os.path.isdir(d):
        trash = tempfile.mkdtemp(prefix=".rm-", dir=paths.layers)
        os.rename(d, os.path.join(trash, "l"))
        shutil.rmtree(trash, ignore_errors=True)
    if os.path.exists(d + ".json"):
        os.unlink(d + ".json")
    return True


def remove_image(root, name, force=False):
    """Remove image ``name``. Refuses while a container uses it, unless ``force``."""
    validate_name(name, "image name")
    paths = Paths(root)
    with state_lock(paths):
        rec = read_json(paths.image_meta(name))
        if rec is None:
            raise NotFound("image %s not found" % name)
        users = image_users(paths.root, name)
        if users and not force:
            raise MyDockerError("image %s is used by container(s) %s: remove them first or use -f"
                                % (name, ", ".join(users)))
        os.unlink(paths.image_meta(name))
        if os.path.exists(paths.image_tar(name)):
            os.unlink(paths.image_tar(name))
        _gc_layer(paths, rec["layer"])
    return rec


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
    validate_name(name, "image name")
    paths = Paths(root)
    paths.ensure()
    fd, tmp = tempfile.mkstemp(prefix=".commit-", suffix=".tar", dir=paths.images)
    os.close(fd)
    try:
        tar_directory(src_dir, tmp)
        rec = import_image(root, tmp, name)[0]
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    rec["source"] = "commit"
    with state_lock(paths):
        write_json(paths.image_meta(name), rec)
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
