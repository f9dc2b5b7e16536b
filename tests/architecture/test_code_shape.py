"""The shape of the code, read with `ast`: short functions."""

from __future__ import annotations

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "dtflw"
MAX_LINES = 60


def long_functions(root: pathlib.Path, limit: int = MAX_LINES) -> list[str]:
    """`file:function (n lines)` for each function or method of more than `limit` lines under `root`."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > limit:
                    found.append(f"{path.relative_to(root.parent)}:{node.name} ({lines} lines)")
    return found


def test_no_function_of_the_package_is_over_60_lines():
    assert long_functions(PACKAGE) == []


def test_the_check_sees_a_long_function(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_LINES))
    (tmp_path / "m.py").write_text(f"def short():\n    pass\n\n\ndef long():\n{body}")
    assert long_functions(tmp_path) == [f"{tmp_path.name}/m.py:long ({MAX_LINES + 1} lines)"]
