"""Databricks notebooks parsed into cells: the `.py` and `.sql` source exports, and `.ipynb`.

Source exports start with `# Databricks notebook source` (`-- ` in SQL) and separate cells with
`# COMMAND ----------` lines; cells of another language than the notebook's have every line prefixed
with `# MAGIC ` and start with a magic line such as `%sql`, `%md` or `%run ./x $a=1`; a cell may start
with a `# DBTITLE 1,Title` line. A `.py` or `.sql` file without the header is a plain file to Databricks;
dtflw accepts it as a notebook of one cell holding the whole file verbatim.

Line numbers: a cell's `source` starts on line `first_line` and each of its lines stands on the next line,
so `compile("\\n" * (cell.first_line - 1) + cell.source, path, "exec")` reports the lines of the file (of
the cell, in an `.ipynb`).
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, overload

from dtflw.errors import MalformedCellError, NotANotebookError, NotebookNotFoundError

NOTEBOOK_EXTENSIONS = (".py", ".sql", ".ipynb")

MAGIC_LANGUAGES = {
    "python": "python",
    "sql": "sql",
    "md": "markdown",
    "md-sandbox": "markdown",
    "run": "run",
    "pip": "pip",
    "sh": "sh",
    "fs": "fs",
    "scala": "scala",
    "r": "r",
}
"""The cell language of each magic command (`%md` → "markdown")."""

_SOURCE_KINDS = {"py": ("#", "python"), "sql": ("--", "sql")}  # kind → (comment marker, notebook language)
_IPYNB_LANGUAGES = ("python", "sql", "scala", "r")
_MAGIC_LINE = re.compile(r"%([\w-]+)(\s.*)?$")

_Line = tuple[int, str]  # (line number, text)


@dataclass(frozen=True)
class Cell:
    """One cell of a notebook, with its magic line and `# MAGIC` prefixes removed."""

    index: int
    language: str
    source: str
    first_line: int
    title: str | None = None
    run_target: str | None = None
    run_args: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class NotebookSource:
    """A parsed notebook: its file, default language and cells in order."""

    path: str
    language: str
    cells: tuple[Cell, ...]


def find_notebook_file(base: str) -> str | None:
    """The first existing notebook file among `base`, `base.py`, `base.sql` and `base.ipynb`."""
    candidates = [base] if base.endswith(NOTEBOOK_EXTENSIONS) else []
    for path in candidates + [base + extension for extension in NOTEBOOK_EXTENSIONS]:
        if os.path.isfile(path):
            return path
    return None


def parse_notebook(path: str) -> NotebookSource:
    """Read and parse the notebook file at `path`."""
    kind = os.path.splitext(path)[1].lstrip(".").lower()
    if "." + kind not in NOTEBOOK_EXTENSIONS:
        raise NotANotebookError(
            f"{path!r} is not a notebook: notebooks are {', '.join(NOTEBOOK_EXTENSIONS)} files. "
            "Point to the notebook's file or rename it."
        )
    if not os.path.exists(path):
        raise NotebookNotFoundError(f"Notebook file {path!r} does not exist.")
    try:
        with open(path, encoding="utf-8-sig") as file:
            text = file.read()
    except (UnicodeDecodeError, IsADirectoryError) as e:
        raise NotANotebookError(f"{path!r} is not a notebook: it is not a UTF-8 text file ({e}).") from None
    return parse_text(text, kind, path)


def parse_text(text: str, kind: str, path: str = "<notebook>") -> NotebookSource:
    """Parse notebook text of `kind` "py", "sql" or "ipynb"; `path` names it in cells' errors."""
    text = _normalize_newlines(text.removeprefix("\ufeff"))
    if kind == "ipynb":
        return _parse_ipynb(text, path)
    if kind not in _SOURCE_KINDS:
        raise NotANotebookError(f"Cannot parse {path!r} as a notebook of kind {kind!r}: use 'py', 'sql' or 'ipynb'.")
    comment, language = _SOURCE_KINDS[kind]
    lines = text.split("\n")
    if lines[0].rstrip() != f"{comment} Databricks notebook source":
        return NotebookSource(path, language, (Cell(1, language, text, 1),))
    starts: list[int] = [2]  # the line each cell starts on
    regions: list[list[_Line]] = [[]]  # and its lines
    for number, line in enumerate(lines[1:], start=2):
        if line.rstrip() == f"{comment} COMMAND ----------":
            starts.append(number + 1)
            regions.append([])
        else:
            regions[-1].append((number, line))
    cells = (
        _source_cell(index, region, start, comment, language, path)
        for index, (start, region) in enumerate(zip(starts, regions), start=1)
    )
    return NotebookSource(path, language, tuple(cells))


