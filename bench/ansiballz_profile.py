# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the time of a no-change mydocker_container task goes on the target: the AnsiballZ
payload kept with ANSIBLE_KEEP_REMOTE_FILES, run zipped (as a task runs it) without and with the
modules' own bytecode cache (module_utils/bytecode.py; its directory here is in the temporary
one), exploded without and with a bytecode cache; the imports in groups (from the zip, CPU
time); compile() of every shipped file. Run as root from the checkout (needs /opt/mydocker/bench-ansible-venv):

    /opt/mydocker/venv/bin/python -m bench.ansiballz_profile [--runs 11]

It uses its own state root in a temporary directory with one `sleep` container (no network), and
removes both at the end, also on failure. Markdown on stdout."""

import argparse
import base64
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from .ansible_rows import MD_PYTHON, VENV
from .cleanup import _rm_cgroup_tree
from .common import CGROUP_ROOT, MYDOCKER, REPO, mountpoints_under, run_cmd

M = "ansible_collections.mydocker.runtime.plugins.module_utils."
# what a no-change run needs (the first three), and what only creating/starting/stopping needs
# (planning imports engine.containers only for those steps)
GROUPS = [
    ("ansible.module_utils.basic (ansible's, every Python module pays it)", ["ansible.module_utils.basic"]),
    ("engine, read side: errors validate store records resources imagestore view",
     [M + "engine." + m for m in ("errors", "validate", "store", "records", "resources", "imagestore", "view")]),
    ("planning.container (options, comparisons, the planners of its options), ansible_glue",
     [M + "planning.container", M + "ansible_glue"]),
    ("not on a no-change path: engine.containers (monitor, workspace, create...)",
     [M + "engine.containers"]),
]

IMPORTER = """
import sys, time
sys.path.insert(0, sys.argv[1])
out = []
for label, mods in %r:
    t0 = time.process_time()
    for m in mods:
        __import__(m)
    out.append((time.process_time() - t0) * 1e3)
