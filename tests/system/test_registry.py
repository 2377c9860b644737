"""Pull, login and logout against real registries (Debian's docker-registry on 127.0.0.1, see
``registries.py``): plain HTTP, TLS with htpasswd basic auth, TLS with the Bearer token flow.

Every test has its own state root (layer directories are counted) and its own registry."""
import base64
import http.client
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import registries as R
from conftest import CLI, MyDocker, leftovers

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import images

pytestmark = pytest.mark.skipif(not os.path.exists(R.REGISTRY) or not shutil.which("skopeo"),
                                reason="needs docker-registry and skopeo")


@pytest.fixture(scope="module")
def busybox_tar():
    d = tempfile.mkdtemp(prefix="mydocker-bb-")
    try:
        path = os.path.join(d, "bb.tar")
        images.make_busybox_rootfs(path)
        yield path
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def md():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    root = tempfile.mkdtemp(prefix="mydocker-pull-")
    m = MyDocker(root)
    m.env["MYDOCKER_CONFIG"] = ""
    m.env.pop("MYDOCKER_INSECURE_REGISTRIES", None)
    m.env["DOCKER_CONFIG"] = os.path.join(root, "no-docker-config")
    try:
        yield m
    finally:
        for cid in m.ids():
            m("rm", "-f", cid, check=False)
        left = leftovers(root)
        shutil.rmtree(root, ignore_errors=True)
        assert not left, "left behind: %s" % left


@pytest.fixture
def layout(tmp_path):
    return str(tmp_path / "layout")


def layer_dirs(md):
    d = os.path.join(md.root, "image", "layers")
    return sorted(n for n in os.listdir(d) if not n.startswith(".") and os.path.isdir(os.path.join(d, n)))


def remote_digest(reg, ref):
    p = reg.skopeo("inspect", "docker://%s/%s" % (reg.host, ref))
    return json.loads(p.stdout)["Digest"]


def test_pull_plain_http_run_digests_and_shared_layers(md, layout, busybox_tar):
    with R.registry() as reg:
        R.write_layout(layout, "1", R.image_layers(busybox_tar, "hello from app"))
        reg.skopeo_copy(layout, "1", "team/app:1")
        ref = "%s/team/app:1" % reg.host
        p = md("pull", ref)
        assert p.out == ref + "\n" and p.err == ""   # not a tty: nothing but the result
        assert md("run", "--rm", ref).out == "hello from app hello as 1000 APPV=7\n"
        # the whiteouts of the second layer hide what the first had
        assert md("run", "--rm", "--entrypoint", "ls", ref, "/opq").out == "new\n"
        assert md("run", "--rm", "--entrypoint", "ls", ref, "/etc/removed-me", check=False).returncode != 0
        two = layer_dirs(md)
        assert len(two) == 2
        digest = remote_digest(reg, "team/app:1")
        row = [ln.split() for ln in md("images", "--digests").out.splitlines()[1:]]
        assert row[0][:3] == ["%s/team/app" % reg.host, "1", digest]
        rec = images.read_image(md.root, ref)
        assert rec["repoDigests"] == ["%s/team/app@%s" % (reg.host, digest)]
        assert rec["config"]["Entrypoint"] == ["/app/entry.sh"] and rec["config"]["User"] == "1000"

        # again: nothing fetched, nothing changed
        assert md("pull", ref).out == ref + "\n"
        assert layer_dirs(md) == two

        # a second image on the same base layer stores the base once
        other = str(os.path.join(os.path.dirname(layout), "other"))
        R.write_layout(other, "2", R.image_layers(busybox_tar, "hello from other"))
        reg.skopeo_copy(other, "2", "team/other:2")
        md("pull", "%s/team/other:2" % reg.host)
        three = layer_dirs(md)
        assert len(three) == 3 and set(two) < set(three)
        assert md("run", "--rm", "%s/team/other:2" % reg.host).out.startswith("hello from other")

        # the tag moves: a pull follows it, the image it named before goes (no tag, no container)
        R.write_layout(layout, "1", R.image_layers(busybox_tar, "hello from app v2"))
        reg.skopeo_copy(layout, "1", "team/app:1")
        md("pull", ref)
        assert md("run", "--rm", ref).out.startswith("hello from app v2 ")
        assert len(layer_dirs(md)) == 3   # base shared; old top layer gone, new one there
        assert images.read_image(md.root, ref)["repoDigests"] == ["%s/team/app@%s"
                                                                  % (reg.host, remote_digest(reg, "team/app:1"))]

        # pull by digest
        md("rmi", ref)
        md("pull", "%s/team/app@%s" % (reg.host, remote_digest(reg, "team/app:1")))
        assert md("run", "--rm", "%s/team/app@%s" % (reg.host, remote_digest(reg, "team/app:1"))).out \
            .startswith("hello from app v2 ")

        p = md("pull", "%s/team/nothing:1" % reg.host, check=False)
        assert p.returncode != 0 and len(p.err.strip().splitlines()) == 1 and "404" in p.err


