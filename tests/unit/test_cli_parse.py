"""The mydocker command line without containers: parsing of the main commands, the static command
table against the groups, help and usage errors, and what importing and parsing loads."""
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.cli import build as cb
from ansible_collections.mydocker.runtime.plugins.module_utils.cli import containers as cc
from ansible_collections.mydocker.runtime.plugins.module_utils.cli import images as ci
from ansible_collections.mydocker.runtime.plugins.module_utils.cli import main as cli
from ansible_collections.mydocker.runtime.plugins.module_utils.cli import network as cn
from ansible_collections.mydocker.runtime.plugins.module_utils.cli import registry as cr
from ansible_collections.mydocker.runtime.plugins.module_utils.cli import system as cs
from ansible_collections.mydocker.runtime.plugins.module_utils.cli import volume as cv

PKG = "ansible_collections.mydocker.runtime.plugins.module_utils"


def parse(*argv):
    return cli.parse_args(list(argv))


def test_run_go_spellings_and_long_flags():
    a = parse("run", "-d", "-name", "web", "-mem", "100m", "-cpu", "0.5", "-cpuset", "0-1", "-net", "n1",
              "-p", "8080:80", "-p", "127.0.0.1:53:53/udp", "-e", "A=1", "-e", "B=2", "-v", "/a:/b:ro",
              "busybox", "sh", "-c", "echo -d --rm")
    assert a.fn is cc.cmd_run and a.detach and not a.rm
    assert (a.name, a.memory, a.cpus, a.cpuset, a.network) == ("web", "100m", "0.5", "0-1", "n1")
    assert a.publish == ["8080:80", "127.0.0.1:53:53/udp"] and a.env == ["A=1", "B=2"]
    assert a.volume == ["/a:/b:ro"]
    assert a.image == "busybox" and a.command == ["sh", "-c", "echo -d --rm"]
    a = parse("run", "--rm", "-it", "--name", "x", "--memory", "8m", "--cpus", "1", "--cpuset-cpus", "0",
              "--network", "n2", "--ip", "10.0.0.5", "-w", "/tmp", "-h", "host1", "-c", "512",
              "--pids-limit", "20", "--restart", "on-failure:3", "busybox", "ls", "-l")
    assert a.rm and a.interactive and a.tty and not a.detach
    assert (a.name, a.memory, a.cpus, a.cpuset, a.network, a.ip) == ("x", "8m", "1", "0", "n2", "10.0.0.5")
    assert (a.workdir, a.hostname, a.cpu_shares, a.pids_limit, a.restart) == ("/tmp", "host1", "512", "20",
                                                                              "on-failure:3")
    assert a.command == ["ls", "-l"]
    a = parse("run", "--net", "n3", "-m", "1g", "busybox")
    assert (a.network, a.memory, a.command, a.restart, a.env) == ("n3", "1g", [], "no", [])
    assert cc._resources(a) == {"memory": "1g", "cpus": None, "cpuset_cpus": None, "cpu_shares": None,
                                "pids_limit": None}


def test_container_commands():
    a = parse("--root", "/tmp/r", "ps", "-a", "-q")
    assert a.fn is cc.cmd_ps and a.all and a.quiet and a.root == "/tmp/r"
    a = parse("--root=/tmp/r", "ps")
    assert not a.all and a.root == "/tmp/r"
    a = parse("stop", "-t", "3", "a", "b")
    assert a.fn is cc.cmd_stop and a.time == 3 and a.containers == ["a", "b"]
    a = parse("restart", "c")
    assert a.fn is cc.cmd_restart and a.time == 10
    assert parse("start", "a").fn is cc.cmd_start
    a = parse("rm", "-f", "a")
    assert a.fn is cc.cmd_rm and a.force
    a = parse("logs", "-f", "c")
    assert a.fn is cc.cmd_logs and a.follow and a.container == "c"
    a = parse("exec", "-it", "-e", "X=1", "-w", "/", "c", "sh", "-c", "ls -l")
    assert a.fn is cc.cmd_exec and a.interactive and a.tty and a.env == ["X=1"] and a.workdir == "/"
    assert (a.container, a.command) == ("c", ["sh", "-c", "ls -l"])
    a = parse("commit", "-o", "/tmp/x.tar", "c")
    assert a.fn is cc.cmd_commit and a.output == "/tmp/x.tar" and a.image is None
    a = parse("inspect", "a", "b")
    assert a.fn is cc.cmd_inspect and a.containers == ["a", "b"]
    assert parse("prune").fn is cs.cmd_prune


