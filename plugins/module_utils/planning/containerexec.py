# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mydocker_container_exec: a command in a running container, its arguments checked with the
words mydocker_container uses."""

from ..engine import containers as engine
from .options import fail_option, norm_command, norm_env


def exec_command(root, ref, argv=None, command=None, chdir=None, env=None):
    """Run a command in a running container; returns (rc, stdout bytes, stderr bytes)."""
    if argv is not None:
        args = norm_command(list(argv))
    else:
        args = norm_command(command)
    if chdir is not None and not chdir.startswith("/"):
        fail_option("chdir", "%r must be an absolute path" % chdir)
    env = norm_env(env) if env else None
    return engine.exec_and_wait(root, ref, args, env=env, workdir=chdir)
