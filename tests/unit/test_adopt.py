# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The adopted container's watcher (adopt.WATCHER): it waits for a process that is not its child
and then resumes the engine with the exit code 255 (unknown). Run for real with a fake engine
copy whose resume.py records its arguments (no root, no container)."""

import json
import subprocess
import sys
import time

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import adopt, lifecycle


def _engine(tmp_path):
    engine = tmp_path / "engine"
    engine.mkdir()
    (engine / "resume.py").write_text(
        "import json, sys\nopen(%r, 'w').write(json.dumps(sys.argv[1:]))\n" % str(tmp_path / "resumed.json"))
    return engine


def _watch(engine, pid, start):
    return subprocess.Popen([sys.executable, "-S", "-E", "-s", "-c", adopt.WATCHER, str(engine), "/root-x", "cid1",
                             str(pid), start])


def test_watcher_waits_for_the_process_then_resumes_with_unknown_exit(tmp_path):
    engine = _engine(tmp_path)
    target = subprocess.Popen(["sleep", "0.5"])
    start = lifecycle.proc_start_time(target.pid)
    began = time.time()
    w = _watch(engine, target.pid, start)
    try:
        time.sleep(0.2)
        assert w.poll() is None  # still watching: the process runs
        target.wait()
        assert w.wait(timeout=10) == 0
    finally:
        target.kill()
        w.kill()
    assert time.time() - began >= 0.45
    argv = json.loads((tmp_path / "resumed.json").read_text())
    assert argv[:4] == ["/root-x", "cid1", "255", "-"] and argv[5] == "0.1"
    assert float(argv[4]) >= began
    assert adopt.UNKNOWN_EXIT == 255 and "@EXIT@" not in adopt.WATCHER


def test_watcher_of_a_reused_pid_resumes_at_once(tmp_path):
    """The recorded start time is not the running process's: the container is gone already."""
    engine = _engine(tmp_path)
    target = subprocess.Popen(["sleep", "30"])
    try:
        w = _watch(engine, target.pid, "1")
        assert w.wait(timeout=10) == 0
        assert target.poll() is None
    finally:
        target.kill()
        target.wait()
    assert json.loads((tmp_path / "resumed.json").read_text())[2] == "255"
