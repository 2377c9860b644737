# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning for the ``mydocker_network`` module: the wanted network against its persisted
record and the host (``network.drift``: a bridge deleted by hand, a missing iptables rule or
jump, ip_forward off), giving ``NetworkPlan`` (changed, actions, before, after); ``apply``
executes exactly that plan.  Check mode reports the plan without applying it, so the prediction
and the real run report the same ``changed``, ``actions`` and diff.

Plain Python; knows nothing of Ansible.

Idempotent on (driver, subnet, gateway), compared normalised: ``10.1.2.3/24`` is
``10.1.2.0/24``; a gateway left out keeps the network's gateway while the subnet stays, and is
the subnet's first address when the subnet changes.  A changed subnet or gateway recreates the
network, refused while containers are attached unless ``force`` (which detaches them).

The diff shows a network as ``view(record)``: Name, Driver, Subnet, Gateway, Bridge, IPRange
(the keys that decide it; Created and the attached containers are left out), plus ``Drift``
(what the host lacks) when there is drift to repair.
"""

import os

from ..engine.errors import MyDockerError
from ..engine.net import ipam
from ..engine.net import networks as network
from ..engine.store import Paths
from ..engine.validate import NETWORK_DRIVERS, validate_network_driver
from .plan import Option, Plan, apply_steps, build_argument_spec

VIEW_KEYS = ("Name", "Driver", "Subnet", "Gateway", "Bridge", "IPRange")

# the options of mydocker_network; the module's argument spec is built from them
MODULE_OPTIONS = (
    Option("name", "str", required=True),
    Option("state", "str", default="present", choices=["present", "absent"]),
    Option("driver", "str", default="bridge", choices=list(NETWORK_DRIVERS)),
    Option("subnet", "str"),
    Option("gateway", "str"),
    Option("force", "bool", default=False),
)


def argument_spec():
    return build_argument_spec(MODULE_OPTIONS)


def view(rec):
    """The diff form of a network record ({} when there is no network)."""
    if not rec:
        return {}
    return dict((k, rec[k]) for k in VIEW_KEYS if k in rec)


def _detach_texts(containers):
    return ["detach: container %s" % containers[cid]["Name"] for cid in sorted(containers)]


def _users_text(containers):
    return ", ".join(c["Name"] if c["Name"] == cid else "%s (%s)" % (c["Name"], cid)
                     for cid, c in sorted(containers.items()))


class NetworkPlan(Plan):
    """What one ``mydocker_network`` task does.

    ``steps``: [Step] with op one of ``create``, ``remove``, ``repair``.
    ``before``/``after``: the diff views; ``network``: the record the task leaves (predicted
    in check mode; {} when absent); ``drift``: what the host lacked before the task."""

    def __init__(self, root, name):
        super().__init__(name)
        self.root = root
        self.network = {}
        self.drift = []


def _load(root, name):
    """inspect_network of ``name``, or None when the network has no record."""
    if not os.path.exists(Paths(root).network_file(name)):
        return None
    return network.inspect_network(root, name)


def plan_network(root, name, state="present", driver="bridge", subnet=None, gateway=None, force=False):
    """Compute the plan of one task (reads the state root and the host, changes nothing)."""
    network.validate_network_name(name)
    try:
        validate_network_driver(driver)
    except MyDockerError as e:
        raise MyDockerError("%s (option driver)" % e)
    root = Paths(root).root
    plan = NetworkPlan(root, name)
    cur = _load(root, name)
    plan.before = view(cur)
    plan.after = dict(plan.before)
    plan.network = cur or {}
    containers = (cur or {}).get("Containers") or {}

    if state == "absent":
        if cur is None:
            return plan
        if containers and not force:
            raise MyDockerError("network %s is in use by container(s) %s: remove them first or set force=true"
                                % (name, _users_text(containers)))
        plan.add("remove", ["remove"] + _detach_texts(containers), force=force)
        plan.after = {}
        plan.network = {}
        return plan

    if state != "present":
        raise MyDockerError("invalid state %r: present or absent" % (state,))

    if cur is None:
        if not subnet:
            raise MyDockerError("option subnet is required to create network %s" % name)
        net, gw = network.check_create(root, name, subnet, gateway, driver)
        plan.add("create", "create", subnet=str(net), gateway=str(gw), driver=driver)
        plan.after = view(network.network_record(name, net, gw, driver))
        plan.network = dict(plan.after, Containers={})
        return plan

    have_net = ipam.parse_subnet(cur["Subnet"])
    have_gw = ipam.parse_ip(cur["Gateway"], "gateway")
    if subnet:
        want_net = network.parse_network_args(subnet, None, driver)[0]
    else:
        want_net = have_net
    if gateway:
        want_gw = ipam.check_host_ip(want_net, gateway, "gateway (option gateway)")
    elif want_net == have_net:
        want_gw = have_gw
    else:
        want_gw = ipam.default_gateway(want_net)
    why = []
    if want_net != have_net:
        why.append("recreate: subnet changed (%s -> %s)" % (have_net, want_net))
    if want_gw != have_gw:
        why.append("recreate: gateway changed (%s -> %s)" % (have_gw, want_gw))
    if cur.get("Driver", "bridge") != driver:
        why.append("recreate: driver changed (%s -> %s)" % (cur.get("Driver"), driver))
    if why:
        if containers and not force:
            raise MyDockerError("network %s must be recreated (%s) but container(s) %s are attached: "
                                "remove them first or set force=true"
                                % (name, "; ".join(w.split(": ", 1)[1] for w in why), _users_text(containers)))
        network.check_create(root, name, str(want_net), str(want_gw), driver, replacing=True)
        plan.add("remove", why + _detach_texts(containers), force=force)
        plan.add("create", (), subnet=str(want_net), gateway=str(want_gw), driver=driver)  # announced above
        plan.after = view(network.network_record(name, want_net, want_gw, driver))
        plan.network = dict(plan.after, Containers=containers)
        return plan

    plan.drift = network.drift(root, name)
    if plan.drift:
        plan.add("repair", ["repair: %s" % d for d in plan.drift])
        plan.before["Drift"] = list(plan.drift)
        plan.after["Drift"] = []
    return plan


def _remove(plan, force):
    network.remove_network(plan.root, plan.name, force=force)


def _create(plan, subnet, gateway, driver):
    network.create_network(plan.root, plan.name, subnet, gateway=gateway, driver=driver)


def _repair(plan):
    network.repair_network(plan.root, plan.name)
    left = network.drift(plan.root, plan.name)
    if left:
        raise MyDockerError("network %s could not be repaired: %s" % (plan.name, "; ".join(left)))


# what each step does (looked up in the engine module at call time)
STEPS = {"remove": _remove, "create": _create, "repair": _repair}


def apply(plan):
    """Execute ``plan``; returns the network record after it (inspect_network; {} when removed)."""
    apply_steps(STEPS, plan, plan)
    return _load(plan.root, plan.name) or {}


def info(root, names=None):
    """[inspect_network + "Drift"] of the networks ``names`` (all when None) that exist, and
    {name: exists}."""
    root = Paths(root).root
    if names is None:
        names = [n["Name"] for n in network.list_networks(root)]
    out = []
    exists = {}
    for name in names:
        network.validate_network_name(name)
        rec = _load(root, name)
        exists[name] = rec is not None
        if rec is not None:
            rec["Drift"] = network.drift(root, name)
            out.append(rec)
    return out, exists
