# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``mydocker volume ...``: the thin command line over ``engine/volumes.py``::

    volume create [--driver local] [--label K=V]... [NAME]
    volume ls | list [-q] [--filter K=V]...        (name, driver, dangling, label)
    volume inspect NAME...
    volume rm | remove [-f] NAME...
    volume prune [-f] [-a]                          (unused anonymous volumes; -a: unused named too)
"""

import json

from ..engine.errors import MyDockerError
from .output import err, out, table


def _vol():
    from ..engine import volumes
    return volumes


def cmd_create(a):
    v = _vol()
    rec = v.create_volume(a.root, a.name, labels=v.check_labels(a.label), driver=a.driver,
                          driver_opts=a.opt or None)
    out(rec["Name"])
    return 0


def cmd_list(a):
    v = _vol()
    vols = v.list_volumes(a.root, v.parse_filters(a.filter))
    if a.quiet:
        for r in vols:
            out(r["Name"])
        return 0
    table([(r["Driver"], r["Name"]) for r in vols], ("DRIVER", "VOLUME NAME"), sep="     ")
    return 0


def cmd_inspect(a):
    found, rc = [], 0
    for name in a.names:
        try:
            found.append(_vol().inspect_volume(a.root, name))
        except MyDockerError as e:
            err(e)
            rc = 1
    out(json.dumps(found, indent=4))
    return rc


def cmd_remove(a):
    rc = 0
    for name in a.names:
        try:
            if _vol().remove_volume(a.root, name, force=a.force):
                out(name)
        except MyDockerError as e:
            if len(a.names) == 1:
                raise
            err(e)
            rc = 1
    return rc


def cmd_prune(a):
    from ..engine.resources import format_bytes
    if not a.force:
        import sys
        if not sys.stdin.isatty():
            raise MyDockerError("volume prune removes unused %svolumes: confirm with -f"
                                % ("" if a.all else "anonymous "))
        sys.stdout.write("WARNING! This will remove all unused %svolumes.\nAre you sure you want to continue? [y/N] "
                         % ("" if a.all else "anonymous "))
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    names, reclaimed = _vol().prune_volumes(a.root, all=a.all)
    if names:
        out("Deleted Volumes:")
        for n in names:
            out(n)
        out("")
    out("Total reclaimed space: %s" % format_bytes(reclaimed))
    return 0


def add_volume_parser(subparsers, name="volume", help="manage named volumes"):
    p = subparsers.add_parser(name, help=help)
    sub = p.add_subparsers(dest="volume_command", metavar="COMMAND")
    sub.required = True

    c = sub.add_parser("create", help="create a volume")
    c.add_argument("-d", "--driver", default="local", help="volume driver (only: local)")
    c.add_argument("--label", action="append", default=[], metavar="K=V", help="a label")
    c.add_argument("-o", "--opt", action="append", default=[], metavar="K=V", help="driver options (none for local)")
    c.add_argument("name", metavar="NAME", nargs="?", default=None)
    c.set_defaults(fn=cmd_create)

    for alias in ("ls", "list"):
        ls = sub.add_parser(alias, help="list volumes")
        ls.add_argument("-q", "--quiet", action="store_true", help="only names")
        ls.add_argument("-f", "--filter", action="append", default=[], metavar="K=V",
                        help="name=, driver=, dangling=true|false, label=K[=V]")
        ls.set_defaults(fn=cmd_list)

    i = sub.add_parser("inspect", help="show volumes as JSON")
    i.add_argument("names", metavar="NAME", nargs="+")
    i.set_defaults(fn=cmd_inspect)

    for alias in ("rm", "remove"):
        r = sub.add_parser(alias, help="remove volumes (never one a container uses)")
        r.add_argument("-f", "--force", action="store_true", help="no error for a volume that does not exist")
        r.add_argument("names", metavar="NAME", nargs="+")
        r.set_defaults(fn=cmd_remove)

    pr = sub.add_parser("prune", help="remove unused anonymous volumes (-a: unused named ones too)")
    pr.add_argument("-f", "--force", action="store_true", help="do not ask")
    pr.add_argument("-a", "--all", action="store_true", help="unused named volumes too")
    pr.set_defaults(fn=cmd_prune)
    return p


PARSERS = {
    "volume": add_volume_parser,
}
