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
        m = re.search(r"^cat > /usr/local/bin/mydocker <<LAUNCHER\n(.*?)^LAUNCHER$", f.read(), re.S | re.M)
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
    p = subprocess.run([str(launcher), "images"], env=env, capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stdout, p.stderr) == (0, "REPOSITORY  TAG  IMAGE ID  CREATED  SIZE\n", "")
    p = subprocess.run([str(launcher), "rm", "nosuch"], env=env, capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stderr) == (1, "mydocker: no such container: nosuch\n")
