# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``comparisons`` of ``mydocker_container``, as community.docker's docker_container reads it.

A dict {option (or one of its aliases): mode} and the wildcard ``*``:

- ``strict``: the container must have exactly the wished value (the default here for every
  option but ``exposed_ports``);
- ``ignore``: the option is never compared, so it never forces a recreate or an update;
- ``allow_more_present`` (lists and dicts only): the container may have more than wished
  (more env variables, volumes, published ports, security options).

``*`` (``strict`` or ``ignore`` only) sets every option first; the named ones then win. As in
community.docker, ``exposed_ports`` is ``allow_more_present`` unless told otherwise (the image's
and the published ports are exposed as well). The peer's other lists and dicts default to
``allow_more_present``; here they stay ``strict`` (the behaviour before ``comparisons``).

Plain Python; knows nothing of Ansible.
"""

from ..engine.errors import MyDockerError
from .options import MISSING, OPTIONS, TASK_OPTIONS, config_of_record

STRICT = "strict"
IGNORE = "ignore"
MORE = "allow_more_present"
MODES = (STRICT, IGNORE, MORE)

DEFAULTS = {"exposed_ports": MORE}
# community.docker compares restart_retries on its own; here it is part of restart_policy
EXTRA_ALIASES = {"restart_retries": "restart_policy"}


def _fail(msg):
    raise MyDockerError("comparisons: %s" % msg)


def is_collection(option):
    return option.type in ("list", "dict")


def parse(value, options, task_options=()):
    """{option name: mode} for every option of ``options`` (the compared Option rows) from the
    module's ``comparisons`` (None or a dict). ``task_options``: the rows that steer the task
    (their names are refused: they do not describe the container)."""
    modes = dict((o.name, DEFAULTS.get(o.name, STRICT)) for o in options)
    if value in (None, {}):
        return modes
    if not isinstance(value, dict):
        _fail("expected a mapping of option names to strict, ignore or allow_more_present")
    by_name = dict((o.name, o) for o in options)
    names = dict((o.name, o.name) for o in options)
    for o in options:
        for alias in o.aliases or ():
            names[alias] = o.name
    for alias, target in EXTRA_ALIASES.items():
        if target in by_name:
            names.setdefault(alias, target)
    steering = set()
    for o in task_options:
        steering.add(o.name)
        steering.update(o.aliases or ())
    if "*" in value:
        mode = value["*"]
        if mode not in (STRICT, IGNORE):
            _fail("the wildcard * can only be strict or ignore, not %r" % (mode,))
        modes = dict((name, mode) for name in modes)
    used = {}
    for key, mode in value.items():
        if key == "*":
            continue
        name = names.get(key)
        if name is None:
            if key in steering:
                _fail("the module option %r cannot be compared: it does not describe the container" % key)
            _fail("unknown module option %r" % key)
        if name in used:
            _fail("both %r and %r (aliases of %s) are given" % (used[name], key, name))
        used[name] = key
        if mode not in MODES:
            _fail("unknown comparison mode %r for %s: use strict, ignore or allow_more_present" % (mode, key))
        if mode == MORE and not is_collection(by_name[name]):
            _fail("%s is a value, not a list or a dict: its comparison cannot be allow_more_present" % key)
        modes[name] = mode
    return modes


def _contains(current, wished):
    if isinstance(wished, dict):
        return isinstance(current, dict) and all(k in current and current[k] == v for k, v in wished.items())
    if isinstance(wished, (list, tuple)):
        return isinstance(current, (list, tuple)) and all(w in current for w in wished)
    return wished == current


def same(option, mode, wished, current):
    """Does the container's ``current`` value satisfy the ``wished`` one under ``mode``?"""
    if mode == IGNORE:
        return True
    if mode == MORE:
        return _contains(current, wished)
    return option.same(wished, current)


def task_comparisons(params, options=OPTIONS, task_options=TASK_OPTIONS):
    """The modes of a task, after the checks of the options that steer comparing: restart_retries
    needs restart_policy (community.docker's required_by: Docker has no retry count without its
    policy), image_name_mismatch is recreate or ignore."""
    if params.get("restart_retries") is not None and params.get("restart_policy") is None:
        raise MyDockerError("restart_retries: needs restart_policy (missing parameter(s) required by "
                            "'restart_retries': restart_policy)")
    if params.get("image_name_mismatch") not in (None, "recreate", "ignore"):
        raise MyDockerError("image_name_mismatch: %r is not one of recreate, ignore" % (params["image_name_mismatch"],))
    return parse(params.get("comparisons"), options, task_options)


def changed_options(wish, rec, modes, image=None, image_name_mismatch="recreate", options=OPTIONS):
    """The Option rows whose wish (MISSING: not given) the container record ``rec`` does not
    satisfy under ``modes``; with image_name_mismatch ignore, another name of the container's
    image (the same image ID) is no change."""
    current = config_of_record(rec)
    changed = [o for o in options if wish[o.name] is not MISSING
               and not same(o, modes.get(o.name, STRICT), wish[o.name], current[o.name])]
    if image_name_mismatch == "ignore" and image is not None and rec.get("imageId") \
            and image.get("imageId") == rec.get("imageId"):
        changed = [o for o in changed if o.name != "image"]
    return changed
