# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IP allocation on a /16 straight through mydocker's engine (no podman peer)."""

import importlib.util
import ipaddress
import os
import shutil
import sys
import tempfile
import time

from .common import REPO, BenchError, log, stats


def import_ipam(base):
    """The engine's IPAM module, made importable by scripts/collection_path.py as for bin/mydocker
    and tests/conftest.py: when the checkout is in no collections tree, through a symlink
    ansible_collections/mydocker/runtime -> this checkout inside the temporary directory."""
    spec = importlib.util.spec_from_file_location("mydocker_collection_path",
                                                  os.path.join(REPO, "scripts", "collection_path.py"))
    helper = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helper)
    saved = list(sys.path)
    helper.use(REPO, base=os.path.join(base, "collections"))
    try:
        from ansible_collections.mydocker.runtime.plugins.module_utils.engine import store as state
        from ansible_collections.mydocker.runtime.plugins.module_utils.engine.net import ipam
    finally:
        sys.path[:] = saved
    return ipam, state


IPAM_NET = "10.0.0.0/16"


def _owner_links(ipam, paths):
    """Owner links (one per address, ipam.owners_dir) of an engine that has them, else None."""
    if not hasattr(ipam, "owners_dir"):
        return None
    d = ipam.owners_dir(paths)
    return sum(len(os.listdir(os.path.join(d, n))) for n in os.listdir(d)) if os.path.isdir(d) else 0


def _index_bytes(paths):
    """Size of the offset index of an engine that has one (net/ipamstore.py), else None."""
    path = os.path.join(os.path.dirname(paths.ipam_dir), "ipam-index.json")
    return os.path.getsize(path) if os.path.exists(path) else None


def ipam_others(kind):
    if kind == "/24":
        return ["10.200.%d.0/24" % i for i in range(100)]
    if kind == "/16":
        return ["10.%d.0.0/16" % i for i in range(1, 101)]
    return []


def measure_ipam(base, reps, fills=(0, 1000, 10000, 60000), others_kinds=("", "/24", "/16")):
    """IP allocation on a /16 straight through the engine (no container, no netlink, no podman peer:
    podman's IPAM is not comparable from the outside). For each fill level (addresses taken, the
    first ones after the gateway, each with an owner in owners.json as real containers would have)
    and 0 or 100 other networks in subnet.json: time one locked ipam.allocate() + ipam.release()
    (as `run --net` and `rm` do them: under the lock, with owner links; an engine with
    net/ipamstore.py changes the one byte in place, an older one reads and rewrites the whole file
    with fsync) and, apart, the pure in-memory allocate_in() + release_in() on the loaded dict.
    After the cycles subnet.json must hold the very bytes it held before them (every other
    network's string untouched); ``in_place`` tells whether it is still the same file (inode)."""
    ipam, state = import_ipam(base)
    net = ipam.parse_subnet(IPAM_NET)
    gw = ipam.default_gateway(net)
    first = int(net.network_address)
    out = []
    for kind in others_kinds:
        for fill in fills:
            root = tempfile.mkdtemp(prefix="ipam-", dir=base)
            paths = state.Paths(root)
            paths.ensure()
            data = {}
            for o in ipam_others(kind):
                on = ipam.parse_subnet(o)
                ipam.reserve_subnet_in(data, on, ipam.default_gateway(on))
            ipam.reserve_subnet_in(data, net, gw)
            bits = data[str(net)]
            data[str(net)] = bits[:2] + "1" * fill + bits[2 + fill:]   # index 1 is the gateway
            owners = {str(net): {str(ipaddress.IPv4Address(first + 2 + i)): "%010d" % i for i in range(fill)}}
            ipam.save(paths, data)
            ipam.save_owners(paths, owners)
            expect = str(ipaddress.IPv4Address(first + 2 + fill))
            with open(paths.ipam_file, "rb") as f:
                start_bytes = f.read()
            start_ino = os.stat(paths.ipam_file).st_ino
            locked = []
            for r in range(reps + 3):  # 3 warm-up
                t0 = time.perf_counter()
                ip = ipam.allocate(paths, net, owner="bench")
                ipam.release(paths, net, ip, owner="bench")
                dt = time.perf_counter() - t0
                if ip != expect:
                    raise BenchError("ipam: allocated %s, expected the first free address %s" % (ip, expect))
                if r >= 3:
                    locked.append(dt)
            with open(paths.ipam_file, "rb") as f:
                if f.read() != start_bytes:
                    raise BenchError("ipam: subnet.json differs after the allocate/release cycles")
            in_place = os.stat(paths.ipam_file).st_ino == start_ino
            d = ipam.load(paths)
            pure = []
            for r in range(reps):
                t0 = time.perf_counter()
                a = ipam.allocate_in(d, net)
                ipam.release_in(d, net, a)
                pure.append(time.perf_counter() - t0)
            if ipam.free_count_in(ipam.load(paths), net) != net.num_addresses - 3 - fill:
                raise BenchError("ipam: wrong free count after the allocate/release cycles")
            out.append({"fill": fill, "others": ("100 x " + kind) if kind else "none",
                        "subnet_json_bytes": os.path.getsize(paths.ipam_file),
                        "owners_json_bytes": os.path.getsize(ipam.owners_file(paths)),
                        "owner_links": _owner_links(ipam, paths),
                        "index_bytes": _index_bytes(paths),
                        "in_place": in_place,
                        "locked": stats(locked), "pure": stats(pure),
                        "samples_s": {"locked": locked, "pure": pure}})
            shutil.rmtree(root)
            log("ipam: /16 with %d taken, other networks: %s: allocate+release %.2f ms (pure %.1f us)%s"
                % (fill, out[-1]["others"], out[-1]["locked"]["median"] * 1e3, out[-1]["pure"]["median"] * 1e6,
                   ", in place" if in_place else ", whole file rewritten"))
    return out
