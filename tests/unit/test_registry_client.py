"""engine.registry and engine.pull without a real registry: the challenge, the TLS rules, the
platform choice, and a blob refused for its digest (a fake registry on 127.0.0.1)."""
import hashlib
import http.server
import json
import os
import threading

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import pull, reference
from ansible_collections.mydocker.runtime.plugins.module_utils.engine import registry as reg_mod
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError


def test_parse_challenge():
    kind, p = reg_mod.parse_challenge('Bearer realm="https://auth.example/token",service="reg",'
                                      'scope="repository:a/b:pull,push"')
    assert kind == "bearer" and p == {"realm": "https://auth.example/token", "service": "reg",
                                      "scope": "repository:a/b:pull,push"}
    assert reg_mod.parse_challenge('Basic realm="r"') == ("basic", {"realm": "r"})
    assert reg_mod.parse_challenge(None) == (None, {})


def test_loopback_and_insecure():
    assert reg_mod.is_loopback("127.0.0.1:5000") and reg_mod.is_loopback("localhost:1")
    assert reg_mod.is_loopback("[::1]:5000") and not reg_mod.is_loopback("10.0.0.1:5000")
    assert not reg_mod.is_loopback("registry.example")
    assert reg_mod.Registry("127.0.0.1:5000").insecure
    assert not reg_mod.Registry("registry.example:5000").insecure
    assert reg_mod.Registry("registry.example:5000", insecure=["registry.example:5000"]).insecure
    assert reg_mod.Registry("docker.io").host == reg_mod.HUB_HOST
    with pytest.raises(MyDockerError, match="CA bundle /nonexistent does not exist"):
        reg_mod.Registry("r.example", ca_file="/nonexistent")


def test_platform():
    assert pull.parse_platform("linux/arm64/v8") == ("linux", "arm64", "v8")
    assert pull.parse_platform(None)[0] == "linux"
    for bad in ("linux", "linux/", "a/b/c/d"):
        with pytest.raises(MyDockerError, match="invalid platform"):
            pull.parse_platform(bad)
    arm = {"os": "linux", "architecture": "arm64", "variant": "v8"}
    index = {"manifests": [{"digest": "sha256:" + "a" * 64, "platform": arm},
                           {"digest": "sha256:" + "b" * 64, "platform": {"os": "linux", "architecture": "amd64"}}]}
    assert pull._pick(index, "linux/amd64", "x")["digest"] == "sha256:" + "b" * 64
    assert pull._pick(index, "linux/arm64", "x")["digest"] == "sha256:" + "a" * 64
    assert pull._pick(index, "linux/arm64/v8", "x")["digest"] == "sha256:" + "a" * 64
    with pytest.raises(MyDockerError, match="no image for platform linux/arm64/v7"):
        pull._pick(index, "linux/arm64/v7", "x")


class Fake:
    """A registry on 127.0.0.1 serving ``blobs`` (path -> bytes), with ``lie`` (a blob served
    with other bytes) and anonymous access."""

    def __init__(self, blobs, headers=None):
        fake = self
        self.blobs, self.headers, self.paths = blobs, headers or {}, []

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                fake.paths.append(self.path)
                if self.path == "/v2/":
                    body = b"{}"
                elif self.path in fake.blobs:
                    body = fake.blobs[self.path]
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                for k, v in fake.headers.get(self.path, {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_HEAD = do_GET

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.host = "127.0.0.1:%d" % self.httpd.server_address[1]
        self.t = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.t.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake():
    made = []

    def make(blobs, headers=None):
        f = Fake(blobs, headers)
        made.append(f)
        return f
    yield make
    for f in made:
        f.close()


def _d(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def test_blob_verified_before_it_is_kept(fake, tmp_path):
    good = b"layer bytes" * 100
    f = fake({"/v2/a/blobs/" + _d(good): good, "/v2/a/blobs/" + _d(b"other"): b"not other"})
    r = reg_mod.Registry(f.host)
    path = r.blob_to_file("a", _d(good), str(tmp_path), size=len(good))
    assert r.scheme == "http"   # loopback, no TLS: plain HTTP
    with open(path, "rb") as fh:
        assert fh.read() == good
    with pytest.raises(MyDockerError, match="refused: its content has digest " + _d(b"not other")[:20]):
        r.blob_to_file("a", _d(b"other"), str(tmp_path))
    with pytest.raises(MyDockerError, match="more than the 5 bytes its manifest says"):
        r.blob_to_file("a", _d(good), str(tmp_path), size=5)
    assert sorted(os.listdir(str(tmp_path))) == [os.path.basename(path)]   # nothing partial kept


def test_manifest_digest_checked(fake):
    m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {}, "layers": []}).encode()
    f = fake({"/v2/a/manifests/1": m, "/v2/a/manifests/2": m},
             {"/v2/a/manifests/1": {"Docker-Content-Digest": _d(m)},
              "/v2/a/manifests/2": {"Docker-Content-Digest": _d(b"x")}})
    r = reg_mod.Registry(f.host)
    assert r.manifest("a", "1")[2] == _d(m)
    assert r.manifest("a", "1", head=True)[2] == _d(m)
    with pytest.raises(MyDockerError, match="manifest 2 of a refused"):
        r.manifest("a", "2")
    with pytest.raises(MyDockerError, match="HTTP 404"):
        r.manifest("a", "3")


def test_schema1_and_unknown_layer_types_refused(fake):
    s1 = json.dumps({"schemaVersion": 1, "fsLayers": []}).encode()
    zstd = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"digest": _d(b"c")}, "layers": [
                           {"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "digest": _d(b"l")}]}).encode()
    f = fake({"/v2/a/manifests/old": s1, "/v2/a/manifests/z": zstd})
    r = reg_mod.Registry(f.host)
    with pytest.raises(MyDockerError, match="schema 1"):
        pull.resolve(r, reference.parse(f.host + "/a:old"))
    with pytest.raises(MyDockerError, match="tar\\+zstd"):
        pull.resolve(r, reference.parse(f.host + "/a:z"))


def test_unreachable_registry_is_one_line():
    # loopback port 9 (discard): nothing listens, the connection is refused at once
    r = reg_mod.Registry("127.0.0.1:9")
    with pytest.raises(MyDockerError, match="cannot reach registry 127.0.0.1:9"):
        r.check_login()
