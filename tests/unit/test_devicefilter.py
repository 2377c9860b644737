"""The cgroup v2 eBPF device filter: the instructions it generates, their encoding, and what
they decide, run through a small interpreter of the opcodes used. (Loading and attaching them
needs root and a cgroup2 mount: tests/system/test_devicefilter_real.py.)"""
import itertools
import struct

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine.cgroups import base
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.cgroups import devicefilter as D
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError

PROLOGUE = [(0x61, 2, 1, 0, 0), (0x54, 2, 0, 0, 0xFFFF), (0x61, 3, 1, 0, 0), (0x74, 3, 0, 0, 16),
            (0x61, 4, 1, 4, 0), (0x61, 5, 1, 8, 0)]
DENY = [(0xb4, 0, 0, 0, 0), (0x95, 0, 0, 0, 0)]
ALLOW = [(0xb4, 0, 0, 0, 1), (0x95, 0, 0, 0, 0)]


def run(code, dev_type, access, major, minor):
    """Execute an assembled program on a bpf_cgroup_dev_ctx; returns r0."""
    ctx = struct.pack("<III", (access << 16) | dev_type, major, minor)
    regs = [0] * 11
    pc = 0
    steps = 0
    while True:
        steps += 1
        assert steps < 10000
        op, regbyte, off, imm = struct.unpack_from("<BBhi", code, pc * 8)
        dst, src = regbyte & 0xF, regbyte >> 4
        pc += 1
        if op == 0x61:
            assert src == 1
            regs[dst] = struct.unpack_from("<I", ctx, off)[0]
        elif op == 0x54:
            regs[dst] = regs[dst] & (imm & 0xFFFFFFFF)
        elif op == 0x74:
            regs[dst] = (regs[dst] & 0xFFFFFFFF) >> imm
        elif op == 0xb4:
            regs[dst] = imm & 0xFFFFFFFF
        elif op == 0xbc:
            regs[dst] = regs[src] & 0xFFFFFFFF
        elif op == 0x55:
            if regs[dst] != (imm & 0xFFFFFFFFFFFFFFFF):
                pc += off
        elif op == 0x5d:
            if regs[dst] != regs[src]:
                pc += off
        elif op == 0x95:
            return regs[0]
        else:
            raise AssertionError("unexpected opcode %#x" % op)


def allowed_by_rules(rules, dev_type, access, major, minor):
    kinds = {1: "b", 2: "c"}
    for kind, ma, mi, acc in rules:
        mask = sum(D.ACCESS[ch] for ch in acc)
        if (kind in ("a", kinds[dev_type]) and access & mask == access
                and ma in (None, major) and mi in (None, minor)):
            return 1
    return 0


def test_encoding():
    assert D.insn(0x61, 2, 1, 0, 0) == bytes([0x61, 0x12, 0, 0, 0, 0, 0, 0])
    assert D.insn(0x55, 4, 0, 3, 136) == bytes([0x55, 0x04, 3, 0, 136, 0, 0, 0])
    assert D.insn(0x54, 2, 0, 0, 0xFFFF) == bytes([0x54, 0x02, 0, 0, 0xFF, 0xFF, 0, 0])
    assert len(D.assemble(D.program(base.DEFAULT_DEVICE_RULES))) == 8 * len(D.program(base.DEFAULT_DEVICE_RULES))


def test_no_rules_denies_everything():
    assert D.program([]) == PROLOGUE + DENY


def test_one_exact_rule():
    # c 1:3 rwm: type, major, minor tests jump past the 5-instruction block; no access test
    assert D.program([("c", 1, 3, "rwm")]) == PROLOGUE + [
        (0x55, 2, 0, 4, 2), (0x55, 4, 0, 3, 1), (0x55, 5, 0, 2, 3)] + ALLOW + DENY


def test_access_and_wildcards():
    # c *:* m: type test, then r1 = r3 & 1; if r1 != r3 skip
    assert D.program([("c", None, None, "m")]) == PROLOGUE + [
        (0x55, 2, 0, 5, 2), (0xbc, 1, 3, 0, 0), (0x54, 1, 0, 0, 1), (0x5d, 1, 3, 2, 0)] + ALLOW + DENY
    # a *:* rwm allows everything
    assert D.program([("a", None, None, "rwm")]) == PROLOGUE + ALLOW + DENY
    # c 136:* rwm
    assert D.program([("c", 136, None, "rwm")]) == PROLOGUE + [
        (0x55, 2, 0, 3, 2), (0x55, 4, 0, 2, 136)] + ALLOW + DENY


def test_rules_are_validated():
    with pytest.raises(MyDockerError, match="invalid device type 'x'"):
        D.program([("x", 1, 3, "rwm")])
    with pytest.raises(MyDockerError, match="invalid device access 'rx'"):
        D.program([("c", 1, 3, "rx")])


@pytest.mark.parametrize("rules", [base.DEFAULT_DEVICE_RULES, [], [("a", None, None, "rwm")],
                                   [("b", 8, None, "r"), ("c", None, 7, "w")]])
def test_program_decides_like_the_rules(rules):
    code = D.assemble(D.program(rules))
    majors_minors = [(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (1, 11), (5, 0), (5, 1), (5, 2), (136, 0),
                     (136, 17), (10, 183), (8, 0), (8, 7), (4, 7)]
    for (major, minor), dev_type, access in itertools.product(majors_minors, (1, 2), range(1, 8)):
        want = allowed_by_rules(rules, dev_type, access, major, minor)
        assert run(code, dev_type, access, major, minor) == want, (dev_type, access, major, minor)


def test_default_rules_decisions():
    code = D.assemble(D.program(base.DEFAULT_DEVICE_RULES))
    READ, WRITE, MKNOD = 2, 4, 1
    CHAR, BLOCK = 2, 1
    assert run(code, CHAR, READ, 10, 183) == 0           # /dev/hwrng: no read
    assert run(code, CHAR, MKNOD, 10, 183) == 1          # ... but mknod
    assert run(code, BLOCK, MKNOD, 8, 0) == 1
    assert run(code, BLOCK, READ | WRITE, 8, 0) == 0     # a host disk
    assert run(code, CHAR, READ | WRITE, 1, 3) == 1      # /dev/null
    assert run(code, CHAR, READ | WRITE, 136, 5) == 1    # /dev/pts/5
    assert run(code, CHAR, READ | MKNOD, 1, 11) == 0     # /dev/kmsg
