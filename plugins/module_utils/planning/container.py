# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan, then apply: what the ``mydocker_container`` module does, in plain Python.

``compute_plan(root, params)`` reads the container record and the host (true process status,
image layer, cgroup limits), normalises the wish and returns a ``Plan``: the actions a run
would take (``create``, ``recreate: image changed``, ``update: memory``, ``start: process not
running``, ...), the ``before``/``after`` of the compared fields and the steps to execute.
Check mode reports that plan; a real run executes exactly that plan with ``apply(root, plan)``.

``OPTIONS`` is the declarative table of the compared options: how each is normalised, how it
is read from a container record, how it is compared and whether a change is applied in place
(``update``) or forces a new container (``recreate``).

Knows nothing of Ansible.
"""

import ipaddress
import os
import random
import shlex

from ..engine import containers as engine
from ..engine import images, lifecycle, records
from ..engine.errors import MyDockerError, NotFound
from ..engine.resources import (
    CPU_SHARES_DEFAULT,
    RESOURCE_KEYS,
    parse_cpu_shares,
    parse_cpus,
    parse_cpuset,
    parse_memory,
    parse_pids_limit,
)
from ..engine.store import Paths
from ..engine.validate import validate_name
from .plan import Plan

STATES = ("present", "started", "stopped", "absent")
RESTART_POLICIES = ("no", "on-failure", "always")

RECREATE = "recreate"
UPDATE = "update"


class _Missing:
    """An option the task does not set: not compared, the engine's default on creation."""

    def __repr__(self):
        return "MISSING"

    def __bool__(self):
        return False

    __nonzero__ = __bool__


MISSING = _Missing()


def _fail(option, msg):
    raise MyDockerError("%s: %s" % (option, msg))


def _wrap(option, fn, value, *args):
    """Call an engine parser; its error gets the option name in front."""
    try:
        return fn(value, *args)
    except MyDockerError as e:
        text = str(e)
        raise MyDockerError(text if text.startswith(option + ":") else "%s: %s" % (option, text))


# ---------------------------------------------------------------------------------------------
# normalisers: user spelling -> canonical form (the form config_of_record gives)

def norm_image(value, params=None):
    if not isinstance(value, str) or not value:
        _fail("image", "must be a non-empty image name")
    return _wrap("image", validate_name, value, "image name")


def norm_command(value, params=None):
    """A string is split like a shell would (shlex); a list is the argument list."""
    if isinstance(value, str):
        try:
            argv = shlex.split(value)
        except ValueError as e:
            _fail("command", "cannot split %r: %s" % (value, e))
    elif isinstance(value, (list, tuple)):
        argv = []
        for a in value:
            if isinstance(a, bool) or not isinstance(a, (str, int, float)):
                _fail("command", "every argument must be a string, got %r" % (a,))
            argv.append(a if isinstance(a, str) else str(a))
    else:
        _fail("command", "expected a string or a list of strings, got %r" % (value,))
    if not argv:
        _fail("command", "must not be empty")
    return argv


def norm_env(value, params=None):
    """{KEY: value} with string values (numbers are converted, booleans refused: quote them)."""
    if not isinstance(value, dict):
        _fail("env", "expected a mapping of names to values")
    out = {}
    for key, val in value.items():
        if isinstance(val, bool):
            _fail("env", "the value of %s is a boolean: quote it (%r)" % (key, "true" if val else "false"))
        if val is None:
            val = ""
        if not isinstance(val, (str, int, float)):
            _fail("env", "the value of %s must be a string" % key)
        out[str(key)] = val if isinstance(val, str) else str(val)
    return _wrap("env", engine.parse_env, out)


def _volume_text(v):
    return "%s:%s%s" % (v["host"], v["container"], ":ro" if v["ro"] else "")


def norm_volumes(value, params=None):
    """['HOST:CTR[:ro|rw]', ...] -> sorted canonical strings ('/h:/c', '/h:/c:ro')."""
    if not isinstance(value, (list, tuple)):
        _fail("volumes", "expected a list of HOST:CONTAINER[:ro] strings")
    vols = [_wrap("volumes", engine.parse_volume, v) for v in value]
    seen = set()
    for v in vols:
        if v["container"] in seen:
            _fail("volumes", "two volumes for the container path %s" % v["container"])
        seen.add(v["container"])
    return [_volume_text(v) for v in sorted(vols, key=lambda v: v["container"])]


