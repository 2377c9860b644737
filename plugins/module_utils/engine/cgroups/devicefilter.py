# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cgroup v2 device controller: an eBPF ``BPF_PROG_TYPE_CGROUP_DEVICE`` program attached to
the container's cgroup, as runc's ``devicefilter`` makes it.

cgroup v2 has no devices.allow/deny files; the kernel runs the programs attached to a cgroup on
every open and mknod of a device node by its processes and refuses (EPERM) when one returns 0.
``program(rules)`` assembles, for allow rules like ``base.DEFAULT_DEVICE_RULES``::

    r2 = ctx->access_type & 0xffff      // BPF_DEVCG_DEV_BLOCK 1 / _CHAR 2
    r3 = ctx->access_type >> 16         // BPF_DEVCG_ACC_MKNOD 1 | _READ 2 | _WRITE 4
    r4 = ctx->major; r5 = ctx->minor
    for each rule:                      // a test that fails jumps to the next rule
        if r2 != type: next             (unless the type is "a")
        if r3 & access != r3: next      (unless the access is "rwm")
        if r4 != major: next            (unless "*")
        if r5 != minor: next            (unless "*")
        return 1
    return 0

``attach(path, rules)`` loads it (bpf(2) BPF_PROG_LOAD) and attaches it to the cgroup directory
(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) through ctypes. The attachment keeps the
program alive; removing the cgroup detaches and frees it.
"""

from __future__ import annotations

import errno
import os
import struct

from ..errors import MyDockerError

# Opcodes (linux/bpf_common.h, linux/bpf.h)
LDX_MEM_W = 0x61      # BPF_LDX | BPF_MEM | BPF_W
ALU_AND_K = 0x54      # BPF_ALU | BPF_AND | BPF_K   (32-bit)
ALU_RSH_K = 0x74      # BPF_ALU | BPF_RSH | BPF_K
ALU_MOV_K = 0xb4      # BPF_ALU | BPF_MOV | BPF_K
ALU_MOV_X = 0xbc      # BPF_ALU | BPF_MOV | BPF_X
JMP_JNE_K = 0x55      # BPF_JMP | BPF_JNE | BPF_K
JMP_JNE_X = 0x5d      # BPF_JMP | BPF_JNE | BPF_X
JMP_EXIT = 0x95       # BPF_JMP | BPF_EXIT

DEV_TYPE = {"b": 1, "c": 2}                  # BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR
ACCESS = {"m": 1, "r": 2, "w": 4}            # BPF_DEVCG_ACC_MKNOD, _READ, _WRITE
ACCESS_ALL = 7

BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 2
_ATTR_SIZE = 128      # larger than the fields used; the kernel wants the rest zero
_SYS_BPF = {"x86_64": 321, "aarch64": 280, "arm64": 280, "riscv64": 280, "ppc64le": 361,
            "s390x": 351, "armv7l": 386, "i686": 357}


def insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    """One struct bpf_insn: u8 code, u8 dst:4 src:4, s16 off, s32 imm (little-endian host)."""
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def _access_mask(access):
    mask = 0
    for ch in access:
        if ch not in ACCESS:
            raise MyDockerError("invalid device access %r (want r, w, m)" % (access,))
        mask |= ACCESS[ch]
    return mask


def program(rules) -> list[tuple[int, int, int, int, int]]:
    """The instructions, as (code, dst, src, off, imm), of a filter that allows ``rules``
    ((type, major, minor, access) with type "a", "b" or "c" and None for "*") and denies the rest."""
    out = [
        (LDX_MEM_W, 2, 1, 0, 0), (ALU_AND_K, 2, 0, 0, 0xFFFF),
        (LDX_MEM_W, 3, 1, 0, 0), (ALU_RSH_K, 3, 0, 0, 16),
        (LDX_MEM_W, 4, 1, 4, 0),
        (LDX_MEM_W, 5, 1, 8, 0),
    ]
    for kind, major, minor, access in rules:
        if kind != "a" and kind not in DEV_TYPE:
            raise MyDockerError("invalid device type %r (want a, b, c)" % (kind,))
        tests = []     # (code, dst, src, imm): jump to the next rule when the test holds
        if kind != "a":
            tests.append((JMP_JNE_K, 2, 0, DEV_TYPE[kind]))
        mask = _access_mask(access)
        body = []
        if mask != ACCESS_ALL:
            body += [(ALU_MOV_X, 1, 3, 0, 0), (ALU_AND_K, 1, 0, 0, mask)]
            tests.append((JMP_JNE_X, 1, 3, 0))
        if major is not None:
            tests.append((JMP_JNE_K, 4, 0, int(major)))
        if minor is not None:
            tests.append((JMP_JNE_K, 5, 0, int(minor)))
        block = []
        for code, dst, src, imm in tests:
            if code == JMP_JNE_X:      # the access test needs r1 = r3 & mask first
                block += body
            block.append([code, dst, src, None, imm])
        block += [[ALU_MOV_K, 0, 0, 0, 1], [JMP_EXIT, 0, 0, 0, 0]]
        for i, ins in enumerate(block):
            if ins[3] is None:         # off = instructions to skip to reach the next rule
                ins[3] = len(block) - i - 1
        out += [tuple(ins) for ins in block]
    out += [(ALU_MOV_K, 0, 0, 0, 0), (JMP_EXIT, 0, 0, 0, 0)]
    return out


def assemble(instructions) -> bytes:
    return b"".join(insn(code, dst, src, off, imm) for code, dst, src, off, imm in instructions)


# ---------------------------------------------------------------------------------------------
# bpf(2) through ctypes (imported here: only a cgroup v2 host's start loads a program)

def _bpf(cmd, attr):
    import ctypes
    nr = _SYS_BPF.get(os.uname().machine)
    if nr is None:
        raise MyDockerError("cgroup v2 device filter: bpf(2) syscall number unknown on %s" % os.uname().machine)
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(attr.ljust(_ATTR_SIZE, b"\0"), _ATTR_SIZE)
    ret = libc.syscall(ctypes.c_long(nr), ctypes.c_int(cmd), buf, ctypes.c_uint(_ATTR_SIZE))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return ret


def load(code: bytes) -> int:
    """BPF_PROG_LOAD a cgroup device program; returns its fd. The verifier's complaint on failure."""
    import ctypes
    insns = ctypes.create_string_buffer(code, len(code))
    gpl = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(1 << 16)

    def attr(with_log):
        return struct.pack("<IIQQIIQII16sII", BPF_PROG_TYPE_CGROUP_DEVICE, len(code) // 8,
                           ctypes.addressof(insns), ctypes.addressof(gpl),
                           1 if with_log else 0, len(log) if with_log else 0,
                           ctypes.addressof(log) if with_log else 0, 0, 0, b"mydocker_dev",
                           0, BPF_CGROUP_DEVICE)
    try:
        return _bpf(BPF_PROG_LOAD, attr(False))
    except OSError as e:
        if e.errno != errno.EACCES and e.errno != errno.EINVAL:
            raise
    try:
        return _bpf(BPF_PROG_LOAD, attr(True))
    except OSError as e:
        lines = [ln for ln in log.value.decode("ascii", "replace").splitlines() if ln.strip()]
        raise OSError(e.errno, "%s (verifier: %s)" % (e.strerror, lines[-1] if lines else "no log"))


def attach(path: str, rules) -> None:
    """Allow only ``rules`` to the processes of the cgroup v2 directory ``path``."""
    code = assemble(program(rules))
    try:
        prog = load(code)
    except OSError as e:
        raise MyDockerError("cgroup v2 device filter: cannot load the eBPF program: %s" % (e.strerror or e))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            _bpf(BPF_PROG_ATTACH, struct.pack("<IIII", fd, prog, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI))
        finally:
            os.close(fd)
    except OSError as e:
        raise MyDockerError("cgroup v2 device filter: cannot attach it to %s: %s" % (path, e.strerror or e))
    finally:
        os.close(prog)
