# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``mydocker prune``, ``mydocker system``: the commands about the whole state root rather than one
object."""

from .output import out, table


def cmd_prune(a):
    from ..engine.prune import prune
    removed = prune(a.root)
    for r in removed:
        # prune also adopts running containers and records exits; those lines say so themselves
        out(r if r.startswith(("adopted ", "recorded ")) else "removed %s" % r)
    if not removed:
        out("nothing to prune")
    return 0


def cmd_df(a):
    from ..engine import images
    from ..engine.resources import format_bytes
    du = images.disk_usage(a.root)
    rows = [[label, du[k]["total"], du[k]["active"], format_bytes(du[k]["bytes"]), format_bytes(du[k]["reclaimable"])]
            for label, k in (("Images", "images"), ("Layers", "layers"), ("Containers", "containers"))]
    from ..engine.volumes import disk_usage as volume_usage
    vols = volume_usage(a.root)
    rows.append(["Volumes", len(vols), sum(1 for v in vols if v["InUse"]), format_bytes(sum(v["Size"] for v in vols)),
                 format_bytes(sum(v["Size"] for v in vols if not v["InUse"]))])
    table(rows, ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"])
    out("(layers: ACTIVE is the number shared by several images, %s in them)"
        % format_bytes(du["layers"]["shared"]))
    return 0


def cmd_service(a):
    from . import service
    if a.action == "stop":
        out("stopped" if service.stop(a.root) else "no service runs for %s" % a.root)
        return 0
    if a.action == "status":
        st = service.status(a.root)
        if st is None:
            out("no service runs for %s" % a.root)
            return 1
        import time
        pid, since, count = st
        up = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since))
        out("pid %d, up since %s, %d commands taken" % (pid, up, count))
        return 0
    if a.time < 0:
        from ..engine.errors import MyDockerError
        raise MyDockerError("--time must be 0 (never) or a number of seconds, not %g" % a.time)
    if a.foreground:
        return service.serve(a.root, a.time)
    out("%d" % service.start(a.root, a.time))
    return 0


def _p_system(sub, name, help):
    s = sub.add_parser(name, help=help)
    ssub = s.add_subparsers(dest="syscmd", metavar="SUBCOMMAND")
    ssub.required = True
    i = ssub.add_parser("df", help="disk space of images, shared layers and containers' upper directories")
    i.set_defaults(fn=cmd_df)
    i = ssub.add_parser("prune", help="remove leftovers of crashed runs")
    i.set_defaults(fn=cmd_prune)
    i = ssub.add_parser("service", help="keep the command line loaded for this state root: commands start faster",
                        description="Start (the default), stop or show the state root's service: a process with "
                        "the command line loaded, which runs the commands of this state root for `mydocker` "
                        "(each in a process of its own, with the caller's arguments, environment and streams). "
                        "Without a service every command loads the command line itself; "
                        "MYDOCKER_SERVICE=0 makes a command do so anyway.")
    i.add_argument("action", nargs="?", choices=("start", "stop", "status"), default="start")
    i.add_argument("--time", "-t", type=float, default=300.0, metavar="SECONDS",
                   help="stop after this many seconds without a command; 0: never (default: %(default)g)")
    i.add_argument("--foreground", action="store_true", help="serve in this process instead of in the background")
    i.set_defaults(fn=cmd_service)
    return s


def _p_prune(sub, name, help):
    s = sub.add_parser(name, help=help)
    s.set_defaults(fn=cmd_prune)
    return s


PARSERS = {
    "prune": _p_prune,
    "system": _p_system,
}
