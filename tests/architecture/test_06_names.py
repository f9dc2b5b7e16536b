"""Every public name of dtflw 0.6.7, at its 0.6 import path (shared/reference/dtflw-0.6-api.md §0–1)."""

from __future__ import annotations

import importlib

import pytest

NAMES_06 = {
    "dtflw": [
        "init_flow",
        "init_args",
        "init_inputs",
        "init_outputs",
        "Flow",
        "FlowContext",
        "FileStorageBase",
        "DefaultLogger",
        "LoggerBase",
        "a",
        "db",
    ],
    "dtflw.arguments": ["Argument", "Input", "Output"],
    "dtflw.assertions": ["assert_schema_compatible"],
    "dtflw.com": ["MessageBus", "NotebooksChannel"],
    "dtflw.databricks": [
        "run_notebook",
        "get_spark_session",
        "get_dbutils",
        "get_current_username",
        "get_this_notebook_abs_path",
        "get_this_notebook_abs_cwd",
        "get_notebook_abs_path",
        "get_path_relative_to_project_dir",
        "try_get_context_tag",
        "is_job_interactive",
        "set_runtime_config_property",
        "get_runtime_config_property",
        "runtime_config_has",
    ],
    "dtflw.display": ["DisplayBase", "DefaultDisplay"],
    "dtflw.flow": ["Flow"],
    "dtflw.flow_context": ["FlowContext"],
    "dtflw.input_table": ["InputTable"],
    "dtflw.lazy_notebook": ["LazyNotebook"],
    "dtflw.logger": ["LoggerBase", "DefaultLogger"],
    "dtflw.output_table": ["OutputTable"],
    "dtflw.pipeline": ["NotebookRun", "PipelineState"],
    "dtflw.plugin": ["FlowPluginBase", "NotebookPluginBase"],
    "dtflw.tables_repo": ["TablesRepository"],
    "dtflw.storage.fs": ["file_exists", "FileStorageBase"],
    "dtflw.storage.azure": ["AzureStorage", "init_storage"],
    "dtflw.storage.dbfs": ["DbfsStorage", "init_storage"],
}


@pytest.mark.parametrize("module", sorted(NAMES_06))
def test_every_06_name_imports_from_its_06_path(module):
    loaded = importlib.import_module(module)
    assert [name for name in NAMES_06[module] if not hasattr(loaded, name)] == []


def test_the_06_modules_are_the_ones_dtflw_uses():
    import dtflw.arguments
    import dtflw.core.step
    import dtflw.databricks
    import dtflw.lazy_notebook
    import dtflw.runtime.callee
    from dtflw import a, db

    assert dtflw.lazy_notebook.LazyNotebook is dtflw.core.step.LazyNotebook
    assert dtflw.lazy_notebook.LazyNotebook.AliasedOutputTable.__name__ == "AliasedOutputTable"
    assert a.Input is dtflw.runtime.callee.Input
    assert db is dtflw.databricks  # patching dtflw.databricks.get_dbutils patches what dtflw calls


METHODS_06 = {
    "dtflw.flow:Flow": ["ctx", "notebook", "show", "install", "__getitem__", "__setitem__"],
    "dtflw.flow_context:FlowContext": ["logger", "publish_tables", "resolve_table", "show"],
    "dtflw.lazy_notebook:LazyNotebook": [
        "rel_path",
        "args",
        "get_args",
        "timeout",
        "input",
        "get_inputs",
        "output",
        "get_outputs",
        "share_arguments",
        "run",
        "show",
    ],
}


@pytest.mark.parametrize("where", sorted(METHODS_06))
def test_every_06_method_is_on_its_06_class(where):
    module, name = where.split(":")
    cls = getattr(importlib.import_module(module), name)
    assert [method for method in METHODS_06[where] if not hasattr(cls, method)] == []
