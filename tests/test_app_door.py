"""Pages reach the engine through one door (`gan_core.app`), and no module imports another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import gan_core.app as app

ROOT = Path(__file__).resolve().parents[1]
VIEWS = [ROOT / "dashboard.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "ui").glob("*.py"))]
SOURCES = [
    *VIEWS,
    ROOT / "launch.py",
    *sorted((ROOT / "gan_core").rglob("*.py")),
    *sorted((ROOT / "benchmarks").glob("*.py")),
    *sorted((ROOT / "examples").glob("*.py")),
    *sorted((ROOT / "scripts").glob("*.py")),
]


def imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) for every ``from module import name`` and ``import module`` (name "")."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
    return found


def test_pages_import_the_engine_only_through_gan_core_app():
    assert len(VIEWS) >= 8
    leaks = {
        f"{path.relative_to(ROOT)}: {module} {name}".strip()
        for path in VIEWS
        for module, name in imports(path)
        if (module == "gan_core" and name not in ("app",))
        or (module.startswith("gan_core.") and module != "gan_core.app")
    }
    assert not leaks, sorted(leaks)
    # and the door offers no training machinery
    assert not {"Runner", "Trainer", "RECORD_COLUMNS"} & set(app.__all__)
    assert all(hasattr(app, name) for name in app.__all__)


def test_no_module_imports_another_modules_private_names():
    private = {
        f"{path.relative_to(ROOT)}: from {module} import {name}"
        for path in SOURCES
        for module, name in imports(path)
        if name.startswith("_") and not name.startswith("__") and module.split(".")[0] in ("gan_core", "ui")
    }
    assert not private, sorted(private)
