"""The action plugins' in-process path against the ordinary module path, with ansible-playbook
itself: the same playbook (a network, containers with a published port, a memory limit and env,
an info task) first run, rerun, --check with a memory change, and applied, once in Ansible's worker
process and once through the module path (MYDOCKER_IN_PROCESS=0); same changes, same diffs,
same answers, the web server reached on its container IP, and the limit in the container's cgroup.
Only the bridges and subnets of the test's own (netfix.Nets), loopback ports picked free."""
import json
import os
import socket
import subprocess
import sys
import urllib.request

import pytest
from netfix import nets  # noqa: F401 (the fixture) pylint: disable=unused-import

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import errors as _errors

PLAYBOOK = os.path.dirname(sys.executable) + "/ansible-playbook"
BASE = os.path.abspath(_errors.__file__).split(os.sep + "ansible_collections" + os.sep)[0]

PLAY = """\
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/mydocker.runtime.mydocker:
      root: "{{ root }}"
  tasks:
    - name: The network
      mydocker.runtime.mydocker_network:
        name: "{{ net }}"
        subnet: "{{ subnet }}"
      register: r_net
    - name: The containers
      mydocker.runtime.mydocker_container:
        name: "{{ item.name }}"
        image: busybox
        command: [httpd, -f, -p, "8000", -h, /www]
        volumes: ["{{ www }}:/www:ro"]
        network: "{{ net }}"
        published_ports: ["127.0.0.1:{{ item.port }}:8000"]
        memory: "{{ mem }}"
        env: {WHO: "{{ item.name }}"}
        stop_timeout: 0
      loop: "{{ containers }}"
      register: r_ct
    - name: One of them
      mydocker.runtime.mydocker_container_info:
        name: "{{ containers[0].name }}"
      register: r_info
    - name: A bad option changes nothing and says what was wrong
      mydocker.runtime.mydocker_volume:
        name: never
        colour: blue
      register: r_bad
      ignore_errors: true
    - name: What the tasks said
      ansible.builtin.copy:
        dest: "{{ out }}"
        content: "{{ {'net': r_net, 'ct': r_ct.results, 'info': r_info, 'bad': r_bad} | to_json }}"
        mode: "0600"
      check_mode: false
"""


def free_ports(n):
    socks = [socket.socket() for dummy in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def playbook(tmp_path, book, varsfile, out, mem, in_process, check=False):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=BASE, ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0")
    env.pop("MYDOCKER_IN_PROCESS", None)
    if not in_process:
        env["MYDOCKER_IN_PROCESS"] = "0"
    argv = [PLAYBOOK, "-vvv", "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable,
            "-e", "@" + varsfile, "-e", "mem=" + mem, "-e", "out=" + out, book]
    argv += ["--check", "--diff"] if check else []
    p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600, check=False)
    text = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 0, text[-4000:]
    with open(out) as f:
        return json.load(f), text


def comparable(res):
    """What must be equal on both paths: changes, actions, diffs, the answers' shape and values that
    do not depend on ids, addresses or times."""
    cts = [{k: r.get(k) for k in ("changed", "actions", "diff", "failed")} for r in res["ct"]]
    for c in cts:
        for side in (c["diff"] or {}).values():
            side.pop("hostname", None)  # the container's id (the hostname a container gets), new each time
    info = res["info"]["containers"][0] if res["info"].get("containers") else res["info"]
    return {"net": {k: res["net"].get(k) for k in ("changed", "failed")}, "ct": cts,
            "ct_keys": [sorted(r) for r in res["ct"]],
            "info": (info.get("Name") or info.get("name"), sorted(info)),
            "bad": {k: res["bad"].get(k) for k in ("failed", "changed")}}


def differences(a, b, path="result"):
    """Where two results differ: a list of 'path: a != b' lines."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            out += differences(a.get(k, "<missing>"), b.get(k, "<missing>"), "%s.%s" % (path, k))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, "%s[%d]" % (path, i))]
    return [] if a == b else ["%s: %r != %r" % (path, a, b)]


def test_in_process_and_module_path_agree(md, nets, tmp_path):  # noqa: F811 (the fixture)
    if not os.access(PLAYBOOK, os.X_OK):
        pytest.skip("no ansible-playbook beside %s" % sys.executable)
    seen = {}
    net, subnet = nets.env.bridge_name(), nets.env.subnet()
    nets.made.append(net)
    cts = [{"name": "%s-%d" % (net, i), "port": p} for i, p in enumerate(free_ports(2))]
    varsfile = str(tmp_path / "vars.json")
    with open(varsfile, "w") as f:
        json.dump({"root": md.root, "net": net, "subnet": subnet, "www": nets.www, "containers": cts}, f)
    for in_process in (True, False):
        tag = "ip" if in_process else "mp"
        book = str(tmp_path / "play.yml")
        with open(book, "w") as f:
            f.write(PLAY)
        out = str(tmp_path / ("out-%s.json" % tag))
        steps = {}
        for step, mem, check in (("first", "64m", False), ("rerun", "64m", False), ("check", "96m", True),
                                 ("apply", "96m", False)):
            res, text = playbook(tmp_path, book, varsfile, out, mem, in_process, check)
            marker = "mydocker_container: in process (local connection)"
            if in_process:
                assert marker in text
            else:
                assert marker not in text and "mydocker_container: module path (MYDOCKER_IN_PROCESS=0)" in text
            steps[step] = comparable(res)
            assert "colour" in res["bad"]["msg"] and res["bad"]["failed"], res["bad"]
            if step == "first":
                ip = md.inspect(cts[0]["name"])["ip"]
                body = urllib.request.urlopen("http://%s:8000/index.html" % ip, timeout=10).read()
                assert body == b"hello from mydocker\n"
                body = urllib.request.urlopen("http://127.0.0.1:%d/index.html" % cts[1]["port"], timeout=10).read()
                assert body == b"hello from mydocker\n"
        assert [c["changed"] for c in steps["first"]["ct"]] == [True, True]
        assert steps["first"]["net"]["changed"] is True
        assert [c["changed"] for c in steps["rerun"]["ct"]] == [False, False]
        assert steps["rerun"]["net"]["changed"] is False
        assert [c["changed"] for c in steps["check"]["ct"]] == [True, True]
        assert all(c["diff"]["before"] != c["diff"]["after"] for c in steps["check"]["ct"])
        assert [c["changed"] for c in steps["apply"]["ct"]] == [True, True]
        path = md.inspect(cts[0]["name"])["cgroupManager"]["Path"]
        for f in ("/sys/fs/cgroup/memory/%s/memory.limit_in_bytes" % path, "/sys/fs/cgroup/%s/memory.max" % path):
            if os.path.exists(f):
                with open(f) as fh:
                    assert fh.read().strip() == str(96 << 20)
                break
        else:
            raise AssertionError("no memory limit file of %s" % path)
        seen[in_process] = {s: {k: v for k, v in d.items() if k != "info"} for s, d in steps.items()}
        for c in cts:
            md("rm", "-f", c["name"])
        md("network", "rm", net)
    assert differences(seen[True], seen[False]) == []
