# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning for ``mydocker_container_copy_into``: the wanted file (content, mode, owner)
against the file in the running container (its checksum first), giving a plan with one step,
``write`` (new content) or ``attributes`` (only mode or owner differ), or none; ``apply``
executes it. Check mode returns the plan, so prediction and run agree.

The container's file is read and written through ``engine.copy.ContainerRoot``, which resolves
every path inside the container (symlinks and ``..`` included) and never outside it.

Plain Python; knows nothing of Ansible."""

import base64
import binascii
import hashlib
import os
import stat

from ..engine import copy as ccopy
from ..engine.errors import MyDockerError
from ..engine.lazyre import lazy_re
from ..engine.validate import validate_name
from .options import fail_option, wrap_option
from .plan import Option, Plan, apply_steps, build_argument_spec

# a text diff is shown for files of at most this many bytes
DIFF_MAX = 64 * 1024
DEFAULT_MODE = 0o644

MODULE_OPTIONS = (
    Option("container", "str", required=True),
    Option("container_path", "str", required=True),
    Option("path", "path"),
    Option("content", "str"),
    Option("content_is_b64", "bool", default=False),
    Option("mode", "raw"),
    Option("owner", "raw"),
    Option("group", "raw"),
    Option("force", "bool"),
)


def argument_spec():
    return build_argument_spec(MODULE_OPTIONS)


_MODE_RE = lazy_re(r"^0?[0-7]{3,4}$|^0o[0-7]{1,4}$")


def norm_mode(mode):
    """An int 0..0o7777 (YAML's 0644 arrives as the int 420), or an octal string ("0644")."""
    if mode is None:
        return None
    if isinstance(mode, bool):
        fail_option("mode", "%r is not a mode: use an octal string such as '0644'" % (mode,))
    if isinstance(mode, int):
        value = mode
    elif isinstance(mode, str) and _MODE_RE.match(mode.strip()):
        value = int(mode.strip().replace("0o", ""), 8)
    else:
        fail_option("mode", "%r is not a mode: use an octal string such as '0644'" % (mode,))
    if not 0 <= value <= 0o7777:
        fail_option("mode", "%r is out of range (0000 to 7777)" % (mode,))
    return value


def _id(option, value, names, what):
    """(id, name's primary group or None) of ``value``: a number, or a name of the container's
    /etc/passwd or /etc/group (``names``)."""
    if isinstance(value, bool):
        fail_option(option, "%r is not a %s name or ID" % (value, what))
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        n = int(value)
        if not 0 <= n < 2 ** 32 - 1:
            fail_option(option, "%r is out of range" % (value,))
        return n
    if not isinstance(value, str) or not value:
        fail_option(option, "%r is not a %s name or ID" % (value, what))
    if value not in names:
        where = "passwd" if what == "user" else "group"
        fail_option(option, "no %s %r in the container's /etc/%s" % (what, value, where))
    return names[value]


def norm_container_path(path):
    if not isinstance(path, str) or not path.startswith("/"):
        fail_option("container_path", "%r must be an absolute path" % (path,))
    if "\0" in path:
        fail_option("container_path", "must not contain a NUL byte")
    if path.endswith("/") or os.path.normpath(path) == "/":
        fail_option("container_path", "%r must name a file, not a directory" % (path,))
    return path


def read_source(path, content, content_is_b64):
    """The bytes to copy: ``content`` (base64 when ``content_is_b64``) or the file ``path`` on
    the target host."""
    if (path is None) == (content is None):
        raise MyDockerError("one of path or content is needed, not both")
    if content is not None:
        if not content_is_b64:
            return content.encode("utf-8")
        try:
            return base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            fail_option("content", "is not valid base64 (content_is_b64 is true)")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as e:
        fail_option("path", "cannot read %s: %s" % (path, e.strerror))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        fail_option("path", "%s is not a regular file" % path)
    with os.fdopen(fd, "rb") as f:
        return f.read()


def _text(data):
    if data is None or len(data) > DIFF_MAX or b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def view(info, data=None):
    """The diff form of a file: mode, owner, group, size, checksum and, for small text, content."""
    if info is None:
        return {}
    out = {"mode": "%04o" % info["mode"], "owner": info["uid"], "group": info["gid"], "size": info["size"],
           "checksum": info["sha256"]}
    text = _text(info.get("content") if data is None else data)
    if text is not None:
        out["content"] = text
    return out


class CopyPlan(Plan):
    def __init__(self, root, container, container_path):
        super().__init__(container)
        self.root = root
        self.container_path = container_path
        self.file = {}       # what the task leaves: mode, owner, group, size, checksum


def plan_copy(root, container, container_path, path=None, content=None, content_is_b64=False, mode=None,
              owner=None, group=None, force=None):
    """Compute the plan (reads the container's file, changes nothing)."""
    wrap_option("container", validate_name, container, "container name")
    container_path = norm_container_path(container_path)
    want_mode = norm_mode(mode)
    data = read_source(path, content, content_is_b64)
    digest = hashlib.sha256(data).hexdigest()
    with ccopy.ContainerRoot(root, container) as cr:
        plan = CopyPlan(root, cr.rec.id, container_path)
        try:
            cur = cr.stat_file(container_path, want_content=DIFF_MAX)
        except MyDockerError as e:
            fail_option("container_path", str(e))
        uid = gid = None
        if owner is not None:
            users = ccopy.parse_passwd(cr.read_text("/etc/passwd"))
            uid = _id("owner", owner, dict((n, v[0]) for n, v in users.items()), "user")
            if group is None:   # the user's primary group, as chown user: does
                primary = [v[1] for n, v in users.items() if v[0] == uid]
                gid = primary[0] if primary else None
        if group is not None:
            gid = _id("group", group, ccopy.parse_group(cr.read_text("/etc/group")), "group")
    base = cur or {"mode": DEFAULT_MODE, "uid": 0, "gid": 0}
    want = {"mode": base["mode"] if want_mode is None else want_mode,
            "uid": base["uid"] if uid is None else uid,
            "gid": base["gid"] if gid is None else gid,
            "size": len(data), "sha256": digest}
    plan.before = view(cur)
    plan.file = dict(view(want), path=container_path)
    plan.file.pop("content", None)
    if cur is not None and force is False:
        plan.file = dict(view(cur), path=container_path)
        plan.file.pop("content", None)
        plan.after = dict(plan.before)
        return plan
    plan.after = view(want, data)
    args = dict(mode=want["mode"], uid=want["uid"], gid=want["gid"])
    if cur is None:
        plan.add("write", "create %s" % container_path, data=data, **args)
    elif force or cur["sha256"] != digest:
        why = "forced" if force and cur["sha256"] == digest else "content changed"
        plan.add("write", "write %s: %s" % (container_path, why), data=data, **args)
    else:
        why = ["%s %s -> %s" % (k, plan.before[k], plan.after[k]) for k in ("mode", "owner", "group")
               if plan.before[k] != plan.after[k]]
        if why:
            plan.add("attributes", "update %s: %s" % (container_path, ", ".join(why)), **args)
    return plan


def _write(cr, plan, data, mode, uid, gid):
    cr.write_file(plan.container_path, data, mode, uid, gid)


def _attributes(cr, plan, mode, uid, gid):
    cr.set_attributes(plan.container_path, mode, uid, gid)


STEPS = {"write": _write, "attributes": _attributes}


def apply(plan):
    """Execute ``plan`` in the same container (by ID; it must still run); returns the file as
    it is after (mode, owner, group, size, checksum, path)."""
    with ccopy.ContainerRoot(plan.root, plan.name) as cr:
        apply_steps(STEPS, plan, cr, plan)
        info = cr.stat_file(plan.container_path)
    out = dict(view(info), path=plan.container_path)
    out.pop("content", None)
    return out
