# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``run``'s process and security flags (issue 11), with Docker's names, and ``ps --filter``."""

RUN_FLAGS = [
    (("--memory-swap",), dict(dest="memory_swap", default=None, metavar="SIZE",
                              help="memory plus swap, e.g. 200m (-1: unlimited swap; default: no swap)")),
    (("--memory-reservation",), dict(dest="memory_reservation", default=None, metavar="SIZE",
                                     help="soft memory limit, below --memory")),
    (("--cap-add",), dict(dest="cap_add", action="append", default=[], metavar="CAP",
                          help="add a capability (NET_ADMIN, CAP_SYS_TIME, ALL)")),
    (("--cap-drop",), dict(dest="cap_drop", action="append", default=[], metavar="CAP",
                           help="drop a capability (ALL: all of them)")),
    (("--device",), dict(dest="device", action="append", default=[], metavar="HOST[:CTR][:rwm]",
                         help="a host device in the container (mknod and the device cgroup)")),
    (("--privileged",), dict(action="store_true",
                             help="DANGEROUS: every capability, no masked paths, no seccomp (docs/security.md)")),
    (("--sysctl",), dict(dest="sysctl", action="append", default=[], metavar="K=V",
                         help="namespaced kernel parameter: net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*")),
    (("--ulimit",), dict(dest="ulimit", action="append", default=[], metavar="NAME=SOFT[:HARD]",
                         help="resource limit, e.g. nofile=1024:2048")),
    (("--init",), dict(action="store_true", help="run tini as PID 1: reaps zombies, forwards signals")),
    (("--stop-signal",), dict(dest="stop_signal", default=None, metavar="SIGNAL",
                              help="signal stop sends (default: the image's StopSignal, else SIGTERM)")),
    (("--group-add",), dict(dest="group_add", action="append", default=[], metavar="GROUP",
                            help="additional group (name in the container's /etc/group, or gid)")),
    (("--oom-score-adj",), dict(dest="oom_score_adj", default=None, metavar="N",
                                help="the container's oom_score_adj (-1000 .. 1000)")),
    (("-l", "--label"), dict(dest="label", action="append", default=[], metavar="K=V", help="set a label")),
    (("--label-file",), dict(dest="label_file", action="append", default=[], metavar="FILE",
                             help="read labels from a file of K=V lines")),
]


def run_kwargs(a):
    """The keyword arguments of containers.create for these flags."""
    return dict(cap_add=a.cap_add, cap_drop=a.cap_drop, privileged=a.privileged, sysctls=a.sysctl,
                ulimits=a.ulimit, init=a.init, stop_signal=a.stop_signal, group_add=a.group_add,
                oom_score_adj=a.oom_score_adj, labels=a.label, label_files=a.label_file,
                devices=a.device)


def filtered(containers, items):
    """``ps --filter``: the containers that pass every filter (engine.filters)."""
    from ..engine import filters
    wanted = filters.parse_filters(items)
    return [c for c in containers if filters.matches(c, wanted)]
