# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Terminal plumbing for ``run -it`` and ``exec -it``: a pty whose master we copy to and
from the user's terminal (raw mode), with the window size following the terminal."""

import errno
import fcntl
import os
import select
import signal
import socket
import struct
import termios
import tty as ttymod


def console_socket():
    """(our end, the container's end) of a socket pair the container sends its pty master on."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    os.set_inheritable(theirs.fileno(), True)
    return ours, theirs


def copy_winsize(src_fd, dst_fd):
    try:
        ws = fcntl.ioctl(src_fd, termios.TIOCGWINSZ, struct.pack("HHHH", 0, 0, 0, 0))
    except OSError:
        ws = struct.pack("HHHH", 24, 80, 0, 0)
    try:
        fcntl.ioctl(dst_fd, termios.TIOCSWINSZ, ws)
    except OSError:
        pass


class RawTerminal:
    """Put stdin in raw mode for the duration (when it is a terminal)."""

    def __init__(self, fd=0):
        self.fd = fd
        self.saved = None

    def __enter__(self):
        if os.isatty(self.fd):
            self.saved = termios.tcgetattr(self.fd)
            ttymod.setraw(self.fd)
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)


def proxy(master, done_fd=None, stdin=True):
    """Copy stdin -> master and master -> stdout until the pty closes or ``done_fd`` fires.

    ``done_fd``: an fd that becomes readable when the other side is finished (the monitor's
    notify pipe); after it fires the remaining output is drained. ``stdin``: forward input.
    """
    copy_winsize(0, master)

    def on_winch(signum, frame):
        copy_winsize(0, master)
    old = signal.signal(signal.SIGWINCH, on_winch)
    stdin_open = stdin
    try:
        with RawTerminal(0) if stdin else _Null():
            while True:
                rl = [master]
                if stdin_open:
                    rl.append(0)
                if done_fd is not None:
                    rl.append(done_fd)
                try:
                    r = select.select(rl, [], [])[0]
                except InterruptedError:
                    continue
                if master in r:
                    try:
                        data = os.read(master, 65536)
                    except OSError as e:
                        if e.errno == errno.EIO:
                            return
                        raise
                    if not data:
                        return
                    _write_all(1, data)
                if 0 in r:
                    data = os.read(0, 65536)
                    if not data:
                        stdin_open = False
                        _write_all(master, b"\x04")  # EOF for the reader on the tty
                    else:
                        _write_all(master, data)
                if done_fd is not None and done_fd in r:
                    _drain(master)
                    return
    finally:
        signal.signal(signal.SIGWINCH, old)


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _drain(master):
    while True:
        r = select.select([master], [], [], 0.05)[0]
        if not r:
            return
        try:
            data = os.read(master, 65536)
        except OSError:
            return
        if not data:
            return
        _write_all(1, data)


def _write_all(fd, data):
    while data:
        try:
            n = os.write(fd, data)
        except InterruptedError:
            continue
        data = data[n:]
