#!/usr/bin/python
# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r"""
module: mydocker_image
short_description: Import, commit and remove mydocker images
version_added: 0.1.0
description:
  - Imports an image into the mydocker image store from a rootfs tarball (as the original my-docker
    tool keeps images), a C(docker save) archive or an OCI image archive. The image is unpacked
    once into a read-only layer shared by all its containers.
  - Commits a container's root filesystem into an image of the store, or into a tar file at any
    path.
  - Pulls images from a registry over the OCI distribution API (O(source=pull)).
  - Builds an image from a Containerfile (O(source=build), O(build)) or loads every image of a
    docker or OCI archive (O(source=load), O(load_path)).
  - Removes images.
  - The task is idempotent on the content of O(source) (its sha256 digest). An image whose
    unpacked layer is missing on disk counts as drift and is imported again, from O(source) or,
    without it, from the tarball kept in the store or the original source when their content is
    still the image's.
author:
  - mydocker.runtime contributors (@mydocker)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mydocker.runtime.common
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the image as name, id, digest, layer, format, source and C(layerPresent).
      - A commit's content is known only once it is made, so the C(after) of a commit shows name,
        format, source and C(layerPresent) only.
      - With O(output) the diff shows the tar file (C(path), C(exists)).
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change.
    support: partial
    details:
      - Importing from O(source) and removing are idempotent.
      - Committing a container is not idempotent by nature (the container's files change while
        it runs), so with O(container) the module commits only when the image (or the O(output)
        file) does not exist yet, or when O(force=true); with O(force=true) every run commits.
  platform:
    platforms: posix
