"""Reading a pipeline file: YAML or JSON, checked against the published JSON Schema and for what a schema
cannot say (unique step names, known dependencies, no cycle); every problem names the file, line and key."""

from __future__ import annotations

import datetime
import difflib
import functools
import graphlib
import json
import os
import re
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dtflw.errors import PipelineFileError
from dtflw.pipeline_files import SCHEMA_FILE
from dtflw.pipeline_files.chains import chain_edges

if TYPE_CHECKING:
    import yaml

MAX_PROBLEMS = 10
MAX_PROBLEM_LENGTH = 200  # characters of one problem: ten of them and the header stay under 2 KB
_TEXT_TAG, _MERGE_TAG = "tag:yaml.org,2002:str", "tag:yaml.org,2002:merge"
_KINDS = {  # what YAML reads an unquoted key as, by its tag
    "int": "a number",
    "float": "a number",
    "bool": "true or false",
    "null": "null",
    "timestamp": "a date",
    "binary": "bytes",
}
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
PARAM_REFERENCE = re.compile(r"\$\{([^}]*)\}")  # ${name}: a pipeline parameter in a value
_PATTERN_MEANING = {  # a schema pattern → what it asks for, in words
    ">>": "a chain of step names such as 'load >> [clean, check] >> report'",
    "^[A-Za-z_][A-Za-z0-9_]*$": "a parameter name: letters, digits and _, not starting with a digit",
    "^[^\\s\\[\\],>]+$": "a step name: no spaces, brackets, commas or '>'",
    "^[A-Za-z0-9_][A-Za-z0-9_.\\-]*$": "a table name: letters, digits, _ . and -, not starting with . or -",
}

Key = tuple[str | int, ...]  # a path into the document: ("steps", 2, "inputs", 0)
Lines = dict[Key, int]  # the 1-based line of each key


@dataclass(frozen=True)
class PipelineFile:
    """A valid pipeline file: its path, its content and the line of each key."""

    path: str
    data: dict[str, Any]
    lines: Lines

    @property
    def name(self) -> str:
        name: str = self.data.get("name") or os.path.splitext(os.path.basename(self.path))[0]
        return name

    @property
    def steps(self) -> list[dict[str, Any]]:
        steps: list[dict[str, Any]] = self.data["steps"]
        return steps

    def step_name(self, index: int) -> str:
        step = self.steps[index]
        name: str = step.get("name") or step["notebook"]
        return name

    def where(self, key: Key) -> str:
        """`file:line: key` of a key, for messages."""
        return where_in(self.path, self.lines, key)


def load_pipeline(path: str) -> PipelineFile:
    """Read and check the pipeline file at `path`; raises `PipelineFileError` listing every problem."""
    data, lines, problems = read_document(path)
    if not problems:
        data = _dates_as_text(data)
        found = _schema_problems(data) or _meaning_problems(PipelineFile(path, data, lines))
        found.sort(key=lambda problem: _line(lines, problem[0]))
        problems = [f"{where_in(path, lines, key)}: {message}" for key, message in found]
    if problems:
        shown = [_clipped(problem) for problem in problems[:MAX_PROBLEMS]] + (
            [f"… and {len(problems) - MAX_PROBLEMS} more"] if problems[MAX_PROBLEMS:] else []
        )
        raise PipelineFileError(
            f"Pipeline file {path} is not valid ({len(problems)} problem{'s' * (len(problems) > 1)}):\n  "
            + "\n  ".join(shown)
            + "\nFix the file; `dtflw pipeline schema` prints the format (editors complete it from that schema)."
        )
    return PipelineFile(path, data, lines)


@functools.cache
def schema() -> dict[str, Any]:
    """The published JSON Schema of pipeline files."""
    with open(SCHEMA_FILE, encoding="utf-8") as f:
        published: dict[str, Any] = json.load(f)
        return published


# -- parsing ---------------------------------------------------------------------------------
def read_document(path: str) -> tuple[Any, Lines, list[str]]:
    """A YAML or JSON file's content, the line of each key in it, and its syntax problems."""
    try:
        import jsonschema  # noqa: F401 (checked here: a missing extra is told before anything else)
        import yaml  # noqa: F401
    except ImportError as e:
        raise PipelineFileError(f"Reading pipeline file {path} needs {e.name}: pip install 'dtflw[pipelines]'.") from e
    try:
        with open(path, "rb") as f:
            content = f.read()
    except OSError as e:
        raise PipelineFileError(f"File {path!r} cannot be read: {e.strerror or e}.") from e
    text = _utf8_text(path, content)
    return _parse_json(path, text) if path.lower().endswith(".json") else _parse_yaml(path, text)


