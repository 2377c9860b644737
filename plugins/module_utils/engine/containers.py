# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Containers: the one API the CLI and the Ansible modules call.

create / start / run / stop / restart / remove / list / inspect / exec / logs / commit / prune.
Every operation takes a name or an ID. Every failure undoes what the steps before it did.
Records are read and written through ``records``; ``prune`` lives in ``prune``.
"""

import os
import random
import re
import tempfile
import time

from . import imageconfig, images, lifecycle, process, records, reference, seccomp, users
from .cgroups import Cgroup
from .errors import MyDockerError, NotFound
from .monitor import start_monitor
from .prune import prune  # noqa: F401 (part of this API)
from .records import ACTIVE, CREATED, EXITED, RUNNING, Record
from .resources import normalize_resources
from .rootfs import mount_overlay, mounts_under, unmount_all
from .store import Paths, cgroup_parent, file_lock, makedirs, state_lock, write_atomic
from .syscalls import MS_RDONLY, SYS
from .validate import (
    check_auto_remove,
    check_needs_network,
    check_unique_volumes,
    validate_hostname,
    validate_name,
    validate_workdir,
)

_ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


# ---------------------------------------------------------------- parsing

def parse_env(items):
    """['K=V', ...] or {K: V} -> ordered dict; a bare 'K' takes the caller's value (as Docker)."""
    env = {}
    if isinstance(items, dict):
        items = ["%s=%s" % (k, v) for k, v in items.items()]
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            value = os.environ.get(key, "")
        if not _ENV_KEY_RE.match(key):
            raise MyDockerError("invalid environment variable %r: expected KEY=VALUE" % item)
        env[key] = value
    return env


def parse_volume(spec):
    """'HOST:CTR[:ro|rw]' or a dict -> {"host", "container", "ro"}."""
    if isinstance(spec, dict):
        host, ctr, ro = spec.get("host", ""), spec.get("container", ""), bool(spec.get("ro"))
    else:
        parts = spec.split(":")
        if len(parts) == 3 and parts[2] in ("ro", "rw"):
            host, ctr, ro = parts[0], parts[1], parts[2] == "ro"
        elif len(parts) == 2:
            host, ctr, ro = parts[0], parts[1], False
        else:
            raise MyDockerError("invalid volume %r: expected HOST:CONTAINER[:ro]" % spec)
    if not host.startswith("/") or not ctr.startswith("/"):
        raise MyDockerError("invalid volume %r: both paths must be absolute" % spec)
    host = os.path.normpath(host)
    if host == "/":
        raise MyDockerError("invalid volume %r: the host's / cannot be a volume" % spec)
    if ".." in ctr.split("/") or os.path.normpath(ctr) == "/":
        raise MyDockerError("invalid volume %r: the container path must stay inside the container's root"
                            % spec)
    return {"host": host, "container": os.path.normpath(ctr), "ro": ro}


def parse_restart(value):
    """'no' | 'always' | 'unless-stopped' | 'on-failure[:N]' -> {"name", "maxRetries"}."""
    value = value or "no"
    name, _sep, count = value.partition(":")
    if name in ("no", "always", "unless-stopped") and not count:
        return {"name": "always" if name == "unless-stopped" else name, "maxRetries": 0}
    if name == "on-failure":
        try:
            n = int(count) if count else 0
        except ValueError:
            n = -1
        if n >= 0:
            return {"name": name, "maxRetries": n}
    raise MyDockerError("invalid restart policy %r: use no, always or on-failure[:N]" % value)


# ---------------------------------------------------------------- lookup

def _paths(root):
    return root if isinstance(root, Paths) else Paths(root)


def find(root, ref):
    """The record of the container called ``ref`` (ID or name)."""
    return records.find(_paths(root), ref)


def exists(root, ref):
    try:
        find(root, ref)
        return True
    except NotFound:
        return False


def view(rec):
    """The record as a user sees it: status from the host, not from the file."""
    out = dict(rec)
    out["status"] = lifecycle.true_status(rec)
    if out["status"] != RUNNING:
        out["pid"] = ""
    return out


def list_containers(root, all=False):
    paths = _paths(root)
    out = [view(r) for r in records.iter_records(paths)]
    if not all:
        out = [r for r in out if r["status"] in ACTIVE]
    return out


def inspect(root, ref):
    return view(find(root, ref))


# ---------------------------------------------------------------- create

def _new_id(paths):
    rnd = random.SystemRandom()
    while True:
        cid = "".join(rnd.choice("0123456789") for _i in range(10))
        if not os.path.exists(paths.container_dir(cid)):
            return cid


def _resolv_conf():
    try:
        with open("/etc/resolv.conf") as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    keep = [ln for ln in lines if not (ln.startswith("nameserver") and
                                       (" 127." in ln or " ::1" in ln))]
    return "\n".join(keep) + "\n"


