"""The container init of engine/process.py, with the recording syscall fake.

``spawn`` and ``enter`` really fork (unprivileged: no namespace is created, the fake records the
unshare/setns calls); the exec at the end is replaced by a function that writes what the fake
recorded, the environment and the argv to a file and exits 0 (which, like a real exec, closes the
close-on-exec error pipe without a word). Each run happens in a throwaway helper process that is
a child subreaper, so the init is reaped there and nothing is left behind.
"""
import errno
import json
import os
import time

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import process as P
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.syscalls import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUTS,
    DEFAULT_CAPS,
    PR_CAP_AMBIENT,
    PR_CAP_AMBIENT_CLEAR_ALL,
    PR_CAPBSET_DROP,
    PR_SET_CHILD_SUBREAPER,
    PR_SET_NO_NEW_PRIVS,
    LinuxSyscalls,
)
from ansible_collections.mydocker.runtime.tests.unit.fakes import RecordingSyscalls

LAST_CAP = 40
FOURTEEN = {0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31}


class Run:
    def __init__(self, data):
        self.calls = [(n, a) for n, a, cwd in data["calls"]]
        self.env = data["env"]
        self.argv = data["argv"]
        self.seccomp = data["seccomp"]

    def index(self, syscall, **args):
        for i, (n, a) in enumerate(self.calls):
            if n == syscall and all(a.get(k) == v for k, v in args.items()):
                return i
        raise AssertionError("no %s(%s) in %r" % (syscall, args, self.calls))

    def named(self, name):
        return [a for n, a in self.calls if n == name]


@pytest.fixture
def recorder(tmp_path, monkeypatch):
    """Replace the final exec by a dump of the fake's record; returns the dump's path."""
    out = str(tmp_path / "exec.json")

    def fake_exec(argv, env, errw, filt=None):
        fake = fake_exec.fake
        fake.mark("exec")
        with open(out, "w") as f:
            json.dump({"calls": [[c.name, c.args, c.cwd] for c in fake.calls], "env": env,
                       "argv": list(argv), "seccomp": filt is not None}, f)
        os._exit(0)

    monkeypatch.setattr(P, "_exec", fake_exec)
    fake_exec.out = out
    return fake_exec


@pytest.fixture
def rootfs(tmp_path):
    root = tmp_path / "merged"
    (root / "proc").mkdir(parents=True)
    (root / "etc").mkdir()
    return str(root)


def _in_helper(tmp_path, body):
    """Run ``body()`` in a forked child subreaper; its MyDockerError comes back as (msg, code)."""
    err = str(tmp_path / "error.json")
    helper = os.fork()
    if helper == 0:
        code = 70
        try:
            LinuxSyscalls().prctl(PR_SET_CHILD_SUBREAPER, 1)
            try:
                code = body()
            except MyDockerError as e:
                with open(err, "w") as f:
                    json.dump([str(e), e.code], f)
                code = 72
        finally:
            os._exit(code)
    status = os.waitpid(helper, 0)[1]
    code = os.waitstatus_to_exitcode(status)
    if code == 72:
        with open(err) as f:
            return tuple(json.load(f))
    assert code == 0, "helper exited %d" % code
    return None


def _spawn(tmp_path, recorder, spec, fake, cgroup=None):
    recorder.fake = fake

    def body():
        null = os.open(os.devnull, os.O_RDWR)
        sp = P.spawn(spec, (null, null, null), syscalls=fake, cgroup=cgroup)
        sp.go()
        return P.wait(sp.pid)

    failed = _in_helper(tmp_path, body)
    if failed:
        return failed
    with open(recorder.out) as f:
        return Run(json.load(f))


def _spec(rootfs, **kw):
    spec = {"rootfs": rootfs, "hostname": "box1", "cmd": ["/bin/echo", "a b", "c"], "env": {"FOO": "bar"},
            "etcFiles": {}, "volumes": []}
    spec.update(kw)
    return spec


