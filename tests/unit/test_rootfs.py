"""The container-side mount set-up of engine/rootfs.py, against the recording syscall fake.

No real mount happens: the fake records each call (with the working directory it ran in), the
file work (directories, device-node placeholders, symlinks) happens in a temporary rootfs.
"""
import errno
import os
import re
import stat

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import rootfs as R
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.syscalls import (
    MNT_DETACH,
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    MS_SLAVE,
)
from ansible_collections.mydocker.runtime.tests.unit.fakes import RecordingSyscalls

RO_REMOUNT = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC

# what the fake "kernel" shows under /proc and /sys of the fixture: some masked paths are absent
PROC_DIRS = ["acpi", "scsi", "bus", "sys"]
PROC_FILES = ["kcore", "keys", "timer_list", "interrupts", "sysrq-trigger"]
ABSENT = ["/proc/latency_stats", "/proc/timer_stats", "/proc/sched_debug", "/proc/fs", "/proc/irq"]


@pytest.fixture
def rootfs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # setup_rootfs chdirs; give the cwd back afterwards
    root = tmp_path / "merged"
    for d in PROC_DIRS:
        (root / "proc" / d).mkdir(parents=True)
    for f in PROC_FILES:
        (root / "proc" / f).write_text("")
    (root / "sys" / "firmware").mkdir(parents=True)
    (root / "etc").mkdir()
    return str(root)


def _targets(fake, **match):
    return [c["target"] for c in fake.named("mount") if all(c[k] == v for k, v in match.items())]


def _setup(rootfs, etc_files=None, volumes=None):
    fake = RecordingSyscalls()
    R.setup_rootfs(rootfs, etc_files or {}, volumes or [], syscalls=fake)
    return fake


def test_whole_sequence(rootfs):
    fake = _setup(rootfs)

    def j(p):
        return os.path.join(rootfs, p)

    seq = [(c.name,) + tuple(c.args.get(k) for k in ("source", "target", "fstype")) for c in fake.calls
           if c.name != "mknod"]
    assert seq == [
        ("mount", None, "/", None),
        ("mount", "proc", j("proc"), "proc"),
        ("mount", "sysfs", j("sys"), "sysfs"),
        ("mount", "tmpfs", j("dev"), "tmpfs"),
        ("mount", "devpts", j("dev/pts"), "devpts"),
        ("mount", "shm", j("dev/shm"), "tmpfs"),
        ("pivot_root", None, None, None),
        ("umount2", None, ".", None),
        ("mount", "tmpfs", "/proc/acpi", "tmpfs"),
        ("mount", "/dev/null", "/proc/kcore", None),
        ("mount", "/dev/null", "/proc/keys", None),
        ("mount", "/dev/null", "/proc/timer_list", None),
        ("mount", "tmpfs", "/proc/scsi", "tmpfs"),
        ("mount", "/dev/null", "/proc/interrupts", None),
        ("mount", "tmpfs", "/sys/firmware", "tmpfs"),
        ("mount", "/proc/bus", "/proc/bus", None),
        ("mount", "/proc/bus", "/proc/bus", None),
        ("mount", "/proc/sys", "/proc/sys", None),
        ("mount", "/proc/sys", "/proc/sys", None),
        ("mount", "/proc/sysrq-trigger", "/proc/sysrq-trigger", None),
        ("mount", "/proc/sysrq-trigger", "/proc/sysrq-trigger", None),
    ]


