"""module_utils/bytecode.py: the modules' bytecode cache for their zip. Each case runs a fresh
interpreter on a zip laid out as AnsiballZ's (the collection's package path, sources only)."""
import importlib.util
import json
import marshal
import os
import subprocess
import sys
import zipfile

from ansible_collections.mydocker.runtime.plugins.module_utils import bytecode

PKG = "ansible_collections/mydocker/runtime/plugins/module_utils/"
MOD = "ansible_collections.mydocker.runtime.plugins.module_utils.demo"
RUNNER = r"""
import json, sys, traceback
sys.path.insert(0, sys.argv[1])
from ansible_collections.mydocker.runtime.plugins.module_utils.bytecode import cache_bytecode
on = cache_bytecode()
from ansible_collections.mydocker.runtime.plugins.module_utils import demo
try:
    demo.fail()
except ValueError:
    where = traceback.extract_tb(sys.exc_info()[2])[-1]
print(json.dumps({"on": on, "value": demo.VALUE, "file": demo.__file__, "tb": [where.filename, where.line]}))
"""


def _zip(path, value):
    with open(bytecode.__file__, "rb") as f:
        src = f.read()
    with zipfile.ZipFile(path, "w") as z:
        for d in ("ansible_collections/", "ansible_collections/mydocker/", "ansible_collections/mydocker/runtime/",
                  "ansible_collections/mydocker/runtime/plugins/", PKG):
            z.writestr(d + "__init__.py", "")
        z.writestr(PKG + "bytecode.py", src)
        z.writestr(PKG + "demo.py", "VALUE = %r\n\n\ndef fail():\n    raise ValueError('demo')\n" % value)


def _run(tmp_path, zpath, **env):
    e = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    e.pop("PYTHONDONTWRITEBYTECODE", None)
    e.update(env)
    out = subprocess.run([sys.executable, "-c", RUNNER, str(zpath)], env=e, check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)


def _cached(tmp_path):
    return tmp_path / "cache" / "mydocker.runtime" / "bytecode" / sys.implementation.cache_tag / (MOD + ".pyc")


def _tamper(tmp_path, value):
    """Replace the cached code by code that says ``value`` (the header, and so the source hash,
    kept): a run that then prints ``value`` loaded the cache."""
    p = _cached(tmp_path)
    data = p.read_bytes()
    code = compile("VALUE = %r\n\n\ndef fail():\n    raise ValueError('demo')\n" % value, "x", "exec")
    p.write_bytes(data[:16] + marshal.dumps(code))


def test_caches_and_reloads_hash_checked(tmp_path):
    z = tmp_path / "payload.zip"
    _zip(z, "one")
    first = _run(tmp_path, z)
    assert first["on"] is True and first["value"] == "one"
    assert first["file"] == str(z / PKG / "demo.py") and first["tb"] == [first["file"], "raise ValueError('demo')"]
    p = _cached(tmp_path)
    assert p.is_file()
    assert p.read_bytes()[:4] == importlib.util.MAGIC_NUMBER
    assert oct(os.stat(p.parent).st_mode & 0o777) == oct(0o700)
    _tamper(tmp_path, "from the cache")
    # another zip at another place (the next task): the cached code, its file names the new zip
    z2 = tmp_path / "next" / "payload.zip"
    z2.parent.mkdir()
    _zip(z2, "one")
    again = _run(tmp_path, z2)
    assert again["value"] == "from the cache"
    assert again["file"] == str(z2 / PKG / "demo.py") and again["tb"][0] == again["file"]
    # an edited source does not match the cached hash: compiled again, and cached again
    _zip(z2, "two")
    assert _run(tmp_path, z2)["value"] == "two"
    _tamper(tmp_path, "cached two")
    assert _run(tmp_path, z2)["value"] == "cached two"


def test_a_directory_others_may_write_is_not_used(tmp_path):
    z = tmp_path / "payload.zip"
    _zip(z, "one")
    _run(tmp_path, z)
    _tamper(tmp_path, "planted")
    os.chmod(_cached(tmp_path).parent, 0o777)
    assert _run(tmp_path, z)["value"] == "one"


def test_no_bytecode_written_when_python_is_told_so(tmp_path):
    z = tmp_path / "payload.zip"
    _zip(z, "one")
    assert _run(tmp_path, z, PYTHONDONTWRITEBYTECODE="1")["value"] == "one"
    assert not _cached(tmp_path).exists()
    assert _run(tmp_path, z, MYDOCKER_BYTECODE_CACHE="0")["value"] == "one"
    assert not _cached(tmp_path).exists()


def test_no_cache_without_a_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")
    assert bytecode.cache_dir() is None
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert bytecode.cache_dir() == str(tmp_path / ".cache" / "mydocker.runtime" / "bytecode" /
                                       sys.implementation.cache_tag)
    z = tmp_path / "payload.zip"
    _zip(z, "one")
    e = dict(os.environ)
    e.pop("XDG_CACHE_HOME", None)
    e.pop("PYTHONDONTWRITEBYTECODE", None)
    e["HOME"] = "nohome"
    out = subprocess.run([sys.executable, "-c", RUNNER, str(z)], env=e, check=True, capture_output=True, text=True,
                         cwd=str(tmp_path)).stdout
    assert json.loads(out)["value"] == "one"
    assert sorted(os.listdir(tmp_path)) == ["payload.zip"]


def test_outside_a_zip_it_does_nothing():
    assert bytecode.cache_bytecode() is False
