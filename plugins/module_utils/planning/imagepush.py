# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``push`` option of the ``mydocker_image`` planner (``image.py`` calls it): push when the
registry's tag is not the manifest the image was pushed or pulled as. Apart from
``imagepull.py`` because ``mydocker_container`` imports that one for its ``pull`` option, and a
module's zip holds every file its imports name: the container module ships no push code."""

from ..engine import imagestore as images  # the record store: a lookup needs no import machinery
from ..engine import reference
from ..engine.errors import MyDockerError
from . import imagepull


def check_push(name, state, output):
    """Refuse option push where it cannot apply (before anything is asked or built)."""
    if state != "present" or output:
        raise MyDockerError("option push only applies to state=present without output")
    if reference.parse(name).digest:
        raise MyDockerError("option push needs a tag, not a digest: %s" % name)


def plan_push(plan, registry_username=None, registry_password=None, ca_file=None, insecure_registry=False,
              **_other):
    """Add the ``push`` step when the registry's tag is not the manifest this image was pushed
    (or pulled) as: asked with a HEAD of the manifest (no blob), also in check mode."""
    root, name = plan.root, plan.name
    ref = reference.parse(name)
    plan.credentials = imagepull.credentials(registry_username, registry_password)
    insecure = [ref.domain] if insecure_registry else []
    why = None
    if any(s.op in imagepull.CHANGING for s in plan.steps):
        why = "image changed"
    else:
        rec = images.read_image(root, name)
        if rec is None:
            raise MyDockerError("image %s does not exist: nothing to push" % name)
        local = None
        for d in rec.get("repoDigests") or []:
            repo, _sep, digest = d.partition("@")
            if repo == ref.familiar_repository:
                local = digest
        remote = imagepull.engine_pull().remote_digest(root, name, insecure, ca_file, plan.credentials, missing_ok=True)
        if remote is None:
            why = "not in the registry"
        elif remote != local:
            why = "the registry's tag is %s" % remote
    if why:
        plan.add("push", "push: %s (%s)" % (ref, why), ca_file=ca_file, insecure=insecure)
    return plan


def step_push(plan, ca_file, insecure):
    from ..engine import push
    push.push(plan.root, plan.name, insecure=insecure, ca_file=ca_file, credentials=getattr(plan, "credentials", None))