def split_sql_statements(text: str) -> list[str]:
    """The statements of SQL text split at `;`, ignoring those in quotes ('', "", ``) and comments (--, /* */).

    Statements are stripped and lose their `;`; those holding only comments are dropped.
    """
    statements: list[str] = []
    start = position = 0
    has_code = False
    while position < len(text):
        char = text[position]
        if char in "'\"`":
            position = _after_quoted(text, position)
            has_code = True
        elif text.startswith("--", position):
            end = text.find("\n", position)
            position = len(text) if end < 0 else end
        elif text.startswith("/*", position):
            position = _after_block_comment(text, position)
        else:
            if char == ";":
                if has_code:
                    statements.append(text[start:position].strip())
                start, has_code = position + 1, False
            elif not char.isspace():
                has_code = True
            position += 1
    if has_code:
        statements.append(text[start:].strip())
    return statements


def _after_quoted(text: str, position: int) -> int:
    """The position after the string or identifier quoted at `position` (backslash escapes in '' and "")."""
    quote = text[position]
    position += 1
    while position < len(text):
        if text[position] == "\\" and quote != "`":
            position += 2
        elif text[position] == quote:
            return position + 1
        else:
            position += 1
    return len(text)


def _after_block_comment(text: str, position: int) -> int:
    """The position after the (possibly nested) `/* */` comment opening at `position`."""
    depth = 0
    while position < len(text):
        if text.startswith("/*", position):
            depth, position = depth + 1, position + 2
        elif text.startswith("*/", position):
            depth, position = depth - 1, position + 2
            if depth == 0:
                return position
        else:
            position += 1
    return len(text)


def _source_cell(index: int, region: list[_Line], start: int, comment: str, language: str, path: str) -> Cell:
    """A cell of a source export from its lines; `start` is the line it starts on."""
    lines = _strip_blank(region)
    title = None
    if lines and (match := re.match(rf"{re.escape(comment)} DBTITLE \d+,(.*)$", lines[0][1])):
        title = match.group(1).strip() or None
        lines = _strip_blank(lines[1:])
    magic = f"{comment} MAGIC"
    if lines and _strip_magic(lines[0][1], magic, None) is not None:
        lines = [(number, _strip_magic(text, magic, text)) for number, text in lines]
    return _cell(index, lines, start, language, title, path)


@overload
def _strip_magic(line: str, magic: str, default: str) -> str: ...
@overload
def _strip_magic(line: str, magic: str, default: None) -> str | None: ...


def _strip_magic(line: str, magic: str, default: str | None) -> str | None:
    """The text of a `# MAGIC ` line ("" for a bare `# MAGIC`), or `default` if `line` is not one."""
    if line.startswith(magic + " "):
        return line[len(magic) + 1 :]
    return "" if line.rstrip() == magic else default


def _cell(index: int, lines: list[_Line], fallback_line: int, language: str, title: str | None, path: str) -> Cell:
    """A cell from its body, whose first line may be a magic command (`%sql`, `%run ./x $a=1`, ...)."""
    lines = _strip_blank(lines)
    run_target: str | None = None
    run_args: dict[str, str] = {}
    match = _MAGIC_LINE.match(lines[0][1]) if lines else None
    if match and match.group(1) in MAGIC_LANGUAGES:
        language = MAGIC_LANGUAGES[match.group(1)]
        number, rest = lines[0][0], (match.group(2) or "").strip()
        if language == "run":
            run_target, run_args = _run_command(rest, lines[1:], f"{path}:{number} (cell {index})")
        fallback_line = number if rest else number + 1
        lines = _strip_blank(([(number, rest)] if rest else []) + lines[1:])
    first_line = lines[0][0] if lines else fallback_line
    source = "\n".join(text for _, text in lines)
    return Cell(index, language, source, first_line, title, run_target, run_args)


