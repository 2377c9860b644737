"""Real registries for the tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1 with a
random free port and its own storage directory; plain HTTP, or TLS with a certificate made here
with openssl plus htpasswd (bcrypt) basic auth, or TLS with the distribution ``auth: token:``
config and a token server of the test's own (an ``http.server`` thread on 127.0.0.1 that signs
RS256 JWTs with ``openssl dgst``).  Images are put in with skopeo from OCI layouts written here.

Every process started is killed and every directory removed by the context managers, also
when the test fails.  Traffic only to 127.0.0.1."""
import base64
import contextlib
import gzip
import hashlib
import http.client
import io
import json
import os
import shutil
import socket
import ssl
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REGISTRY = "/usr/bin/docker-registry"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha(b):
    return hashlib.sha256(b).hexdigest()


def add(tf, name, data=b"", mode=0o644, kind=tarfile.REGTYPE, uid=0, gid=0):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.uid, ti.gid = uid, gid
    ti.mtime = 0
    if kind == tarfile.REGTYPE:
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    else:
        tf.addfile(ti)


def base_layer(busybox_tar, extra=()):
    """The busybox rootfs plus a few files (one to be deleted by a whiteout above)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as out, tarfile.open(busybox_tar) as base:
        for m in base:
            out.addfile(m, base.extractfile(m) if m.isfile() else None)
        add(out, "etc/removed-me", b"old\n")
        add(out, "opq", kind=tarfile.DIRTYPE, mode=0o755)
        add(out, "opq/old", b"old\n")
        add(out, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/app:/bin/sh\n")
        add(out, "etc/group", b"root:x:0:\napp:x:1000:\n")
        for name, data in extra:
            add(out, name, data)
    return buf.getvalue()


def app_layer(message):
    """Whiteouts (a file, an opaque directory) and the entrypoint that prints ``message``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as out:
        add(out, "etc", kind=tarfile.DIRTYPE, mode=0o755)
        add(out, "etc/.wh.removed-me")
        add(out, "opq", kind=tarfile.DIRTYPE, mode=0o755)
        add(out, "opq/.wh..wh..opq")
        add(out, "opq/new", b"new\n")
        add(out, "app", kind=tarfile.DIRTYPE, mode=0o755, uid=1000, gid=1000)
        add(out, "app/entry.sh", b'#!/bin/sh\necho "%s $* as $(id -u) APPV=$APPV"\n' % message.encode(), mode=0o755)
    return gzip.compress(buf.getvalue(), mtime=0), buf.getvalue()


def write_layout(d, tag, layers_, config=None, arch="amd64"):
    """An OCI layout in directory ``d`` with image ``tag``: ``layers_`` is a list of (blob bytes,
    uncompressed bytes, media type). Returns the manifest digest."""
    os.makedirs(os.path.join(d, "blobs", "sha256"), exist_ok=True)

    def blob(b):
        with open(os.path.join(d, "blobs", "sha256", sha(b)), "wb") as f:
            f.write(b)
        return "sha256:" + sha(b)

    cfg = json.dumps({"architecture": arch, "os": "linux",
                      "config": config or {"Entrypoint": ["/app/entry.sh"], "Cmd": ["hello"], "User": "1000",
                                           "Env": ["APPV=7", "PATH=/usr/bin:/bin"]},
                      "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(u) for _b, u, _t in layers_]}}
                     ).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": blob(cfg), "size": len(cfg)},
                           "layers": [{"mediaType": t, "digest": blob(b), "size": len(b)} for b, _u, t in layers_]}
                          ).encode()
    mdig = blob(manifest)
    with open(os.path.join(d, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion": "1.0.0"}')
    idx_path = os.path.join(d, "index.json")
    index = {"schemaVersion": 2, "manifests": []}
    if os.path.exists(idx_path):
        with open(idx_path) as f:
            index = json.load(f)
    index["manifests"] = [m for m in index["manifests"]
                          if (m.get("annotations") or {}).get("org.opencontainers.image.ref.name") != tag]
    index["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdig,
                               "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": tag}})
    with open(idx_path, "w") as f:
        json.dump(index, f)
    return mdig


def image_layers(busybox_tar, message, base_extra=()):
    base = base_layer(busybox_tar, base_extra)
    gz, raw = app_layer(message)
    return [(base, base, "application/vnd.oci.image.layer.v1.tar"),
            (gz, raw, "application/vnd.oci.image.layer.v1.tar+gzip")]


def make_cert(d, name="registry"):
    """A self-signed certificate for 127.0.0.1 (it is its own CA): (cert, key)."""
    cert, key = os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