print(" ".join("%%.3f" %% x for x in out))
""" % (GROUPS,)


def cpu_run(argv, env, cwd, runs):
    wall, cpu = [], []
    for dummy in range(runs):
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd)
        dummy, st, ru = os.wait4(p.pid, 0)
        wall.append(time.perf_counter() - t0)
        cpu.append(ru.ru_utime + ru.ru_stime)
        if st != 0:
            raise SystemExit("failed: %s" % argv)
    return statistics.median(wall) * 1e3, statistics.median(cpu) * 1e3, min(cpu) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--runs", type=int, default=11)
    a = ap.parse_args()
    t = tempfile.mkdtemp(prefix="mydocker-azprof-")
    root = os.path.join(t, "root")
    md = [MD_PYTHON, MYDOCKER, "--root", root]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "PYTHONDONTWRITEBYTECODE"))}
    env.pop("MYDOCKER_ROOT", None)
    env["XDG_CACHE_HOME"] = os.path.join(t, "cache")   # the modules' bytecode cache, removed with t
    try:
        coll = os.path.join(t, "coll", "ansible_collections", "mydocker")
        os.makedirs(coll)
        os.symlink(REPO, os.path.join(coll, "runtime"))
        for d in ("rtmp", "ltmp"):
            os.makedirs(os.path.join(t, d))
        with open(os.path.join(t, "ansible.cfg"), "w") as f:
            f.write("[defaults]\ncollections_path = %s\nlocal_tmp = %s\nremote_tmp = %s\ninterpreter_python = %s\n"
                    % (os.path.join(t, "coll"), os.path.join(t, "ltmp"), os.path.join(t, "rtmp"), MD_PYTHON))
        run_cmd(md + ["image", "busybox", "busybox"], env=env)
        run_cmd(md + ["run", "-d", "--name", "prof", "busybox", "sleep", "3600"], env=env)
        aenv = dict(env, ANSIBLE_CONFIG=os.path.join(t, "ansible.cfg"), ANSIBLE_KEEP_REMOTE_FILES="1", HOME=t)
        run_cmd([os.path.join(VENV, "bin", "ansible"), "localhost", "-c", "local", "-i", "localhost,", "-m",
                 "mydocker.runtime.mydocker_container", "-a",
                 "name=prof image=busybox command='sleep 3600' root=%s" % root], env=aenv)
        kept = [os.path.join(dp, n) for dp, dummy, fs in os.walk(os.path.join(t, "rtmp")) for n in fs
                if n.startswith("AnsiballZ_")]
        az = os.path.join(t, "AnsiballZ_mydocker_container.py")
        shutil.copyfile(kept[0], az)
        with open(az) as f:
            zdata = re.search(r"zip_data='([^']+)'", f.read()).group(1)
        payload = os.path.join(t, "payload.zip")
        with open(payload, "wb") as f:
            f.write(base64.b64decode(zdata))
        subprocess.run([MD_PYTHON, az, "explode"], env=env, cwd=t, stdout=subprocess.DEVNULL, check=True)
        dbg = os.path.join(t, "debug_dir")
        nopyc = dict(env, PYTHONDONTWRITEBYTECODE="1")
        print("AnsiballZ of a no-change `mydocker_container` task (container without a network): %d kB "
              "wrapper, %d kB zip, median of %d runs, milliseconds" % (os.path.getsize(az) / 1e3,
                                                                       os.path.getsize(payload) / 1e3, a.runs))
        print("")
        print("| run | wall median | CPU median | CPU min |")
        print("|---|---:|---:|---:|")
        nocache = dict(env, MYDOCKER_BYTECODE_CACHE="0")
        for label, argv, e, warm in (
                ("`python -c pass`", [MD_PYTHON, "-c", "pass"], env, False),
                ("zipped AnsiballZ, no bytecode cache (`MYDOCKER_BYTECODE_CACHE=0`)", [MD_PYTHON, az], nocache, False),
                ("zipped AnsiballZ, bytecode cache warm (what a task runs)", [MD_PYTHON, az], env, True),
                ("exploded, no bytecode cache (compiles every file)", [MD_PYTHON, az, "execute"], nopyc, False),
                ("exploded, with `__pycache__`", [MD_PYTHON, az, "execute"], env, True)):
            if warm:
                subprocess.run(argv, stdout=subprocess.DEVNULL, env=env, cwd=t, check=False)
            print("| %s | %.0f | %.0f | %.0f |" % ((label,) + cpu_run(argv, e, t, a.runs)))
        print("")
        print("Imports in groups, CPU ms (median of %d fresh interpreters):" % a.runs)
        print("")
        print("| group | from the zip | exploded, compiling | exploded, with pyc |")
        print("|---|---:|---:|---:|")
        shutil.rmtree(os.path.join(dbg, "__pycache__"), ignore_errors=True)
        for dp, ds, dummy in os.walk(dbg):
            for d in [d for d in ds if d == "__pycache__"]:
                shutil.rmtree(os.path.join(dp, d))
        cols = []
        for src, e in ((payload, env), (dbg, nopyc), (dbg, env)):
            if e is env and src == dbg:
                subprocess.run([MD_PYTHON, "-c", IMPORTER, src], stdout=subprocess.DEVNULL, env=env, check=False)
            rows = []
            for dummy in range(a.runs):
                out = subprocess.run([MD_PYTHON, "-c", IMPORTER, src], env=e, check=True, stdout=subprocess.PIPE).stdout
                rows.append([float(x) for x in out.split()])
            cols.append([statistics.median(r[i] for r in rows) for i in range(len(GROUPS))])
        for i, (label, dummy) in enumerate(GROUPS):
            print("| %s | %.1f | %.1f | %.1f |" % (label, cols[0][i], cols[1][i], cols[2][i]))
        print("")
        print("compile() of the shipped files (best of 5, ms):")
        print("")
        print("| files | count | kB | compile |")
        print("|---|---:|---:|---:|")
        per = {}
        for dp, ds, fs in os.walk(dbg):
            ds[:] = [d for d in ds if d != "__pycache__"]
            for n in fs:
                if n.endswith(".py"):
                    p = os.path.join(dp, n)
                    with open(p, "rb") as f:
                        src = f.read()
                    best = min(_compile_time(src, p) for dummy in range(5))
                    per[os.path.relpath(p, dbg)] = (best, len(src))
        for label, pick in (("all", lambda k: True), ("ansible/", lambda k: k.startswith("ansible/")),
                            ("mydocker.runtime", lambda k: k.startswith("ansible_collections/"))):
            ks = [k for k in per if pick(k)]
            print("| %s | %d | %.0f | %.1f |" % (label, len(ks), sum(per[k][1] for k in ks) / 1e3,
                                                 sum(per[k][0] for k in ks) * 1e3))
    finally:
        subprocess.run(md + ["rm", "-f", "prof"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                       check=False)
        subprocess.run(md + ["rmi", "busybox"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                       check=False)
        subprocess.run(md + ["prune"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
        # the cgroup parent of this root (state.cgroup_parent), should an rm have left it
        parent = "mydocker-" + hashlib.sha1(root.encode()).hexdigest()[:10]
        problems = []
        for c in sorted(os.listdir(CGROUP_ROOT)):
            if os.path.isdir(os.path.join(CGROUP_ROOT, c, parent)):
                _rm_cgroup_tree(os.path.join(CGROUP_ROOT, c, parent), problems)
        for p in problems:
            sys.stderr.write("clean-up: %s\n" % p)
        if mountpoints_under(t):
            sys.stderr.write("NOT removing %s: still has mounts\n" % t)
        else:
            shutil.rmtree(t, ignore_errors=True)
    return 0


def _compile_time(src, path):
    t0 = time.perf_counter()
    compile(src, path, "exec")
    return time.perf_counter() - t0


if __name__ == "__main__":
    sys.exit(main())
