"""Hostile input and hostile containers: what an attacker controls must not reach the host.

Archives whose metadata names files outside themselves, a container trying to gain privileges
with namespaces, a watcher racing for the exec'd process's /proc/PID/exe, a namespace on one of
our bridges reaching a listener the host bound to 127.0.0.1."""
import io
import json
import os
import tarfile

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import images
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError


def _add_bytes(tf, name, data, mode=0o644):  # --- archives
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = mode
    tf.addfile(ti, io.BytesIO(data))


def _add_symlink(tf, name, target):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.SYMTYPE
    ti.linkname = target
    tf.addfile(ti)


def _add_dir(tf, name):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = 0o755
    tf.addfile(ti)


def _layer_bytes(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            _add_bytes(tf, name, data)
    return buf.getvalue()


@pytest.fixture
def host_secret(tmp_path):
    """A valid layer tarball and a config on the host, outside any archive: what a traversal
    would read. Its marker file must never show up in an image."""
    d = tmp_path / "host"
    d.mkdir()
    (d / "layer.tar").write_bytes(_layer_bytes({"HOST_SECRET": b"from the host\n"}))
    (d / "config.json").write_text(json.dumps({"config": {"Cmd": ["sh"]}}))
    return d


def _docker_archive(path, layers, config="config.json", extra=None):
    """A ``docker save`` archive whose manifest names ``layers`` and ``config`` as given; it holds a
    harmless l1/layer.tar and config.json of its own, and ``extra(tf)`` may add members."""
    with tarfile.open(str(path), "w") as tf:
        manifest = [{"Config": config, "RepoTags": ["x:latest"], "Layers": layers}]
        _add_bytes(tf, "manifest.json", json.dumps(manifest).encode())
        _add_bytes(tf, "config.json", json.dumps({"config": {"Cmd": ["sh"]}}).encode())
        _add_dir(tf, "l1")
        _add_bytes(tf, "l1/layer.tar", _layer_bytes({"inside": b"ok\n"}))
        if extra:
            extra(tf)
    return str(path)


def _oci_archive(path, manifest_digest, extra=None):
    with tarfile.open(str(path), "w") as tf:
        _add_bytes(tf, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
        _add_bytes(tf, "index.json", json.dumps({"schemaVersion": 2, "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
             "size": 1}]}).encode())
        if extra:
            extra(tf)
    return str(path)


def _refused(md, archive, name, *expect):
    """Import through the CLI and the engine API: both refuse with one line naming the entry,
    and no image (record, tar, layer) is left."""
    p = md("image", "import", archive, name, check=False)
    assert p.returncode != 0, p.out
    lines = p.err.strip().splitlines()
    assert len(lines) == 1, p.err
    for e in expect:
        assert e in lines[0], lines[0]
    assert "HOST_SECRET" not in p.out + p.err
    with pytest.raises(MyDockerError) as ei:
        images.import_image(md.root, archive, name)
    for e in expect:
        assert e in str(ei.value)
    assert not images.image_exists(md.root, name)
    assert not os.path.exists(os.path.join(md.root, "image", name + ".tar"))
    layers = os.path.join(md.root, "image", "layers")
    for d in os.listdir(layers):
        full = os.path.join(layers, d)
        assert not d.startswith((".tmp-", ".import-")), d
        if os.path.isdir(full):
            assert not os.path.exists(os.path.join(full, "HOST_SECRET")), d
    return lines[0]


def test_docker_manifest_layer_traversal_refused(md, host_secret):
    bad = "../" * 12 + str(host_secret / "layer.tar").lstrip("/")
    archive = _docker_archive(host_secret.parent / "a.tar", ["l1/layer.tar", bad])
    _refused(md, archive, "hostile1", "manifest layer", bad)


