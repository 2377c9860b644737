# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``mydocker images``, ``rmi`` and ``image import/busybox/ls/rm``: the image commands.

``PARSERS`` maps each command name to the function that adds its sub-parser."""

import os

from ..engine import images
from ..engine.resources import format_bytes
from .output import each, out, table


def cmd_images(a):
    rows = [[i["name"], i["id"], i["created"], format_bytes(i.get("size", 0))]
            for i in images.list_images(a.root)]
    table(rows, ["NAME", "ID", "CREATED", "SIZE"])
    return 0


def cmd_image_import(a):
    rec, changed = images.import_image(a.root, a.file, a.name)
    out(rec["name"] if changed else "%s (unchanged)" % rec["name"])
    return 0


def cmd_image_busybox(a):
    import tempfile
    fd, tmp = tempfile.mkstemp(suffix=".tar")
    os.close(fd)
    try:
        images.make_busybox_rootfs(tmp, a.busybox)
        rec, changed = images.import_image(a.root, tmp, a.name)
    finally:
        os.unlink(tmp)
    out(rec["name"] if changed else "%s (unchanged)" % rec["name"])
    return 0


def cmd_rmi(a):
    return each(a.images, lambda name: images.remove_image(a.root, name, force=a.force))


# ------------------------------------------------------------------ parsers

def _p_images(sub, name, help):
    s = sub.add_parser(name, help=help)
    s.set_defaults(fn=cmd_images)
    return s


def _p_rmi(sub, name, help):
    s = sub.add_parser(name, help=help)
    s.add_argument("-f", "--force", action="store_true")
    s.add_argument("images", nargs="+")
    s.set_defaults(fn=cmd_rmi)
    return s


def _p_image(sub, name, help):
    s = sub.add_parser(name, help=help)
    isub = s.add_subparsers(dest="imgcmd", metavar="SUBCOMMAND")
    isub.required = True
    i = isub.add_parser("import", help="import a rootfs tarball (or docker save / OCI archive)")
    i.add_argument("file")
    i.add_argument("name")
    i.set_defaults(fn=cmd_image_import)
    i = isub.add_parser("busybox", help="make a base image from the host's busybox binary")
    i.add_argument("name", nargs="?", default="busybox")
    i.add_argument("--busybox", help="path of a static busybox (default: from PATH)")
    i.set_defaults(fn=cmd_image_busybox)
    i = isub.add_parser("ls", aliases=["list"], help="list images")
    i.set_defaults(fn=cmd_images)
    i = isub.add_parser("rm", aliases=["remove"], help="remove images")
    i.add_argument("-f", "--force", action="store_true")
    i.add_argument("images", nargs="+")
    i.set_defaults(fn=cmd_rmi)
    return s


PARSERS = {
    "images": _p_images,
    "rmi": _p_rmi,
    "image": _p_image,
}
