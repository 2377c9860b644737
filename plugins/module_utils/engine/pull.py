# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``pull``: an image from a registry into the image store (``images``).

1. The manifest of the reference's tag (or digest): a manifest list / OCI index picks the
   platform (the host's, ``linux/amd64`` here, or ``platform``); Docker schema 2 and OCI image
   manifests are read; every manifest is checked against its digest.
2. The config blob, then the layer blobs the store lacks (a layer is known by its diff id, the
   config's ``rootfs.diff_ids``), fetched in parallel threads, each streamed to a file in a
   private work directory ``<root>/image/layers/.pull-<pid>-*`` and hashed on the way: only a
   blob whose digest (and size) match is renamed to its final name there, only a layer whose
   uncompressed content has the config's diff id is unpacked (``layers.unpack``, whiteouts made
   overlay whiteouts) into that directory.
3. Under the state lock the new layers are renamed into the store (``layers.commit_new``: a
   layer another pull stored meanwhile wins), the image record written (key: the config digest,
   Docker's image ID), the reference pointed at it, the image it named before dropped when
   nothing else names or uses it.  ``repoDigests`` records ``repo@<manifest digest>``.

An interrupted pull (even kill -9) leaves at most its work directory, which nothing trusts; the
next pull removes the work directories of dead pulls.  Two pulls at once store one image.
"""

import json
import os
import platform as _platform
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from . import auth, imageconfig, layers
from . import imagestore as images
from . import reference as refs
from .errors import MyDockerError
from .registry import Registry, check_digest
from .store import Paths, makedirs, state_lock, write_json

WORKERS = 3
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json")
IMAGE_TYPES = {"application/vnd.oci.image.manifest.v1+json": "oci",
               "application/vnd.docker.distribution.manifest.v2+json": "docker"}
LAYER_TYPES = ("application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.v1.tar+gzip",
               "application/vnd.docker.image.rootfs.diff.tar.gzip",
               "application/vnd.docker.image.rootfs.diff.tar",
               "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
               "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip")
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm",
         "i686": "386", "i386": "386", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def host_platform():
    return "linux/" + _ARCH.get(_platform.machine(), _platform.machine())


def parse_platform(value):
    """(os, architecture, variant or None) of ``linux/amd64`` / ``linux/arm64/v8``."""
    value = value or host_platform()
    parts = value.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise MyDockerError("invalid platform %r: give os/arch[/variant], e.g. linux/amd64" % value)
    return parts[0], parts[1], parts[2] if len(parts) == 3 else None


def registry_for(root, ref, insecure=(), ca_file=None, credentials=None):
    """The ``Registry`` of reference ``ref`` with the stored login (or ``credentials``)."""
    return Registry(ref.domain, credentials=credentials or auth.get(root, ref.domain),
                    insecure=insecure, ca_file=ca_file)


def _json(body, what):
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise MyDockerError("%s is not JSON" % what)
    if not isinstance(data, dict):
        raise MyDockerError("%s is not a JSON object" % what)
    return data


def _pick(index, plat, what):
    want_os, want_arch, want_variant = parse_platform(plat)
    found = []
    for d in index.get("manifests") or []:
        p = d.get("platform") or {} if isinstance(d, dict) else {}
        if p.get("os") == want_os and p.get("architecture") == want_arch and \
                (want_variant is None or p.get("variant") == want_variant):
            found.append(d)
    if not found:
        have = sorted(set("%s/%s" % ((d.get("platform") or {}).get("os"), (d.get("platform") or {}).get("architecture"))
                          for d in index.get("manifests") or [] if isinstance(d, dict)))
        raise MyDockerError("%s has no image for platform %s (it has: %s)"
                            % (what, "/".join(x for x in parse_platform(plat) if x), ", ".join(have) or "none"))
    return found[0]


def resolve(reg, ref, plat=None):
    """(top digest, image manifest dict, format) of ``ref``: the digest the tag points at (what
    ``repoDigests`` records), the image manifest for the platform."""
    what = str(ref)
    body, mtype, top = reg.manifest(ref.path, ref.digest or ref.tag)
    data = _json(body, "the manifest of %s" % what)
    mtype = data.get("mediaType") or mtype
    if mtype in INDEX_TYPES or ("manifests" in data and "layers" not in data):
        d = _pick(data, plat, what)
        body, mtype, _dg = reg.manifest(ref.path, check_digest(d.get("digest"), "manifest digest"))
        data = _json(body, "the manifest of %s" % what)
        mtype = data.get("mediaType") or mtype
        if "layers" in data and mtype not in IMAGE_TYPES:
            mtype = "application/vnd.oci.image.manifest.v1+json"
    if data.get("schemaVersion") == 1 or "fsLayers" in data:
        raise MyDockerError("%s is a Docker schema 1 image: not supported (push it again with a newer client)" % what)
    if mtype not in IMAGE_TYPES:
        if "layers" in data and "config" in data:
            mtype = "application/vnd.oci.image.manifest.v1+json"
        else:
            raise MyDockerError("%s: manifest type %r is not supported" % (what, mtype))
    if not isinstance(data.get("config"), dict) or not isinstance(data.get("layers"), list):
        raise MyDockerError("the manifest of %s has no config or layers" % what)
    for d in data["layers"]:
        if not isinstance(d, dict) or d.get("mediaType") not in LAYER_TYPES:
            raise MyDockerError("%s: layer media type %r is not supported"
                                % (what, d.get("mediaType") if isinstance(d, dict) else d))
    return top, data, IMAGE_TYPES[mtype]


def remote_digest(root, name, insecure=(), ca_file=None, credentials=None, missing_ok=False):
    """The digest the registry's tag (or digest) ``name`` names, from the manifest alone (HEAD,
    no layer): what check mode compares with the stored image's ``repoDigests``.
    ``missing_ok``: None when the registry has no such tag."""
    ref = refs.parse(name)
    reg = registry_for(root, ref, insecure, ca_file, credentials)
    got = reg.manifest(ref.path, ref.digest or ref.tag, head=True, missing_ok=missing_ok)
    return got[2] if got else None


def local_state(root, name):
    """(stored record or None, its repo digest for the reference's repository or None)."""
    ref = refs.parse(name)
    rec = images.read_image(root, name)
    if rec is None:
        return None, None
    for d in rec.get("repoDigests") or []:
        repo, _sep, digest = d.partition("@")
        if repo == ref.familiar_repository:
            return rec, digest
    return rec, None


def _clean_dead_work(paths):
    try:
        entries = os.listdir(paths.layers)
    except OSError:
        return
    for n in entries:
        if not n.startswith(".pull-"):
            continue
        try:
            pid = int(n.split("-")[1])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not os.path.exists("/proc/%d" % pid):
            shutil.rmtree(os.path.join(paths.layers, n), ignore_errors=True)


def _fetch_layer(reg, ref, desc, did, work, progress):
    blob = reg.blob_to_file(ref.path, check_digest(desc.get("digest"), "layer digest"), work, desc.get("size"))
    got = layers.diff_id(blob)
    if got != did:
        raise MyDockerError("layer %s of %s refused: its content has diff id %s, the image config says %s"
                            % (desc["digest"][7:19], ref, got, did))
    return blob


def _up_to_date(paths, ref, key):
    rec, _r = images._resolve(paths, str(ref), by_id=False)
    return rec is not None and images._key(rec) == key and images.layer_present(paths, rec)


def pull(root, name, platform=None, insecure=(), ca_file=None, progress=None, credentials=None):
    """Pull image ``name`` (a reference). Returns (public record, changed).

    ``progress``: None, or a function called with one line per layer (a terminal's)."""
    ref = refs.parse(name)
    paths = Paths(root)
    paths.ensure()
    makedirs(os.path.join(paths.images, "images"))
    say = progress or (lambda line: None)
    reg = registry_for(root, ref, insecure, ca_file, credentials)
    top, manifest, fmt = resolve(reg, ref, platform)
    repo_digest = "%s@%s" % (ref.familiar_repository, top)
    cdesc = manifest["config"]
    key = check_digest(cdesc.get("digest"), "config digest").split(":", 1)[1]
    if _up_to_date(paths, ref, key):
        changed = _record_digest(paths, ref, key, repo_digest)
        say("Digest: %s" % top)
        say("Status: Image is up to date for %s" % ref)
        return images.read_image(paths, str(ref)), changed
    _clean_dead_work(paths)
    work = tempfile.mkdtemp(prefix=".pull-%d-" % os.getpid(), dir=paths.layers)
    pool = None
    try:
        cfg_file = reg.blob_to_file(ref.path, cdesc["digest"], work, cdesc.get("size"))
        with open(cfg_file, "rb") as f:
            cfg = _json(f.read(), "the image config of %s" % ref)
        dids = (cfg.get("rootfs") or {}).get("diff_ids") if isinstance(cfg.get("rootfs"), dict) else None
        descs = manifest["layers"]
        if not isinstance(dids, list) or len(dids) != len(descs) or not descs:
            raise MyDockerError("%s refused: the config's %d diff ids do not match the manifest's %d layers"
                                % (ref, len(dids) if isinstance(dids, list) else 0, len(descs)))
        for d in dids:
            check_digest(d, "diff id")
        try:
            config = imageconfig.from_image_config(cfg)
        except ValueError as e:
            raise MyDockerError("the image config of %s is not valid (%s)" % (ref, e))
        names = [layers.layer_name(d) for d in dids]
        pool = ThreadPoolExecutor(max_workers=WORKERS)
        futures = {}
        for desc, did, lname in zip(descs, dids, names):
            if lname not in futures and not layers.present(paths, lname):
                futures[lname] = pool.submit(_fetch_layer, reg, ref, desc, did, work, say)
        tmps, lowers, done = [], [], set()
        for desc, did, lname in zip(descs, dids, names):
            short = desc["digest"][7:19]
            if lname in done:
                continue
            done.add(lname)
            if lname not in futures:
                lowers.append(layers.layer_dir(paths, lname))
                say("%s: Already exists" % short)
                continue
            blob = futures[lname].result()
            dest = tempfile.mkdtemp(prefix=".layer-", dir=work)
            os.chmod(dest, 0o755)
            layers.unpack(blob, dest, "layer %s" % short, lowers)
            tmps.append([lname, did, dest, blob])
            lowers.append(dest)
            say("%s: Pull complete" % short)
        pool.shutdown(wait=True)
        pool = None
        with state_lock(paths):
            for lname, did, dest, blob in tmps:
                if layers.commit_new(paths, lname, did, dest, extra={"blobDigest": _blob_of(descs, dids, did)}):
                    layers.seed(paths, lname, did, blob)  # a push writes the registry's very blob
            prior = images._stored(paths, key)
            rec = {"name": images.display_name(ref), "id": key[:12], "digest": "sha256:" + key,
                   "layer": names[-1], "layers": names, "diffIds": dids,
                   "created": (prior or {}).get("created") or time.strftime("%Y-%m-%d %H:%M:%S"),
                   "size": sum(layers.meta(paths, n).get("size") or 0 for n in set(names)),
                   "source": str(ref), "format": fmt, "config": config,
                   "repoDigests": sorted(set((prior or {}).get("repoDigests") or []) | set([repo_digest])),
                   "platform": "%s/%s" % (cfg.get("os") or "linux", cfg.get("architecture") or "")}
            old = images._resolve(paths, str(ref), by_id=False)[0]
            write_json(images._record_path(paths, key), rec)
            old_key = images._write_ref(paths, ref, rec)
            for k in set([old_key, images._key(old) if old else None]) - set([None, key]):
                if images._stored(paths, k) is not None:
                    images._drop_if_untagged(paths, k)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(work, ignore_errors=True)
    say("Digest: %s" % top)
    say("Status: Downloaded newer image for %s" % ref)
    return images.read_image(paths, str(ref)), True


def _blob_of(descs, dids, did):
    for d, x in zip(descs, dids):
        if x == did:
            return d.get("digest")
    return None


def _record_digest(paths, ref, key, repo_digest):
    """Add ``repo_digest`` to the stored image and point ``ref`` at it; True when that changed."""
    with state_lock(paths):
        rec = images._stored(paths, key)
        if rec is None:
            return False
        changed = False
        if repo_digest not in (rec.get("repoDigests") or []):
            rec = dict(rec, repoDigests=sorted(set(rec.get("repoDigests") or []) | set([repo_digest])))
            write_json(images._record_path(paths, key), rec)
            changed = True
        if images._repos(paths).get(str(ref)) != key:
            images._write_ref(paths, ref, rec)
            changed = True
    return changed