def test_docker_manifest_absolute_layer_and_config_refused(md, host_secret):
    layer = str(host_secret / "layer.tar")
    archive = _docker_archive(host_secret.parent / "a.tar", [layer])
    _refused(md, archive, "hostile2", "manifest layer", layer)
    config = str(host_secret / "config.json")
    archive = _docker_archive(host_secret.parent / "b.tar", ["l1/layer.tar"], config=config)
    _refused(md, archive, "hostile3", "manifest config", config)


def test_docker_symlinks_inside_the_archive_pointing_out_refused(md, host_secret):
    def links(tf):
        _add_dir(tf, "evil")
        _add_symlink(tf, "evil/layer.tar", str(host_secret / "layer.tar"))
        _add_symlink(tf, "up", "../" * 12 + str(host_secret).lstrip("/"))
    archive = _docker_archive(host_secret.parent / "a.tar", ["evil/layer.tar"], extra=links)
    _refused(md, archive, "hostile4", "evil/layer.tar", "resolves outside the archive")
    archive = _docker_archive(host_secret.parent / "b.tar", ["up/layer.tar"], extra=links)
    _refused(md, archive, "hostile5", "up/layer.tar", "resolves outside the archive")

    path = host_secret.parent / "c.tar"  # manifest.json itself a link out of the archive
    (host_secret / "manifest.json").write_text(json.dumps([{"Config": "config.json",
                                                            "Layers": ["l1/layer.tar"]}]))
    with tarfile.open(str(path), "w") as tf:
        _add_symlink(tf, "manifest.json", str(host_secret / "manifest.json"))
        _add_bytes(tf, "config.json", b"{}")
        _add_bytes(tf, "l1/layer.tar", _layer_bytes({"inside": b"ok\n"}))
    _refused(md, str(path), "hostile6", "manifest", "manifest.json", "resolves outside the archive")


def test_oci_digest_and_blob_symlink_traversal_refused(md, host_secret):
    archive = _oci_archive(host_secret.parent / "a.tar", "sha256:../../../../../../" + str(host_secret))
    _refused(md, archive, "hostile7", "OCI digest", "not a valid digest")
    digest = "sha256:" + "ab" * 32

    def blob_dir_link(tf):  # blobs/sha256 -> a host directory holding a file named like the digest
        os.symlink(str(host_secret / "layer.tar"), str(host_secret / ("ab" * 32)))
        _add_dir(tf, "blobs")
        _add_symlink(tf, "blobs/sha256", str(host_secret))
    archive = _oci_archive(host_secret.parent / "b.tar", digest, extra=blob_dir_link)
    _refused(md, archive, "hostile8", "OCI manifest", "blobs/sha256/" + "ab" * 32, "resolves outside")


def test_layer_writing_through_an_earlier_layers_symlink_refused(md, tmp_path):
    """Layer 1 leaves ``x -> <host dir>``; layer 2 writes ``x/pwned``: refused, the host dir stays empty."""
    target = tmp_path / "victim"
    target.mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        _add_symlink(tf, "x", str(target))
    l1 = buf.getvalue()
    l2 = _layer_bytes({"x/pwned": b"owned\n"})

    def layers(tf):
        _add_dir(tf, "l2")
        _add_bytes(tf, "l2/layer.tar", l2)
        _add_dir(tf, "l0")
        _add_bytes(tf, "l0/layer.tar", l1)
    archive = _docker_archive(tmp_path / "a.tar", ["l0/layer.tar", "l2/layer.tar"], extra=layers)
    _refused(md, archive, "hostile9", "x/pwned", "outside the image")
    assert os.listdir(str(target)) == []


def test_hard_link_through_an_earlier_layers_symlink_refused(md, tmp_path):
    """Layer 1 leaves ``x -> <host dir>``; layer 2 hard-links ``stolen`` to ``x/secret``: that would
    put a host file (same filesystem) into the image. Refused; the host file keeps one link."""
    target = tmp_path / "victim"
    target.mkdir()
    (target / "secret").write_text("host only\n")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        _add_symlink(tf, "x", str(target))
    l1 = buf.getvalue()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo("stolen")
        ti.type = tarfile.LNKTYPE
        ti.linkname = "x/secret"
        tf.addfile(ti)
    l2 = buf.getvalue()

    def layers(tf):
        _add_dir(tf, "l0")
        _add_bytes(tf, "l0/layer.tar", l1)
        _add_dir(tf, "l2")
        _add_bytes(tf, "l2/layer.tar", l2)
    archive = _docker_archive(tmp_path / "a.tar", ["l0/layer.tar", "l2/layer.tar"], extra=layers)
    _refused(md, archive, "hostile11", "stolen", "outside the image")
    assert os.stat(str(target / "secret")).st_nlink == 1


