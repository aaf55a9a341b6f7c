#!/usr/bin/env python3
"""The import graph of the tfcompress package, read from its source (nothing is imported).

    python scripts/import_graph.py            # counts, cycles and back arrows
    python scripts/import_graph.py --list     # ... and every back arrow and nested import

Counts:
  - cycles among module-level imports (what runs at import time), each listed;
  - cycles at run time: among all imports, those inside functions too (what a run executes);
  - arrows running back up the layers (``LAYERS`` below: a module importing one of a higher
    layer, at module level or inside a function; a package importing its own modules is not
    one);
  - imports inside function bodies (``TYPE_CHECKING`` blocks are not imports at run time and
    are left out of every count).

Exit status 1 if there is a cycle (at import or run time; a test runs it), else 0.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "tfcompress"

#: Lowest first. A module may import its own layer or lower ones; importing a higher one is an
#: arrow running back up. Keys are module prefixes (the longest that matches counts).
LAYERS: list[tuple[str, ...]] = [
    # foundations: no tfcompress imports above them (the package root imports nothing at
    # module level: its public names are imported lazily)
    ("tfcompress.errors", "tfcompress.registry", "tfcompress.progress", "tfcompress.atomic",
     "tfcompress.store", "tfcompress.outdir", "tfcompress._keras", "tfcompress._keras3",
     "tfcompress.flavor", "tfcompress.distribute"),
    # names a recipe may use (registries of each library package) and the recipes
    ("tfcompress.recipe",),
    # the libraries
    ("tfcompress.data", "tfcompress.models", "tfcompress.train", "tfcompress.distill",
     "tfcompress.prune", "tfcompress.structured", "tfcompress.sparsity", "tfcompress.quantize",
     "tfcompress.benchmark", "tfcompress.litert", "tfcompress.mediapipe"),
    # what reads results of the libraries
    ("tfcompress.report", "tfcompress.sweep"),
    # running a recipe
    ("tfcompress.pipeline",),
    # entry points
    ("tfcompress.api", "tfcompress.run"),
]
#: Package ``__init__`` modules that only hold a registry of names (lazy ``module:attr``
#: strings, no import of what they name) sit with the recipes: recipes validate against them.
REGISTRY_INITS = ("tfcompress.prune", "tfcompress.quantize", "tfcompress.sweep",
                  "tfcompress.data", "tfcompress.data.names", "tfcompress.models",
                  "tfcompress.train")


def layer(module: str) -> int:
    if module == "tfcompress":
        return 0
    if module in REGISTRY_INITS:
        return 1
    best, found = -1, len(LAYERS) - 1
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, found = len(p), i
    return found


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(current: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = current.split(".")
    if not is_pkg:
        base = base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(path: Path, known: set[str]) -> list[tuple[str, bool]]:
    """(imported tfcompress module, at module level?) for every import in ``path``."""
    current = module_name(path)
    is_pkg = path.name == "__init__.py"
    tree = ast.parse(path.read_text())
    out: list[tuple[str, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for n in node.orelse:
                visit(n, top)
            return
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("tfcompress"):
                    out.append((_known(a.name, known), top))
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(current, is_pkg, node)
            if base.startswith("tfcompress"):
                # `from pkg import module` runs pkg's __init__ and then the module: an arrow
                # to each (a name that is not a module is read from pkg's __init__)
                out.append((_known(base, known), top))
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    if sub in known:
                        out.append((sub, top))
        inner = top and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                              ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, True)
    return [(m, t) for m, t in out if m and m != current]


def _known(name: str, known: set[str]) -> str:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            strong(v)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list every back arrow")
    args = parser.parse_args()
    files = sorted(ROOT.rglob("*.py"))
    known = {module_name(f) for f in files}
    top: dict[str, set[str]] = defaultdict(set)
    everything: dict[str, set[str]] = defaultdict(set)
    back: list[str] = []
    nested: list[str] = []
    for f in files:
        m = module_name(f)
        for target, at_top in imports(f, known):
            everything[m].add(target)
            if at_top:
                top[m].add(target)
            else:
                nested.append(f"{m} -> {target}")
            if layer(target) > layer(m) and not target.startswith(m + "."):
                back.append(f"{m} (layer {layer(m)}) -> {target} (layer {layer(target)})"
                            + ("" if at_top else " [in a function]"))
    found = cycles(top)
    at_run_time = cycles(everything)
    print(f"modules: {len(known)}")
    print(f"import cycles at import time: {len(found)}")
    for c in found:
        print("  " + " <-> ".join(c))
    print(f"import cycles at run time (imports in functions too): {len(at_run_time)}")
    for c in at_run_time:
        print(f"  {len(c)} modules: " + ", ".join(c))
    print(f"arrows running back up the layers: {len(set(back))}")
    print(f"imports inside function bodies: {len(nested)}")
    if args.list:
        for b in sorted(set(back)):
            print("  back: " + b)
    return 1 if found or at_run_time else 0


if __name__ == "__main__":
    sys.exit(main())
