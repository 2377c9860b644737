#!/usr/bin/python
# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r"""
module: mydocker_container_copy_into
short_description: Copy a file into a running mydocker container
version_added: 0.1.0
description:
  - Writes O(content) or the file O(path) of the target host to O(container_path) inside a
    running container, with O(mode), O(owner) and O(group).
  - Idempotent by checksum. The container's file is read first; it is written only when it is
    missing or its content differs (or with O(force=true)); when only the mode or owner differ,
    only they are changed.
  - The path is resolved inside the container as the container itself resolves it, its volumes
    included. A symbolic link is followed within the container's root, an absolute link starts
    again at that root and C(..) never climbs above it, so no link in the container can make
    the write land on the host. The file is written to a temporary file beside the target and
    renamed over it, so a reader in the container sees the old or the new file, never half of
    one.
  - Only running containers. A stopped container is refused with an error rather than having
    its root mounted to copy a file; start it first (or use O(mydocker.runtime.mydocker_container#module:volumes)).
author:
  - mydocker.runtime contributors (@mydocker)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mydocker.runtime.common
attributes:
  check_mode:
    support: full
    details:
      - The container's file is read and compared in check mode too; nothing is written.
  diff_mode:
    support: full
    details:
      - The diff shows mode, owner, group, size and checksum before and after, and the content
        when it is text of at most 64 KiB.
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change.
    support: partial
    details:
      - Not with O(force=true), which writes every time.
  platform:
    platforms: posix
options:
  container:
    description:
      - Name or ID of the running container.
    type: str
    required: true
  container_path:
    description:
      - Absolute path of the file inside the container. Its directory must exist.
    type: str
    required: true
  path:
    description:
      - A file on the target host (not the controller) to copy.
      - Exactly one of O(path) and O(content) is needed.
    type: path
  content:
    description:
      - The content to write, as text (written as UTF-8), or base64 with O(content_is_b64=true).
      - Exactly one of O(path) and O(content) is needed.
    type: str
  content_is_b64:
    description:
      - O(content) is base64 (for binary content).
    type: bool
    default: false
  mode:
    description:
      - The file's mode, an octal string such as V('0644') (quote it; an unquoted YAML V(0644)
        is read as the octal number it is, which works too).
      - Left out, an existing file keeps its mode and a new one gets V('0644').
    type: raw
  owner:
    description:
      - The file's owner, a numeric ID or a user name of the container's C(/etc/passwd) (never
        the host's).
      - Left out, an existing file keeps its owner and a new one belongs to root (V(0)).
    type: raw
  group:
    description:
      - The file's group, a numeric ID or a group name of the container's C(/etc/group).
      - Left out with O(owner) given, the owner's primary group when the container's
        C(/etc/passwd) knows the owner; else an existing file keeps its group and a new one
        gets V(0).
    type: raw
  force:
    description:
      - V(true) writes the file every time, without comparing.
      - V(false) writes it only when it does not exist (an existing file is left as it is,
        mode and owner too).
      - Left out, the file is written when it is missing or differs, as described above.
    type: bool
notes:
  - Runs on the target; root is needed.
  - A read-only volume of the container cannot be written to; the task fails naming the path.
seealso:
  - module: mydocker.runtime.mydocker_container
  - module: mydocker.runtime.mydocker_container_exec
"""

EXAMPLES = r"""
- name: A configuration file for the web container
  mydocker.runtime.mydocker_container_copy_into:
    container: web
    container_path: /etc/httpd.conf
    content: |
      H:/var/www
    mode: "0644"

- name: A file of the target host, owned by a user of the container
  mydocker.runtime.mydocker_container_copy_into:
    container: web
    path: /srv/site/index.html
    container_path: /var/www/index.html
    owner: nobody
    mode: "0640"

- name: Only when the container does not have it yet
  mydocker.runtime.mydocker_container_copy_into:
    container: web
    content: "seed"
    container_path: /var/lib/seed
    force: false
"""

RETURN = r"""
file:
  description: The file in the container after the task (predicted in check mode).
  returned: success
  type: dict
  contains:
    path:
      description: The path inside the container (as given).
      type: str
    mode:
      description: The mode, in octal.
      type: str
    owner:
      description: The numeric owner.
      type: int
    group:
      description: The numeric group.
      type: int
    size:
      description: Its size in bytes.
      type: int
    checksum:
      description: The SHA-256 of its content.
      type: str
  sample:
    path: /etc/httpd.conf
    mode: "0644"
    owner: 0
    group: 0
    size: 11
    checksum: 3b1b2f8d2a4f1c1f7b0e6bd3a50b0c9a9f7e0e6b7d4c1d6f3f2e9d8c7b6a5f4e
actions:
  description: What the task did (or would do in check mode), one line each.
  returned: always
  type: list
  elements: str
  sample:
    - "write /etc/httpd.conf: content changed"
"""

from ansible_collections.mydocker.runtime.plugins.module_utils.bytecode import cache_bytecode

cache_bytecode()  # before the imports below: they are compiled from the module's zip otherwise

from ansible_collections.mydocker.runtime.plugins.module_utils.ansible_glue import (
    DifferenceTracker,
    module_definition,
    new_module,
    run,
)
from ansible_collections.mydocker.runtime.plugins.module_utils.planning.copy import apply, argument_spec, plan_copy


def task(module):
    p = module.params
    plan = plan_copy(p["root"], p["container"], p["container_path"], path=p["path"], content=p["content"],
                     content_is_b64=p["content_is_b64"], mode=p["mode"], owner=p["owner"], group=p["group"],
                     force=p["force"])
    result = dict(changed=plan.changed, actions=list(plan.actions), file=plan.file)
    if plan.changed and not module.check_mode:
        result["file"] = apply(plan)
    if module._diff:
        tracker = DifferenceTracker()
        tracker.add("file", plan.before, plan.after)
        result["diff"] = tracker.diff()
    return result


def definition():
    return module_definition(argument_spec(),
                             mutually_exclusive=[("path", "content")], required_one_of=[("path", "content")])


def main():
    run(new_module(definition()), task)


if __name__ == "__main__":
    main()