def _run_command(command: str, following: list[_Line], where: str) -> tuple[str, dict[str, str]]:
    """The notebook path and `$name=value` arguments of a `%run` command (shell quoting, as in `$a="x y"`)."""
    usage = 'Write it as `%run ./path/to/notebook $name=value $other="a value"`, alone in its cell.'
    if any(text.strip() for _, text in following):
        raise MalformedCellError(f"{where}: `%run` must be alone in its cell; move the other lines to a new cell.")
    try:
        words = shlex.split(command)
    except ValueError as e:
        raise MalformedCellError(f"{where}: cannot read `%run {command}` ({e}). {usage}") from None
    if not words:
        raise MalformedCellError(f"{where}: `%run` names no notebook. {usage}")
    target, *pairs = words
    arguments = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not (name.startswith("$") and len(name) > 1 and equals):
            raise MalformedCellError(f"{where}: `%run` argument {pair!r} is not of the form $name=value. {usage}")
        arguments[name[1:]] = value
    return target, arguments


def _strip_blank(lines: list[_Line]) -> list[_Line]:
    """`lines` without their leading and trailing blank lines."""
    filled = [i for i, (_, text) in enumerate(lines) if text.strip()]
    return lines[filled[0] : filled[-1] + 1] if filled else []


def _normalize_newlines(text: str) -> str:
    """`text` with Windows and old Mac line ends turned into `\\n`, as Python reads source files."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _parse_ipynb(text: str, path: str) -> NotebookSource:
    """A Jupyter (nbformat 4) notebook, as Databricks exports it; line numbers count within each cell."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        raise NotANotebookError(f"{path!r} is not a notebook: invalid JSON ({e}). Export it again.") from None
    if not (isinstance(document, dict) and isinstance(document.get("cells"), list)):
        raise NotANotebookError(
            f"{path!r} is not a notebook: an .ipynb file needs a top-level 'cells' list (nbformat 4). Export it again."
        )
    language = _ipynb_language(document.get("metadata") or {}, path)
    cells = []
    for index, raw in enumerate(document["cells"], start=1):
        if not (isinstance(raw, dict) and raw.get("cell_type") in ("code", "markdown", "raw")):
            raise NotANotebookError(f"{path!r} is not a notebook: cell {index} is not a code or markdown cell.")
        source = raw.get("source") or ""
        source = "".join(source) if isinstance(source, list) else source
        if not isinstance(source, str):
            raise NotANotebookError(f"{path!r} is not a notebook: the source of cell {index} is not text.")
        lines = list(enumerate(_normalize_newlines(source).split("\n"), start=1))
        title = ((raw.get("metadata") or {}).get("application/vnd.databricks.v1+cell") or {}).get("title") or None
        if raw["cell_type"] == "code":
            cells.append(_cell(index, lines, 1, language, title, path))
        elif raw["cell_type"] == "markdown":
            lines = _strip_blank(lines)
            first_line = lines[0][0] if lines else 1
            cells.append(Cell(index, "markdown", "\n".join(text for _, text in lines), first_line, title))
        # raw cells are never run
    return NotebookSource(path, language, tuple(cells))


def _ipynb_language(metadata: dict[str, Any], path: str) -> str:
    """The default language of an .ipynb: Databricks' metadata, else Jupyter's, else python."""
    language = str(
        (metadata.get("application/vnd.databricks.v1+notebook") or {}).get("language")
        or (metadata.get("language_info") or {}).get("name")
        or (metadata.get("kernelspec") or {}).get("language")
        or "python"
    ).lower()
    if language not in _IPYNB_LANGUAGES:
        raise NotANotebookError(
            f"{path!r} is a {language} notebook: Databricks notebooks are in {', '.join(_IPYNB_LANGUAGES)}."
        )
    return language
