# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Images made here rather than imported (``build``, ``commit``): a directory (a build step's
staging directory, a container's upper directory with its overlay whiteouts) stored as a layer,
and an image record of layers + config written with its references.

A layer is written as ``export`` writes it and kept as that very tar (``layers.seed``), so the
image exports with the diff ids it is stored with.  The image's key (its ID) is the digest of its
layers and config: the same layers and config give the same image.
"""

import hashlib
import json
import os
import shutil
import tempfile
import time

from . import export, layers
from . import imagestore as images
from .errors import MyDockerError
from .store import makedirs, state_lock, write_json


def store_dir(paths, src_dir, lowers, what="layer"):
    """Store the directory ``src_dir`` as a layer (``lowers``: the layers below, top first).
    Returns (name, diff id, newly made)."""
    fd, tar = tempfile.mkstemp(prefix=".layer-", suffix=".tar", dir=paths.layers)
    tmp = None
    made = False
    try:
        with os.fdopen(fd, "wb") as f:
            export.write_layer_tar(src_dir, f)
        name, did, tmp = layers.store(paths, tar, what, lowers)
        with state_lock(paths):
            if tmp is not None:
                if layers.commit_new(paths, name, did, tmp):
                    layers.seed(paths, name, did, tar)
                    tar = None
                    made = True
                tmp = None
        return name, did, made
    finally:
        if tar is not None and os.path.exists(tar):
            os.unlink(tar)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def image_key(names, dids, config):
    return hashlib.sha256(json.dumps({"diffIds": list(dids), "layers": list(names), "config": config},
                                     sort_keys=True).encode()).hexdigest()


def write_image(paths, trefs, names, dids, config, source, history=None, fmt=None):
    """Write the image of layers ``names`` (bottom first, diff ids ``dids``) and ``config`` and
    point the references ``trefs`` at it (an image a reference named before goes once untagged).
    Returns (record, changed: some reference named another image or none)."""
    key = image_key(names, dids, config)
    with state_lock(paths):
        missing = [n for n in names if not layers.present(paths, n)]
        if missing:
            raise MyDockerError("layer %s was removed while the image was made" % missing[0])
        table = images._repos(paths)
        changed = any(table.get(str(r)) != key for r in trefs)
        prior = images._stored(paths, key)
        rec = {"name": images.display_name(trefs[0]), "id": key[:12], "digest": "sha256:" + key,
               "layer": names[-1], "layers": list(names), "diffIds": list(dids),
               "created": (prior or {}).get("created") or time.strftime("%Y-%m-%d %H:%M:%S"),
               "size": sum(layers.meta(paths, n).get("size") or 0 for n in set(names)),
               "source": source, "format": fmt or source, "config": config, "repoDigests": [],
               "history": (prior or {}).get("history") or list(history or [])}
        makedirs(os.path.join(paths.images, "images"))
        write_json(images._record_path(paths, key), rec)
        olds = set()
        for r in trefs:
            olds.add(images._write_ref(paths, r, rec))
        for k in olds - set([None, key]):
            if images._stored(paths, k) is not None:
                images._drop_if_untagged(paths, k)
    return images.read_image(paths, str(trefs[0])), changed


def base_diff_ids(paths, names, rec=None):
    """The diff ids of layers ``names``: the image record's, else each layer's own."""
    dids = list((rec or {}).get("diffIds") or [])
    if len(dids) != len(names):
        dids = [layers.meta(paths, n).get("diffId") or "" for n in names]
    return dids
