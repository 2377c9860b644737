"""cli/fastparse.py against argparse: for every command line it takes, the namespace argparse gives;
every other form left to argparse; the hot command lines taken; and a `run` it takes imports no
argparse."""
import json
import os
import random
import subprocess
import sys

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.cli import containers as cc
from ansible_collections.mydocker.runtime.plugins.module_utils.cli import fastparse
from ansible_collections.mydocker.runtime.plugins.module_utils.cli import main as cli

PKG = "ansible_collections.mydocker.runtime.plugins.module_utils"


def by_argparse(argv):
    return vars(cli.build_parser("run").parse_args(argv))


def by_fast(argv):
    i = cli.command_index(argv)
    ns = cli._fast(argv, i, argv[i] if i is not None and i >= 0 else None)
    return None if ns is None else vars(ns)


HOT = [
    ["run", "-d", "busybox", "true"],
    ["run", "--rm", "busybox", "true"],
    ["--root", "/tmp/r", "run", "-d", "--name", "web", "--net", "n1", "-p", "8080:80", "busybox", "httpd", "-f",
     "-p", "80"],
    ["--root=/tmp/r", "run", "-d", "--memory", "64m", "-e", "A=1", "-e", "B=2", "-v", "/a:/b:ro", "busybox",
     "sleep", "3600"],
    ["run", "-d", "--network=n1", "--network", "n2", "--network-alias", "db", "busybox", "sh", "-c", "echo -d --rm"],
    ["run", "--rm", "-i", "--entrypoint", "", "--user", "1000:1000", "--cap-add", "NET_ADMIN", "--label", "a=b",
     "busybox"],
    ["run", "-d", "-name", "x", "-mem", "8m", "-cpu", "0.5", "-h", "host1", "-P", "--expose", "80", "busybox",
     "--name", "y"],
    ["run", "busybox", "", "-d"],
]


@pytest.mark.parametrize("argv", HOT, ids=lambda a: " ".join(a)[:60])
def test_hot_command_lines_are_taken_and_match_argparse(argv):
    fast = by_fast(argv)
    assert fast is not None
    assert fast == by_argparse(argv)
    assert fast["fn"] is cc.cmd_run


@pytest.mark.parametrize("argv", [
    ["run", "-it", "busybox", "sh"],             # combined short flags
    ["run", "-dname", "x", "busybox"],           # a short flag with its value attached
    ["run", "--help"],
    ["run", "--name"],                           # no value
    ["run", "--name", "-d", "busybox"],          # a value that looks like an option
    ["run", "--oom-score-adj", "-5", "busybox"],
    ["run", "--rm=1", "busybox"],
    ["run", "--memory=", "busybox"],
    ["run", "--nam", "x", "busybox"],            # an abbreviation (allow_abbrev=False: an error)
    ["run", "--nosuch", "busybox"],
    ["run", "-d"],                               # no image
    ["run", "--", "busybox"],
    ["run", "busybox", "sh", "--", "x"],
    ["run", "-", "x"],
    ["--root", "run", "busybox"],
    ["--root", "--x", "run", "busybox"],
    ["ps", "-a"],                                # not a fast command
    ["--help"],
    [],
])
def test_other_forms_are_left_to_argparse(argv):
    assert by_fast(argv) is None


def _words(rng, spec):
    """A random `run` command line from the flag table: known options in every spelling and form,
    odd values, now and then something fastparse does not take."""
    values = ["x", "n1", "64m", "A=1", "", "a b", "-", "-x", "--rm", "8080:80", "=", "a=b=c"]
    opts = sorted(spec.options)
    argv = []
    if rng.random() < 0.3:
        argv += rng.choice([["--root", "/tmp/r"], ["--root=/tmp/r"], ["--root=", "--root", "/s"]])
    argv.append("run")
    for _opt in range(rng.randrange(0, 8)):
        o = rng.choice(opts)
        dest, kind = spec.options[o]
        if kind == fastparse.STORE_TRUE:
            argv.append(o if rng.random() < 0.95 else o + "=1")
        elif o.startswith("--") and rng.random() < 0.3:
            argv.append(o + "=" + rng.choice(values))
        else:
            argv += [o] + ([rng.choice(values)] if rng.random() < 0.97 else [])
    if rng.random() < 0.9:
        argv.append(rng.choice(["busybox", "", "img:1"]))
        for _word in range(rng.randrange(0, 4)):
            argv.append(rng.choice(values + opts[:5]))
    if rng.random() < 0.05:
        argv.insert(rng.randrange(1, len(argv) + 1), rng.choice(["--", "-it", "--help", "-"]))
    return argv


def test_generated_command_lines_match_argparse(capsys):
    spec = fastparse.Spec(*cc.FAST["run"])
    rng = random.Random(13)
    taken = 0
    for _line in range(1500):
        argv = _words(rng, spec)
        fast = by_fast(argv)
        if fast is None:
            continue
        taken += 1
        try:
            want = by_argparse(argv)
        except SystemExit:
            capsys.readouterr()
            pytest.fail("fastparse took %r, which argparse refuses" % (argv,))
        assert fast == want, argv
    assert taken > 500  # about half of them: a parser that declines everything would pass the comparison


def test_tables_it_does_not_know_are_refused():
    with pytest.raises(ValueError):
        fastparse.Spec([(("--n",), dict(type=int))], [("a", None)], {})
    with pytest.raises(ValueError):
        fastparse.Spec([(("--n",), dict(action="count"))], [("a", None)], {})
    with pytest.raises(ValueError):
        fastparse.Spec([], [("rest", "...")], {})  # a REMAINDER with nothing before it


def test_a_taken_run_imports_no_argparse():
    probe = ("import json, sys\nfrom %s.cli import main\n"
             "a = main.parse_args(['--root', '/tmp/r', 'run', '-d', '--net', 'n', 'busybox', 'true'])\n"
             "print(json.dumps([a.image, a.command, a.network, 'argparse' in sys.modules]))" % PKG)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    p = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert json.loads(p.stdout) == ["busybox", ["true"], "n", False]