def test_image_and_network_commands_and_aliases():
    assert parse("images").fn is ci.cmd_images
    for word in ("ls", "list"):
        assert parse("image", word).fn is ci.cmd_images
    for argv in (("rmi", "-f", "a", "b"), ("image", "rm", "-f", "a", "b"), ("image", "remove", "-f", "a", "b")):
        a = parse(*argv)
        assert a.fn is ci.cmd_rmi and a.force and a.images == ["a", "b"]
    a = parse("image", "import", "/tmp/x.tar", "base")
    assert a.fn is ci.cmd_image_import and (a.file, a.name) == ("/tmp/x.tar", "base")
    a = parse("image", "busybox")
    assert a.fn is ci.cmd_image_busybox and a.name == "busybox" and a.busybox is None
    a = parse("network", "create", "-driver", "bridge", "-subnet", "10.0.0.0/24", "n1")
    assert a.fn is cn.cmd_create and (a.driver, a.subnet, a.gateway, a.name) == ("bridge", "10.0.0.0/24", None, "n1")
    for word in ("ls", "list"):
        assert parse("network", word, "-q").fn is cn.cmd_list
    for word in ("rm", "remove"):
        a = parse("network", word, "-f", "a")
        assert a.fn is cn.cmd_remove and a.force and a.names == ["a"]