def write_hosts(paths, cid, hostname, ip=None):
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    if ip:
        lines.append("%s\t%s" % (ip, hostname))
    else:
        lines.append("127.0.1.1\t%s" % hostname)
    write_atomic(os.path.join(paths.container_dir(cid), "hosts"), "\n".join(lines) + "\n")


def create(root, image, command=None, name=None, env=None, volumes=None, workdir=None, hostname=None,
           resources=None, restart=None, auto_remove=False, tty=False, interactive=False,
           network=None, ip=None, ports=None, security_opt=None, entrypoint=None, user=None):
    """Create a container (not started). Returns its record.

    The image's config is honoured as Docker does (``imageconfig``): the command is Entrypoint +
    Cmd, ``command`` replaces Cmd, ``entrypoint`` (a string, '' clears, or a list) replaces the
    Entrypoint and drops Cmd; ``env`` wins over the image's Env; ``workdir`` and ``user`` (name,
    uid, uid:gid, name:group; resolved in the image's /etc/passwd at start) over the image's."""
    paths = _paths(root)
    paths.ensure()
    img = images.get_image(paths.root, image)
    cfg = img.get("config") or {}
    if entrypoint is not None and not isinstance(entrypoint, str) and \
            not (isinstance(entrypoint, list) and all(isinstance(a, str) for a in entrypoint)):
        raise MyDockerError("the entrypoint must be a string or a list of strings")
    if command and not (isinstance(command, (list, tuple)) and all(isinstance(a, str) for a in command)):
        raise MyDockerError("the command must be a list of strings")
    cmd = imageconfig.command(cfg, command, entrypoint)
    if not cmd:
        raise MyDockerError("no command specified (image %s has no default command)" % image)
    if not all(isinstance(a, str) for a in cmd):
        raise MyDockerError("the command must be a list of strings")
    user = users.validate(cfg.get("User") or "" if user is None else user)
    image_env = parse_env(cfg.get("Env") or [])
    image_env.pop("PATH", None)
    image_env.update(parse_env(env))
    vols = check_unique_volumes([parse_volume(v) for v in volumes or []])
    res = normalize_resources(resources or {})
    security_opt, seccomp_profile = seccomp.parse_security_opt(security_opt)
    policy = parse_restart(restart)
    check_auto_remove(auto_remove, policy["name"])
    workdir = validate_workdir(workdir or cfg.get("WorkingDir") or "/")
    if name is not None:
        validate_name(name, "container name")
    if hostname is not None:
        validate_hostname(hostname)
    check_needs_network(network, ports, ip)
    net_ports = []
    if network:
        from .net import networks as netmod
        netmod.inspect_network(paths.root, network)  # raises for an unknown network
        net_ports = [netmod.parse_publish(p) if isinstance(p, str) else p for p in ports or []]

    with state_lock(paths):
        cid = _new_id(paths)
        name = name or cid
        for other in records.iter_records(paths):
            if other.get("name") == name:
                raise MyDockerError("the container name %s is already in use by container %s"
                                    % (name, other.id))
        makedirs(paths.container_dir(cid), 0o700)
        rec = Record({
            # the Go tool's keys (command, volume, portmapping, Resource: derived by records.save)
            "pid": "", "id": cid, "name": name, "command": "", "createdTime": lifecycle.now(),
            "status": CREATED, "volume": "", "networkName": network or "", "portmapping": None,
            "ip": ip or "", "cgroupManager": {"Path": "%s/%s" % (cgroup_parent(paths.root), cid),
                                              "Resource": None},
            "cmd": cmd, "image": image, "layer": img["layer"], "layers": img["layers"],
            "imageId": img["imageId"], "env": image_env, "volumes": vols,
            "workdir": workdir, "hostname": hostname or cid, "resources": res,
            "restartPolicy": policy, "restartCount": 0, "autoRemove": bool(auto_remove),
            "tty": bool(tty), "interactive": bool(interactive), "ports": net_ports,
            "exitCode": None, "startedAt": "", "finishedAt": "", "monitorPid": "",
            "stopRequested": False, "securityOpt": security_opt, "seccompProfile": seccomp_profile,
            "user": user, "stopSignal": cfg.get("StopSignal") or "",
            "config": imageconfig.resolved(img, cmd, entrypoint, image_env, workdir, user),
        })
        rec = records.save(paths, rec)
    try:
        cdir = paths.container_dir(cid)
        write_atomic(os.path.join(cdir, "hostname"), rec.hostname + "\n")
        write_hosts(paths, cid, rec.hostname, ip)
        write_atomic(os.path.join(cdir, "resolv.conf"), _resolv_conf())
        ov = paths.overlay_dir(cid)
        for d in ("upper", "work", "merged"):
            makedirs(os.path.join(ov, d))
        os.symlink(img["layerPath"], os.path.join(ov, "lower"))
        for v in vols:
            if not os.path.exists(v["host"]):
                makedirs(v["host"])
        Cgroup(cgroup_parent(paths.root), cid).create(res)
    except BaseException:
        lifecycle.remove_files(paths, rec)
        raise
    return rec