def test_login_tls_basic_auth(md, layout, busybox_tar):
    with R.registry(tls=True, user="alice", password="s3cret pw") as reg:
        R.write_layout(layout, "1", R.image_layers(busybox_tar, "hello over tls"))
        reg.skopeo_copy(layout, "1", "team/app:1")
        ref = "%s/team/app:1" % reg.host
        p = md("pull", ref, check=False)
        assert p.returncode != 0 and "needs a login" in p.err
        p = md("login", "-u", "alice", "-p", "wrong", "--ca-file", reg.ca, reg.host, check=False)
        assert p.returncode != 0 and "wrong user name or password" in p.err
        cfg = os.path.join(md.root, "auth", "config.json")
        assert not os.path.exists(cfg)
        p = md("login", "-u", "alice", "--password-stdin", "--ca-file", reg.ca, reg.host, input=b"s3cret pw\n")
        assert p.out == "Login Succeeded\n"
        assert os.stat(cfg).st_mode & 0o777 == 0o600
        with open(cfg) as f:
            data = json.load(f)
        assert base64.b64decode(data["auths"][reg.host]["auth"]) == b"alice:s3cret pw"
        md("pull", "--ca-file", reg.ca, ref)
        assert md("run", "--rm", ref).out.startswith("hello over tls ")
        assert md("logout", reg.host).out == "Removing login credentials for %s\n" % reg.host
        with open(cfg) as f:
            assert json.load(f)["auths"] == {}
        md("rmi", ref)
        assert md("pull", ref, check=False).returncode != 0

        # $MYDOCKER_CONFIG names another directory for the file
        d = os.path.join(md.root, "elsewhere")
        env = dict(md.env, MYDOCKER_CONFIG=d)
        md("login", "-u", "alice", "-p", "s3cret pw", reg.host, env=env)
        assert os.stat(os.path.join(d, "config.json")).st_mode & 0o777 == 0o600
        md("pull", ref, env=env)


def test_bearer_token_flow(md, layout, busybox_tar):
    with R.registry(token=True, user="bob", password="tok-pw") as reg:
        R.write_layout(layout, "1", R.image_layers(busybox_tar, "hello with a token"))
        reg.skopeo_copy(layout, "1", "team/app:1")
        ref = "%s/team/app:1" % reg.host
        p = md("pull", ref, check=False)
        assert p.returncode != 0 and "authentication failed" in p.err
        md("login", "-u", "bob", "-p", "tok-pw", "--ca-file", reg.ca, reg.host)
        md("pull", "--ca-file", reg.ca, ref)
        assert md("run", "--rm", ref).out.startswith("hello with a token ")


