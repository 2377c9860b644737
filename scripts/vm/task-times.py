#!/usr/bin/env python
# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Summarise the task times of a molecule run from the JUnit files of ansible.builtin.junit.

    task-times.py JUNIT_DIR [--top 15]
    molecule test -s vm 2>&1 | task-times.py --tee LOG    # the wall time of each molecule step

ansible-core has no profile_tasks callback (that one is in ansible.posix); its junit callback
records, for every task and host, the seconds from the task's start to that host's result. This
prints, per playbook run (in the order they ran), the number of tasks, the sum of the per-task
times on the slowest host, and the cost of the tasks that run a module in the VMs (those taking
over half a second: JUnit does not name the action), then the slowest tasks overall.

With ``--tee LOG`` it copies its input to stdout and to LOG (each line prefixed with the seconds
since the start) and prints, at the end, the wall time of each molecule step, from molecule's
"<scenario> ➜ <step>: Executing" and "Executed" lines.
"""

import argparse
import io
import os
import re
import sys
import time
import xml.etree.ElementTree as ET

NAME = re.compile(r"^\[(?P<host>[^\]]+)\] (?P<play>[^:]*): (?P<task>.*)$")
# JUnit records no action name. A task that runs a module in an emulated VM takes more than a
# second; one the controller does alone (debug, assert, set_fact, include_tasks) takes
# milliseconds: the line between them.
REMOTE_SECONDS = 0.5


def runs(junit_dir):
    files = [os.path.join(junit_dir, f) for f in os.listdir(junit_dir) if f.endswith(".xml")]
    files.sort(key=os.path.getmtime)
    for path in files:
        playbook = re.sub(r"-[0-9.]+\.xml$", "", os.path.basename(path))
        cases = []
        for case in ET.parse(path).getroot().iter("testcase"):
            m = NAME.match(case.get("name", ""))
            if not m:
                continue
            skipped = case.find("skipped") is not None
            cases.append({
                "host": m.group("host"),
                "task": m.group("task"),
                "where": case.get("classname", ""),
                "time": float(case.get("time") or 0),
                "skipped": skipped,
            })
        yield playbook, path, cases


def label_runs(all_runs):
    """molecule runs converge.yml for converge, idempotence and check: name them so."""
    seen = {}
    names = {"converge": ["converge", "idempotence", "check (converge --check)"], "destroy": ["destroy", "destroy"]}
    for playbook, path, cases in all_runs:
        n = seen.get(playbook, 0)
        seen[playbook] = n + 1
        known = names.get(playbook, [playbook])
        label = known[n] if n < len(known) else "%s #%d" % (playbook, n + 1)
        yield label, cases


STEP = re.compile(r"\S+ \u279c (?P<step>[a-z_]+): (?P<what>Executing|Executed)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def tee(log_path):
    """Copy stdin to stdout and LOG; then print the wall time of each molecule step."""
    start = time.time()
    steps = []
    current = None
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    with open(log_path, "w") as log:
        for line in stdin:
            now = time.time()
            sys.stdout.write(line)
            sys.stdout.flush()
            log.write("[%7.1f] %s" % (now - start, ANSI.sub("", line)))
            m = STEP.search(ANSI.sub("", line))
            if m and m.group("what") == "Executing":
                current = (m.group("step"), now)
            elif m and current and m.group("step") == current[0]:
                steps.append((current[0], now - current[1], ANSI.sub("", line).split(": Executed: ", 1)[-1].strip()))
                current = None
    total = time.time() - start
    print()
    print("| molecule step | seconds | result |")
    print("|---|---|---|")
    for step, seconds, result in steps:
        print("| %s | %.1f | %s |" % (step, seconds, result))
    print("| (whole `molecule test`) | %.1f | |" % total)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("junit_dir", nargs="?")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--tee", metavar="LOG", help="copy stdin to stdout and LOG, then print the step times")
    args = parser.parse_args(argv)
    if args.tee:
        return tee(args.tee)
    if not args.junit_dir:
        parser.error("JUNIT_DIR or --tee LOG is needed")
    if not os.path.isdir(args.junit_dir):
        sys.stderr.write("no JUnit directory %s\n" % args.junit_dir)
        return 1
    slowest = []
    print("| step | tasks | sum of task times (slowest host) | module tasks run in the VMs | mean per module task |")
    print("|---|---|---|---|---|")
    for label, cases in label_runs(runs(args.junit_dir)):
        hosts = sorted(set(c["host"] for c in cases))
        per_host = {h: sum(c["time"] for c in cases if c["host"] == h) for h in hosts}
        remote = [c for c in cases if c["host"] != "localhost" and not c["skipped"]]
        tasks = len(set((c["where"], c["task"]) for c in cases))
        # the time of a task is the time of its slowest host (forks run the hosts in parallel)
        by_task = {}
        for c in remote:
            key = (c["where"], c["task"])
            by_task[key] = max(by_task.get(key, 0.0), c["time"])
        module_tasks = {k: v for k, v in by_task.items() if v >= REMOTE_SECONDS}
        mean = sum(module_tasks.values()) / len(module_tasks) if module_tasks else 0.0
        print("| %s | %d | %.1f s | %d | %.2f s |" % (label, tasks, max(per_host.values()) if per_host else 0.0,
                                                      len(module_tasks), mean))
        for (where, task), t in by_task.items():
            slowest.append((t, label, task, where))
    slowest.sort(reverse=True)
    print()
    print("Slowest tasks (time of the slowest host):")
    print()
    print("| seconds | step | task |")
    print("|---|---|---|")
    for t, label, task, where in slowest[:args.top]:
        print("| %.1f | %s | %s |" % (t, label, task))
    return 0


if __name__ == "__main__":
    sys.exit(main())