def _port_key(p):
    return (p["host_ip"] or "0.0.0.0", int(p["host_port"]), int(p["container_port"]), p.get("proto") or "tcp")


def _port_text(key):
    return "%s:%d:%d/%s" % key


def norm_ports(value, params=None):
    """['[IP:]HOST:CTR[/proto]', ...] -> sorted 'IP:HOST:CTR/proto' ((host ip, host port,
    container port, protocol) in one string; 0.0.0.0 for all addresses)."""
    from ..engine.net.networks import parse_publish  # plain Python; pyroute2 is not loaded by it
    if not isinstance(value, (list, tuple)):
        _fail("published_ports", "expected a list of [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp] strings")
    keys = set()
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool):
            item = str(item)
        keys.add(_port_key(_wrap("published_ports", parse_publish, item)))
    return [_port_text(k) for k in sorted(keys)]


def norm_network(value, params=None):
    if value in (None, ""):
        return ""
    return _wrap("network", validate_name, value, "network name")


def norm_ip(value, params=None):
    if value in (None, ""):
        return ""
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        _fail("ip", "%r is not an IP address" % (value,))
    if addr.version != 4:
        _fail("ip", "only IPv4 addresses are supported")
    return str(addr)


def norm_hostname(value, params=None):
    if not isinstance(value, str) or not engine._HOSTNAME_RE.match(value):
        _fail("hostname", "invalid hostname %r" % (value,))
    return value


def norm_workdir(value, params=None):
    if not isinstance(value, str) or not value.startswith("/") or ".." in value.split("/"):
        _fail("working_dir", "%r must be an absolute path inside the container" % (value,))
    return os.path.normpath(value)


def norm_bool(value, params=None):
    return bool(value)


def _unlimited(value):
    return value in (0, "0", -1, "-1") or (isinstance(value, str) and value.strip().lower() in ("", "unlimited", "max"))


def norm_memory(value, params=None):
    """Bytes; 0, -1 or 'unlimited' remove the limit (None)."""
    if _unlimited(value):
        return None
    return _wrap("memory", parse_memory, value)


def norm_cpus(value, params=None):
    """A number of CPUs; 0 removes the limit (None)."""
    if _unlimited(value):
        return None
    return _wrap("cpus", parse_cpus, value)


def norm_cpu_shares(value, params=None):
    """2 .. 262144; 0 and 1024 are the default (None)."""
    if value in (0, "0"):
        return None
    shares = _wrap("cpu_shares", parse_cpu_shares, value)
    return None if shares == CPU_SHARES_DEFAULT else shares


def norm_cpuset(value, params=None):
    if isinstance(value, str) and not value.strip():
        return None
    return _wrap("cpuset_cpus", parse_cpuset, value)


def norm_pids_limit(value, params=None):
    return _wrap("pids_limit", parse_pids_limit, value)


def norm_restart_policy(value, params=None):
    """(policy, retries): retries only count for on-failure (0 = no maximum)."""
    params = params or {}
    if value is False:  # YAML turns an unquoted `no` into false
        value = "no"
    if value not in RESTART_POLICIES:
        _fail("restart_policy", "%r is not one of %s" % (value, ", ".join(RESTART_POLICIES)))
    retries = params.get("restart_retries")
    if value == "on-failure":
        retries = retries or 0
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            _fail("restart_retries", "must be a positive integer (0: no maximum)")
        return "on-failure:%d" % retries if retries else "on-failure"
    return value


def policy_text(policy):
    """A record's restartPolicy -> the canonical spelling ('no', 'always', 'on-failure:3')."""
    policy = policy or {}
    name = policy.get("name") or "no"
    if name == "on-failure" and policy.get("maxRetries"):
        return "on-failure:%d" % policy["maxRetries"]
    return name


def _same(a, b):
    return a == b


def _same_cpus(a, b):
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) < 1e-6


def _res(key):
    return lambda rec: (rec.get("resources") or {}).get(key)


