# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:

    # Nothing: use the named fragments below.
    DOCUMENTATION = r"""
options: {}
"""

    # The attributes every *_info module has: it only reads.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change.
    support: full
    details:
      - This action does not modify state.
  platform:
    platforms: posix
"""
