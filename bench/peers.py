# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two runtimes under test, behind one interface: mydocker (this checkout's bin/mydocker with
its own state root) and podman (its own root, runroot and configuration in the temporary
directory)."""

import collections
import fcntl
import hashlib
import importlib.util
import json
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import time

from .common import MYDOCKER, REPO, BenchError, log, run_cmd

# `mydocker system service` (plugins/module_utils/cli/service.py): the flock'ed file that holds the
# service's pid while it runs, and the line `system service status` prints
SERVICE_LOCK = "service.lock"
SERVICE_STATUS = re.compile(r"^pid (\d+), up since (.+), (\d+) commands? taken$")


class MyDocker:
    name = "mydocker"

    def __init__(self, base, python, service=False):
        self.root = os.path.join(base, "mydocker")
        self.python = python
        env = dict(os.environ)
        env.pop("MYDOCKER_ROOT", None)
        env.pop("MYDOCKER_CGROUP_PARENT", None)
        if service:
            env.pop("MYDOCKER_SERVICE", None)  # a caller's MYDOCKER_SERVICE=0 would bypass the service
        self.env = env
        # --service: this root's `mydocker system service` runs the commands (start_service)
        self.service = service
        self.service_asked = False   # set before the start: from then on the clean-up stops it
        self.service_pid = None
        self.issued = collections.Counter()  # command words run since the service started
        # the cgroup parent mydocker uses for a non-default root (state.cgroup_parent)
        self.cgroup_parent = "mydocker-" + hashlib.sha1(self.root.encode()).hexdigest()[:10]
        # the same hash tags our iptables chains and rule comments (iptables.root_tag)
        self.ipt_tag = "-" + hashlib.sha1(self.root.encode()).hexdigest()[:10]
        self.networks = []   # created by us (names), bridge names are the same
        self.bridges = []
        self.net_cids = []   # networked containers started by us (their veths must be gone)
        self.subnets = []
        self.ports = []

    def cmd(self, *args):
        # -S: as the installed launcher starts it (scripts/install.sh; bin/mydocker adds the venv's site-packages)
        return [self.python, "-S", MYDOCKER, "--root", self.root] + list(args)

    def call(self, *args, **kw):
        if self.service_pid:
            self.issued[args[0]] += 1
        return run_cmd(self.cmd(*args), env=self.env, **kw)

    # ------------------------------------------------------------ --service: `mydocker system service`

    def resident_pids(self):
        """Processes meant to run through the timed cases (their command line names the root)."""
        return {self.service_pid} if self.service_pid else set()

    def start_service(self):
        """``system service start --time 0`` (no idle stop) for this state root, checked with
        ``status``; returns what the JSON records about the start."""
        self.service_asked = True
        dt, dummy, out, dummy = self.call("system", "service", "start", "--time", "0")
        try:
            self.service_pid = int(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise BenchError("mydocker system service start printed no pid: %r" % out) from None
        st = self.service_status()
        if st is None or st["pid"] != self.service_pid:
            raise BenchError("mydocker's service (pid %d) does not run after its start: %s"
                             % (self.service_pid, st and st["line"]))
        self.issued.clear()
        return {"start_s": dt, "pid": self.service_pid, "status_at_start": st["line"]}

    def service_status(self):
        """``system service status`` parsed ({"line", "pid", "since", "commands_taken"}), or None when
        no service runs for the root."""
        dummy, rc, out, err = self.call("system", "service", "status", check=False)
        line = out.strip()
        if rc == 1 and line.startswith("no service runs"):
            return None
        m = SERVICE_STATUS.match(line)
        if rc != 0 or not m:
            raise BenchError("mydocker system service status (exit %d): %s" % (rc, (out + err).strip()))
        return {"line": line, "pid": int(m.group(1)), "since": m.group(2), "commands_taken": int(m.group(3))}

    def check_service(self, stage):
        """The service's status at ``stage``: it must still be the one started, and have taken
        commands (else mydocker's samples ran without it, or partly so)."""
        st = self.service_status()
        if st is None or st["pid"] != self.service_pid:
            # it stops itself (and the command it declines runs in the calling process) when a source
            # file of the collection it loaded has changed: the checkout was edited during the run
            raise BenchError("mydocker's service (pid %d) no longer ran at %s (%s): some of mydocker's commands "
                             "ran without it (the service stops when a source file it loaded changes)"
                             % (self.service_pid, stage, st["line"] if st else "no service runs"))
        if st["commands_taken"] == 0:
            raise BenchError("mydocker's service (pid %d) took no command by %s: mydocker's commands ran "
                             "without it" % (self.service_pid, stage))
        st["issued_servable"] = self._servable_issued()
        if st["issued_servable"] is not None and st["commands_taken"] < st["issued_servable"]:
            log("warning: mydocker's service took %d commands, but %d commands it serves were run since it "
                "started: it declined (or missed) some" % (st["commands_taken"], st["issued_servable"]))
        return st

    def _servable_issued(self):
        """How many of the commands run since the start a service runs (service_client.SERVED:
        not `image import` or `system ...`), or None when that list cannot be read."""
        path = os.path.join(REPO, "plugins", "module_utils", "cli", "service_client.py")
        try:
            spec = importlib.util.spec_from_file_location("bench_service_client", path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            served = mod.SERVED
        except (OSError, ImportError, AttributeError, SyntaxError):
            return None
        return sum(n for word, n in self.issued.items() if word in served)

    def stop_service(self):
        """The last status, then ``system service stop`` (it returns once the service is gone)."""
        st = self.check_service("the end of the measurements")
        dt, dummy, out, dummy = self.call("system", "service", "stop")
        if self.service_lock_pid() is not None:
            raise BenchError("mydocker system service stop said %r, but the service still runs" % out.strip())
        self.service_pid = None
        return {"status_at_stop": st["line"], "commands_taken_at_stop": st["commands_taken"],
                "issued_servable_at_stop": st["issued_servable"], "stop_s": dt}

    def service_lock_pid(self):
        """The pid of the service that holds this root's lock (-1 if unreadable), or None (as
        service.running does)."""
        try:
            fd = os.open(os.path.join(self.root, SERVICE_LOCK), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                data = os.pread(fd, 64, 0).split()
                return int(data[0]) if data and data[0].isdigit() else -1
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def cleanup_service(self, problems):
        """First step of the clean-up: stop a service still running for this root (after a
        failure or an interruption). Only a service that cannot be stopped with `system service
        stop` is a finding (it is then sent SIGTERM, and SIGKILL)."""
        if not (self.service or self.service_asked) or self.service_lock_pid() is None:
            return
        pid = self.service_lock_pid()
        try:
            dummy, rc, out, err = self.call("system", "service", "stop", check=False, timeout=60)
            said = (out + err).strip()
        except BenchError as e:  # timed out
            rc, said = -1, str(e)
        self.service_pid = None
        if rc == 0 and self.service_lock_pid() is None:
            log("stopped mydocker's service (pid %s), which still ran when the clean-up began" % pid)
            return
        problems.append("mydocker system service stop could not stop the service (pid %s; exit %d: %s)"
                        % (pid, rc, said))
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pid = self.service_lock_pid()
            if pid is None or pid <= 0:
                break
            try:
                os.kill(pid, sig)
            except OSError:
                break
            deadline = time.monotonic() + 10
            while self.service_lock_pid() is not None and time.monotonic() < deadline:
                time.sleep(0.05)
            if self.service_lock_pid() is None:
                problems.append("mydocker's service (pid %d) stopped with %s" % (pid, signal.Signals(sig).name))
                break

    def version(self):
        try:
            rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, check=False).stdout.decode().strip()
        except OSError:
            rev = ""
        return "mydocker (checkout %s%s), Python %s" % (REPO, " @ " + rev if rev else "", platform.python_version())

    def import_image(self, tar, name):
        return self.call("image", "import", tar, name)[0]

    def run_detached(self, image, *cmd):
        dt, dummy, out, dummy = self.call("run", "-d", image, *cmd)
        return dt, out.strip().splitlines()[-1]

    def run_rm(self, image, *cmd):
        return self.call("run", "--rm", image, *cmd, capture=False)[0]

    def remove(self, cid):
        return self.call("rm", "-f", cid)[0]

    def helper_pid(self, cid):
        rec = json.loads(self.call("inspect", cid)[2])[0]
        return int(rec["monitorPid"])

    # networking: `network create --driver bridge --subnet CIDR NAME`; the bridge is named after it
    def net_create(self, name, subnet):
        dt = self.call("network", "create", "--driver", "bridge", "--subnet", subnet, name)[0]
        self.networks.append(name)
        self.bridges.append(name)
        return dt

    def run_net(self, net, port, image, *cmd):
        dt, dummy, out, dummy = self.call("run", "-d", "--net", net, "-p", "%d:80" % port, image, *cmd)
        cid = out.strip().splitlines()[-1]
        self.net_cids.append(cid)
        return dt, cid

    def veth_names(self):
        """Host ends of the veths of our networked containers (network.veth_name: "veth" + id)."""
        return ["veth" + c if len(c) == 10 and c.isdigit() else "veth" + hashlib.sha1(c.encode()).hexdigest()[:10]
                for c in self.net_cids]

    def container_ids(self):
        return self.call("ps", "-a", "-q", check=False)[2].split()

    def list_all(self):
        return self.call("ps", "-a")[0]

    def populate(self, image, count):
        """``count`` exited containers as records on disk: one real container run to its end, its
        record copied under new IDs and names (no mount, cgroup or process of their own)."""
        dummy, seed = self.run_detached(image, "true")
        cfg = os.path.join(self.root, "containers", seed, "config.json")
        deadline = time.monotonic() + 30
        while True:
            with open(cfg) as f:
                rec = json.load(f)
            if rec.get("status") == "exited":
                break
            if time.monotonic() > deadline:
                raise BenchError("the seed container %s of the ps case did not exit" % seed)
            time.sleep(0.05)
        made = []
        for i in range(count - 1):
            cid = "9%09d" % i
            d = os.path.join(self.root, "containers", cid)
            os.mkdir(d)
            made.append(d)
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump(dict(rec, id=cid, name="ps%d" % i), f)
        self.populated = (seed, made)

    def depopulate(self):
        seed, made = getattr(self, "populated", (None, []))
        for d in made:
            shutil.rmtree(d)
        if seed:
            self.remove(seed)
        self.populated = (None, [])

    def cleanup(self, problems, notes):
        if not os.path.isdir(self.root):
            return
        for cid in self.container_ids():
            dummy, rc, dummy, err = self.call("rm", "-f", cid, check=False)
            if rc != 0:
                problems.append("mydocker rm -f %s: %s" % (cid, err.strip()))
        out = self.call("images", check=False)[2].splitlines()[1:]
        for line in out:
            name = line.split()[0]
            dummy, rc, dummy, err = self.call("rmi", "-f", name, check=False)
            if rc != 0:
                problems.append("mydocker rmi -f %s: %s" % (name, err.strip()))
        for name in self.call("network", "ls", "-q", check=False)[2].split():
            dummy, rc, dummy, err = self.call("network", "rm", name, check=False)
            if rc != 0:
                problems.append("mydocker network rm %s: %s" % (name, err.strip()))
        dummy, rc, out, err = self.call("prune", check=False)
        lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
        if rc == 0 and lines and all(ln.startswith("removed engine copy ") for ln in lines):
            # monitors resume with a private copy of the engine (monitor.engine_copy), one per engine
            # version: when the checkout changes during the run (others editing it), the older copy
            # stays until prune; that is not a leftover of a crash
            notes.append("mydocker prune removed engine copies of an older engine version (the checkout "
                         "changed during the run): %s" % "; ".join(lines))
        elif rc != 0 or "nothing to prune" not in out:
            problems.append("mydocker prune after removing everything: %s" % (out + err).strip())


class Podman:
    name = "podman"

    def __init__(self, base):
        self.dir = os.path.join(base, "podman")
        self.graphroot = os.path.join(self.dir, "root")
        self.runroot = os.path.join(self.dir, "run")
        for d in ("tmp", "volumes", "networks"):
            os.makedirs(os.path.join(self.dir, d))
        self.conf = os.path.join(self.dir, "containers.conf")
        with open(self.conf, "w") as f:
            f.write('[containers]\nnetns = "none"\n'
                    '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "none"\nruntime = "runc"\n'
                    'lock_type = "file"\ntmp_dir = "%s"\nvolume_path = "%s"\n'
                    '[network]\nnetwork_config_dir = "%s"\n'
                    % (os.path.join(self.dir, "tmp"), os.path.join(self.dir, "volumes"),
                       os.path.join(self.dir, "networks")))
        self.storage_conf = os.path.join(self.dir, "storage.conf")
        with open(self.storage_conf, "w") as f:
            f.write('[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "%s"\n'
                    % (self.graphroot, self.runroot))
        env = dict(os.environ)
        env["CONTAINERS_CONF"] = self.conf
        env["CONTAINERS_STORAGE_CONF"] = self.storage_conf
        env.pop("CONTAINER_HOST", None)
        self.env = env
        # podman's default ulimits (nofile 1048576, nproc 4194304) are above this machine's hard limits
        # (root here lacks CAP_SYS_RESOURCE) and runc then fails with "error setting rlimits";
        # probe_ulimits() finds values that work, starting from ours (what a mydocker container gets).
        self.base_flags = ["--runtime", "runc", "--network", "none", "--pull", "never"]
        self.run_flags = list(self.base_flags)
        self.networks = []
        self.bridges = []    # podman names them itself (podman1, podman2, ...): read back after create
        self.subnets = []
        self.ports = []

    def probe_ulimits(self, image):
        """Pick --ulimit values runc can set: our own limits first, then lower nproc values."""
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)
        nproc = resource.getrlimit(resource.RLIMIT_NPROC)
        tried = []
        for np_hard in [nproc[1], 32768, 16384, 4096, 1024]:
            if nproc[1] != resource.RLIM_INFINITY and np_hard > nproc[1]:
                continue
            np_soft = np_hard if nproc[0] == resource.RLIM_INFINITY else min(nproc[0], np_hard)
            flags = self.base_flags + ["--ulimit", "nofile=%s:%s" % (_lim(nofile[0]), _lim(nofile[1])),
                                       "--ulimit", "nproc=%s:%s" % (_lim(np_soft), _lim(np_hard))]
            dummy, rc, dummy, err = self.call("run", "--rm", *(flags + [self.ref(image), "true"]), check=False)
            if rc == 0:
                self.run_flags = flags
                return flags, tried
            tried.append({"flags": flags[len(self.base_flags):], "error": err.strip().splitlines()[-1:]})
        raise BenchError("podman cannot run a container with any --ulimit values tried: %s" % tried)

    def cmd(self, *args):
        return ["podman", "--root", self.graphroot, "--runroot", self.runroot] + list(args)

    def call(self, *args, **kw):
        return run_cmd(self.cmd(*args), env=self.env, **kw)

    def version(self):
        v = self.call("version", "--format", "{{.Client.Version}}", check=False)[2].strip()
        r = subprocess.run(["runc", "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False).stdout
        c = subprocess.run(["conmon", "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           check=False).stdout
        return "podman %s, %s, %s" % (v, r.decode().splitlines()[0] if r else "runc ?",
                                      c.decode().splitlines()[0] if c else "conmon ?")

    def ref(self, name):
        return "localhost/%s:latest" % name

    def import_image(self, tar, name):
        return self.call("import", "--quiet", tar, self.ref(name))[0]

    def run_detached(self, image, *cmd):
        dt, dummy, out, dummy = self.call("run", "-d", *(self.run_flags + [self.ref(image)] + list(cmd)))
        return dt, out.strip().splitlines()[-1]

    def run_rm(self, image, *cmd):
        return self.call("run", "--rm", *(self.run_flags + [self.ref(image)] + list(cmd)), capture=False)[0]

    def remove(self, cid):
        # -t 0: kill at once, as mydocker's rm -f does (podman's default would wait 10 s for SIGTERM)
        return self.call("rm", "-f", "-t", "0", cid)[0]

    def helper_pid(self, cid):
        return int(self.call("inspect", "--format", "{{.State.ConmonPid}}", cid)[2].strip())

    # networking: a netavark bridge network; --disable-dns because mydocker has no DNS server
    # (podman would start aardvark-dns on the gateway for a named network otherwise)
    def net_create(self, name, subnet):
        dt = self.call("network", "create", "--driver", "bridge", "--disable-dns", "--subnet", subnet, name)[0]
        self.networks.append(name)
        iface = self.call("network", "inspect", "--format", "{{.NetworkInterface}}", name)[2].strip()
        self.bridges.append(iface)
        return dt

    def net_flags(self, net):
        flags = list(self.run_flags)
        i = flags.index("--network")
        flags[i + 1] = net
        return flags

    def run_net(self, net, port, image, *cmd):
        argv = self.net_flags(net) + ["-p", "%d:80" % port, self.ref(image)] + list(cmd)
        dt, dummy, out, dummy = self.call("run", "-d", *argv)
        return dt, out.strip().splitlines()[-1]

    def list_all(self):
        return self.call("ps", "-a")[0]

    def resident_pids(self):
        return set()

    def populate(self, image, count, parallel=4):
        """``count`` created (never started) containers: podman keeps them in its database."""
        argv = self.cmd("create", *(self.run_flags + [self.ref(image), "true"]))
        todo = list(range(count))
        running = []
        while todo or running:
            while todo and len(running) < parallel:
                todo.pop()
                running.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                stderr=subprocess.PIPE, env=self.env, start_new_session=True))
            p = running.pop(0)
            err = p.communicate()[1]
            if p.returncode != 0:
                for q in running:
                    q.wait()
                raise BenchError("podman create failed: %s" % err.decode("utf-8", "replace").strip())

    def depopulate(self):
        self.call("rm", "-a", "-f", "-t", "0")

    def cleanup(self, problems, notes):
        if not os.path.isdir(self.graphroot):
            return
        cmds = ([("rm", "-a", "-f", "-t", "0")] + [("network", "rm", "-f", n) for n in self.networks]
                + [("rmi", "-a", "-f")])
        for args in cmds:
            dummy, rc, dummy, err = self.call(*args, check=False)
            if rc != 0:
                problems.append("podman %s: %s" % (" ".join(args), err.strip()))


def _lim(v):
    return "-1" if v == resource.RLIM_INFINITY else str(v)
