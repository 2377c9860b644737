# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  root:
    description:
      - The mydocker state root.
      - Defaults to the E(MYDOCKER_ROOT) environment variable of the target, else C(/var/lib/mydocker).
      - Set it once for all modules of the collection with O(root) in C(module_defaults) for the
        C(group/mydocker.runtime.mydocker) action group.
    type: path
requirements:
  - Linux with namespaces, overlayfs and cgroups (v1 or v2); root on the target.
  - Python 3.9 or newer on the target.
"""

    # ansible-doc refuses a fragment without options or attributes: hence the empty options.
    NETWORK = r"""
options: {}
requirements:
  - pyroute2 (0.7.2 or newer) on the target.
  - iptables on the target.
"""
