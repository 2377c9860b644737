# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure validators shared by the engine and the planners, so check mode and a real run refuse
bad input with the same words. Standard library only; nothing here touches the host."""

import re

from .errors import MyDockerError

# Names that can never escape the state root: no '/', no '..', no leading dot or dash.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def validate_name(name, what="name"):
    """Reject names that could escape the state root or break a file name."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or ".." in name:
        raise MyDockerError(
            "invalid %s %r: use letters, digits, '_', '.', '-' (max 128), starting with a letter or digit"
            % (what, name))
    return name