def test_root_private_first_then_pivot_root_and_old_root_detached(rootfs):
    fake = _setup(rootfs)
    first = fake.calls[0]
    assert first.name == "mount" and first["target"] == "/" and first["source"] is None
    assert first["flags"] & MS_REC and first["flags"] & (MS_PRIVATE | MS_SLAVE)
    assert not hasattr(fake, "chroot") and "chroot" not in [c.name for c in fake.calls]
    [pivot] = fake.named("pivot_root")
    assert (pivot["new_root"], pivot["put_old"]) == (".", ".")
    assert pivot.cwd == os.path.realpath(rootfs)  # pivot_root(".", ".") inside the new root
    i = fake.calls.index(pivot)
    detach = fake.calls[i + 1]
    assert (detach.name, detach["target"], detach["flags"]) == ("umount2", ".", MNT_DETACH)
    # everything the container mounts from its own view (absolute container paths) comes after
    for c in fake.calls[i + 2:]:
        assert c.name == "mount" and not c["target"].startswith(rootfs)
    # everything inside the rootfs before, by host path
    for c in fake.calls[1:i]:
        assert c.name == "mknod" or c["target"].startswith(rootfs + "/")
    assert os.getcwd() == "/"


def test_fresh_proc_and_read_only_sys(rootfs):
    fake = _setup(rootfs)
    [proc] = [c for c in fake.named("mount") if c["fstype"] == "proc"]
    assert proc["source"] == "proc" and proc["target"] == os.path.join(rootfs, "proc")
    assert proc["flags"] == MS_NOSUID | MS_NODEV | MS_NOEXEC and proc["data"] is None
    [sysfs] = [c for c in fake.named("mount") if c["fstype"] == "sysfs"]
    assert sysfs["flags"] & MS_RDONLY and sysfs["target"] == os.path.join(rootfs, "sys")
    assert fake.calls.index(proc) < fake.calls.index(sysfs) < fake.index("pivot_root")


def test_masks_skip_absent_paths(rootfs):
    fake = _setup(rootfs)
    after = fake.named("mount")[len(fake.named("mount")) - 7 - 6:]
    assert all(c.cwd == "/" for c in after)  # after the pivot
    dirs = [c["target"] for c in after if c["fstype"] == "tmpfs"]
    files = [c["target"] for c in after if c["source"] == "/dev/null"]
    assert dirs == ["/proc/acpi", "/proc/scsi", "/sys/firmware"]
    assert files == ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/interrupts"]
    for c in after:
        if c["target"] in dirs:
            assert c["flags"] == MS_RDONLY
        if c["target"] in files:
            assert c["flags"] == MS_BIND
    mounted = {c["target"] for c in after}
    for p in ABSENT:
        assert p not in mounted
    assert set(dirs + files) | {"/proc/latency_stats", "/proc/timer_stats", "/proc/sched_debug"} == \
        set(R.MASKED_PATHS)


def test_read_only_proc_paths_are_bound_then_remounted(rootfs):
    fake = _setup(rootfs)
    for p in ("/proc/bus", "/proc/sys", "/proc/sysrq-trigger"):
        i = fake.index("mount", source=p, target=p, flags=MS_BIND | MS_REC)
        nxt = fake.calls[i + 1]
        assert (nxt["source"], nxt["target"], nxt["flags"]) == (p, p, RO_REMOUNT)
        assert i > fake.index("mount", target="/sys/firmware")  # after the masks
    assert not [c for c in fake.named("mount") if c["target"] in ("/proc/fs", "/proc/irq")]


def test_masks_follow_symlinks_inside_the_rootfs(rootfs):
    os.remove(os.path.join(rootfs, "proc", "kcore"))
    os.symlink("../proc/interrupts", os.path.join(rootfs, "proc", "kcore"))  # resolves in the rootfs
    os.remove(os.path.join(rootfs, "proc", "keys"))
    os.symlink("/nowhere", os.path.join(rootfs, "proc", "keys"))         # dangling: skipped
    os.symlink("/proc/acpi", os.path.join(rootfs, "proc", "timer_stats"))  # a link to a dir: not tmpfs
    fake = _setup(rootfs)
    kcore = fake.calls[fake.index("mount", target="/proc/kcore")]
    assert kcore["source"] == "/dev/null"
    assert "/proc/keys" not in _targets(fake)
    timer_stats = fake.calls[fake.index("mount", target="/proc/timer_stats")]
    assert (timer_stats["source"], timer_stats["fstype"]) == ("/dev/null", None)


