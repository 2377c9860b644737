#!/usr/bin/env python
# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start and stop the test VMs of the molecule scenario extensions/molecule/vm.

    vm.py start --image DIR --run-dir DIR [--count 2] [--memory 1024] [--timeout 300]
    vm.py stop --run-dir DIR
    vm.py ssh --run-dir DIR NAME [COMMAND...]

``start`` boots COUNT Debian VMs (vm1, vm2, ...) from qcow2 overlays on the image that
scripts/vm/build-image.sh built, under software emulation (TCG), each with

- a virtio-net NIC on a qemu user netdev with ``restrict=on`` (no way out) and a hostfwd from a free
  127.0.0.1 port to its sshd;
- a second NIC on a private segment shared by vm1 and vm2: a qemu socket netdev over loopback
  (vm1 listens, vm2 connects); the image's systemd-networkd gives the NIC with MAC
  52:54:00:77:00:0N the address 192.168.77.N/24;

then waits until every VM answers on SSH and writes RUN_DIR/vms.json (name, address, port, user,
identity file, private-segment address, pid). If anything fails it stops what it started.

``stop`` powers every VM of RUN_DIR off over SSH, waits for its qemu to exit, kills it (SIGTERM,
then SIGKILL) if it does not, and removes the overlays. It only ever signals a PID read from a
pidfile in RUN_DIR whose command line is that VM's qemu, and it is safe to run twice.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

QEMU = "qemu-system-x86_64"
SEGMENT_NET = "192.168.77.%d"
SSH_OPTS = [
    "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
    "-o", "ConnectTimeout=5",
]


def log(msg):
    sys.stderr.write("[vm] %s\n" % msg)
    sys.stderr.flush()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def read_file(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def state_path(run_dir):
    return os.path.join(run_dir, "vms.json")


def load_state(run_dir):
    text = read_file(state_path(run_dir))
    return json.loads(text) if text else []


def save_state(run_dir, vms):
    tmp = state_path(run_dir) + ".tmp"
    with open(tmp, "w") as f:
        json.dump(vms, f, indent=2, sort_keys=True)
        f.write("\n")
    os.rename(tmp, state_path(run_dir))


def qemu_pid(vm):
    """The PID of this VM's qemu, or None when it is not running.

    The PID comes from the VM's pidfile and counts only when /proc says it is a qemu started
    with this VM's overlay, so a recycled PID is never signalled.
    """
    text = read_file(vm["pidfile"]).strip()
    if not text.isdigit():
        return None
    pid = int(text)
    cmdline = read_file("/proc/%d/cmdline" % pid).split("\0")
    if not cmdline or QEMU not in os.path.basename(cmdline[0]):
        return None
    if not any(vm["overlay"] in arg for arg in cmdline):
        return None
    return pid


def ssh_argv(vm, command):
    return (["ssh"] + SSH_OPTS + ["-i", vm["identity_file"], "-p", str(vm["port"]),
                                  "%s@%s" % (vm["user"], vm["address"])] + list(command))


def ssh_ok(vm):
    try:
        return subprocess.call(ssh_argv(vm, ["true"]), stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30) == 0
    except subprocess.TimeoutExpired:
        return False


def console_tail(vm, lines=25):
    text = read_file(vm["console"])
    return "\n".join(text.splitlines()[-lines:])


def launch(vm, image, memory, cpu, lifetime):
    cmdline = read_file(os.path.join(image, "cmdline")).strip()
    argv = [
        QEMU,
        "-name", vm["name"],
        "-no-user-config", "-nodefaults",
        "-accel", "tcg,thread=multi,tb-size=256",
        "-cpu", cpu,
        "-machine", "q35",
        "-smp", "1",
        "-m", str(memory),
        "-kernel", os.path.join(image, "vmlinuz"),
        "-initrd", os.path.join(image, "initrd.img"),
        "-append", "%s systemd.hostname=%s mydocker.lifetime=%d" % (cmdline, vm["name"], lifetime),
        "-drive", "file=%s,if=virtio,format=qcow2,cache=unsafe,discard=unmap" % vm["overlay"],
        "-netdev", "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:%d-:22" % vm["port"],
        "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:%02d" % vm["index"],
        "-device", "virtio-rng-pci",
        "-display", "none",
        "-serial", "file:%s" % vm["console"],
        "-monitor", "none",
        "-no-reboot",                      # a reboot or a panic (panic=-1) ends qemu
        "-daemonize",
        "-pidfile", vm["pidfile"],
    ]
    if vm.get("segment"):
        seg = vm["segment"]
        argv += ["-netdev", "socket,id=n1,%s=127.0.0.1:%d" % (seg["mode"], seg["port"]),
                 "-device", "virtio-net-pci,netdev=n1,mac=52:54:00:77:00:%02d" % vm["index"]]
    subprocess.check_call(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw",
                           "-b", os.path.join(image, "rootfs.raw"), vm["overlay"]])
    with open(vm["qemu_log"], "w") as out:
        rc = subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    if rc != 0:
        raise RuntimeError("%s: qemu exited %d: %s" % (vm["name"], rc, read_file(vm["qemu_log"]).strip()))
    vm["pid"] = qemu_pid(vm)


