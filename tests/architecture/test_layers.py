"""The package's dependencies point one way, read from the source with `ast` so they stay true."""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "dtflw"

# A layer below must not import any of these (at module level or inside functions).
FORBIDDEN = {
    "storage": ("dtflw.run", "dtflw.runtime", "dtflw.local", "dtflw.core", "dtflw.lineage", "dtflw.cli"),
    "lineage": ("dtflw.run", "dtflw.runtime", "dtflw.local", "dtflw.core", "dtflw.cli"),
    "events.py": ("dtflw.run", "dtflw.runtime", "dtflw.local", "dtflw.core", "dtflw.lineage", "dtflw.cli"),
    "errors.py": ("dtflw.",),
    "selection.py": ("dtflw.run", "dtflw.runtime", "dtflw.local", "dtflw.core", "dtflw.lineage", "dtflw.storage"),
    "runtime": ("dtflw.run", "dtflw.local", "dtflw.core", "dtflw.cli"),
    # the builder hands steps to an executor port (`dtflw.core.executor`): it never knows how they run
    "core": ("dtflw.run", "dtflw.local", "dtflw.engines", "dtflw.cli", "dtflw.deploy"),
    "run": ("dtflw.local", "dtflw.cli", "dtflw.deploy"),
    "expectations": (
        "dtflw.run",
        "dtflw.runtime",
        "dtflw.local",
        "dtflw.core",
        "dtflw.lineage",
        "dtflw.storage",
        "dtflw.cli",
    ),
}


def imported_modules(path: pathlib.Path) -> set[str]:
    """Every dtflw module a file imports (`from dtflw import x` counts as the package root)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module == "dtflw" and node.level == 0:
            submodules = {
                a.name for a in node.names if (PACKAGE / a.name).is_dir() or (PACKAGE / f"{a.name}.py").exists()
            }
            found |= {f"dtflw.{name}" for name in submodules}
            if len(submodules) < len(node.names):
                found.add("dtflw")  # a name defined by the package root itself
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name == "dtflw" or name.startswith("dtflw.")}


def files_of(layer: str) -> list[pathlib.Path]:
    target = PACKAGE / layer
    return sorted(target.rglob("*.py")) if target.is_dir() else [target]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer):
    offences = [
        f"{path.relative_to(PACKAGE.parent)} imports {module}"
        for path in files_of(layer)
        for module in imported_modules(path)
        if any(
            module == bad.rstrip(".") or module.startswith(bad if bad.endswith(".") else bad + ".") or module == bad
            for bad in FORBIDDEN[layer]
        )
    ]
    assert offences == []


def test_nothing_below_imports_the_package_root():
    """Only the package's faces — `dtflw/__init__.py`, the CLI, the pytest kit and pipeline files (which build
    their flow with the public API, as an orchestration notebook does) — may import names from `dtflw` itself;
    the layers below import the modules that define them."""
    faces = [*(PACKAGE / "testing").rglob("*.py"), PACKAGE / "pipeline_files" / "building.py"]
    allowed = {PACKAGE / "__init__.py", PACKAGE / "cli.py", *faces}
    offences = [
        str(path.relative_to(PACKAGE.parent))
        for path in PACKAGE.rglob("*.py")
        if path not in allowed and "dtflw" in imported_modules(path)
    ]
    assert offences == []


def test_the_layer_check_sees_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from dtflw.run.task import StepTask\n\nfrom dtflw import init_flow, storage\n")
    assert imported_modules(bad) == {"dtflw.run.task", "dtflw", "dtflw.storage"}
