# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``source: pull`` part of the ``mydocker_image`` planner (``image.py`` calls it), and the
``pull`` option of ``mydocker_container`` (at the end). Its ``push`` option is in ``imagepush.py``.

As community.docker's docker_image: an image that is present (its layers on disk) is not pulled
again unless ``force_source``; then, and for an image that is not there, the registry is asked
for the manifest only (no layer): the plan pulls when the image is missing, its layers are, or
the tag now names another manifest than the stored ``repoDigests`` (the tag moved) or another
platform was asked for.  Check mode and the real run share this plan; the real run's ``pull``
step then does what it says (a pull that finds the tag where the plan saw it changes nothing).

The registry password is kept on the plan (``plan.credentials``), never in a step's arguments
or the diff."""

from ..engine import imagestore as images  # the record store: a lookup needs no import machinery
from ..engine import reference
from ..engine.errors import MyDockerError

OPTIONS = ("platform", "force_source", "registry_username", "registry_password", "ca_file", "insecure_registry")
# the steps after which the image O(name) names may be another than the stored one
CHANGING = ("import", "commit", "build", "load", "pull", "remove")


def engine_pull():
    """engine.pull, imported when a registry is asked: it brings http.client, ssl and the
    registry client, which a task with an image already here never needs (a module's files are
    compiled again on every task)."""
    from ..engine import pull
    return pull


def credentials(username, password):
    if username and password:
        return (username, password)
    if username or password:
        raise MyDockerError("options registry_username and registry_password go together")
    return None


def plan_pull(plan, rec, layer_ok, platform=None, force_source=False, registry_username=None,
              registry_password=None, ca_file=None, insecure_registry=False):
    """Add the ``pull`` step to ``plan`` when it is needed; ``rec``: the stored image or None."""
    root, name = plan.root, plan.name
    ref = reference.parse(name)
    plan.credentials = credentials(registry_username, registry_password)
    if platform:
        engine_pull().parse_platform(platform)
    if rec is not None and layer_ok and not force_source:
        return plan
    insecure = [ref.domain] if insecure_registry else []
    reg = engine_pull().registry_for(root, ref, insecure, ca_file, plan.credentials)
    top, manifest, fmt = engine_pull().resolve(reg, ref, platform)
    local = None
    for d in (rec or {}).get("repoDigests") or []:
        repo, _sep, digest = d.partition("@")
        if repo == ref.familiar_repository:
            local = digest
    want_platform = platform and engine_pull().parse_platform(platform)[:2]
    have_platform = tuple(((rec or {}).get("platform") or "").split("/")[:2])
    if rec is None:
        why = "new image"
    elif not layer_ok:
        why = "layer %s missing on disk" % rec.get("layer")
    elif local != top:
        why = "the tag moved (%s -> %s)" % (local or "no digest", top)
    elif want_platform and tuple(want_platform) != have_platform:
        why = "platform %s" % platform
    else:
        return plan
    plan.add("pull", "pull: %s (%s)" % (ref, why), platform=platform, ca_file=ca_file, insecure=insecure)
    config_digest = manifest["config"].get("digest") or ""
    plan.after = {"name": reference.display(name), "id": config_digest.split(":")[-1][:12], "digest": config_digest,
                  "format": fmt, "source": str(ref), "layerPresent": True}
    plan.image = dict(plan.after, repoDigests=["%s@%s" % (ref.familiar_repository, top)])
    return plan


def step_pull(plan, platform, ca_file, insecure):
    engine_pull().pull(plan.root, plan.name, platform=platform, insecure=insecure, ca_file=ca_file,
                       credentials=getattr(plan, "credentials", None))


# ---------------------------------------------------------------------------------------------
# mydocker_container's pull option: missing (pull an image that is not here), always (ask the
# registry, pull when the tag moved), never (the default: the image must be here)

PULL_POLICIES = ("missing", "always", "never")
CONFIG_LIMIT = 4 << 20


def _remote_config(reg, ref, cdesc):
    """The image config blob (small: read into memory, checked against its digest)."""
    import hashlib
    import json
    digest = engine_pull().check_digest(cdesc.get("digest"), "config digest")
    r = reg.request("GET", "/v2/%s/blobs/%s" % (ref.path, digest), reg.scope(ref.path))
    try:
        body = r.read(CONFIG_LIMIT + 1)
    finally:
        r.close()
    if len(body) > CONFIG_LIMIT or "sha256:" + hashlib.sha256(body).hexdigest() != digest:
        raise MyDockerError("the image config of %s refused: it is not the blob %s" % (ref, digest))
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise MyDockerError("the image config of %s is not JSON" % ref)


def container_image(root, image, policy):
    """None (``never``, or ``missing`` with the image here: the planner looks it up as ever), or
    (image record, why a pull is needed or None): for a pull the record is predicted from the
    registry's manifest and config (no layer), with the ``imageId`` and ``layer`` the pull
    gives, so the planner sees a moved tag as a new image ID."""
    from ..engine import imageconfig, layers
    if policy not in PULL_POLICIES:
        raise MyDockerError("pull: %r is not one of %s" % (policy, ", ".join(PULL_POLICIES)))
    if policy == "never":
        return None
    try:
        local = images.get_image(root, image)
    except MyDockerError:
        local = None
    if policy == "missing" and local is not None:
        return None
    ref = reference.parse(image)
    reg = engine_pull().registry_for(root, ref)
    top, manifest, _fmt = engine_pull().resolve(reg, ref)
    old = None
    for d in (local or {}).get("repoDigests") or []:
        repo, _sep, digest = d.partition("@")
        if repo == ref.familiar_repository:
            old = digest
    if local is not None and old == top:
        return local, None
    cfg = _remote_config(reg, ref, manifest["config"])
    dids = (cfg.get("rootfs") or {}).get("diff_ids") if isinstance(cfg.get("rootfs"), dict) else None
    if not isinstance(dids, list) or not dids:
        raise MyDockerError("the image config of %s has no diff ids" % ref)
    try:
        config = imageconfig.from_image_config(cfg)
    except ValueError as e:
        raise MyDockerError("the image config of %s is not valid (%s)" % (ref, e))
    key = manifest["config"]["digest"]
    names = [layers.layer_name(d) for d in dids]
    predicted = {"name": reference.display(image), "id": key.split(":")[1][:12], "digest": key, "imageId": key,
                 "layer": names[-1], "layers": names, "config": config,
                 "repoDigests": ["%s@%s" % (ref.familiar_repository, top)]}
    why = "image not here" if local is None else "the tag moved (%s -> %s)" % (old or "no digest", top)
    return predicted, why


def image_for(root, image, policy, facts):
    """The image record the container planner uses for ``image`` under the pull ``policy``
    (None: never); a pull needed is noted on ``facts`` for ``add_container_pull``."""
    got = container_image(root, image, policy or "never")
    if got is None:
        return images.get_image(root, image)
    if got[1]:
        facts.pull = (image, got[1])
    return got[0]


def add_container_pull(plan, facts):
    """Put the ``pull`` step first in a mydocker_container plan (when ``image_for`` found one
    needed)."""
    from .plan import Step
    if getattr(facts, "pull", None):
        image, why = facts.pull
        plan.steps.insert(0, Step("pull", {"image": image}, ("pull: %s (%s)" % (reference.parse(image), why),)))
    return plan


def step_container_pull(run, image):
    engine_pull().pull(run.root, image)
