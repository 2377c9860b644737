# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Ansible-side rows (issues 12 and 13): mydocker.runtime's modules and connection plugin
against containers.podman's, side by side in the same run, from the same ansible-playbook (the
full `ansible` package's venv, made by scripts/bench-ansible-venv.sh), ratios of medians.

    /opt/mydocker/venv/bin/python -m bench --ansible [--ansible-runs 3] [--adhoc-runs 10]

Rows: (1) a playbook of one network and N containers (a published 127.0.0.1 port each, a memory
limit, env): first run, rerun, --check with a memory change, applying it; (2) one ad hoc
*_container_info; (3) a 20-task play inside containers through each connection plugin (raw,
copy, fetch, script, command, stat) on an image with busybox and the host's python3.

Everything lives in one temporary directory (state roots, podman's root and configuration, the
playbooks, Ansible's temp and config) and is removed with bench/cleanup.py's checks, also after a
failure or Ctrl-C; every row also removes its own containers and networks at once."""

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

from .cases import build_small
from .cleanup import cleanup, snapshot_host
from .common import REPO, RESULTS, BenchError, become_subreaper, log, quiesce, run_cmd, stats
from .hostnet import NetSnapshot, fetch_loopback, netfilter_dump, netfilter_lines, pick_ports, pick_subnets
from .peers import MyDocker, Podman

VENV = "/opt/mydocker/bench-ansible-venv"
VENV_SCRIPT = os.path.join(REPO, "scripts", "bench-ansible-venv.sh")
# our modules need pyroute2: the collection's venv; containers.podman's modules get the same one
# (any python3 would do for them), so both sides run modules with the same interpreter
MD_PYTHON = "/opt/mydocker/venv/bin/python"
CTR_PYTHON = "/usr/bin/python3"   # inside the pybox image
PLAY_TASKS = 20


def add_args(ap):
    g = ap.add_argument_group("Ansible rows (--ansible)")
    g.add_argument("--ansible", action="store_true",
                   help="run only the Ansible-side rows (mydocker.runtime vs containers.podman)")
    g.add_argument("--ansible-runs", type=int, default=3,
                   help="repetitions of the playbook rows (1 and 3), default 3")
    g.add_argument("--adhoc-runs", type=int, default=10, help="repetitions of the ad hoc row (2), default 10")
    g.add_argument("--containers", type=int, default=20, help="containers in the playbook row (default 20)")
    g.add_argument("--play-hosts", type=int, default=2,
                   help="containers the 20-task play runs in at once, per runtime (default 2)")
    g.add_argument("--forks", type=int, default=5, help="ansible forks, both sides (default 5)")
    g.add_argument("--ansible-rows", default="1,2,3", help="which rows, e.g. 1,3 (default 1,2,3)")
    g.add_argument("--stop-timeout", type=int, default=0,
                   help="row 1's stop_timeout, both sides (default 0: podman's recreate on apply kills at once; "
                        "10 is podman's default, as the issue measured it)")
    g.add_argument("--ansible-venv", default=VENV, help="venv with the full ansible package (default %s)" % VENV)


# ------------------------------------------------------------------ set-up

def ensure_venv(venv):
    if not os.path.exists(os.path.join(venv, "bin", "ansible-playbook")):
        log("making %s (scripts/bench-ansible-venv.sh)" % venv)
        run_cmd(["bash", VENV_SCRIPT, venv], timeout=1200)
    return venv


def versions(venv, env):
    core = run_cmd([os.path.join(venv, "bin", "ansible"), "--version"], env=env)[2].splitlines()[0]
    out = {"ansible-core": core}
    pkg = run_cmd([os.path.join(venv, "bin", "python"), "-c",
                   "import importlib.metadata as m; print(m.version('ansible'))"], env=env, check=False)[2]
    out["ansible"] = pkg.strip()
    cl = run_cmd([os.path.join(venv, "bin", "ansible-galaxy"), "collection", "list", "--format", "json"],
                 env=env, check=False)[2]
    try:
        found = {}
        for d in json.loads(cl).values():
            found.update(d)
        for c in ("containers.podman", "community.docker", "mydocker.runtime"):
            if c in found:
                out[c] = found[c].get("version")
    except ValueError:
        pass
    out["module interpreter"] = run_cmd([MD_PYTHON, "-c", "import sys; print(sys.version.split()[0])"])[2].strip()
    return out


def build_pybox(base, small):
    """busybox plus the host's python3 (interpreter, stdlib without tests/idle/tk, the shared
    libraries ldd names): enough for Ansible's modules (copy, fetch's stat, command)."""
    out = os.path.join(base, "pybox-rootfs.tar")
    shutil.copyfile(small, out)
    exe = os.path.realpath(CTR_PYTHON)
    ver = os.path.basename(exe)                       # python3.11
    stdlib = os.path.join("/usr/lib", ver)
    dynload = os.path.join(stdlib, "lib-dynload")
    libs = set()
    for obj in [exe] + [os.path.join(dynload, n) for n in os.listdir(dynload) if n.endswith(".so")]:
        text = subprocess.run(["ldd", obj], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              check=False).stdout.decode()
        libs.update(re.findall(r"(/\S+\.so[.\d]*)\s", text + " "))
    skip = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "pydoc_data",
            "config-3.11-x86_64-linux-gnu", "site-packages", "dist-packages"}

    def filt(ti):
        parts = ti.name.split("/")
        return None if len(parts) > 4 and parts[4] in skip else ti

    def usr(path):  # merged /usr: /lib/x -> /usr/lib/x
        return "/usr" + path if path.startswith(("/lib/", "/lib64/")) else path

    with tarfile.open(out, "a", format=tarfile.GNU_FORMAT) as tf:
        for d in ("./usr/lib", "./usr/lib64", "./usr/lib/x86_64-linux-gnu"):
            ti = tarfile.TarInfo(d)
            ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, int(time.time())
            tf.addfile(ti)
        for name, target in (("./lib", "usr/lib"), ("./lib64", "usr/lib64"), ("./usr/bin/python3", ver)):
            ti = tarfile.TarInfo(name)
            ti.type, ti.linkname, ti.mode, ti.mtime = tarfile.SYMTYPE, target, 0o777, int(time.time())
            tf.addfile(ti)
        tf.add(exe, "./usr/bin/" + ver)
        tf.add(stdlib, "." + stdlib, filter=filt)
        for lib in sorted(libs):
            tf.add(os.path.realpath(lib), "." + usr(lib))
    return out


ANSIBLE_CFG = """\
[defaults]
forks = {forks}
gathering = explicit
retry_files_enabled = False
host_key_checking = False
nocolor = True
collections_path = {collections}
local_tmp = {tmp}
inventory = {inventory}
interpreter_python = {python}