def test_spawn_init_steps(tmp_path, recorder, rootfs, monkeypatch):
    monkeypatch.setenv("MYDOCKER_HOST_ONLY", "leak")
    run = _spawn(tmp_path, recorder, _spec(rootfs), RecordingSyscalls(last_cap=LAST_CAP))
    assert isinstance(run, Run), run
    names = [n for n, a in run.calls]
    # the namespaces: exactly these five, no user namespace, before anything else
    assert names[0] == "unshare" and names.count("unshare") == 1
    assert run.calls[0][1]["flags"] == CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID
    # root file system first, then the hostname and lo, then privileges cut, then exec
    i_pivot = run.index("pivot_root")
    i_host = run.index("sethostname", name="box1")
    i_lo = run.index("link_up", name="lo")
    i_nnp = run.index("prctl", option=PR_SET_NO_NEW_PRIVS, arg2=1)
    i_capset = run.index("capset")
    i_exec = run.index("exec")
    assert i_pivot < i_host < i_lo < i_nnp < i_capset < i_exec == len(run.calls) - 1
    # capabilities: bounding set dropped to the fourteen, ambient cleared, then capset of exactly them
    dropped = [a["arg2"] for a in run.named("prctl") if a["option"] == PR_CAPBSET_DROP]
    assert dropped == sorted(set(range(LAST_CAP + 1)) - FOURTEEN)
    assert run.index("prctl", option=PR_CAP_AMBIENT, arg2=PR_CAP_AMBIENT_CLEAR_ALL) < i_capset
    assert all(run.index("prctl", option=PR_CAPBSET_DROP, arg2=c) < i_capset for c in dropped)
    assert run.named("capset")[0]["mask"] == sum(1 << c for c in FOURTEEN)
    assert set(DEFAULT_CAPS.values()) == FOURTEEN
    # the command and exactly this environment (no TERM without a tty, nothing of the host's)
    assert run.argv == ["/bin/echo", "a b", "c"]
    assert run.env == {"PATH": P.DEFAULT_PATH, "HOSTNAME": "box1", "FOO": "bar"}
    assert run.seccomp  # no setting: Docker's default profile, loaded by exec


def test_spawn_without_user_env(tmp_path, recorder, rootfs):
    run = _spawn(tmp_path, recorder, _spec(rootfs, env=None, hostname="h2"), RecordingSyscalls())
    assert run.env == {"PATH": P.DEFAULT_PATH, "HOSTNAME": "h2"}


def test_a_failing_mount_in_the_middle_is_one_clear_error(tmp_path, recorder, rootfs):
    fake = RecordingSyscalls()
    shm = os.path.join(rootfs, "dev", "shm")
    fake.fail("mount", errno.EACCES, when=lambda c: c["target"] == shm)
    got = _spawn(tmp_path, recorder, _spec(rootfs), fake)
    assert got == ("cannot set up the container's root filesystem: mount %s: Permission denied" % shm, 127)
    assert not os.path.exists(recorder.out)  # never got to exec


def test_a_failing_unshare_is_reported(tmp_path, recorder, rootfs):
    fake = RecordingSyscalls()
    fake.fail("unshare", errno.EPERM)
    got = _spawn(tmp_path, recorder, _spec(rootfs), fake)
    assert got == ("cannot create the container's namespaces: [Errno 1] unshare: Operation not permitted", 1)


def test_failing_no_new_privs_stops_before_exec(tmp_path, recorder, rootfs):
    fake = RecordingSyscalls()
    fake.fail("prctl", errno.EINVAL, when=lambda c: c["option"] == PR_SET_NO_NEW_PRIVS)
    got = _spawn(tmp_path, recorder, _spec(rootfs), fake)
    assert got == ("container init failed: [Errno 22] prctl: Invalid argument", 127)
    assert not os.path.exists(recorder.out)


class _Cgroup:
    def __init__(self, path):
        self.path = path

    def open_procs(self):
        return self

    def add(self, pid):
        with open(self.path, "a") as f:
            f.write("%d\n" % pid)


class _FullCgroup:
    def open_procs(self):
        return self

    def add(self, pid):
        raise MyDockerError("cgroup: cannot add process to /sys/fs/cgroup/x: No space left on device")


def test_the_init_is_moved_into_its_cgroup_by_its_host_pid_before_it_execs(tmp_path, recorder, rootfs):
    fake = RecordingSyscalls(last_cap=LAST_CAP)
    procs = tmp_path / "cgroup.procs"
    seen = tmp_path / "pid"

    def body():
        null = os.open(os.devnull, os.O_RDWR)
        sp = P.spawn(_spec(rootfs), (null, null, null), syscalls=fake, cgroup=_Cgroup(str(procs)))
        seen.write_text(str(sp.pid))
        sp.go()
        return P.wait(sp.pid)

    recorder.fake = fake
    assert _in_helper(tmp_path, body) is None
    # the host PID (the init's own is 1 in its namespace), written once, before "go" let it exec
    assert procs.read_text() == seen.read_text() + "\n"
    with open(recorder.out) as f:
        assert Run(json.load(f)).argv == ["/bin/echo", "a b", "c"]


class _SlowCgroup(_Cgroup):
    """Joins after a pause: the init must wait for it, however long it takes."""

    def add(self, pid):
        time.sleep(0.3)
        super().add(pid)