class Option:
    """One compared option of mydocker_container."""

    def __init__(self, name, normalise, current, change, same=_same):
        self.name = name
        self.normalise = normalise   # (user value, all params) -> canonical value
        self.current = current       # (container record) -> canonical value
        self.change = change         # UPDATE: in place; RECREATE: a new container
        self.same = same             # (wanted, current) -> bool


OPTIONS = (
    Option("image", norm_image, lambda r: r.get("image") or "", RECREATE),
    Option("command", norm_command, lambda r: list(r.get("cmd") or []), RECREATE),
    Option("env", norm_env, lambda r: dict(r.get("env") or {}), RECREATE),
    Option("volumes", norm_volumes,
           lambda r: [_volume_text(v) for v in sorted(r.get("volumes") or [], key=lambda v: v["container"])],
           RECREATE),
    Option("published_ports", norm_ports,
           lambda r: [_port_text(k) for k in sorted(set(_port_key(p) for p in r.get("ports") or []))], RECREATE),
    Option("network", norm_network, lambda r: r.get("networkName") or "", RECREATE),
    Option("ip", norm_ip, lambda r: r.get("ip") or "", RECREATE),
    Option("hostname", norm_hostname, lambda r: r.get("hostname") or r.get("id") or "", RECREATE),
    Option("working_dir", norm_workdir, lambda r: r.get("workdir") or "/", RECREATE),
    Option("auto_remove", norm_bool, lambda r: bool(r.get("autoRemove")), RECREATE),
    Option("memory", norm_memory, _res("memory"), UPDATE),
    Option("cpus", norm_cpus, _res("cpus"), UPDATE, _same_cpus),
    Option("cpu_shares", norm_cpu_shares, _res("cpu_shares"), UPDATE),
    Option("cpuset_cpus", norm_cpuset, _res("cpuset_cpus"), UPDATE),
    Option("pids_limit", norm_pids_limit, _res("pids_limit"), UPDATE),
    Option("restart_policy", norm_restart_policy, lambda r: policy_text(r.get("restartPolicy")), UPDATE),
)
OPTION_NAMES = tuple(o.name for o in OPTIONS)


def normalise_wish(params):
    """{option: canonical value or MISSING} for every compared option."""
    wish = {}
    for opt in OPTIONS:
        value = params.get(opt.name)
        wish[opt.name] = MISSING if value is None else opt.normalise(value, params)
    return wish


def config_of_record(rec):
    """The compared fields of a container record, canonical."""
    return dict((o.name, o.current(rec)) for o in OPTIONS)


def image_env(img):
    env = engine.parse_env((img.get("config") or {}).get("Env") or [])
    env.pop("PATH", None)
    return env


def predicted_config(wish, img):
    """What a new container made from ``wish`` will have (None: chosen by the engine at creation)."""
    cfg = (img or {}).get("config") or {}
    out = {}
    for name in OPTION_NAMES:
        out[name] = wish.get(name, MISSING)
    if out["command"] is MISSING:
        out["command"] = list((cfg.get("Entrypoint") or []) + (cfg.get("Cmd") or [])) or None
    env = image_env(img or {})
    if out["env"] is not MISSING:
        env.update(out["env"])
    out["env"] = env
    for name, default in (("volumes", []), ("published_ports", []), ("network", ""), ("ip", None),
                          ("hostname", None), ("working_dir", os.path.normpath(cfg.get("WorkingDir") or "/")),
                          ("auto_remove", False), ("restart_policy", "no")):
        if out[name] is MISSING or (name == "ip" and out[name] == ""):
            out[name] = default
    for key in RESOURCE_KEYS:
        if out[key] is MISSING:
            out[key] = None
    return out


# ---------------------------------------------------------------------------------------------
# facts about the host, then the pure decision

class Facts:
    """What compute_plan learns about the container and its image (tests build these by hand)."""

    def __init__(self, record=None, status=None, image=None, layer_ok=True, cgroup_diff=None, network=None):
        self.record = record              # the container record, None when there is none
        self.status = status              # lifecycle.true_status of the record
        self.image = image                # the image record (of the wished image, else the container's)
        self.layer_ok = layer_ok          # the container's image layer is on disk
        self.cgroup_diff = cgroup_diff or {}   # {key: (record value, value in the cgroup)}
        self.network = network            # the record of the wished network


