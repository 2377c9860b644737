# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Containerfile (Dockerfile) parser: instructions with their line numbers, continuation
lines, comments, the JSON-array (exec) forms, flags (``--chown=``), and Docker's variable
expansion (``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR:+alt}``, ``\\$`` for a dollar).

Pure: standard library only.  Every error is one line ``FILE:LINE: what is wrong``.
"""

import json
import re
import shlex

from .errors import MyDockerError
from .lazyre import lazy_re

INSTRUCTIONS = ("FROM", "RUN", "COPY", "ADD", "ENV", "ARG", "WORKDIR", "USER", "LABEL", "EXPOSE",
                "ENTRYPOINT", "CMD", "VOLUME", "STOPSIGNAL")
# the ones Docker knows that this builder does not do: named, not "unknown"
UNSUPPORTED = ("ONBUILD", "HEALTHCHECK", "SHELL", "MAINTAINER")
JSON_FORMS = ("RUN", "ENTRYPOINT", "CMD", "COPY", "ADD", "VOLUME")
FLAGS = {"COPY": ("chown", "chmod"), "ADD": ("chown", "chmod"), "FROM": (), "RUN": ()}
_VAR_RE = lazy_re(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:[-+])?(?P<word>[^}]*)?\}"
                  r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")
_NAME_RE = lazy_re(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Instruction:
    """One instruction: ``cmd`` (upper case), ``line`` (where it starts), ``raw`` (its argument
    text, continuation lines joined), ``json`` (the list of a JSON-array form, else None),
    ``flags`` ({name: value}) and ``where`` (``FILE:LINE``)."""

    def __init__(self, cmd, line, raw, filename, flags=None, json_args=None):
        self.cmd = cmd
        self.line = line
        self.raw = raw
        self.filename = filename
        self.flags = flags or {}
        self.json = json_args

    @property
    def where(self):
        return "%s:%d" % (self.filename, self.line)

    def error(self, what):
        return MyDockerError("%s: %s %s" % (self.where, self.cmd, what))

    def text(self):
        """The instruction as one line (for the history and the cache key)."""
        flags = "".join("--%s=%s " % kv for kv in sorted(self.flags.items()))
        return "%s %s%s" % (self.cmd, flags, json.dumps(self.json) if self.json is not None else self.raw)

    def __repr__(self):
        return "Instruction(%s, %r)" % (self.where, self.text())


def _logical_lines(text, filename):
    """(first line number, joined text) of every instruction: comments and blank lines dropped,
    a line ending in the escape character continued on the next."""
    escape = "\\"
    out, buf, start = [], None, 0
    lines = text.splitlines()
    directives = True
    for n, line in enumerate(lines, 1):
        stripped = line.strip()
        if directives:
            m = re.match(r"^#\s*escape\s*=\s*(\S)\s*$", stripped)
            if m and m.group(1) in ("\\", "`"):
                escape = m.group(1)
                continue
            if not re.match(r"^#\s*[a-zA-Z]+\s*=", stripped):
                directives = False
        if stripped.startswith("#"):
            continue  # a comment (inside a continued instruction too, as Docker does)
        if buf is None:
            if not stripped:
                continue
            buf, start = "", n
        if stripped.endswith(escape):
            buf += line.rstrip()[:-1]
            continue
        if not stripped:
            continue  # an empty line inside a continuation
        buf += line
        out.append((start, buf.strip()))
        buf = None
    if buf is not None:
        if buf.strip():
            out.append((start, buf.strip()))
    return out


def parse(text, filename="Containerfile"):
    """The instructions of the Containerfile ``text``; MyDockerError ``FILE:LINE: ...`` for a
    line that is not one. The first instruction (after ARGs) must be FROM."""
    out = []
    for n, body in _logical_lines(text, filename):
        word, _sp, rest = body.partition(" ")
        if "\t" in word:
            word, _sp, more = word.partition("\t")
            rest = more + " " + rest
        cmd = word.upper()
        rest = rest.strip()
        if cmd in UNSUPPORTED:
            raise MyDockerError("%s:%d: %s is not supported by mydocker build" % (filename, n, cmd))
        if cmd not in INSTRUCTIONS:
            raise MyDockerError("%s:%d: unknown instruction %s" % (filename, n, word))
        flags = {}
        while rest.startswith("--"):
            flag, _sp, rest = rest.partition(" ")
            rest = rest.strip()
            name, eq, value = flag[2:].partition("=")
            if name not in FLAGS.get(cmd, ()) or not eq:
                raise MyDockerError("%s:%d: %s: unknown flag %s" % (filename, n, cmd, flag))
            flags[name] = value
        js = None
        if cmd in JSON_FORMS and rest.startswith("["):
            try:
                js = json.loads(rest)
            except ValueError:
                js = None  # not JSON: the shell form, as Docker takes it
            if js is not None and not (isinstance(js, list) and all(isinstance(a, str) for a in js)):
                raise MyDockerError("%s:%d: %s: the JSON form must be an array of strings" % (filename, n, cmd))
        ins = Instruction(cmd, n, rest, filename, flags, js)
        if not rest and cmd not in ("CMD", "ENTRYPOINT") or (js == [] and cmd in ("RUN", "COPY", "ADD")):
            raise ins.error("needs an argument")
        out.append(ins)
    first = [i for i in out if i.cmd != "ARG"]
    if not first:
        raise MyDockerError("%s: no FROM instruction" % filename)
    if first[0].cmd != "FROM":
        raise MyDockerError("%s: the first instruction must be FROM (not %s)" % (first[0].where, first[0].cmd))
    if len([i for i in out if i.cmd == "FROM"]) > 1:
        second = [i for i in out if i.cmd == "FROM"][1]
        raise MyDockerError("%s: multi-stage builds (a second FROM) are not supported" % second.where)
    return out


def expand(word, env, where=""):
    """Docker's variable expansion of ``word`` with ``env`` ({name: value}); unset names are ''."""
    out = []
    i = 0
    while i < len(word):
        c = word[i]
        if c == "\\" and i + 1 < len(word) and word[i + 1] == "$":
            out.append("$")
            i += 2
            continue
        if c == "$":
            m = _VAR_RE.match(word, i)
            if m:
                name = m.group("braced") or m.group("plain")
                value = env.get(name)
                op = m.group("op")
                if op == ":-":
                    value = value if value else expand(m.group("word") or "", env, where)
                elif op == ":+":
                    value = expand(m.group("word") or "", env, where) if value else ""
                elif m.group("braced") and m.group("word"):
                    raise MyDockerError("%s: bad substitution %s" % (where, m.group(0)))
                out.append(value or "")
                i = m.end()
                continue
            if word.startswith("${", i):
                raise MyDockerError("%s: bad substitution in %r" % (where, word))
        out.append(c)
        i += 1
    return "".join(out)