# ---------------------------------------------------------------- start / run

def start(root, ref, stdio=None, console=None, attached=False):
    """Start a created or stopped container. Returns (pid, notify file or None).

    ``stdio``: three fds for the container (attached runs); default: log file.
    ``console``: a unix socket fd; the container sends the master of its new pty on it.
    """
    paths = _paths(root)
    rec = find(paths, ref)
    cid = rec.id
    with file_lock(os.path.join(paths.container_dir(cid), ".start.lock")):
        rec = find(paths, cid)
        if lifecycle.true_status(rec) in ACTIVE:
            raise MyDockerError("container %s is already running" % rec.name)
        if lifecycle.monitor_alive(rec):
            _wait_monitor(rec, 10)
        records.update(paths, cid, stopRequested=False, restartCount=0, error="")
        return start_monitor(paths, cid, stdio=stdio, console=console, attached=attached)


def run(root, image, command=None, detach=True, stdio=None, console=None, **kwargs):
    """create + start; a failure at any step removes the container again."""
    paths = _paths(root)
    rec = create(paths, image, command, **kwargs)
    try:
        pid, notify = start(paths, rec.id, stdio=stdio, console=console, attached=not detach)
    except BaseException:
        now = records.read(paths, rec.id)
        if now is not None:
            lifecycle.remove_files(paths, now)
        raise
    rec = records.read(paths, rec.id) or rec
    return rec, pid, notify


def wait_exit(notify):
    """Block until an attached container is done; returns its exit code."""
    try:
        while True:
            line = notify.readline().decode("utf-8", "replace").strip()
            if not line:
                return 255
            if line.startswith("exited "):
                return int(line.split()[1])
    finally:
        notify.close()


