# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image records and their references (see ``images`` for the layout): resolve a reference
(or an ID) to its record, list one row per tag, tag, remove a tag or an image, and the layer
garbage collection that goes with it."""

import os

from . import layers, records
from . import reference as refs
from .errors import MyDockerError, NotFound
from .store import Paths, makedirs, read_json, state_lock, write_json
from .validate import validate_name


def digest_ids(digest):
    """(image id, layer name) an import of a rootfs tarball of content ``digest`` records."""
    hexd = digest.split(":", 1)[-1]
    return hexd[:12], hexd[:16]


# ------------------------------------------------------------------ the record store

def _paths(root):
    return root if isinstance(root, Paths) else Paths(root)


def _record_path(paths, key):
    return os.path.join(paths.images, "images", key + ".json")


def _repos_path(paths):
    # not image/*.json: readers of the SPEC 1.3 layout take every such file for an image
    return os.path.join(paths.images, "refs", "repositories.json")


def _repos(paths):
    data = read_json(_repos_path(paths)) or {}
    return dict(data.get("refs") or {})


def _write_repos(paths, table):
    makedirs(os.path.dirname(_repos_path(paths)))
    write_json(_repos_path(paths), {"refs": table})


def _key(rec):
    return str(rec.get("digest") or "").split(":", 1)[-1]


def display_name(ref):
    """How a reference is shown as an image's ``name``: ``busybox``, ``me/app:v1``."""
    return refs.display(str(ref))


def _legacy(paths, name):
    if not name:
        return None
    try:
        validate_name(name, "image name")
    except MyDockerError:
        return None
    rec = read_json(paths.image_meta(name))
    if rec is not None and isinstance(rec.get("layer"), str):
        rec.setdefault("layers", [rec["layer"]])
        return rec
    return None


def _stored(paths, key):
    rec = read_json(_record_path(paths, key)) if key and refs.is_hex(key, 32, 128) else None
    if rec is not None:
        rec.setdefault("layers", [rec["layer"]] if rec.get("layer") else [])
    return rec


def _tags_of(paths, key, table=None):
    table = _repos(paths) if table is None else table
    return sorted(r for r, k in table.items() if k == key)


def _public(paths, rec, ref=None, table=None):
    out = dict(rec)
    key = _key(rec)
    tags = _tags_of(paths, key, table)
    if not tags and rec.get("name") and not _stored(paths, key):  # only the SPEC 1.3 file
        r = refs.try_parse(rec["name"])
        tags = [str(r)] if r else []
    out["repoTags"] = [refs.parse(t).familiar for t in tags]
    out.setdefault("repoDigests", [])
    if ref is not None:
        out["name"] = display_name(ref)
    elif tags:
        out["name"] = display_name(refs.parse(tags[0]))
    out["imageId"] = "sha256:" + key
    out["layerPath"] = os.path.join(paths.layers, rec["layer"]) if rec.get("layer") else None
    return out


def _resolve(paths, name, by_id=True):
    """(record as stored, Reference or None) of the image ``name`` names, or (None, ref).
    ``by_id``: an ID (prefix) names an image too, when no reference of that spelling does."""
    ref = refs.try_parse(name) if isinstance(name, str) else None
    if ref is None:
        rec = _legacy(paths, name)
        if rec is not None:
            return rec, None
        if by_id and refs.looks_like_id(name):
            return _by_id(paths, name), None
        refs.parse(name)  # raises: one line naming what is wrong
    table = _repos(paths)
    key = table.get(str(ref))
    if key:
        rec = _stored(paths, key)
        if rec is not None:
            return rec, ref
    rec = _legacy(paths, ref.legacy_name)
    if rec is not None:
        return rec, ref
    if by_id and refs.looks_like_id(name):
        rec = _by_id(paths, name)
        if rec is not None:
            return rec, None
    return None, ref


def _by_id(paths, prefix):
    prefix = prefix.split(":", 1)[-1]
    found = {}
    for rec in _all_stored(paths):
        if _key(rec).startswith(prefix):
            found[_key(rec)] = rec
    if len(found) > 1:
        raise MyDockerError("image ID %s is ambiguous: it starts %d images" % (prefix, len(found)))
    return next(iter(found.values()), None)


def _all_stored(paths):
    out = []
    d = os.path.join(paths.images, "images")
    try:
        entries = sorted(os.listdir(d))
    except OSError:
        entries = []
    for fn in entries:
        if fn.endswith(".json") and not fn.startswith("."):
            rec = _stored(paths, fn[:-5])
            if rec:
                out.append(rec)
    keys = set(_key(r) for r in out)
    try:
        legacy = sorted(os.listdir(paths.images))
    except OSError:
        legacy = []
    for fn in legacy:
        if fn.endswith(".json") and not fn.startswith("."):
            rec = _legacy(paths, fn[:-5])
            if rec and _key(rec) not in keys:  # two SPEC 1.3 names of one content are two images there
                out.append(rec)
    return out


