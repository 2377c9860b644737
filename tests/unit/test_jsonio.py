"""engine/jsonio.py against the json module itself: the same text out, the same objects in, the same
errors, on generated documents (issue 13: the start path does not import json and re)."""
import json
import math
import random
import shlex
import subprocess
import sys

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import jsonio
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.records import shell_join

ALPHABET = "azAZ09 _-./:@%+=,'\"\\\n\t\x00\x1f\x7f\u00e9\u20ac\U0001f600\ud800"


def _text(rng, n=8):
    return "".join(rng.choice(ALPHABET) for _i in range(rng.randint(0, n)))


def _value(rng, depth=0):
    kinds = ["int", "float", "str", "bool", "none"] + (["list", "dict"] * 2 if depth < 4 else [])
    kind = rng.choice(kinds)
    if kind == "int":
        return rng.choice([0, -1, 1, 2 ** 63, -(2 ** 70), rng.randint(-10 ** 6, 10 ** 6)])
    if kind == "float":
        return rng.choice([0.0, -0.0, 1.5, 1e308, 5e-324, float("inf"), float("-inf"), float("nan"),
                           rng.uniform(-1e9, 1e9)])
    if kind == "str":
        return _text(rng)
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "none":
        return None
    if kind == "list":
        return [_value(rng, depth + 1) for _i in range(rng.randint(0, 4))]
    keys = [_text(rng, 5) for _i in range(rng.randint(0, 4))]
    return dict((k, _value(rng, depth + 1)) for k in keys)


FORMS = [dict(), dict(separators=(",", ":")), dict(sort_keys=True), dict(separators=(",", ":"), sort_keys=True),
         dict(separators=(",", ":"), indent=None), dict(indent=2), dict(indent=2, sort_keys=True)]


@pytest.mark.parametrize("seed", range(4))
def test_dumps_and_loads_are_json_s(seed):
    rng = random.Random(seed)
    for _i in range(500):
        obj = _value(rng)
        for form in FORMS:
            text = jsonio.dumps(obj, **form)
            assert text == json.dumps(obj, **form), (obj, form)
            # what is read back is what json reads back (NaN compared by its text)
            assert json.dumps(jsonio.loads(text)) == json.dumps(json.loads(text))
            assert json.dumps(jsonio.loads(text.encode("utf-8", "surrogatepass"))) == json.dumps(json.loads(text))


def test_non_string_keys_as_json_writes_them():
    obj = {1: "a", 2.5: "b", False: "c", None: "d"}
    assert jsonio.dumps(obj) == json.dumps(obj)
    assert jsonio.dumps("plain \u20ac") == json.dumps("plain \u20ac")


def _raised(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - the kind and text are what is compared
        return type(e), str(e)
    return None


BAD_DOCUMENTS = ["", " ", "{", "[1,]", "{'a': 1}", "1 2", "[1] x", '{"a" 1}', "nul", '"\x01"', "\ufeff{}",
                 "[" * 100000, '"\\ud800', "01", b"\xff{}", b"", "1e99999x", '{"a":1,}']


@pytest.mark.parametrize("doc", BAD_DOCUMENTS, ids=range(len(BAD_DOCUMENTS)))
def test_bad_documents_raise_json_s_error(doc):
    got = _raised(jsonio.loads, doc)
    assert got is not None
    assert got == _raised(json.loads, doc)


@pytest.mark.parametrize("doc", [b"\xef\xbb\xbf[1]", "[1]".encode("utf-16"), "[1]".encode("utf-32-le"),
                                 " \n[1, {\"a\": null}]\t ", b"\"\xed\xa0\x80\""], ids=range(5))
def test_other_encodings_and_whitespace_as_json_reads_them(doc):
    assert repr(jsonio.loads(doc)) == repr(json.loads(doc))


class _Odd:
    pass


def test_what_json_refuses_to_write_raises_json_s_error():
    loop = []
    loop.append(loop)
    for obj, form in (({"a": _Odd()}, {}), (loop, {}), ({(1, 2): 1}, {}), ({"a": 1, 2: 1}, dict(sort_keys=True)),
                      ({"a": float("nan")}, dict(allow_nan=False))):
        got = _raised(jsonio.dumps, obj, **form)
        assert got is not None and got[0] in (TypeError, ValueError)
        assert got == _raised(json.dumps, obj, **form)
    assert jsonio.dumps({"a": _Odd()}, default=lambda o: "odd") == '{"a": "odd"}'


def test_without_the_accelerator_json_does_it(monkeypatch):
    monkeypatch.setattr(jsonio, "_json", None)
    monkeypatch.setattr(jsonio, "_scan", None)
    obj = {"b": [1, 2.5, None], "a": "\u20ac"}
    assert jsonio.dumps(obj, sort_keys=True) == json.dumps(obj, sort_keys=True)
    assert jsonio.loads('{"a": [1]}') == {"a": [1]}


@pytest.mark.parametrize("seed", range(3))
def test_shell_join_is_shlex_join(seed):
    rng = random.Random(seed)
    for _i in range(2000):
        argv = [_text(rng, 6).replace("\ud800", "") for _i in range(rng.randint(0, 4))]
        assert shell_join(argv) == shlex.join(argv), argv


START_PATH = ("cli.main", "cli.containers", "cli.fastparse", "engine.containers", "engine.create",
              "engine.lifecycle", "engine.monitor", "engine.process", "engine.records", "engine.store",
              "engine.seccomp", "engine.rootfs", "engine.cgroups", "engine.net.ipamstore", "engine.imagestore")


NOT_LOADED = ("json", "json.decoder", "re", "shlex", "signal", "enum", "contextlib")


def test_the_start_path_imports_no_json_re_signal_or_contextlib():
    """What ``run`` imports loads no json package, no re, shlex, signal (its enums), contextlib
    (fresh interpreter); a plain run matches no pattern either (reference.py, validate.is_name)."""
    code = ("import importlib, sys\n"
            "sys.path[:0] = %r\n"
            "for m in %r:\n"
            "    importlib.import_module('ansible_collections.mydocker.runtime.plugins.module_utils.' + m)\n"
            "print(sorted(m for m in %r if m in sys.modules))\n"
            % ([p for p in sys.path if p], START_PATH, NOT_LOADED))
    out = subprocess.run([sys.executable, "-S", "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"
    assert math.isnan(jsonio.loads("NaN"))


def test_signals_are_signal_s_numbers():
    import signal

    from ansible_collections.mydocker.runtime.plugins.module_utils.engine import signals
    for name in ("SIGTERM", "SIGKILL", "SIGCHLD", "SIGRTMIN", "SIGCLD", "SIGUSR1"):
        assert signals.number(name) == int(getattr(signal, name))
    for name in ("SIG_DFL", "SIG_IGN", "TERM", "SIGNOPE", "SIGNALS"):
        assert signals.number(name) is None
    assert (signals.SIGTERM, signals.SIG_IGN) == (signal.SIGTERM, signal.SIG_IGN)
