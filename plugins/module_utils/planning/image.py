# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning for the ``mydocker_image`` module: wanted state against the persisted image record
and the disk (a missing layer is drift), giving ``ImagePlan`` (changed, actions, before, after);
``apply`` executes exactly that plan.  Check mode reports the plan without applying it, so the
prediction and the real run report the same ``changed``, ``actions`` and diff.

Plain Python; knows nothing of Ansible.

The diff shows an image as ``view(record)``: the keys an import decides before it runs
(name, id, digest, layer, format, source) and ``layerPresent`` (false: the unpacked layer is
missing on disk).  A commit's content is only known once it is made, so the "after" of a commit
shows name, format, source (``commit``) and ``layerPresent``; the returned ``image`` is the
full record.
"""

import os
import shutil
import tempfile

from ..engine import images, reference
from ..engine.errors import MyDockerError, NotFound
from ..engine.store import Paths
from . import imagebuild, imagepull, imagepush
from .imageview import (  # noqa: F401 (get, info: this planner's API too) pylint: disable=unused-import
    get,
    info,
    public,
)
from .plan import Option, Plan, apply_steps, build_argument_spec

VIEW_KEYS = ("name", "id", "digest", "layer", "format", "source")

# the options of mydocker_image; the module's argument spec is built from them
MODULE_OPTIONS = (
    Option("name", "str", required=True),
    Option("state", "str", default="present", choices=["present", "absent"]),
    Option("source", "path"),
    Option("busybox", "path"),
    Option("force", "bool", default=False),
    Option("container", "str"),
    Option("output", "path"),
    Option("tag", "list", elements="str"),
    # source: pull (imagepull.py)
    Option("platform", "str"),
    Option("force_source", "bool", default=False),
    Option("registry_username", "str"),
    Option("registry_password", "str"),  # no_log: set in the module's argument spec
    Option("ca_file", "path"),
    Option("insecure_registry", "bool", default=False),
    Option("push", "bool", default=False),
    Option("build", "dict"),
    Option("load_path", "path"),
)
PULL = "pull"  # the value of source that pulls from the registry


def argument_spec():
    spec = build_argument_spec(MODULE_OPTIONS)
    spec["registry_password"]["no_log"] = True
    spec["build"]["options"] = imagebuild.BUILD_SPEC
    return spec


def view(rec, layer_present):
    """The diff form of an image record ({} when there is no image)."""
    if not rec:
        return {}
    out = dict((k, rec.get(k)) for k in VIEW_KEYS if k in rec)
    out["layerPresent"] = bool(layer_present)
    return out


def _predicted(name, digest, kind, source, src=None):
    image_id, layer = images.digest_ids(digest)
    if src is not None:
        layer = images.predict_layer(src, kind, digest) or layer
    return {"name": name, "id": image_id, "digest": digest, "layer": layer, "format": kind,
            "source": source, "layerPresent": True}


class ImagePlan(Plan):
    """What one ``mydocker_image`` task does.

    ``steps``: [Step] with op one of ``import``, ``commit``, ``output``, ``remove``.
    ``before``/``after``: the diff views; ``image``: the record the task leaves (predicted in
    check mode); ``output``: the tar file a commit to a path writes (else None)."""

    def __init__(self, root, name):
        super().__init__(name)
        self.root = root
        self.image = {}
        self.output = None
        self.diff_name = "image"
        self.scratch = []  # temporary directories to remove once the plan is applied (or not)


def _find_container(root, ref):
    from ..engine import containers as container  # only the commit paths need the container engine
    try:
        return container.find(root, ref)
    except NotFound:
        raise MyDockerError("container %s (option container) does not exist" % ref)


def _refuse_force_on_used_layer(root, name, digest, layer=None):
    layer = layer or images.digest_ids(digest)[1]
    if os.path.isdir(os.path.join(Paths(root).layers, layer)):
        users = images.layer_container_users(root, layer)
        if users:
            raise MyDockerError("cannot import image %s again with force: its layer is used by container(s) %s "
                                "(remove them first)" % (name, ", ".join(users)))


def _repair_source(root, name, rec):
    """A file to re-import a damaged image from: the stored tarball or the original source,
    when its digest is still the record's."""
    legacy = reference.parse(name).legacy_name
    candidates = [Paths(root).image_tar(legacy)] if legacy else []
    if rec.get("source") and rec["source"] != "commit":
        candidates.append(rec["source"])
    for path in candidates:
        if os.path.isfile(path):
            try:
                if images.file_digest(path) == rec.get("digest"):
                    return path
            except OSError:
                continue
    return None