def _utf8_text(path: str, content: bytes) -> str:
    """The file's text; a file that is not UTF-8 is refused, naming the first byte that is not."""
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as e:
        line = content.count(b"\n", 0, e.start) + 1
        raise PipelineFileError(
            f"File {path!r} is not UTF-8 text: byte 0x{content[e.start]:02x} at offset {e.start} (line {line}) "
            "does not decode; save the file as UTF-8."
        ) from None


def _parse_yaml(path: str, text: str) -> tuple[object, Lines, list[str]]:
    import yaml

    from dtflw.pipeline_files.bounded_yaml import BoundedLoader

    loader = None
    try:
        loader = BoundedLoader(text)  # it refuses characters YAML does not take (a NUL…) at once
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        return None, {}, [f"{path}:{mark.line + 1 if mark else '?'}: not valid YAML: {_clipped(e.problem or e)}"]
    except (yaml.YAMLError, ValueError) as e:  # ValueError: a date, number or tag's value YAML cannot make
        return None, {}, [f"{path}: not valid YAML: {_clipped(e)}"]
    finally:
        if loader is not None:
            loader.dispose()
    lines: Lines = {}
    problems: list[str] = []
    if node is not None:
        _index_lines(node, (), lines, problems, path)
    return data, lines, problems


def _parse_json(path: str, text: str) -> tuple[object, Lines, list[str]]:
    import yaml

    from dtflw.pipeline_files.bounded_yaml import MAX_DEPTH, BoundedLoader, YamlBoundError

    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        return None, {}, [f"{path}:{e.lineno}: not valid JSON: {e.msg}"]
    except RecursionError:  # nested past Python's stack
        return None, {}, [f"{path}: not valid JSON: nested more than {MAX_DEPTH} deep"]
    except ValueError as e:  # a number of thousands of digits
        return None, {}, [f"{path}: not valid JSON: {_clipped(e)}"]
    if _depth(data) > MAX_DEPTH:
        return None, {}, [f"{path}: not valid JSON: nested more than {MAX_DEPTH} deep"]
    lines: Lines = {}
    try:  # JSON is YAML: its nodes give the lines
        node = yaml.compose(text, Loader=BoundedLoader)
    except YamlBoundError as e:
        return None, {}, [f"{path}:{e.problem_mark.line + 1}: not valid JSON: {e.problem}"]
    except yaml.YAMLError:
        return data, lines, []  # no line numbers, then
    problems: list[str] = []
    if node is not None:
        _index_lines(node, (), lines, problems, path)
    return data, lines, problems