[connection]
pipelining = True
"""

# (1) the playbook row: the same playbook for both collections
PLAYBOOK_MD = """\
- name: A network and its containers (mydocker.runtime)
  hosts: localhost
  gather_facts: false
  tasks:
    - name: The network
      mydocker.runtime.mydocker_network:
        name: "{{ net }}"
        subnet: "{{ subnet }}"
    - name: The containers
      mydocker.runtime.mydocker_container:
        name: "{{ item.name }}"
        image: busybox
        command: [httpd, -f, -p, "80"]
        network: "{{ net }}"
        published_ports: ["127.0.0.1:{{ item.port }}:80"]
        memory: "{{ mem }}"
        env: "{{ item.env }}"
        stop_timeout: "{{ stop_timeout }}"
      loop: "{{ containers }}"
      loop_control:
        label: "{{ item.name }}"
"""

# row 1's floor: the same shape (one task, then one loop item per container) with Ansible's ping,
# the least a Python module task costs here on the module path; our action plugins run the tasks of
# a local play in Ansible's worker instead (plugins/plugin_utils/in_process.py), which is below it
PLAYBOOK_FLOOR = """\
- name: The shape of row 1 with ansible.builtin.ping
  hosts: localhost
  gather_facts: false
  tasks:
    - name: In place of the network
      ansible.builtin.ping:
    - name: In place of the containers
      ansible.builtin.ping:
      loop: "{{ containers }}"
      loop_control:
        label: "{{ item.name }}"
"""

PLAYBOOK_PD = """\
- name: A network and its containers (containers.podman)
  hosts: localhost
  gather_facts: false
  tasks:
    - name: The network
      containers.podman.podman_network:
        name: "{{ net }}"
        subnet: "{{ subnet }}"
        disable_dns: true
    - name: The containers
      containers.podman.podman_container:
        name: "{{ item.name }}"
        image: localhost/busybox:latest
        command: [httpd, -f, -p, "80"]
        network: ["{{ net }}"]
        publish: ["127.0.0.1:{{ item.port }}:80"]
        memory: "{{ mem }}"
        env: "{{ item.env }}"
        ulimit: "{{ ulimits }}"
        stop_timeout: "{{ stop_timeout }}"
        state: started
      loop: "{{ containers }}"
      loop_control:
        label: "{{ item.name }}"
