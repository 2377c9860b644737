# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Images: import a rootfs tarball, a ``docker save`` or an OCI archive; references with tags.

    <root>/image/images/<key>.json   the image record (key: the sha256 of the imported archive)
    <root>/image/refs/repositories.json   {"refs": {"docker.io/library/busybox:latest": <key>, ...}}
    <root>/image/layers/<L>/         the layers, content-addressed and shared (``layers``)
    <root>/image/<name>.tar/.json    SPEC 1.3 (the Go tool's layout), kept for a reference
                                     ``docker.io/library/<name>:latest``; a state root that has
                                     only these is read as such (migration on read)

A rootfs tarball is one layer; a docker/OCI image keeps its layers, stacked as overlay lower
directories.  Several tags can name one image; removing a tag removes the image with its last
tag, and a layer with the last image or container using it.

This module is the API; the record store is ``imagestore``, importing ``imageimport``, the
layers ``layers``, references ``reference``.
"""

from .imageimport import (  # the API
    archive_kind,
    commit_directory,
    file_digest,
    import_image,
    make_busybox_rootfs,
    predict_layer,
    tar_directory,
)
from .imagestore import (  # the API
    digest_ids,
    disk_usage,
    display_name,
    get_image,
    image_exists,
    image_users,
    layer_container_users,
    layer_present,
    list_images,
    read_image,
    remove_image,
    tag,
)

__all__ = ["archive_kind", "commit_directory", "digest_ids", "disk_usage", "display_name", "file_digest",
           "get_image", "image_exists", "image_users", "import_image", "layer_container_users", "layer_present",
           "list_images", "make_busybox_rootfs", "predict_layer", "read_image", "remove_image", "tag",
           "tar_directory"]