def layer_present(root, rec):
    """True when every unpacked layer of the image record ``rec`` is on disk."""
    if not rec or not rec.get("layer"):
        return False
    paths = _paths(root)
    return all(layers.present(paths, n) for n in (rec.get("layers") or [rec["layer"]]))


def read_image(root, name):
    """The image record of reference ``name`` (even when a layer is missing) or None."""
    paths = _paths(root)
    rec, ref = _resolve(paths, name)
    return _public(paths, rec, ref) if rec is not None else None


def image_users(root, name):
    """Names (or IDs) of the containers whose record uses the image ``name`` names, sorted by ID."""
    paths = _paths(root)
    rec, ref = _resolve(paths, name)
    if rec is None:
        return records.users(paths, "image", name)
    return _users_of(paths, rec)


def _users_of(paths, rec):
    key = _key(rec)
    tags = set(_tags_of(paths, key))
    out = []
    for r in records.all_records(paths):
        if r.get("imageId"):
            if r.get("imageId") == "sha256:" + key:
                out.append(r.name)
            continue
        img = refs.try_parse(r.get("image") or "")
        if (img is not None and str(img) in tags) or r.get("image") == rec.get("name") or \
                (r.get("layer") and r.get("layer") == rec.get("layer")):  # a record from before image IDs
            out.append(r.name)
    return out


def image_exists(root, name):
    try:
        return _resolve(_paths(root), name)[0] is not None
    except MyDockerError:
        return False


def get_image(root, name):
    """The image record; raises NotFound."""
    paths = _paths(root)
    rec = read_image(paths, name)
    if rec is None:
        raise NotFound("image %s not found (import it with: mydocker image import FILE %s)" % (name, name))
    missing = [n for n in rec["layers"] if not layers.present(paths, n)]
    if missing:
        raise MyDockerError("image %s is damaged: layer %s is missing (import it again)" % (name, missing[0]))
    return rec


def list_images(root):
    """One record per tag (``name``, ``repository``, ``tag``), untagged images as ``<none>``."""
    paths = _paths(root)
    table = _repos(paths)
    out = []
    for rec in _all_stored(paths):
        key = _key(rec)
        tags = _tags_of(paths, key, table)
        if not tags and _stored(paths, key) is None and rec.get("name"):
            r = refs.try_parse(rec["name"])
            tags = [str(r)] if r else []
        for t in tags:
            r = refs.parse(t)
            row = _public(paths, rec, r, table)
            row.update(repository=r.familiar_repository, tag=r.tag or "<none>")
            out.append(row)
        if not tags:
            row = _public(paths, rec, None, table)
            legacy = _stored(paths, key) is None and rec.get("name")  # a SPEC 1.3 name, not a reference
            row.update(name=legacy or row["id"], repository=legacy or "<none>", tag="latest" if legacy else "<none>")
            out.append(row)
    return sorted(out, key=lambda r: (r["repository"], r["tag"]))


def _write_ref(paths, ref, rec, kind=None, tar_src=None):
    """Point ``ref`` at the stored image ``rec`` (caller holds the lock); the SPEC 1.3 files too."""
    table = _repos(paths)
    old_key = table.get(str(ref))
    table[str(ref)] = _key(rec)
    _write_repos(paths, table)
    if ref.legacy_name:
        write_json(paths.image_meta(ref.legacy_name), dict(rec, name=ref.legacy_name))
        tar = paths.image_tar(ref.legacy_name)
        if tar_src:
            os.rename(tar_src, tar)
        elif old_key != _key(rec) and os.path.exists(tar):
            os.unlink(tar)  # the tarball of the image this name named before
    return old_key


def tag(root, src, dst):
    """Give the image ``src`` names the further reference ``dst``. Returns the record."""
    paths = _paths(root)
    dref = refs.parse(dst)
    if dref.digest:
        raise MyDockerError("invalid tag %s: a tag cannot have a digest" % dst)
    with state_lock(paths):
        rec, _r = _resolve(paths, src)
        if rec is None:
            raise NotFound("image %s not found" % src)
        key = _key(rec)
        makedirs(os.path.join(paths.images, "images"))
        if _stored(paths, key) is None:  # a SPEC 1.3 record: give it a record of its own, and its tag
            write_json(_record_path(paths, key), rec)
            if rec.get("name"):
                sref = refs.try_parse(rec["name"])
                if sref is not None and str(sref) not in _repos(paths):
                    _write_ref(paths, sref, rec)
        old_key = _write_ref(paths, dref, rec)
        if old_key and old_key != key:
            _drop_if_untagged(paths, old_key)
    return read_image(paths, dst)