def test_failed_tar_names_the_member(md, tmp_path):
    """A rootfs tarball whose member cannot be written: the error names that member, not tar's
    closing "Exiting with failure status" line."""
    path = tmp_path / "r.tar"
    with tarfile.open(str(path), "w") as tf:
        _add_bytes(tf, "afile", b"x")
        _add_bytes(tf, "afile/below", b"y")
    line = _refused(md, str(path), "hostile10", "member afile/below", "Not a directory")
    assert "Exiting" not in line


def test_valid_docker_archive_still_imports(md, tmp_path):
    archive = _docker_archive(tmp_path / "ok.tar", ["l1/layer.tar"])
    md("image", "import", archive, "hostileok")
    try:
        rec = images.get_image(md.root, "hostileok")
        assert os.path.isfile(os.path.join(rec["layerPath"], "inside"))
        assert rec["config"]["Cmd"] == ["sh"]
    finally:
        md("rmi", "hostileok")


# ------------------------------------------------------------------ seccomp

def _status_field(text, field):
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("%s not in %r" % (field, text))


def test_default_seccomp_profile_blocks_user_namespaces(md):
    p = md("run", "busybox", "grep", "Seccomp", "/proc/self/status")
    assert _status_field(p.out, "Seccomp") == "2"
    p = md("run", "busybox", "unshare", "-U", "-r", "true", check=False)
    assert p.returncode != 0 and "Operation not permitted" in p.out + p.err, p.out + p.err
    p = md("run", "busybox", "unshare", "-U", "-r", "-m", "sh", "-c", "mount -t tmpfs x /mnt && echo MOUNTED",
           check=False)
    assert p.returncode != 0 and "MOUNTED" not in p.out
    md("run", "-d", "--name", "scmp", "busybox", "sleep", "1000")
    rec = md.inspect("scmp")
    assert rec["securityOpt"] == [] and rec["seccompProfile"] == "default"
    # exec'd processes get the filter too, and ordinary programs work under it
    assert _status_field(md("exec", "scmp", "cat", "/proc/self/status").out, "Seccomp") == "2"
    assert md("exec", "scmp", "unshare", "-U", "-r", "true", check=False).returncode != 0
    assert "bin" in md("exec", "scmp", "ls", "/").out.split()
    md("exec", "scmp", "sh", "-c", "echo hello > /tmp/index.html && httpd -p 127.0.0.1:8080 -h /tmp")
    assert md("exec", "scmp", "wget", "-q", "-O", "-", "http://127.0.0.1:8080/index.html").out == "hello\n"


def test_seccomp_unconfined_and_custom_profile(md, tmp_path):
    md("run", "-d", "--name", "unconf", "--security-opt", "seccomp=unconfined", "busybox", "sleep", "1000")
    rec = md.inspect("unconf")
    assert rec["securityOpt"] == ["seccomp=unconfined"] and rec["seccompProfile"] == "unconfined"
    assert _status_field(md("exec", "unconf", "cat", "/proc/self/status").out, "Seccomp") == "0"
    p = md("run", "--security-opt", "seccomp=unconfined", "busybox", "grep", "Seccomp", "/proc/self/status")
    assert _status_field(p.out, "Seccomp") == "0"
    prof = tmp_path / "nomkdir.json"
    prof.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
        {"names": ["no_such_syscall_in_any_libseccomp"], "action": "SCMP_ACT_ERRNO"}]}))
    p = md("run", "--security-opt", "seccomp=%s" % prof, "busybox", "sh", "-c",
           "touch /tmp/f && echo TOUCHED; mkdir /tmp/d && echo MADE", check=False)
    assert "TOUCHED" in p.out and "MADE" not in p.out and "Permission denied" in p.out + p.err


