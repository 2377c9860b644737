# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``commit``: a container's changes as a new layer on its image's layers (``commitlayer``), or its
whole root filesystem (image layers + changes; no volumes) as a tar file or a flattened image."""

from __future__ import annotations

import os
import tempfile

from . import images, lifecycle, records, reference
from .errors import MyDockerError
from .records import ACTIVE
from .rootfs import mount_overlay, mounts_under, unmount_all
from .store import Paths
from .syscalls import MS_RDONLY, SYS

TYPE_CHECKING = False  # typing is ~5 ms of every command's start: annotations only (postponed)
if TYPE_CHECKING:
    from typing import Any


def commit(root: str | None, ref: str, image: str | None = None,
           output: str | None = None) -> dict[str, Any]:
    """The container's root filesystem (image layer + its changes; no volumes) as an image in
    the store (``image``) or a tar file at ``output``."""
    paths = root if isinstance(root, Paths) else Paths(root)
    rec = records.find(paths, ref)
    if not image and not output:
        raise MyDockerError("commit needs an image name or --output PATH")
    if image:
        reference.parse(image)
    cid = rec.id
    if image:  # a new layer of the container's changes on its image's layers (commitlayer)
        from .commitlayer import commit_layer
        done = commit_layer(paths, rec, image)
        if done is not None:
            return done
    ov = paths.overlay_dir(cid)
    merged = os.path.join(ov, "merged")
    tmp = None
    if lifecycle.true_status(rec) in ACTIVE and mounts_under(merged):
        src = merged
    else:
        # a read-only overlay of upper over lower needs no work dir and changes nothing
        tmp = tempfile.mkdtemp(prefix=".commit-", dir=ov)
        lowers = [os.path.realpath(os.path.join(ov, "lower"))]
        if len(rec.get("layers") or []) > 1:
            lowers = [os.path.join(paths.layers, n) for n in reversed(rec["layers"])]
        try:
            if len(lowers) == 1:
                SYS.mount("overlay", tmp, "overlay", MS_RDONLY,
                          "lowerdir=%s:%s" % (os.path.join(ov, "upper"), lowers[0]))
            else:
                mount_overlay([os.path.join(ov, "upper")] + lowers, None, None, tmp, flags=MS_RDONLY)
        except (OSError, MyDockerError) as e:
            os.rmdir(tmp)
            raise MyDockerError("cannot mount container %s for commit: %s"
                                % (rec.name, getattr(e, "strerror", None) or e))
        src = tmp
    try:
        if output:
            return {"output": images.tar_directory(src, output)}
        return images.commit_directory(paths.root, src, image)
    finally:
        if tmp:
            unmount_all(tmp)
            os.rmdir(tmp)
