# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``mydocker run/ps/logs/exec/stop/restart/start/rm/commit/inspect``: the container commands.

``PARSERS`` maps each command name to the function that adds its sub-parser; ``main`` builds only
the one that was asked for."""

import os
import sys
import time

from ..engine import containers as C
from ..engine import health, logs, signals
from ..engine.errors import MyDockerError
from ..engine.records import ACTIVE, EXITED
from ..engine.validate import check_flag_value
from .output import each, out, table
from .procopts import RUN_FLAGS as PROC_FLAGS
from .procopts import filtered, run_kwargs


def _networks_action():
    """argparse's action ``networks`` (``RUN_FLAGS``): ``--network`` repeatable, the first in
    ``network`` (as always), the others in ``more_networks``. fastparse.NETWORKS does the same."""
    import argparse

    class Networks(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            if getattr(namespace, self.dest, None) is None:
                setattr(namespace, self.dest, values)
            else:
                namespace.more_networks = list(getattr(namespace, "more_networks", None) or []) + [values]
    return Networks


# the run sub-parser's options: argparse's add_argument arguments, read by fastparse as well (only
# the keys and actions it knows: fastparse.KEYS, fastparse.KINDS)
RUN_FLAGS = [
    (("-i", "--interactive"), dict(action="store_true", help="keep stdin open")),
    (("-t", "--tty"), dict(action="store_true", help="allocate a pseudo-terminal")),
    (("-d", "--detach"), dict(action="store_true", help="run in the background, output to the log")),
    (("-name", "--name"), dict(help="container name (default: the ID)")),
    (("-e", "--env"), dict(action="append", default=[], metavar="K=V", help="environment variable")),
    (("-v", "--volume"), dict(action="append", default=[], metavar="HOST:CTR[:ro]", help="bind a host path")),
    (("-p", "--publish"), dict(action="append", default=[], metavar="[IP:][HOST[-END]:]CTR[-END][/proto]",
                               help="publish a port or a range (needs --net; no HOST: a free host port)")),
    (("-P", "--publish-all"), dict(dest="publish_all", action="store_true",
                                   help="publish every exposed port (the image's too) on a free host port")),
    (("--expose",), dict(action="append", default=[], metavar="PORT[-END][/proto]",
                         help="expose a port or a range (published by -P)")),
    (("-net", "--net", "--network"), dict(dest="network", action="networks",
                                          help="network to connect to (repeatable), or none, host, container:NAME")),
    (("--network-alias", "--net-alias"), dict(dest="network_alias", action="append", default=[], metavar="ALIAS",
                                              help="another name of the container on its (first) network")),
    (("--dns",), dict(action="append", default=[], metavar="IP", help="DNS server for the container")),
    (("--dns-search",), dict(dest="dns_search", action="append", default=[], metavar="DOMAIN",
                             help="DNS search domain for the container")),
    (("--add-host",), dict(dest="add_host", action="append", default=[], metavar="NAME:IP",
                           help="a line in the container's /etc/hosts")),
    (("--ip",), dict(help="fixed IP address on the network")),
    (("-w", "--workdir"), dict(help="working directory inside the container")),
    (("--hostname", "-h"), dict(help="container host name")),
    (("-mem", "--memory", "-m"), dict(help="memory limit, e.g. 100m")),
    (("-cpu", "--cpus"), dict(help="CPU limit, e.g. 0.5")),
    (("-cpuset", "--cpuset-cpus"), dict(dest="cpuset", help="CPUs allowed, e.g. 0-1")),
    (("--cpu-shares", "-c"), dict(dest="cpu_shares", help="relative CPU weight")),
    (("--pids-limit",), dict(dest="pids_limit", help="maximum number of processes")),
    (("--restart",), dict(default="no", help="no | on-failure[:N] | always | unless-stopped")),
    (("--rm",), dict(action="store_true", help="remove the container when it exits")),
    (("--entrypoint",), dict(default=None, metavar="CMD",
                             help="replace the image's Entrypoint ('' clears it; the image's Cmd is dropped)")),
    (("-u", "--user"), dict(default=None, metavar="USER[:GROUP]",
                            help="user (name or uid, optionally :group or :gid) instead of the image's")),
    (("--security-opt",), dict(dest="security_opt", action="append", default=[], metavar="OPT",
                               help="seccomp=unconfined | seccomp=PROFILE.json | no-new-privileges")),
    (("--mount",), dict(action="append", default=[], metavar="type=bind|volume|tmpfs,source=S,target=T[,readonly]",
                        help="mount a host path, a named volume or a tmpfs")),
    (("--tmpfs",), dict(action="append", default=[], metavar="PATH[:size=N,mode=M]", help="mount a tmpfs")),
    (("--read-only",), dict(dest="read_only", action="store_true", help="mount the root filesystem read-only")),
    (("--shm-size",), dict(dest="shm_size", default=None, metavar="SIZE", help="size of /dev/shm (default 64m)")),
    (("--health-cmd",), dict(dest="health_cmd", metavar="CMD", help="healthcheck command (run by /bin/sh -c)")),
    (("--health-interval",), dict(dest="health_interval", metavar="DURATION", help="time between checks (30s)")),
    (("--health-timeout",), dict(dest="health_timeout", metavar="DURATION", help="a check's time limit (30s)")),
    (("--health-retries",), dict(dest="health_retries", metavar="N", help="failures in a row for unhealthy (3)")),
    (("--health-start-period",), dict(dest="health_start_period", metavar="DURATION",
                                      help="failures in this time after the start do not count (0s)")),
    (("--no-healthcheck",), dict(dest="no_healthcheck", action="store_true", help="disable the image's check")),
    (("--log-driver",), dict(dest="log_driver", default=None, help="json-file (the only one)")),
    (("--log-opt",), dict(dest="log_opt", action="append", default=[], metavar="max-size=10m,max-file=3",
                          help="log rotation options")),
] + PROC_FLAGS


def _resources(a):
    for flag, value in (("--memory", a.memory), ("--cpus", a.cpus), ("--cpuset-cpus", a.cpuset),
                        ("--cpu-shares", a.cpu_shares), ("--pids-limit", a.pids_limit),
                        ("--memory-swap", a.memory_swap), ("--memory-reservation", a.memory_reservation)):
        check_flag_value(flag, value)
    res = {"memory": a.memory, "cpus": a.cpus, "cpuset_cpus": a.cpuset, "cpu_shares": a.cpu_shares,
           "pids_limit": a.pids_limit}
    res.update((k, v) for k, v in (("memory_swap", a.memory_swap), ("memory_reservation", a.memory_reservation))
               if v is not None)
    return res


def _status(rec):
    if rec["status"] == EXITED:
        code = rec.get("exitCode")
        return "exited (%s)" % ("?" if code is None else code)
    if rec["status"] == "running" and health.status_of(rec):
        return "running (%s)" % health.status_of(rec)
    return rec["status"]


def _forward_signals(pid):
    """Pass SIGINT, SIGTERM and SIGHUP on to ``pid`` (an attached, non-tty container or exec)."""
    def forward(signum, frame):
        try:
            os.kill(pid, signum)
        except OSError:
            pass
    for s in (signals.SIGINT, signals.SIGTERM, signals.SIGHUP):
        signals.signal(s, forward)


def _with_terminal(a, start):
    """Start something whose pty master comes back on a console socket, and attach to it.

    ``start(console_fd)`` returns a notify file (or None); returns what it returned."""
    from ..engine.process import recv_console
    from . import console
    ours, theirs = console.console_socket()
    try:
        result = start(theirs.fileno())
    finally:
        theirs.close()
    master = recv_console(ours)
    ours.close()
    notify = result[-1] if isinstance(result, tuple) else None
    console.proxy(master, done_fd=notify.fileno() if notify else None, stdin=a.interactive)
    return result


def _stdin(a):
    return 0 if a.interactive else os.open(os.devnull, os.O_RDONLY)


# ------------------------------------------------------------------ commands

def _has_default_command(a):
    """True when the image gives a command of its own (Entrypoint or Cmd) to run without one."""
    from ..engine import images
    try:
        img = images.read_image(a.root, a.image)
    except MyDockerError:
        img = None
    cfg = (img or {}).get("config") or {}
    return bool(cfg.get("Entrypoint") or cfg.get("Cmd"))


def cmd_run(a):
    if not a.command and not a.entrypoint and not _has_default_command(a):
        raise MyDockerError("run needs an IMAGE and a COMMAND")
    kwargs = dict(name=a.name, env=a.env, volumes=a.volume, workdir=a.workdir, hostname=a.hostname,
                  resources=_resources(a), restart=a.restart, auto_remove=a.rm, tty=a.tty,
                  interactive=a.interactive, network=a.network, ip=a.ip, ports=a.publish,
                  networks=getattr(a, "more_networks", None), aliases=a.network_alias, dns=a.dns,
                  dns_search=a.dns_search, add_hosts=a.add_host,
                  security_opt=a.security_opt, entrypoint=a.entrypoint, user=a.user,
                  mounts=a.mount, tmpfs=a.tmpfs, read_only=a.read_only, shm_size=a.shm_size,
                  expose=a.expose, publish_all=a.publish_all,
                  healthcheck=health.from_flags(a.health_cmd, a.health_interval, a.health_timeout, a.health_retries,
                                                a.health_start_period, a.no_healthcheck),
                  log_driver=a.log_driver, log_options=a.log_opt, **run_kwargs(a))
    if a.detach:
        rec = C.run(a.root, a.image, a.command, detach=True, **kwargs)[0]
        out(rec["id"])
        return 0
    if a.tty:
        rec, pid, notify = _with_terminal(
            a, lambda fd: C.run(a.root, a.image, a.command, detach=False, console=fd, **kwargs))
        return C.wait_exit(notify)
    rec, pid, notify = C.run(a.root, a.image, a.command, detach=False, stdio=(_stdin(a), 1, 2), **kwargs)
    _forward_signals(pid)
    return C.wait_exit(notify)


def cmd_ps(a):
    rows = []
    listed = C.list_containers(a.root, all=a.all or any(f.startswith("status=") for f in a.filter))
    for r in filtered(listed, a.filter) if a.filter else listed:
        if a.quiet:
            out(r["id"])
            continue
        rows.append([r["id"], r["name"], r.get("ip", ""), r.get("pid", ""), _status(r), r["command"],
                     r["createdTime"], r.get("volume", "")])
    if not a.quiet:
        table(rows, ["ID", "NAME", "IP", "PID", "STATUS", "COMMAND", "CREATED", "Volume"])
    return 0


def cmd_logs(a):
    """Across the rotated files; ``--since``, ``--tail``, ``-t`` (engine/logs.py)."""
    since = logs.parse_since(a.since) if a.since else None
    tail = logs.parse_tail(a.tail)
    path, rec = C.log_path(a.root, a.container)

    def show(items):
        for ns, line in items:
            if since is not None and ns is not None and ns < since:
                continue
            if a.timestamps:
                sys.stdout.buffer.write(logs.stamp(ns).encode() + b" ")
            sys.stdout.buffer.write(line)
        sys.stdout.flush()
    follower = logs.Follower(path)
    if a.follow:
        follower.start_at_end()  # before reading: a line written meanwhile may come twice, never not at all
    show(logs.select_lines(path, since=since, tail=tail))
    while a.follow:
        try:
            rec = C.inspect(a.root, rec["id"])
        except MyDockerError:
            return 0
        if rec["status"] not in ACTIVE:
            a.follow = False  # one more read to catch what was written just before the exit
        time.sleep(0.1 if a.follow else 0)
        show(follower.poll())
    return 0


def cmd_exec(a):
    if not a.command:
        raise MyDockerError("exec needs a CONTAINER and a COMMAND")
    if a.tty:
        pid = _with_terminal(
            a, lambda fd: C.exec_start(a.root, a.container, a.command, console=fd, env=a.env, workdir=a.workdir,
                                       user=a.user))
        return C.exec_wait(pid)
    pid = C.exec_start(a.root, a.container, a.command, stdio=(_stdin(a), 1, 2), env=a.env, workdir=a.workdir,
                       user=a.user)
    _forward_signals(pid)
    return C.exec_wait(pid)


def cmd_stop(a):
    return each(a.containers, lambda ref: C.stop(a.root, ref, timeout=a.time))


def cmd_start(a):
    return each(a.containers, lambda ref: C.start(a.root, ref))


def cmd_restart(a):
    return each(a.containers, lambda ref: C.restart(a.root, ref, timeout=a.time))


def cmd_rm(a):
    return each(a.containers, lambda ref: C.remove(a.root, ref, force=a.force, volumes=a.volumes))


def cmd_commit(a):
    if not a.image and not a.output:
        raise MyDockerError("commit needs an IMAGE name or --output PATH.tar")
    from ..engine.commit import commit
    res = commit(a.root, a.container, image=a.image, output=a.output)
    out(res.get("output") or res["name"])
    return 0


def cmd_port(a):
    """``docker port``: '80/tcp -> 0.0.0.0:32768', one line per published port (the host port
    the engine chose for a bare port, a range or -P, once the container has started)."""
    rec = C.inspect(a.root, a.container)
    want = None
    if a.port:
        num, _sep, proto = a.port.partition("/")
        want = (num, proto or "tcp")
    for p in sorted(rec.get("ports") or [], key=lambda p: (p["container_port"], p.get("proto") or "tcp")):
        proto = p.get("proto") or "tcp"
        if want is not None and want != (str(p["container_port"]), proto):
            continue
        host = "%s:%s" % (p.get("host_ip") or "0.0.0.0", p["host_port"] or "")
        out(host if want is not None else "%d/%s -> %s" % (p["container_port"], proto, host))
    return 0


def cmd_inspect(a):
    import json  # inspect only: json imports re (~3 ms of every other command's start)
    out(json.dumps([C.inspect(a.root, ref) for ref in a.containers], indent=2))
    return 0


# ------------------------------------------------------------------ parsers

RUN_POSITIONALS = (("image", None), ("command", "..."))  # "...": argparse.REMAINDER


def _p_run(sub, name, help):
    s = sub.add_parser(name, help=help, allow_abbrev=False, add_help=False)
    s.register("action", "networks", _networks_action())
    s.add_argument("--help", action="help", help="show this help")
    for flags, kw in RUN_FLAGS:
        s.add_argument(*flags, **kw)
    for dest, nargs in RUN_POSITIONALS:
        s.add_argument(dest, nargs=nargs)
    s.set_defaults(fn=cmd_run)
    return s


def _p_ps(sub, name, help):
    s = sub.add_parser(name, help=help)
    s.add_argument("-a", "--all", action="store_true", help="show stopped containers too")
    s.add_argument("-q", "--quiet", action="store_true", help="only IDs")
    s.add_argument("-f", "--filter", action="append", default=[], metavar="KIND=VALUE",
                   help="label=K[=V], name=, status=, network=, id= (kinds ANDed)")
    s.set_defaults(fn=cmd_ps)
    return s


def _p_logs(sub, name, help):
    s = sub.add_parser(name, help=help)
    s.add_argument("-f", "--follow", action="store_true")
    s.add_argument("--since", default=None, help="only lines since a time (2026-12-01T12:00:00Z) or for a while (10m)")
    s.add_argument("-n", "--tail", default=None, help="only the last N lines (default: all)")
    s.add_argument("-t", "--timestamps", action="store_true", help="each line with the time it was written")
    s.add_argument("container")
    s.set_defaults(fn=cmd_logs)
    return s


def _p_exec(sub, name, help):
    s = sub.add_parser(name, help=help, allow_abbrev=False)
    s.add_argument("-i", "--interactive", action="store_true")
    s.add_argument("-t", "--tty", action="store_true")
    s.add_argument("-e", "--env", action="append", default=[])
    s.add_argument("-w", "--workdir")
    s.add_argument("-u", "--user", default=None, help="user[:group] (default: the container's)")
    s.add_argument("container")
    s.add_argument("command", nargs="...")  # argparse.REMAINDER
    s.set_defaults(fn=cmd_exec)
    return s


def _p_timed(fn):
    """stop and restart: a grace time, then containers."""
    def add(sub, name, help):
        s = sub.add_parser(name, help=help)
        s.add_argument("-t", "--time", type=int, default=10, help="seconds before SIGKILL (default 10)")
        s.add_argument("containers", nargs="+")
        s.set_defaults(fn=fn)
        return s
    return add


def _p_start(sub, name, help):
    s = sub.add_parser(name, help=help)
    s.add_argument("containers", nargs="+")
    s.set_defaults(fn=cmd_start)
    return s


def _p_rm(sub, name, help):
    s = sub.add_parser(name, help=help)
    s.add_argument("-f", "--force", action="store_true", help="stop a running container first")
    s.add_argument("-v", "--volumes", action="store_true", help="remove its anonymous volumes too")
    s.add_argument("containers", nargs="+")
    s.set_defaults(fn=cmd_rm)
    return s


def _p_commit(sub, name, help):
    s = sub.add_parser(name, help=help)
    s.add_argument("-o", "--output", help="write a tar file here instead")
    s.add_argument("container")
    s.add_argument("image", nargs="?")
    s.set_defaults(fn=cmd_commit)
    return s


def _p_inspect(sub, name, help):
    s = sub.add_parser(name, help=help)
    s.add_argument("containers", nargs="+")
    s.set_defaults(fn=cmd_inspect)
    return s


def _p_port(sub, name, help):
    s = sub.add_parser(name, help=help)
    s.add_argument("container")
    s.add_argument("port", nargs="?", metavar="PORT[/proto]")
    s.set_defaults(fn=cmd_port)
    return s


PARSERS = {
    "port": _p_port,
    "run": _p_run,
    "ps": _p_ps,
    "logs": _p_logs,
    "exec": _p_exec,
    "stop": _p_timed(cmd_stop),
    "restart": _p_timed(cmd_restart),
    "start": _p_start,
    "rm": _p_rm,
    "commit": _p_commit,
    "inspect": _p_inspect,
}

# the command lines main.parse_args gives to fastparse first: (flags, positionals, sub-parser defaults)
FAST = {
    "run": (RUN_FLAGS, RUN_POSITIONALS, {"fn": cmd_run}),
}