def test_go_waits_for_the_cgroup_join_however_late_it_comes(tmp_path, recorder, rootfs):
    procs = tmp_path / "cgroup.procs"
    marks = tmp_path / "marks"

    def body():
        null = os.open(os.devnull, os.O_RDWR)
        sp = P.spawn(_spec(rootfs), (null, null, null), syscalls=RecordingSyscalls(), cgroup=_SlowCgroup(str(procs)))
        sp.go()
        marks.write_text(procs.read_text())  # joined by the time go returned
        return P.wait(sp.pid)

    recorder.fake = RecordingSyscalls()
    assert _in_helper(tmp_path, body) is None
    assert marks.read_text().strip().isdigit()


def test_a_cgroup_the_init_cannot_join_is_one_clear_error_from_go(tmp_path, recorder, rootfs):
    got = _spawn(tmp_path, recorder, _spec(rootfs), RecordingSyscalls(), cgroup=_FullCgroup())
    assert got == ("cgroup: cannot add process to /sys/fs/cgroup/x: No space left on device", 1)
    assert not os.path.exists(recorder.out)  # never got to exec


def test_a_failed_join_leaves_no_child_behind(tmp_path, recorder, rootfs):
    """The init is killed and reaped, and so is the child that forked it: nothing is left to the
    subreaper."""
    left = tmp_path / "left"

    def body():
        null = os.open(os.devnull, os.O_RDWR)
        sp = P.spawn(_spec(rootfs), (null, null, null), syscalls=RecordingSyscalls(), cgroup=_FullCgroup())
        try:
            sp.go()
        except MyDockerError:
            pass
        try:
            os.waitpid(-1, os.WNOHANG)
            left.write_text("a child")
        except ChildProcessError:
            left.write_text("none")
        return 0

    recorder.fake = RecordingSyscalls()
    assert _in_helper(tmp_path, body) is None
    assert left.read_text() == "none"


def test_enter_joins_the_namespaces_in_order_and_cuts_privileges(tmp_path, recorder, monkeypatch):
    monkeypatch.setenv("MYDOCKER_HOST_ONLY", "leak")
    fake = RecordingSyscalls(last_cap=LAST_CAP)
    recorder.fake = fake
    cg = _Cgroup(str(tmp_path / "cgroup.procs"))
    spec = {"hostname": "box1", "env": {"FOO": "bar"}}
    null = os.open(os.devnull, os.O_RDWR)
    try:
        pid = P.enter(os.getpid(), cg, spec, ["/bin/true", "x"], (null, null, null), env={"EXTRA": "1"},
                      workdir=str(tmp_path), syscalls=fake)
    finally:
        os.close(null)
    assert P.wait(pid) == 0
    with open(recorder.out) as f:
        run = Run(json.load(f))
    with open(cg.path) as f:
        assert f.read() == "%d\n" % pid  # the intermediate joined the cgroup before anything else
    joined = run.named("setns")
    assert [a["ns"].split(":")[0] for a in joined] == ["ipc", "uts", "net", "pid", "mnt"]
    assert all(a["nstype"] == 0 for a in joined)
    for a, ns in zip(joined, P.NS_ORDER):
        assert a["ns"] == os.readlink("/proc/self/ns/%s" % ns)
    assert run.index("setns") < run.index("prctl", option=PR_SET_NO_NEW_PRIVS, arg2=1) < run.index("capset") \
        < run.index("exec")
    assert run.named("capset")[0]["mask"] == sum(1 << c for c in FOURTEEN)
    assert run.argv == ["/bin/true", "x"]
    assert run.env == {"PATH": P.DEFAULT_PATH, "HOSTNAME": "box1", "FOO": "bar", "EXTRA": "1"}
    assert run.seccomp
    # non-dumpable before anything joins the container
    assert run.index("prctl", option=P.PR_SET_DUMPABLE, arg2=0) < run.index("setns")


def test_enter_into_a_missing_workdir(tmp_path, recorder):
    recorder.fake = RecordingSyscalls()
    null = os.open(os.devnull, os.O_RDWR)
    try:
        with pytest.raises(MyDockerError) as e:
            P.enter(os.getpid(), _Cgroup(str(tmp_path / "procs")), {"hostname": "h"}, ["/bin/true"],
                    (null, null, null), workdir=str(tmp_path / "nope"), syscalls=recorder.fake)
    finally:
        os.close(null)
    assert str(e.value) == "cannot change to directory %s in the container" % (tmp_path / "nope")
    assert e.value.code == 126


@pytest.mark.parametrize("tty,user,want", [
    (False, {}, {"PATH": P.DEFAULT_PATH, "HOSTNAME": "h"}),
    (True, {}, {"PATH": P.DEFAULT_PATH, "HOSTNAME": "h", "TERM": "xterm"}),
    (True, {"TERM": "dumb", "PATH": "/bin"}, {"PATH": "/bin", "HOSTNAME": "h", "TERM": "dumb"}),
    (False, {"A": "1"}, {"PATH": P.DEFAULT_PATH, "HOSTNAME": "h", "A": "1"}),
])
def test_container_env(monkeypatch, tty, user, want):
    monkeypatch.setenv("HOME", "/root-of-the-host")
    assert P.container_env({"hostname": "h", "env": user}, tty) == want


