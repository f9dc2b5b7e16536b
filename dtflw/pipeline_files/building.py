"""A pipeline file's flow, built with the public builder exactly as an orchestration notebook builds it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dtflw import init_args, init_flow
from dtflw.core.widget_names import check_unused_arguments
from dtflw.errors import ArgumentError, DagError, ExpectationError, PipelineFileError
from dtflw.pipeline_files.chains import chain_edges
from dtflw.pipeline_files.loading import PARAM_REFERENCE, PipelineFile
from dtflw.runtime import current_runtime

if TYPE_CHECKING:
    from dtflw.core.flow import Flow
    from dtflw.core.step import LazyNotebook


def run_pipeline_file(pipeline: PipelineFile) -> str:
    """Build the pipeline's flow in the running notebook, run its steps as one DAG, end the flow; returns
    a JSON object of each step's exit value and the path of each table published."""
    defaults = {name: _text(value) for name, value in pipeline.data.get("params", {}).items()}
    params = {name: arg.value for name, arg in init_args(defaults).items()}
    _check_arguments_now()
    with init_flow(pipeline.data.get("storage")) as flow:
        steps = build_steps(pipeline, flow, params)
        dag = flow.dag(workers=pipeline.data.get("workers", 4))
        for index, nb in enumerate(steps.values()):
            try:
                dag.add(nb, is_lazy=pipeline.steps[index].get("lazy", False))
            except DagError as e:  # what only the DAG checks (e.g. two steps writing one table)
                raise PipelineFileError(f"{pipeline.where(('steps', index))}: {e}") from e
        dag.run()
        published = [out.alias or out.name for nb in steps.values() for out in nb.get_outputs().values()]
        return json.dumps(
            {"steps": {name: nb.result for name, nb in steps.items()}, "tables": {t: flow[t] for t in published}}
        )


def _check_arguments_now() -> None:
    """Under `--strict`, an argument that is no parameter fails the run now, before any step runs: a pipeline
    reads its parameters and nothing else (without it, the warning comes at the end of the run)."""
    runtime = current_runtime()
    if runtime.is_local and runtime.options.strict:
        check_unused_arguments(runtime.notebook_path, runtime.dbutils.widgets, strict=True)


def build_steps(pipeline: PipelineFile, flow: Flow, params: dict[str, str]) -> dict[str, LazyNotebook]:
    """One step of `flow` per step of the file, by step name, with their `after`s and `dependencies`."""
    steps: dict[str, LazyNotebook] = {}
    for index, spec in enumerate(pipeline.steps):
        try:
            steps[pipeline.step_name(index)] = _step(flow, spec, params)
        except (ArgumentError, ExpectationError) as e:  # what only the builder checks (e.g. two outputs on one path)
            raise PipelineFileError(f"{pipeline.where(('steps', index))}: {e}") from e
    for index, spec in enumerate(pipeline.steps):
        steps[pipeline.step_name(index)].after(*(steps[name] for name in spec.get("after", [])))
    for chain in pipeline.data.get("dependencies", []):
        for before, after in chain_edges(chain):
            steps[after].after(steps[before])
    return steps


def _step(flow: Flow, spec: dict[str, Any], params: dict[str, str]) -> LazyNotebook:
    nb = flow.notebook(spec["notebook"])
    args = {name: _filled(_text(value), params) for name, value in spec.get("args", {}).items()}
    secret_refs = spec.get("secret_args", {})
    if secret_refs:
        secrets = flow.ctx.dbutils.secrets
        args |= {name: secrets.get(ref["scope"], ref["key"]) for name, ref in secret_refs.items()}
    if args:
        nb.args(args, secret=tuple(secret_refs))
    for table in spec.get("inputs", []):
        table = {"name": table} if isinstance(table, str) else table
        nb.input(
            table["name"],
            file_path=_filled(table["file_path"], params) if "file_path" in table else None,
            source_table=table.get("source_table"),
            is_optional=table.get("optional", False),
            max_age=table.get("max_age"),
            table=_filled(table["table"], params) if "table" in table else None,
        )
    for table in spec.get("outputs", []):
        table = {"name": table} if isinstance(table, str) else table
        cols = table.get("cols")
        nb.output(
            table["name"],
            cols=[(c, None) if isinstance(c, str) else tuple(c) for c in cols] if cols else None,
            file_path=table.get("file_path"),
            alias=table.get("alias"),
            format=table.get("format"),
            expect=table.get("expect"),
            expect_or_fail=table.get("expect_or_fail"),
            expect_table=table.get("expect_table"),
            table=table.get("table"),
        )
    if spec.get("name"):
        nb.named(spec["name"])
    if spec.get("tags"):
        nb.tags(*spec["tags"])
    retries = spec.get("retries")
    if retries is not None:
        count, backoff = (retries, 1.0) if isinstance(retries, int) else (retries["count"], retries.get("backoff", 1.0))
        nb.retries(count, backoff)
    if spec.get("timeout"):
        nb.timeout(spec["timeout"])
    return nb


def _text(value: object) -> str:
    """A widget's text for a YAML/JSON scalar: `true`, not `True`."""
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _filled(text: str, params: dict[str, str]) -> str:
    return PARAM_REFERENCE.sub(lambda m: params[m.group(1)], text)
