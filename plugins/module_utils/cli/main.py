# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``mydocker`` command line: the entry point ``main(argv)``.

It finds the command word after the global options, imports only that command's group
(``containers``, ``images``, ``network`` or ``system`` in this package) and builds only that
command's sub-parser. Listing the commands (``mydocker --help``, ``mydocker help``, a bad command
word) needs no group at all: the names and one-line helps are the static ``COMMANDS`` table."""

import argparse
import os
import sys

from ..engine.errors import MyDockerError
from .output import err

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


def _columns():
    """The terminal's width as shutil.get_terminal_size works it out ($COLUMNS, stdout's
    terminal, else 80)."""
    try:
        cols = int(os.environ.get("COLUMNS", 0))
    except ValueError:
        cols = 0
    if cols <= 0:
        try:
            cols = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            cols = 0
    return cols or 80


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, told its width: left to itself it imports shutil (and so bz2 and lzma,
    ~5 ms), and argparse makes one for every add_argument of every command line."""

    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)


class _Parser(argparse.ArgumentParser):
    """ArgumentParser with :class:`_Formatter`; its sub-parsers are of this class too."""

    def __init__(self, *args, **kw):
        kw.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kw)


class _ListingParser(_Parser):
    """The top-level parser with every command as a stub; on an error it can show the full help
    (the command list) instead of the usage line (``mydocker`` alone)."""

    full_help_on_error = False

    def error(self, message):
        if not self.full_help_on_error:
            super().error(message)
        self.print_help(sys.stderr)
        self.exit(2, "%s: error: %s\n" % (self.prog, message))


def _top(cls=_Parser, **kw):
    p = cls(prog="mydocker", allow_abbrev=False, description="A small Docker-like container runtime.", **kw)
    p.add_argument("--root", default=None,
                   help="state root (default: $MYDOCKER_ROOT or /var/lib/mydocker)")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    return p, sub


def group(name):
    """The module of this package that defines command ``name`` (``__import__``: importlib itself
    is a few ms of start-up)."""
    return __import__("%s.%s" % (__package__, GROUP[name]), fromlist=("PARSERS",))


def build_parser(command=None):
    """The parser for ``command``, with only that command's sub-parser built (its group imported);
    with ``command=None``, every command's (every group imported)."""
    p, sub = _top()
    for name, module, helptext in COMMANDS:
        if command is None or name == command:
            group(name).PARSERS[name](sub, name, helptext)
    return p


def listing_parser():
    """The parser that lists every command from the static table, importing no group; each
    command is a stub that takes whatever follows it (``main`` parses again with the real one)."""
    p, sub = _top(_ListingParser, epilog=EPILOG)
    for name, module, helptext in COMMANDS:
        s = sub.add_parser(name, help=helptext, add_help=False)
        s.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return p


def command_index(argv):
    """Where the command word is in ``argv``: after ``--root DIR`` / ``--root=DIR``.

    None when there is none, -1 when another option comes first (``-h``, ``--help``, ``--``, a bad
    one) or ``--root`` has no value: argparse says what is to be said about it."""
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--root":
            if i + 1 == len(argv):
                return -1
            i += 2
        elif a.startswith("--root="):
            i += 1
        elif a.startswith("-") and a != "-":
            return -1
        else:
            return i
    return None


def _help(before, words):
    """``mydocker help [COMMAND [SUBCOMMAND]]``: what ``--help`` prints for it."""
    if not words or words[0] == "help":
        listing_parser().print_help()
        return 0
    n = 2 if words[0] in NESTED and len(words) > 1 else 1
    return main(before + words[:n] + ["--help"])


_KEPT = None  # keep_parsers(): every command's parser, built once by a long-lived process


def keep_parsers():
    """Build every command's parser once for the rest of this process (``mydocker system
    service``: its commands' processes are forked from it and parse with it, ~1 ms less)."""
    global _KEPT
    _KEPT = build_parser()


def parse_args(argv):
    """The parsed arguments of a mydocker command line (``args.fn`` runs it); exits on a usage error
    or after printing help, as argparse does."""
    i = command_index(argv)
    word = argv[i] if i is not None and i >= 0 else None
    if word not in GROUP:
        # no command, a bad one, or an option first: the listing parser prints the help or the
        # error (and exits); what it parses is parsed again below with the real sub-parser
        p = listing_parser()
        p.full_help_on_error = i is None
        word = p.parse_args(argv).cmd
    return (_KEPT or build_parser(word)).parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    i = command_index(argv)
    if i is not None and i >= 0 and argv[i] == "help":
        return _help(argv[:i], argv[i + 1:])
    args = parse_args(argv)
    from ..engine.store import Paths
    args.root = Paths(args.root).root
    try:
        rc = args.fn(args)
        sys.stdout.flush()
    except MyDockerError as e:
        err(e)
        rc = e.code or 1
    except KeyboardInterrupt:
        rc = 130
    except BrokenPipeError:  # `mydocker ps | head`: the reader left; quiet, as a tool killed by SIGPIPE
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # what is still buffered goes nowhere, not to a traceback
        os.close(devnull)
        rc = 141
    return rc