def words(ins, env=None):
    """The shell-like words of an instruction's argument (quotes removed), each expanded."""
    try:
        parts = shlex.split(ins.raw, posix=True)
    except ValueError as e:
        raise ins.error("cannot be read: %s" % e)
    return [expand(p, env or {}, ins.where) for p in parts]


def pairs(ins, env=None):
    """The ``KEY=VALUE ...`` (or the legacy ``KEY VALUE``) of ENV, LABEL and ARG, expanded."""
    raw = ins.raw
    try:
        parts = shlex.split(raw, posix=True)
    except ValueError as e:
        raise ins.error("cannot be read: %s" % e)
    out = []
    if ins.cmd != "ARG" and parts and "=" not in parts[0]:  # the legacy ``KEY VALUE``
        key, _sp, value = raw.strip().partition(" ")
        value = value.strip()
        if not value:
            raise ins.error("needs a value: %s KEY VALUE or %s KEY=VALUE" % (ins.cmd, ins.cmd))
        parts = []
        out.append((key, expand(value, env or {}, ins.where)))
    for p in parts:
        key, eq, value = p.partition("=")
        if not key:
            raise ins.error("has an empty name in %r" % p)
        if not eq:
            if ins.cmd != "ARG":
                raise ins.error("needs KEY=VALUE, got %r" % p)
            out.append((key, None))
            continue
        out.append((key, expand(value, env or {}, ins.where)))
    if ins.cmd in ("ENV", "ARG"):
        for key, _v in out:
            if not _NAME_RE.match(key):
                raise ins.error("has an invalid variable name %r" % key)
    return out


def command(ins):
    """RUN / CMD / ENTRYPOINT as an argv: the JSON form as it is, the shell form with /bin/sh -c."""
    if ins.json is not None:
        return list(ins.json)
    return ["/bin/sh", "-c", ins.raw] if ins.raw else []


def sources(ins, env=None):
    """(sources, destination) of COPY/ADD."""
    parts = [expand(p, env or {}, ins.where) for p in ins.json] if ins.json is not None else words(ins, env)
    if len(parts) < 2:
        raise ins.error("needs a source and a destination")
    return parts[:-1], parts[-1]
