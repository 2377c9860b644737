"""bin/mydocker's start runs no collection of the cyclic garbage collector (gc.set_threshold at its
top): counted with gc.callbacks in a fresh interpreter, against the same command with that call
made a no-op, which collects."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(REPO, "bin", "mydocker")

PROBE = r"""import atexit, gc, os, sys
if KEEP_DEFAULT:
    gc.set_threshold = lambda *args: None
seen = []
atexit.register(lambda: os.write(2, b"collections=%d\n" % len(seen)))
sys.argv = [BIN, "--root", ROOT, "ps", "-a"]
code = compile(open(BIN, "rb").read(), BIN, "exec")
gc.collect()  # the counts start from 0: what follows is the command's
gc.callbacks.append(lambda phase, info: seen.append(info["generation"]) if phase == "start" else None)
exec(code, {"__name__": "__main__", "__file__": BIN})
"""


def _collections(tmp_path, keep_default):
    head = "KEEP_DEFAULT, BIN, ROOT = %r, %r, %r\n" % (keep_default, BIN, str(tmp_path / "root"))
    env = dict(os.environ, TMPDIR=str(tmp_path), MYDOCKER_SERVICE="0")
    p = subprocess.run([sys.executable, "-S", "-c", head + PROBE], env=env, capture_output=True, text=True,
                       check=False)
    assert p.returncode == 0, p.stderr
    counts = [ln for ln in p.stderr.splitlines() if ln.startswith("collections=")]
    assert len(counts) == 1, p.stderr
    return int(counts[0].split("=")[1])


def test_a_command_starts_without_a_collection(tmp_path):
    for _run in range(2):  # the second from bytecode, as every later command
        mine = _collections(tmp_path, keep_default=False)
    assert mine == 0
    assert _collections(tmp_path, keep_default=True) > 0  # the default threshold collects here
