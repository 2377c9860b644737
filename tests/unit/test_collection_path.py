"""scripts/collection_path.py (how bin/mydocker, the tests and bench/ find the collection) and the
launcher scripts/install.sh writes (written to a temporary path here, never installed)."""
import importlib.util
import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REAL = os.path.realpath(REPO)


@pytest.fixture
def helper():
    spec = importlib.util.spec_from_file_location("collection_path_under_test",
                                                  os.path.join(REPO, "scripts", "collection_path.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _link(base):
    return os.path.join(base, "ansible_collections", "mydocker", "runtime")


def test_link_per_checkout(helper, tmp_path):
    assert helper.REPO == REAL
    a, b = helper.link_dir("/x/one"), helper.link_dir("/x/two")
    assert a != b and os.path.basename(a).startswith("mydocker-collections-%d-" % os.getuid())
    assert helper.link_dir("/x/one", prefix="p", parent="/q") == "/q/p-%d-%s" % (os.getuid(), a.rsplit("-", 1)[1])
    base = str(tmp_path / "coll")
    checkout, other = tmp_path / "checkout", tmp_path / "other"
    checkout.mkdir()
    other.mkdir()
    assert helper.collections_base(str(checkout), base=base) == base
    assert os.readlink(_link(base)) == str(checkout)
    # a link to another checkout is replaced, atomically, by one to this one
    helper.link_checkout(base, str(other))
    assert os.path.realpath(_link(base)) == str(other)
    assert helper.collections_base(str(checkout), base=base) == base
    assert os.path.realpath(_link(base)) == str(checkout)
    assert sorted(os.listdir(os.path.dirname(_link(base)))) == ["runtime"]


def test_inside_a_collections_tree(helper, tmp_path):
    tree = tmp_path / "ac" / "ansible_collections" / "mydocker" / "runtime"
    tree.parent.mkdir(parents=True)
    tree.symlink_to(REAL)
    # found through the path it was given (ansible-test's copy), no link of our own
    assert helper.collections_base(str(tree), base=str(tmp_path / "unused")) == str(tmp_path / "ac")
    assert not (tmp_path / "unused").exists()


def test_use_puts_the_base_first_once(helper, tmp_path, monkeypatch):
    (tmp_path / "checkout").mkdir()
    monkeypatch.setattr(sys, "path", ["/a", str(tmp_path / "c"), "/b"])
    base = helper.use(str(tmp_path / "checkout"), base=str(tmp_path / "c"))
    helper.use(str(tmp_path / "checkout"), base=str(tmp_path / "c"))
    assert sys.path == [base, "/a", "/b"] and base == str(tmp_path / "c")


def test_link_directories_only_we_can_write(helper, tmp_path):
    base, checkout = tmp_path / "c", tmp_path / "checkout"
    checkout.mkdir()
    (base / "ansible_collections").mkdir(parents=True)
    os.chmod(base / "ansible_collections", 0o777)
    helper.link_checkout(str(base), str(checkout))
    assert os.stat(base / "ansible_collections").st_mode & 0o777 == 0o755
    if os.geteuid() != 0:
        return
    os.chown(base / "ansible_collections", 65534, 65534)
    with pytest.raises(RuntimeError, match="is not a directory of uid 0: remove it"):
        helper.link_checkout(str(base), str(checkout))


def test_install_launcher_runs_bin_mydocker(tmp_path):
    """The text install.sh writes to /usr/local/bin/mydocker, written here with a collections
    directory of our own that links this checkout."""
    with open(os.path.join(REPO, "scripts", "install.sh")) as f:
        m = re.search(r"^cat > \"\$BINDIR/mydocker\" <<LAUNCHER\n(.*?)^LAUNCHER$", f.read(), re.S | re.M)
    assert m, "install.sh no longer writes the launcher with a LAUNCHER here-document"
    coll = tmp_path / "collections"
    (coll / "ansible_collections" / "mydocker").mkdir(parents=True)
    (coll / "ansible_collections" / "mydocker" / "runtime").symlink_to(REAL)
    text = m.group(1).replace("$VENV/bin/python", sys.executable).replace("$COLLECTIONS", str(coll))
    assert "$" not in text
    launcher = tmp_path / "mydocker"
    launcher.write_text(text)
    launcher.chmod(0o755)
    env = dict(os.environ, MYDOCKER_ROOT=str(tmp_path / "root"))
    p = subprocess.run([str(launcher), "images"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert (p.returncode, p.stdout, p.stderr) == (0, "REPOSITORY  TAG  IMAGE ID  CREATED  SIZE\n", "")
    p = subprocess.run([str(launcher), "rm", "nosuch"], env=env, capture_output=True, text=True, timeout=60,
                       check=False)
    assert (p.returncode, p.stderr) == (1, "mydocker: no such container: nosuch\n")


def test_tmpdir_as_tempfile_says(helper, tmp_path, monkeypatch):
    import tempfile
    for n in ("TMPDIR", "TEMP", "TMP"):
        monkeypatch.delenv(n, raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    assert helper.tmpdir() == tempfile.gettempdir() == str(tmp_path)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "missing"))
    monkeypatch.setattr(tempfile, "tempdir", None)
    assert helper.tmpdir() == tempfile.gettempdir()  # tempfile's own choice when ours is no good


def test_cache_bytecode_in_a_private_directory(helper, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "pycache_prefix", None)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert helper.cache_bytecode("/x/one", parent=str(tmp_path)) is None  # .pyc allowed: nothing to do
    assert sys.pycache_prefix is None and not os.listdir(tmp_path)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    d = helper.cache_bytecode("/x/one", parent=str(tmp_path))
    assert d == helper.link_dir("/x/one", "mydocker-pycache", str(tmp_path))
    assert (sys.pycache_prefix, sys.dont_write_bytecode) == (d, False)
    assert os.stat(d).st_mode & 0o777 == 0o700
    # a directory others can write into is not used
    monkeypatch.setattr(sys, "pycache_prefix", None)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    os.chmod(d, 0o777)
    assert helper.cache_bytecode("/x/one", parent=str(tmp_path)) is None
    assert (sys.pycache_prefix, sys.dont_write_bytecode) == (None, True)


def test_bin_mydocker_compiles_once_outside_the_checkout(tmp_path):
    """With PYTHONDONTWRITEBYTECODE, bin/mydocker still imports from bytecode after the first
    run, kept under the temporary directory (no __pycache__ in the checkout)."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", TMPDIR=str(tmp_path), MYDOCKER_ROOT=str(tmp_path / "root"))
    argv = [sys.executable, os.path.join(REPO, "bin", "mydocker"), "ps", "-a"]
    in_checkout = os.path.join(REPO, "plugins", "module_utils", "cli", "__pycache__")
    before = sorted(os.listdir(in_checkout)) if os.path.isdir(in_checkout) else []
    for _run in range(2):
        p = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        assert p.returncode == 0, p.stderr
    cache = [n for n in os.listdir(tmp_path) if n.startswith("mydocker-pycache-")]
    assert len(cache) == 1
    found = []
    for d, dirs, files in os.walk(tmp_path / cache[0]):
        found += [f for f in files if f.startswith("containers.") and f.endswith(".pyc")]
    assert found
    assert (sorted(os.listdir(in_checkout)) if os.path.isdir(in_checkout) else []) == before


def test_venv_site_under_python_minus_s():
    """``python -S`` (the launcher's start): venv_site puts the venv's site-packages on the path,
    so pyroute2 imports; without -S it changes nothing (site.py did it)."""
    probe = ("import runpy, sys\nh = runpy.run_path(%r)\nadded = h['venv_site']()\n"
             "import pyroute2\nprint(added, sys.flags.no_site, added in sys.path if added else None)"
             % os.path.join(REPO, "scripts", "collection_path.py"))
    if sys.prefix == sys.base_prefix:
        pytest.skip("not run from a venv (make unit uses /opt/mydocker/venv)")
    p = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, check=False)
    assert p.returncode == 0, p.stderr
    added, no_site, on_path = p.stdout.split()
    assert (no_site, on_path) == ("1", "True") and added.endswith("site-packages")
    p = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert (p.returncode, p.stdout.split()) == (0, ["None", "0", "None"]), p.stderr
