"""IPAM's file layer (net/ipamstore.py): subnet.json changed one byte in place, found through an
index that is checked against the bytes; the Go tool's files taken over as they are."""
import ipaddress
import json
import os
import random

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import ipam, ipamstore
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.store import Paths

NET = ipaddress.ip_network("10.0.0.0/16")
GW = ipaddress.ip_address("10.0.0.1")
OTHERS = [ipaddress.ip_network("10.%d.0.0/16" % i) for i in range(1, 6)] + \
    [ipaddress.ip_network("10.200.%d.0/24" % i) for i in range(5)]


def compact(data):
    """What store.write_json always wrote for ``data`` (the bytes subnet.json must keep)."""
    return (json.dumps(data, indent=None, separators=(",", ":"), sort_keys=False) + "\n").encode()


def raw(paths):
    with open(paths.ipam_file, "rb") as f:
        return f.read()


def ino(paths):
    return os.stat(paths.ipam_file).st_ino


@pytest.fixture
def paths(tmp_path):
    p = Paths(str(tmp_path))
    p.ensure()
    return p


def many(paths):
    """NET between other networks (so its string sits in the middle of the file)."""
    for n in OTHERS[:3]:
        ipam.reserve_subnet(paths, n, n.network_address + 1)
    ipam.reserve_subnet(paths, NET, GW)
    for n in OTHERS[3:]:
        ipam.reserve_subnet(paths, n, n.network_address + 1)


def no_whole_file(monkeypatch):
    """Any read or write of the whole file fails the test."""
    def boom(*a, **k):
        raise AssertionError("the whole subnet.json was read or written")
    monkeypatch.setattr(ipam, "load", boom)
    monkeypatch.setattr(ipam, "save", boom)
    monkeypatch.setattr(ipamstore, "write", boom)


def test_encode_is_write_json_with_offsets():
    data = {"10.0.0.0/30": "1101", "x": "ab\u00e9\"", "y": 5, "192.168.0.0/24": "1" * 256, "e": ""}
    text, at = ipamstore.encode(data)
    assert text.encode() == compact(data)
    assert sorted(at) == ["10.0.0.0/30", "192.168.0.0/24", "e"]  # strings of '0'/'1' only
    for k, (off, n) in at.items():
        assert text[off:off + n] == data[k] and text[off - 1] == '"' and text[off + n] == '"'


def test_allocate_release_in_place_never_touch_other_networks(paths, monkeypatch):
    many(paths)
    before = json.loads(raw(paths))
    i0, size = ino(paths), len(raw(paths))
    no_whole_file(monkeypatch)
    a = ipam.allocate(paths, NET, owner="1111111111", reserved=(GW,))
    b = ipam.allocate(paths, NET, "10.0.7.9", owner="2222222222", reserved=(GW,))
    assert (a, b) == ("10.0.0.2", "10.0.7.9")
    assert ipam.allocate(paths, NET, a, owner="1111111111") == a  # its own address back
    assert ipam.release(paths, NET, a, owner="1111111111")
    assert not ipam.release(paths, NET, a)  # free already
    assert (ino(paths), len(raw(paths))) == (i0, size)  # the same file, changed where it is
    monkeypatch.undo()
    want = dict(before)
    ipam.allocate_in(want, NET, "10.0.7.9")
    assert raw(paths) == compact(want)  # byte for byte what the whole write would have made
    assert ipam.load_owners(paths) == {str(NET): {b: "2222222222"}}


def test_random_changes_keep_the_write_json_bytes(paths):
    many(paths)
    ref = json.loads(raw(paths))
    rnd = random.Random(13)
    held = {}
    nets = [NET] + OTHERS
    for step in range(300):
        n = rnd.choice(nets)
        mine = held.setdefault(str(n), [])
        if mine and rnd.random() < 0.45:
            ip = mine.pop(rnd.randrange(len(mine)))
            assert ipam.release(paths, n, ip, owner="c%d" % step) is False  # not its holder
            assert ipam.release(paths, n, ip)
            ipam.release_in(ref, n, ip)
        else:
            ip = ipam.allocate(paths, n, owner="c%d" % step, reserved=(n.network_address + 1,))
            assert str(ipam.allocate_in(ref, n, reserved=(n.network_address + 1,))) == ip
            mine.append(ip)
        assert raw(paths) == compact(ref), step
    assert ipam.load(paths) == ref


def test_go_tool_file_taken_over_as_it_is(paths):
    # the Go tool's layout: keys sorted, no newline at the end; a short string for the /24
    go = {str(NET): "11" + "0" * 65533 + "1", "10.200.0.0/24": "1110"}
    with open(paths.ipam_file, "w") as f:
        f.write(json.dumps(go, sort_keys=True, separators=(",", ":")))
    assert ipam.allocate(paths, NET, owner="1111111111") == "10.0.0.2"
    assert ipam.allocate(paths, OTHERS[5], owner="1111111111") == "10.200.0.3"
    got = json.loads(raw(paths))
    assert list(got) == sorted(go)  # the Go tool's order kept
    assert got[str(NET)] == "111" + "0" * 65532 + "1"
    assert got["10.200.0.0/24"] == "1111" + "0" * 251 + "1"  # padded to the full /24
    # from now on in place
    i0 = ino(paths)
    assert ipam.allocate(paths, NET) == "10.0.0.3"
    assert ipam.release(paths, OTHERS[5], "10.200.0.3")
    assert ino(paths) == i0