options:
  name:
    description:
      - Reference of the image in the store, as Docker spells it, C([registry[:port]/]path[:tag]);
        V(busybox) is V(docker.io/library/busybox:latest), V(me/app:v1) a tag of V(me/app).
      - With O(output), no image is stored and the name is only used in messages.
      - With O(state=absent), the tag O(name) is removed; the image goes with its last tag.
    type: str
    required: true
  state:
    description:
      - V(present) imports the image from O(source), commits O(container) into it, or (with
        neither) makes sure it exists and its layer is on disk.
      - V(absent) removes the image; refused while containers use it, unless O(force=true).
    type: str
    choices: [present, absent]
    default: present
  source:
    description:
      - Path on the target of a rootfs tarball, a C(docker save) archive or an OCI image archive.
      - V(pull) pulls O(name) from its registry instead (a file called C(pull) is given as
        V(./pull)). As with community.docker's docker_image, an image that is present is pulled
        again only with O(force_source=true); then the registry is asked for the manifest only
        (no layer, also in check mode) and the task changes when the tag names another manifest
        than the one pulled before, or another O(platform) is asked for.
      - The image is imported again only when the file's content (sha256) differs from the
        image's, or the image's layer is missing on disk.
      - V(build) builds the image from the Containerfile of O(build.path), as C(mydocker build);
        V(load) loads every image of the archive O(load_path), as C(mydocker load).
      - Mutually exclusive with O(container).
    type: path
  build:
    description:
      - With O(source=build), what to build, as community.docker's C(docker_image) C(build).
      - The image is built when a step of it is not in the build cache (or with O(build.nocache)
        or O(force)); a build whose every step is cached and that gives the image O(name) names
        already is no change, in check mode too.
    type: dict
    suboptions:
      path:
        description: The build context, a directory on the target.
        type: path
        required: true
      dockerfile:
        description:
          - The Containerfile, relative to O(build.path).
          - Default C(Containerfile), else C(Dockerfile).
        type: str
      args:
        description: Values of the Containerfile's C(ARG)s, as C(--build-arg NAME=VALUE).
        type: dict
      nocache:
        description: Run every step again (always a change).
        type: bool
        default: false
    version_added: 0.1.0
  load_path:
    description:
      - With O(source=load), a docker-archive or OCI archive on the target (C(mydocker save),
        C(docker save), C(podman save)). Every image in it is loaded with its references; O(name)
        must be one of them.
      - A change when one of its references does not name the image of the archive yet (or with
        O(force)).
    type: path
    version_added: 0.1.0
  busybox:
    description:
      - Path on the target of a static busybox binary (for example C(/bin/busybox) from Debian's
        C(busybox-static)) to build the image from. The image is a minimal root filesystem with
        the binary, a link for each of its applets and C(/etc/passwd) and C(/etc/group). Nothing
        needs the internet.
      - The root filesystem is built reproducibly, so the task is idempotent on the binary's
        content.
      - Mutually exclusive with O(source) and O(container).
    type: path
    version_added: 0.1.0
  force:
    description:
      - With O(source), import again even when the content is the same (refused while
        containers use the image's layer).
      - With O(container), commit even when the image (or the O(output) file) already exists.
      - With O(state=absent), remove the image even when containers use it (their layer stays
        until they are removed).
    type: bool
    default: false
  container:
    description:
      - Name or ID of a container whose root filesystem (image layer plus its changes, without
        volumes) is committed into the image O(name), or written to O(output).
      - Mutually exclusive with O(source).
    type: str
  output:
    description:
      - With O(container), write the container's root filesystem as a tar file at this path
        instead of storing an image. The directory must exist.
      - The file is written only when it does not exist yet, or with O(force=true).
    type: path
  tag:
    description:
      - Further references to give the image O(name) (after it was imported or committed), for
        example V(app:1.2) and V(registry.example:5000/app:1.2). A tag that names another image
        is moved to this one; tags already naming it change nothing.
      - Only with O(state=present), not with O(output).
    type: list
    elements: str
  platform:
    description:
      - With O(source=pull), the platform to pick from a manifest list or OCI index,
        C(os/arch[/variant]); default the target's (V(linux/amd64) on x86-64).
    type: str
  force_source:
    description:
      - With O(source=pull), ask the registry even when the image is present, and pull when the
        tag moved.
    type: bool
    default: false
  registry_username:
    description:
      - With O(source=pull), the user name for the registry; without it, the login stored by
        M(mydocker.runtime.mydocker_login) (or C(mydocker login)) is used, else none.
      - Needs O(registry_password).
    type: str
  registry_password:
    description:
      - The password of O(registry_username).
    type: str
  ca_file:
    description:
      - With O(source=pull), a CA bundle on the target to verify the registry's TLS certificate
        with (default the system's).
    type: path
  insecure_registry:
    description:
      - With O(source=pull) or O(push), allow TLS without verification, or plain HTTP, for this
        registry. Registries on a loopback address always are.
    type: bool
    default: false
  push:
    description:
      - After the rest of the task, push the image O(name) to the registry its reference names
        (only the blobs the registry lacks; then the manifest).
      - The registry is asked for the tag's manifest digest (also in check mode); the image is
        pushed when the task changed the image, or the registry's tag is not the manifest this
        image was last pushed or pulled as.
      - O(registry_username), O(registry_password), O(ca_file) and O(insecure_registry) apply.
    type: bool
    default: false
notes:
  - Runs on the target; root is needed.
seealso:
  - module: mydocker.runtime.mydocker_image_info
  - module: mydocker.runtime.mydocker_container
"""

EXAMPLES = r"""
- name: Make a base image from the host's static busybox (Debian's busybox-static)
  mydocker.runtime.mydocker_image:
    name: busybox
    busybox: /bin/busybox

- name: Import a base image from a rootfs tarball
  mydocker.runtime.mydocker_image:
    name: busybox
    source: /srv/images/busybox.tar

- name: Import a docker save archive
  mydocker.runtime.mydocker_image:
    name: alpine
    source: /srv/images/alpine-docker-save.tar

- name: Commit a container into an image (once; force=true commits again)
  mydocker.runtime.mydocker_image:
    name: web-snapshot
    container: web

- name: Write a container's filesystem to a tar file
  mydocker.runtime.mydocker_image:
    name: web-export
    container: web
    output: /root/web.tar

- name: Pull an image from a registry (again when its tag moved)
  mydocker.runtime.mydocker_image:
    name: registry.example:5000/team/app:1
    source: pull
    force_source: true

- name: Build an image from /srv/app/Containerfile (no change when every step is cached)
  mydocker.runtime.mydocker_image:
    name: me/app:1.0
    source: build
    build:
      path: /srv/app
      args:
        VERSION: "1.0"
- name: Load every image of an archive written by mydocker save
  mydocker.runtime.mydocker_image:
    name: me/app:1.0
    source: load
    load_path: /srv/images/app.tar

- name: Push an image made here (only when the registry's tag is not it)
  mydocker.runtime.mydocker_image:
    name: registry.example:5000/team/base:1
    busybox: /bin/busybox
    push: true

- name: Remove an image
  mydocker.runtime.mydocker_image:
    name: alpine
    state: absent

- name: Use a state root of its own for every mydocker module of a play
  module_defaults:
    group/mydocker.runtime.mydocker:
      root: /srv/mydocker
  block:
    - name: Import into /srv/mydocker
      mydocker.runtime.mydocker_image:
        name: busybox
        source: /srv/images/busybox.tar
"""

RETURN = r"""
image:
  description:
    - The image record after the task (predicted in check mode); empty when the image is absent
      or O(output) is used.
    - C(repoTags) are the references naming the image, C(repoDigests) its manifest digests (OCI
      archives), C(layers) its layers bottom first (C(layer) the top one), C(config) the image
      config (C(Entrypoint), C(Cmd), C(Env), C(WorkingDir), C(User), C(ExposedPorts), C(Volumes),
      C(StopSignal), C(Labels)).
  returned: always
  type: dict
  sample:
    name: busybox
    id: 3f0c6f4e2a1b
    digest: sha256:3f0c6f4e2a1b9d8c7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d
    layer: 3f0c6f4e2a1b9d8c
    created: "2025-03-17 15:45:14"
    size: 2215536
    source: /srv/images/busybox.tar
    format: rootfs
    config: {}
    repoTags: ["busybox:latest"]
    repoDigests: []
    layers: [3f0c6f4e2a1b9d8c]
    layerPath: /var/lib/mydocker/image/layers/3f0c6f4e2a1b9d8c
    layerPresent: true
actions:
  description: What the task did (or would do in check mode), one line each.
  returned: always
  type: list
  elements: str
  sample:
    - "import: /srv/images/busybox.tar (new image)"
output:
  description: The tar file written with O(output).
  returned: when O(output) is given
  type: str
  sample: /root/web.tar
"""

from ansible_collections.mydocker.runtime.plugins.module_utils.bytecode import cache_bytecode

cache_bytecode()  # before the imports below: they are compiled from the module's zip otherwise

from ansible_collections.mydocker.runtime.plugins.module_utils.ansible_glue import (
    DifferenceTracker,
    module_definition,
    new_module,
    run,
)
from ansible_collections.mydocker.runtime.plugins.module_utils.planning.image import (
    apply,
    argument_spec,
    cleanup,
    plan_image,
)


def task(module):
    p = module.params
    plan = plan_image(p["root"], p["name"], state=p["state"], source=p["source"], force=p["force"],
                      container=p["container"], output=p["output"], busybox=p["busybox"], tag=p["tag"],
                      platform=p["platform"], force_source=p["force_source"],
                      registry_username=p["registry_username"], registry_password=p["registry_password"],
                      ca_file=p["ca_file"], insecure_registry=p["insecure_registry"], push=p["push"],
                      build=p["build"], load_path=p["load_path"])
    image = plan.image
    try:
        if plan.changed and not module.check_mode:
            image = apply(plan)
    finally:
        cleanup(plan)
    tracker = DifferenceTracker()
    tracker.add(plan.diff_name, plan.before, plan.after)
    result = dict(changed=plan.changed, actions=list(plan.actions), image=image)
    if plan.output:
        result["output"] = plan.output
    if module._diff:
        result["diff"] = tracker.diff()
    return result


def definition():
    return module_definition(argument_spec(), mutually_exclusive=[("source", "container", "busybox")],
                             required_by={"output": "container"})


def main():
    run(new_module(definition()), task)


if __name__ == "__main__":
    main()
