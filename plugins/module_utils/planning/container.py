# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan, then apply: what the ``mydocker_container`` module does, in plain Python.

``compute_plan(root, params)`` reads the container record and the host (true process status,
image layer, cgroup limits), normalises the wish and returns a ``Plan``: the actions a run
would take (``create``, ``recreate: image changed``, ``update: memory``, ``start: process not
running``, ...), the ``before``/``after`` of the compared fields and the steps to execute.
Check mode reports that plan; a real run executes exactly that plan with ``apply(root, plan)``.

The options (their normalisers, how each is compared, the module's argument spec) are declared
in ``options.py``; ``decide`` is a handful of small named functions; ``apply`` executes the
plan's steps through the table ``STEPS``.

Knows nothing of Ansible.
"""

import ipaddress
import os
import random

from ..engine import lifecycle, records, view
from ..engine.errors import MyDockerError, NotFound
from ..engine.resources import ALL_RESOURCE_KEYS as RESOURCE_KEYS  # with memory_swap, memory_reservation
from ..engine.store import Paths
from ..engine.validate import check_auto_remove, check_needs_network, validate_name
from . import comparisons, healthopts, imagepull, mountopts, netopts
from .options import (
    CREATE_ARGS,
    MISSING,
    OPTION_NAMES,
    RECREATE,
    STATES,
    UPDATE,
    check_publish_all,
    config_of_record,
    fail_option,
    image_command,
    norm_image,
    norm_network,
    normalise_wish,
    predicted_ports,
    wrap_option,
)
from .plan import Plan, apply_steps
from .procopts import create_kwargs, predicted


def _engine():
    """engine.containers, for the steps that change something; a no-change run reads through
    engine.view only (a module's files are compiled again on every task)."""
    from ..engine import containers
    return containers


def image_env(img):
    env = view.parse_env((img.get("config") or {}).get("Env") or [])
    env.pop("PATH", None)
    return env


def predicted_config(wish, img):
    """What a new container made from ``wish`` will have (None: chosen by the engine at creation)."""
    cfg = (img or {}).get("config") or {}
    out = {}
    for name in OPTION_NAMES:
        out[name] = wish.get(name, MISSING)
    if out["entrypoint"] is MISSING:
        out["entrypoint"] = list(cfg.get("Entrypoint") or [])
    if out["command"] is MISSING:  # the image's Cmd, unless the task replaces the Entrypoint
        out["command"] = list(cfg.get("Cmd") or []) if wish.get("entrypoint", MISSING) is MISSING else []
    if out["user"] is MISSING:
        out["user"] = cfg.get("User") or ""
    env = image_env(img or {})
    if out["env"] is not MISSING:
        env.update(out["env"])
    out["env"] = env
    for name, default in (("volumes", []), ("published_ports", []), ("network", ""), ("ip", None),
                          ("hostname", None), ("working_dir", os.path.normpath(cfg.get("WorkingDir") or "/")),
                          ("auto_remove", False), ("restart_policy", "no"), ("security_opts", [])) + mountopts.DEFAULTS:
        if out[name] is MISSING or (name == "ip" and out[name] == ""):
            out[name] = default
    for key in RESOURCE_KEYS:
        if out[key] is MISSING:
            out[key] = None
    out = predicted_ports(netopts.predicted(predicted(out, cfg, MISSING), MISSING), cfg)
    healthopts.predicted(out, img, MISSING)
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
    wrap_option("name", validate_name, name, "container name")
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
            facts.image = imagepull.image_for(paths.root, image, params.get("pull"), facts)  # pull option
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
    netopts.check_known(paths.root, params)
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
    """What one ``mydocker_container`` task does.

    ``steps``: [Step] with op one of ``remove``, ``create``, ``recreate``, ``update``, ``start``,
    ``stop``, ``restart`` (the table ``STEPS``); ``before``/``after``: the compared fields and
    the state; ``record``: the current container record (None: no container)."""

    def __init__(self, name, state):
        super().__init__(name)
        self.state = state
        self.record = None
        self.wish = {}
        self.detach = True
        self.stop_timeout = 10
        self.force_kill = False
        self.comparisons = {}   # {option: strict | ignore | allow_more_present} (comparisons.py)

    @property
    def resources(self):
        """The full limits an in-place update sets (None: no change of limits)."""
        step = self.find("update")
        return step.args["resources"] if step else None

    @property
    def restart_policy(self):
        """The restart policy an in-place update sets (None: no change)."""
        step = self.find("update")
        return step.args["restart"] if step else None

    @property
    def timeout(self):
        """Seconds between SIGTERM and SIGKILL when a container is stopped (0: SIGKILL at once)."""
        return 0 if self.force_kill else self.stop_timeout


def _new_plan(params, facts):
    state = params.get("state") or "started"
    if state not in STATES:
        fail_option("state", "%r is not one of %s" % (state, ", ".join(STATES)))
    plan = healthopts.with_wait(ContainerPlan(params["name"], "started" if state == "healthy" else state), params)
    plan.detach = params.get("detach", True) is not False
    plan.stop_timeout = params.get("stop_timeout")
    if plan.stop_timeout is None:
        plan.stop_timeout = 10
    if plan.stop_timeout < 0:
        fail_option("stop_timeout", "must be 0 or more seconds")
    plan.force_kill = bool(params.get("force_kill"))
    plan.comparisons = comparisons.task_comparisons(params)
    plan.record = rec = facts.record
    if rec is not None:
        before = config_of_record(rec)
        for key, (wanted, actual) in facts.cgroup_diff.items():
            before[key] = actual  # what the host really has
        before["state"] = _display_status(facts.status)
    else:
        before = {"state": "absent"}
    plan.before = before
    return plan


def _plan_absent(plan):
    if plan.record is not None:
        plan.add("remove", "remove", kill=plan.force_kill, timeout=plan.timeout)
        plan.after = {"state": "absent"}
    else:
        plan.after = dict(plan.before)
    return plan


def _wish(params, facts):
    wish = image_command(normalise_wish(params), params, facts.image)
    if wish["env"] is not MISSING:
        env = image_env(facts.image or {})  # the image's variables, then the task's
        env.update(wish["env"])
        wish["env"] = env
    wish["healthcheck"] = healthopts.resolve(wish["healthcheck"], facts.image, MISSING)  # the image's under it
    return wish


def _check_combinations(plan, wish, facts):
    """The options that exclude or need each other (the engine's validators, named after the
    module's options)."""
    rec = facts.record
    policy = wish["restart_policy"]
    policy_name = None if policy is MISSING else policy.split(":")[0]
    wrap_option("auto_remove", check_auto_remove, wish["auto_remove"], policy_name)
    has_network = wish["network"] or (wish["network"] is MISSING and rec and rec.get("networkName")) \
        or netopts.bridged(wish, MISSING)
    wrap_option("published_ports", check_needs_network, has_network, wish["published_ports"])
    wrap_option("ip", check_needs_network, has_network, None, wish["ip"])
    if wish["ip"] and facts.network and facts.network.get("Subnet"):
        subnet = ipaddress.ip_network(facts.network["Subnet"], strict=False)
        addr = ipaddress.ip_address(wish["ip"])
        if addr not in subnet or addr in (subnet.network_address, subnet.broadcast_address) \
                or wish["ip"] == facts.network.get("Gateway"):
            fail_option("ip", "%s is not a free host address of network %s (%s, gateway %s)"
                        % (wish["ip"], facts.network.get("Name"), subnet, facts.network.get("Gateway")))
    if not plan.detach and plan.state == "started" and policy in ("always", "unless-stopped"):
        fail_option("detach", "detach=false cannot wait for a container with restart_policy %s" % policy)
    check_publish_all(wish, has_network, facts.image)


def _recreate_reason(params, facts, changed, modes=None):
    """Why the existing container must be replaced by a new one (None: it need not)."""
    rec = facts.record
    forcing = [o.name for o in changed if o.change == RECREATE]
    if params.get("recreate"):
        return "recreate: requested"
    if "image" in forcing:
        return "recreate: image changed"
    if forcing:
        return "recreate: %s changed" % ", ".join(forcing)
    if (modes or {}).get("image") == comparisons.IGNORE:  # a new image ID is not compared either
        return None if facts.layer_ok else "recreate: image layer missing"
    if facts.image is not None and rec.get("imageId") and facts.image.get("imageId") != rec.get("imageId"):
        return "recreate: image changed (new image ID)"
    if facts.image is not None and rec.get("layer") and facts.image.get("layer") != rec.get("layer"):
        return "recreate: image changed (new layer)"
    if not facts.layer_ok:
        return "recreate: image layer missing"
    return None


def _create_args(wish, image):
    """image, command and the keyword arguments of engine.create for a container made from ``wish``."""
    options = {"resources": dict((k, wish[k]) for k in RESOURCE_KEYS if wish[k] is not MISSING)}
    for key, arg in CREATE_ARGS + mountopts.CREATE_ARGS:
        if wish[key] is not MISSING:
            options[arg] = wish[key]
    options.update(create_kwargs(wish, MISSING))
    if wish["network"] or netopts.bridged(wish, MISSING):
        if wish["network"]:
            options["network"] = wish["network"]
        if wish["ip"]:
            options["ip"] = wish["ip"]
        if wish["published_ports"]:
            options["ports"] = wish["published_ports"]
    options.update(netopts.create_args(wish, MISSING))
    options.update(healthopts.create_options(wish, MISSING))
    command = None if wish["command"] is MISSING else wish["command"]
    return dict(image=image, command=command, options=options)


def _plan_new_container(plan, facts, recreate_why, was_running):
    """create (or recreate) the container, then start it when the state asks for it."""
    wish, rec = plan.wish, facts.record
    after = predicted_config(wish, facts.image)
    if not after["command"] and not after["entrypoint"]:
        fail_option("command", "needed to create container %s: image %s has no default command"
                    % (plan.name, (facts.image or {}).get("name") or wish["image"]))
    image = rec.get("image") if wish["image"] is MISSING else wish["image"]
    if rec is None:
        plan.add("create", "create", **_create_args(wish, image))
    else:
        plan.add("recreate", recreate_why, timeout=plan.timeout, **_create_args(wish, image))
    start = plan.state == "started" or (plan.state == "present" and rec is not None and was_running)
    if start:
        plan.add("start", "start", wait=not plan.detach)
        after["state"] = _state_after_start(plan, after)
    else:
        after["state"] = records.CREATED
    plan.after = after
    return plan


def _state_after_start(plan, after):
    return records.RUNNING if plan.detach else ("absent" if after["auto_remove"] else records.EXITED)


def _plan_update(plan, facts, changed, after):
    """Limits and the restart policy, in place; a limit changed on the host is set again."""
    wish = plan.wish
    updates = [o.name for o in changed if o.change == UPDATE]
    drifted = [k for k in RESOURCE_KEYS if k in facts.cgroup_diff and k not in updates
               and plan.comparisons.get(k) != comparisons.IGNORE]
    res = dict((k, after[k]) for k in RESOURCE_KEYS)
    for key in updates:
        if key in RESOURCE_KEYS:
            res[key] = wish[key]
        after[key] = wish[key]
    resources = res if [k for k in updates if k in RESOURCE_KEYS] or drifted else None
    restart = wish["restart_policy"] if "restart_policy" in updates else None
    if restart is not None:  # the container keeps its auto_remove: engine.update refuses the same
        wrap_option("restart_policy", check_auto_remove, facts.record.get("autoRemove"), restart.split(":")[0])
    if resources is not None or restart is not None:
        texts = ["update: %s" % k for k in updates] + ["update: %s (changed on the host)" % k for k in drifted]
        plan.add("update", texts, resources=resources, restart=restart)


def _plan_run_state(plan, params, facts, was_running, after):
    """start, restart or stop the same container as the state asks."""
    rec = facts.record
    status = _display_status(facts.status)
    if plan.state == "started":
        if not was_running:
            if status == records.EXITED and not rec.get("stopRequested") and plan.detach:
                why = "start: process not running"
            else:
                why = "start"
            plan.add("start", why, wait=not plan.detach)
            status = _state_after_start(plan, after)
        elif params.get("restart"):
            plan.add("restart", "restart", timeout=plan.timeout)
            status = records.RUNNING
    elif plan.state == "stopped" and was_running:
        plan.add("stop", "stop", timeout=plan.timeout)
        status = records.EXITED
    after["state"] = status


def decide(params, facts):
    """The plan for ``params`` (module options) given ``facts``. Pure: reads nothing."""
    plan = _new_plan(params, facts)
    plan.image_name_mismatch = params.get("image_name_mismatch") or "recreate"
    if plan.state == "absent":
        return _plan_absent(plan)
    plan.wish = _wish(params, facts)
    _check_combinations(plan, plan.wish, facts)
    rec = facts.record
    was_running = facts.status in records.ACTIVE
    if rec is None:
        if facts.image is None:
            fail_option("image", "needed to create container %s" % plan.name)
        return _plan_new_container(plan, facts, None, was_running)
    changed = comparisons.changed_options(plan.wish, rec, plan.comparisons, facts.image, plan.image_name_mismatch)
    recreate_why = _recreate_reason(params, facts, changed, plan.comparisons)
    if recreate_why:
        if facts.image is None:
            fail_option("image", "image %s of container %s is gone: set the option image to recreate it"
                        % (rec.get("image"), plan.name))
        return _plan_new_container(plan, facts, recreate_why, was_running)
    after = config_of_record(rec)  # the same container: limits and restart policy in place, then the state
    _plan_update(plan, facts, changed, after)
    netopts.plan_networks(plan, plan.wish, rec, after, MISSING)
    _plan_run_state(plan, params, facts, was_running, after)
    plan.after = after
    return plan


def compute_plan(root, params):
    """Read the host, normalise the wish, decide. Changes nothing."""
    facts = gather(root, params)
    # the pull option: its step first; state=healthy: the wait last
    return healthopts.check_wait(imagepull.add_container_pull(decide(params, facts), facts))


# ---------------------------------------------------------------------------------------------
# apply: execute exactly the plan

class _Run:
    """What the steps of one apply share: the container they act on and the result."""

    def __init__(self, root, plan):
        self.root = root
        self.name = plan.name
        self.cid = plan.record["id"] if plan.record else None
        self.fresh = False  # the container was made by this run
        self.result = {}


def _remove(run, kill, timeout):
    if _engine().exists(run.root, run.cid):
        if not kill:
            _engine().stop(run.root, run.cid, timeout=timeout)
        _engine().remove(run.root, run.cid, force=True)


def _create(run, image, command, options):
    run.cid = _engine().create(run.root, image, command, name=run.name, **options)["id"]
    run.fresh = True


def _recreate(run, image, command, options, timeout):
    # the new container first (under a temporary name): if that fails the old one stays
    temp = "%s.new-%06d" % (run.name[:100], random.SystemRandom().randint(0, 999999))
    rec = _engine().create(run.root, image, command, name=temp, **options)
    try:
        if _engine().exists(run.root, run.cid):
            _engine().stop(run.root, run.cid, timeout=timeout)
            _engine().remove(run.root, run.cid, force=True)
    except BaseException:
        _engine().remove(run.root, rec["id"], force=True)
        raise
    records.update(Paths(run.root), rec["id"], name=run.name)
    run.cid = rec["id"]


def _update(run, resources, restart):
    _engine().update(run.root, run.cid, resources=resources, restart=restart)


def _start(run, wait):
    try:
        if not wait:
            _engine().start(run.root, run.cid)
        else:
            rc, out, err = _engine().start_and_wait(run.root, run.cid)
            run.result.update(rc=rc, stdout=out.decode("utf-8", "replace"), stderr=err.decode("utf-8", "replace"))
    except MyDockerError:
        if run.fresh:  # a container this run created and could not start: leave nothing
            _engine().remove(run.root, run.cid, force=True)
        raise


def _stop(run, timeout):
    _engine().stop(run.root, run.cid, timeout=timeout)


def _restart(run, timeout):
    _engine().stop(run.root, run.cid, timeout=timeout)
    _engine().start(run.root, run.cid)


STEPS = {"remove": _remove, "create": _create, "recreate": _recreate, "update": _update, "start": _start,
         "stop": _stop, "restart": _restart, "networks": netopts.apply_networks, "pull": imagepull.step_container_pull}


def apply(root, plan):
    """Execute ``plan``. Returns {"container": record or {}, and "rc", "stdout", "stderr" after
    a run to completion (detach false)}."""
    run = _Run(root, plan)
    apply_steps(STEPS, plan, run)
    healthopts.wait_if_asked(root, plan, run.cid)  # state=healthy
    result = dict(run.result, container={})
    if run.cid is not None and plan.state != "absent":
        try:
            result["container"] = view.inspect(root, run.cid)
        except NotFound:
            pass
    return result


def current_view(root, plan):
    """The container as it is now (check mode's ``container``)."""
    if plan.record is None:
        return {}
    try:
        return view.inspect(root, plan.record["id"])
    except NotFound:
        return {}


def info(root, name):
    """The container record (true status) or None: ``planning.info.container_record``, which
    mydocker_container_info calls without importing this file."""
    from .info import container_record
    return container_record(root, name)
