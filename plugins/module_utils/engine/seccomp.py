# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Seccomp filters from Docker's JSON profile format, through libseccomp (ctypes).

Three steps, so that each runs where it can:

* ``parse_security_opt`` (at create): ``--security-opt`` values checked, a profile file read and
  validated; the record keeps the result (``"default"``, ``"unconfined"`` or the profile).
* ``prepare`` (in the host's context, before the container's process is forked): libseccomp is
  opened and the filter built. The container's root has no libseccomp, so this cannot wait.
* ``Filter.load`` (in the container's process, last thing before execve).

Syscall names the running libseccomp does not know are skipped (newer profiles name newer
syscalls); they stay at the default action.
"""

import ctypes
import errno
import os

from . import jsonio
from .errors import MyDockerError
from .syscalls import DEFAULT_CAPS

ACTIONS = {
    "SCMP_ACT_KILL": 0x00000000, "SCMP_ACT_KILL_THREAD": 0x00000000, "SCMP_ACT_KILL_PROCESS": 0x80000000,
    "SCMP_ACT_TRAP": 0x00030000, "SCMP_ACT_ERRNO": 0x00050000, "SCMP_ACT_TRACE": 0x7FF00000,
    "SCMP_ACT_LOG": 0x7FFC0000, "SCMP_ACT_ALLOW": 0x7FFF0000,
}
OPS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4, "SCMP_CMP_GE": 5,
       "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
_NR_SCMP_ERROR = -1

# uname machine -> (libseccomp architecture, the name Docker profiles use in includes/excludes)
MACHINES = {
    "x86_64": ("SCMP_ARCH_X86_64", "amd64"), "i686": ("SCMP_ARCH_X86", "x86"), "i386": ("SCMP_ARCH_X86", "x86"),
    "aarch64": ("SCMP_ARCH_AARCH64", "arm64"), "armv7l": ("SCMP_ARCH_ARM", "arm"),
    "ppc64le": ("SCMP_ARCH_PPC64LE", "ppc64le"), "s390x": ("SCMP_ARCH_S390X", "s390x"),
    "riscv64": ("SCMP_ARCH_RISCV64", "riscv64"), "mips64": ("SCMP_ARCH_MIPS64", "mips64"),
}

UNCONFINED = "unconfined"
DEFAULT = "default"


def _err(msg):
    return MyDockerError("seccomp profile: %s" % msg)


def _action(name, errno_ret, what):
    if name not in ACTIONS:
        raise _err("%s: unknown action %r (one of %s)" % (what, name, ", ".join(sorted(ACTIONS))))
    code = ACTIONS[name]
    if name in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
        if errno_ret is None:
            errno_ret = errno.EPERM if name == "SCMP_ACT_ERRNO" else 0
        if not isinstance(errno_ret, int) or not 0 <= errno_ret <= 0xFFFF:
            raise _err("%s: invalid errnoRet %r" % (what, errno_ret))
        code |= errno_ret
    return code


def _kernel_at_least(kernel, wanted, what):
    def ver(s):
        out = []
        for part in str(s).split("-", 1)[0].split(".")[:3]:
            digits = "".join(c for c in part if c.isdigit())
            out.append(int(digits or 0))
        return tuple(out)
    if not str(wanted).replace(".", "").isdigit():
        raise _err("%s: invalid minKernel %r" % (what, wanted))
    return ver(kernel) >= ver(wanted)


def _applies(call, caps, arch, kernel, what):
    inc = call.get("includes") or {}
    exc = call.get("excludes") or {}
    if not isinstance(inc, dict) or not isinstance(exc, dict):
        raise _err("%s: includes/excludes must be objects" % what)
    if inc.get("arches") and arch not in inc["arches"]:
        return False
    if inc.get("caps") and not set(inc["caps"]) <= caps:
        return False
    if inc.get("minKernel") and not _kernel_at_least(kernel, inc["minKernel"], what):
        return False
    if exc.get("arches") and arch in exc["arches"]:
        return False
    if exc.get("caps") and set(exc["caps"]) & caps:
        return False
    if exc.get("minKernel") and _kernel_at_least(kernel, exc["minKernel"], what):
        return False
    return True


def _args(call, what):
    conds = []
    for a in call.get("args") or []:
        try:
            idx, op = int(a["index"]), a["op"]
            va, vb = int(a.get("value") or 0), int(a.get("valueTwo") or 0)
        except (KeyError, TypeError, ValueError):
            raise _err("%s: each arg needs index, op and value" % what)
        if op not in OPS:
            raise _err("%s: unknown comparison %r" % (what, op))
        if not 0 <= idx <= 5 or not 0 <= va < 1 << 64 or not 0 <= vb < 1 << 64:
            raise _err("%s: arg index or value out of range" % what)
        conds.append((idx, OPS[op], va, vb))
    return conds


def compile_profile(profile, caps=None, machine=None, kernel=None):
    """The filter a Docker-format ``profile`` means for this host: ``{"default": action,
    "arches": [libseccomp arch names to add], "rules": [(syscall name, action, [(arg, op, a, b)])]}``.
    Pure (no libseccomp); raises MyDockerError with one line for a malformed profile.

    ``caps``: the container's capability names (default: Docker's fourteen); ``machine`` and
    ``kernel`` default to this host's (``os.uname()``)."""
    if not isinstance(profile, dict):
        raise _err("must be a JSON object")
    caps = set(DEFAULT_CAPS if caps is None else caps)
    uname = os.uname()
    machine = machine or uname.machine
    kernel = kernel or uname.release
    native, arch = MACHINES.get(machine, ("", machine))
    default = _action(profile.get("defaultAction"), profile.get("defaultErrnoRet"), "defaultAction")
    arches = list(profile.get("architectures") or [])
    for m in profile.get("archMap") or []:
        if isinstance(m, dict) and m.get("architecture") == native:
            arches += [m["architecture"]] + list(m.get("subArchitectures") or [])
    if not all(isinstance(a, str) and a.startswith("SCMP_ARCH_") for a in arches):
        raise _err("architectures must be SCMP_ARCH_* names")
    rules = []
    calls = profile.get("syscalls") or []
    if not isinstance(calls, list):
        raise _err("syscalls must be a list")
    for i, call in enumerate(calls):
        what = "syscalls[%d]" % i
        if not isinstance(call, dict):
            raise _err("%s must be an object" % what)
        names = call.get("names") or ([call["name"]] if call.get("name") else [])
        if not names or not all(isinstance(n, str) and n for n in names):
            raise _err("%s: names must be a list of syscall names" % what)
        action = _action(call.get("action"), call.get("errnoRet"), what)
        conds = _args(call, what)
        if not _applies(call, caps, arch, kernel, what):
            continue
        indexes = [c[0] for c in conds]
        # several conditions on one argument cannot be ANDed in one rule: each is a rule (OR)
        groups = [[c] for c in conds] if len(set(indexes)) != len(indexes) else [conds]
        for n in names:
            for g in groups:
                rules.append((n, action, g))
    seen = []
    for a in arches:
        name = a[len("SCMP_ARCH_"):].lower()
        if name not in seen:
            seen.append(name)
    return {"default": default, "arches": seen, "rules": rules}


