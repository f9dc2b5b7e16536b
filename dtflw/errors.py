"""The family of errors dtflw raises: each names the notebook, table or path at fault."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DtflwError(Exception):
    """Base of every error dtflw raises on purpose."""


class InvalidTableNameError(DtflwError, ValueError):
    """A table name is empty or could escape its folder."""


class InvalidNotebookPathError(DtflwError, ValueError):
    """A notebook path is empty or malformed."""


class ArgumentError(DtflwError, ValueError):
    """A notebook argument is malformed, not convertible to a string, or collides with a widget."""


class WidgetNameError(ArgumentError):
    """A name passed and a name asked for do not match: a notebook asks for an input, output or argument its
    caller did not pass while passing one close to it, or (under `--strict`) was passed one it never reads."""


class OverlappingOutputsError(ArgumentError):
    """Two outputs' paths overlap, one inside the other: writing the outer one would delete the inner one."""


class UnresolvedInputError(DtflwError):
    """An input names a table no earlier notebook produced, and no `file_path` was given."""


class InputNotFoundError(DtflwError):
    """A required input has no files at its path."""


class OutputNotFoundError(DtflwError):
    """A notebook finished without writing a declared output."""


class StaleOutputError(OutputNotFoundError):
    """A notebook finished without writing a declared output: the table at its path is an earlier run's."""


class IncompleteTableError(DtflwError):
    """A table's last write did not finish in a way the engine cannot write over (a Delta commit cut short)."""


class SchemaMismatchError(DtflwError, AssertionError):
    """A table's columns or types differ from the declared ones."""


class NotebookNotFoundError(DtflwError, FileNotFoundError):
    """No notebook source exists for a workspace path."""


class NotebookFailedError(DtflwError):
    """A notebook raised; carries its path and, locally, the cell and line."""

    def __init__(self, message: str, notebook_path: str, cell: int | None = None, line: int | None = None):
        super().__init__(message)
        self.notebook_path = notebook_path
        self.cell = cell
        self.line = line


class ExitValueTooLargeError(NotebookFailedError):
    """A notebook exits with a value larger than Databricks returns to its caller (5 MB)."""


class NotebookTimeoutError(NotebookFailedError):
    """A notebook ran longer than its timeout and was stopped."""


class StorageError(DtflwError):
    """A storage URL or path is invalid for its backend."""


class UnknownStorageSchemeError(StorageError, ValueError):
    """A storage URL's scheme has no backend."""


class PathOutsideStorageError(StorageError, ValueError):
    """A path lies outside the storage it was given to."""


class StorageUnavailableError(StorageError):
    """The storage service did not answer after retries."""


class StorageBusyError(StorageError):
    """Another run holds the storage's lease; the message names it (host, pid, run id, since)."""


class StorageLeaseError(StorageError):
    """A storage's lease file cannot be used: a folder stands in its place, or it cannot be opened."""


class MissingExtraError(DtflwError, ModuleNotFoundError):
    """An optional part of dtflw is not installed; the message names the `pip install 'dtflw[extra]'` to run."""


class RuntimeNotFoundError(DtflwError):
    """Neither a Databricks notebook nor a local dtflw runtime is active."""


class PluginError(DtflwError, ValueError):
    """A plugin is of an unknown type or its name is taken."""


class ListenerError(DtflwError, ValueError):
    """A flow listener is configured so that it could never work (e.g. a webhook URL without a host)."""


class EngineError(DtflwError, ValueError):
    """A Spark engine name or configuration is invalid."""


class SelectionError(DtflwError, ValueError):
    """A lineage selection expression is malformed or selects nothing; the message lists the valid forms."""


class LineageFormatError(DtflwError, ValueError):
    """A lineage export format is unknown; the message lists the valid ones."""


class LineageDocumentError(DtflwError, ValueError):
    """A file under `_dtflw/runs/` is not a lineage document this version can read (its reader names the file)."""


class LineageEmitError(DtflwError):
    """OpenLineage events could not be sent through the configured transport."""


class InvalidStorageNameError(StorageError, ValueError):
    """An Azure account or container name, or a Unity Catalog catalog/schema/volume name, breaks its naming rules."""


class StorageCredentialsError(StorageError):
    """No credentials were found for a storage, or the service refused them."""


class DagError(DtflwError):
    """A DAG of notebook steps went wrong: malformed (reported before anything runs) or failed."""


class DagCycleError(DagError):
    """Notebook steps depend on each other in a cycle."""


class DuplicateProducerError(DagError):
    """Two notebook steps of one DAG produce the same table."""


class SelfDependencyError(DagError):
    """A notebook step reads a table it produces itself (e.g. through an alias)."""


