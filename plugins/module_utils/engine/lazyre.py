# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Regular expressions compiled on first use.

``re.compile`` parses and compiles a pattern in Python (0.1-1 ms each here); the two dozen
patterns the engine and the planners defined at module level cost every command and every
module task ~5 ms, while most of them use none or one. ``lazy_re(pattern)`` has the methods
those modules call and compiles when one of them is first called (``re`` keeps the result).

Standard library only; ``re`` itself is imported on the first compile (its parser, compiler and
enum flags are ~2-3 ms of every command's start)."""


class LazyPattern:
    __slots__ = ("pattern", "flags", "_compiled")

    def __init__(self, pattern, flags=0):
        self.pattern = pattern
        self.flags = flags
        self._compiled = None

    def compiled(self):
        """The ``re.Pattern``."""
        if self._compiled is None:
            import re
            self._compiled = re.compile(self.pattern, self.flags)
        return self._compiled

    def match(self, string, *args):
        return self.compiled().match(string, *args)

    def fullmatch(self, string, *args):
        return self.compiled().fullmatch(string, *args)

    def search(self, string, *args):
        return self.compiled().search(string, *args)

    def findall(self, string, *args):
        return self.compiled().findall(string, *args)

    def finditer(self, string, *args):
        return self.compiled().finditer(string, *args)

    def sub(self, repl, string, count=0):
        return self.compiled().sub(repl, string, count)


def lazy_re(pattern, flags=0):
    return LazyPattern(pattern, flags)
