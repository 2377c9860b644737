"""Docker-format seccomp profiles compiled to rules (plugins/module_utils/engine/seccomp.py): pure,
no libseccomp, no kernel."""
import json

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import seccomp as S
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.seccomp_profile import DEFAULT_PROFILE

ALLOW = S.ACTIONS["SCMP_ACT_ALLOW"]
EPERM_ACT = S.ACTIONS["SCMP_ACT_ERRNO"] | 1


def _compile(**kw):
    kw.setdefault("machine", "x86_64")
    kw.setdefault("kernel", "6.1.0-18-amd64")
    return S.compile_profile(DEFAULT_PROFILE, **kw)


def _names(plan, action=ALLOW):
    return {n for n, a, c in plan["rules"] if a == action}


def test_default_profile_on_amd64_with_docker_caps():
    plan = _compile()
    assert plan["default"] == EPERM_ACT
    assert plan["arches"] == ["x86_64", "x86", "x32"]
    allowed = _names(plan)
    for n in ("read", "write", "execve", "clone", "socket", "arch_prctl", "modify_ldt", "chroot", "ptrace"):
        assert n in allowed, n
    # CAP_SYS_ADMIN is not among the fourteen: no namespaces, no mounts, no setns
    for n in ("unshare", "mount", "umount2", "setns", "bpf", "init_module", "reboot", "keyctl", "add_key",
              "open_by_handle_at", "clock_settime", "cacheflush", "s390_runtime_instr"):
        assert n not in allowed, n
    # clone only without namespace flags; clone3 fails with ENOSYS so libc falls back to clone
    clones = [c for n, a, c in plan["rules"] if n == "clone"]
    assert clones == [[(0, S.OPS["SCMP_CMP_MASKED_EQ"], 2114060288, 0)]]
    assert ("clone3", S.ACTIONS["SCMP_ACT_ERRNO"] | 38, []) in plan["rules"]
    socket = [c for n, a, c in plan["rules"] if n == "socket"]
    assert socket == [[(0, S.OPS["SCMP_CMP_NE"], 40, 0)]]
    assert len([1 for n, a, c in plan["rules"] if n == "personality"]) == 5


def test_caps_arches_and_kernel_select_rules():
    plan = _compile(caps=list(S.DEFAULT_CAPS) + ["CAP_SYS_ADMIN"])
    allowed = _names(plan)
    assert {"unshare", "mount", "setns", "clone3"} <= allowed
    clones = [c for n, a, c in plan["rules"] if n == "clone"]
    assert clones == [[]]  # unconditioned when CAP_SYS_ADMIN is held
    assert "clone3" not in _names(plan, S.ACTIONS["SCMP_ACT_ERRNO"] | 38)
    arm = _compile(machine="aarch64")
    assert arm["arches"] == ["aarch64", "arm"]
    assert {"cacheflush", "set_tls"} <= _names(arm) and "arch_prctl" not in _names(arm)
    old = _compile(kernel="4.4.0")
    assert "ptrace" not in _names(old)  # minKernel 4.8 (and no CAP_SYS_PTRACE)
    assert "ptrace" in _names(_compile(caps=["CAP_SYS_PTRACE"], kernel="4.4.0"))


def test_custom_profile_args_and_errno():
    prof = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
        {"name": "kill", "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 15, "op": "SCMP_CMP_EQ"}]},
        {"names": ["write"], "action": "SCMP_ACT_KILL_PROCESS", "excludes": {"arches": ["amd64"]}},
    ]}
    plan = S.compile_profile(prof, machine="x86_64", kernel="6.1")
    assert plan["default"] == ALLOW and plan["arches"] == ["x86_64"]
    err = S.ACTIONS["SCMP_ACT_ERRNO"]
    assert plan["rules"] == [("mkdir", err | 13, []),
                             ("kill", err | 1, [(1, 4, 9, 0)]), ("kill", err | 1, [(1, 4, 15, 0)])]


@pytest.mark.parametrize("profile,msg", [
    ([], "must be a JSON object"),
    ({"defaultAction": "SCMP_ACT_NOPE"}, "unknown action"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": [], "action": "SCMP_ACT_ALLOW"}]}, "names"),
    ({"defaultAction": "SCMP_ACT_ERRNO",
      "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                    "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}]},
     "out of range"),
    ({"defaultAction": "SCMP_ACT_ERRNO",
      "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                    "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_XX"}]}]},
     "unknown comparison"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1}, "invalid errnoRet"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["x86_64"]}, "SCMP_ARCH_"),
])
def test_malformed_profiles_one_line(profile, msg):
    with pytest.raises(MyDockerError) as e:
        S.compile_profile(profile, machine="x86_64", kernel="6.1")
    assert msg in str(e.value) and "\n" not in str(e.value)


def test_parse_security_opt(tmp_path):
    assert S.parse_security_opt(None) == ([], "default")
    assert S.parse_security_opt(["seccomp=unconfined"]) == (["seccomp=unconfined"], "unconfined")
    assert S.parse_security_opt(["seccomp:unconfined", "no-new-privileges"])[1] == "unconfined"
    prof = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(prof))
    assert S.parse_security_opt(["seccomp=%s" % path]) == (["seccomp=%s" % path], prof)
    for bad, msg in ((["apparmor=x"], "unsupported --security-opt"), (["seccomp="], "unsupported"),
                     (["no-new-privileges=false"], "unsupported"),
                     (["seccomp=%s" % (tmp_path / "none.json")], "cannot read seccomp profile"),
                     ([""], "invalid --security-opt")):
        with pytest.raises(MyDockerError) as e:
            S.parse_security_opt(bad)
        assert msg in str(e.value)
    path.write_text("{not json")
    with pytest.raises(MyDockerError, match="not valid JSON"):
        S.parse_security_opt(["seccomp=%s" % path])
    path.write_text(json.dumps({"defaultAction": "SCMP_ACT_FOO"}))
    with pytest.raises(MyDockerError, match="unknown action.*p.json"):
        S.parse_security_opt(["seccomp=%s" % path])


def test_kept_default_program(tmp_path, monkeypatch):
    """keep_default (the service's): later starts with the default profile and that cache get the
    same program without building it; other caps, settings or caches are prepared as before."""
    pytest.importorskip("ctypes")
    try:
        S.libseccomp()
    except MyDockerError:
        pytest.skip("libseccomp is not installed")
    cache = str(tmp_path / "seccomp")
    monkeypatch.setattr(S, "_KEPT", {})
    S.keep_default(cache)
    kept = S._KEPT[(cache, None)]
    calls = []
    real = S.compile_profile
    monkeypatch.setattr(S, "compile_profile", lambda *a, **k: calls.append(a) or real(*a, **k))
    assert S.prepare(None, cache=cache) is kept
    assert S.prepare(S.DEFAULT, cache=cache) is kept
    assert calls == []
    other = S.prepare(None, caps=["CAP_CHOWN"], cache=cache)   # other caps: built as before
    assert other is not kept and other.data != kept.data
    assert S.prepare(None, cache=str(tmp_path / "other")) is not kept
    assert len(calls) == 2
    assert S.prepare(S.UNCONFINED, cache=cache) is None