def gather(root, params):
    paths = Paths(root)
    name = params["name"]
    _wrap("name", validate_name, name, "container name")
    try:
        rec = records.find(paths, name)
    except NotFound:
        rec = None
    facts = Facts(record=rec)
    if params.get("state") == "absent":
        if rec is not None:
            facts.status = lifecycle.true_status(rec)
        return facts
    image = params.get("image")
    if image is None and rec is not None:
        image = rec.get("image")
    if image is not None:
        norm_image(image)
        try:
            facts.image = images.get_image(paths.root, image)
        except MyDockerError as e:
            if params.get("image") is not None or rec is None:
                raise MyDockerError("image: %s" % e)
            facts.image = None  # the container's own image is gone: only a recreate would need it
    net = params.get("network")
    if net:
        from ..engine.net import networks as netmod  # plain Python here: pyroute2 is loaded only for host changes
        try:
            facts.network = netmod.get_network(paths.root, norm_network(net))
        except MyDockerError as e:
            raise MyDockerError("network: %s" % e)
    if rec is not None:
        facts.status = lifecycle.true_status(rec)
        facts.layer_ok = os.path.isdir(os.path.realpath(os.path.join(paths.overlay_dir(rec["id"]), "lower")))
        cg = lifecycle.cgroup_of(paths, rec)
        if cg.exists():
            facts.cgroup_diff = dict((k, (w, a)) for k, (w, a) in cg.diff(rec.get("resources") or {}).items())
    return facts


def _display_status(status):
    if status in records.ACTIVE:
        return records.RUNNING
    return status or "absent"


class ContainerPlan(Plan):
    def __init__(self, name, state):
        super().__init__(name)
        self.state = state
        self.record = None    # the current record (None: no container)
        self.wish = {}
        self.resources = None  # the full limits for an in-place update
        self.restart_policy = None
        self.detach = True
        self.stop_timeout = 10
        self.force_kill = False

    @property
    def changed(self):
        return bool(self.actions)  # a step without an action (a wait, say) changes nothing

    def step(self, action, step):
        if action:
            self.actions.append(action)
        self.steps.append(step)