"""

# (3) a 20-task play inside containers, through the connection plugin of the group's runtime. raw
# without `executable` is run through a shell by mydocker's plugin (SHELL -c CMD) but split and exec'd
# directly by containers.podman.podman: the raw tasks that need a shell say so (executable: /bin/sh,
# which mydocker's plugin then wraps once more: a cost on our side, not podman's).
PLAY_IN = """\
- name: 20 tasks inside containers
  hosts: "{{ group }}"
  gather_facts: false
  tasks:
    - {name: raw 1, ansible.builtin.raw: "true"}
    - {name: raw 2, ansible.builtin.raw: id -u}
    - {name: raw 3, ansible.builtin.raw: cat /etc/hostname}
    - {name: raw 4, ansible.builtin.raw: uname -a}
    - {name: raw 5, ansible.builtin.raw: ls /}
    - {name: raw 6, ansible.builtin.raw: echo hello > /tmp/hello, args: {executable: /bin/sh}}
    - {name: raw 7, ansible.builtin.raw: cat /tmp/hello}
    - {name: raw 8, ansible.builtin.raw: "wc -c /etc/passwd"}
    - {name: raw 9, ansible.builtin.raw: "env | sort", args: {executable: /bin/sh}}
    - {name: raw 10, ansible.builtin.raw: "df / >/dev/null; echo ok", args: {executable: /bin/sh}}
    - {name: raw 11, ansible.builtin.raw: "mkdir -p /tmp/d && ls -la /tmp/d", args: {executable: /bin/sh}}
    - {name: raw 12, ansible.builtin.raw: "python3 -c pass"}
    - name: copy in, from content
      ansible.builtin.copy: {content: "small {{ inventory_hostname }}\\n", dest: /tmp/small.txt, mode: "0644"}
    - name: copy in, a 1 MiB file
      ansible.builtin.copy: {src: "{{ blob }}", dest: /tmp/blob.bin, mode: "0644"}
    - name: command (a module)
      ansible.builtin.command: md5sum /tmp/blob.bin
      changed_when: false
    - name: stat (a module)
      ansible.builtin.stat: {path: /tmp/blob.bin}
    - name: fetch the small file
      ansible.builtin.fetch: {src: /tmp/small.txt, dest: "{{ fetched }}/"}
    - name: fetch the 1 MiB file
      ansible.builtin.fetch: {src: /tmp/blob.bin, dest: "{{ fetched }}/"}
    - name: script (put_file, no module)
      ansible.builtin.script: "{{ script }}"
    - {name: raw 13, ansible.builtin.raw: "rm -rf /tmp/small.txt /tmp/blob.bin /tmp/hello /tmp/d"}
