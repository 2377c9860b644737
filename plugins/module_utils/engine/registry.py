# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A client of the OCI distribution API (``/v2/``) on ``http.client``: standard library only.

Authentication as registries ask for it in their ``WWW-Authenticate`` challenge: anonymous,
``Basic`` (the login's user and password on every request) or ``Bearer`` (a token fetched from
the challenge's realm for the challenge's service and the repository's scope, with the login's
user and password as basic auth when there is one, anonymously otherwise).

TLS by default, verified against the system's CA bundle or ``ca_file``.  A registry on a
loopback address or one listed in ``insecure`` may be spoken to without verification, or over
plain HTTP when it does not speak TLS at all (what Docker does for its insecure registries);
every other registry is HTTPS, verified, or nothing.
"""

import base64
import hashlib
import http.client
import ipaddress
import json
import os
import socket
import ssl
import tempfile
import threading
import urllib.parse

from .errors import MyDockerError
from .lazyre import lazy_re

HUB_HOST = "registry-1.docker.io"
TIMEOUT = 60
CHUNK = 1 << 20
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
_CHALLENGE_RE = lazy_re(r'(\w+)\s*=\s*"([^"]*)"')
_DIGEST_RE = lazy_re(r"^sha256:[0-9a-f]{64}$")


def is_loopback(domain):
    host = host_of(domain)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_of(domain):
    """``127.0.0.1:5000`` -> ``127.0.0.1``; ``[::1]:5000`` -> ``::1``."""
    if domain.startswith("["):
        return domain[1:].split("]", 1)[0]
    return domain.rsplit(":", 1)[0] if domain.count(":") == 1 else domain


def parse_challenge(header):
    """``('bearer', {'realm': ..., 'service': ..., 'scope': ...})`` of a WWW-Authenticate header."""
    if not header:
        return None, {}
    scheme, _sep, rest = header.strip().partition(" ")
    return scheme.lower(), dict((k.lower(), v) for k, v in _CHALLENGE_RE.findall(rest))


def check_digest(digest, what="digest"):
    if not isinstance(digest, str) or not _DIGEST_RE.match(digest):
        raise MyDockerError("registry sent a bad %s %r (only sha256 digests are supported)" % (what, digest))
    return digest


class Response:
    """A response: ``status``, ``headers`` (lower-case names), and the open body (``read``)."""

    def __init__(self, conn, resp):
        self.conn, self.resp = conn, resp
        self.status = resp.status
        self.headers = dict((k.lower(), v) for k, v in resp.getheaders())

    def read(self, n=-1):
        return self.resp.read(n) if n >= 0 else self.resp.read()

    def close(self):
        try:
            self.resp.close()
        finally:
            self.conn.close()


class Registry:
    """One registry (``domain`` as references spell it: ``docker.io``, ``127.0.0.1:5000``).

    ``credentials``: (user, password) or None; ``insecure``: registries (``host:port``) that may
    be spoken to without verified TLS; ``ca_file``: a CA bundle for TLS."""

    def __init__(self, domain, credentials=None, insecure=(), ca_file=None):
        self.domain = domain
        self.host = HUB_HOST if domain == "docker.io" else domain
        self.credentials = credentials
        self.insecure = domain in (insecure or ()) or self.host in (insecure or ()) or is_loopback(domain)
        self.ca_file = ca_file
        if ca_file and not os.path.isfile(ca_file):
            raise MyDockerError("CA bundle %s does not exist" % ca_file)
        self._scheme = None     # "https", "https-noverify" or "http", found by the first request
        self._tokens = {}       # scope -> token
        self._challenge = None  # (scheme, params) of the /v2/ probe
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- transport

    def _context(self, verify):
        if not verify:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return ctx
        return ssl.create_default_context(cafile=self.ca_file)

    def _connection(self, scheme, host):
        if scheme == "http":
            return http.client.HTTPConnection(host, timeout=TIMEOUT)
        return http.client.HTTPSConnection(host, timeout=TIMEOUT, context=self._context(scheme == "https"))

    def _raw(self, scheme, host, method, path, headers, body=None):
        conn = self._connection(scheme, host)
        try:
            conn.request(method, path, body=body, headers=headers)
            return Response(conn, conn.getresponse())
        except BaseException:
            conn.close()
            raise

    def _probe(self):
        """Find how to speak to the registry (GET /v2/), remember its challenge."""
        scheme, last = "https", None
        while scheme:
            try:
                r = self._raw(scheme, self.host, "GET", "/v2/", {"User-Agent": "mydocker"})
            except ssl.SSLCertVerificationError as e:
                # an insecure registry: TLS without verification (what Docker does for them)
                last, scheme = e, ("https-noverify" if self.insecure and scheme == "https" else None)
                continue
            except (ssl.SSLError, ConnectionResetError, http.client.BadStatusLine,
                    http.client.RemoteDisconnected) as e:
                # not TLS at all: plain HTTP, for an insecure registry only
                last, scheme = e, ("http" if self.insecure and scheme != "http" else None)
                continue
            except OSError as e:
                raise MyDockerError("cannot reach registry %s: %s" % (self.domain, e))
            try:
                r.read()
            finally:
                r.close()
            if r.status not in (200, 401):
                raise MyDockerError("%s is not a registry (GET /v2/ answered HTTP %d)" % (self.domain, r.status))
            self._scheme = scheme
            self._challenge = parse_challenge(r.headers.get("www-authenticate")) if r.status == 401 else None
            return
        if last is None:
            raise MyDockerError("cannot speak to registry %s" % self.domain)
        if isinstance(last, ssl.SSLCertVerificationError):
            raise MyDockerError("registry %s: TLS certificate not trusted (%s); give its CA bundle or list it "
                                "as an insecure registry" % (self.domain, last.verify_message or last))
        raise MyDockerError("cannot speak to registry %s: %s" % (self.domain, last))

    @property
    def scheme(self):
        with self._lock:
            if self._scheme is None:
                self._probe()
        return self._scheme

    # ---------------------------------------------------------------- authentication

    def _basic(self):
        user, password = self.credentials
        return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode("utf-8")).decode("ascii")

    def _token(self, params, scope):
        """A Bearer token for ``scope`` from the challenge's realm."""
        realm = params.get("realm")
        if not realm:
            raise MyDockerError("registry %s asks for a token but names no realm" % self.domain)
        u = urllib.parse.urlsplit(realm)
        if u.scheme not in ("https", "http") or not u.netloc:
            raise MyDockerError("registry %s names a bad token realm %r" % (self.domain, realm))
        if u.scheme == "http" and not (self.insecure and is_loopback(u.netloc)) and u.netloc != self.domain:
            raise MyDockerError("registry %s: refusing to send credentials to the plain-HTTP realm %s"
                                % (self.domain, realm))
        query = urllib.parse.parse_qsl(u.query)
        if params.get("service"):
            query.append(("service", params["service"]))
        for s in scope.split(" ") if scope else []:
            query.append(("scope", s))
        path = (u.path or "/") + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = {"User-Agent": "mydocker"}
        if self.credentials:
            headers["Authorization"] = self._basic()
        scheme = "http" if u.scheme == "http" else ("https-noverify" if self._scheme == "https-noverify"
                                                    and is_loopback(u.netloc) else "https")
        try:
            r = self._raw(scheme, u.netloc, "GET", path, headers)
            try:
                body = r.read()
            finally:
                r.close()
        except (OSError, http.client.HTTPException) as e:
            raise MyDockerError("cannot get a token from %s: %s" % (realm, e))
        if r.status in (401, 403):
            raise MyDockerError("registry %s: authentication failed (%s)" % (
                self.domain, "wrong user name or password" if self.credentials else "it needs a login"))
        if r.status != 200:
            raise MyDockerError("token server %s answered HTTP %d" % (realm, r.status))
        try:
            data = json.loads(body.decode("utf-8"))
            token = data.get("token") or data.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise MyDockerError("token server %s sent no token" % realm)
        return token

    def _auth_header(self, scope, challenge=None):
        chal = challenge or self._challenge
        if not chal or not chal[0]:
            return None
        kind, params = chal
        if kind == "basic":
            if not self.credentials:
                raise MyDockerError("registry %s needs a login (mydocker login %s)" % (self.domain, self.domain))
            return self._basic()
        if kind == "bearer":
            scope = params.get("scope") if challenge and params.get("scope") else scope
            with self._lock:
                if challenge is not None or scope not in self._tokens:
                    self._tokens[scope] = self._token(params, scope)
                return "Bearer " + self._tokens[scope]
        raise MyDockerError("registry %s asks for an unknown authentication %r" % (self.domain, kind))

    def check_login(self):
        """Raise unless the registry accepts the credentials (what ``login`` verifies)."""
        scheme = self.scheme
        hdr = self._auth_header("")
        headers = {"User-Agent": "mydocker"}
        if hdr:
            headers["Authorization"] = hdr
        r = self._raw(scheme, self.host, "GET", "/v2/", headers)
        try:
            r.read()
        finally:
            r.close()
        if r.status in (401, 403):
            raise MyDockerError("login to %s failed: wrong user name or password" % self.domain)
        if r.status != 200:
            raise MyDockerError("login to %s failed: HTTP %d" % (self.domain, r.status))

    # ---------------------------------------------------------------- requests

    def request(self, method, path, scope, headers=None, body=None, ok=(200,), redirects=3):
        """A request on the registry with the authentication it asks for; follows redirects (a blob
        store elsewhere gets no Authorization).  Returns the open ``Response`` (status in ``ok``) or
        raises MyDockerError naming the status."""
        scheme = self.scheme
        hdrs = {"User-Agent": "mydocker"}
        hdrs.update(headers or {})
        auth = self._auth_header(scope)
        host = self.host
        for attempt in range(2):
            h = dict(hdrs)
            if auth:
                h["Authorization"] = auth
            try:
                r = self._raw(scheme, host, method, path, h, body)
            except (OSError, http.client.HTTPException) as e:
                raise MyDockerError("registry %s: %s %s failed: %s" % (self.domain, method, path, e))
            if r.status == 401 and attempt == 0 and not callable(getattr(body, "read", None)):
                chal = parse_challenge(r.headers.get("www-authenticate"))
                r.read()
                r.close()
                if not chal[0]:
                    break
                auth = self._auth_header(scope, chal)
                continue
            break
        while r.status in (301, 302, 303, 307, 308) and redirects > 0 and r.headers.get("location"):
            loc = urllib.parse.urljoin("%s://%s%s" % ("http" if scheme == "http" else "https", host, path),
                                       r.headers["location"])
            r.read()
            r.close()
            u = urllib.parse.urlsplit(loc)
            same = u.netloc == host
            h = dict(hdrs)
            if same and auth:
                h["Authorization"] = auth
            nscheme = "http" if u.scheme == "http" else (scheme if same else "https")
            if nscheme == "http" and not (same or is_loopback(u.netloc)):
                raise MyDockerError("registry %s redirects to plain HTTP %s: refused" % (self.domain, loc))
            path = u.path + ("?" + u.query if u.query else "")
            host, scheme = u.netloc, nscheme
            redirects -= 1
            try:
                r = self._raw(scheme, host, method, path, h)
            except (OSError, http.client.HTTPException) as e:
                raise MyDockerError("registry %s: %s %s failed: %s" % (self.domain, method, loc, e))
        if r.status not in ok:
            detail = ""
            try:
                if method != "HEAD":
                    data = json.loads(r.read(65536).decode("utf-8", "replace"))
                    errs = data.get("errors") or []
                    if errs:
                        detail = ": " + "; ".join("%s %s" % (e.get("code", ""), e.get("message", "")) for e in errs)
            except (ValueError, AttributeError, OSError, http.client.HTTPException):
                pass
            r.close()
            if r.status in (401, 403):
                raise MyDockerError("registry %s: access to %s denied (HTTP %d; mydocker login %s?)%s"
                                    % (self.domain, path.split("?")[0], r.status, self.domain, detail))
            raise MyDockerError("registry %s: %s %s answered HTTP %d%s"
                                % (self.domain, method, path.split("?")[0], r.status, detail))
        return r

    # ---------------------------------------------------------------- the distribution API

    @staticmethod
    def scope(path, actions="pull"):
        return "repository:%s:%s" % (path, actions)

    def manifest(self, path, ref, head=False, missing_ok=False):
        """(body bytes or None, media type, digest) of the manifest ``ref`` (a tag or a digest) of
        repository ``path``; the body is verified against the digest (``ref`` when it is one,
        else the registry's Docker-Content-Digest).  ``missing_ok``: None when there is none."""
        r = self.request("HEAD" if head else "GET", "/v2/%s/manifests/%s" % (path, ref), self.scope(path),
                         headers={"Accept": ", ".join(MANIFEST_TYPES)}, ok=(200, 404) if missing_ok else (200,))
        if r.status == 404:
            r.close()
            return None
        try:
            body = None if head else _read_limited(r, 4 << 20, "manifest")
        finally:
            r.close()
        mtype = (r.headers.get("content-type") or "").split(";")[0].strip()
        sent = r.headers.get("docker-content-digest")
        if head:
            digest = ref if ref.startswith("sha256:") else sent
            if not digest:
                return self.manifest(path, ref)  # a registry that does not say: read it
            return None, mtype, check_digest(digest, "manifest digest")
        actual = "sha256:" + hashlib.sha256(body).hexdigest()
        want = ref if ref.startswith("sha256:") else sent
        if want and want != actual:
            raise MyDockerError("manifest %s of %s refused: its content has digest %s, not %s"
                                % (ref, path, actual, want))
        try:
            mtype = json.loads(body.decode("utf-8")).get("mediaType") or mtype
        except (ValueError, AttributeError):
            raise MyDockerError("manifest %s of %s is not JSON" % (ref, path))
        return body, mtype, actual

    def blob_to_file(self, path, digest, dest_dir, size=None, on_chunk=None):
        """Download blob ``digest`` of repository ``path`` into a temporary file in ``dest_dir``,
        hashing it as it streams; renamed to ``<hex>.blob`` only once its digest (and size) match.
        Returns the file's path.  A wrong digest is refused with one line and leaves nothing."""
        check_digest(digest, "blob digest")
        r = self.request("GET", "/v2/%s/blobs/%s" % (path, digest), self.scope(path))
        fd, tmp = tempfile.mkstemp(prefix=".part-", dir=dest_dir)
        h = hashlib.sha256()
        n = 0
        try:
            with os.fdopen(fd, "wb") as f:
                while True:
                    chunk = r.read(CHUNK)
                    if not chunk:
                        break
                    h.update(chunk)
                    f.write(chunk)
                    n += len(chunk)
                    if size is not None and n > size:
                        raise MyDockerError("blob %s of %s refused: more than the %d bytes its manifest says"
                                            % (digest, path, size))
                    if on_chunk:
                        on_chunk(n)
            if "sha256:" + h.hexdigest() != digest:
                raise MyDockerError("blob %s of %s refused: its content has digest sha256:%s"
                                    % (digest, path, h.hexdigest()))
            if size is not None and n != size:
                raise MyDockerError("blob %s of %s refused: %d bytes, its manifest says %d" % (digest, path, n, size))
            final = os.path.join(dest_dir, digest.split(":", 1)[1] + ".blob")
            os.rename(tmp, final)
            return final
        except (OSError, http.client.HTTPException, socket.timeout) as e:
            raise MyDockerError("blob %s of %s: download failed: %s" % (digest, path, e))
        finally:
            r.close()
            if os.path.exists(tmp):
                os.unlink(tmp)


def _read_limited(r, limit, what):
    body = r.read(limit + 1)
    if len(body) > limit:
        raise MyDockerError("registry sent a %s of more than %d bytes: refused" % (what, limit))
    return body