def start(args):
    image = os.path.abspath(args.image)
    run_dir = os.path.abspath(args.run_dir)
    for name in ("vmlinuz", "initrd.img", "rootfs.raw", "id_ed25519", "cmdline", "ready"):
        if not os.path.exists(os.path.join(image, name)):
            log("%s has no %s: run scripts/vm/build-image.sh" % (image, name))
            return 2
    if not 1 <= args.count <= 8:
        log("--count must be 1..8")
        return 2
    os.makedirs(run_dir, exist_ok=True)
    if any(qemu_pid(vm) for vm in load_state(run_dir)):
        log("VMs of %s are running: stop them first" % run_dir)
        return 2
    # The key is copied next to the VMs: ssh wants it private and the image's copy stays pristine.
    key = os.path.join(run_dir, "id_ed25519")
    with open(os.path.join(image, "id_ed25519")) as src:
        data = src.read()
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as dst:
        dst.write(data)

    seg_port = free_port()
    vms = []
    for i in range(1, args.count + 1):
        name = "vm%d" % i
        vm = {
            "name": name,
            "index": i,
            "address": "127.0.0.1",
            "port": free_port(),
            "user": "root",
            "identity_file": key,
            "overlay": os.path.join(run_dir, name + ".qcow2"),
            "pidfile": os.path.join(run_dir, name + ".pid"),
            "console": os.path.join(run_dir, name + ".console.log"),
            "qemu_log": os.path.join(run_dir, name + ".qemu.log"),
            "segment_address": None,
            "segment": None,
        }
        # vm1 and vm2 share the private segment (a socket netdev is point to point).
        if args.count >= 2 and i <= 2:
            vm["segment"] = {"mode": "listen" if i == 1 else "connect", "port": seg_port}
            vm["segment_address"] = SEGMENT_NET % i
        vms.append(vm)

    t0 = time.time()
    try:
        for vm in vms:
            save_state(run_dir, vms)       # before launching: stop finds a half-started VM too
            launch(vm, image, args.memory, args.cpu, args.lifetime)
            log("%s: qemu pid %s, ssh 127.0.0.1:%d%s" % (
                vm["name"], vm["pid"], vm["port"],
                ", segment %s (%s)" % (vm["segment_address"], vm["segment"]["mode"]) if vm["segment"] else ""))
        save_state(run_dir, vms)
        pending = list(vms)
        deadline = time.time() + args.timeout
        while pending:
            for vm in list(pending):
                if qemu_pid(vm) is None:
                    raise RuntimeError("%s: qemu died while booting\n%s" % (vm["name"], console_tail(vm)))
                if ssh_ok(vm):
                    vm["boot_seconds"] = round(time.time() - t0, 1)
                    log("%s: SSH up after %.1fs" % (vm["name"], vm["boot_seconds"]))
                    pending.remove(vm)
            if pending:
                if time.time() > deadline:
                    raise RuntimeError("no SSH after %ds from %s\n%s" % (
                        args.timeout, ", ".join(v["name"] for v in pending),
                        "\n".join(console_tail(v) for v in pending)))
                time.sleep(2)
        save_state(run_dir, vms)
    except BaseException as exc:  # KeyboardInterrupt and SIGTERM too: never leave a qemu behind
        log("start failed: %s" % exc)
        stop_vms(run_dir, vms, graceful=False)
        return 1
    json.dump([{k: vm[k] for k in ("name", "address", "port", "user", "identity_file", "segment_address")}
               for vm in vms], sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def wait_gone(vm, pid, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if qemu_pid(vm) != pid:
            return True
        time.sleep(0.5)
    return qemu_pid(vm) != pid


def stop_vms(run_dir, vms, graceful=True):
    running = [(vm, qemu_pid(vm)) for vm in vms]
    running = [(vm, pid) for vm, pid in running if pid]
    if graceful:
        for vm, pid in running:
            # poweroff returns at once; the SSH session may be cut while it runs.
            try:
                subprocess.call(ssh_argv(vm, ["systemctl", "poweroff", "--no-block"]), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20)
            except subprocess.TimeoutExpired:
                pass
    deadline = time.time() + 40
    for vm, pid in running:
        if graceful and wait_gone(vm, pid, max(0, deadline - time.time())):
            log("%s: powered off" % vm["name"])
            continue
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            if qemu_pid(vm) != pid:
                break
            try:
                os.kill(pid, sig)
            except OSError:
                break
            if wait_gone(vm, pid, wait):
                break
        if qemu_pid(vm) == pid:
            log("%s: qemu %d would not die" % (vm["name"], pid))
        else:
            log("%s: qemu %d killed" % (vm["name"], pid))
    left = [vm["name"] for vm in vms if qemu_pid(vm)]
    for vm in vms:
        if vm["name"] not in left:
            for key in ("overlay", "pidfile"):
                try:
                    os.unlink(vm[key])
                except OSError:
                    pass
    return left


def stop(args):
    run_dir = os.path.abspath(args.run_dir)
    vms = load_state(run_dir)
    if not vms:
        log("no VMs in %s" % run_dir)
        return 0
    left = stop_vms(run_dir, vms, graceful=not args.kill)
    if left:
        log("still running: %s" % ", ".join(left))
        return 1
    os.unlink(state_path(run_dir))
    return 0


def ssh(args):
    vms = {vm["name"]: vm for vm in load_state(os.path.abspath(args.run_dir))}
    if args.name not in vms:
        log("no VM %s" % args.name)
        return 2
    return subprocess.call(ssh_argv(vms[args.name], args.command))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action")
    p = sub.add_parser("start", help="boot the VMs and wait for SSH")
    p.add_argument("--image", required=True, help="the directory build-image.sh printed")
    p.add_argument("--run-dir", required=True)
    p.add_argument("--count", type=int, default=2)
    p.add_argument("--memory", type=int, default=1024, help="MiB per VM")
    p.add_argument("--cpu", default=os.environ.get("MYDOCKER_VM_CPU", "max"),
                   help="qemu -cpu model (default $MYDOCKER_VM_CPU, else max)")
    p.add_argument("--timeout", type=int, default=300, help="seconds to wait for SSH")
    p.add_argument("--lifetime", type=int, default=5400,
                   help="the guests power themselves off after this many seconds (a run killed with SIGKILL)")
    p = sub.add_parser("stop", help="power the VMs off; kill what does not stop")
    p.add_argument("--run-dir", required=True)
    p.add_argument("--kill", action="store_true", help="do not ask the guests to power off")
    p = sub.add_parser("ssh", help="run a command in a VM")
    p.add_argument("--run-dir", required=True)
    p.add_argument("name")
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.action is None:
        parser.print_help()
        return 2

    def terminate(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, terminate)
    return {"start": start, "stop": stop, "ssh": ssh}[args.action](args)


if __name__ == "__main__":
    sys.exit(main())
