# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files inside a running container, read and written safely from the host.

The container's root is opened through ``/proc/<pid>/root`` (its mount namespace: volumes and
all), and every path is resolved component by component with ``openat``/``fstatat`` relative to
directory file descriptors, ``O_NOFOLLOW`` everywhere: a symlink inside the container is
followed the way the container would follow it (an absolute target starts again at the
container's root, ``..`` never climbs above it), so no symlink or ``..`` can make a read or a
write land outside the container. A write goes to a new temporary file in the resolved
directory (``O_EXCL``), which is then renamed over the target with ``renameat`` relative to the
same directory descriptor: atomic, and a name swapped for a symlink in between is replaced, not
followed.

Only running containers: a stopped container has no mounted root, and mounting one just to
copy a file into it is what this module does not do (see ``ContainerRoot``).

Plain Python; knows nothing of Ansible."""

import errno
import hashlib
import os
import stat

from . import lifecycle, records
from .errors import MyDockerError
from .records import RUNNING
from .store import Paths

O_PATH = getattr(os, "O_PATH", 0o10000000)
MAX_SYMLINKS = 40


def _parts(path):
    return [p for p in path.split("/") if p not in ("", ".")]


def _oserror(what, path, err):
    return MyDockerError("%s %s: %s" % (what, path, err.strerror or err))


class ContainerRoot:
    """The root directory of running container ``ref``, as a context manager::

        with ContainerRoot(root, "web") as cr:
            info = cr.stat_file("/etc/app.conf")
    """

    def __init__(self, root, ref):
        paths = root if isinstance(root, Paths) else Paths(root)
        rec = records.find(paths, ref)
        if lifecycle.true_status(rec) != RUNNING:
            raise MyDockerError("container %s is not running: files are copied into running containers only "
                                "(start it first)" % rec.name)
        self.rec = rec
        self.name = rec.name
        self.fd = None

    def __enter__(self):
        try:
            self.fd = os.open("/proc/%d/root" % self.rec.pid, O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as e:
            raise _oserror("cannot open the root of container", self.name, e)
        # the PID was the container's when we opened its root (not a new process of that number)
        if not lifecycle.pid_alive(self.rec.pid, self.rec.pid_start):
            self.close()
            raise MyDockerError("container %s is not running: files are copied into running containers only "
                                "(start it first)" % self.name)
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    # -----------------------------------------------------------------------------------------

    def resolve(self, path):
        """(directory fd, last name) of ``path`` resolved inside the container; the caller closes
        the fd. The last component is followed when it is a symlink (as ``cp`` writes through
        one), inside the container too. A missing last component is fine (a new file)."""
        parts = _parts(path)
        if not parts:
            raise MyDockerError("container path %s names the container's root, not a file" % path)
        stack = [os.dup(self.fd)]
        hops = 0
        try:
            while True:
                p = parts.pop(0)
                if p == "..":
                    if len(stack) > 1:
                        os.close(stack.pop())
                    if not parts:
                        raise MyDockerError("container path %s names a directory, not a file" % path)
                    continue
                try:
                    st = os.stat(p, dir_fd=stack[-1], follow_symlinks=False)
                except OSError as e:
                    if e.errno == errno.ENOENT and not parts:
                        break
                    if e.errno == errno.ENOENT:
                        raise MyDockerError("container path %s: directory %s does not exist in container %s"
                                            % (path, p, self.name))
                    raise _oserror("cannot look up", path, e)
                if stat.S_ISLNK(st.st_mode):
                    hops += 1
                    if hops > MAX_SYMLINKS:
                        raise MyDockerError("container path %s: too many symbolic links" % path)
                    target = os.readlink(p, dir_fd=stack[-1])
                    if target.startswith("/"):
                        while len(stack) > 1:
                            os.close(stack.pop())
                    parts = _parts(target) + parts
                    if not parts:   # a link to the root itself
                        raise MyDockerError("container path %s names a directory, not a file" % path)
                    continue
                if not parts:
                    break
                if not stat.S_ISDIR(st.st_mode):
                    raise MyDockerError("container path %s: %s is not a directory in container %s"
                                        % (path, p, self.name))
                try:
                    fd = os.open(p, O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=stack[-1])
                except OSError as e:   # swapped for a symlink or a file since the stat
                    raise _oserror("cannot open directory", path, e)
                stack.append(fd)
            top = stack.pop()
            return top, p
        finally:
            for fd in stack:
                os.close(fd)

    def stat_file(self, path, want_content=0):
        """None when ``path`` does not exist, else {"mode", "uid", "gid", "size", "sha256"} and
        "content" (bytes) when the file has at most ``want_content`` bytes. Refuses what is
        not a regular file."""
        dfd, name = self.resolve(path)
        try:
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dfd)
            except OSError as e:
                if e.errno == errno.ENOENT:
                    return None
                if e.errno == errno.EISDIR:
                    raise MyDockerError("container path %s is a directory in container %s" % (path, self.name))
                raise _oserror("cannot read", path, e)
        finally:
            os.close(dfd)
        try:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                raise MyDockerError("container path %s is a directory in container %s" % (path, self.name))
            if not stat.S_ISREG(st.st_mode):
                raise MyDockerError("container path %s is not a regular file in container %s" % (path, self.name))
            h = hashlib.sha256()
            keep = [] if st.st_size <= want_content else None
            while True:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                h.update(chunk)
                if keep is not None:
                    keep.append(chunk)
            out = {"mode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid, "size": st.st_size,
                   "sha256": h.hexdigest()}
            if keep is not None:
                out["content"] = b"".join(keep)
            return out
        finally:
            os.close(fd)

    def read_text(self, path, limit=1 << 20):
        """The text of a small file of the container (its /etc/passwd), "" when missing."""
        info = self.stat_file(path, want_content=limit)
        if info is None or "content" not in info:
            return ""
        return info["content"].decode("utf-8", "replace")

    def write_file(self, path, data, mode, uid, gid):
        """Replace ``path`` (or create it) with ``data``, ``mode``, ``uid``:``gid``, atomically."""
        dfd, name = self.resolve(path)
        tmp = ".%s.mydocker-%d-%s" % (name[:100], os.getpid(), os.urandom(4).hex())
        try:
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                             dir_fd=dfd)
            except OSError as e:
                raise _oserror("cannot write", path, e)
            try:
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
                    os.fchown(fd, uid, gid)
                    os.fchmod(fd, mode)    # after chown, which clears set-id bits
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
            except OSError as e:
                try:
                    os.unlink(tmp, dir_fd=dfd)
                except OSError:
                    pass
                if e.errno == errno.EISDIR:
                    raise MyDockerError("container path %s is a directory in container %s" % (path, self.name))
                raise _oserror("cannot write", path, e)
        finally:
            os.close(dfd)

    def set_attributes(self, path, mode, uid, gid):
        """Change the mode and owner of the existing regular file ``path``."""
        dfd, name = self.resolve(path)
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dfd)
        except OSError as e:
            raise _oserror("cannot open", path, e)
        finally:
            os.close(dfd)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise MyDockerError("container path %s is not a regular file in container %s" % (path, self.name))
            os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)
        except OSError as e:
            raise _oserror("cannot change", path, e)
        finally:
            os.close(fd)


# ---------------------------------------------------------------------------------------------
# users and groups of the container (its own /etc/passwd and /etc/group, never the host's)

def parse_passwd(text):
    """{name: (uid, gid)} of a passwd file's text."""
    out = {}
    for line in text.splitlines():
        f = line.split(":")
        if len(f) >= 4 and f[0] and f[2].isdigit() and f[3].isdigit():
            out.setdefault(f[0], (int(f[2]), int(f[3])))
    return out


def parse_group(text):
    """{name: gid} of a group file's text."""
    out = {}
    for line in text.splitlines():
        f = line.split(":")
        if len(f) >= 3 and f[0] and f[2].isdigit():
            out.setdefault(f[0], int(f[2]))
    return out
