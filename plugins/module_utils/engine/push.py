# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``push``: an image of the store to a registry (the OCI distribution API).

The image becomes blobs through ``export.image_blobs`` (gzip layer tars with OCI whiteouts, the
config, the manifest: Docker schema 2 for an image that came as Docker's, else OCI).  Then, in
parallel threads, every blob the registry lacks (``HEAD`` first) is uploaded: mounted from
another repository of the same registry the image was pulled from when the registry can
(``POST ...?mount=&from=``), else a monolithic upload (``POST`` then ``PUT ?digest=``, streamed
from the file).  The manifest last, under the tag; the digest the registry answers must be the
manifest's.  The image's ``repoDigests`` then records ``repo@<manifest digest>``.
"""

import os
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from . import export
from . import imagestore as images
from . import reference as refs
from .errors import MyDockerError
from .pull import WORKERS, registry_for
from .store import Paths, state_lock, write_json

SAID = {"exists": "Layer already exists", "mounted": "Mounted", "pushed": "Pushed"}


def _location(reg, loc, what):
    """The path + query of an upload ``Location`` (relative, or absolute on the registry)."""
    if not loc:
        raise MyDockerError("registry %s: %s without a Location" % (reg.domain, what))
    u = urllib.parse.urlsplit(loc)
    if u.netloc and u.netloc != reg.host:
        raise MyDockerError("registry %s sends uploads to another host (%s): not supported" % (reg.domain, u.netloc))
    return u.path + ("?" + u.query if u.query else "")


def _with_digest(path, digest):
    return path + ("&" if "?" in path else "?") + urllib.parse.urlencode({"digest": digest})


def _mount_sources(rec, ref):
    """Repositories of the same registry this image was pulled from (or pushed to)."""
    out = []
    for d in rec.get("repoDigests") or []:
        r = refs.try_parse(d)
        if r is not None and r.domain == ref.domain and r.path != ref.path and r.path not in out:
            out.append(r.path)
    return out


def _exists(reg, path, scope, digest):
    r = reg.request("HEAD", "/v2/%s/blobs/%s" % (path, digest), scope, ok=(200, 404))
    r.close()
    return r.status == 200


def _upload(reg, path, scope, blob, sources):
    """Make the registry have ``blob`` ({"digest", "size", "path"}); returns how ("exists",
    "mounted", "pushed")."""
    digest = blob["digest"]
    if _exists(reg, path, scope, digest):
        return "exists"
    loc = None
    for src in sources[:1]:
        q = urllib.parse.urlencode({"mount": digest, "from": src})
        r = reg.request("POST", "/v2/%s/blobs/uploads/?%s" % (path, q), scope, headers={"Content-Length": "0"},
                        ok=(201, 202))
        r.read()
        r.close()
        if r.status == 201:
            return "mounted"
        loc = r.headers.get("location")
    if loc is None:
        r = reg.request("POST", "/v2/%s/blobs/uploads/" % path, scope, headers={"Content-Length": "0"}, ok=(202,))
        r.read()
        r.close()
        loc = r.headers.get("location")
    target = _with_digest(_location(reg, loc, "upload"), digest)
    size = os.path.getsize(blob["path"])
    with open(blob["path"], "rb") as f:
        r = reg.request("PUT", target, scope, body=f, ok=(201, 204),
                        headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)})
        r.read()
        r.close()
    return "pushed"


def push(root, name, insecure=(), ca_file=None, progress=None, credentials=None, media=None):
    """Push image ``name`` to the registry its reference names. Returns {"digest", "size",
    "layers": {digest: "exists"|"mounted"|"pushed"}}."""
    ref = refs.parse(name)
    if ref.digest:
        raise MyDockerError("cannot push %s: a push names a tag, not a digest" % name)
    paths = Paths(root)
    say = progress or (lambda line: None)
    rec = images.get_image(paths, name)
    media = media or ("docker" if rec.get("format") == "docker" else "oci")
    blobs = export.image_blobs(paths, name, media=media)
    sources = _mount_sources(rec, ref)
    scope = " ".join([reg_scope(ref.path, "pull,push")] + [reg_scope(s, "pull") for s in sources[:1]])
    reg = registry_for(root, ref, insecure, ca_file, credentials)
    fd = None
    cfg_path = os.path.join(paths.layers, ".push-config-%d-%s" % (os.getpid(), blobs["configDigest"][7:19]))
    done = {}
    try:
        fd = os.open(cfg_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(blobs["config"])
        fd = None
        todo = list(blobs["layers"]) + [{"digest": blobs["configDigest"], "size": len(blobs["config"]),
                                        "path": cfg_path}]
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            futures = [(b, pool.submit(_upload, reg, ref.path, scope, b, sources)) for b in todo]
            for b, fut in futures:
                how = fut.result()
                done[b["digest"]] = how
                say("%s: %s" % (b["digest"][7:19], SAID[how]))
    finally:
        if os.path.exists(cfg_path):
            os.unlink(cfg_path)
    r = reg.request("PUT", "/v2/%s/manifests/%s" % (ref.path, ref.tag), scope, body=blobs["manifest"],
                    headers={"Content-Type": blobs["manifestMediaType"], "Content-Length": str(len(blobs["manifest"]))},
                    ok=(201, 200))
    r.read()
    r.close()
    sent = r.headers.get("docker-content-digest")
    if sent and sent != blobs["manifestDigest"]:
        raise MyDockerError("registry %s stored the manifest of %s as %s, not %s"
                            % (reg.domain, ref, sent, blobs["manifestDigest"]))
    _record(paths, rec, "%s@%s" % (ref.familiar_repository, blobs["manifestDigest"]))
    say("%s: digest: %s size: %d" % (ref.tag, blobs["manifestDigest"], len(blobs["manifest"])))
    return {"digest": blobs["manifestDigest"], "size": len(blobs["manifest"]), "layers": done}


def reg_scope(path, actions):
    return "repository:%s:%s" % (path, actions)


def _record(paths, rec, repo_digest):
    key = images._key(rec)
    with state_lock(paths):
        stored = images._stored(paths, key)
        if stored is None or repo_digest in (stored.get("repoDigests") or []):
            return
        # another digest of this repository replaces the old one (the tag was pushed again)
        repo = repo_digest.split("@")[0]
        keep = [d for d in stored.get("repoDigests") or [] if d.split("@")[0] != repo]
        write_json(images._record_path(paths, key), dict(stored, repoDigests=sorted(keep + [repo_digest])))
