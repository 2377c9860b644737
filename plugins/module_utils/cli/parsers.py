# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The command line's argparse parsers: the top level with ``--root``, every command's sub-parser
(each group's ``PARSERS``), and the listing parser for ``mydocker --help``.

Apart from ``main``, so that a command line the fast parser (``fastparse``) takes imports no
argparse (with gettext and locale, ~2-3 ms, and ~3 ms more to build ``run``'s sub-parser)."""

import argparse
import os
import sys

from .commands import COMMANDS, EPILOG, group


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