def decide(params, facts):
    """The plan for ``params`` (module options) given ``facts``. Pure: reads nothing."""
    state = params.get("state") or "started"
    if state not in STATES:
        _fail("state", "%r is not one of %s" % (state, ", ".join(STATES)))
    plan = ContainerPlan(params["name"], state)
    plan.detach = params.get("detach", True) is not False
    plan.stop_timeout = params.get("stop_timeout")
    if plan.stop_timeout is None:
        plan.stop_timeout = 10
    if plan.stop_timeout < 0:
        _fail("stop_timeout", "must be 0 or more seconds")
    plan.force_kill = bool(params.get("force_kill"))
    rec = facts.record
    plan.record = rec
    if rec is not None:
        before = config_of_record(rec)
        for key, (wanted, actual) in facts.cgroup_diff.items():
            before[key] = actual  # what the host really has
        before["state"] = _display_status(facts.status)
    else:
        before = {"state": "absent"}
    plan.before = before

    if state == "absent":
        if rec is not None:
            plan.step("remove", ("remove",))
            plan.after = {"state": "absent"}
        else:
            plan.after = dict(before)
        return plan

    wish = normalise_wish(params)
    if wish["env"] is not MISSING:
        env = image_env(facts.image or {})  # the image's variables, then the task's
        env.update(wish["env"])
        wish["env"] = env
    plan.wish = wish
    if wish["auto_remove"] and wish["restart_policy"] not in (MISSING, "no"):
        _fail("auto_remove", "cannot be combined with restart_policy %s" % wish["restart_policy"])
    has_network = wish["network"] or (wish["network"] is MISSING and rec and rec.get("networkName"))
    if wish["published_ports"] and not has_network:
        _fail("published_ports", "publishing ports needs a network (option network)")
    if wish["ip"] and not has_network:
        _fail("ip", "needs a network (option network)")
    if wish["ip"] and facts.network and facts.network.get("Subnet"):
        subnet = ipaddress.ip_network(facts.network["Subnet"], strict=False)
        addr = ipaddress.ip_address(wish["ip"])
        if addr not in subnet or addr in (subnet.network_address, subnet.broadcast_address) \
                or wish["ip"] == facts.network.get("Gateway"):
            _fail("ip", "%s is not a free host address of network %s (%s, gateway %s)"
                  % (wish["ip"], facts.network.get("Name"), subnet, facts.network.get("Gateway")))
    if not plan.detach and state == "started" and wish["restart_policy"] == "always":
        _fail("detach", "detach=false cannot wait for a container with restart_policy always")

    recreate_why = None
    if rec is None:
        if facts.image is None:
            _fail("image", "needed to create container %s" % plan.name)
    else:
        current = config_of_record(rec)
        changed = [o for o in OPTIONS if wish[o.name] is not MISSING and not o.same(wish[o.name], current[o.name])]
        forcing = [o.name for o in changed if o.change == RECREATE]
        if params.get("recreate"):
            recreate_why = "recreate: requested"
        elif "image" in forcing:
            recreate_why = "recreate: image changed"
        elif forcing:
            recreate_why = "recreate: %s changed" % ", ".join(forcing)
        elif facts.image is not None and rec.get("layer") and facts.image.get("layer") != rec.get("layer"):
            recreate_why = "recreate: image changed (new layer)"
        elif not facts.layer_ok:
            recreate_why = "recreate: image layer missing"
        if recreate_why and facts.image is None:
            _fail("image", "image %s of container %s is gone: set the option image to recreate it"
                  % (rec.get("image"), plan.name))
        updates = [o.name for o in changed if o.change == UPDATE]
        drifted = [k for k in RESOURCE_KEYS if k in facts.cgroup_diff and k not in updates]

    was_running = facts.status in records.ACTIVE
    if rec is None or recreate_why:
        after = predicted_config(wish, facts.image)
        if not after["command"]:
            _fail("command", "needed to create container %s: image %s has no default command"
                  % (plan.name, (facts.image or {}).get("name") or wish["image"]))
        if rec is None:
            plan.step("create", ("create",))
        else:
            plan.step(recreate_why, ("recreate",))
        start = state == "started" or (state == "present" and rec is not None and was_running)
        if start:
            plan.step("start", ("start",))
        if start:
            after["state"] = records.RUNNING if plan.detach else ("absent" if after["auto_remove"] else records.EXITED)
        else:
            after["state"] = records.CREATED
        plan.after = after
        return plan

    # the same container: limits and restart policy in place, then the running state
    after = config_of_record(rec)
    res = dict((k, after[k]) for k in RESOURCE_KEYS)
    for key in updates:
        if key in RESOURCE_KEYS:
            res[key] = wish[key]
        after[key] = wish[key]
    if [k for k in updates if k in RESOURCE_KEYS] or drifted:
        plan.resources = res
    if "restart_policy" in updates:
        plan.restart_policy = wish["restart_policy"]
    for key in updates:
        plan.actions.append("update: %s" % key)
    for key in drifted:
        plan.actions.append("update: %s (changed on the host)" % key)
    if plan.resources is not None or plan.restart_policy is not None:
        plan.steps.append(("update",))

    status = _display_status(facts.status)
    if state == "started":
        if not was_running:
            if status == records.EXITED and not rec.get("stopRequested") and plan.detach:
                why = "start: process not running"
            else:
                why = "start"
            plan.step(why, ("start",))
            status = records.RUNNING if plan.detach else ("absent" if after["auto_remove"] else records.EXITED)
        elif params.get("restart"):
            plan.step("restart", ("restart",))
            status = records.RUNNING
    elif state == "stopped" and was_running:
        plan.step("stop", ("stop",))
        status = records.EXITED
    after["state"] = status
    plan.after = after
    return plan


def compute_plan(root, params):
    """Read the host, normalise the wish, decide. Changes nothing."""
    return decide(params, gather(root, params))


# ---------------------------------------------------------------------------------------------
# apply: execute exactly the plan

