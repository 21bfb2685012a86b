"""The layers, enforced: each module's imports (read with ast) may only point down.

    views ─→ web ─→ domain ─→ store ─→ db
      │       │        │        └────→ model, text
      └───────┴────────┴─────────────→ model, text
    ops ─→ domain, store, db            cli, app ─→ anything

docs/architecture.md explains the picture; this file is the one place the rules are checked.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "citizenvoice"

# Layer -> the citizenvoice layers it may import. ``settings`` (the declared settings table) is shared by all.
ALLOWED: dict[str, set[str]] = {
    "model": {"model"},
    "text": {"text"},
    "db": {"db", "settings"},
    "store": {"store", "db", "model", "text", "settings"},
    "domain": {"domain", "store", "db", "model", "text", "settings"},
    "ops": {"ops", "domain", "store", "db", "model", "text", "settings"},
    "web": {"web", "domain", "store", "db", "model", "text", "settings"},
    "views": {"views", "web", "domain", "store", "db", "model", "text", "settings"},
    "settings": set(),
    "serving": set(),
}
# Third-party packages a layer must not know about: HTTP stays in web/ and views/, argparse in ops/ and cli.
FORBIDDEN_EXTERNAL: dict[str, set[str]] = {
    "model": {"starlette", "argparse", "aiosqlite", "sqlite3"},
    "text": {"starlette", "argparse", "aiosqlite", "sqlite3"},
    "store": {"starlette", "argparse"},
    "domain": {"starlette", "argparse", "uvicorn"},
    "db": {"starlette", "argparse"},
}


def layer_of(module: str) -> str:
    """citizenvoice.domain.moderation -> domain; citizenvoice.app -> app."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "citizenvoice"


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    return imports_in(path.read_text(encoding="utf-8"), package)


def imports_in(source: str, package: str) -> set[str]:
    """Every module the source imports, at any depth (functions included), plus importlib.import_module
    calls with a literal name: an import hidden in a string is still an import."""
    tree = ast.parse(source)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module" and node.args:
            if isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
    return found


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def internal_imports(module: str, names: set[str] | None = None) -> set[str]:
    """The citizenvoice modules ``module`` imports (names of functions or classes dropped)."""
    names = {name for name in (names or imports_of(MODULES[module])) if name.startswith("citizenvoice.")}
    resolved = set()
    for name in names:
        while name not in MODULES and "." in name:
            name = name.rpartition(".")[0]
        if name in MODULES and name != module:
            resolved.add(name)
    return resolved


def forbidden(module: str, imported: set[str]) -> list[str]:
    return sorted(name for name in imported if name != "citizenvoice" and layer_of(name) not in ALLOWED[layer_of(module)])


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer_of(m) in ALLOWED))
def test_each_layer_imports_only_the_layers_below_it(module: str) -> None:
    wrong = forbidden(module, internal_imports(module))
    assert not wrong, f"{module} ({layer_of(module)}/) may not import {wrong}; see docs/architecture.md"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer_of(m) in FORBIDDEN_EXTERNAL))
def test_http_and_argument_parsing_stay_out_of_the_inner_layers(module: str) -> None:
    external = {name.split(".")[0] for name in imports_of(MODULES[module])}
    wrong = sorted(external & FORBIDDEN_EXTERNAL[layer_of(module)])
    assert not wrong, f"{module} may not import {wrong}; see docs/architecture.md"


def test_no_import_circles() -> None:
    graph = {module: internal_imports(module) for module in MODULES}
    # A package's __init__ re-exporting its own modules is not a circle between layers.
    for module, targets in graph.items():
        graph[module] = {t for t in targets if not module.startswith(t + ".") and not t.startswith(module + ".")}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            pytest.fail("import circle: " + " -> ".join(cycle))


def test_every_module_sits_in_a_known_layer() -> None:
    top = {"citizenvoice", "app", "cli", "startup"}
    unknown = sorted(m for m in MODULES if layer_of(m) not in ALLOWED and layer_of(m) not in top)
    assert not unknown, f"modules outside the layers (add them to a layer folder): {unknown}"
    assert (PACKAGE / "__init__.py").is_file()


def test_the_checker_sees_a_forbidden_import() -> None:
    # The rules above must be able to fail: a store module importing the domain, directly or through
    # importlib, and a relative import reaching into web/, are all caught.
    source = (
        "from citizenvoice.domain import lifecycle\n"
        "import importlib\n"
        "def later():\n    importlib.import_module('citizenvoice.web.forms')\n"
        "from ..web import security\n"
    )
    imported = internal_imports("citizenvoice.store.essays", imports_in(source, "citizenvoice.store"))
    wrong = set(forbidden("citizenvoice.store.essays", imported))
    assert {"citizenvoice.domain.lifecycle", "citizenvoice.web.forms", "citizenvoice.web.security"} <= wrong
    assert forbidden("citizenvoice.domain.lifecycle", imported & {"citizenvoice.store.essays"}) == []
