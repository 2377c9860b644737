# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``mydocker`` command line: the entry point ``main(argv)``.

It finds the command word after the global options, imports only that command's group
(``containers``, ``images``, ``network`` or ``system`` in this package) and builds only that
command's sub-parser. Listing the commands (``mydocker --help``, ``mydocker help``, a bad command
word) needs no group at all: the names and one-line helps are the static ``COMMANDS`` table."""

import os
import sys

from ..engine.errors import MyDockerError
from .commands import COMMANDS, EPILOG, GROUP, NESTED, group  # noqa: F401 (re-exported) pylint: disable=unused-import
from .output import err


def build_parser(command=None):
    """The argparse parser for ``command`` (``parsers.build_parser``)."""
    from .parsers import build_parser as build
    return build(command)


def listing_parser():
    """The parser that lists every command (``parsers.listing_parser``)."""
    from .parsers import listing_parser as listing
    return listing()


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


_SPECS = {}  # command -> fastparse.Spec, compiled once per process


def _fast(argv, i, word):
    """``argv`` parsed by fastparse when ``word`` is a command its group lists in ``FAST`` and the
    command line is of a form it takes; else None (argparse parses)."""
    if word not in GROUP or i is None or i < 0:
        return None
    fast = getattr(group(word), "FAST", {}).get(word)
    if fast is None:
        return None
    from . import fastparse
    spec = _SPECS.get(word)
    if spec is None:
        spec = _SPECS[word] = fastparse.Spec(*fast)
    return fastparse.parse(argv, i, word, spec)


def parse_args(argv):
    """The parsed arguments of a mydocker command line (``args.fn`` runs it); exits on a usage error
    or after printing help, as argparse does."""
    i = command_index(argv)
    word = argv[i] if i is not None and i >= 0 else None
    fast = _fast(argv, i, word)
    if fast is not None:
        return fast
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
