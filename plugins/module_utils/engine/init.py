# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``--init``: Debian's tini as the container's PID 1, as Docker's docker-init is. It reaps the
orphans the command leaves and forwards the signals it gets (stop's SIGTERM or the stop
signal) to the command.

The statically linked ``tini-static`` (package ``tini``) is bind-mounted read-only into the
container as ``/sbin/docker-init`` (a container's root has no libc of the host), and the command
becomes ``/sbin/docker-init -- COMMAND``.
"""

import os

from .errors import MyDockerError

CANDIDATES = ("/usr/bin/tini-static", "/usr/bin/docker-init")
CONTAINER_PATH = "/sbin/docker-init"


def tini_path(candidates=CANDIDATES):
    """The host path of the init to bind into the container; MyDockerError when none is installed."""
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise MyDockerError("--init: no static tini on this host (%s): install the Debian package tini"
                        % ", ".join(candidates))


def wrap(spec, host_path=None):
    """The container spec with the init bound in and put in front of the command."""
    spec = dict(spec)
    spec["volumes"] = list(spec.get("volumes") or []) + [
        {"host": host_path or tini_path(), "container": CONTAINER_PATH, "ro": True}]
    spec["cmd"] = [CONTAINER_PATH, "--"] + list(spec["cmd"])
    return spec