def test_dev_is_a_tmpfs_with_only_the_device_nodes(rootfs):
    fake = _setup(rootfs)
    dev = os.path.join(rootfs, "dev")
    i_dev = fake.index("mount", target=dev)
    assert fake.calls[i_dev]["fstype"] == "tmpfs" and fake.calls[i_dev]["flags"] & MS_NOSUID
    nodes = fake.named("mknod")
    assert [(os.path.basename(c["path"]), os.major(c["device"]), os.minor(c["device"])) for c in nodes] == \
        [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)]
    for c in nodes:
        assert os.path.dirname(c["path"]) == dev
        assert stat.S_ISCHR(c["mode"]) and c["mode"] & 0o777 == 0o666
        assert fake.calls.index(c) > i_dev
        assert stat.S_IMODE(os.stat(c["path"]).st_mode) == 0o666
    i_pts = fake.index("mount", target=os.path.join(dev, "pts"))
    pts = fake.calls[i_pts]
    assert pts["fstype"] == "devpts" and "newinstance" in pts["data"].split(",")
    assert "ptmxmode=0666" in pts["data"].split(",")
    i_shm = fake.index("mount", target=os.path.join(dev, "shm"))
    assert fake.calls[i_shm]["fstype"] == "tmpfs" and fake.calls[i_shm]["flags"] & MS_NOEXEC
    assert i_dev < fake.calls.index(nodes[-1]) < i_pts < i_shm
    links = {n: os.readlink(os.path.join(dev, n)) for n in os.listdir(dev) if os.path.islink(os.path.join(dev, n))}
    assert links == {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
                     "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx"}
    assert sorted(os.listdir(dev)) == sorted(["null", "zero", "full", "random", "urandom", "tty", "pts",
                                              "shm"] + list(links))