def load_profile_file(path):
    """A profile file as a dict (checked by compiling it for this host)."""
    try:
        with open(path) as f:
            profile = jsonio.loads(f.read())
    except OSError as e:
        raise MyDockerError("cannot read seccomp profile %s: %s" % (path, e.strerror))
    except ValueError as e:
        raise MyDockerError("seccomp profile %s is not valid JSON: %s" % (path, e))
    try:
        compile_profile(profile)
    except MyDockerError as e:
        raise MyDockerError("%s (%s)" % (e, path))
    return profile


def parse_security_opt(opts):
    """``(options as given, seccomp setting)`` for ``--security-opt`` values: ``seccomp=unconfined``,
    ``seccomp=/path/profile.json`` (read now: the container keeps the profile it was created with)
    and ``no-new-privileges`` (always on). The setting is "default", "unconfined" or a profile."""
    setting = DEFAULT
    given = []
    for opt in opts or []:
        if not isinstance(opt, str) or not opt:
            raise MyDockerError("invalid --security-opt %r" % (opt,))
        key, sep, value = opt.partition("=")
        if not sep:
            key, sep, value = opt.partition(":")
        if key == "seccomp" and value:
            setting = UNCONFINED if value == UNCONFINED else load_profile_file(value)
        elif key == "no-new-privileges" and value in ("", "true"):
            pass
        else:
            raise MyDockerError("unsupported --security-opt %r (use seccomp=unconfined, seccomp=PROFILE.json "
                                "or no-new-privileges)" % opt)
        given.append(opt)
    return given, setting


# ------------------------------------------------------------------ libseccomp

class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


_LIB = None


def libseccomp():
    """libseccomp.so.2 with typed functions; raises MyDockerError when it is not installed."""
    global _LIB
    if _LIB is None:
        try:
            lib = ctypes.CDLL("libseccomp.so.2")
        except OSError:
            raise MyDockerError("seccomp: libseccomp.so.2 not found (install libseccomp2, or run with "
                                "--security-opt seccomp=unconfined)")
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_init.argtypes = [ctypes.c_uint32]
        lib.seccomp_release.restype = None
        lib.seccomp_release.argtypes = [ctypes.c_void_p]
        lib.seccomp_load.argtypes = [ctypes.c_void_p]
        lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
        lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                               ctypes.POINTER(_ArgCmp)]
        _LIB = lib
    return _LIB


