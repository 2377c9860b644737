# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every ``mydocker`` command prints with: a line on stdout, an error line on stderr, a table."""

import sys

from ..engine.errors import MyDockerError


def out(text=""):
    sys.stdout.write("%s\n" % (text,))


def err(error):
    """One line on stderr, the way every mydocker error looks."""
    sys.stderr.write("mydocker: %s\n" % (error,))


def table(rows, headers, sep="  "):
    """Print ``headers`` and ``rows`` as left-aligned columns joined by ``sep``, no trailing blanks."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    for r in [list(headers)] + rows:
        out(sep.join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def each(names, fn):
    """``fn(name)`` for every name; print the name when it worked, the error when not.

    Returns 0, or 1 if any of them failed (the others are still done)."""
    code = 0
    for name in names:
        try:
            fn(name)
            out(name)
        except MyDockerError as e:
            err(e)
            code = 1
    return code
