# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning for the ``mydocker_volume`` and ``mydocker_volume_info`` modules (community.docker's
docker_volume and docker_volume_info): the wanted volume against its record, giving a plan
(changed, actions, before, after) that check mode returns and ``apply`` executes.

``recreate``: ``never`` (default) leaves an existing volume as it is, whatever its labels;
``options-changed`` recreates it when the driver or the labels differ; ``always`` recreates it
on every run. A recreate (and ``state=absent``) is refused while a container names the volume,
in check mode too, with the engine's words.

The diff shows a volume as Name, Driver, Labels, Options (not CreatedAt, Mountpoint).

Plain Python; knows nothing of Ansible."""

from ..engine import volumes
from ..engine.errors import MyDockerError
from ..engine.store import Paths
from ..engine.validate import validate_volume_name
from .plan import Option, Plan, apply_steps, build_argument_spec

RECREATE = ("never", "options-changed", "always")
VIEW_KEYS = ("Name", "Driver", "Labels", "Options")

MODULE_OPTIONS = (
    Option("name", "str", required=True, aliases=["volume_name"]),
    Option("state", "str", default="present", choices=["present", "absent"]),
    Option("driver", "str", default="local"),
    Option("driver_options", "dict"),
    Option("labels", "dict"),
    Option("recreate", "str", default="never", choices=list(RECREATE)),
)
INFO_OPTIONS = (Option("name", "str", aliases=["volume_name"]),)


def argument_spec():
    return build_argument_spec(MODULE_OPTIONS)


def info_argument_spec():
    return build_argument_spec(INFO_OPTIONS)


def view(rec):
    if not rec:
        return {}
    return dict((k, rec.get(k) or ({} if k in ("Labels", "Options") else "")) for k in VIEW_KEYS)


class VolumePlan(Plan):
    def __init__(self, root, name):
        super().__init__(name)
        self.root = root
        self.volume = {}


def _users(paths, name):
    users = volumes.users_of(paths, name)
    if users:
        raise MyDockerError("volume %s is in use by container %s" % (name, users[0].name))


def plan_volume(root, name, state="present", driver="local", driver_options=None, labels=None, recreate="never"):
    """The plan of one task (reads the state root, changes nothing)."""
    validate_volume_name(name)
    volumes.check_driver(driver, driver_options)
    labels = volumes.check_labels(labels)
    if recreate not in RECREATE:
        raise MyDockerError("invalid recreate %r: use %s" % (recreate, ", ".join(RECREATE)))
    paths = Paths(root)
    plan = VolumePlan(paths.root, name)
    cur = volumes.read_volume(paths, name)
    plan.before = view(cur)
    plan.volume = cur or {}
    wanted = {"Name": name, "Driver": driver or "local", "Labels": labels, "Options": {}}
    if state == "absent":
        if cur is not None:
            _users(paths, name)
            plan.add("remove", "remove")
        plan.after = {}
        plan.volume = {}
        return plan
    if state != "present":
        raise MyDockerError("invalid state %r: present or absent" % (state,))
    if cur is None:
        plan.add("create", "create", labels=labels)
        plan.after = wanted
        plan.volume = dict(wanted, Scope="local", Anonymous=False,
                           Mountpoint=volumes.volume_dir(paths, name) + "/_data")
        return plan
    why = None
    if recreate == "always":
        why = "recreate: recreate=always"
    elif recreate == "options-changed" and view(cur) != wanted:
        why = "recreate: %s changed" % ", ".join(k.lower() for k in VIEW_KEYS if view(cur)[k] != wanted[k])
    if why is None:
        plan.after = dict(plan.before)
        return plan
    _users(paths, name)
    plan.add("remove", why)
    plan.add("create", (), labels=labels)  # announced above
    plan.after = wanted
    plan.volume = dict(cur, Labels=labels, CreatedAt="")
    return plan


def _remove(plan):
    volumes.remove_volume(plan.root, plan.name)


def _create(plan, labels):
    volumes.create_volume(plan.root, plan.name, labels=labels)


STEPS = {"remove": _remove, "create": _create}


def apply(plan):
    """Execute ``plan``; returns the volume's record after it ({} when removed)."""
    apply_steps(STEPS, plan, plan)
    return volumes.read_volume(plan.root, plan.name) or {}


def info(root, name=None):
    """(volumes: [records with InUse], exists: bool or None, volume: the one asked for or {})."""
    if name is not None:
        validate_volume_name(name)
    found = volumes.list_volumes(root)
    if name is None:
        return found, None, {}
    one = [v for v in found if v["Name"] == name]
    return one, bool(one), one[0] if one else {}
