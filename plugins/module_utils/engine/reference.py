# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image references as Docker parses them (distribution/reference): pure, standard library only.

    [registry[:port]/]path[:tag][@sha256:digest]

``parse("busybox")`` is ``docker.io/library/busybox:latest``: a reference without a registry
(its first component has no '.', no ':' and is not ``localhost``) is on Docker Hub, a one-part
Hub path is under ``library/``, and a reference without tag or digest is ``:latest``.
``familiar`` gives the short form Docker prints (``busybox:latest``, ``me/app:v1``).
"""


from .errors import MyDockerError
from .lazyre import lazy_re

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAIN = "index.docker.io"
OFFICIAL_REPO = "library"
DEFAULT_TAG = "latest"

NAME_TOTAL_MAX = 255

# distribution/reference's grammar, matched by hand: the regular expressions of every image
# reference a plain run resolves would cost the start ~2 ms of importing and compiling re
# (tests/unit/test_reference_grammar.py compares these with the expressions, whole strings)
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_ALNUM = _LOWER | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LABEL = _ALNUM | frozenset("-")
_TAG = _ALNUM | frozenset("_.-")
_HEX = frozenset("0123456789abcdef")
_DIGITS = frozenset("0123456789")
_TAG_RE = lazy_re(r"[\w][\w.-]{0,127}")  # \w beyond ASCII


def is_component(c):
    """``[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*``: one component of a repository path."""
    if not c or c[0] not in _LOWER or c[-1] not in _LOWER:
        return False
    sep = ""
    for ch in c:
        if ch in _LOWER:
            if sep and sep not in (".", "_", "__") and sep.strip("-"):
                return False
            sep = ""
        elif ch in "._-":
            sep += ch
        else:
            return False
    return True


def is_path(path):
    """Components joined by '/'."""
    return all(is_component(c) for c in path.split("/"))


def is_domain(domain):
    r"""``label(?:\.label)*(?::[0-9]+)?``, a label of letters, digits and inner '-'."""
    host, colon, port = domain.partition(":")
    if colon and not (port and _DIGITS.issuperset(port)):
        return False
    return all(lb and lb[0] in _ALNUM and lb[-1] in _ALNUM and _LABEL.issuperset(lb) for lb in host.split("."))


def is_tag(tag):
    r"""``[\w][\w.-]{0,127}``."""
    if not tag.isascii():
        return bool(_TAG_RE.fullmatch(tag))
    return 0 < len(tag) <= 128 and tag[0] in _TAG and tag[0] not in ".-" and _TAG.issuperset(tag)


def is_hex(text, least, most):
    """``[0-9a-f]{least,most}``."""
    return least <= len(text) <= most and _HEX.issuperset(text)


class Reference:
    """A parsed, normalised reference: ``domain``, ``path``, ``tag`` (None with only a digest
    given), ``digest`` (None or ``sha256:<hex>``)."""

    __slots__ = ("domain", "path", "tag", "digest")

    def __init__(self, domain, path, tag=None, digest=None):
        self.domain, self.path, self.tag, self.digest = domain, path, tag, digest

    @property
    def repository(self):
        """``docker.io/library/busybox``: the name without tag and digest."""
        return "%s/%s" % (self.domain, self.path)

    def __str__(self):
        s = self.repository
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s += "@" + self.digest
        return s

    def __repr__(self):
        return "Reference(%r)" % str(self)

    def __eq__(self, other):
        return isinstance(other, Reference) and str(self) == str(other)

    def __hash__(self):
        return hash(str(self))

    @property
    def familiar_repository(self):
        """``busybox``, ``me/app``, ``localhost:5000/app``: the repository as Docker prints it."""
        if self.domain == DEFAULT_DOMAIN:
            path = self.path
            if path.startswith(OFFICIAL_REPO + "/") and path.count("/") == 1:
                path = path[len(OFFICIAL_REPO) + 1:]
            return path
        return self.repository

    @property
    def familiar(self):
        s = self.familiar_repository
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s += "@" + self.digest
        return s

    def with_tag(self, tag):
        return Reference(self.domain, self.path, tag, None)

    @property
    def legacy_name(self):
        """The SPEC 1.3 file name (``image/<name>.json``) of this reference: ``busybox`` for
        ``docker.io/library/busybox:latest``; None for any other reference."""
        if self.domain != DEFAULT_DOMAIN or self.tag != DEFAULT_TAG or self.digest:
            return None
        if not self.path.startswith(OFFICIAL_REPO + "/") or self.path.count("/") != 1:
            return None
        return self.path[len(OFFICIAL_REPO) + 1:]


def _invalid(ref, why):
    return MyDockerError("invalid image name %r: invalid reference format: %s" % (ref, why))


def parse(ref, default_tag=True):
    """The normalised ``Reference`` of the string ``ref``; MyDockerError naming what is wrong.

    ``default_tag``: add ``:latest`` when neither a tag nor a digest is given."""
    if not isinstance(ref, str) or not ref:
        raise _invalid(ref, "empty")
    rest = ref
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not (digest.startswith("sha256:") and is_hex(digest[7:], 64, 64)):
            raise _invalid(ref, "the digest must be sha256: and 64 lower-case hex digits")
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not is_tag(tag):
            raise _invalid(ref, "the tag must be letters, digits, '_', '.', '-' (max 128), not starting "
                                "with '.' or '-'")
    if not rest:
        raise _invalid(ref, "no repository name")
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        domain, path = first, remainder
        if not is_domain(domain):
            raise _invalid(ref, "bad registry %r" % domain)
        if domain == LEGACY_DOMAIN:
            domain = DEFAULT_DOMAIN
    else:
        domain, path = DEFAULT_DOMAIN, rest
    if path != path.lower():
        raise _invalid(ref, "repository name must be lowercase")
    if not is_path(path):
        raise _invalid(ref, "the repository path must be lower-case letters, digits and separators "
                            "('.', '_', '__', '-') between '/'-separated components")
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_REPO + "/" + path
    if len("%s/%s" % (domain, path)) > NAME_TOTAL_MAX:
        raise _invalid(ref, "repository name longer than %d characters" % NAME_TOTAL_MAX)
    if tag is None and digest is None and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def try_parse(ref):
    """``parse(ref)`` or None when it is not a valid reference."""
    try:
        return parse(ref)
    except MyDockerError:
        return None


def display(ref):
    """How an image reference is shown as a name: ``busybox`` (for ``busybox:latest``),
    ``me/app:v1``; the same image name however it is spelled."""
    r = parse(ref)
    s = r.familiar
    return s[:-len(":" + DEFAULT_TAG)] if r.tag == DEFAULT_TAG and not r.digest else s


def normalize(ref):
    """``busybox`` -> ``docker.io/library/busybox:latest``."""
    return str(parse(ref))


def familiar(ref):
    """``docker.io/library/busybox:latest`` -> ``busybox:latest``."""
    return parse(ref).familiar


def looks_like_id(ref):
    """True for what may be an image ID or its prefix (12 to 64 hex digits, maybe ``sha256:``)."""
    return isinstance(ref, str) and is_hex(ref[7:] if ref.startswith("sha256:") else ref, 12, 64)


def matches(pattern, ref):
    """Docker's ``--filter reference=PATTERN``: shell-style ``*`` / ``?`` against the familiar
    form (``busybox:latest``) or the familiar repository (``busybox``) of ``ref``."""
    import fnmatch
    r = ref if isinstance(ref, Reference) else parse(ref)
    names = [r.familiar, r.familiar_repository, str(r), r.repository]
    return any(fnmatch.fnmatchcase(n, pattern) for n in names)