class Filter:
    """A libseccomp filter built from a compiled profile; ``load()`` applies it to the caller."""

    def __init__(self, plan):
        self.lib = lib = libseccomp()
        self.skipped = []
        self.ctx = lib.seccomp_init(plan["default"])
        if not self.ctx:
            raise MyDockerError("seccomp: cannot initialise a filter")
        permissive = plan["default"] in (ACTIONS["SCMP_ACT_ALLOW"], ACTIONS["SCMP_ACT_LOG"])
        for name in plan["arches"]:
            token = lib.seccomp_arch_resolve_name(name.encode())
            rc = lib.seccomp_arch_add(self.ctx, token) if token else -errno.EINVAL
            if rc < 0 and rc != -errno.EEXIST:
                self.skipped.append("arch " + name)
        for name, action, conds in plan["rules"]:
            nr = lib.seccomp_syscall_resolve_name(name.encode())
            if nr == _NR_SCMP_ERROR:
                self.skipped.append(name)  # unknown to this libseccomp
                continue
            if action == plan["default"]:
                continue  # libseccomp refuses rules that change nothing
            arr = (_ArgCmp * max(len(conds), 1))(*[_ArgCmp(*c) for c in conds])
            rc = lib.seccomp_rule_add_array(self.ctx, action, nr, len(conds), arr)
            if rc < 0:
                if permissive:  # a deny rule lost would be a hole
                    raise MyDockerError("seccomp: cannot add the rule for %s: %s" % (name, os.strerror(-rc)))
                self.skipped.append(name)

    def load(self):
        rc = self.lib.seccomp_load(self.ctx)
        if rc < 0:
            raise MyDockerError("cannot load the seccomp filter: %s" % os.strerror(-rc))

    def release(self):
        if self.ctx:
            self.lib.seccomp_release(self.ctx)
            self.ctx = None

    def __del__(self):
        try:
            self.release()
        except Exception:
            pass

    def export(self):
        """The BPF program libseccomp generates for this filter (what ``load`` would load)."""
        import tempfile
        self.lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
        with tempfile.TemporaryFile() as f:
            rc = self.lib.seccomp_export_bpf(self.ctx, f.fileno())
            if rc < 0:
                raise MyDockerError("cannot export the seccomp filter: %s" % os.strerror(-rc))
            f.seek(0)
            return f.read()


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
_BPF_INSN = 8  # struct sock_filter: u16 code, u8 jt, u8 jf, u32 k
_BPF_MAX = 4096  # BPF_MAXINSNS


class Program:
    """A BPF program libseccomp generated once (kept under the state root, :func:`prepare`),
    loaded with prctl(PR_SET_SECCOMP) as libseccomp's seccomp_load does: building the filter and
    generating the program cost ~20 ms of every start. Everything the child needs is made here,
    before the fork; ``load`` is one call."""

    def __init__(self, data):
        self.data = data
        self._buf = ctypes.create_string_buffer(data, len(data))
        self._prog = _SockFprog(len(data) // _BPF_INSN, ctypes.cast(self._buf, ctypes.c_void_p))
        self._libc = ctypes.CDLL(None, use_errno=True)

    def load(self):
        if self._libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(self._prog), 0, 0) != 0:
            raise MyDockerError("cannot load the seccomp filter: %s" % os.strerror(ctypes.get_errno()))


def _program_key(plan):
    """What the generated program depends on: the compiled profile, libseccomp's version and the
    kernel (libseccomp asks the kernel which actions and flags it has)."""
    from .store import fast_hash
    lib = libseccomp()
    ver = "?"
    try:
        class _Ver(ctypes.Structure):
            _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint)]
        lib.seccomp_version.restype = ctypes.POINTER(_Ver)
        v = lib.seccomp_version().contents
        ver = "%d.%d.%d" % (v.major, v.minor, v.micro)
    except (AttributeError, ValueError):
        pass
    text = jsonio.dumps([plan, ver, os.uname().release, os.uname().machine], sort_keys=True)
    return fast_hash("sha256", text.encode()).hexdigest()[:32]


def _read_program(path):
    """The program stored at ``path`` when it is whole (its own digest at the end), else None."""
    from .store import fast_hash
    try:
        with open(path, "rb") as f:
            raw = f.read(_BPF_MAX * _BPF_INSN + 33)
    except OSError:
        return None
    data, digest = raw[:-32], raw[-32:]
    if not data or len(data) % _BPF_INSN or len(data) > _BPF_MAX * _BPF_INSN:
        return None
    return data if fast_hash("sha256", data).digest() == digest else None


