# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The build context of ``build``: what COPY and ADD take from it (``.dockerignore`` honoured,
nothing outside the context), the digest of those inputs for the build cache, and the copy into
a staging directory that becomes the step's layer; paths looked up in the layers so far."""

import glob
import hashlib
import os
import re
import shutil
import stat
import tarfile

from . import layers
from .errors import MyDockerError


def _pattern(p):
    """A ``.dockerignore`` pattern as a regular expression (``**`` any depth, ``*`` and ``?``
    within one name)."""
    out, i = [], 0
    while i < len(p):
        c = p[i]
        if p.startswith("**", i):
            out.append(".*")
            i += 2
            if p.startswith("/", i):
                out[-1] = "(.*/)?"
                i += 1
            continue
        out.append("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c))
        i += 1
    return re.compile("^" + "".join(out) + "$")


class Context:
    def __init__(self, top):
        self.top = os.path.realpath(top)
        self.rules = []
        try:
            with open(os.path.join(self.top, ".dockerignore"), encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            lines = []
        for ln in lines:
            ln = ln.strip()
            if not ln or ln.startswith("#"):
                continue
            neg = ln.startswith("!")
            ln = os.path.normpath(ln[1:].strip() if neg else ln).lstrip("/")
            self.rules.append((neg, _pattern(ln)))

    def ignored(self, rel):
        """True when the context path ``rel`` (or a directory above it) is excluded."""
        parts = rel.split("/")
        out = False
        for neg, rx in self.rules:
            for i in range(len(parts), 0, -1):
                if rx.match("/".join(parts[:i])):
                    out = not neg
                    break
        return out

    def _rel(self, path):
        return os.path.relpath(path, self.top)

    def _inside(self, path, what, ins):
        real = os.path.realpath(path)
        if real != self.top and not real.startswith(self.top + os.sep):
            raise ins.error("failed: %s is outside the build context (it leads to %s)" % (what, real))
        return real

    def resolve(self, srcs, dest, ins, unpack=False):
        """The Plan of COPY/ADD ``srcs`` to ``dest`` (absolute in the image)."""
        matched = []
        for s in srcs:
            pat = os.path.normpath(os.path.join(self.top, s.lstrip("/")))
            if pat != self.top and not pat.startswith(self.top + os.sep):
                raise ins.error("failed: %s is outside the build context" % s)
            found = sorted(glob.glob(pat)) if glob.has_magic(s) else ([pat] if os.path.lexists(pat) else [])
            found = [f for f in found if self._rel(os.path.abspath(f)) == "." or
                     not self.ignored(self._rel(os.path.abspath(f)))]
            if not found:
                raise ins.error("failed: %s: no such file or directory in the build context" % s)
            for f in found:
                matched.append(self._inside(f, s, ins))
        to_dir = dest.endswith("/") or len(matched) > 1
        if len(matched) > 1 and not dest.endswith("/"):
            raise ins.error("with more than one source needs a destination that ends with /")
        plan = Plan()
        for real in matched:
            rel = self._rel(real)
            if os.path.isdir(real):
                plan.add("dir", real, dest, rel)
                self._walk(plan, real, dest)
            elif unpack and _is_archive(real):
                plan.add("tar", real, dest, rel)
            else:
                plan.add("file", real, os.path.join(dest, os.path.basename(real)) if to_dir else dest, rel)
        return plan

    def _walk(self, plan, top, dest):
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for n in list(dirnames):
                p = os.path.join(dirpath, n)
                if self.ignored(self._rel(p)):
                    dirnames.remove(n)
                    continue
                target = os.path.join(dest, os.path.relpath(p, top))
                if os.path.islink(p):
                    dirnames.remove(n)
                    plan.add("link", p, target, self._rel(p))
                else:
                    plan.add("dir", p, target, self._rel(p))
            for n in sorted(filenames):
                p = os.path.join(dirpath, n)
                if self.ignored(self._rel(p)):
                    continue
                target = os.path.join(dest, os.path.relpath(p, top))
                plan.add("link" if os.path.islink(p) else "file", p, target, self._rel(p))


def _is_archive(path):
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


class Plan:
    """What a COPY/ADD copies: (kind, source path, target in the image, context path)."""

    def __init__(self):
        self.items = []

    def add(self, kind, src, target, rel):
        self.items.append((kind, src, os.path.normpath(target), rel))

    def digest(self):
        """The sha256 of the inputs: every target, kind, mode and content (or link target)."""
        h = hashlib.sha256()
        for kind, src, target, _rel in self.items:
            st = os.stat(src) if kind != "link" else os.lstat(src)
            h.update(("%s\0%s\0%o\0" % (kind, target, stat.S_IMODE(st.st_mode))).encode())
            if kind == "link":
                h.update(os.readlink(src).encode())
            elif kind in ("file", "tar"):
                with open(src, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
            h.update(b"\n")
        return h.hexdigest()


def lookup(lowers, path):
    """The host path of ``path`` (absolute in the image) in the layers ``lowers`` (top first),
    whiteouts and opaque directories honoured; None when the image has no such file."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return lowers[0] if lowers else None
    for top in lowers:
        cur = top
        opaque = False
        for i, part in enumerate(parts):
            cur = os.path.join(cur, part)
            if layers.is_whiteout(cur):
                return None
            if i == len(parts) - 1:
                if os.path.lexists(cur):
                    return cur
            elif not os.path.isdir(cur) or os.path.islink(cur):
                break
            else:
                try:
                    opaque = opaque or os.getxattr(cur, layers.OPAQUE_XATTR, follow_symlinks=False) == b"y"
                except OSError:
                    pass
        if opaque:
            return None
    return None


def make_parents(stage, path, lowers, include_self=False, owner=(0, 0)):
    """Make the directories above ``path`` (and ``path`` itself with ``include_self``) in the
    staging directory, each with the mode, owner and mtime it has in the layers below (a new
    one 0755 with ``owner``). Returns [(staged dir, mtime)] to set once the copy is done."""
    parts = [p for p in path.split("/") if p]
    parts = parts if include_self else parts[:-1]
    times = []
    for i in range(len(parts)):
        img = "/" + "/".join(parts[:i + 1])
        d = os.path.join(stage, *parts[:i + 1])
        if os.path.isdir(d):
            continue
        os.mkdir(d)
        low = lookup(lowers, img)
        if low is not None and os.path.isdir(low):
            st = os.stat(low)
            os.chmod(d, stat.S_IMODE(st.st_mode))
            os.lchown(d, st.st_uid, st.st_gid)
            times.append((d, st.st_mtime_ns))
        else:
            os.chmod(d, 0o755)
            os.lchown(d, owner[0], owner[1])
    return times


def copy_into(plan, stage, lowers, owner, mode=None):
    """Copy what ``plan`` names into ``stage`` at its targets, owned by ``owner`` (uid, gid);
    modes and mtimes kept (``mode``: COPY --chmod)."""
    times = []
    for kind, src, target, _rel in plan.items:
        times += make_parents(stage, target, lowers, owner=owner)
        dst = os.path.join(stage, target.lstrip("/"))
        try:
            if kind == "dir":
                if not os.path.isdir(dst):
                    os.mkdir(dst)
                st = os.stat(src)
                os.chmod(dst, mode if mode is not None else stat.S_IMODE(st.st_mode))
                os.lchown(dst, owner[0], owner[1])
                times.append((dst, st.st_mtime_ns))
            elif kind == "file":
                if os.path.isdir(dst) and not os.path.islink(dst):
                    shutil.rmtree(dst)
                elif os.path.lexists(dst):
                    os.unlink(dst)
                shutil.copyfile(src, dst)
                st = os.stat(src)
                os.chmod(dst, mode if mode is not None else stat.S_IMODE(st.st_mode))
                os.lchown(dst, owner[0], owner[1])
                os.utime(dst, ns=(st.st_mtime_ns, st.st_mtime_ns))
            elif kind == "link":
                if os.path.lexists(dst):
                    os.unlink(dst)
                os.symlink(os.readlink(src), dst)
                os.lchown(dst, owner[0], owner[1])
                st = os.lstat(src)
                os.utime(dst, ns=(st.st_mtime_ns, st.st_mtime_ns), follow_symlinks=False)
            elif kind == "tar":
                if not os.path.isdir(dst):
                    os.makedirs(dst, 0o755)
                layers.run(["tar", "-xpf", src, "-C", dst, "--numeric-owner"],
                           "cannot unpack %s" % os.path.basename(src))
        except OSError as e:
            raise MyDockerError("cannot copy %s to %s: %s" % (src, target, e.strerror or e))
    for d, t in reversed(times):
        os.utime(d, ns=(t, t))
