"""plugins/plugin_utils/code_cache.py: bytecode for what a task imports in the controller's
process through Ansible's own collection loader. Each case runs a fresh interpreter with
Ansible's collection finder installed on a collection tree of its own (the real bytecode.py
and code_cache.py, and a module_utils file ``demo`` whose source the case writes)."""
import json
import marshal
import os
import subprocess
import sys

from ansible_collections.mydocker.runtime.plugins.module_utils import bytecode
from ansible_collections.mydocker.runtime.plugins.plugin_utils import code_cache

COLL = "ansible_collections/mydocker/runtime/"
MOD = "ansible_collections.mydocker.runtime.plugins.module_utils.demo"
RUNNER = r"""
import json, sys, traceback
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
_AnsibleCollectionFinder(paths=[sys.argv[1]])._install()
from ansible_collections.mydocker.runtime.plugins.plugin_utils import code_cache
on = code_cache.install()
again = code_cache.install()
from ansible_collections.mydocker.runtime.plugins.module_utils import demo
try:
    demo.fail()
except ValueError:
    where = traceback.extract_tb(sys.exc_info()[2])[-1]
print(json.dumps({"on": on, "again": again, "value": demo.VALUE, "file": demo.__file__,
                  "loader": type(demo.__loader__).__name__, "tb": [where.filename, where.line],
                  "finders": sum(isinstance(f, code_cache.CachingFinder) for f in sys.meta_path)}))
"""


def _tree(tmp_path, value):
    base = tmp_path / "collections"
    for sub, src in (("plugins/module_utils/bytecode.py", bytecode.__file__),
                     ("plugins/plugin_utils/code_cache.py", code_cache.__file__)):
        p = base / COLL / sub
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(src, "rb") as f:
            p.write_bytes(f.read())
    (base / COLL / "plugins/module_utils/demo.py").write_text(
        "VALUE = %r\n\n\ndef fail():\n    raise ValueError('demo')\n" % value)
    return base


def _run(tmp_path, base, **env):
    e = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    e.pop("PYTHONDONTWRITEBYTECODE", None)
    e.pop("PYTHONPATH", None)  # only Ansible's finder knows the collection
    e.update(env)
    out = subprocess.run([sys.executable, "-c", RUNNER, str(base)], env=e, check=True, capture_output=True,
                         text=True, cwd=str(tmp_path)).stdout
    return json.loads(out)


def _cached(tmp_path, name=MOD):
    return tmp_path / "cache" / "mydocker.runtime" / "bytecode" / sys.implementation.cache_tag / (name + ".pyc")


def _tamper(tmp_path, value):
    """Cached code that says ``value`` under the header (and so the source hash) kept."""
    p = _cached(tmp_path)
    data = p.read_bytes()
    p.write_bytes(data[:16] + marshal.dumps(compile("VALUE = %r\n\n\ndef fail():\n    raise ValueError('demo')\n"
                                                    % value, "x", "exec")))


def test_ansibles_loader_gets_cached_code_checked_against_the_source(tmp_path):
    base = _tree(tmp_path, "one")
    demo = str(base / COLL / "plugins/module_utils/demo.py")
    first = _run(tmp_path, base)
    assert first == {"on": True, "again": True, "value": "one", "file": demo, "loader": "_AnsibleCollectionLoader",
                     "tb": [demo, "raise ValueError('demo')"], "finders": 1}
    # only what was imported after install(), through the finder (bytecode.py came before it)
    assert os.listdir(str(_cached(tmp_path).parent)) == [MOD + ".pyc"]
    _tamper(tmp_path, "from the cache")
    second = _run(tmp_path, base)
    assert second["value"] == "from the cache" and second["loader"] == "_AnsibleCollectionLoader"
    # the tree moved: the cached code names the file where it is now
    moved = tmp_path / "moved"
    os.rename(str(base), str(moved))
    third = _run(tmp_path, moved)
    assert third["value"] == "from the cache"
    assert third["tb"][0] == third["file"] == str(moved / COLL / "plugins/module_utils/demo.py")
    # an edited source does not match the cached hash: compiled again, and cached anew
    (moved / COLL / "plugins/module_utils/demo.py").write_text(
        "VALUE = 'two'\n\n\ndef fail():\n    raise ValueError('demo')\n")
    assert _run(tmp_path, moved)["value"] == "two"
    assert _run(tmp_path, moved)["value"] == "two"


def test_nothing_written_when_python_is_told_so_or_switched_off(tmp_path):
    base = _tree(tmp_path, "one")
    assert _run(tmp_path, base, PYTHONDONTWRITEBYTECODE="1")["value"] == "one"
    assert not _cached(tmp_path).exists()
    off = _run(tmp_path, base, MYDOCKER_BYTECODE_CACHE="0")
    assert (off["on"], off["finders"], off["value"]) == (False, 0, "one")
    assert not _cached(tmp_path).exists()


def test_other_names_are_not_answered():
    finder = code_cache.CachingFinder(cache=None)
    assert finder.find_spec("json") is None
    assert finder.find_spec("ansible_collections.community.docker.plugins.module_utils.x") is None
    assert finder.find_spec("ansible_collections.mydocker.runtime.plugins.action.mydocker_container") is None