def test_bad_security_opt_is_one_line_and_creates_nothing(md, tmp_path):
    for opt, msg in (("apparmor=x", "unsupported --security-opt"),
                     ("seccomp=%s" % (tmp_path / "missing.json"), "cannot read seccomp profile")):
        p = md("run", "--security-opt", opt, "busybox", "true", check=False)
        assert p.returncode != 0 and len(p.err.strip().splitlines()) == 1 and msg in p.err, p.err
    assert md.ids() == []


# ------------------------------------------------------------------ exec: non-dumpable until execve

def test_exec_joining_process_is_not_dumpable(md):
    """CVE-2019-5736 pattern: a process in the container watches for the exec'd process and opens
    its /proc/PID/exe while that is still the host's interpreter. The joining process is non-dumpable
    from the moment it enters until its execve, so the link never resolves to the host's python."""
    import sys
    host_python = os.path.realpath(sys.executable)
    md("run", "-d", "--name", "watched", "busybox", "sleep", "1000")
    md("exec", "watched", "sh", "-c",
       "(while [ ! -e /tmp/stop ]; do ls -l /proc/[0-9]*/exe; done > /tmp/seen 2>&1 &)")
    # a PATH of many missing directories keeps the joining process before its execve for a while
    slow_path = ":".join("/nonexistent/%d" % i for i in range(500)) + ":/bin"
    for i in range(40):
        md("exec", "-e", "PATH=" + slow_path, "watched", "true")
    md("exec", "watched", "touch", "/tmp/stop")
    seen = md("exec", "watched", "cat", "/tmp/seen").out
    assert seen.count("\n") > 40, seen[-2000:]  # the watcher really ran
    assert host_python not in seen and "python" not in seen, [ln for ln in seen.splitlines() if "python" in ln][:5]
    # and it did meet joining processes: their exe could not be opened
    assert "Permission denied" in seen, seen[-2000:]


# ------------------------------------------------------------------ host loopback from a bridge

def _free_subnet():
    import ipaddress
    import random

    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import netlink
    taken = [n for dummy, n, dummy in netlink.host_networks()]
    for dummy in range(500):
        net = ipaddress.ip_network("10.%d.%d.0/24" % (random.randint(64, 250), random.randint(0, 255)))
        if not any(net.overlaps(t) for t in taken):
            return str(net)
    raise AssertionError("no free 10.x subnet")