def plan_image(root, name, state="present", source=None, force=False, container=None, output=None,
               busybox=None, tag=None, build=None, load_path=None, push=False, **pull_opts):
    """Compute the plan of one task (reads the state root and the disk, changes nothing but a
    scratch tarball for ``busybox``, which ``cleanup(plan)`` removes)."""
    reference.parse(name)  # one line naming what is wrong with the reference
    plan = ImagePlan(Paths(root).root, name)
    plan.pull_opts = dict((k, v) for k, v in pull_opts.items() if k in imagepull.OPTIONS)
    if push:
        imagepush.check_push(name, state, output)
    label = None
    try:
        if busybox:
            if source or container or state != "present":
                raise MyDockerError("option busybox is mutually exclusive with source and container, "
                                    "and only applies to state=present")
            scratch = tempfile.mkdtemp(prefix="mydocker-busybox-")
            plan.scratch.append(scratch)
            source = images.make_busybox_rootfs(os.path.join(scratch, "rootfs.tar"), busybox)
            label = "busybox:" + os.path.abspath(busybox)
        tags = _check_tags(tag, state, output)
        if source in imagebuild.SOURCES and state == "present" and not container:
            plan = _plan_from(plan, source, build, load_path, force, tags)
        else:
            if build or load_path:
                opt, src = ("build", "build") if build else ("load_path", "load")
                raise MyDockerError("option %s needs source=%s" % (opt, src))
            plan = _plan(plan, state, source, force, container, output, label)
        _plan_tags(plan, tags)
        if push:
            imagepush.plan_push(plan, **plan.pull_opts)
        return plan
    except BaseException:
        cleanup(plan)
        raise


def _check_tags(tags, state, output):
    """The references of option tag, each checked (one line naming the bad one)."""
    if not tags:
        return []
    if state != "present" or output:
        raise MyDockerError("option tag only applies to state=present without output")
    out = []
    for t in tags:
        try:
            ref = reference.parse(t)
        except MyDockerError as e:
            raise MyDockerError("tag: %s" % e)
        if ref.digest:
            raise MyDockerError("tag: %s has a digest; a tag cannot" % t)
        out.append(t)
    return out


def _plan_tags(plan, tags):
    """A ``tag`` step for every tag that does not name this image yet (or will not, once the
    import or commit before it changed the image)."""
    content = plan.image.get("digest")  # None for a commit: its content is known once made
    for t in tags:
        now = images.read_image(plan.root, t)
        if now is not None and content and now.get("digest") == content:
            continue
        plan.add("tag", "tag: %s" % reference.display(t), tag=t)


def _plan_from(plan, source, build, load_path, force, tags):
    """source=build / source=load (``imagebuild``)."""
    rec = images.read_image(plan.root, plan.name)
    plan.before = view(rec, images.layer_present(plan.root, rec))
    plan.after = dict(plan.before)
    plan.image = public(plan.root, rec) if rec else {}
    return imagebuild.plan_source(plan, source, build, load_path, force, tags)