class Registry:
    """A running docker-registry: ``host`` (127.0.0.1:PORT), ``dir``, ``ca`` (or None)."""

    def __init__(self, d, host, ca, user=None, password=None):
        self.dir, self.host, self.ca, self.user, self.password = d, host, ca, user, password

    def skopeo_copy(self, layout, tag, dest):
        argv = ["skopeo", "copy", "-q", "--dest-tls-verify=false"]
        if self.user:
            argv += ["--dest-creds", "%s:%s" % (self.user, self.password)]
        subprocess.run(argv + ["oci:%s:%s" % (layout, tag), "docker://%s/%s" % (self.host, dest)],
                       check=True, capture_output=True, timeout=120)

    def skopeo(self, *args):
        argv = ["skopeo"] + list(args[:1]) + ["--tls-verify=false"]
        if self.user:
            argv += ["--creds", "%s:%s" % (self.user, self.password)]
        return subprocess.run(argv + list(args[1:]), check=True, capture_output=True, timeout=120)


@contextlib.contextmanager
def registry(tls=False, user=None, password=None, token=False):
    """Start docker-registry; yields a ``Registry``; always stops it and removes its files."""
    d = tempfile.mkdtemp(prefix="mydocker-reg-")
    proc = None
    tok = None
    try:
        port = free_port()
        cfg = {"version": 0.1, "log": {"level": "error", "accesslog": {"disabled": True}},
               "storage": {"filesystem": {"rootdirectory": os.path.join(d, "storage")}, "delete": {"enabled": True}},
               "http": {"addr": "127.0.0.1:%d" % port, "secret": "test-secret"}}
        ca = None
        if tls or token:
            ca, key = make_cert(d)
            cfg["http"]["tls"] = {"certificate": ca, "key": key}
        if user and not token:
            htp = os.path.join(d, "htpasswd")
            subprocess.run(["htpasswd", "-Bbc", htp, user, password], check=True, capture_output=True)
            cfg["auth"] = {"htpasswd": {"realm": "test-realm", "path": htp}}
        if token:
            tok = TokenServer(d, user, password)
            cfg["auth"] = {"token": {"realm": tok.realm, "service": "test-registry", "issuer": "test-issuer",
                                     "rootcertbundle": tok.cert}}
        path = os.path.join(d, "config.yml")
        with open(path, "w") as f:
            json.dump(cfg, f)  # JSON is YAML
        log = open(os.path.join(d, "registry.log"), "wb")
        proc = subprocess.Popen([REGISTRY, "serve", path], stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        log.close()
        host = "127.0.0.1:%d" % port
        _wait(host, tls or token, proc, d)
        yield Registry(d, host, ca, user, password)
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        if tok is not None:
            tok.stop()
        shutil.rmtree(d, ignore_errors=True)


def _wait(host, tls, proc, d):
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            with open(os.path.join(d, "registry.log")) as f:
                raise RuntimeError("docker-registry exited: %s" % f.read())
        try:
            if tls:
                ctx = ssl._create_unverified_context()
                c = http.client.HTTPSConnection(host, timeout=2, context=ctx)
            else:
                c = http.client.HTTPConnection(host, timeout=2)
            c.request("GET", "/v2/")
            c.getresponse().read()
            c.close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("docker-registry did not answer on %s" % host)


def _b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


class TokenServer:
    """The Bearer flow's token server: GET /token?service=&scope= with basic auth (``user``,
    ``password``) or none (anonymous: pull only when ``user`` is None); answers a JWT the
    registry trusts (signed with the key of ``cert``, the registry's ``rootcertbundle``).
    ``requests`` records (authorization header, query) of every request."""

    def __init__(self, d, user, password):
        self.cert, self.key = make_cert(d, "token")
        der = subprocess.run(["openssl", "x509", "-in", self.cert, "-outform", "DER"], check=True,
                             capture_output=True).stdout
        self.x5c = base64.b64encode(der).decode("ascii")
        self.user, self.password = user, password
        self.requests = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(u.query)
                authz = self.headers.get("Authorization")
                server.requests.append((authz, q))
                if server.user:
                    want = "Basic " + base64.b64encode(("%s:%s" % (server.user, server.password)).encode()).decode()
                    if authz != want:
                        self.send_response(401)
                        self.end_headers()
                        return
                access = []
                for s in q.get("scope", []):
                    kind, name, actions = s.split(":")
                    access.append({"type": kind, "name": name, "actions": actions.split(",")})
                body = json.dumps({"token": server.sign(q.get("service", [""])[0], access)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = "http://127.0.0.1:%d/token" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def sign(self, service, access):
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {"iss": "test-issuer", "sub": self.user or "", "aud": service, "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": sha(os.urandom(8))[:16], "access": access}
        signing = "%s.%s" % (_b64url(json.dumps(header).encode()), _b64url(json.dumps(claims).encode()))
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key], input=signing.encode(),
                             check=True, capture_output=True).stdout
        return signing + "." + _b64url(sig)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
