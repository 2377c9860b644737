# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The signal numbers and functions the start path uses, from the interpreter's ``_signal``.

``import signal`` runs ``IntEnum._convert_`` over every signal name, handler and mask constant
(and imports enum with it): ~3-5 ms of every command's start here. The numbers are the same
ints; ``signal()`` is the same function, and the previous handler it returns is a plain int or
callable instead of an enum member (nothing here reads it). Standard library only."""

try:
    import _signal as _impl
except ImportError:  # another interpreter: signal.py itself
    import signal as _impl

SIG_DFL = _impl.SIG_DFL
SIG_IGN = _impl.SIG_IGN
SIGCHLD = _impl.SIGCHLD
SIGHUP = _impl.SIGHUP
SIGINT = _impl.SIGINT
SIGKILL = _impl.SIGKILL
SIGPIPE = _impl.SIGPIPE
SIGTERM = _impl.SIGTERM
signal = _impl.signal


def number(name):
    """The number of the signal called ``name`` (``SIGTERM``) on this host, or None."""
    if not name.startswith("SIG") or name.startswith("SIG_"):
        return None
    n = getattr(_impl, name, None)
    return int(n) if isinstance(n, int) else None