def test_etc_files_and_volumes_after_dev_before_pivot(rootfs, tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    hostname = tmp_path / "hostname"
    hostname.write_text("box\n")
    data = tmp_path / "data"
    data.mkdir()
    conf = tmp_path / "app.conf"
    conf.write_text("x=1\n")
    os.symlink("/../../..", os.path.join(rootfs, "escape"))  # a volume path through it stays inside
    fake = _setup(rootfs, {"/etc/hosts": str(hosts), "/etc/hostname": str(hostname)}, [
        {"host": str(data), "container": "/data", "ro": False},
        {"host": str(conf), "container": "/escape/cfg/app.conf", "ro": True},
    ])
    i_shm = fake.index("mount", target=os.path.join(rootfs, "dev", "shm"))
    i_pivot = fake.index("pivot_root")
    i_hostname = fake.index("mount", source=str(hostname))
    i_hosts = fake.index("mount", source=str(hosts))
    assert i_shm < i_hostname < i_hosts  # sorted by container path, after /dev
    assert fake.calls[i_hosts]["target"] == os.path.join(rootfs, "etc", "hosts")
    assert fake.calls[i_hosts]["flags"] == MS_BIND | MS_REC
    i_data = fake.index("mount", source=str(data))
    assert i_hosts < i_data < i_pivot
    d = fake.calls[i_data]
    assert (d["target"], d["flags"]) == (os.path.join(rootfs, "data"), MS_BIND | MS_REC)
    assert os.path.isdir(d["target"])
    assert fake.calls[i_data + 1]["source"] == str(conf)  # the rw volume is not remounted
    i_conf = fake.index("mount", source=str(conf), flags=MS_BIND | MS_REC)
    c = fake.calls[i_conf]
    assert c["target"] == os.path.join(rootfs, "cfg", "app.conf") and os.path.isfile(c["target"])
    ro = fake.calls[i_conf + 1]
    assert (ro["source"], ro["target"], ro["flags"]) == (str(conf), c["target"], RO_REMOUNT)
    assert i_conf + 1 < i_pivot


@pytest.mark.parametrize("target", ["dev/pts", "sys", "data"])
def test_a_failing_mount_stops_with_one_clear_error(rootfs, tmp_path, target):
    data = tmp_path / "data"
    data.mkdir()
    fake = RecordingSyscalls()
    full = os.path.join(rootfs, target)
    fake.fail("mount", errno.EPERM, when=lambda c: c["target"] == full)
    with pytest.raises(MyDockerError) as e:
        R.setup_rootfs(rootfs, {}, [{"host": str(data), "container": "/data"}], syscalls=fake)
    msg = str(e.value)
    assert msg == "cannot set up the container's root filesystem: mount %s: Operation not permitted" % full
    assert "\n" not in msg
    assert fake.calls[-1].name == "mount" and fake.calls[-1]["target"] == full  # nothing after it
    assert not fake.named("pivot_root")


def test_a_failing_mknod_names_the_node(rootfs):
    fake = RecordingSyscalls()
    fake.fail("mknod", errno.EPERM, when=lambda c: c["path"].endswith("/random"))
    with pytest.raises(MyDockerError) as e:
        R.setup_rootfs(rootfs, {}, [], syscalls=fake)
    node = os.path.join(rootfs, "dev", "random")
    assert str(e.value) == "cannot set up the container's root filesystem: %s: Operation not permitted" % node
    assert [os.path.basename(c["path"]) for c in fake.named("mknod")] == ["null", "zero", "full", "random"]
    assert fake.calls[-1].name == "mknod"


def test_mount_overlay(tmp_path):
    fake = RecordingSyscalls()
    merged = str(tmp_path / "merged")
    os.mkdir(merged)
    assert R.mount_overlay("/l", "/u", "/w", merged, syscalls=fake) is True
    [c] = fake.calls
    assert (c["source"], c["target"], c["fstype"], c["flags"], c["data"]) == \
        ("overlay", merged, "overlay", 0, "lowerdir=/l,upperdir=/u,workdir=/w")
    bad = RecordingSyscalls()
    bad.fail("mount", errno.EINVAL)
    with pytest.raises(MyDockerError, match=r"^cannot mount the container's root filesystem: mount "):
        R.mount_overlay("/l", "/u", "/w", merged, syscalls=bad)


class _MountTable(RecordingSyscalls):
    """A fake whose umount2 takes the target out of a mount table (unless told to fail)."""

    def __init__(self, table):
        super().__init__()
        self.table = table

    def umount2(self, target, flags=0):
        super().umount2(target, flags)
        self.table.remove(target)


def test_unmount_all_deepest_first_detaching_when_busy(tmp_path, monkeypatch):
    base = str(tmp_path / "c")
    table = ["/", base, base + "/rootfs", base + "/rootfs/data", base + "/rootfs/data/x", base + "x"]
    monkeypatch.setattr(R, "mountpoints", lambda: list(table))
    fake = _MountTable(table)
    fake.fail("umount2", errno.EBUSY, when=lambda c: c["target"] == base + "/rootfs/data" and c["flags"] == 0)
    R.unmount_all(base, syscalls=fake)
    assert [(c["target"][len(base):], c["flags"]) for c in fake.calls] == [
        ("/rootfs/data/x", 0), ("/rootfs/data", 0), ("/rootfs/data", MNT_DETACH), ("/rootfs", 0), ("", 0)]
    assert table == ["/", base + "x"]


def test_unmount_all_reports_what_stays_mounted(tmp_path, monkeypatch):
    base = str(tmp_path / "c")
    monkeypatch.setattr(R, "mountpoints", lambda: [base])
    fake = RecordingSyscalls()
    fake.fail("umount2", errno.EPERM)
    want = "^cannot unmount %s: umount %s: Operation not permitted$" % (re.escape(base), re.escape(base))
    with pytest.raises(MyDockerError, match=want):
        R.unmount_all(base, syscalls=fake)
