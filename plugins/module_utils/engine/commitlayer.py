# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``commit`` as Docker does it: the container's changes (its overlay upper directory, whiteouts
and opaque directories kept) become one new layer on top of the layers of the container's image
(not a flattened copy), and the image config is the container's (its Entrypoint, Cmd, Env,
WorkingDir, User, ports, volumes, labels, stop signal), so the new image runs as the container
did."""

import os
import time

from . import imageconfig, layers, layerwrite
from . import imagestore as images
from . import reference as refs


def _config(rec, img):
    """The image config of the committed image: the container's config, else its image's."""
    cfg = imageconfig.from_image_config({})
    cfg.update((img or {}).get("config") or {})
    c = rec.get("config") if isinstance(rec.get("config"), dict) else None
    if c:
        for k in imageconfig.KEYS:
            if k in c and c[k] is not None:
                cfg[k] = c[k]
        env = [e for e in (c.get("Env") or []) if not e.startswith("PATH=")]
        path = [e for e in (cfg.get("Env") or []) if e.startswith("PATH=")]
        cfg["Env"] = path + env
    return cfg


def commit_layer(paths, rec, name):
    """Commit the container ``rec`` as image ``name``: a new layer of its upper directory on its
    image's layers. Returns the record, or None when the layers of its image are no longer all
    on disk (the caller then commits a flattened copy, as before)."""
    names = list(rec.get("layers") or ([rec.get("layer")] if rec.get("layer") else []))
    if not names or not all(layers.present(paths, n) for n in names):
        return None
    upper = os.path.join(paths.overlay_dir(rec.id), "upper")
    if not os.path.isdir(upper):
        return None
    img = None
    if rec.get("imageId"):
        img = images._by_id(paths, rec["imageId"])
    if img is None and rec.get("image"):
        img = images.read_image(paths, rec["image"])
    if img is not None and list(img.get("layers") or []) != names:
        img = None  # not the image the container was made from any more
    dids = layerwrite.base_diff_ids(paths, names, img)
    lowers = [layers.layer_dir(paths, n) for n in reversed(names)]
    new, did, _made = layerwrite.store_dir(paths, upper, lowers, "container %s" % rec.name)
    history = list((img or {}).get("history") or [])
    if len([h for h in history if not h.get("empty_layer")]) != len(names):
        history = [{"created_by": "mydocker %s" % ((img or {}).get("source") or "import")} for _n in names]
    history.append({"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "created_by": "mydocker commit %s" % rec.name})
    out, _changed = layerwrite.write_image(paths, [refs.parse(name)], names + [new], dids + [did],
                                           _config(rec, img), "commit", history, fmt="rootfs")
    return out
