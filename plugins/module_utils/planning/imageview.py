# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Images as the modules return them, and ``mydocker_image_info``'s listing with ``filters``:
read only, from the record store (``engine.imagestore``). Apart from the ``mydocker_image``
planner (``image.py``, which uses these too) so that the info module's zip holds neither the
import, build, pull and push machinery nor the container engine it reaches.

Plain Python; knows nothing of Ansible."""

import os

from ..engine import imagestore
from ..engine.store import Paths
from .info import IMAGE_FILTERS, matches, normalise_filters


def layer_path(root, rec):
    return os.path.join(Paths(root).layers, rec["layer"]) if rec and rec.get("layer") else None


def public(root, rec):
    """``rec`` with where its layer is and whether it is on disk."""
    out = dict(rec)
    out["layerPath"] = layer_path(root, rec)
    out["layerPresent"] = imagestore.layer_present(root, rec)
    return out


def get(root, name):
    """The record of image ``name`` as the modules return it ({} when it does not exist)."""
    rec = imagestore.read_image(root, name)
    return public(Paths(root).root, rec) if rec else {}


def info(root, names=None):
    """([record], {name: exists}) of the images ``names`` (all when None) that exist."""
    root = Paths(root).root
    if names is None:
        names = [r["name"] for r in imagestore.list_images(root) if r.get("name")]
    out = []
    exists = {}
    for name in names:
        rec = get(root, name)
        exists[name] = bool(rec)
        if rec:
            out.append(rec)
    return out, exists


def image_info(root, names=None, filters=None):
    """(images, exists) of one mydocker_image_info task; ``filters`` narrows the images."""
    flt = normalise_filters(filters, IMAGE_FILTERS)
    recs, exists = info(root, names)
    recs = [r for r in recs if matches({"name": r.get("name")}, flt)]
    if names is None:
        exists = dict((r["name"], True) for r in recs)
    return recs, exists