def test_go_tool_edits_while_we_were_away(paths):
    many(paths)
    ipam.allocate(paths, NET, owner="1111111111")  # index written, 10.0.0.2 taken
    data = json.loads(raw(paths))
    # the Go tool rewrites the file where it is (same inode, same size): its key order, and
    # .3 taken by a container of its own
    data[str(NET)] = ipam._set(data[str(NET)], 3, "1")
    i0 = ino(paths)
    with open(paths.ipam_file, "r+") as f:
        f.write(json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n")
    assert ino(paths) == i0 and len(raw(paths)) == len(compact(data))
    assert ipam.allocate(paths, NET, owner="2222222222") == "10.0.0.4"
    assert ipam.release(paths, NET, "10.0.0.2")
    want = dict(data)
    want[str(NET)] = ipam._set(ipam._set(want[str(NET)], 4, "1"), 2, "0")
    assert json.loads(raw(paths)) == want  # every other network's string as the Go tool left it


def test_go_tool_flips_a_bit_in_our_layout(paths):
    many(paths)
    ipam.allocate(paths, NET)
    data = json.loads(raw(paths))
    data[str(NET)] = ipam._set(data[str(NET)], 3, "1")
    with open(paths.ipam_file, "r+") as f:
        f.write(compact(data).decode())
    assert ipam.allocate(paths, NET) == "10.0.0.4"  # read fresh: never the Go tool's .3


@pytest.mark.parametrize("damage", ["missing", "garbage", "shifted", "other-subnet", "wrong-length"])
def test_lost_stale_or_wrong_index_never_writes_a_wrong_byte(paths, damage):
    many(paths)
    ipam.allocate(paths, NET)
    ref = json.loads(raw(paths))
    idx_path = ipamstore.index_file(paths)
    idx = json.load(open(idx_path))
    if damage == "missing":
        os.unlink(idx_path)
    elif damage == "garbage":
        open(idx_path, "w").write("{not json")
    else:
        off, n = idx["at"][str(NET)]
        idx["at"][str(NET)] = {"shifted": [off + 1, n], "other-subnet": idx["at"][str(OTHERS[0])],
                               "wrong-length": [off, n - 1]}[damage]
        json.dump(idx, open(idx_path, "w"))
    assert ipamstore.open_slot(paths, str(NET)) is None
    assert ipam.allocate(paths, NET) == "10.0.0.3"
    ipam.allocate_in(ref, NET)
    assert raw(paths) == compact(ref)
    assert ipamstore.open_slot(paths, str(NET)) is not None  # the slow call wrote a good index


def test_crash_between_bit_and_owner_never_hands_out_twice(paths, monkeypatch):
    many(paths)

    def crash(*a, **k):
        raise OSError("power cut")
    monkeypatch.setattr(ipam, "_set_holder", crash)
    with pytest.raises(OSError):
        ipam.allocate(paths, NET, owner="1111111111")
    monkeypatch.undo()
    # the bit is on disk without an owner (prune's case); the next container gets another address
    assert ipam.is_taken_in(ipam.load(paths), NET, ipaddress.ip_address("10.0.0.2"))
    assert ipam.load_owners(paths) == {}
    assert ipam.allocate(paths, NET, owner="2222222222") == "10.0.0.3"


def test_drop_and_reserve_keep_the_index_right(paths):
    many(paths)
    ipam.drop_subnet(paths, OTHERS[0])  # everything after it moves
    i0 = ino(paths)
    assert ipam.allocate(paths, NET) == "10.0.0.2"
    assert ino(paths) == i0
    ipam.reserve_subnet(paths, OTHERS[0], OTHERS[0].network_address + 1)  # back, at the end
    assert list(json.loads(raw(paths)))[-1] == str(OTHERS[0])
    assert ipam.allocate(paths, OTHERS[0]) == "10.1.0.2"
    assert ipam.allocate(paths, NET) == "10.0.0.3"
    ipam.drop_subnet(paths, NET)
    assert ipamstore.open_slot(paths, str(NET)) is None
    assert ipam.allocate(paths, NET, reserved=(GW,)) == "10.0.0.2"  # a string of its own again


def test_unmarked_gateway_takes_the_slow_way_once(paths):
    data = ipam.reserve_subnet_in({}, NET, GW)
    data[str(NET)] = ipam._set(data[str(NET)], 1, "0")  # as a Go file that never marked it
    ipam.save(paths, data)
    i0 = ino(paths)
    assert ipam.allocate(paths, NET, reserved=(GW,)) == "10.0.0.2"
    assert ino(paths) != i0 and json.loads(raw(paths))[str(NET)].startswith("1110")
    i1 = ino(paths)
    assert ipam.allocate(paths, NET, reserved=(GW,)) == "10.0.0.3"
    assert ino(paths) == i1


def test_an_index_that_cannot_be_written_fails_nothing(paths, monkeypatch):
    many(paths)

    def full(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(ipamstore, "_write_index", full)
    ipam.drop_subnet(paths, OTHERS[0])  # a whole write: the old index must not stay
    assert not os.path.exists(ipamstore.index_file(paths))
    assert ipam.allocate(paths, NET) == "10.0.0.2"
    monkeypatch.undo()
    assert ipam.allocate(paths, NET) == "10.0.0.3"  # slow once, writing the index
    assert ipamstore.open_slot(paths, str(NET)) is not None
