# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""store.remove_tree: what rm and run --rm delete a container's overlay directory with."""

import os
import sys

from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import remove_tree


def _tree(base):
    (base / "upper" / "a" / "b").mkdir(parents=True)
    (base / "upper" / "a" / "b" / "f").write_text("x")
    (base / "upper" / "top").write_text("y")
    (base / "work" / "work").mkdir(parents=True)
    (base / "merged").mkdir()
    return base


def test_everything_below_goes_and_the_directory_too(tmp_path):
    ov = _tree(tmp_path / "ov")
    (ov / "upper" / "a" / "ro").mkdir()
    os.chmod(ov / "upper" / "a" / "ro", 0o500)  # empty: its parent decides
    remove_tree(str(ov))
    assert os.listdir(tmp_path) == []


def test_symlinks_are_removed_not_followed(tmp_path):
    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    (outside / "keep" / "file").write_text("mine")
    ov = _tree(tmp_path / "ov")
    os.symlink(str(outside), ov / "upper" / "to-dir")
    os.symlink(str(outside / "keep" / "file"), ov / "upper" / "a" / "to-file")
    os.symlink("/nonexistent", ov / "dangling")
    remove_tree(str(ov))
    assert not os.path.lexists(ov)
    assert (outside / "keep" / "file").read_text() == "mine"


def test_a_symlink_given_as_the_path_is_removed_itself(tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    (target / "file").write_text("mine")
    os.symlink(str(target), tmp_path / "link")
    remove_tree(str(tmp_path / "link"))
    assert not os.path.lexists(tmp_path / "link")
    assert (target / "file").read_text() == "mine"


def test_a_missing_path_or_a_file(tmp_path):
    remove_tree(str(tmp_path / "missing"))
    (tmp_path / "f").write_text("x")
    remove_tree(str(tmp_path / "f"))
    assert os.listdir(tmp_path) == []


def test_a_deep_tree(tmp_path):
    d = tmp_path / "ov"
    cur = d
    for i in range(200):
        cur = cur / ("d%d" % i)
    cur.mkdir(parents=True)
    (cur / "leaf").write_text("x")
    remove_tree(str(d))
    assert not os.path.lexists(d)


def test_the_container_path_does_not_import_shutil(tmp_path):
    """Its import (bz2, lzma) was ~5 ms of every run --rm: neither the modules of a run nor the
    deletion of a record load it."""
    import subprocess
    mu = "ansible_collections.mydocker.runtime.plugins.module_utils"
    code = ("import os, sys\n"
            "from %s.engine import lifecycle, containers, records\n"
            "from %s.cli import containers as cli\n" % (mu, mu) +
            "os.makedirs(os.path.join(sys.argv[1], 'containers', 'c1', 'sub'))\n"
            "records.delete(sys.argv[1], 'c1')\n"
            "print(os.path.exists(os.path.join(sys.argv[1], 'containers', 'c1')), 'shutil' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, check=True,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert out.stdout.split() == [b"False", b"False"]
