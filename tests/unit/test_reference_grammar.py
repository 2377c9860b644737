"""The grammar the start path matches by hand (reference.py, validate.is_name, imagestore's image
IDs, resources.cpu_list_to_set), against the regular expressions it stands for, on whole strings
(issue 13: a plain run imports no re). Generated strings of the characters that matter."""
import random
import re

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import reference as R
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.resources import cpu_list_to_set
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.validate import is_name

COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
EXPRESSIONS = {
    "path": (R.is_path, r"%s(?:/%s)*" % (COMPONENT, COMPONENT)),
    "domain": (R.is_domain, r"%s(?:\.%s)*(?::[0-9]+)?" % (LABEL, LABEL)),
    "tag": (R.is_tag, r"[\w][\w.-]{0,127}"),
    "name": (is_name, r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"),
    "image id": (lambda s: R.is_hex(s, 32, 128), r"[a-f0-9]{32,128}"),
}
ALPHABETS = {
    "path": "ab09._-/A:",
    "domain": "aZ09.-:/_",
    "tag": "aZ09_.-:\u00e9\u0663 ",
    "name": "aZ09_.-/ \n",
    "image id": "0f9aG",
}


def _strings(rng, alphabet, n):
    for _i in range(n):
        yield "".join(rng.choice(alphabet) for _i in range(rng.choice([0, 1, 2, 3, 5, 8, 13, 40])))


@pytest.mark.parametrize("kind", sorted(EXPRESSIONS))
def test_hand_matching_is_the_expression_on_whole_strings(kind):
    fn, pattern = EXPRESSIONS[kind]
    rx = re.compile(pattern)
    rng = random.Random(kind)
    for s in _strings(rng, ALPHABETS[kind], 20000):
        assert fn(s) == bool(rx.fullmatch(s)), (kind, s)
    for s in ("a" * 128, "a" * 129, "0" * 32, "0" * 31, "f" * 128, "f" * 129, "a--b", "a___b", "a..b", "a._b",
              "localhost:5000", "host:", ":5000", "a.b.c:1", "-a", "a-", "\u00e9t\u00e9", "_x", ".x"):
        assert fn(s) == bool(rx.fullmatch(s)), (kind, s)


def test_a_trailing_newline_is_refused():
    """``^...$`` with re.match took "name\\n"; matched by hand, the whole string must match."""
    assert not is_name("web\n")
    with pytest.raises(MyDockerError, match="invalid image name"):
        R.parse("busybox\n")


def _cpus_by_expression(text):
    cpus = set()
    for part in text.strip().split(",") if text.strip() else []:
        m = re.match(r"^(\d+)(?:-(\d+))?$", part.strip())
        if not m:
            return None
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) is not None else first
        if last < first or last > 8191:
            return None
        cpus.update(range(first, last + 1))
    return cpus


def test_cpu_lists_as_the_expression_parsed_them():
    rng = random.Random(7)
    for s in list(_strings(rng, "0123-, \u0663", 5000)) + ["0-1", "0,2", " 3 ", "1-0", "", "8191", "8192", "\u0663"]:
        try:
            got = cpu_list_to_set(s)
        except MyDockerError:
            got = None
        assert got == _cpus_by_expression(s), s


def test_parse_still_names_what_is_wrong():
    for ref, why in (("a@sha256:" + "0" * 63, "digest"), ("a:-x", "tag"), ("a.b:x/y", "bad registry"),
                     ("Ab", "lowercase"), ("a__-b", "repository path")):
        with pytest.raises(MyDockerError, match=why):
            R.parse(ref)
    assert str(R.parse("localhost:5000/a/b-c__d:v1.0@sha256:" + "a" * 64)) == \
        "localhost:5000/a/b-c__d:v1.0@sha256:" + "a" * 64
    assert R.looks_like_id("sha256:" + "0" * 12) and not R.looks_like_id("0" * 11)
