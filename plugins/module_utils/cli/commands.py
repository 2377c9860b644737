# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The static table of the command line's commands: their names, the group (module of this
package) that defines each, their one-line helps. Read by ``main`` and ``parsers``."""

# (command, module of this package that defines it in its PARSERS, one-line help), in the order
# `mydocker --help` lists them
COMMANDS = (
    ("run", "containers", "run a command in a new container"),
    ("ps", "containers", "list containers"),
    ("logs", "containers", "show a detached container's output"),
    ("exec", "containers", "run a command in a running container"),
    ("stop", "containers", "stop containers (SIGTERM, then SIGKILL)"),
    ("restart", "containers", "restart containers"),
    ("start", "containers", "start stopped containers"),
    ("rm", "containers", "remove containers"),
    ("commit", "containers", "save a container's filesystem as an image or a tar file"),
    ("inspect", "containers", "show container records as JSON"),
    ("port", "containers", "list a container's published ports"),
    ("images", "images", "list images"),
    ("rmi", "images", "remove images (a tag; the image with its last tag)"),
    ("tag", "images", "give an image another reference (name:tag)"),
    ("image", "images", "manage images"),
    ("pull", "registry", "pull an image from a registry"),
    ("push", "registry", "push an image to a registry"),
    ("login", "registry", "log in to a registry"),
    ("logout", "registry", "log out from a registry"),
    ("build", "build", "build an image from a Containerfile"),
    ("save", "build", "write images to a docker or OCI archive"),
    ("load", "build", "load every image of a docker or OCI archive"),
    ("prune", "system", "remove leftovers of crashed runs"),
    ("system", "system", "state root information (df)"),
    ("network", "network", "manage bridge networks"),
    ("volume", "volume", "manage named volumes"),
)
GROUP = {name: module for name, module, helptext in COMMANDS}
NESTED = ("image", "network", "system", "volume")   # commands with subcommands of their own: `mydocker help image ls`

EPILOG = "'mydocker help COMMAND' or 'mydocker COMMAND --help' shows a command's options."


def group(name):
    """The module of this package that defines command ``name`` (``__import__``: importlib itself
    is a few ms of start-up)."""
    return __import__("%s.%s" % (__package__, GROUP[name]), fromlist=("PARSERS",))
