"""The layers of plugins/module_utils (docs/architecture.md): what may import what, no import
cycles, no file over 500 lines. Read from the source with ast, so nothing is imported."""
import ast
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MU = os.path.join(REPO, "plugins", "module_utils")
PKG = "ansible_collections.mydocker.runtime.plugins.module_utils"

# layer -> the layers (and outside packages) it may import
ALLOWED = {
    "engine": {"engine"},
    "planning": {"engine", "planning"},
    "cli": {"engine", "cli"},
    "ansible_glue": {"engine", "ansible"},
    "bytecode": set(),  # the modules' bytecode cache: standard library only, imported before anything else
}
MAX_LINES = 500


def _modules():
    out = {}
    for d, dirs, files in os.walk(MU):
        dirs[:] = [x for x in dirs if x != "__pycache__"]
        for n in files:
            if n.endswith(".py"):
                full = os.path.join(d, n)
                rel = os.path.relpath(full, MU)[:-3].replace(os.sep, ".")
                if rel.endswith(".__init__"):
                    rel = rel[: -len(".__init__")]
                out[rel] = full
    return out


MODULES = _modules()


def _is_package(mod):
    return MODULES[mod].endswith("__init__.py")


def _imports(mod):
    """(target module inside module_utils or None, top-level outside name) for each import."""
    with open(MODULES[mod]) as f:
        tree = ast.parse(f.read())
    base = mod.split(".") if _is_package(mod) else mod.split(".")[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parent = base[: len(base) - node.level + 1]
                target = ".".join(parent + ([node.module] if node.module else []))
            elif node.module and node.module.startswith(PKG):
                target = node.module[len(PKG) + 1:]
            else:
                found.append((None, (node.module or "").split(".")[0]))
                continue
            for alias in node.names:
                sub = target + "." + alias.name if target else alias.name
                found.append((sub if sub in MODULES else target, None))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PKG):
                    found.append((alias.name[len(PKG) + 1:], None))
                else:
                    found.append((None, alias.name.split(".")[0]))
    return found


def _layer(mod):
    return mod.split(".")[0]


def test_every_file_is_in_a_layer():
    assert MODULES, "no module_utils found"
    strays = sorted(m for m in MODULES if _layer(m) not in ALLOWED)
    assert strays == [], "module_utils files outside the layers of docs/architecture.md: %s" % strays


@pytest.mark.parametrize("mod", sorted(MODULES))
def test_layer_imports(mod):
    allowed = ALLOWED.get(_layer(mod), set())
    bad = []
    for target, outside in _imports(mod):
        if target is not None and _layer(target) not in allowed:
            bad.append(target)
        if outside == "ansible" and "ansible" not in allowed:
            bad.append("ansible")
    assert bad == [], "%s imports %s, outside what its layer may import (%s)" % (mod, bad, sorted(allowed))


@pytest.mark.parametrize("mod", sorted(MODULES))
def test_file_size(mod):
    with open(MODULES[mod]) as f:
        n = len(f.readlines())
    assert n <= MAX_LINES, "%s has %d lines (at most %d)" % (MODULES[mod], n, MAX_LINES)


def test_no_import_cycles():
    graph = {}
    for mod in MODULES:
        graph[mod] = {t for t, dummy in _imports(mod) if t in MODULES and t != mod}
    # a package's own __init__ importing its children is not a cycle through the child
    state = {}
    stack = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                raise AssertionError("import cycle: %s" % " -> ".join(stack[stack.index(n):] + [n]))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
