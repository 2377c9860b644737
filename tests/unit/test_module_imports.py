"""What a module task imports (issue 13): a module runs from its zip and compiles every file it
imports on each task, so a task that changes nothing must not import the create/start machinery
(engine.containers, the monitor), the registry client (engine.pull: http.client, ssl) or the
planners of other modules. Each case is a fresh interpreter."""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
P = "ansible_collections.mydocker.runtime.plugins."
HEAVY = ("module_utils.engine.containers", "module_utils.engine.monitor", "module_utils.engine.pull",
         "module_utils.engine.registry", "module_utils.engine.workspace", "module_utils.engine.imageimport")
RUNNER = r"""
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
exec(sys.argv[2])
P = "ansible_collections.mydocker.runtime.plugins."
print(json.dumps(sorted(m[len(P):] for m in sys.modules if m.startswith(P))))
"""


def _loaded(code):
    paths = [p for p in sys.path if p]
    out = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(paths), code], check=True, capture_output=True,
                         text=True, cwd=HERE).stdout
    return set(json.loads(out))


def test_container_modules_import_no_act_side():
    for mod in ("mydocker_container", "mydocker_container_info"):
        loaded = _loaded("import %smodules.%s" % (P, mod))
        assert "module_utils.bytecode" in loaded
        assert [m for m in HEAVY if m in loaded] == [], mod


def _shipped(module):
    """The collection files Ansible puts in ``module``'s zip: every import its files name, also
    inside functions (as AnsiballZ's ModuleDepFinder reads them), transitively."""
    import ast
    plugins = os.path.dirname(os.path.dirname(HERE)) + "/plugins/"

    def path_of(name):
        rel = plugins + name[len(P):].replace(".", "/")
        return next((c for c in (rel + ".py", rel + "/__init__.py") if os.path.exists(c)), None)

    seen, todo = set(), [P + "modules." + module]
    while todo:
        name = todo.pop()
        path = path_of(name)
        if name in seen or path is None:
            continue
        seen.add(name)
        pkg = name.split(".") if path.endswith("__init__.py") else name.split(".")[:-1]
        with open(path) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = ".".join(pkg[:len(pkg) - node.level + 1] + [node.module or ""]).rstrip(".") if node.level \
                    else node.module or ""
                todo += [base] + [base + "." + a.name for a in node.names]
    return set(n[len(P):] for n in seen if n.startswith(P + "module_utils."))


def test_container_info_ships_no_other_planner():
    shipped = _shipped("mydocker_container_info")
    assert sorted(m for m in shipped if m.startswith("module_utils.planning.")) == \
        ["module_utils.planning.info", "module_utils.planning.plan"]
    assert [m for m in HEAVY if m in shipped] == []
    assert "module_utils.engine.monitor" in _shipped("mydocker_container")  # the monitor's engine copy


def test_container_info_ships_no_start_machinery():
    """An ad hoc info task pays for every file in its zip on the controller, where Ansible parses each
    one to find its imports (~0.4 s for the whole engine here): the view of a record needs what the
    host says of its processes (engine.status), not how they are started."""
    shipped = _shipped("mydocker_container_info")
    start = tuple("module_utils.engine." + m for m in ("lifecycle", "cgroups", "rootfs", "process", "net"))
    start_side = [m for m in shipped if m.startswith(start)]
    assert start_side == []
    assert "module_utils.engine.status" in shipped and len(shipped) <= 15, sorted(shipped)


def test_container_module_ships_no_image_building_or_pushing():
    """Every task sends the module's zip to the target (with pipelining on its stdin, which Python
    reads one byte per read(2) when PYTHONUNBUFFERED is set: ~0.85 ms per kB here) and the target
    decodes it: commit, prune, export and push are other modules' work."""
    shipped = _shipped("mydocker_container")
    names = ("commit", "commitlayer", "layerwrite", "imageimport", "prune", "adopt", "export", "push", "build")
    other = tuple("module_utils.engine." + m for m in names)
    assert sorted(m for m in shipped if m.startswith(other)) == []
    assert "module_utils.planning.imagepush" not in shipped
    # what it does need is still there: the start path and the pull option's registry client
    assert {"module_utils.engine.create", "module_utils.engine.monitor", "module_utils.engine.pull"} <= shipped


def test_image_module_still_ships_push_and_commit():
    shipped = _shipped("mydocker_image")
    assert {"module_utils.planning.imagepush", "module_utils.engine.push", "module_utils.engine.commit",
            "module_utils.engine.export"} <= shipped


def test_image_and_network_info_ship_no_planner_of_the_other():
    """Each info module ships its listing and the read side under it, not the planners that make
    images or networks (nor, through them, the container engine)."""
    image_info = _shipped("mydocker_image_info")
    assert "module_utils.planning.imageview" in image_info
    assert [m for m in image_info if m.startswith(("module_utils.planning.image.", "module_utils.engine.containers",
                                                   "module_utils.engine.net", "module_utils.engine.pull"))
            or m in ("module_utils.planning.image", "module_utils.planning.network")] == []
    network_info = _shipped("mydocker_network_info")
    assert "module_utils.engine.net.networks" in network_info
    not_network = ("module_utils.planning.image", "module_utils.engine.containers", "module_utils.engine.lifecycle",
                   "module_utils.engine.pull")
    assert [m for m in network_info if m.startswith(not_network)] == []
    assert len(image_info) <= 20 and len(network_info) <= 30, (sorted(image_info), sorted(network_info))


def test_container_info_imports_no_other_planner():
    loaded = _loaded("import %smodules.mydocker_container_info" % P)
    assert sorted(m for m in loaded if m.startswith("module_utils.planning.")) == \
        ["module_utils.planning.info", "module_utils.planning.plan"]


def test_a_plan_that_changes_nothing_imports_no_act_side(tmp_path):
    root = str(tmp_path / "root")
    loaded = _loaded("from %smodule_utils.planning import container as cp\n"
                     "plan = cp.compute_plan(%r, {'name': 'gone', 'state': 'absent'})\n"
                     "assert not plan.changed and cp.apply(%r, plan) == {'container': {}}\n"
                     "from %smodule_utils.planning import info\n"
                     "assert info.container_info(%r, 'gone')['exists'] is False\n" % (P, root, root, P, root))
    assert [m for m in HEAVY if m in loaded] == []


def test_the_steps_still_reach_the_engine():
    from ansible_collections.mydocker.runtime.plugins.module_utils.engine import containers
    from ansible_collections.mydocker.runtime.plugins.module_utils.planning import container as cp
    assert cp._engine() is containers
    for name in ("find", "exists", "view", "inspect", "list_containers", "parse_env"):
        assert callable(getattr(containers, name))
