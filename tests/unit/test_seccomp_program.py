"""The seccomp program cache (plugins/module_utils/engine/seccomp.py: ``prepare`` with a cache
directory, ``Program``): libseccomp generates a profile's BPF program once per state root, later
starts load the stored bytes with prctl(PR_SET_SECCOMP). Real libseccomp, real filters, each in
a forked child (no root needed: no_new_privs first)."""
import ctypes
import errno
import os

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import seccomp as S

try:
    S.libseccomp()
except Exception:  # pragma: no cover - the machine has libseccomp2
    pytest.skip("libseccomp.so.2 is not installed", allow_module_level=True)

if os.uname().machine != "x86_64":  # pragma: no cover
    pytest.skip("syscall numbers below are x86_64's", allow_module_level=True)

SYS_GETCWD = 79
SYS_GETPID = 39
SYS_KEYCTL = 250  # refused (EPERM) by Docker's default profile
PR_SET_NO_NEW_PRIVS = 38


def _errno_in_child(filt, nr):
    """errno of syscall ``nr`` (0 when it succeeded) in a child that loaded ``filt`` (or none)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 255
        try:
            os.close(r)
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
            if filt is not None:
                filt.load()
            rc = libc.syscall(nr, 0, 0, 0, 0)
            os.write(w, b"%d" % (0 if rc >= 0 else ctypes.get_errno()))
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    out = os.read(r, 64)
    os.close(r)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    return int(out)


def _only_file(d):
    names = [n for n in os.listdir(d) if not n.endswith(S.QUICK_SUFFIX)]
    assert len(names) == 1 and names[0].endswith(".bpf"), names
    return os.path.join(d, names[0])


def test_the_program_is_generated_once_then_loaded_as_stored(tmp_path, monkeypatch):
    first = S.prepare("default", cache=str(tmp_path))
    assert isinstance(first, S.Program) and len(first.data) % 8 == 0
    path = _only_file(tmp_path)
    assert os.stat(path).st_mode & 0o777 == 0o600

    def built_again(plan):
        raise AssertionError("libseccomp built the filter again")

    monkeypatch.setattr(S, "Filter", built_again)
    again = S.prepare("default", cache=str(tmp_path))
    assert again.data == first.data


def test_a_damaged_program_is_not_loaded_but_generated_again(tmp_path, monkeypatch):
    first = S.prepare("default", cache=str(tmp_path))
    path = _only_file(tmp_path)
    with open(path, "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    built = []
    real = S.Filter

    def counting(plan):
        built.append(plan)
        return real(plan)

    monkeypatch.setattr(S, "Filter", counting)
    again = S.prepare("default", cache=str(tmp_path))
    assert len(built) == 1 and again.data == first.data
    assert S._read_program(path) == first.data  # stored whole again


def test_the_stored_program_refuses_what_libseccomp_refuses(tmp_path):
    program = S.prepare("default", cache=str(tmp_path))
    program = S.prepare("default", cache=str(tmp_path))  # the stored one
    direct = S.prepare("default")
    assert isinstance(direct, S.Filter)
    assert _errno_in_child(None, SYS_KEYCTL) != errno.EPERM  # not refused without a filter
    assert _errno_in_child(direct, SYS_KEYCTL) == errno.EPERM
    assert _errno_in_child(program, SYS_KEYCTL) == errno.EPERM
    assert _errno_in_child(program, SYS_GETPID) == 0


def test_each_profile_has_its_own_program(tmp_path):
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EACCES}]}
    default = S.prepare("default", cache=str(tmp_path))
    custom = S.prepare(profile, cache=str(tmp_path))
    assert len([n for n in os.listdir(tmp_path) if n.endswith(".bpf")]) == 2 and custom.data != default.data
    assert _errno_in_child(custom, SYS_GETCWD) == errno.EACCES
    assert _errno_in_child(custom, SYS_KEYCTL) != errno.EPERM
    assert S.prepare("unconfined", cache=str(tmp_path)) is None


def test_the_default_program_is_found_without_libseccomp_or_the_profile(tmp_path, monkeypatch):
    first = S.prepare("default", cache=str(tmp_path))
    names = [n for n in os.listdir(tmp_path) if n.endswith(S.QUICK_SUFFIX)]
    assert len(names) == 1
    with open(os.path.join(tmp_path, names[0])) as f:
        program, lib, ident = f.read().split("\n")[:3]
    assert program == _only_file(tmp_path) and "libseccomp.so" in lib and ident == S._identity(lib)

    def refused(*args, **kwargs):
        raise AssertionError("the slow way was taken")

    with monkeypatch.context() as m:
        m.setattr(S, "libseccomp", refused)
        m.setattr(S, "compile_profile", refused)
        again = S.prepare("default", cache=str(tmp_path))
        assert again.data == first.data
        assert _errno_in_child(again, SYS_KEYCTL) == errno.EPERM
        with pytest.raises(AssertionError, match="slow way"):  # other capabilities: another program
            S.prepare("default", caps=["CAP_SYS_ADMIN"], cache=str(tmp_path))


def test_another_libseccomp_file_or_a_damaged_name_takes_the_slow_way(tmp_path, monkeypatch):
    first = S.prepare("default", cache=str(tmp_path))
    quick = os.path.join(tmp_path, [n for n in os.listdir(tmp_path) if n.endswith(S.QUICK_SUFFIX)][0])
    with open(quick) as f:
        program, lib, ident = f.read().split("\n")[:3]
    compiled = []
    real = S.compile_profile

    def counting(*args, **kwargs):
        compiled.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(S, "compile_profile", counting)
    for text in ("%s\n%s\n1:2:3\n" % (program, lib),            # libseccomp replaced
                 "/elsewhere/x.bpf\n%s\n%s\n" % (lib, ident),    # a program outside the cache
                 "garbage"):
        with open(quick, "w") as f:
            f.write(text)
        assert S.prepare("default", cache=str(tmp_path)).data == first.data
        with open(quick) as f:
            assert f.read() == "%s\n%s\n%s\n" % (program, lib, ident)  # written again
    assert len(compiled) == 3
    os.unlink(program)  # the program gone: generated again, the name still points at it
    assert S.prepare("default", cache=str(tmp_path)).data == first.data and len(compiled) == 4