def test_token_server_sees_scope_and_service(tmp_path, busybox_tar):
    # the engine asked directly: the scope of the repository, the service of the challenge
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine.registry import Registry
    with R.registry(token=True, user="bob", password="tok-pw") as reg:
        lay = str(tmp_path / "l")
        R.write_layout(lay, "1", R.image_layers(busybox_tar, "x"))
        reg.skopeo_copy(lay, "1", "team/app:1")
        tok = _token_server_of(reg)
        before = len(tok.requests)
        r = Registry(reg.host, credentials=("bob", "tok-pw"), ca_file=reg.ca)
        body, mtype, digest = r.manifest("team/app", "1")
        assert digest == remote_digest(reg, "team/app:1")
        auth, query = tok.requests[before]
        assert auth.startswith("Basic ") and query["service"] == ["test-registry"]
        assert query["scope"] == ["repository:team/app:pull"]
        assert r.scheme == "https"   # verified TLS with the CA given


def _token_server_of(reg):
    import gc
    for o in gc.get_objects():
        if isinstance(o, R.TokenServer) and o.cert.startswith(reg.dir):
            return o
    raise AssertionError("no token server")


def _blob_file(reg, digest):
    hexd = digest.split(":")[1]
    return os.path.join(reg.dir, "storage", "docker", "registry", "v2", "blobs", "sha256", hexd[:2], hexd, "data")


def test_wrong_digest_refused_and_nothing_stored(md, layout, busybox_tar):
    with R.registry() as reg:
        lays = R.image_layers(busybox_tar, "tampered")
        R.write_layout(layout, "1", lays)
        reg.skopeo_copy(layout, "1", "team/app:1")
        gz = lays[1][0]
        path = _blob_file(reg, "sha256:" + R.sha(gz))
        with open(path, "r+b") as f:   # same size, other bytes
            f.seek(len(gz) // 2)
            b = f.read(1)
            f.seek(len(gz) // 2)
            f.write(bytes([b[0] ^ 0xFF]))
        p = md("pull", "%s/team/app:1" % reg.host, check=False)
        assert p.returncode != 0
        assert len(p.err.strip().splitlines()) == 1 and "refused: its content has digest" in p.err
        assert R.sha(gz)[:12] in p.err
        assert layer_dirs(md) == []
        assert md("images", "-q").out == ""
        assert [n for n in os.listdir(os.path.join(md.root, "image", "layers")) if n.startswith(".")] == []


def test_manifest_list_platforms(md, tmp_path, busybox_tar):
    with R.registry() as reg:
        amd, arm = str(tmp_path / "amd"), str(tmp_path / "arm")
        R.write_layout(amd, "1", R.image_layers(busybox_tar, "amd64 image"))
        R.write_layout(arm, "1", R.image_layers(busybox_tar, "arm64 image"), arch="arm64")
        for d in (amd, arm):
            reg.skopeo_copy(d, "1", "team/multi:" + os.path.basename(d))
        manifests = []
        for d, arch in ((amd, "amd64"), (arm, "arm64")):
            raw = reg.skopeo("inspect", "--raw", "docker://%s/team/multi:%s" % (reg.host, os.path.basename(d))).stdout
            manifests.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                              "digest": "sha256:" + R.sha(raw), "size": len(raw),
                              "platform": {"os": "linux", "architecture": arch}})
        index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                            "manifests": manifests}).encode()
        c = http.client.HTTPConnection(reg.host, timeout=10)
        c.request("PUT", "/v2/team/multi/manifests/both", body=index,
                  headers={"Content-Type": "application/vnd.oci.image.index.v1+json"})
        assert c.getresponse().status == 201
        c.close()
        ref = "%s/team/multi:both" % reg.host
        md("pull", ref)
        assert md("run", "--rm", ref).out.startswith("amd64 image ")
        rec = images.read_image(md.root, ref)
        assert rec["platform"] == "linux/amd64"
        assert rec["repoDigests"] == ["%s/team/multi@sha256:%s" % (reg.host, R.sha(index))]
        md("pull", "--platform", "linux/arm64", ref)
        assert images.read_image(md.root, ref)["platform"] == "linux/arm64"
        p = md("pull", "--platform", "linux/s390x", ref, check=False)
        assert p.returncode != 0 and "has no image for platform linux/s390x (it has: linux/amd64, linux/arm64)" \
            in p.err