@pytest.mark.parametrize("argv,msg", [
    ((), "the following arguments are required: COMMAND"),
    (("--root", "/tmp/r"), "the following arguments are required: COMMAND"),
    (("nosuch",), "invalid choice: 'nosuch' (choose from 'run', 'ps',"),
    (("--root",), "argument --root: expected one argument"),
    (("run",), "the following arguments are required: image, command"),
    (("run", "--bogus", "busybox", "true"), "unrecognized arguments: --bogus"),
    (("ps", "extra"), "unrecognized arguments: extra"),
    (("stop", "-t", "x", "a"), "argument -t/--time: invalid int value: 'x'"),
    (("image", "bogus"), "invalid choice: 'bogus' (choose from 'import', 'busybox', 'ls', 'list', 'rm', 'remove')"),
    (("network", "create", "n1"), "the following arguments are required: --subnet/-subnet"),
])
def test_usage_errors(argv, msg, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(list(argv))
    assert e.value.code == 2
    errtext = capsys.readouterr().err
    assert msg in errtext.splitlines()[-1]
    # the command list only for a command line without a command
    assert ("run        run a command in a new container" in errtext) == ("required: COMMAND" in msg)


@pytest.fixture
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")   # argparse wraps help text to the terminal's width


def test_static_table_matches_the_groups(wide):
    groups = {"containers": cc, "images": ci, "network": cn, "system": cs, "volume": cv, "build": cb, "registry": cr}
    names = [n for n, m, h in cli.COMMANDS]
    assert len(names) == len(set(names))
    for name, module, helptext in cli.COMMANDS:
        assert name in groups[module].PARSERS and helptext
    assert sorted(n for g in groups.values() for n in g.PARSERS) == sorted(names)
    # the listing (no group imported) and the fully built parser list the same commands and helps
    full = cli.build_parser().format_help()
    listing = cli.listing_parser().format_help()
    assert listing.replace(cli.EPILOG + "\n", "").rstrip() == full.rstrip()
    for name, module, helptext in cli.COMMANDS:
        assert "    %-11s%s\n" % (name, helptext) in listing


def test_help(capsys, wide):
    assert cli.main(["help"]) == 0
    listing = capsys.readouterr().out
    assert "network    manage bridge networks" in listing and cli.EPILOG in listing
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    assert e.value.code == 0 and capsys.readouterr().out == listing
    for argv, usage in ((["help", "ps"], "usage: mydocker ps [-h] [-a] [-q]"),
                        (["ps", "-h"], "usage: mydocker ps [-h] [-a] [-q]"),
                        (["help", "run", "busybox"], "usage: mydocker run [--help]"),
                        (["run", "--help"], "usage: mydocker run [--help]"),
                        (["help", "image", "import"], "usage: mydocker image import [-h] file name"),
                        (["help", "network"], "usage: mydocker network [-h] COMMAND ..."),
                        (["--root", "/tmp/r", "help", "network", "rm"], "usage: mydocker network rm [-h] [-f]")):
        with pytest.raises(SystemExit) as e:
            cli.main(argv)
        assert e.value.code == 0
        assert capsys.readouterr().out.startswith(usage)
    with pytest.raises(SystemExit) as e:
        cli.main(["help", "nosuch"])
    assert e.value.code == 2 and "invalid choice: 'nosuch'" in capsys.readouterr().err


def test_command_index():
    assert cli.command_index([]) is None
    assert cli.command_index(["--root", "x"]) is None
    assert cli.command_index(["--root"]) == -1
    assert cli.command_index(["ps"]) == 0
    assert cli.command_index(["--root", "x", "ps", "-a"]) == 2
    assert cli.command_index(["--root=x", "ps"]) == 1
    assert cli.command_index(["--root", "-x", "ps"]) == 2   # argparse then says --root lacks a value
    for argv in (["-h"], ["--help", "ps"], ["--bogus", "ps"], ["--", "ps"]):
        assert cli.command_index(argv) == -1


def test_commands_run_in_process(tmp_path, capsys):
    root = str(tmp_path)
    for argv, want in ((["images"], ["REPOSITORY  TAG  IMAGE ID  CREATED  SIZE"]),
                       (["image", "list"], ["REPOSITORY  TAG  IMAGE ID  CREATED  SIZE"]),
                       (["ps", "-a"], ["ID  NAME  IP  PID  STATUS  COMMAND  CREATED  Volume"]),
                       (["ps", "-q"], []),
                       (["network", "ls"], ["NAME   IPRange   Driver   SUBNET   GATEWAY"]),
                       (["prune"], ["nothing to prune"])):
        assert cli.main(["--root", root] + argv) == 0
        assert capsys.readouterr().out.splitlines() == want
    assert cli.main(["--root", root, "rm", "nosuch", "other"]) == 1
    assert capsys.readouterr().err.splitlines() == ["mydocker: no such container: nosuch",
                                                    "mydocker: no such container: other"]
    assert cli.main(["--root", root, "run", "busybox"]) == 1
    assert capsys.readouterr().err == "mydocker: run needs an IMAGE and a COMMAND\n"


def _loaded(code):
    """The module_utils modules (and pyroute2) loaded after running ``code`` in a fresh interpreter."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(m for m in sys.modules if m.startswith(%r) or "\
                   "m.split('.')[0] == 'pyroute2')))" % (PKG,)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    p = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    return {m.replace(PKG + ".", "") for m in json.loads(p.stdout)}


NET = {"engine.net", "engine.net.networks", "engine.net.netlink", "engine.net.iptables", "engine.net.ipam",
       "pyroute2"}
GROUPS = {"cli.containers", "cli.images", "cli.network", "cli.system", "cli.console"}


def test_importing_main_loads_no_group_and_no_network_code():
    loaded = _loaded("from %s.cli import main" % PKG)
    assert "cli.main" in loaded
    assert not loaded & (NET | GROUPS), loaded & (NET | GROUPS)
    assert not loaded & {"engine.containers", "engine.images", "engine.process", "engine.cgroups"}


@pytest.mark.parametrize("argv,group,not_loaded", [
    (["images"], "cli.images", NET | GROUPS - {"cli.images"} | {"engine.containers"}),
    (["ps"], "cli.containers", NET | GROUPS - {"cli.containers"}),
    (["network", "ls"], "cli.network", NET | GROUPS - {"cli.network"} | {"engine.containers", "engine.images"}),
    (["prune"], "cli.system", NET | GROUPS - {"cli.system"}),
    (["--help"], None, NET | GROUPS | {"engine.containers", "engine.images"}),
])
def test_parsing_loads_only_the_chosen_group(argv, group, not_loaded):
    loaded = _loaded("import contextlib, io\nfrom %s.cli import main\n"
                     "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
                     "    main.parse_args(%r)" % (PKG, argv))
    assert group is None or group in loaded
    assert not loaded & not_loaded, loaded & not_loaded


def test_no_import_cycle():
    # each group imports on its own, without the entry point (cli/network.py used to import cli/main.py)
    for mod in ("network", "containers", "images", "system", "output"):
        loaded = _loaded("from %s.cli import %s" % (PKG, mod))
        assert "cli.%s" % mod in loaded and "cli.main" not in loaded