def _drop_if_untagged(paths, key):
    """Remove the image ``key`` once no tag names it and no container uses it (lock held)."""
    rec = _stored(paths, key)
    if rec is None or _tags_of(paths, key) or _users_of(paths, rec):
        return False
    _delete(paths, rec)
    return True


def _delete(paths, rec):
    key = _key(rec)
    if os.path.exists(_record_path(paths, key)):
        os.unlink(_record_path(paths, key))
    for n in set(rec.get("layers") or [rec["layer"]]):
        _gc_layer(paths, n)


def _layer_users(paths, layer):
    users = []
    for rec in _all_stored(paths):
        if layer in (rec.get("layers") or [rec.get("layer")]):
            users.append("image " + (rec.get("name") or _key(rec)[:12]))
    users.extend("container " + n for n in layers.container_users(paths, layer))
    return users


def layer_container_users(root, layer):
    """Names of the containers whose overlay uses ``layer`` as lower directory."""
    return layers.container_users(_paths(root), layer)


def _gc_layer(paths, layer):
    """Remove a layer nobody uses any more (caller holds the state lock)."""
    if _layer_users(paths, layer):
        return False
    layers.remove(paths, layer)
    return True


def remove_image(root, name, force=False):
    """Remove the tag ``name`` (or, given an ID, the image with all its tags); the image goes with
    its last tag. Refuses while a container uses the image being removed, unless ``force``."""
    paths = _paths(root)
    with state_lock(paths):
        rec, ref = _resolve(paths, name)
        if rec is None:
            raise NotFound("image %s not found" % name)
        key = _key(rec)
        table = _repos(paths)
        tags = _tags_of(paths, key, table)
        if ref is not None and (str(ref) in tags or not tags):
            drop = [str(ref)] if tags else []
        else:
            drop = tags  # by ID: every tag
        last = not (set(tags) - set(drop))
        users = _users_of(paths, rec) if last else []
        if users and not force:
            raise MyDockerError("image %s is used by container(s) %s: remove them first or use -f"
                                % (name, ", ".join(users)))
        for t in drop:
            table.pop(t, None)
        _write_repos(paths, table)
        legacy = [refs.parse(t).legacy_name for t in drop] + ([ref.legacy_name] if ref and not tags else []) + \
            ([rec["name"]] if not tags and ref is None and rec.get("name") else [])
        for n in set(x for x in legacy if x):
            meta = read_json(paths.image_meta(n))
            if meta is not None and _key(meta) == key:
                os.unlink(paths.image_meta(n))
                if os.path.exists(paths.image_tar(n)):
                    os.unlink(paths.image_tar(n))
        if last:
            _delete(paths, rec)
    return _public(paths, rec, ref)


def disk_usage(root):
    """What ``system df`` shows: {"images": {...}, "layers": {...}, "containers": {...}}, each with
    total, active (used by a container / shared by several images / running) and bytes."""
    paths = _paths(root)
    sizes = layers.disk_usage(paths)
    recs = _all_stored(paths)
    ctrs = records.all_records(paths)
    used_layers = set()
    for c in ctrs:
        used_layers.update(c.get("layers") or [c.get("layer")])
    count = {}
    for rec in recs:
        for n in set(rec.get("layers") or [rec.get("layer")]):
            count[n] = count.get(n, 0) + 1
    active = [r for r in recs if _users_of(paths, r)]
    img_bytes = sum(sizes.get(n, 0) for n in count)
    active_bytes = sum(sizes.get(n, 0) for n in set(n for r in active for n in r.get("layers") or [r["layer"]]))
    uppers = {}
    for c in ctrs:
        uppers[c.id] = layers.du(os.path.join(paths.overlay_dir(c.id), "upper"))
    running = [c for c in ctrs if c.status in records.ACTIVE]
    return {
        "images": {"total": len(recs), "active": len(active), "bytes": img_bytes,
                   "reclaimable": img_bytes - active_bytes},
        "layers": {"total": len(sizes), "active": len([n for n in count if count[n] > 1]),
                   "bytes": sum(sizes.values()), "shared": sum(sizes.get(n, 0) for n in count if count[n] > 1),
                   "reclaimable": sum(v for n, v in sizes.items() if n not in count and n not in used_layers)},
        "containers": {"total": len(ctrs), "active": len(running), "bytes": sum(uppers.values()),
                       "reclaimable": sum(uppers[c.id] for c in ctrs if c.status not in records.ACTIVE)},
    }
