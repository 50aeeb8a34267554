"""The package's layers hold: imports point down only, and no module imports itself back through a cycle.

The import graph is read from the source with ``ast`` (imports inside functions count too: a lazy
import is still a dependency). Layers, lowest first::

    errors, serialize  ←  objectives ← analysis ← descent ← networks ← curvature ← landscape
                       ←  plot ← course ← web ← cli

A module may import the shared root modules, its own layer and any layer below it. The public
front (``losslab/__init__.py``) imports from every layer; only the shells (``web``, ``cli``)
may import it back. ``cli`` sits above ``web`` because ``losslab serve`` starts the app; the
web never imports the CLI.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import losslab

LAYERS = ("objectives", "analysis", "descent", "networks", "curvature", "landscape", "plot", "course", "web", "cli")
SHARED = ("errors", "serialize")
SHELLS = ("web", "cli")
PACKAGE = Path(losslab.__file__).parent


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str, root: Path) -> bool:
    relative = Path(*name.split(".")[1:]) if "." in name else Path()
    return (root / relative).with_suffix(".py").is_file() or (root / relative / "__init__.py").is_file()


def imports_of(path: Path, root: Path) -> set[str]:
    """The losslab modules ``path`` imports (``from a import b`` counts as ``a.b`` when that is a module)."""
    found: set[str] = set()
    package = module_name(path, root)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == root.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            if base.split(".")[0] != root.name:
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if is_module(candidate, root) else base)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    return {module_name(p, root): imports_of(p, root) for p in sorted(root.rglob("*.py"))}


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "front"
    return parts[1] if parts[1] in LAYERS else "shared" if parts[1] in SHARED else parts[1]


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import that points up, sideways into an unknown folder, or at the front from below the shells."""
    wrong = []
    for module, targets in graph.items():
        source = layer_of(module)
        for target in sorted(targets):
            goal = layer_of(target)
            if source == "front" or goal == source:
                continue
            if source not in LAYERS and source != "shared":
                wrong.append(f"{module} is in no layer (move it into one of {', '.join(LAYERS)})")
            elif goal == "front":
                if source not in SHELLS:
                    wrong.append(f"{module} imports the public front losslab; import the module that defines it")
            elif source == "shared":
                wrong.append(f"{module} (shared by every layer) imports {target}")
            elif goal != "shared" and (goal not in LAYERS or LAYERS.index(goal) > LAYERS.index(source)):
                wrong.append(f"{module} ({source}) imports {target} ({goal}), a layer above it")
    return wrong


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each a cycle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def without_package_inits(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph without the edges a package's ``__init__`` has to its own modules (re-exports, not cycles)."""
    return {m: {t for t in ts if not (is_init(m) and t.startswith(m + "."))} for m, ts in graph.items()}


def is_init(module: str) -> bool:
    return (PACKAGE.parent / Path(*module.split(".")) / "__init__.py").is_file()


def test_the_root_holds_only_the_front_and_what_every_layer_shares() -> None:
    modules = sorted(p.stem for p in PACKAGE.glob("*.py"))
    folders = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    assert modules == ["__init__", *SHARED]
    assert folders == sorted(LAYERS)


def test_imports_point_down_only() -> None:
    assert upward_imports(import_graph(PACKAGE)) == []


def test_no_import_cycles() -> None:
    assert cycles(without_package_inits(import_graph(PACKAGE))) == []


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "losslab" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "losslab"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"objectives/grid.py": "from losslab.plot.grid import as_surface\n"}, "objectives.grid (objectives) imports"),
        ({"analysis/stationary.py": "def f():\n    from losslab.descent.run import descend\n"}, "a layer above it"),
        ({"descent/run.py": "from losslab import analyze\n"}, "imports the public front"),
        ({"errors.py": "from losslab.objectives import grid\n"}, "(shared by every layer) imports"),
        ({"web/app.py": "from losslab.cli.app import app\n"}, "losslab.web.app (web) imports losslab.cli.app"),
    ],
    ids=["objectives->plot", "lazy-analysis->descent", "front-from-below", "shared->layer", "web->cli"],
)
def test_the_check_fails_on_an_upward_import(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    tree = {"__init__.py": "", "errors.py": "", "plot/grid.py": "", "descent/run.py": "", "cli/app.py": ""}
    tree.update({f"{layer}/__init__.py": "" for layer in LAYERS})
    root = write_tree(tmp_path, {**tree, **files})
    wrong = upward_imports(import_graph(root))
    assert len(wrong) == 1 and expected in wrong[0]


def test_the_check_finds_a_cycle(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "__init__.py": "",
            "cli/__init__.py": "",
            "cli/plot.py": "from losslab.cli.landscape import draw\n",
            "cli/landscape.py": "def f():\n    from losslab.cli import plot\n",
        },
    )
    assert cycles(import_graph(root)) == [["losslab.cli.landscape", "losslab.cli.plot"]]
