# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The markdown tables printed at the end (stdout)."""

from .ipam import IPAM_NET


def fmt_ms(s):
    return "%.0f" % (s * 1000) if s >= 0.1 else "%.1f" % (s * 1000)


def report(res):
    lines = []
    svc = res.get("service_status") if res.get("service") else None
    md = "mydocker (service)" if svc else "mydocker"
    if svc:
        lines.append("mydocker's commands ran through `mydocker system service`: its state root's service (pid %d, "
                     "started with `--time 0` before the timed cases, stopped before the clean-up) ran them in "
                     "processes forked from it, so no command started a fresh Python. After the timed cases: "
                     "`%s`. `image import` and `system` commands are not served: the import times are without "
                     "it. podman ran as usual." % (svc["pid"], svc["status_after_timed_cases"]))
        lines.append("")
    lines.append("Start-up time, %d runs each (after %d warm-up), milliseconds; ratio = %s / podman"
                 % (res["runs"], res["warmup"], md))
    lines.append("")
    lines.append("| case | %s median | %s p90 | podman median | podman p90 | ratio (median) "
                 "| ratio (p90) |" % (md, md))
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for key, label in res["case_labels"]:
        m = res["timing"][key]["mydocker"]
        p = res["timing"][key]["podman"]
        lines.append("| %s | %s | %s | %s | %s | %.2f | %.2f |" % (
            label, fmt_ms(m["median"]), fmt_ms(m["p90"]), fmt_ms(p["median"]), fmt_ms(p["p90"]),
            m["median"] / p["median"], m["p90"] / p["p90"]))
    if res.get("ps"):
        ps = res["ps"]
        t = ps["timing"]
        lines.append("")
        lines.append("`ps -a`, milliseconds (mydocker: exited records on disk; podman: created containers); "
                     "per container = (median with %d - median with 0) / %d:" % (ps["count"], ps["count"]))
        lines.append("")
        lines.append("| containers | %s median | %s p90 | podman median | podman p90 | ratio (median) |" % (md, md))
        lines.append("|---:|---:|---:|---:|---:|---:|")
        for k, n in (("empty", 0), ("full", ps["count"])):
            m, p = t["mydocker"][k], t["podman"][k]
            lines.append("| %d | %s | %s | %s | %s | %.2f |" % (
                n, fmt_ms(m["median"]), fmt_ms(m["p90"]), fmt_ms(p["median"]), fmt_ms(p["p90"]),
                m["median"] / p["median"]))
        per = {rt: (t[rt]["full"]["median"] - t[rt]["empty"]["median"]) / ps["count"] * 1e3 for rt in t}
        lines.append("| per container | %.3f | | %.3f | | %.2f |" % (
            per["mydocker"], per["podman"], per["mydocker"] / per["podman"] if per["podman"] else float("nan")))
    if res.get("network"):
        lines.append("")
        lines.append("Networking: " + "; ".join(
            "%s network %s (bridge %s, %s), host port %d, checked with GET %s -> %d" % (
                rt, n["network"], n["bridge"], n["subnet"], n["host_port"], n["verify_fetch"]["url"],
                n["verify_fetch"]["status"]) for rt, n in sorted(res["network"].items())))
    lines.append("")
    lines.append("Image import (once, not per container), seconds:")
    lines.append("")
    lines.append("| image | size | mydocker | podman |")
    lines.append("|---|---:|---:|---:|")
    for name, v in res["import"].items():
        lines.append("| %s | %.0f MB | %.2f | %.2f |" % (name, v["size_bytes"] / 1e6, v["mydocker"], v["podman"]))
    lines.append("")
    mem = res["memory"]
    lines.append("Memory of the per-container helper (mydocker: monitor; podman: conmon) of a running "
                 "`sleep` container, from /proc/PID/smaps_rollup, KiB:")
    lines.append("")
    lines.append("| helper | RSS | PSS | USS | RSS (%d running, median) | PSS (%d running, median) "
                 "| USS (%d running, median) |"
                 % ((mem["mydocker"]["together_count"],) * 3))
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for rt, label in (("mydocker", "mydocker monitor" + (" (started through the service)" if svc else "")),
                      ("podman", "podman conmon")):
        a, t = mem[rt]["alone"], mem[rt]["together"]
        lines.append("| %s | %d | %d | %d | %d | %d | %d |"
                     % (label, a["rss_kb"], a["pss_kb"], a["uss_kb"], t["rss_kb"], t["pss_kb"], t["uss_kb"]))
    lines.append("")
    lines.append("Floor: `python -c pass` with the same interpreter takes %s ms (median of %d)."
                 % (fmt_ms(res["python_floor"]["median"]), res["python_floor"]["n"]))
    if res.get("ipam"):
        lines.append("")
        lines.append("IP allocation on a /16 (%s) through the engine (mydocker only, no podman peer), %d runs each:"
                     % (IPAM_NET, res["ipam"][0]["locked"]["n"]))
        lines.append("")
        lines.append("| addresses taken | other networks in subnet.json | subnet.json | owners.json | owner links "
                     "| allocate+release median (ms) | p90 (ms) | in-memory allocate_in+release_in median (µs) |")
        lines.append("|---:|---|---:|---:|---:|---:|---:|---:|")
        for r in res["ipam"]:
            links = r.get("owner_links")
            lines.append("| %d | %s | %s | %s | %s | %.2f | %.2f | %.1f |" % (
                r["fill"], r["others"], _size(r["subnet_json_bytes"]), _size(r["owners_json_bytes"]),
                "-" if links is None else links,
                r["locked"]["median"] * 1e3, r["locked"]["p90"] * 1e3, r["pure"]["median"] * 1e6))
    return "\n".join(lines)


def _size(n):
    return "%d B" % n if n < 10000 else ("%.0f kB" % (n / 1e3) if n < 1e6 else "%.1f MB" % (n / 1e6))