@pytest.mark.parametrize("raw,msg,code", [
    ("127 /x: executable file not found in $PATH", "/x: executable file not found in $PATH", 127),
    ("126 cannot run /x: Permission denied", "cannot run /x: Permission denied", 126),
    ("no code here", "no code here", 1),
])
def test_report_error(raw, msg, code):
    e = P.report_error(raw)
    assert (str(e), e.code) == (msg, code)


# ------------------------------------------------------------------------- the seam

COMPOSED = {"drop_capabilities"}


def _public(cls):
    return {n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n))}


def test_the_fake_and_linux_implement_every_primitive():
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.syscalls import Syscalls
    primitives = _public(Syscalls) - COMPOSED
    assert {"mount", "umount2", "pivot_root", "unshare", "setns", "sethostname", "prctl", "capset",
            "mknod", "link_up", "last_cap"} <= primitives
    for cls in (RecordingSyscalls, LinuxSyscalls):
        missing = [n for n in primitives if getattr(cls, n) is getattr(Syscalls, n)]
        assert missing == [], "%s leaves %s to the interface" % (cls.__name__, missing)
    for n in COMPOSED:  # written once, on the interface
        assert getattr(RecordingSyscalls, n) is getattr(Syscalls, n) is getattr(LinuxSyscalls, n)
    with pytest.raises(NotImplementedError):
        Syscalls().mount(None, "/", None)


def test_drop_capabilities_keeps_what_it_is_told_and_tolerates_unknown_caps():
    fake = RecordingSyscalls(last_cap=5)
    fake.fail("prctl", errno.EINVAL, when=lambda c: c["option"] == PR_CAPBSET_DROP and c["arg2"] == 4)
    fake.fail("prctl", errno.EINVAL, when=lambda c: c["option"] == PR_CAP_AMBIENT)  # kernels before 4.3
    fake.drop_capabilities(keep=[1, 3])
    assert [(c["option"], c["arg2"]) for c in fake.named("prctl")] == \
        [(PR_CAPBSET_DROP, 0), (PR_CAPBSET_DROP, 2), (PR_CAPBSET_DROP, 4), (PR_CAPBSET_DROP, 5),
         (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)]
    assert [c["mask"] for c in fake.named("capset")] == [0b1010]


def test_a_failing_capset_is_not_swallowed():
    fake = RecordingSyscalls(last_cap=3)
    fake.fail("capset", errno.EPERM)
    with pytest.raises(OSError) as e:
        fake.drop_capabilities()
    assert e.value.errno == errno.EPERM


def test_fake_failures_can_be_limited_in_number():
    fake = RecordingSyscalls()
    fake.fail("umount2", errno.EBUSY, times=1)
    with pytest.raises(OSError) as e:
        fake.umount2("/x")
    assert (e.value.errno, e.value.strerror) == (errno.EBUSY, "umount /x: Device or resource busy")
    fake.umount2("/x")
    assert [(c.name, c["target"]) for c in fake.calls] == [("umount2", "/x"), ("umount2", "/x")]


def test_init_switches_to_the_user_after_the_capabilities_and_before_exec(tmp_path, recorder, rootfs):
    run = _spawn(tmp_path, recorder, _spec(rootfs, user="1000:1000"), RecordingSyscalls(last_cap=LAST_CAP))
    assert isinstance(run, Run), run
    i_capset = run.index("capset")
    i_groups = run.index("setgroups", gids=[])
    i_gid = run.index("setresgid", rgid=1000, egid=1000, sgid=1000)
    i_uid = run.index("setresuid", ruid=1000, euid=1000, suid=1000)
    assert i_capset < i_groups < i_gid < i_uid < run.index("exec")


def test_init_without_a_recorded_user_switches_nothing(tmp_path, recorder, rootfs):
    run = _spawn(tmp_path, recorder, _spec(rootfs), RecordingSyscalls())
    assert not run.named("setresuid") and not run.named("setgroups")


def test_a_start_without_a_terminal_loads_no_socket_module():
    """socket (with selectors: ~3 ms) was loaded by every monitor for the init's link_up of lo
    and the terminal's fd passing; lo comes up on libc's socket(2) now, the module only with -t."""
    import subprocess
    import sys
    mu = "ansible_collections.mydocker.runtime.plugins.module_utils"
    code = ("import sys\n"
            "from %s.engine import process, monitor, lifecycle, create, containers\n"
            "from %s.cli import containers as cli\n"
            "before = 'socket' in sys.modules\n"
            "process._load_console()\n"
            "print(before, 'socket' in sys.modules)\n" % (mu, mu))
    out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, check=True,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert out.stdout.split() == [b"False", b"True"]
