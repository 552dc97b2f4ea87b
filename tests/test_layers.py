"""The library's layers: model <- intake <- figures <- documents <- (render | store) <-
services <- cli, where render and store are siblings that never import each other.
import-linter checks the contract in pyproject.toml; the checks
here make sure that it really runs, and that function-level imports are only
where they save start-up time, with a comment saying so."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# lowest first; the subpackages of one level are independent siblings
LAYERS: tuple[tuple[str, ...], ...] = (("model",), ("intake",), ("figures",), ("documents",),
                                       ("render", "store"), ("services",))


def test_import_linter_contracts_are_kept() -> None:
    exe = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(exe), "--config", str(ROOT / "pyproject.toml")],
                            capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def _imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, module imported, whether outside any function) for each import in `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_function: set[int] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            in_function.update(id(n) for n in ast.walk(fn))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[:len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.append((node.lineno, name, id(node) not in in_function))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name, id(node) not in in_function) for a in node.names]
    return out


def _layer(module: str) -> tuple[int, str] | None:
    """(level, subpackage) of a module in one of the layers."""
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "reports":
        for level, names in enumerate(LAYERS):
            if parts[1] in names:
                return level, parts[1]
    return None


def _may_import(own: tuple[int, str], other: tuple[int, str]) -> bool:
    """A layer imports itself and the levels below it; never a level above, nor a sibling."""
    return other[1] == own[1] or other[0] < own[0]


def test_the_layer_rule_refuses_siblings_and_levels_above() -> None:
    render, store, services = _layer("reports.render.pdf"), _layer("reports.store.db"), \
        _layer("reports.services.briefs")
    documents = _layer("reports.documents.blocks")
    assert render and store and services and documents
    assert not _may_import(store, render) and not _may_import(render, store)
    assert not _may_import(render, services) and not _may_import(documents, render)
    assert _may_import(services, store) and _may_import(services, render)
    assert _may_import(render, documents) and _may_import(store, store)


def test_no_module_imports_a_layer_above_its_own() -> None:
    """The same rule as the contract, worked out independently from the source."""
    wrong = []
    for path in sorted((ROOT / "reports").rglob("*.py")):
        own = _layer(".".join(path.relative_to(ROOT).with_suffix("").parts))
        if own is None:
            continue
        for line, module, _ in _imports(path):
            other = _layer(module)
            if other is not None and not _may_import(own, other):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert wrong == []


# Our own code: a function-level import of it must say why, in these words.
OWN = ("reports", "web", "templates")
REASON = re.compile(r"\b(start-?up|optional)\b", re.IGNORECASE)


def _own(module: str) -> bool:
    top = module.split(".")[0]
    return top in OWN or top.startswith("cli")


def _says_why(here: str, above: str) -> bool:
    """Whether the comment on an import's line, or on the line above, names start-up time
    ("start-up", "startup") or an optional dependency ("optional")."""
    return any("#" in line and REASON.search(line.split("#", 1)[1]) for line in (here, above))


def test_the_reason_must_name_start_up_or_an_optional_dependency() -> None:
    assert _says_why("    from . import briefs  # start-up: the documents layer", "")
    assert _says_why("    from .x import y", "    # startup: only `compare` needs it")
    assert _says_why("    import weasyprint  # optional: the tagged renderer's", "")
    assert not _says_why("    from . import briefs  # lazy: the documents layer", "")
    assert not _says_why("    from .db import Store", "    x = 1")
    assert not _says_why('    from .db import Store  # noqa', '    s = "start-up"')


def test_function_level_imports_say_why() -> None:
    """A function-level import of our own code is there only to keep start-up fast, or
    because it brings in an optional dependency, and a comment on its line or the line
    above says so in those words (`_says_why`).  A type only is imported at the top,
    under TYPE_CHECKING."""
    unexplained = []
    for path in sorted([*(ROOT / "reports").rglob("*.py"), *(ROOT / "commands").glob("*.py"),
                        ROOT / "cli.py", *(ROOT / "web").rglob("*.py")]):
        lines = path.read_text(encoding="utf-8").splitlines()
        for line, module, at_top in _imports(path):
            if at_top or not _own(module):
                continue
            here, above = lines[line - 1], lines[line - 2] if line > 1 else ""
            if not _says_why(here, above):
                unexplained.append(f"{path.relative_to(ROOT)}:{line}: {here.strip()}")
    assert unexplained == []


def test_the_portal_views_reach_the_app_through_web_portal_not_by_importing_it() -> None:
    """web.app is the app factory: it imports the views' blueprint (web.routes), and the
    views get the portal from web.portal, so no module of web imports web.app but the
    server that runs it."""
    importers = sorted(path.name for path in (ROOT / "web").glob("*.py")
                       if any(module == "web.app" for _, module, _ in _imports(path)))
    assert importers == ["server.py"]
    assert any(module == "web.routes" and at_top
               for _, module, at_top in _imports(ROOT / "web" / "app.py"))
