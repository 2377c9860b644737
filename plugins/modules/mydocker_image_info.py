#!/usr/bin/python
# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r"""
module: mydocker_image_info
short_description: Information about mydocker images
version_added: 0.1.0
description:
  - Returns the records of images of the mydocker image store, and whether each image asked
    for exists.
  - An image whose unpacked layer is missing on disk is returned with C(layerPresent=false)
    (M(mydocker.runtime.mydocker_image) with O(mydocker.runtime.mydocker_image#module:state=present)
    repairs it).
author:
  - mydocker.runtime contributors (@mydocker)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mydocker.runtime.common
  - mydocker.runtime.attributes.INFO_MODULE
options:
  name:
    description:
      - Names of the images to return. Without it, all images of the store are returned.
      - Images that do not exist are left out of RV(images) and are V(false) in RV(exists).
    type: list
    elements: str
  filters:
    description:
      - Return only the images in RV(images) that match every key given here.
      - C(name) is a shell-style pattern (V(busy*)) or a list of them (an image matches one).
      - Without O(name), RV(exists) has the images that match; with O(name), filters narrow
        RV(images) only.
    type: dict
notes:
  - Runs on the target; reading the store of the default root needs root.
seealso:
  - module: mydocker.runtime.mydocker_image
"""

EXAMPLES = r"""
- name: All images
  mydocker.runtime.mydocker_image_info:
  register: result

- name: Does busybox exist?
  mydocker.runtime.mydocker_image_info:
    name: busybox
  register: result

- name: Show it
  ansible.builtin.debug:
    msg: "busybox {{ 'exists' if result.exists.busybox else 'is missing' }}"

- name: The images whose name starts with app-
  mydocker.runtime.mydocker_image_info:
    filters:
      name: app-*
  register: result
"""

RETURN = r"""
images:
  description: The records of the images that exist, in the order asked for (else by name).
  returned: always
  type: list
  elements: dict
  sample:
    - name: busybox
      id: 3f0c6f4e2a1b
      digest: sha256:3f0c6f4e2a1b9d8c7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d
      layer: 3f0c6f4e2a1b9d8c
      created: "2025-03-17 15:45:14"
      size: 2215536
      source: /srv/images/busybox.tar
      format: rootfs
      config: {}
      layerPath: /var/lib/mydocker/image/layers/3f0c6f4e2a1b9d8c
      layerPresent: true
exists:
  description:
    - For every image asked for, whether it exists.
    - Without O(name), every image of the store that matches O(filters).
  returned: always
  type: dict
  sample:
    busybox: true
    alpine: false
"""

from ansible_collections.mydocker.runtime.plugins.module_utils.bytecode import cache_bytecode

cache_bytecode()  # before the imports below: they are compiled from the module's zip otherwise

from ansible_collections.mydocker.runtime.plugins.module_utils.ansible_glue import module_definition, new_module, run
from ansible_collections.mydocker.runtime.plugins.module_utils.planning.imageview import image_info
from ansible_collections.mydocker.runtime.plugins.module_utils.planning.info import image_argument_spec


def task(module):
    p = module.params
    images, exists = image_info(p["root"], p["name"], p["filters"])
    return dict(changed=False, images=images, exists=exists)


def definition():
    return module_definition(image_argument_spec())


def main():
    run(new_module(definition()), task)


if __name__ == "__main__":
    main()