class DagFailedError(DagError):
    """Notebooks of a DAG failed while it ran; carries every failure and the notebooks that did not run."""

    def __init__(self, message: str, failures: Mapping[str, BaseException], not_run: list[str]):
        super().__init__(message)
        self.failures = failures
        self.not_run = not_run

    @classmethod
    def of(cls, failures: Mapping[str, BaseException], not_run: list[str], what: str = "notebook(s)") -> DagFailedError:
        """The error saying how many `what` failed, which did not run, and each failure as `name: Type: message`."""
        lines = [f"  {name}: {type(e).__name__}: {e}" for name, e in failures.items()]
        skipped = f"; not run: {', '.join(not_run)}" if not_run else ""
        return cls(f"{len(failures)} {what} failed{skipped}:\n" + "\n".join(lines), failures=failures, not_run=not_run)


class NotANotebookError(DtflwError, ValueError):
    """A file is not a notebook: wrong extension, not text, or a malformed .ipynb."""


class MalformedCellError(DtflwError, ValueError):
    """A notebook cell's magic command cannot be parsed, e.g. a `%run` without a notebook path."""


class SqlWidgetError(DtflwError):
    """A SQL statement refers to a widget that is neither defined nor passed, or defines one malformed."""


class NotebookTestError(DtflwError, ValueError):
    """A `dtflw.testing` call names a notebook, input or output that does not exist or has the wrong type."""


class DatabricksConfigError(EngineError):
    """The `databricks` engine's configuration (host, auth, compute) is missing or refused; names the setting."""


class DatabricksUnreachableError(DatabricksConfigError):
    """The workspace or its compute did not answer within the engine's bound; names host, profile and what to check."""


class EngineUnavailableError(EngineError):
    """An engine cannot start on this machine (e.g. delta-spark's jars cannot be resolved); names the way out."""


class SecretsFileError(DtflwError, ValueError):
    """A local secrets file (`--secrets-file`) is missing, not JSON, or not {scope: {key: value}}."""


class InvalidUserNameError(DtflwError, ValueError):
    """A workspace user name (`--user`) would not name one folder under /Users."""


class NotebookStorageUnavailableError(NotebookFailedError, StorageUnavailableError):
    """A notebook failed because its Spark engine could not reach a storage (refused, timed out, unknown host)."""


class DeployError(DtflwError, ValueError):
    """A flow cannot be exported or submitted as a Databricks job as declared (e.g. a secret argument)."""


class ExportPlanningError(DeployError):
    """An orchestration notebook planned for export asked for what an export never does (Spark, a table read)."""


class LocalStorageExportError(DeployError):
    """A flow whose storage exists only on this machine cannot be exported as a job."""


class NotebookCancelledError(NotebookFailedError):
    """A notebook's remote run was cancelled (by a user, a timeout of the whole run, or Ctrl-C)."""


class NotebookSkippedError(DtflwError):
    """A notebook's remote run was skipped: an upstream task failed, or its run_if condition was not met. Not a
    failure of the notebook itself, so not a `NotebookFailedError`."""

    def __init__(self, message: str, notebook_path: str):
        super().__init__(message)
        self.notebook_path = notebook_path


class PipelineFileError(DtflwError, ValueError):
    """A pipeline file is malformed: names the file, the line and the key."""


class NamespacePathError(DtflwError, ValueError):
    """A Databricks path (`dbfs:/`, `/dbfs`, `/Volumes`, `/Workspace`) the local runtime cannot map to a folder."""


class PathNotFoundError(DtflwError):
    """A path read does not exist: `[PATH_NOT_FOUND]` as on Databricks (Sail would return an empty DataFrame)."""


class UnreadablePathError(DtflwError):
    """A folder read holds no data files and no schema was given: `[UNABLE_TO_INFER_SCHEMA]` as on Databricks."""


class TaskValueError(DtflwError, ValueError):
    """`dbutils.jobs.taskValues`: a key or value Databricks refuses, or a value no task set."""


class MissingDebugValueError(TaskValueError, TypeError):
    """`dbutils.jobs.taskValues.get` outside a job without a `debugValue` (a TypeError, as on Databricks)."""


class ExpectationError(DtflwError, ValueError):
    """An expectation is malformed: a bad name or rule, an expression that does not parse, names a missing
    column or is not boolean; names the notebook, the table and the expectation."""


class ExpectationFailedError(DtflwError):
    """A blocking expectation (`expect_or_fail`, a table rule) failed on a table a notebook wrote; names the
    notebook, the table, the expectation, the count of failing rows, and a few of them."""

    def __init__(self, message: str, notebook_path: str = "", results: tuple[Any, ...] = ()):  # ExpectationResults
        super().__init__(message)
        self.notebook_path = notebook_path
        self.results = results


class ExpectationsNotExportableError(DeployError):
    """A flow declares an expectation an exported job cannot evaluate: `min_ratio_to_previous`, which compares
    with the version the notebook replaced (gone when the job's check task runs)."""


class UnityCatalogError(DtflwError):
    """A Unity Catalog name, catalog, schema, volume or table is malformed or missing."""


class ManagedTableFormatError(UnityCatalogError, ValueError):
    """A managed Unity Catalog table would be written in another format than Delta."""


class TableSchemaMismatchError(UnityCatalogError, ValueError):
    """Data overwriting a table has other columns than the table, and no `overwriteSchema`."""
