# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning of ``mydocker_image`` with ``source: build`` (a Containerfile, as community.docker's
``docker_image`` ``build:`` dict: path, dockerfile, args, nocache) and ``source: load`` (every
image of a docker/OCI archive at ``load_path``).

Check mode runs the same walk as the real build without running anything (``build(check=True)``):
a cache hit for every step, giving the image the reference already names, is no change; a load
is no change when every reference of the archive already names the image that entry gives.
"""

import os

from ..engine import images, reference
from ..engine.errors import MyDockerError

BUILD_KEYS = ("path", "dockerfile", "args", "nocache")
SOURCES = ("build", "load")
# the suboptions of option build (the module's argument spec)
BUILD_SPEC = {"path": {"type": "path", "required": True}, "dockerfile": {"type": "str"},
              "args": {"type": "dict"}, "nocache": {"type": "bool", "default": False}}


def _build_opts(build):
    if not isinstance(build, dict) or not build.get("path"):
        raise MyDockerError("source=build needs option build with build.path (the build context)")
    unknown = sorted(set(build) - set(BUILD_KEYS))
    if unknown:
        raise MyDockerError("option build: unknown key %s (path, dockerfile, args, nocache)" % unknown[0])
    args = build.get("args") or {}
    if not isinstance(args, dict):
        raise MyDockerError("option build.args must be a dictionary of NAME: VALUE")
    path = os.path.abspath(os.path.expanduser(str(build["path"])))
    dockerfile = build.get("dockerfile")
    if dockerfile:
        dockerfile = os.path.join(path, os.path.expanduser(str(dockerfile)))
    return path, dockerfile, dict((str(k), "" if v is None else str(v)) for k, v in args.items()), \
        bool(build.get("nocache"))


def plan_source(plan, source, build=None, load_path=None, force=False, tags=()):
    """Fill ``plan`` (a planning.image.ImagePlan, before/after set from the record) for
    ``source`` build or load."""
    if source == "build":
        if load_path:
            raise MyDockerError("option load_path only applies to source=load")
        return _plan_build(plan, build, force, tags)
    if build:
        raise MyDockerError("option build only applies to source=build")
    return _plan_load(plan, load_path, force)


def _plan_build(plan, build, force, tags):
    from ..engine import build as engine
    path, dockerfile, args, nocache = _build_opts(build)
    names = [plan.name]
    res = engine.build(plan.root, path, names, containerfile=dockerfile, build_args=args,
                       no_cache=nocache or force, check=True)
    if not res["changed"] and not nocache and not force:
        return plan
    why = "no-cache" if nocache else "force" if force else res.get("reason") or "new image"
    plan.add("build", "build: %s (%s)" % (path, why), path=path, dockerfile=dockerfile, args=args,
             nocache=nocache or force)
    plan.after = {"name": reference.display(plan.name), "format": "build", "source": "build",
                  "layerPresent": True}
    if res.get("id") and not nocache and not force:
        plan.after["id"] = res["id"]
    plan.image = dict(plan.after)
    return plan


def _plan_load(plan, load_path, force):
    from ..engine import save
    if not load_path:
        raise MyDockerError("source=load needs option load_path (a docker or OCI archive)")
    src = os.path.abspath(load_path)
    kind, entries = save.archive_images(src)
    want = reference.normalize(plan.name)
    names = [n for _i, ns in entries for n in ns]
    if want not in [reference.normalize(n) for n in names]:
        raise MyDockerError("image %s is not in archive %s (it has %s)"
                            % (plan.name, src, ", ".join(names) or "no named image"))
    digest = images.file_digest(src)
    stale = []
    for i, ns in entries:
        key = save.entry_digest(digest, i)
        for n in ns:
            rec = images.read_image(plan.root, n)
            if force or rec is None or rec.get("digest") != key or not images.layer_present(plan.root, rec):
                stale.append(reference.display(n))
    if not stale:
        return plan
    plan.add("load", "load: %s (%s)" % (src, "force" if force else "new or changed: " + ", ".join(stale)),
             source=src, force=force)
    plan.after = {"name": reference.display(plan.name), "format": kind, "source": src, "layerPresent": True}
    plan.image = dict(plan.after)
    return plan


def _build(plan, path, dockerfile, args, nocache):
    from ..engine import build as engine
    engine.build(plan.root, path, [plan.name], containerfile=dockerfile, build_args=args, no_cache=nocache)


def _load(plan, source, force):
    from ..engine import save
    save.load(plan.root, source, force=force)


STEPS = {"build": _build, "load": _load}
