"""A docker-registry for the integration targets, on 127.0.0.1 with a free port and the storage
of the work directory given; images put in with skopeo from an OCI layout written here.

    registry_ctl.py start WORKDIR [--tls USER PASSWORD]   prints {"host", "pid", "ca"}
    registry_ctl.py put WORKDIR HOST MESSAGE [USER PASSWORD]  (team/app:1 prints MESSAGE)
    registry_ctl.py stop WORKDIR                           kills the registry, removes WORKDIR

Only 127.0.0.1 is ever spoken to."""
import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time


def sha(b):
    return hashlib.sha256(b).hexdigest()


def add(tf, name, data=b"", mode=0o644, kind=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime, ti.linkname = kind, mode, 0, link
    if kind == tarfile.REGTYPE:
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    else:
        tf.addfile(ti)


def layers(message):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for d in ("bin", "etc", "proc", "sys", "dev", "tmp", "app"):
            add(tf, d, kind=tarfile.DIRTYPE, mode=0o755)
        with open(shutil.which("busybox") or "/bin/busybox", "rb") as f:
            add(tf, "bin/busybox", f.read(), mode=0o755)
        for a in ("sh", "echo", "cat", "id", "ls", "sleep"):
            add(tf, "bin/" + a, kind=tarfile.SYMTYPE, link="/bin/busybox")
        add(tf, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
        add(tf, "etc/gone", b"deleted by the layer above\n")
    base = buf.getvalue()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        add(tf, "etc", kind=tarfile.DIRTYPE, mode=0o755)
        add(tf, "etc/.wh.gone")
        add(tf, "app", kind=tarfile.DIRTYPE, mode=0o755)
        add(tf, "app/entry.sh", b"#!/bin/sh\necho %s\n" % message.encode(), mode=0o755)
    top = buf.getvalue()
    return [(base, base, "application/vnd.oci.image.layer.v1.tar"),
            (gzip.compress(top, mtime=0), top, "application/vnd.oci.image.layer.v1.tar+gzip")]


def layout(d, message):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "blobs", "sha256"))

    def blob(b):
        with open(os.path.join(d, "blobs", "sha256", sha(b)), "wb") as f:
            f.write(b)
        return "sha256:" + sha(b)
    lays = layers(message)
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Entrypoint": ["/app/entry.sh"]},
                      "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(u) for _b, u, _t in lays]}}).encode()
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": blob(cfg),
                                 "size": len(cfg)},
                      "layers": [{"mediaType": t, "digest": blob(b), "size": len(b)} for b, _u, t in lays]}).encode()
    with open(os.path.join(d, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion": "1.0.0"}')
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                   "digest": blob(man), "size": len(man),
                   "annotations": {"org.opencontainers.image.ref.name": "1"}}]}, f)


def start(work, tls_user=None, tls_password=None):
    os.makedirs(work, exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = {"version": 0.1, "log": {"level": "error", "accesslog": {"disabled": True}},
           "storage": {"filesystem": {"rootdirectory": os.path.join(work, "storage")}},
           "http": {"addr": "127.0.0.1:%d" % port, "secret": "integration"}}
    ca = None
    if tls_user:
        ca, key = os.path.join(work, "ca.crt"), os.path.join(work, "ca.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", ca],
                       check=True, capture_output=True)
        htp = os.path.join(work, "htpasswd")
        subprocess.run(["htpasswd", "-Bbc", htp, tls_user, tls_password], check=True, capture_output=True)
        cfg["http"]["tls"] = {"certificate": ca, "key": key}
        cfg["auth"] = {"htpasswd": {"realm": "integration", "path": htp}}
    path = os.path.join(work, "config.yml")
    with open(path, "w") as f:
        json.dump(cfg, f)
    with open(os.path.join(work, "registry.log"), "wb") as log:
        proc = subprocess.Popen(["/usr/bin/docker-registry", "serve", path], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    with open(os.path.join(work, "registry.pid"), "w") as f:
        f.write(str(proc.pid))
    host = "127.0.0.1:%d" % port
    for _i in range(200):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    print(json.dumps({"host": host, "pid": proc.pid, "ca": ca}))


def put(work, host, message, user=None, password=None):
    d = os.path.join(work, "layout")
    layout(d, message)
    argv = ["skopeo", "copy", "-q", "--dest-tls-verify=false"]
    if user:
        argv += ["--dest-creds", "%s:%s" % (user, password)]
    subprocess.run(argv + ["oci:%s:1" % d, "docker://%s/team/app:1" % host], check=True, capture_output=True)
    print(json.dumps({"ok": True}))


def stop(work):
    try:
        with open(os.path.join(work, "registry.pid")) as f:
            pid = int(f.read())
        os.kill(pid, signal.SIGKILL)
        for _i in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
    except (OSError, ValueError):
        pass
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"stopped": True}))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "start":
        start(args[0], *(args[2:4] if len(args) > 1 and args[1] == "--tls" else ()))
    elif cmd == "put":
        put(*args)
    else:
        stop(args[0])