@pytest.fixture
def bridge_ns(tmp_path):
    """A network of a private state root (bridge mdt<hex>) and a network namespace (a sleeping
    process) attached to it; everything is removed afterwards and checked gone."""
    import secrets
    import subprocess
    import time

    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import attach, networks
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import iptables as ipt
    root = str(tmp_path / "state")
    name = "mdt" + secrets.token_hex(4)
    proc = subprocess.Popen(["unshare", "--net", "sleep", "300"], env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    try:
        own = os.readlink("/proc/self/ns/net")
        for dummy in range(500):
            if os.readlink("/proc/%d/ns/net" % proc.pid) != own:
                break
            time.sleep(0.01)
        networks.create_network(root, name, _free_subnet())
        conn = attach.connect(root, name, "7000000001", proc.pid)
        yield root, name, proc.pid, conn
    finally:
        proc.kill()
        proc.wait()
        for n in networks.list_networks(root):
            networks.remove_network(root, n["Name"], force=True)
        chains = ipt.Chains(root)
        left = ipt.find_rules(chains)
        for table, chain, spec in left:
            ipt.run(["-t", table, "-D", chain] + spec, check=False)
        ipt.gc_chains(chains)
        assert left == []
        assert not os.path.exists("/sys/class/net/" + name)
        assert chains.raw not in subprocess.run(["iptables-save", "-t", "raw"], capture_output=True,
                                                text=True, check=False).stdout


def test_bridge_cannot_reach_host_loopback(bridge_ns):
    """route_localnet=1 on our bridge (for -p from 127.0.0.1) must not let a namespace on the bridge
    reach what the host bound to 127.0.0.1: packets to 127.0.0.0/8 arriving on it are dropped."""
    import socket
    import subprocess
    import sys

    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import iptables as ipt
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import networks
    root, name, pid, conn = bridge_ns
    assert open("/proc/sys/net/ipv4/conf/%s/route_localnet" % name).read().strip() == "1"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]

    def ns(*cmd):
        return subprocess.run(["nsenter", "--net=/proc/%d/ns/net" % pid] + list(cmd), capture_output=True,
                              text=True, timeout=30, stdin=subprocess.DEVNULL, check=False)
    try:
        # the attacker owns its namespace: loopback away, 127.0.0.0/8 via the gateway
        for cmd in (["ip", "addr", "flush", "dev", "lo"], ["ip", "link", "set", "lo", "down"],
                    ["ip", "route", "add", "127.0.0.0/8", "via", conn["gateway"], "dev", "eth0"],
                    ["sysctl", "-q", "-w", "net.ipv4.conf.eth0.route_localnet=1"],
                    ["sysctl", "-q", "-w", "net.ipv4.conf.all.route_localnet=1"]):
            r = ns(*cmd)
            assert r.returncode == 0, (cmd, r.stderr)
        probe = ("import socket\ntry:\n socket.create_connection(('127.0.0.1', %d), timeout=2)\n print('CONNECTED')\n"
                 "except OSError as e:\n print('FAILED', e)\n" % port)

        def attack():
            out = ns(sys.executable, "-c", probe).stdout
            try:
                listener.accept()[0].close()
                return "ACCEPTED " + out
            except socket.timeout:
                return out
        out = attack()
        assert "CONNECTED" not in out and "ACCEPTED" not in out, out
        assert networks.drift(root, name) == []
        # the rule is part of the network: drift sees it missing, repair puts it back
        chains = ipt.Chains(root)
        [(table, chain, spec)] = [r for r in ipt.find_rules(chains, "net", name) if r[0] == ipt.RAW]
        assert spec[:4] == ["-d", "127.0.0.0/8", "-i", name]
        ipt.run(["-t", table, "-D", chain] + spec)
        assert any("loopback DROP rule missing" in p for p in networks.drift(root, name))
        assert "CONNECTED" in attack()  # the attack is real: without the rule it gets through
        networks.repair_network(root, name)
        assert networks.drift(root, name) == []
        out = attack()
        assert "CONNECTED" not in out and "ACCEPTED" not in out, out
    finally:
        listener.close()


# ------------------------------------------------------------------ bad input: one line, nothing changed

def _one_line(p, *expect):
    assert p.returncode != 0, p.out
    lines = p.err.strip().splitlines()
    assert len(lines) == 1, p.err
    for e in expect:
        assert e in lines[0], lines[0]
    assert "Traceback" not in p.err and "Error(" not in p.err
    return lines[0]


def _state(root):
    """Every path of the state root with its content (the engine copies, a cache, aside)."""
    out = {}
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not (d == root and x == ".engine")]
        for n in dirs + files:
            full = os.path.join(d, n)
            data = None
            if os.path.isfile(full) and not os.path.islink(full):
                with open(full, "rb") as f:
                    data = f.read()
            out[os.path.relpath(full, root)] = data
    return out


@pytest.fixture
def hnet(md):
    """A network of this session's root: (bridge name, subnet); removed afterwards."""
    import secrets
    import subprocess
    name = "mdt" + secrets.token_hex(4)
    md("network", "create", "--driver", "bridge", "--subnet", _free_subnet(), name)
    try:
        yield name
    finally:
        for cid in md.ids():
            md("rm", "-f", cid, check=False)
        md("network", "rm", "-f", name, check=False)
        assert not os.path.exists("/sys/class/net/" + name)
        assert name not in subprocess.run(["iptables-save"], capture_output=True, text=True, check=False).stdout


