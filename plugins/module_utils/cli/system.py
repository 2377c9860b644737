# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``mydocker prune``: the commands about the whole state root rather than one object."""

from ..engine import containers as C
from .output import out


def cmd_prune(a):
    removed = C.prune(a.root)
    for r in removed:
        # prune also adopts running containers and records exits; those lines say so themselves
        out(r if r.startswith(("adopted ", "recorded ")) else "removed %s" % r)
    if not removed:
        out("nothing to prune")
    return 0


def _p_prune(sub, name, help):
    s = sub.add_parser(name, help=help)
    s.set_defaults(fn=cmd_prune)
    return s


PARSERS = {
    "prune": _p_prune,
}
