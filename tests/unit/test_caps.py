# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capability names and sets (engine/caps.py), and the init cutting them in runc's order
(engine/procopts.cut_capabilities through the recording syscall fake)."""
import errno

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import caps, procopts
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.syscalls import (
    DEFAULT_CAPS,
    PR_CAP_AMBIENT,
    PR_CAPBSET_DROP,
)
from ansible_collections.mydocker.runtime.tests.unit.fakes import RecordingSyscalls
from ansible_collections.mydocker.runtime.tests.unit.test_process_init import recorder  # noqa: F401,F811 pylint: disable=unused-import

FOURTEEN = set(DEFAULT_CAPS.values())


@pytest.mark.parametrize("name, want", [
    ("net_admin", "CAP_NET_ADMIN"), ("NET_ADMIN", "CAP_NET_ADMIN"), ("CAP_NET_ADMIN", "CAP_NET_ADMIN"),
    (" cap_sys_time ", "CAP_SYS_TIME"), ("all", "ALL"), ("ALL", "ALL"), ("bpf", "CAP_BPF"),
])
def test_names_with_or_without_cap_in_any_case(name, want):
    assert caps.normalize_cap(name) == want


@pytest.mark.parametrize("name", ["foo", "CAP_FOO", "", None, 12, "NET ADMIN"])
def test_an_unknown_capability_is_one_line_naming_the_option(name):
    with pytest.raises(MyDockerError) as e:
        caps.normalize_cap(name, "--cap-drop")
    assert str(e.value).startswith("--cap-drop: ") and "\n" not in str(e.value)


def test_kernel_numbers():
    assert caps.CAP_NUMBERS["CAP_CHOWN"] == 0 and caps.CAP_NUMBERS["CAP_SYS_ADMIN"] == 21
    assert caps.CAP_NUMBERS["CAP_CHECKPOINT_RESTORE"] == 40 and len(caps.CAP_NUMBERS) == 41
    for name, number in DEFAULT_CAPS.items():
        assert caps.CAP_NUMBERS[name] == number


def test_parse_caps_sorts_and_removes_repeats():
    assert caps.parse_caps(["net_admin", "CAP_NET_ADMIN", "chown"]) == ["CAP_CHOWN", "CAP_NET_ADMIN"]
    assert caps.parse_caps("net_admin,sys_time") == ["CAP_NET_ADMIN", "CAP_SYS_TIME"]
    assert caps.parse_caps(None) == []


def test_sets_as_dockers_tweak_capabilities():
    assert caps.capability_set() == FOURTEEN
    assert caps.capability_set(["NET_ADMIN"], ["CHOWN"]) == FOURTEEN - {0} | {12}
    assert caps.capability_set(["ALL"], ["SYS_ADMIN"], last_cap=40) == set(range(41)) - {21}
    assert caps.capability_set(["NET_RAW"], ["ALL"]) == {13}
    assert caps.capability_set(None, ["ALL"]) == set()
    assert caps.capability_set(None, None, privileged=True, last_cap=37) == set(range(38))
    # a runtime without some capability cannot give it: ALL and privileged mean what it has
    assert caps.capability_set(["ALL"], None, last_cap=5, available={0, 1, 2, 7}) == {0, 1, 2}
    assert caps.capability_set(privileged=True, last_cap=40, available={3}) == {3}


def test_bounding_set_from_status(tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tx\nCapBnd:\t00000000a80425fb\n")
    assert caps.bounding_set(str(status)) == FOURTEEN
    assert caps.bounding_set(str(tmp_path / "missing")) is None
    assert caps.names_of({0, 12}) == ["CAP_CHOWN", "CAP_NET_ADMIN"]


def _status(tmp_path, mask=(1 << 41) - 1):
    p = tmp_path / "status"
    p.write_text("CapBnd:\t%016x\n" % mask)
    return str(p)


def test_cut_without_options_is_the_old_sequence():
    fake = RecordingSyscalls(last_cap=40)
    order = []
    procopts.cut_capabilities({}, fake, lambda: order.append(len(fake.calls)))
    assert fake.named("capset")[0]["mask"] == sum(1 << c for c in FOURTEEN)
    assert order == [len(fake.calls)]  # the user switch after the capset, as before


def test_cut_as_root_bounding_first_then_user_then_capset(monkeypatch, tmp_path):
    monkeypatch.setattr(caps, "bounding_set", lambda status_file=None: set(range(41)))
    fake = RecordingSyscalls(last_cap=40)
    spec = {"capAdd": ["CAP_NET_ADMIN"], "capDrop": ["CAP_CHOWN"]}

    def become():
        fake.mark("become")
        return 0
    procopts.cut_capabilities(spec, fake, become)
    keep = FOURTEEN - {0} | {12}
    dropped = [c["arg2"] for c in fake.named("prctl") if c["option"] == PR_CAPBSET_DROP]
    assert set(dropped) == set(range(41)) - keep
    names = [c.name for c in fake.calls]
    assert names.index("become") > max(i for i, c in enumerate(fake.calls) if c.name == "prctl")
    assert names[-1] == "capset" and fake.calls[-1]["mask"] == sum(1 << c for c in keep)
    assert any(c["option"] == PR_CAP_AMBIENT for c in fake.named("prctl"))


def test_cut_for_another_uid_leaves_no_capset(monkeypatch):
    monkeypatch.setattr(caps, "bounding_set", lambda status_file=None: set(range(41)))
    fake = RecordingSyscalls(last_cap=40)
    procopts.cut_capabilities({"capDrop": ["ALL"]}, fake, lambda: 1000)
    assert not fake.named("capset")  # setresuid to 1000 cleared them, as in Docker
    assert len([c for c in fake.named("prctl") if c["option"] == PR_CAPBSET_DROP]) == 41


def test_a_failing_capset_in_the_cut_is_not_swallowed(monkeypatch):
    monkeypatch.setattr(caps, "bounding_set", lambda status_file=None: None)
    fake = RecordingSyscalls(last_cap=40)
    fake.fail("capset", errno.EPERM)
    with pytest.raises(OSError):
        procopts.cut_capabilities({"privileged": True}, fake, lambda: None)


def test_the_init_cuts_the_recorded_set_after_the_user_switch(tmp_path, monkeypatch, recorder):  # noqa: F811
    """spawn with capAdd/groupAdd through the fake: bounding drops, then setgroups (with the added
    gid), setresuid, then the capset of the computed set, then the exec."""
    from ansible_collections.mydocker.runtime.tests.unit import test_process_init as T
    monkeypatch.setattr(caps, "bounding_set", lambda status_file=None: set(range(41)))
    root = tmp_path / "merged"
    (root / "proc").mkdir(parents=True)
    spec = T._spec(str(root), user="0:0", capAdd=["CAP_NET_ADMIN"], groupAdd=["4321"])
    run = T._spawn(tmp_path, recorder, spec, RecordingSyscalls(last_cap=40))
    assert isinstance(run, T.Run), run
    assert run.named("setgroups")[0]["gids"][-1] == 4321
    i_uid = run.index("setresuid", ruid=0)
    i_capset = run.index("capset")
    assert max(i for i, (n, a) in enumerate(run.calls) if n == "prctl" and a["option"] == PR_CAPBSET_DROP) < i_uid
    assert i_uid < i_capset < run.index("exec")
    assert run.named("capset")[0]["mask"] == sum(1 << c for c in FOURTEEN | {12})