@pytest.mark.parametrize("dest,tree", [("/proc", "/proc"), ("/proc/sys", "/proc"), ("/proc/1/ns", "/proc"),
                                       ("/sys", "/sys"), ("/sys/fs/cgroup", "/sys"), ("/dev", "/dev"),
                                       ("/dev/", "/dev"), ("//proc/./self", "/proc")])
def test_volume_over_runtime_paths_refused(md, tmp_path, dest, tree):
    host = tmp_path / "vol"
    line = _one_line(md("run", "-v", "%s:%s" % (host, dest), "busybox", "true", check=False),
                     "invalid volume", "cannot mount over %s" % tree)
    assert "/proc/keys" not in line
    assert not host.exists() and md.ids() == []


def test_volume_inside_dev_still_works(md, tmp_path):
    host = tmp_path / "shm"
    host.mkdir()
    (host / "f").write_text("x\n")
    assert md("run", "-v", "%s:/dev/mine" % host, "busybox", "cat", "/dev/mine/f").out == "x\n"


@pytest.mark.parametrize("flag", ["--memory", "--cpus", "--cpuset-cpus", "--cpu-shares", "--pids-limit"])
def test_empty_limit_on_the_command_line_refused(md, flag):
    _one_line(md("run", flag, "", "busybox", "true", check=False), "invalid %s ''" % flag, "empty")
    assert md.ids() == []


@pytest.mark.parametrize("value", ["99999999999999999999", "4194305"])
def test_pids_limit_out_of_range_refused_early(md, value):
    _one_line(md("run", "--pids-limit", value, "busybox", "true", check=False),
              "invalid pids_limit %r" % value, "at most 4194304")
    assert md.ids() == []
    md("run", "--rm", "--pids-limit", "4194304", "busybox", "true")  # the maximum itself is taken


def test_bare_env_name_takes_the_callers_value_or_is_left_out(md):
    env = dict(md.env, MDT_SET="from the caller")
    env.pop("MDT_UNSET", None)
    out = md("run", "-e", "MDT_SET", "-e", "MDT_UNSET", "-e", "MDT_EMPTY=", "busybox", "env", env=env).out
    lines = out.splitlines()
    assert "MDT_SET=from the caller" in lines
    assert not any(ln.startswith("MDT_UNSET") for ln in lines), out
    assert "MDT_EMPTY=" in lines


def test_subnet_with_host_bits_refused_on_the_command_line(md):
    import secrets
    name = "mdt" + secrets.token_hex(4)
    subnet = _free_subnet()
    bad = subnet.replace(".0/24", ".5/24")
    before = _state(md.root)
    _one_line(md("network", "create", "--subnet", bad, name, check=False),
              "invalid subnet %s" % bad, "host bits", subnet)
    assert not os.path.exists("/sys/class/net/" + name)
    assert _state(md.root) == before


def test_failed_publish_changes_nothing(md, hnet):
    """A host IP that is not the host's is refused before anything is made; a host port in use is
    found by the start: either way the state root is as before (no owners.json, no record)."""
    import socket
    before = _state(md.root)
    _one_line(md("run", "-d", "--net", hnet, "-p", "1.2.3.4:18990:80", "busybox", "httpd", "-f", "-p", "80",
                 check=False), "host IP 1.2.3.4 is not an address of this host")
    assert _state(md.root) == before
    busy = socket.socket()
    busy.bind(("0.0.0.0", 0))
    busy.listen(1)
    try:
        port = busy.getsockname()[1]
        _one_line(md("run", "-d", "--net", hnet, "-p", "%d:80" % port, "busybox", "httpd", "-f", "-p", "80",
                     check=False), "host port", "already in use")
    finally:
        busy.close()
    assert _state(md.root) == before
    assert md.ids() == []