_KEPT = {}  # keep_default(): (cache directory, caps) -> the default profile's Program, for a long-lived process


def keep_default(cache):
    """Prepare the default profile's program once for the rest of this process (``mydocker
    system service``: ~2 ms of every start in the monitors forked from it)."""
    _KEPT[(cache, None)] = prepare(DEFAULT, cache=cache)


def prepare(setting, caps=None, cache=None):
    """What a start loads for a record's seccomp setting ("default" or None, "unconfined", a
    profile), built in the host's context; None when unconfined. With ``cache`` (a directory of the
    state root), the generated program is kept there by what it depends on and loaded as it is
    (:class:`Program`); else a libseccomp ``Filter``."""
    if setting == UNCONFINED:
        return None
    quick = None
    if setting in (None, DEFAULT):
        kept = _KEPT.get((cache, None if caps is None else tuple(sorted(caps))))
        if kept is not None:
            return kept
        if cache is not None:
            quick = _quick_name(cache, caps)
            data = _read_quick(quick)
            if data is not None:
                return Program(data)
        from .seccomp_profile import DEFAULT_PROFILE  # only to compile it: a quick name spares that
        setting = DEFAULT_PROFILE
    plan = compile_profile(setting, caps)
    if cache is None:
        return Filter(plan)
    path = os.path.join(cache, _program_key(plan) + ".bpf")
    data = _read_program(path)
    if data is None:
        filt = Filter(plan)
        try:
            data = filt.export()
        finally:
            filt.release()
        if not data or len(data) % _BPF_INSN:
            raise MyDockerError("seccomp: libseccomp exported a program of %d bytes" % len(data))
        from .store import fast_hash, makedirs, write_atomic
        makedirs(cache, 0o700)
        write_atomic(path, data + fast_hash("sha256", data).digest(), 0o600, sync_dir=False, fsync=False)
    if quick is not None:
        _write_quick(quick, path)
    return Program(data)


# The default profile's program found without compiling the profile or loading libseccomp (~2 ms
# of every start, in the monitor): ``<cache>/<name>.default`` names the program file and the
# libseccomp file that generated it (with its inode, size and mtime). The name covers the rest of
# what the program depends on: the size and mtime of this file, of the profile's and of
# syscalls.py (the default capabilities), the capabilities and the kernel. No name (the engine in
# a zip), another libseccomp file or a program that is not whole: the slow way, which writes the
# name again.
QUICK_SUFFIX = ".default"


def _quick_name(cache, caps):
    from . import syscalls
    from .store import fast_hash
    profile = os.path.join(os.path.dirname(__file__), "seccomp_profile.py")  # the file, not imported
    try:
        stats = [os.stat(f) for f in (__file__, profile, syscalls.__file__)]
    except OSError:
        return None
    u = os.uname()
    text = "%s|%s|%s|%s" % (" ".join("%d:%d" % (st.st_size, st.st_mtime_ns) for st in stats),
                            "-" if caps is None else ",".join(sorted(caps)), u.release, u.machine)
    return os.path.join(cache, fast_hash("sha256", text.encode()).hexdigest()[:32] + QUICK_SUFFIX)


def _identity(path):
    st = os.stat(path)
    return "%d:%d:%d" % (st.st_ino, st.st_size, st.st_mtime_ns)


def _read_quick(quick):
    """The program ``quick`` names, when it and its libseccomp are as they were; else None."""
    if quick is None:
        return None
    try:
        with open(quick) as f:
            program, lib, ident = f.read().split("\n")[:3]
        if os.path.dirname(program) != os.path.dirname(quick) or _identity(lib) != ident:
            return None
    except (OSError, ValueError):
        return None
    return _read_program(program)


def _loaded_libseccomp():
    """The file of the libseccomp this process loaded (/proc/self/maps), or None."""
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.rstrip("\n").partition("/")[2]
                if "/libseccomp.so" in "/" + path:
                    return "/" + path
    except OSError:
        pass
    return None


def _write_quick(quick, program):
    lib = _loaded_libseccomp()
    if lib is None:
        return
    from .store import write_atomic
    try:
        write_atomic(quick, "%s\n%s\n%s\n" % (program, lib, _identity(lib)), 0o600, sync_dir=False, fsync=False)
    except OSError:
        pass  # only the quick way is lost


def load(filt):
    """Apply ``filt`` (from ``prepare``) to the calling process; nothing when it is None."""
    if filt is not None:
        filt.load()
