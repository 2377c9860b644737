# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``mydocker build``, ``save`` and ``load``: images made from a Containerfile, images written
to and read from docker/OCI archives.

``PARSERS`` maps each command name to the function that adds its sub-parser."""

import os
import shutil
import sys
import tempfile

from ..engine.errors import MyDockerError
from .output import out


def cmd_build(a):
    from ..engine import build
    args = {}
    for kv in a.build_arg:
        k, sep, v = kv.partition("=")
        if not k:
            raise MyDockerError("invalid --build-arg %r: use NAME=VALUE" % kv)
        args[k] = v if sep else os.environ.get(k)
    res = build.build(a.root, a.context, a.tag, containerfile=a.file, build_args=args, no_cache=a.no_cache,
                      log=sys.stdout if not a.quiet else None)
    out(res["image"]["imageId"] if a.quiet else "Successfully built %s as %s%s" % (
        res["image"]["id"], ", ".join(a.tag), "" if res["changed"] else " (unchanged)"))
    return 0


def cmd_save(a):
    from ..engine import save
    if a.output is None or a.output == "-":
        if sys.stdout.isatty():
            raise MyDockerError("refusing to write an archive to a terminal: use -o FILE or redirect stdout")
        sys.stdout.flush()
        save.save(a.root, a.images, stream=sys.stdout.buffer, fmt=a.format)
        return 0
    save.save(a.root, a.images, output=a.output, fmt=a.format)
    return 0


def cmd_load(a):
    from ..engine import save
    tmp = None
    src = a.input
    try:
        if src is None or src == "-":
            if sys.stdin.isatty():
                raise MyDockerError("load needs an archive: -i FILE or on standard input")
            fd, tmp = tempfile.mkstemp(prefix="mydocker-load-", suffix=".tar")
            with os.fdopen(fd, "wb") as f:
                shutil.copyfileobj(sys.stdin.buffer, f)
            src = tmp
        for ref, rec, changed in save.load(a.root, src):
            if not a.quiet:
                out("Loaded image: %s%s" % (rec["name"] if ref is None else _familiar(ref),
                                            "" if changed else " (unchanged)"))
    finally:
        if tmp is not None:
            os.unlink(tmp)
    return 0


def _familiar(ref):
    from ..engine import reference
    return reference.familiar(ref)


def _p_build(sub, name, help):
    s = sub.add_parser(name, help=help)
    s.add_argument("-t", "--tag", action="append", default=[], required=True, metavar="NAME[:TAG]",
                   help="the image's reference (repeatable)")
    s.add_argument("-f", "--file", default=None, metavar="CONTAINERFILE",
                   help="default: CONTEXT/Containerfile, else CONTEXT/Dockerfile")
    s.add_argument("--build-arg", action="append", default=[], metavar="NAME=VALUE",
                   help="a value for an ARG (NAME alone: from the environment)")
    s.add_argument("--no-cache", action="store_true", help="run every step again")
    s.add_argument("-q", "--quiet", action="store_true", help="print only the image ID")
    s.add_argument("context", metavar="CONTEXT")
    s.set_defaults(fn=cmd_build)
    return s


def _p_save(sub, name, help):
    s = sub.add_parser(name, help=help)
    s.add_argument("-o", "--output", default=None, metavar="FILE", help="default: standard output")
    s.add_argument("--format", default="docker-archive", choices=("docker-archive", "oci-archive"))
    s.add_argument("images", nargs="+", metavar="IMAGE")
    s.set_defaults(fn=cmd_save)
    return s


def _p_load(sub, name, help):
    s = sub.add_parser(name, help=help)
    s.add_argument("-i", "--input", default=None, metavar="FILE", help="default: standard input")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(fn=cmd_load)
    return s


PARSERS = {
    "build": _p_build,
    "save": _p_save,
    "load": _p_load,
}
