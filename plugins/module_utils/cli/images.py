# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``mydocker images``, ``rmi`` and ``image import/busybox/ls/rm``: the image commands.

``PARSERS`` maps each command name to the function that adds its sub-parser."""

import os

from ..engine import images, reference
from ..engine.errors import MyDockerError
from ..engine.resources import format_bytes
from .output import each, out, table


def _filtered(a):
    rows = images.list_images(a.root)
    for f in getattr(a, "filter", None) or []:
        key, sep, value = f.partition("=")
        if key != "reference" or not sep:
            raise MyDockerError("invalid filter %r: only reference=PATTERN is supported" % f)
        rows = [r for r in rows if r["repository"] != "<none>" and
                reference.matches(value, "%s:%s" % (r["repository"], r["tag"]))]
    return rows


def cmd_images(a):
    rows = _filtered(a)
    if getattr(a, "quiet", False):
        seen = []
        for r in rows:
            if r["id"] not in seen:
                seen.append(r["id"])
                out(r["id"])
        return 0
    digests = getattr(a, "digests", False)
    headers = ["REPOSITORY", "TAG"] + (["DIGEST"] if digests else []) + ["IMAGE ID", "CREATED", "SIZE"]
    table([[r["repository"], r["tag"]] + ([_digest(r)] if digests else []) +
           [r["id"], r["created"], format_bytes(r.get("size", 0))] for r in rows], headers)
    return 0


def _digest(r):
    for d in r.get("repoDigests") or []:
        repo, sep, digest = d.partition("@")
        if repo == r["repository"]:
            return digest
    return "<none>"


def cmd_tag(a):
    images.tag(a.root, a.source, a.target)
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

def _list_flags(s):
    s.add_argument("-q", "--quiet", action="store_true", help="only image IDs")
    s.add_argument("--digests", action="store_true", help="show the digests")
    s.add_argument("-f", "--filter", action="append", default=[], help="reference=PATTERN")
    s.add_argument("-a", "--all", action="store_true", help="accepted for Docker's sake (no intermediate images)")


def _p_images(sub, name, help):
    s = sub.add_parser(name, help=help)
    _list_flags(s)
    s.set_defaults(fn=cmd_images)
    return s


def _p_tag(sub, name, help):
    s = sub.add_parser(name, help=help)
    s.add_argument("source", metavar="SOURCE_IMAGE")
    s.add_argument("target", metavar="TARGET_IMAGE")
    s.set_defaults(fn=cmd_tag)
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
    _list_flags(i)
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
    "tag": _p_tag,
}