"""

CHANGED_RE = re.compile(r"^changed: \[", re.M)   # one line per changed task, or per changed loop item
RECAP_RE = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


class Ansible:
    """ansible / ansible-playbook of the bench venv, with a config, inventory and environment of
    our own (nothing of the caller's ANSIBLE_* or ansible.cfg reaches it)."""

    def __init__(self, base, venv, md, pd, forks):
        self.dir = os.path.join(base, "ansible")
        self.venv = venv
        coll = os.path.join(self.dir, "collections")
        os.makedirs(os.path.join(coll, "ansible_collections", "mydocker"))
        os.symlink(REPO, os.path.join(coll, "ansible_collections", "mydocker", "runtime"))
        os.makedirs(os.path.join(self.dir, "tmp"))
        self.inventory = os.path.join(self.dir, "inventory.json")
        self.hosts = {"mdbox": {}, "pdbox": {}}
        self.write_inventory()
        self.cfg = os.path.join(self.dir, "ansible.cfg")
        with open(self.cfg, "w") as f:
            f.write(ANSIBLE_CFG.format(forks=forks, collections=coll, tmp=os.path.join(self.dir, "tmp"),
                                       inventory=self.inventory, python=MD_PYTHON))
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
        env.update(pd.env)   # CONTAINERS_CONF, CONTAINERS_STORAGE_CONF: podman's own root and config
        env = {k: v for k, v in env.items() if not k.startswith("ANSIBLE_")}
        env["ANSIBLE_CONFIG"] = self.cfg
        env["MYDOCKER_ROOT"] = md.root
        env["PATH"] = os.path.join(venv, "bin") + os.pathsep + env.get("PATH", "/usr/bin:/bin")
        env["HOME"] = self.dir   # ~/.ansible of the controller side inside the temporary directory
        env.pop("MYDOCKER_CGROUP_PARENT", None)
        env.pop("VIRTUAL_ENV", None)
        # bytecode caches on for both sides, in the temporary directory: with PYTHONDONTWRITEBYTECODE
        # (set on this machine) the controller would recompile our plugins (checkout: no __pycache__)
        # on every run while containers.podman's came precompiled by pip. The prefix makes both cold
        # once (the warm-up) and warm after; nothing is written into the checkout or the venv.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = os.path.join(self.dir, "pycache")
        # PYTHONUNBUFFERED (also set on this machine) makes stdin unbuffered, and with pipelining a
        # module is read from stdin: Python's tokenizer then reads the AnsiballZ wrapper one byte per
        # read(2), ~0.85 ms per kB here (0.44 s per task for a 520 kB mydocker_container, 0.21 s for a
        # 245 kB podman_container). Not what a user's shell has: both sides run without it.
        env.pop("PYTHONUNBUFFERED", None)
        self.env = env
        self.files = {}

    def write_inventory(self):
        inv = {"all": {"hosts": {"localhost": {"ansible_connection": "local",
                                               "ansible_python_interpreter": MD_PYTHON}},
                       "children": {g: {"hosts": h} for g, h in self.hosts.items()}}}
        with open(self.inventory, "w") as f:
            json.dump(inv, f, indent=1)

    def file(self, name, text):
        p = os.path.join(self.dir, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def vars_file(self, name, data):
        return self.file(name, json.dumps(data, indent=1))

    def playbook(self, book, *args, timeout=1800):
        argv = [os.path.join(self.venv, "bin", "ansible-playbook"), book] + list(args)
        dt, rc, out, err = run_cmd(argv, env=self.env, timeout=timeout, check=False)
        if rc != 0:
            raise BenchError("ansible-playbook %s failed (exit %d):\n%s\n%s"
                             % (" ".join(args), rc, out[-3000:], err[-2000:]))
        return dt, recap(out), len(CHANGED_RE.findall(out))

    def adhoc(self, *args):
        argv = [os.path.join(self.venv, "bin", "ansible")] + list(args)
        dt, rc, out, err = run_cmd(argv, env=self.env, check=False)
        if rc != 0:
            raise BenchError("ansible %s failed (exit %d):\n%s\n%s" % (" ".join(args), rc, out[-2000:], err[-2000:]))
        return dt, out


def recap(out):
    """{host: {"ok": n, "changed": n, ...}} from the PLAY RECAP."""
    res = {}
    for m in RECAP_RE.finditer(out):
        res[m.group(1)] = {"ok": int(m.group(2)), "changed": int(m.group(3)), "unreachable": int(m.group(4)),
                           "failed": int(m.group(5))}
    return res


def changed(rc):
    return sum(h["changed"] for h in rc.values())


# ------------------------------------------------------------------ rows

def remove_containers(rt, names, net=None):
    """Untimed: the row's containers (and network) go at once (podman: -t 0, SIGKILL at once)."""
    for n in names:
        if isinstance(rt, MyDocker):
            rt.call("rm", "-f", n, check=False)
        else:
            rt.call("rm", "-f", "-t", "0", n, check=False)
    if net:
        if isinstance(rt, MyDocker):
            rt.call("network", "rm", net, check=False)
        else:
            rt.call("network", "rm", "-f", net, check=False)


def row_playbook(ans, md, pd, base, rng, runs, count, ulimits, stop_timeout=0):
    """(1) first run, rerun, --check with a memory change, applying it; removed after each round."""
    subnets = pick_subnets(2, rng)
    ports = pick_ports(2 * count, "\n".join(netfilter_lines(netfilter_dump())))
    tag = "%06x" % rng.getrandbits(24)
    setup = {}
    for i, (rt, book) in enumerate(((md, PLAYBOOK_MD), (pd, PLAYBOOK_PD))):
        net = ("mdb" if rt is md else "pdb") + tag + "a"
        rt.networks.append(net)
        rt.subnets.append(subnets[i])
        mine = ports[i * count:(i + 1) * count]
        rt.ports.extend(mine)
        cts = [{"name": "ab%s-%02d" % (tag, j), "port": p,
                "env": {"BENCH_INDEX": str(j), "BENCH_RUNTIME": rt.name}} for j, p in enumerate(mine)]
        row_vars = {"net": net, "subnet": subnets[i], "containers": cts, "ulimits": ulimits,
                    "stop_timeout": stop_timeout}
        varsf = ans.vars_file("row1-%s.json" % rt.name, row_vars)
        setup[rt.name] = {"book": ans.file("row1-%s.yml" % rt.name, book), "vars": varsf, "net": net,
                          "names": [c["name"] for c in cts], "ports": mine, "subnet": subnets[i]}
    if md.networks[-1] not in md.bridges:
        md.bridges.append(md.networks[-1])
    steps = [("first", "64m", False), ("rerun", "64m", False), ("check", "96m", True), ("apply", "96m", False)]
    samples = {s[0]: {"mydocker": [], "podman": []} for s in steps}
    counts = {s[0]: {"mydocker": [], "podman": []} for s in steps}
    verify = {}
    floor_book = ans.file("row1-floor.yml", PLAYBOOK_FLOOR)
    samples["floor"] = {"local": []}
    for r in range(runs):
        dt = ans.playbook(floor_book, "-e", "@" + setup["mydocker"]["vars"])[0]
        samples["floor"]["local"].append(dt)
        log("row 1, round %d/%d, floor (ping): %.1f s" % (r + 1, runs, dt))
        order = (md, pd) if r % 2 == 0 else (pd, md)
        for rt in order:
            s = setup[rt.name]
            try:
                for step, mem, check in steps:
                    args = ["-e", "@" + s["vars"], "-e", "mem=" + mem] + (["--check"] if check else [])
                    dt, dummy, items = ans.playbook(s["book"], *args)
                    samples[step][rt.name].append(dt)
                    counts[step][rt.name].append(items)
                    log("row 1, round %d/%d, %s %s: %.1f s, changed items=%d"
                        % (r + 1, runs, rt.name, step, dt, items))
                    if step == "first":
                        if rt is pd:
                            br = pd.call("network", "inspect", "--format", "{{.NetworkInterface}}",
                                         s["net"])[2].strip()
                            if br and br not in pd.bridges:
                                pd.bridges.append(br)
                        else:
                            md.net_cids = sorted(set(md.net_cids) | set(md.container_ids()))
                        if rt.name not in verify:
                            st, body, dummy = fetch_loopback(s["ports"][0])
                            if st != 200:
                                raise BenchError("%s: GET 127.0.0.1:%d/etc/hostname -> %d"
                                                 % (rt.name, s["ports"][0], st))
                            verify[rt.name] = {"url": "http://127.0.0.1:%d/etc/hostname" % s["ports"][0],
                                               "status": st, "body": body.strip()}
                            log("%s: GET %s -> %d %r" % (rt.name, verify[rt.name]["url"], st, body.strip()))
            finally:
                remove_containers(rt, s["names"], s["net"])
                quiesce(base)
    info = {rt: {"network": setup[rt]["net"], "subnet": setup[rt]["subnet"],
                 "ports": "%d..%d (%d)" % (min(setup[rt]["ports"]), max(setup[rt]["ports"]), count)}
            for rt in setup}
    return {"samples": samples, "changed": counts, "verify_fetch": verify, "setup": info, "containers": count,
            "stop_timeout": stop_timeout}


def start_sleepers(md, pd, names, image):
    for n in names:
        md.call("run", "-d", "--name", n, image, "sleep", "3600")
        pd.call("run", "-d", "--name", n, *(pd.run_flags + [pd.ref(image), "sleep", "3600"]))


def row_adhoc(ans, md, pd, base, rng, runs):
    """(2) one ad hoc *_container_info of a running container; `ansible -m ping` is the floor."""
    name = "ai%06x" % rng.getrandbits(24)
    samples = {"info": {"mydocker": [], "podman": []}, "ping": {"local": []}}
    try:
        start_sleepers(md, pd, [name], "busybox")
        argv = {"mydocker": ["localhost", "-m", "mydocker.runtime.mydocker_container_info", "-a", "name=" + name],
                "podman": ["localhost", "-m", "containers.podman.podman_container_info", "-a", "name=" + name]}
        for who in ("mydocker", "podman"):  # warm-up, and the answer must name the container
            out = ans.adhoc(*argv[who])[1]
            if name not in out:
                raise BenchError("%s ad hoc info does not mention %s:\n%s" % (who, name, out[-1500:]))
        ans.adhoc("localhost", "-m", "ansible.builtin.ping")
        for r in range(runs):
            for who in (("mydocker", "podman") if r % 2 == 0 else ("podman", "mydocker")):
                samples["info"][who].append(ans.adhoc(*argv[who])[0])
            samples["ping"]["local"].append(ans.adhoc("localhost", "-m", "ansible.builtin.ping")[0])
        log("row 2 done (%d rounds)" % runs)
    finally:
        remove_containers(md, [name])
        remove_containers(pd, [name])
        quiesce(base)
    return {"samples": samples}


def row_play(ans, md, pd, base, rng, runs, hosts):
    """(3) the 20-task play inside `hosts` pybox containers per runtime, through each connection."""
    tag = "%06x" % rng.getrandbits(24)
    names = ["ap%s-%d" % (tag, i) for i in range(hosts)]
    blob = os.path.join(ans.dir, "blob.bin")
    with open(blob, "wb") as f:
        f.write(os.urandom(1 << 20))
    script = ans.file("script.sh", "#!/bin/sh\necho from a script in $(hostname)\n")
    book = ans.file("row3.yml", PLAY_IN)
    ans.hosts["mdbox"] = {"md-" + n: {"ansible_host": n, "ansible_connection": "mydocker.runtime.mydocker",
                                      "ansible_mydocker_root": md.root,
                                      "ansible_python_interpreter": CTR_PYTHON} for n in names}
    ans.hosts["pdbox"] = {"pd-" + n: {"ansible_host": n, "ansible_connection": "containers.podman.podman",
                                      "ansible_python_interpreter": CTR_PYTHON} for n in names}
    ans.write_inventory()
    samples = {"play": {"mydocker": [], "podman": []}}
    counts = {"play": {"mydocker": [], "podman": []}}
    checked = {}
    try:
        start_sleepers(md, pd, names, "pybox")
        for r in range(-1, runs):   # one warm-up round
            for rt, group in (((md, "mdbox"), (pd, "pdbox")) if r % 2 == 0 else ((pd, "pdbox"), (md, "mdbox"))):
                fetched = os.path.join(ans.dir, "fetched-%s-%d" % (rt.name, r + 1))
                dt, rcap, dummy = ans.playbook(book, "-e", "group=%s" % group, "-e", "blob=%s" % blob,
                                               "-e", "script=%s" % script, "-e", "fetched=%s" % fetched)
                oks = sorted(h["ok"] for h in rcap.values())
                if len(rcap) != hosts or oks != [PLAY_TASKS] * hosts:
                    raise BenchError("%s: the play did not run %d tasks on %d hosts: %s"
                                     % (rt.name, PLAY_TASKS, hosts, rcap))
                if rt.name not in checked:
                    checked[rt.name] = verify_fetched(fetched, blob, rcap)
                if r >= 0:
                    samples["play"][rt.name].append(dt)
                    counts["play"][rt.name].append(changed(rcap))
                log("row 3, round %d/%d, %s: %.1f s, changed=%d" % (r + 1, runs, rt.name, dt, changed(rcap)))
    finally:
        remove_containers(md, names)
        remove_containers(pd, names)
        quiesce(base)
        ans.hosts = {"mdbox": {}, "pdbox": {}}
        ans.write_inventory()
    return {"samples": samples, "changed": counts, "hosts": hosts, "fetch_check": checked}


def verify_fetched(fetched, blob, rcap):
    """The fetched files must be what went in: the 1 MiB blob byte for byte, the small file's text."""
    with open(blob, "rb") as f:
        want = f.read()
    for host in rcap:
        with open(os.path.join(fetched, host, "tmp", "blob.bin"), "rb") as f:
            if f.read() != want:
                raise BenchError("fetched blob of %s differs from the one copied in" % host)
        with open(os.path.join(fetched, host, "tmp", "small.txt")) as f:
            if f.read() != "small %s\n" % host:
                raise BenchError("fetched small.txt of %s is wrong" % host)
    return "1 MiB blob and small.txt fetched back identical from %d hosts" % len(rcap)


# ------------------------------------------------------------------ report

def _s(v):
    return "%.2f" % v


ROW1_LABELS = [("first", "first run (creates the network and the containers)"),
               ("rerun", "rerun, nothing to do"),
               ("check", "`--check` with a memory change (64m -> 96m)"),
               ("apply", "applying the memory change")]


def _ratio(x):
    """Two decimals; two significant digits below 0.1 (against podman's apply with its 10 s stop, ~0.003)."""
    return "%.2f" % x if x >= 0.1 else "%.2g" % x


def report(res):
    L = []
    v = res["versions"]
    L.append("Ansible-side rows: mydocker.runtime vs containers.podman, one ansible-playbook for both "
             "(%s; ansible %s; containers.podman %s), modules on localhost with %s (Python %s), pipelining "
             "on, forks %d; seconds of wall time per command; ratio = mydocker / podman (medians)"
             % (v.get("ansible-core"), v.get("ansible"), v.get("containers.podman"), MD_PYTHON,
                v.get("module interpreter"), res["forks"]))
    L.append("")
    r1 = res["rows"].get("playbook")
    if r1:
        L.append("Row 1's containers have `stop_timeout: %d` on both sides%s." % (
            r1.get("stop_timeout", 0), " (podman's recreate on apply kills at once)" if not r1.get("stop_timeout")
            else " (podman's recreate on apply waits that long for each container, as its default does)"))
        L.append("")
    L.append("changed: row 1 counts changed items (the network, each container), row 3 changed tasks "
             "(all hosts); row 1's `--check` must report the change and make none (the apply after it "
             "changes the same items).")
    L.append("")
    L.append("| row | mydocker median | mydocker p90 | podman median | podman p90 | ratio (median) "
             "| changed (mydocker / podman) |")
    L.append("|---|---:|---:|---:|---:|---:|---|")
    r1 = res["rows"].get("playbook")
    if r1:
        for key, label in ROW1_LABELS:
            m = stats(r1["samples"][key]["mydocker"])
            p = stats(r1["samples"][key]["podman"])
            L.append("| (1) %d containers: %s, %d runs | %s | %s | %s | %s | %s | %s / %s |" % (
                r1["containers"], label, m["n"], _s(m["median"]), _s(m["p90"]), _s(p["median"]), _s(p["p90"]),
                _ratio(m["median"] / p["median"]), _set(r1["changed"][key]["mydocker"]),
                _set(r1["changed"][key]["podman"])))
        if r1["samples"].get("floor"):
            f = stats(r1["samples"]["floor"]["local"])
            cells = (r1["containers"], f["n"], _s(f["median"]), _s(f["p90"]), _s(f["median"]), _s(f["p90"]))
            L.append("| (1) floor: the same play with `ansible.builtin.ping` (a task, then a loop of %d items), "
                     "%d runs | %s | %s | %s | %s | - | - |" % cells)
    r2 = res["rows"].get("adhoc")
    if r2:
        m = stats(r2["samples"]["info"]["mydocker"])
        p = stats(r2["samples"]["info"]["podman"])
        f = stats(r2["samples"]["ping"]["local"])
        L.append("| (2) ad hoc `*_container_info` of one container, %d runs | %s | %s | %s | %s | %.2f | - |" % (
            m["n"], _s(m["median"]), _s(m["p90"]), _s(p["median"]), _s(p["p90"]), m["median"] / p["median"]))
        L.append("| (2) floor: ad hoc `ansible.builtin.ping` on localhost | %s | %s | %s | %s | - | - |" % (
            _s(f["median"]), _s(f["p90"]), _s(f["median"]), _s(f["p90"])))
    r3 = res["rows"].get("play")
    if r3:
        m = stats(r3["samples"]["play"]["mydocker"])
        p = stats(r3["samples"]["play"]["podman"])
        L.append("| (3) %d-task play in %d containers through the connection plugin, %d runs | %s | %s | %s | %s "
                 "| %.2f | %s / %s |" % (
                     PLAY_TASKS, r3["hosts"], m["n"], _s(m["median"]), _s(m["p90"]), _s(p["median"]),
                     _s(p["p90"]), m["median"] / p["median"], _set(r3["changed"]["play"]["mydocker"]),
                     _set(r3["changed"]["play"]["podman"])))
    if r1:
        L.append("")
        L.append("Row 1 networks and ports: " + "; ".join(
            "%s %s on %s, 127.0.0.1 ports %s, checked with GET %s -> %d" % (
                rt, s["network"], s["subnet"], s["ports"], r1["verify_fetch"][rt]["url"],
                r1["verify_fetch"][rt]["status"]) for rt, s in sorted(r1["setup"].items())))
    if r3:
        L.append("")
        L.append("Row 3 image: `pybox` (busybox + the host's %s, its stdlib and libraries); %s."
                 % (CTR_PYTHON, r3["fetch_check"].get("mydocker", "")))
    return "\n".join(L)


def _set(vals):
    return ",".join(str(x) for x in sorted(set(vals)))


# ------------------------------------------------------------------ the run

def run(a):
    """The outline of `--ansible`: set-up, the three rows, clean-up (always), report."""
    for n in ("ansible_runs", "adhoc_runs", "containers", "play_hosts", "forks"):
        if getattr(a, n) < 1:
            sys.stderr.write("--%s must be at least 1\n" % n.replace("_", "-"))
            return 1
    if a.stop_timeout < 0:
        sys.stderr.write("--stop-timeout must be 0 or more\n")
        return 1

    def _interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    become_subreaper()
    host_before = snapshot_host()
    net_before = NetSnapshot()
    rng = random.SystemRandom()
    base = tempfile.mkdtemp(prefix="mydocker-bench-")
    os.chmod(base, 0o755)
    runtimes, problems, notes = [], [], []
    res = None
    rc = 0
    try:
        venv = ensure_venv(a.ansible_venv)
        md = MyDocker(base, MD_PYTHON)
        runtimes.append(md)
        pd = Podman(base)
        runtimes.append(pd)
        ans = Ansible(base, venv, md, pd, a.forks)
        log("temporary directory %s" % base)
        small = build_small(base, md)
        pybox = build_pybox(base, small)
        for name, tar in (("busybox", small), ("pybox", pybox)):
            md.import_image(tar, name)
            pd.import_image(tar, name)
        flags, dummy = pd.probe_ulimits("busybox")
        ulimits = [flags[i + 1] for i, f in enumerate(flags) if f == "--ulimit"]
        log("podman ulimits: %s" % ulimits)
        res = {"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "versions": versions(venv, ans.env),
               "forks": a.forks, "podman_ulimits": ulimits, "rows": {}}
        res["versions"]["podman"] = pd.version()
        # warm-up (untimed): the controller's bytecode cache, both collections' plugin loaders
        ans.adhoc("localhost", "-m", "ansible.builtin.ping")
        for book in (PLAYBOOK_MD, PLAYBOOK_PD, PLAY_IN):
            ans.playbook(ans.file("warmup.yml", book), "--syntax-check", "-e", "group=mdbox")
        log("versions: %s" % res["versions"])
        rows = set(a.ansible_rows.replace(" ", "").split(","))
        if "1" in rows:
            log("row 1: a network and %d containers, %d rounds" % (a.containers, a.ansible_runs))
            res["rows"]["playbook"] = row_playbook(ans, md, pd, base, rng, a.ansible_runs, a.containers,
                                                   ulimits, a.stop_timeout)
        if "2" in rows:
            log("row 2: ad hoc container info, %d rounds" % a.adhoc_runs)
            res["rows"]["adhoc"] = row_adhoc(ans, md, pd, base, rng, a.adhoc_runs)
        if "3" in rows:
            log("row 3: %d-task play in %d containers, %d rounds (+1 warm-up)"
                % (PLAY_TASKS, a.play_hosts, a.ansible_runs))
            res["rows"]["play"] = row_play(ans, md, pd, base, rng, a.ansible_runs, a.play_hosts)
    except KeyboardInterrupt:
        log("interrupted: cleaning up")
        rc = 130
    except BenchError as e:
        log("FAILED: %s" % e)
        rc = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        log("cleaning up")
        cleanup(base, runtimes, host_before, net_before, problems, notes)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    for n in notes:
        log("note: " + n)
    if problems:
        log("clean-up found problems:")
        for p in problems:
            log("  - " + p)
        rc = rc or 2
    if res is not None and res["rows"]:
        res["cleanup_problems"] = problems
        res["cleanup_notes"] = notes
        print(report(res))
        if not a.no_json:
            os.makedirs(RESULTS, exist_ok=True)
            path = os.path.join(RESULTS, "ansible-%s.json" % time.strftime("%Y%m%d-%H%M%S"))
            with open(path, "w") as f:
                json.dump(res, f, indent=2, sort_keys=True)
            log("wrote %s" % path)
    return rc
