# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``mydocker network ...``: the thin command line over ``network.py``.

``add_network_parser(subparsers)`` (``PARSERS["network"]`` for ``main``) adds::

    network create --driver bridge --subnet CIDR [--gateway IP] NAME
    network ls | list
    network inspect NAME...
    network rm | remove [-f] NAME...
    network connect [--ip IP] [--alias A]... NAME CONTAINER
    network disconnect NAME CONTAINER

Each handler takes the parsed args (``args.root``: state root or None), prints, and returns an
exit status; MyDockerError propagates to ``main``, which prints its one line.
The Go tool's single-dash spellings (``-driver``, ``-subnet``) are accepted too.
"""

import json

from ..engine.errors import MyDockerError
from .output import err, out, table


def _net():
    from ..engine.net import networks as network
    return network


def cmd_create(args):
    rec = _net().create_network(getattr(args, "root", None), args.name, args.subnet,
                                gateway=args.gateway, driver=args.driver)
    out(rec["Name"])
    return 0


def cmd_list(args):
    nets = _net().list_networks(getattr(args, "root", None))
    if getattr(args, "quiet", False):
        for n in nets:
            out(n["Name"])
        return 0
    rows = []
    for n in nets:
        rng = "%s/%s" % (n["Gateway"], n["Subnet"].split("/")[1])
        rows.append((n["Name"], rng, n.get("Driver", "bridge"), n["Subnet"], n["Gateway"]))
    table(rows, ("NAME", "IPRange", "Driver", "SUBNET", "GATEWAY"), sep="   ")
    return 0


def cmd_inspect(args):
    found = []
    rc = 0
    for name in args.names:
        try:
            found.append(_net().inspect_network(getattr(args, "root", None), name))
        except MyDockerError as e:
            err(e)
            rc = 1
    out(json.dumps(found, indent=4, sort_keys=False))
    return rc


def cmd_remove(args):
    rc = 0
    for name in args.names:
        try:
            _net().remove_network(getattr(args, "root", None), name, force=args.force)
            out(name)
        except MyDockerError as e:
            if len(args.names) == 1:
                raise
            err(e)
            rc = 1
    return rc


def cmd_connect(args):
    from ..engine.net import live
    live.connect(getattr(args, "root", None), args.name, args.container, ip=args.ip, aliases=args.alias)
    return 0


def cmd_disconnect(args):
    from ..engine.net import live
    live.disconnect(getattr(args, "root", None), args.name, args.container)
    return 0


def add_network_parser(subparsers, name="network", help="manage bridge networks"):
    """Add the ``network`` command (with its subcommands) to an argparse subparsers object."""
    p = subparsers.add_parser(name, help=help)
    sub = p.add_subparsers(dest="network_command", metavar="COMMAND")
    sub.required = True

    c = sub.add_parser("create", help="create a bridge network")
    c.add_argument("--driver", "-driver", default="bridge", help="network driver (only: bridge)")
    c.add_argument("--subnet", "-subnet", required=True, help="subnet in CIDR notation")
    c.add_argument("--gateway", "-gateway", default=None,
                   help="gateway address (default: first address of the subnet)")
    c.add_argument("name", metavar="NAME")
    c.set_defaults(fn=cmd_create)

    for alias in ("ls", "list"):
        ls = sub.add_parser(alias, help="list networks")
        ls.add_argument("-q", "--quiet", action="store_true", help="only names")
        ls.set_defaults(fn=cmd_list)

    i = sub.add_parser("inspect", help="show networks as JSON")
    i.add_argument("names", metavar="NAME", nargs="+")
    i.set_defaults(fn=cmd_inspect)

    for alias in ("rm", "remove"):
        r = sub.add_parser(alias, help="remove networks")
        r.add_argument("-f", "--force", action="store_true",
                       help="remove even when containers are attached (detaches them)")
        r.add_argument("names", metavar="NAME", nargs="+")
        r.set_defaults(fn=cmd_remove)

    c = sub.add_parser("connect", help="connect a container to a network (a running one at once)")
    c.add_argument("--ip", default=None, help="fixed IP address on the network")
    c.add_argument("--alias", action="append", default=[], help="another name of the container there")
    c.add_argument("name", metavar="NAME")
    c.add_argument("container", metavar="CONTAINER")
    c.set_defaults(fn=cmd_connect)

    d = sub.add_parser("disconnect", help="disconnect a container from a network")
    d.add_argument("name", metavar="NAME")
    d.add_argument("container", metavar="CONTAINER")
    d.set_defaults(fn=cmd_disconnect)
    return p


PARSERS = {
    "network": add_network_parser,
}
