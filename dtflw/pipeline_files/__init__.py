"""Pipelines as files: a YAML or JSON file of steps builds the same flow as an orchestration notebook.

`dtflw run|plan|deploy export pipeline.yml` take one where they take a notebook; on a cluster, a
notebook runs one with `run_pipeline("pipeline.yml")`. The format is the JSON Schema beside this
module (`dtflw pipeline schema` prints it)."""

from __future__ import annotations

import os

PIPELINE_EXTENSIONS = (".yml", ".yaml", ".json")
SCHEMA_FILE = os.path.join(os.path.dirname(__file__), "pipeline.schema.json")


def is_pipeline_file(path: str) -> bool:
    """Whether `path` names a pipeline file (by its extension)."""
    return path.lower().endswith(PIPELINE_EXTENSIONS)


def run_pipeline(path: str) -> str:
    """Run the pipeline file at `path` in the running notebook (local or on Databricks); returns its
    exit value, a JSON object of each step's exit value and the path of each table it published."""
    from dtflw.pipeline_files.building import run_pipeline_file
    from dtflw.pipeline_files.loading import load_pipeline

    return run_pipeline_file(load_pipeline(path))