class StallingFront:
    """A front of the registry (127.0.0.1) that forwards everything but stops in the middle of
    the blob ``stall`` until ``release`` is set."""

    def __init__(self, backend, stall):
        self.backend, self.stall = backend, stall
        self.release = threading.Event()
        self.stalled = threading.Event()
        front = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _forward(self):
                c = http.client.HTTPConnection(front.backend, timeout=30)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
                hdrs = dict((k, v) for k, v in self.headers.items() if k.lower() not in ("host", "connection"))
                c.request(self.command, self.path, body=body, headers=hdrs)
                r = c.getresponse()
                data = r.read()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command == "HEAD":
                    return
                if front.stall and front.stall in self.path and not front.release.is_set():
                    self.wfile.write(data[:len(data) // 2])
                    self.wfile.flush()
                    front.stalled.set()
                    front.release.wait(60)
                    return
                self.wfile.write(data)

            do_GET = do_HEAD = _forward

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.host = "127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def test_kill_9_mid_layer_leaves_nothing_trusted(md, layout, busybox_tar):
    with R.registry() as reg:
        lays = R.image_layers(busybox_tar, "after a crash", base_extra=[("big", os.urandom(4 << 20))])
        R.write_layout(layout, "1", lays)
        reg.skopeo_copy(layout, "1", "team/app:1")
        raw = reg.skopeo("inspect", "--raw", "docker://%s/team/app:1" % reg.host).stdout
        base = json.loads(raw)["layers"][0]["digest"]   # skopeo compressed it on the way
        front = StallingFront(reg.host, base)
        proc = None
        try:
            ref = "%s/team/app:1" % front.host
            proc = subprocess.Popen([sys.executable, CLI, "pull", ref], env=md.env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
            assert front.stalled.wait(60), "the pull never reached the base layer"
            time.sleep(0.5)
            parts = []
            for dirpath, dirnames, filenames in os.walk(os.path.join(md.root, "image", "layers")):
                parts += [f for f in filenames if f.startswith(".part-")]
            assert parts, "no partial download seen"
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            proc.stdout.close()
            proc.stderr.close()
            assert layer_dirs(md) == []   # nothing a later pull would trust
            assert images.read_image(md.root, ref) is None
            front.release.set()
            md("pull", ref)
            assert md("run", "--rm", ref).out.startswith("after a crash ")
            assert len(layer_dirs(md)) == 2
            # the dead pull's work directory was removed by the next pull
            assert [n for n in os.listdir(os.path.join(md.root, "image", "layers")) if n.startswith(".")] == []
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
            front.stop()


def test_two_concurrent_pulls_store_the_image_once(md, layout, busybox_tar):
    with R.registry() as reg:
        lays = R.image_layers(busybox_tar, "concurrent", base_extra=[("big", os.urandom(2 << 20))])
        R.write_layout(layout, "1", lays)
        reg.skopeo_copy(layout, "1", "team/app:1")
        ref = "%s/team/app:1" % reg.host
        procs = [subprocess.Popen([sys.executable, CLI, "pull", ref], env=md.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for _i in range(2)]
        outs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        assert len(layer_dirs(md)) == 2
        assert len(os.listdir(os.path.join(md.root, "image", "images"))) == 1
        assert md("images", "-q").out.count("\n") == 1
        assert md("run", "--rm", ref).out.startswith("concurrent ")


def test_progress_only_on_a_tty(md, layout, busybox_tar):
    with R.registry() as reg:
        R.write_layout(layout, "1", R.image_layers(busybox_tar, "tty"))
        reg.skopeo_copy(layout, "1", "team/app:1")
        ref = "%s/team/app:1" % reg.host
        master, slave = pty.openpty()
        try:
            p = subprocess.Popen([sys.executable, CLI, "pull", ref], env=md.env, stdout=slave, stderr=slave)
            os.close(slave)
            slave = None
            data = b""
            while True:
                r, _w, _x = select.select([master], [], [], 60)
                if not r:
                    break
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
            assert p.wait(60) == 0
        finally:
            os.close(master)
            if slave is not None:
                os.close(slave)
        lines = data.decode().replace("\r", "").splitlines()
        assert len([ln for ln in lines if ln.endswith(": Pull complete")]) == 2, lines
        assert lines[-1] == ref and any(ln.startswith("Digest: sha256:") for ln in lines)


def _podman_pull(reg, ref, d):
    """podman reads what was pushed (vfs storage of its own: no mounts left behind)."""
    base = ["podman", "--root", os.path.join(d, "storage"), "--runroot", os.path.join(d, "run"),
            "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none"]
    try:
        p = subprocess.run(base + ["pull", "-q", "--tls-verify=false", ref], capture_output=True, timeout=120,
                           check=False)
        assert p.returncode == 0, p.stderr
        p = subprocess.run(base + ["image", "inspect", ref], capture_output=True, timeout=60, check=True)
        return json.loads(p.stdout)[0]
    finally:
        subprocess.run(base + ["rmi", "-a", "-f"], capture_output=True, timeout=60, check=False)
        shutil.rmtree(d, ignore_errors=True)


def test_push_only_what_the_registry_lacks_and_others_read_it(md, layout, busybox_tar, tmp_path):
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine import push
    with R.registry() as reg:
        R.write_layout(layout, "1", R.image_layers(busybox_tar, "pushed back"))
        reg.skopeo_copy(layout, "1", "team/app:1")
        src = "%s/team/app:1" % reg.host
        md("pull", src)
        md("tag", src, "%s/team/copy:2" % reg.host)
        # a new repository of the same registry: the layers are mounted from team/app, not sent
        res = push.push(md.root, "%s/team/copy:2" % reg.host)
        pulled = json.loads(reg.skopeo("inspect", "docker://%s" % src).stdout)
        pushed = json.loads(reg.skopeo("inspect", "docker://%s/team/copy:2" % reg.host).stdout)
        assert pushed["Layers"] == pulled["Layers"]   # the registry's very blobs
        assert [res["layers"][d] for d in pulled["Layers"]] == ["mounted", "mounted"]
        assert pushed["Digest"] == res["digest"]
        # again: every blob is there already
        again = push.push(md.root, "%s/team/copy:2" % reg.host)
        assert set(again["layers"].values()) == {"exists"} and again["digest"] == res["digest"]
        row = [ln.split() for ln in md("images", "--digests").out.splitlines()[1:]
               if ln.startswith("%s/team/copy " % reg.host)]
        assert row[0][2] == res["digest"]

        # an image made here (busybox, one layer) goes up blob by blob; skopeo copies it out,
        # podman pulls it, mydocker pulls and runs it
        local = "%s/base/bb:1" % reg.host
        md("image", "busybox", local)
        p = md("push", local)
        assert p.out.startswith("1: digest: sha256:")
        out = str(tmp_path / "copied")
        reg.skopeo("copy", "docker://%s" % local, "oci:%s:x" % out)
        with open(os.path.join(out, "index.json")) as f:
            assert json.load(f)["manifests"][0]["digest"] == p.out.split()[2]
        if shutil.which("podman"):
            info = _podman_pull(reg, local, tempfile.mkdtemp(prefix="mdpod-"))  # runroot: 50 chars at most
            assert len(info["RootFS"]["Layers"]) == 1
        md("rmi", local)
        md("pull", local)
        assert md("run", "--rm", local, "echo", "round trip").out == "round trip\n"

        p = md("push", "%s/base/none:1" % reg.host, check=False)
        assert p.returncode != 0 and "not found" in p.err and len(p.err.strip().splitlines()) == 1


def test_push_with_a_token(md, layout, busybox_tar):
    with R.registry(token=True, user="bob", password="tok-pw") as reg:
        ref = "%s/team/mine:1" % reg.host
        md("image", "busybox", ref)
        p = md("push", ref, check=False)
        assert p.returncode != 0 and "authentication failed" in p.err
        md("login", "-u", "bob", "-p", "tok-pw", reg.host)
        p = md("push", ref)
        assert json.loads(reg.skopeo("inspect", "docker://%s" % ref).stdout)["Digest"] == p.out.split()[2]
