"""The package's dependencies point one way, read from the source with `ast` so they stay true."""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "dtflw"

# The faces: the composition root (`session`), the 0.6 shell (`compat`), the commands, the export, the pytest
# kit. Nothing below them imports one.
FACES = ("dtflw.session", "dtflw.compat", "dtflw.cli", "dtflw.deploy", "dtflw.testing")
ENGINE_SIDE = ("dtflw.engines", "dtflw.local")

# A layer must not import any of these (at module level or inside functions).
FORBIDDEN = {
    "storage": ("dtflw.run", "dtflw.runtime", "dtflw.core", "dtflw.lineage", *ENGINE_SIDE, *FACES),  # knows no engine
    "lineage": ("dtflw.run", "dtflw.runtime", "dtflw.core", *ENGINE_SIDE, *FACES),
    "events.py": ("dtflw.run", "dtflw.runtime", "dtflw.core", "dtflw.lineage", *ENGINE_SIDE, *FACES),
    "errors.py": ("dtflw.",),
    "selection.py": (
        "dtflw.run",
        "dtflw.runtime",
        "dtflw.core",
        "dtflw.lineage",
        "dtflw.storage",
        *ENGINE_SIDE,
        *FACES,
    ),
    # the notebook's side: its identity, the callee's widgets, a job task's record; it uses the core's contracts
    "runtime": ("dtflw.run", *ENGINE_SIDE, *FACES),
    # the builder hands steps to an executor port (`dtflw.core.executor`) and gets its runtime handed in (a
    # `NotebookRuntime`): it never knows how it is run
    "core": ("dtflw.run", "dtflw.runtime", *ENGINE_SIDE, *FACES),
    "run": (*ENGINE_SIDE, *FACES),
    "expectations": (
        "dtflw.run",
        "dtflw.runtime",
        "dtflw.core",
        "dtflw.lineage",
        "dtflw.storage",
        *ENGINE_SIDE,
        *FACES,
    ),
    "engines": ("dtflw.run", "dtflw.core", "dtflw.lineage", "dtflw.local", *FACES),  # an engine runs Spark, no flow
    "local": ("dtflw.run", *FACES),  # the emulated workspace knows no planner
    "pipeline_files": ("dtflw.run", *ENGINE_SIDE, *FACES),
    "compat": ("dtflw.session", "dtflw.cli", "dtflw.deploy", "dtflw.testing", *ENGINE_SIDE),
    "deploy": ("dtflw.cli", "dtflw.testing", "dtflw.compat", "dtflw.engines"),
    "session": ("dtflw.cli", "dtflw.deploy", "dtflw.testing"),
    # a step's run records (laziness): read and written on a storage, below every layer that runs
    "incremental": ("dtflw.run", "dtflw.runtime", "dtflw.core", "dtflw.lineage", *ENGINE_SIDE, *FACES),
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


def test_every_module_of_the_package_is_under_a_rule():
    """A new room (or a module in the package root) gets its rule here, so no layer escapes the check."""
    rooms = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    rooms |= {p.name for p in PACKAGE.glob("*.py")}
    unruled = rooms - set(FORBIDDEN) - {"__init__.py", "cli", "testing", "version.py"} - FLAT_BELOW
    assert sorted(unruled) == []


# Small modules of the package root the layers share (no dtflw import above the storage).
FLAT_BELOW = {
    "extras.py",
    "gc_pause.py",
    "interrupts.py",
    "listeners.py",
    "secrets.py",
}


@pytest.mark.parametrize("module", sorted(FLAT_BELOW))
def test_a_shared_module_of_the_root_imports_no_layer_above_the_storage(module):
    above = ("dtflw.run", "dtflw.runtime", "dtflw.core", "dtflw.lineage", *ENGINE_SIDE, *FACES)
    offences = [
        m for m in imported_modules(PACKAGE / module) if any(m == bad or m.startswith(bad + ".") for bad in above)
    ]
    assert offences == []


def test_nothing_below_imports_the_package_root():
    """Only the package's faces — `dtflw/__init__.py`, the CLI, the pytest kit and pipeline files (which build
    their flow with the public API, as an orchestration notebook does) — may import names from `dtflw` itself;
    the layers below import the modules that define them."""
    faces = [*(PACKAGE / "testing").rglob("*.py"), PACKAGE / "pipeline_files" / "building.py"]
    allowed = {PACKAGE / "__init__.py", *(PACKAGE / "cli").rglob("*.py"), *faces}
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
