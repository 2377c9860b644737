# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A parser for the plain command lines of the hot commands, without argparse.

Importing argparse (with gettext and locale) and building ``run``'s sub-parser of ~60 options
costs ~5-6 ms of every ``run``. This parser reads the same declarative flag table (a group's
``FAST`` entry: the flags, the positionals, the sub-parser's defaults) and gives the namespace
argparse would give, for the forms it knows: exact option strings, ``--long=value``, a value in
the next word, the positionals in order, everything after the last positional as it is. For any
other form it returns None and argparse parses, with its messages: combined short flags
(``-it``), an option's value that starts with ``-``, ``--``, ``--help``, an unknown or missing
option or value. ``tests/unit/test_fastparse.py`` compares both parsers on generated command
lines."""

from types import SimpleNamespace

REMAINDER = "..."  # argparse.REMAINDER
STORE, STORE_TRUE, APPEND, NETWORKS = None, "store_true", "append", "networks"
KINDS = (STORE, "store", STORE_TRUE, APPEND, NETWORKS)
KEYS = {"action", "dest", "default", "metavar", "help"}  # what a flag of a fast table may say


class Spec:
    """One command's table, compiled: option string -> (dest, kind); dest -> default."""

    def __init__(self, flags, positionals, defaults):
        self.options = {}
        self.defaults = {}
        for strings, kw in flags:
            if set(kw) - KEYS or kw.get("action") not in KINDS:
                raise ValueError("not a table the fast parser takes: %r %r" % (strings, kw))
            dest = kw.get("dest") or _dest(strings)
            kind = kw.get("action")
            if kind == "store":
                kind = STORE
            for s in strings:
                self.options[s] = (dest, kind)
            default = kw.get("default", False if kind == STORE_TRUE else None)
            self.defaults.setdefault(dest, default)
        self.positionals = list(positionals)  # [(dest, None | REMAINDER)], a REMAINDER only last
        self.plain = [p for p in self.positionals if p[1] != REMAINDER]
        rest = self.positionals[len(self.plain):]
        if self.positionals[:len(self.plain)] != self.plain or len(rest) > 1 or (rest and not self.plain):
            raise ValueError("not positionals the fast parser takes: %r" % (positionals,))
        self.remainder = rest[0][0] if rest else None
        self.sub_defaults = dict(defaults)


def _dest(strings):
    """argparse's dest for option strings: the first long one without ``--``, else the first,
    ``-`` made ``_``."""
    for s in strings:
        if s.startswith("--"):
            return s[2:].replace("-", "_")
    return strings[0].lstrip("-").replace("-", "_")


def _globals(words):
    """``--root DIR`` / ``--root=DIR`` before the command word (main.command_index made sure that
    nothing else is there), as the top-level parser reads them; None for anything else."""
    root = None
    i = 0
    while i < len(words):
        w = words[i]
        if w == "--root" and i + 1 < len(words) and not words[i + 1].startswith("-"):
            root = words[i + 1]
            i += 2
        elif w.startswith("--root="):
            root = w[len("--root="):]
            i += 1
        else:
            return None
    return {"root": root}


def parse(argv, index, command, spec):
    """The namespace of ``argv`` (command word ``command`` at ``index``) as argparse would give it,
    or None when this is a form that argparse is to parse."""
    top = _globals(argv[:index])
    if top is None:
        return None
    values = {}
    more = []  # NETWORKS: the second and later
    pos = []
    words = argv[index + 1:]
    if "--" in words:
        return None
    i = 0
    while i < len(words):
        w = words[i]
        if spec.remainder is not None and len(pos) == len(spec.plain):
            break  # what follows the last plain positional is the REMAINDER's, as it is
        if not w.startswith("-"):
            if len(pos) == len(spec.plain):
                return None  # one too many: argparse says so
            pos.append(w)
            i += 1
            continue
        value = None
        found = spec.options.get(w)
        if found is None:
            if not w.startswith("--") or "=" not in w:
                return None
            name, value = w.split("=", 1)
            found = spec.options.get(name)
            if found is None or found[1] == STORE_TRUE or value == "":
                return None
        dest, kind = found
        i += 1
        if kind == STORE_TRUE:
            values[dest] = True
            continue
        if value is None:
            if i == len(words) or words[i].startswith("-"):
                return None
            value = words[i]
            i += 1
        if kind == APPEND:
            values.setdefault(dest, list(spec.defaults[dest] or [])).append(value)
        elif kind == NETWORKS and values.get(dest) is not None:
            more.append(value)
        else:
            values[dest] = value
    if len(pos) < len(spec.plain):
        return None  # a positional missing: argparse says so
    ns = dict(top, cmd=command)
    for dest, default in spec.defaults.items():
        ns[dest] = list(default) if isinstance(default, list) else default
    ns.update(values)
    if more:
        ns["more_networks"] = more
    for (dest, nargs), value in zip(spec.plain, pos):
        ns[dest] = value
    if spec.remainder is not None:
        ns[spec.remainder] = words[i:]
    ns.update(spec.sub_defaults)
    return SimpleNamespace(**ns)
