# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container's user, as runc's ``user.GetExecUser`` resolves it: ``name``, ``uid``,
``uid:gid``, ``name:group`` (any mix) against the image's ``/etc/passwd`` and ``/etc/group``,
read inside the container's root when it starts.

- a name must be in passwd; a numeric uid need not be (its gid is then 0, its home ``/``);
- the group, when given, is looked up by name (or taken as a number) and is the only group;
- without a group, the user's passwd gid is primary and the groups that list the user's name
  are the supplementary ones.

Pure: standard library only; ``switch`` makes the three calls through the syscall seam.
"""


from .errors import MyDockerError
from .lazyre import lazy_re

_SPEC_RE = lazy_re(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?$")
MAX_ID = 2 ** 31 - 1


def validate(spec):
    """``spec`` (None or a string) checked for shape only; returns it ('' for the image's default)."""
    if spec is None or spec == "":
        return spec
    if not isinstance(spec, str) or not _SPEC_RE.match(spec):
        raise MyDockerError("invalid user %r: use name, uid, uid:gid or name:group" % (spec,))
    for part in spec.split(":"):
        if part.isdigit() and int(part) > MAX_ID:
            raise MyDockerError("invalid user %r: %s is out of range" % (spec, part))
    return spec


def _read(path, fields):
    out = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                parts = line.split(":")
                if len(parts) >= fields:
                    out.append(parts)
    except OSError:
        pass
    return out


def _num(text):
    try:
        n = int(text)
    except ValueError:
        return None
    return n if 0 <= n <= MAX_ID else None


def resolve(spec, passwd="/etc/passwd", group="/etc/group"):
    """{"uid", "gid", "groups", "home", "name"} of ``spec`` ('' or None: root)."""
    spec = validate(spec) or "0"
    user, sep, grp = spec.partition(":")
    uid, gid, home, name = None, 0, "/", None
    for p in _read(passwd, 7):
        puid, pgid = _num(p[2]), _num(p[3])
        if puid is None or pgid is None:
            continue
        if p[0] == user or (user.isdigit() and puid == int(user)):
            uid, gid, home, name = puid, pgid, p[5] or "/", p[0]
            break
    if uid is None:
        if not user.isdigit():
            raise MyDockerError("unable to find user %s: no matching entries in passwd file" % user)
        uid = int(user)
    groups = []
    entries = _read(group, 4)
    if sep:
        for g in entries:
            ggid = _num(g[2])
            if ggid is not None and (g[0] == grp or (grp.isdigit() and ggid == int(grp))):
                gid = ggid
                break
        else:
            if not grp.isdigit():
                raise MyDockerError("unable to find group %s: no matching entries in group file" % grp)
            gid = int(grp)
    elif name is not None:
        for g in entries:
            ggid = _num(g[2])
            if ggid is not None and name in g[3].split(","):
                if ggid not in groups:
                    groups.append(ggid)
    return {"uid": uid, "gid": gid, "groups": groups, "home": home, "name": name}


def switch(user, syscalls):
    """Become ``user`` (a ``resolve`` result): groups first, then gid, uid last (which drops
    the capabilities when the uid is not 0)."""
    syscalls.setgroups(user["groups"])
    syscalls.setresgid(user["gid"], user["gid"], user["gid"])
    syscalls.setresuid(user["uid"], user["uid"], user["uid"])