def _index_lines(node: yaml.Node, key: Key, lines: Lines, problems: list[str], path: str) -> None:
    """Record the 1-based line of every key under `node`; a key given twice in a mapping is a problem."""
    import yaml

    lines[key] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            name = key_node.value
            if key_node.tag not in (_TEXT_TAG, _MERGE_TAG):
                problems.append(
                    f"{path}:{key_node.start_mark.line + 1}: {_dotted(key) or 'top level'}: {_not_text(key_node)}"
                )
                continue
            if name in seen:
                problems.append(f"{path}:{key_node.start_mark.line + 1}: {_dotted(key + (name,))}: given twice")
            seen.add(name)
            _index_lines(value_node, key + (name,), lines, problems, path)
            lines[key + (name,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, key + (index,), lines, problems, path)


def _not_text(key_node: yaml.Node) -> str:
    """Why a key YAML reads as something else than text (`on:` is true, `1:` a number) is refused."""
    kind = _KINDS.get(key_node.tag.rsplit(":", 1)[-1], key_node.tag)  # a scalar: a list or mapping is unhashable
    return f"a key must be text, and YAML reads {_shown(key_node.value)} as {kind}; quote it"


def _depth(value: object) -> int:
    """How deep lists and mappings nest in `value` (without recursion: it may nest thousands deep)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            pending += [(item, depth + 1) for item in (value.values() if isinstance(value, dict) else value)]
    return deepest


def _shown(value: object) -> str:
    """A value as a message shows it: its repr, cut short."""
    return _REPR.repr(value)


def _clipped(message: object) -> str:
    text = str(message)
    return text if len(text) <= MAX_PROBLEM_LENGTH else text[: MAX_PROBLEM_LENGTH - 1] + "…"


def _dates_as_text(value: Any) -> Any:  # a document as read: not yet checked against the schema
    """YAML reads `2024-01-31` as a date; in a pipeline file it is text, as a widget value is."""
    if isinstance(value, dict):
        return {k: _dates_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(v) for v in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


# -- checking --------------------------------------------------------------------------------
def _schema_problems(data: object) -> list[tuple[Key, str]]:
    import jsonschema

    return [_describe(error) for error in jsonschema.Draft202012Validator(schema()).iter_errors(data)]


def _describe(error: Any) -> tuple[Key, str]:  # a jsonschema.ValidationError (jsonschema has no types here)
    """The key a schema error is about and what is wrong, in words."""
    key = tuple(error.absolute_path)
    value = error.instance
    if error.validator in ("anyOf", "oneOf") and error.context:
        closer = [e for e in error.context if e.validator != "type" or e.relative_path]
        if closer:  # the value took a branch's shape (an object, say) and is wrong inside it
            return _describe(max(closer, key=lambda e: len(e.absolute_path)))
        kinds = " or ".join(dict.fromkeys(_kind(e.schema) for e in error.context))
        return key, f"must be {kinds}, not {_shown(value)}"
    if error.validator == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        unknown = [k for k in value if k not in allowed]
        if unknown:
            key = key + (unknown[0],)
            close = difflib.get_close_matches(unknown[0], allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(allowed)})"
            return key, f"unknown key '{unknown[0]}'{hint}"
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in value]
        return key, f"missing key '{missing[0]}'"
    if error.validator == "pattern":
        meaning = _PATTERN_MEANING.get(error.validator_value, f"text matching {error.validator_value}")
        return key, f"{_shown(value)} is not {meaning}"
    if error.validator == "type":
        return key, f"must be {_kind(error.schema)}, not {_shown(value)}"
    return key, error.message


def _kind(subschema: dict[str, Any]) -> str:
    kinds = subschema.get("type") or ("a table name" if "$ref" in subschema else "something else")
    names = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false"}
    names |= {"object": "a mapping", "array": "a list"}
    return " or ".join(names.get(k, k) for k in ([kinds] if isinstance(kinds, str) else kinds))


def _meaning_problems(pipeline: PipelineFile) -> list[tuple[Key, str]]:
    """What the schema cannot check: unique names, known steps and parameters, no cycle of `after`s."""
    problems: list[tuple[Key, str]] = []
    names: dict[str, int] = {}
    for index in range(len(pipeline.steps)):
        name = pipeline.step_name(index)
        if name in names:
            key: Key = ("steps", index, "name" if "name" in pipeline.steps[index] else "notebook")
            problems.append((key, f"step name '{name}' is taken by steps[{names[name]}]; give one a `name:`"))
        names.setdefault(name, index)
    edges: list[tuple[str, str, Key]] = []
    params = pipeline.data.get("params", {})
    for index, step in enumerate(pipeline.steps):
        this = pipeline.step_name(index)
        edges += [(before, this, ("steps", index, "after", n)) for n, before in enumerate(step.get("after", []))]
        for arg, value in step.get("args", {}).items():
            problems += _unknown_params(("steps", index, "args", arg), value, params)
        for n, table in enumerate(step.get("inputs", [])):
            if isinstance(table, dict) and "file_path" in table:
                problems += _unknown_params(("steps", index, "inputs", n, "file_path"), table["file_path"], params)
    for n, chain in enumerate(pipeline.data.get("dependencies", [])):
        try:
            edges += [(before, after, ("dependencies", n)) for before, after in chain_edges(chain)]
        except ValueError as e:
            problems.append((("dependencies", n), str(e)))
    for before, after, key in edges:
        for name in (before, after):
            if name not in names:
                close = difflib.get_close_matches(name, list(names), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                problems.append((key, f"no step is named '{name}'{hint}"))
        if before == after:
            problems.append((key, f"step '{before}' cannot run after itself"))
    if not problems:
        problems += _cycle(edges)
    return problems


def _unknown_params(key: Key, value: object, params: Mapping[str, object]) -> list[tuple[Key, str]]:
    if not isinstance(value, str):
        return []
    unknown = [name for name in PARAM_REFERENCE.findall(value) if name not in params]
    return [(key, f"${{{name}}} is not a parameter of the pipeline; declare it under `params:`") for name in unknown]


def _cycle(edges: list[tuple[str, str, Key]]) -> list[tuple[Key, str]]:
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for before, after, _ in edges:
        sorter.add(after, before)
    try:
        sorter.prepare()
    except graphlib.CycleError as e:
        cycle = e.args[1]
        key = next(k for before, after, k in edges if before in cycle and after in cycle)
        return [(key, f"the steps wait for each other: {' >> '.join(reversed(cycle))}")]
    return []


def where_in(path: str, lines: Lines, key: Key) -> str:
    """`file:line: key` of a key in a file read by `read_document`."""
    return f"{path}:{_line(lines, key)}: {_dotted(key)}" if key else f"{path}:{_line(lines, key)}"


def _line(lines: Lines, key: Key) -> int:
    """The line of `key`, else of the nearest key holding it (a missing key: its mapping's)."""
    while key not in lines and key:
        key = key[:-1]
    return lines.get(key, 1)


def _dotted(key: Key) -> str:
    text = ""
    for part in key:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