def _run_captured(start, wait):
    """``start(stdio)`` with stdin /dev/null and stdout/stderr into temporary files, then
    ``wait(what start returned)``. Returns (exit code, stdout bytes, stderr bytes)."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        handle = start((null, out.fileno(), err.fileno()))
        os.close(null)
        null = None
        code = wait(handle)
        out.seek(0)
        err.seek(0)
        return code, out.read(), err.read()
    finally:
        if null is not None:
            os.close(null)
        out.close()
        err.close()


def start_and_wait(root, ref):
    """Start a created or stopped container attached and wait until it is done (restart policy
    included). Returns (exit code, stdout bytes, stderr bytes); stdin is /dev/null."""
    return _run_captured(lambda stdio: start(root, ref, stdio=stdio, attached=True)[1], wait_exit)


def exec_and_wait(root, ref, argv, env=None, workdir=None, user=None):
    """``exec_start`` then ``exec_wait``: (exit code, stdout bytes, stderr bytes)."""
    return _run_captured(lambda stdio: exec_start(root, ref, argv, stdio=stdio, env=env, workdir=workdir,
                                                  user=user), exec_wait)


# ---------------------------------------------------------------- update

def update(root, ref, resources=None, restart=None):
    """Change a container in place: its limits (``resources``: the complete set, as for create;
    applied to the cgroup when it exists) and/or its restart policy (read by the monitor at the
    next exit). Returns the record. On failure the cgroup gets its old limits back."""
    paths = _paths(root)
    rec = find(paths, ref)
    changes = {}
    if restart is not None:
        policy = parse_restart(restart)
        check_auto_remove(rec.auto_remove, policy["name"])
        changes["restartPolicy"] = policy
    if resources is not None:
        res = normalize_resources(resources)
        cg = lifecycle.cgroup_of(paths, rec)
        if cg.exists():
            try:
                cg.update(res)
            except MyDockerError:
                try:
                    cg.update(rec.resources)
                except MyDockerError:
                    pass
                raise
        changes["resources"] = res  # records.save derives cgroupManager.Resource
    if changes:
        rec = records.update(paths, rec.id, **changes)
    return rec


# ---------------------------------------------------------------- stop / rm

def _wait_monitor(rec, timeout):
    deadline = time.time() + timeout
    while lifecycle.monitor_alive(rec) and time.time() < deadline:
        time.sleep(0.02)
    return not lifecycle.monitor_alive(rec)


def stop(root, ref, timeout=10):
    """SIGTERM, SIGKILL after ``timeout`` s; returns once the process is confirmed gone.

    Returns True when something was stopped."""
    paths = _paths(root)
    rec = find(paths, ref)
    cid = rec.id
    if rec.status not in ACTIVE and not lifecycle.monitor_alive(rec):
        return False
    rec = records.update(paths, cid, stopRequested=True)
    try:
        sig = imageconfig.parse_signal(rec.get("stopSignal"))
    except MyDockerError:
        sig = imageconfig.parse_signal(None)  # an image's StopSignal we cannot read: SIGTERM
    if not lifecycle.kill_and_wait(rec, timeout, sig):
        raise MyDockerError("container %s (pid %s) did not die after SIGKILL" % (rec.name, rec.pid))
    if not _wait_monitor(rec, 15):
        raise MyDockerError("the monitor of container %s did not finish" % rec.name)
    rec = records.read(paths, cid)
    if rec is not None and rec.status != EXITED:
        # the monitor died (crashed or was killed): clean up in its place
        lifecycle.finish(paths, cid, rec.exit_code if rec.exit_code is not None else 137, None)
        lifecycle.final(paths, cid)
    return True


def restart(root, ref, timeout=10):
    stop(root, ref, timeout)
    return start(root, ref)


def remove(root, ref, force=False):
    paths = _paths(root)
    rec = find(paths, ref)
    if lifecycle.true_status(rec) in ACTIVE or lifecycle.monitor_alive(rec):
        if not force:
            raise MyDockerError("container %s is running: stop it first or use rm -f" % rec.name)
        stop(paths, rec.id, timeout=0)
    rec = records.read(paths, rec.id)
    if rec is None:
        return True  # it was started with --rm and is gone already
    lifecycle.remove_files(paths, rec)
    return True


# ---------------------------------------------------------------- exec / logs

def exec_start(root, ref, argv, stdio=(0, 1, 2), console=None, env=None, workdir=None, user=None):
    """Start ``argv`` inside a running container (as ``user``, default the container's). Returns
    the pid to wait for; raises if the command could not be started."""
    paths = _paths(root)
    rec = find(paths, ref)
    if lifecycle.true_status(rec) != RUNNING:
        raise MyDockerError("container %s is not running" % rec.name)
    if not argv:
        raise MyDockerError("no command given")
    if workdir is not None and not workdir.startswith("/"):
        raise MyDockerError("invalid working directory %r: must be absolute" % workdir)
    spec = lifecycle.spec_of(paths, rec.id, rec)
    users.validate(user)
    kw = {"user": user} if user else {}
    return process.enter(rec.pid, lifecycle.cgroup_of(paths, rec), spec, list(argv),
                         stdio, console=console, env=parse_env(env), workdir=workdir, **kw)


def exec_wait(pid):
    """The exit status of a command started by ``exec_start``."""
    return process.wait(pid)


def log_path(root, ref):
    paths = _paths(root)
    rec = find(paths, ref)
    return paths.container_log(rec.id), rec


# ---------------------------------------------------------------- commit

def commit(root, ref, image=None, output=None):
    """The container's root filesystem (image layer + its changes; no volumes) as an image in
    the store (``image``) or a tar file at ``output``."""
    paths = _paths(root)
    rec = find(paths, ref)
    if not image and not output:
        raise MyDockerError("commit needs an image name or --output PATH")
    if image:
        reference.parse(image)
    cid = rec.id
    ov = paths.overlay_dir(cid)
    merged = os.path.join(ov, "merged")
    tmp = None
    if lifecycle.true_status(rec) in ACTIVE and mounts_under(merged):
        src = merged
    else:
        # a read-only overlay of upper over lower needs no work dir and changes nothing
        tmp = tempfile.mkdtemp(prefix=".commit-", dir=ov)
        lowers = [os.path.realpath(os.path.join(ov, "lower"))]
        if len(rec.get("layers") or []) > 1:
            lowers = [os.path.join(paths.layers, n) for n in reversed(rec["layers"])]
        try:
            if len(lowers) == 1:
                SYS.mount("overlay", tmp, "overlay", MS_RDONLY,
                          "lowerdir=%s:%s" % (os.path.join(ov, "upper"), lowers[0]))
            else:
                mount_overlay([os.path.join(ov, "upper")] + lowers, None, None, tmp, flags=MS_RDONLY)
        except (OSError, MyDockerError) as e:
            os.rmdir(tmp)
            raise MyDockerError("cannot mount container %s for commit: %s"
                                % (rec.name, getattr(e, "strerror", None) or e))
        src = tmp
    try:
        if output:
            return {"output": images.tar_directory(src, output)}
        return images.commit_directory(paths.root, src, image)
    finally:
        if tmp:
            unmount_all(tmp)
            os.rmdir(tmp)
