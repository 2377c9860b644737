# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The monitor's waiter in C (conmon's role): what ``monitor.WAITER`` does, in ~100 KiB of memory of
its own (a ``python -S`` interpreter alone is ~2.9 MiB USS).

The source is a string here (AnsiballZ ships ``.py`` files only), so a module's zip and the
engine copy carry it and the copy's digest covers it. When a C compiler is on PATH it is built
once per host and source hash into a cache (root: ``/var/cache/mydocker/waiter``, others:
``$XDG_CACHE_HOME/mydocker.runtime/waiter``, default ``~/.cache``; a directory of mode 0700 that
is ignored when it is not ours or others can write to it), then put into each engine copy as
``wait`` beside ``wait.py``: a monitor depends neither on the cache nor on a module's files.
No compiler, a failed build, a copy without the binary, an exec that fails (a ``noexec`` state
root) or ``MYDOCKER_NATIVE_WAITER=0``: the Python waiter, as before. Imports only ``os`` at
the top: the resumed monitor imports this file with ``monitor``.

argv: PYTHON RESUME ROOT CID PID NOTIFY BEGAN DELAY [--log FIFO LOG MAXSIZE MAXFILE] [FD...]
(``monitor.WAITER``'s, after the interpreter and ``resume.py`` to exec when PID 1 is gone).
"""

import os

NAME = "wait"  # the binary's name in an engine copy
ENV = "MYDOCKER_NATIVE_WAITER"

# @REMOVING@, @ATTACHED@: monitor.REMOVING and ATTACHED, put in by the monitor (this file imports nothing of the engine)
SOURCE = r"""/* mydocker monitor, native (monitor.WAITER and logs.RELAY in C; plain C, libc only).
   argv: PYTHON RESUME ROOT CID PID NOTIFY BEGAN DELAY [--log FIFO LOG MAXSIZE MAXFILE] [FD...] */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define FL (O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC)

static char buf[65536]; /* RELAY's os.read size: the same pieces, so the same .ts lines */

static int all_digits(const char *s, size_t n)
{
    size_t i;
    if (n == 0)
        return 0;
    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int open_retry(const char *path, int flags, mode_t mode)
{
    int fd;
    do
        fd = open(path, flags, mode);
    while (fd < 0 && errno == EINTR);
    return fd;
}

static char *joined(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s", a, b);
    return s;
}

/* LOG.(i-1) -> LOG.i down to LOG -> LOG.1, each with its .ts; one file only: drop it */
static void rotate(const char *log, long maxfile)
{
    static const char *const ext[2] = {"", ".ts"};
    size_t n = strlen(log) + 32;
    char *from = malloc(n), *to = malloc(n);
    long i;
    int e;
    if (from && to) {
        for (i = maxfile - 1; i > 0; i--)
            for (e = 0; e < 2; e++) {
                if (i > 1)
                    snprintf(from, n, "%s.%ld%s", log, i - 1, ext[e]);
                else
                    snprintf(from, n, "%s%s", log, ext[e]);
                snprintf(to, n, "%s.%ld%s", log, i, ext[e]);
                rename(from, to);
            }
        if (maxfile <= 1)
            for (e = 0; e < 2; e++) {
                snprintf(from, n, "%s%s", log, ext[e]);
                unlink(from);
            }
    }
    free(from);
    free(to);
}

/* copy the FIFO to LOG until no one writes, one "END_OFFSET MTIME_NS" line per piece in LOG.ts */
static void relay(const char *fifo, const char *log, long long maxsize, long maxfile)
{
    const char *colon = strchr(fifo, ':');
    int held = colon && all_digits(fifo, (size_t)(colon - fifo));
    int rd = open_retry(held ? colon + 1 : fifo, O_RDONLY | O_CLOEXEC, 0);
    char *ts = joined(log, ".ts");
    int lf, tf;
    long long size = 0;
    struct stat st;
    if (held)
        close(atoi(fifo));
    if (rd < 0 || !ts) {
        if (rd >= 0)
            close(rd);
        free(ts);
        return;
    }
    lf = open_retry(log, FL, 0640);
    tf = open_retry(ts, FL, 0640);
    if (lf >= 0 && fstat(lf, &st) == 0)
        size = st.st_size;
    for (;;) {
        ssize_t got = read(rd, buf, sizeof buf);
        size_t pos = 0;
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        while (pos < (size_t)got) {
            char *nl = memchr(buf + pos, '\n', (size_t)got - pos);
            size_t end = nl ? (size_t)(nl - buf) + 1 : (size_t)got;
            if (maxsize && size && size + (long long)(end - pos) > maxsize) {
                if (lf >= 0)
                    close(lf);
                if (tf >= 0)
                    close(tf);
                rotate(log, maxfile);
                lf = open_retry(log, FL, 0640);
                tf = open_retry(ts, FL, 0640);
                size = 0;
            }
            if (lf >= 0 && write_all(lf, buf + pos, end - pos) == 0) {
                size += (long long)(end - pos);
                if (fstat(lf, &st) == 0 && tf >= 0) {
                    char line[64];
                    int k = snprintf(line, sizeof line, "%lld %lld\n", size,
                                     (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec);
                    write_all(tf, line, (size_t)k);
                }
            }
            pos = end;
        }
    }
    close(rd);
    if (lf >= 0)
        close(lf);
    if (tf >= 0)
        close(tf);
    free(ts);
}

int main(int argc, char **argv)
{
    char **a = argv + 2, **next, *mark, code_s[16];
    int n = argc - 2, rest = 7, seen = 0, status = 0, code, i, k = 0;
    pid_t pid;
    struct stat st;
    if (argc < 9) {
        fprintf(stderr, "mydocker wait: PYTHON RESUME ROOT CID PID NOTIFY BEGAN DELAY [--log ...] [FD...]\n");
        return 2;
    }
    if (n >= 12 && strcmp(a[7], "--log") == 0) {
        relay(a[8], a[9], atoll(a[10]), atol(a[11]));
        rest = 12;
    }
    pid = (pid_t)atol(a[3]);
    for (;;) { /* a subreaper: every orphan that comes to us is reaped on the way */
        int s;
        pid_t got = waitpid(-1, &s, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            break; /* ECHILD: PID 1 was never ours */
        }
        if (got == pid) {
            status = s;
            seen = 1;
            break;
        }
    }
    code = !seen ? 255 : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    mark = malloc(strlen(a[1]) + strlen(a[2]) + 32);
    if (mark) {
        sprintf(mark, "%s/containers/%s/@REMOVING@", a[1], a[2]);
        if (stat(mark, &st) == 0) { /* rm -f finishes it itself */
            if (strcmp(a[4], "-") != 0) {
                char line[32];
                int len = snprintf(line, sizeof line, "exited %d\n", code);
                write_all(atoi(a[4]), line, (size_t)len);
            }
            _exit(0);
        }
        if (strcmp(a[4], "-") != 0) { /* an attached run --rm that still waits may finish it (ATTACHED) */
            int lk;
            sprintf(mark, "%s/containers/%s/@ATTACHED@", a[1], a[2]);
            lk = open_retry(mark, O_RDONLY | O_CLOEXEC, 0);
            if (lk >= 0) {
                if (flock(lk, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
                    char line[32];
                    int len = snprintf(line, sizeof line, "handover %d\n", code);
                    if (write_all(atoi(a[4]), line, (size_t)len) == 0) {
                        int r;
                        do /* until the caller is done, or gone */
                            r = flock(lk, LOCK_EX);
                        while (r != 0 && errno == EINTR);
                        sprintf(mark, "%s/containers/%s/config.json", a[1], a[2]);
                        if (r == 0 && stat(mark, &st) != 0 && errno == ENOENT)
                            _exit(0);
                    }
                }
                close(lk);
            }
        }
        free(mark);
    }
    snprintf(code_s, sizeof code_s, "%d", code);
    next = malloc(sizeof(char *) * (size_t)(n + 8));
    if (!next)
        _exit(127);
    next[k++] = argv[1];
    next[k++] = "-I";
    next[k++] = a[0];
    next[k++] = a[1];
    next[k++] = a[2];
    next[k++] = code_s;
    for (i = 4; i < 7; i++)
        next[k++] = a[i];
    for (i = rest; i < n; i++)
        next[k++] = a[i];
    next[k] = NULL;
    execv(argv[1], next);
    _exit(127);
}
"""


def enabled():
    """False when ``MYDOCKER_NATIVE_WAITER=0`` forces the Python waiter."""
    return os.environ.get(ENV) != "0"


def cache_dir():
    """Where built waiters are kept on this host (None: nowhere to keep them)."""
    if os.geteuid() == 0:
        return "/var/cache/mydocker/waiter"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None
    return os.path.join(base, "mydocker.runtime", "waiter")


def _usable(path):
    """``path`` is (made) a directory of ours that nobody else can write to, in one that nobody
    but us (or root) can change either."""
    import stat
    try:
        if not os.path.isdir(path):
            os.makedirs(path, 0o700)
        st, up = os.lstat(path), os.stat(os.path.dirname(path))
    except OSError:
        return False
    return (stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o022
            and up.st_uid in (0, os.geteuid()) and not up.st_mode & 0o022)


def _compile(source, out):
    """Build ``source`` into ``out`` with the host's C compiler. True if built. Linked against the
    host's shared libc first: measured, a waiter then has ~100 KiB USS and ~320 KiB PSS, where a
    static glibc binary has ~700 KiB of both (its libc pages are its own); static only when a
    dynamic link fails."""
    import shutil
    import subprocess
    import tempfile
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return False
    work = tempfile.mkdtemp(prefix=".build-", dir=os.path.dirname(out))
    try:
        src = os.path.join(work, "wait.c")
        with open(src, "w") as f:
            f.write(source)
        for extra in ([], ["-static"]):
            exe = os.path.join(work, "wait")
            try:
                p = subprocess.run([cc] + extra + ["-O2", "-s", "-o", exe, src], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120, check=False)
            except (OSError, subprocess.SubprocessError):
                return False
            if p.returncode == 0 and os.path.isfile(exe):
                os.chmod(exe, 0o755)
                os.rename(exe, out)
                return True
        return False
    finally:
        shutil.rmtree(work, ignore_errors=True)


def built(source, cache=None):
    """The path of the waiter built from ``source`` in the cache (built now if it is not there),
    or None: no usable cache, no compiler, a failed build."""
    import hashlib
    cache = cache or cache_dir()
    if not cache or not _usable(cache):
        return None
    path = os.path.join(cache, hashlib.sha256(source.encode()).hexdigest()[:32])
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    return path if _compile(source, path) else None


def install(source, dest, cache=None):
    """Put the waiter built from ``source`` at ``dest`` (a new file in an engine copy being
    written). True when it is there; any failure leaves nothing and returns False."""
    try:
        exe = built(source, cache)
        if exe is None:
            return False
        try:
            os.link(exe, dest)  # the cache's file never changes in place: sharing it is safe
        except OSError:
            import shutil
            shutil.copyfile(exe, dest)
            os.chmod(dest, 0o755)
        return True
    except Exception:
        try:
            os.unlink(dest)
        except OSError:
            pass
        return False
