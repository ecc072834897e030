"""The layout stays readable: no import cycles between kagglekit's modules (function-level
imports included), no private name imported from another module, and docs/architecture.md
names every core module and package. (Long modules are named for review by
scripts/module_sizes.py, which `make lint` runs; they fail nothing.)"""

from __future__ import annotations

import ast
from pathlib import Path

from support import REPO

ROOTS = {
    "kagglekit": REPO / "kagglekit",
    "kagglekit_plugins": REPO / "plugins",
    "kagglekit_competitions": REPO / "competitions",
}


def modules() -> dict[str, Path]:
    out = {}
    for package, root in ROOTS.items():
        for path in root.rglob("*.py"):
            parts = [package, *path.relative_to(root).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def import_graph():
    """(edges module -> modules it imports, [(importer, module, private name)])."""
    mods = modules()
    edges = {m: set() for m in mods}
    private = []
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    if full in mods:
                        edges[name].add(full)
                    elif node.module in mods:
                        edges[name].add(node.module)
                    dunder = alias.name.startswith("__") and alias.name.endswith("__")
                    if (
                        alias.name.startswith("_")
                        and not dunder
                        and node.module in mods
                        and node.module != name
                    ):
                        private.append((name, node.module, alias.name))
            elif isinstance(node, ast.Import):
                edges[name].update(a.name for a in node.names if a.name in mods)
    return edges, private


def cycles(edges) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    return found


def test_the_checks_can_fail():
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    edges, _ = import_graph()
    assert cycles(edges) == []


def test_no_private_name_is_imported_from_another_module():
    _, private = import_graph()
    assert private == []


def test_docs_architecture_names_every_core_module_and_package():
    section = (REPO / "docs" / "architecture.md").read_text()
    for path in sorted((REPO / "kagglekit").iterdir()):
        if path.name.startswith(("_", ".")) or path.name == "__pycache__":
            continue
        name = path.name + ("/" if path.is_dir() else "")
        assert name in section, f"kagglekit/{name} missing from docs/architecture.md"


def test_the_import_graph_in_docs_is_the_codes():
    """docs/architecture.md's import graph of the core's top-level modules is regenerated
    from the code here, so it cannot go stale."""
    edges, _ = import_graph()
    lines = []
    for name in sorted(m for m in edges if m.startswith("kagglekit.") and m.count(".") == 1):
        deps = sorted(
            d.removeprefix("kagglekit.")
            for d in edges[name]
            if (d == "kagglekit" or d.startswith("kagglekit.")) and d != name
        )
        lines.append(f"{name.removeprefix('kagglekit.'):<14} -> {', '.join(deps) or '-'}")
    doc = (REPO / "docs" / "architecture.md").read_text()
    block = "__main__" + doc.split("```\n__main__", 1)[1].split("```", 1)[0]
    assert block == "\n".join(lines) + "\n"


# the runs folder's own names: only kagglekit/store/ joins paths under the runs folder
RUNS_FOLDER_NAMES = (
    ".tmp-",
    ".jobs-",
    ".submissions.json",
    "_samples",
    "_kernels",
    "_pseudo",
    "_studies",
)


def runs_folder_mentions(tree) -> list[str]:
    """What in a module's syntax tree knows the runs folder's layout: a string starting with
    one of its own names, ``Path("runs")``, or ``.path.parent.parent`` (climbing from a run
    back to the root)."""
    found = []
    inner = {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in node.values[1:]
    }  # f".{name}.tmp-{pid}": a name's sibling, not these
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in inner
            and node.value.startswith(RUNS_FOLDER_NAMES)
        ):
            found.append(repr(node.value))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "Path"
            and [getattr(a, "value", None) for a in node.args] == ["runs"]
        ):
            found.append('Path("runs")')
        elif (
            isinstance(node, ast.Attribute)
            and node.attr == "parent"
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "parent"
            and isinstance(node.value.value, ast.Attribute)
            and node.value.value.attr == "path"
        ):
            found.append(".path.parent.parent")
    return found


def test_only_the_store_knows_the_runs_folders_layout():
    assert sorted(
        runs_folder_mentions(
            ast.parse(
                'Path("runs") / "_samples"; run.path.parent.parent; f".tmp-{x}"; x = ".jobs-"'
            )
        )
    ) == ["'.jobs-'", "'.tmp-'", "'_samples'", ".path.parent.parent", 'Path("runs")']
    store = REPO / "kagglekit" / "store"
    outside = {
        name: runs_folder_mentions(ast.parse(path.read_text()))
        for name, path in modules().items()
        if store not in path.parents
    }
    assert {name: found for name, found in outside.items() if found} == {}


def test_nothing_outside_cli_imports_click():
    """click is the CLI's: the library (executors included), the built-in plugins and
    competitions never import it (a plugin adds commands through register_commands)."""
    importers = []
    for name, path in modules().items():
        if name == "kagglekit.cli" or name.startswith("kagglekit.cli."):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.module
                else []
            )
            if any(n == "click" or n.startswith("click.") for n in names):
                importers.append(name)
    assert importers == []