def _plan(plan, state, source, force, container, output, label):
    root, name = plan.root, plan.name
    rec = images.read_image(root, name)
    layer_ok = images.layer_present(root, rec)
    plan.before = view(rec, layer_ok)
    plan.after = dict(plan.before)
    plan.image = public(root, rec) if rec else {}

    if state == "absent":
        for opt, val in (("source", source), ("container", container), ("output", output)):
            if val:
                raise MyDockerError("option %s only applies to state=present" % opt)
        if rec is None:
            return plan
        ref = reference.try_parse(name)
        tags = rec.get("repoTags") or []
        if ref is not None and ref.familiar in tags and len(tags) > 1:
            # only this tag goes (as the engine does): the image stays, with its other tags
            plan.add("remove", "remove: tag %s (the image keeps %s)"
                     % (ref.familiar, ", ".join(t for t in tags if t != ref.familiar)), force=force)
            return plan
        users = images.image_users(root, name)
        if users and not force:
            raise MyDockerError("image %s is used by container(s) %s: remove them first or set force=true"
                                % (name, ", ".join(users)))
        plan.add("remove", "remove" + (": used by container(s) %s (force)" % ", ".join(users) if users else ""),
                 force=force)
        plan.after = {}
        plan.image = {}
        return plan

    if state != "present":
        raise MyDockerError("invalid state %r: present or absent" % (state,))
    if source and container:
        raise MyDockerError("options source and container are mutually exclusive")
    if output and not container:
        raise MyDockerError("option output needs option container")

    if container and output:
        crec = _find_container(root, container)
        output = os.path.abspath(output)
        plan.output = output
        plan.diff_name = "output"
        if not os.path.isdir(os.path.dirname(output)):
            raise MyDockerError("output directory %s does not exist (option output)" % os.path.dirname(output))
        if os.path.isdir(output):
            raise MyDockerError("output %s is a directory: give the path of a tar file (option output)" % output)
        exists = os.path.exists(output)
        plan.before = {"path": output, "exists": exists}
        plan.after = {"path": output, "exists": True}
        if not exists or force:
            what = "commit: container %s to %s%s" % (crec.get("name", container), output, " (force)" if exists else "")
            plan.add("output", what, container=crec["id"], output=output)
        return plan

    if container:
        crec = _find_container(root, container)
        if rec is not None and layer_ok and not force:
            return plan
        why = "new image" if rec is None else ("layer %s missing on disk" % rec.get("layer") if not layer_ok
                                               else "force")
        plan.add("commit", "commit: container %s (%s)" % (crec.get("name", container), why), container=crec["id"])
        plan.after = {"name": name, "format": "rootfs", "source": "commit", "layerPresent": True}
        plan.image = dict(plan.after)
        return plan

    if source == PULL:
        return imagepull.plan_pull(plan, rec, layer_ok, **plan.pull_opts)
    if source:
        src = os.path.abspath(source)
        kind = images.archive_kind(src)  # clear error when missing or not a tarball
        digest = images.file_digest(src)
        same = rec is not None and rec.get("digest") == digest
        if same and layer_ok and not force:
            return plan
        predicted = _predicted(name, digest, kind, label or src, src)
        if force:
            _refuse_force_on_used_layer(root, name, digest, predicted["layer"])
        if rec is None:
            why = "new image"
        elif not same:
            why = "content changed (%s -> %s)" % (rec.get("digest"), digest)
        elif not layer_ok:
            why = "layer %s missing on disk" % rec.get("layer")
        else:
            why = "force"
        plan.add("import", "import: %s (%s)" % (label or src, why), source=src, force=force, keep_source=label)
        plan.after = predicted
        plan.image = dict(plan.after)
        return plan

    # neither source nor container: the image must exist; a missing layer is repaired
    if rec is None:
        raise MyDockerError("image %s does not exist: give source (a tarball) or container to create it" % name)
    if layer_ok and not force:
        return plan
    src = _repair_source(root, name, rec)
    if src is None:
        if layer_ok:
            raise MyDockerError("image %s: force needs source (or container) to import it again" % name)
        raise MyDockerError("image %s is damaged: its layer %s is missing and neither %s nor its source "
                            "is still there with the same content; give source to import it again"
                            % (name, rec.get("layer"), Paths(root).image_tar(name)))
    if force:
        _refuse_force_on_used_layer(root, name, rec["digest"], rec.get("layer"))
    why = "force" if layer_ok else "layer %s missing on disk" % rec.get("layer")
    plan.add("import", "import: %s (%s)" % (src, why), source=src, force=force, keep_source=rec.get("source"))
    plan.after = dict(plan.before, layerPresent=True)
    plan.image = dict(plan.image, layerPresent=True)
    return plan


def cleanup(plan):
    for d in plan.scratch:
        shutil.rmtree(d, ignore_errors=True)
    plan.scratch = []


def _remove(plan, force):
    images.remove_image(plan.root, plan.name, force=force)


def _import(plan, source, force, keep_source):
    # keep_source: re-imported from the stored tarball (or a busybox scratch tarball), the record
    # says where the content came from
    images.import_image(plan.root, source, plan.name, force=force, source=keep_source)


def _commit(plan, container):
    from ..engine.commit import commit  # see _find_container
    commit(plan.root, container, image=plan.name)


def _output(plan, container, output):
    from ..engine.commit import commit  # see _find_container
    commit(plan.root, container, output=output)


def _tag(plan, tag):
    images.tag(plan.root, plan.name, tag)


STEPS = {"remove": _remove, "import": _import, "commit": _commit, "output": _output, "tag": _tag}
STEPS.update(imagebuild.STEPS)  # build, load
STEPS["pull"] = imagepull.step_pull
STEPS["push"] = imagepush.step_push


def apply(plan):
    """Execute ``plan``; returns the image record after it ({} when removed or with output)."""
    apply_steps(STEPS, plan, plan)
    if plan.output:
        return {}
    return get(plan.root, plan.name)