def _create_args(plan, name):
    wish = plan.wish
    resources = dict((k, wish[k]) for k in RESOURCE_KEYS if wish[k] is not MISSING)
    args = dict(name=name, resources=resources)
    if wish["env"] is not MISSING:
        args["env"] = wish["env"]
    if wish["volumes"] is not MISSING:
        args["volumes"] = wish["volumes"]
    if wish["working_dir"] is not MISSING:
        args["workdir"] = wish["working_dir"]
    if wish["hostname"] is not MISSING:
        args["hostname"] = wish["hostname"]
    if wish["restart_policy"] is not MISSING:
        args["restart"] = wish["restart_policy"]
    if wish["auto_remove"] is not MISSING:
        args["auto_remove"] = wish["auto_remove"]
    if wish["network"]:
        args["network"] = wish["network"]
        if wish["ip"]:
            args["ip"] = wish["ip"]
        if wish["published_ports"]:
            args["ports"] = wish["published_ports"]
    return args


def _stop(root, cid, plan):
    engine.stop(root, cid, timeout=0 if plan.force_kill else plan.stop_timeout)


def apply(root, plan):
    """Execute ``plan``. Returns {"container": record or {}, and "rc", "stdout", "stderr" after
    a run to completion (detach false)}."""
    result = {}
    cid = plan.record["id"] if plan.record else None
    image = plan.wish.get("image") if plan.wish else None
    if image is MISSING or image is None:
        image = plan.record.get("image") if plan.record else None
    command = plan.wish.get("command") if plan.wish else None
    command = None if command is MISSING else command
    fresh = False
    for step in plan.steps:
        kind = step[0]
        if kind == "remove":
            if engine.exists(root, cid):
                if not plan.force_kill:
                    _stop(root, cid, plan)
                engine.remove(root, cid, force=True)
        elif kind == "create":
            rec = engine.create(root, image, command, **_create_args(plan, plan.name))
            cid = rec["id"]
            fresh = True
        elif kind == "recreate":
            # the new container first (under a temporary name): if that fails the old one stays
            temp = "%s.new-%06d" % (plan.name[:100], random.SystemRandom().randint(0, 999999))
            rec = engine.create(root, image, command, **_create_args(plan, temp))
            try:
                if engine.exists(root, cid):
                    _stop(root, cid, plan)
                    engine.remove(root, cid, force=True)
            except BaseException:
                engine.remove(root, rec["id"], force=True)
                raise
            records.update(Paths(root), rec["id"], name=plan.name)
            cid = rec["id"]
        elif kind == "update":
            engine.update(root, cid, resources=plan.resources, restart=plan.restart_policy)
        elif kind == "start":
            try:
                if plan.detach:
                    engine.start(root, cid)
                else:
                    rc, out, err = engine.start_and_wait(root, cid)
                    result.update(rc=rc, stdout=out.decode("utf-8", "replace"),
                                  stderr=err.decode("utf-8", "replace"))
            except MyDockerError:
                if fresh:  # a container this run created and could not start: leave nothing
                    engine.remove(root, cid, force=True)
                raise
        elif kind == "stop":
            _stop(root, cid, plan)
        elif kind == "restart":
            _stop(root, cid, plan)
            engine.start(root, cid)
        else:
            raise MyDockerError("internal error: unknown plan step %r" % (step,))
    result["container"] = {}
    if cid is not None and plan.state != "absent":
        try:
            result["container"] = engine.inspect(root, cid)
        except NotFound:
            pass
    return result


def current_view(root, plan):
    """The container as it is now (check mode's ``container``)."""
    if plan.record is None:
        return {}
    try:
        return engine.inspect(root, plan.record["id"])
    except NotFound:
        return {}


# ---------------------------------------------------------------------------------------------
# the other two modules

def info(root, name):
    """The container record (true status) or None."""
    _wrap("name", validate_name, name, "container name")
    try:
        return engine.inspect(root, name)
    except NotFound:
        return None


def exec_command(root, ref, argv=None, command=None, chdir=None, env=None):
    """Run a command in a running container; returns (rc, stdout bytes, stderr bytes)."""
    if argv is not None:
        args = norm_command(list(argv))
    else:
        args = norm_command(command)
    if chdir is not None and not chdir.startswith("/"):
        _fail("chdir", "%r must be an absolute path" % chdir)
    env = norm_env(env) if env else None
    return engine.exec_and_wait(root, ref, args, env=env, workdir=chdir)
