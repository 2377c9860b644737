"""The container's mounts and privileges (SPEC 4)."""


def test_mounts_and_masks(md):
    md("run", "-d", "--name", "sec", "busybox", "sleep", "1000")

    def x(*a):
        return md("exec", "sec", *a, check=False)
    assert sorted(x("ls", "/dev").out.split()) == sorted(
        ["fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom",
         "zero"])
    mounts = x("cat", "/proc/mounts").out
    assert "devpts /dev/pts devpts" in mounts and "/dev/shm tmpfs" in mounts
    assert " /sys sysfs ro," in mounts
    assert x("cat", "/proc/kcore").out == ""
    assert x("ls", "/proc/acpi").out == ""
    assert x("sh", "-c", "echo 1 > /proc/sys/kernel/domainname").returncode != 0
    assert x("sh", "-c", "echo 1 > /proc/sysrq-trigger").returncode != 0
    assert x("touch", "/sys/x").returncode != 0
    assert x("ls", "/sys/firmware").out == ""
    # pivot_root, not chroot: the host's root is not reachable
    assert "old" not in x("ls", "/").out
    assert x("sh", "-c", "cat /proc/1/mountinfo | grep -c ' / / '").out.strip() == "1"


def test_capabilities_and_no_new_privs(md):
    status = md("run", "busybox", "cat", "/proc/self/status").out
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    docker_default = 0xa80425fb
    for f in ("CapEff", "CapPrm", "CapBnd"):
        assert int(fields[f].strip(), 16) == docker_default, f
    assert int(fields["CapAmb"].strip(), 16) == 0
    assert fields["NoNewPrivs"].strip() == "1"
    # a dropped capability really is gone: CAP_SYS_ADMIN (mount) and CAP_NET_ADMIN
    assert md("run", "busybox", "mount", "-t", "tmpfs", "t", "/mnt", check=False).returncode != 0
    assert md("run", "busybox", "hostname", "changed", check=False).returncode != 0


def test_namespaces_are_new(md):
    md("run", "-d", "--name", "ns", "busybox", "sleep", "1000")
    import os
    pid = md.inspect("ns")["pid"]
    for ns in ("uts", "pid", "mnt", "net", "ipc"):
        assert os.readlink("/proc/%s/ns/%s" % (pid, ns)) != os.readlink("/proc/self/ns/%s" % ns), ns
    links = [ln for ln in md("exec", "ns", "ip", "-o", "link").out.splitlines() if ln.strip()]
    assert len(links) == 1 and links[0].startswith("1: lo:") and "UP" in links[0]  # only lo, and up
