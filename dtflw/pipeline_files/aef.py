"""`dtflw import aef`: a Google Analytics Engineering Framework (AEF) orchestration definition as a
pipeline file.

AEF runs its LEVELs in sequence, the THREADs of a level in parallel and the STEPs of a thread in
sequence. The pipeline keeps that order with explicit `dependencies`: each thread is a chain, and the
last steps of a level's threads come before the first steps of the next level's. `JOB_NAME` is the
notebook, `JOB_ID` the step's name, `STEP_PROPERTIES` (a JSON object) its args and
`ASYNC_TIMEOUT_LOOP_IN_MINUTES` its timeout; each step is tagged `level_<id>` (for `--select`)."""

from __future__ import annotations

import functools
import json
import posixpath
import re
from collections.abc import Callable
from typing import Any, NoReturn

from dtflw.errors import PipelineFileError
from dtflw.extras import extra
from dtflw.pipeline_files.loading import Key, read_document, where_in

_NOT_IN_NAME = re.compile(r"[\s\[\],>]+")
_DROPPED = ("TYPE", "FUNCTION_ID_NAME", "FUNCTION_STATUS_NAME", "WAIT_TIME_SECONDS")  # Cloud Functions' own


def import_aef(path: str, notebooks_dir: str = "") -> dict[str, Any]:
    """The pipeline document of the AEF definition file at `path`; notebooks are `JOB_NAME`s under
    `notebooks_dir` (relative to where the pipeline file will be)."""
    data, lines, problems = read_document(path)
    if problems:
        raise PipelineFileError("\n".join(problems))

    def fail(key: Key, message: str) -> NoReturn:
        raise PipelineFileError(
            f"{where_in(path, lines, key)}: {message} (AEF definition: levels of threads of steps)."
        )

    levels = data.get("definition") if isinstance(data, dict) else None
    if not isinstance(levels, list) or not levels:
        fail(("definition",), "expected a non-empty list of LEVELs under 'definition'")
    steps: list[dict[str, Any]] = []
    dependencies: list[str] = []
    previous_ends: list[str] = []
    taken: set[str] = set()
    for n, level in enumerate(levels):
        threads = level.get("THREADS") if isinstance(level, dict) else None
        if not isinstance(threads, list) or not threads:
            fail(("definition", n), "a LEVEL needs a non-empty list of THREADS")
        level_id = str(level.get("LEVEL_ID", n + 1))
        starts: list[str] = []
        ends: list[str] = []
        for t, thread in enumerate(threads):
            thread_steps = thread.get("STEPS") if isinstance(thread, dict) else None
            if not isinstance(thread_steps, list) or not thread_steps:
                fail(("definition", n, "THREADS", t), "a THREAD needs a non-empty list of STEPS")
            names: list[str] = []
            for s, step in enumerate(thread_steps):
                key = ("definition", n, "THREADS", t, "STEPS", s)
                if not isinstance(step, dict) or not isinstance(step.get("JOB_NAME"), str) or not step["JOB_NAME"]:
                    fail(key, "a STEP needs a JOB_NAME (the notebook to run)")
                spec = _step(step, notebooks_dir, level_id, _unique(str(step.get("JOB_ID") or step["JOB_NAME"]), taken))
                if "STEP_PROPERTIES" in step:
                    spec["args"] = _args(step["STEP_PROPERTIES"], functools.partial(fail, key + ("STEP_PROPERTIES",)))
                steps.append(spec)
                names.append(spec["name"])
            if len(names) > 1:
                dependencies.append(" >> ".join(names))
            starts.append(names[0])
            ends.append(names[-1])
        if previous_ends:
            dependencies.append(f"{_group(previous_ends)} >> {_group(starts)}")
        previous_ends = ends
    document: dict[str, Any] = {"steps": steps}
    if dependencies:
        document["dependencies"] = dependencies
    return document


def pipeline_text(document: dict[str, Any], source: str) -> str:
    """The pipeline as YAML, with a header saying where it came from."""
    with extra("pipelines", "Writing a pipeline file"):
        import yaml

    header = (
        f"# Imported by `dtflw import aef` from {posixpath.basename(source)}: LEVELs in sequence, THREADs of a\n"
        "# level in parallel, STEPs of a thread in sequence (see `dependencies`).\n"
        f"# Not imported (Cloud Functions' own): {', '.join(_DROPPED)}.\n"
        "# Check it with `dtflw pipeline check`; `dtflw pipeline schema` prints its format for editors.\n"
    )
    text: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)
    return header + text


def _step(step: dict[str, Any], notebooks_dir: str, level_id: str, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "notebook": posixpath.join(notebooks_dir, step["JOB_NAME"])}
    spec["tags"] = [f"level_{level_id}"]
    minutes = str(step.get("ASYNC_TIMEOUT_LOOP_IN_MINUTES", "")).strip()
    if minutes.isdecimal() and int(minutes):
        spec["timeout"] = int(minutes) * 60
    return spec


def _args(properties: object, fail: Callable[[str], NoReturn]) -> dict[str, str | int | float | bool]:
    """STEP_PROPERTIES, a JSON object (as text or not), as notebook args: text, lists and objects as JSON."""
    if isinstance(properties, str):
        try:
            properties = json.loads(properties)
        except json.JSONDecodeError as e:
            fail(f"not a JSON object: {e.msg}")
        except (RecursionError, ValueError) as e:  # nested past Python's stack; a number of thousands of digits
            fail(f"not a JSON object: {e}")
    if not isinstance(properties, dict):
        fail("not a JSON object")
    return {
        str(k): v if isinstance(v, str | int | float | bool) else json.dumps(v, default=str)
        for k, v in properties.items()
        if v is not None
    }


def _unique(name: str, taken: set[str]) -> str:
    base = _NOT_IN_NAME.sub("_", name)
    unique, n = base, 1
    while unique in taken:
        n += 1
        unique = f"{base}_{n}"
    taken.add(unique)
    return unique


def _group(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"[{', '.join(names)}]"
