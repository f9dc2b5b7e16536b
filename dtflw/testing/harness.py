"""Run a user's notebooks in tests: one notebook with given inputs, or a whole orchestration.

`NotebookTester` is what the `dtflw` pytest fixture hands a test. It runs notebooks of a workspace
folder on a Spark engine exactly as `dtflw run --strict` does, on a throwaway storage and DBFS root, and
gives back exit values, output tables as DataFrames and the lineage dtflw recorded. As under `--strict`,
an argument a notebook never declares nor reads fails the run with a `WidgetNameError`.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from dtflw.errors import NotebookTestError
from dtflw.storage.base import FolderStorage

if TYPE_CHECKING:
    from dtflw.engines import Engine
    from dtflw.events import NotebookRun
    from dtflw.expectations.spec import ExpectationResult
    from dtflw.lineage.graph import LineageGraph
    from dtflw.runtime import Runtime
    from dtflw.storage.base import Storage

Expectations = dict[str, dict[str, "ExpectationResult"]]  # {table: {expectation name: its result}}

NOTEBOOK_EXTENSIONS = (".py", ".sql", ".ipynb")
DRIVER_NAME = "__dtflw_test__"  # the virtual orchestration notebook a single-notebook run is called from


class _ExitJson:
    """The `json` of a result with `notebook_path` and `exit_value`."""

    notebook_path: str
    exit_value: str | None

    @property
    def json(self) -> Any:
        """The exit value parsed as JSON (dtflw notebooks usually exit with a JSON summary)."""
        if self.exit_value is None:
            raise NotebookTestError(f"Notebook '{self.notebook_path}' exited without a value; nothing to parse.")
        return json.loads(self.exit_value)


def _expectations(runs: Iterable[NotebookRun]) -> Expectations:
    """{table: {expectation name: ExpectationResult}} as the newest of `runs` evaluating each table left them."""
    found: Expectations = {}
    for run in sorted(runs, key=lambda r: r.ended or r.started):
        for table in {r.table for r in run.expectations}:
            found[table] = {r.name: r for r in run.expectations if r.table == table}
    return found


def _check_expectations(
    notebook: str, outputs: Mapping[str, str | None], expectations: Mapping[str, Mapping[str, object]]
) -> None:
    for name, declared in expectations.items():
        unknown = set(declared) - {"expect", "expect_or_fail", "expect_table"}
        if name not in outputs or unknown:
            raise NotebookTestError(
                f"expectations= of notebook '{notebook}': '{name}' must be one of its outputs ({', '.join(outputs)}) "
                "and map expect / expect_or_fail / expect_table to what `.output()` takes"
                + (f"; not {sorted(unknown)}." if unknown else ".")
            )


@dataclass
class NotebookResult(_ExitJson):
    """What a notebook run gave: its exit value, the paths of its outputs, and the recorded lineage."""

    notebook_path: str
    exit_value: str | None
    paths: dict[str, str]
    lineage: LineageGraph
    _storage: Storage = field(repr=False)

    def table(self, name: str) -> Any:
        """An output table as a DataFrame (parquet or Delta, detected)."""
        if name not in self.paths:
            raise NotebookTestError(
                f"Notebook '{self.notebook_path}' has no output '{name}'; its outputs: {', '.join(self.paths) or 'none'}."
            )
        return self._storage.read_table(self.paths[name])

    @property
    def tables(self) -> dict[str, Any]:
        """Every output table as a DataFrame, by name."""
        return {name: self.table(name) for name in self.paths}

    @property
    def run(self) -> NotebookRun | None:
        """The `NotebookRun` lineage recorded for this notebook (status, inputs, outputs, timing)."""
        return self.lineage.latest_run(self.notebook_path)

    @property
    def expectations(self) -> Expectations:
        """{output: {expectation: result}} of this run, e.g. `["Orders"]["qty_positive"].failed`."""
        run = self.run
        return _expectations([run] if run is not None else [])


@dataclass
class FlowResult(_ExitJson):
    """What an orchestration notebook run gave: its exit value and the lineage of every flow it ran."""

    notebook_path: str
    exit_value: str | None
    lineage: LineageGraph
    _storage: Storage = field(repr=False)
    _started: float = field(default=0.0, repr=False)

    def path(self, table: str) -> str:
        """The path of the table a run of this flow last produced under `table` (a name or an alias)."""
        producer = self.lineage.latest_producer(table)
        if producer is None:
            known = sorted({n for t in self.lineage.tables.values() for n in (*t.names, *t.aliases)})
            raise NotebookTestError(f"No notebook produced a table '{table}'; produced tables: {', '.join(known)}.")
        found = {t.path for t in self.lineage.find_tables(table)}
        return next(use.path for use in producer.outputs if use.path in found)

    def table(self, table: str) -> Any:
        """A table the flow produced (by name or alias) as a DataFrame."""
        return self._storage.read_table(self.path(table))

    @property
    def expectations(self) -> Expectations:
        """{table: {expectation: result}} as the last run writing each table evaluated them, e.g.
        `["Orders"]["qty_positive"].failed`."""
        return _expectations(r for r in self.lineage.runs.values() if r.started >= self._started)


class NotebookTester:
    """Runs notebooks under `workspace_root` (mapped to `/Users/<user>`) on `engine`, with a storage at
    `storage_url`; `dbfs:/`, `/Volumes` and the secrets file live in `state_folder`, and
    `dbutils.secrets` answers from `secrets` ({scope: {key: value}}) — on the databricks engine with a
    workspace configured, `dbutils.fs` and `dbutils.secrets` are the workspace's instead."""

    def __init__(
        self,
        engine: Engine,
        workspace_root: str,
        storage_url: str,
        state_folder: str,
        *,
        secrets: Mapping[str, Mapping[str, str]] | None = None,
        user: str = "tester@example.com",
    ) -> None:
        from dtflw.core.options import RunOptions
        from dtflw.session.local import LocalSettings, open_local_session

        self.engine = engine
        self.secrets = {scope: dict(keys) for scope, keys in (secrets or {}).items()}
        self._secrets_file = os.path.join(os.path.abspath(state_folder), "secrets.json")
        self._write_secrets()  # the workspace checks the file when it is made
        self.session = open_local_session(
            workspace_root,
            engine,
            LocalSettings(
                user=user,
                storage_url=storage_url,
                dbfs_folder=os.path.join(state_folder, "dbfs"),
                volumes_folder=os.path.join(state_folder, "volumes"),
                unity_folder=os.path.join(state_folder, "unity-catalog"),
                secrets_file=self._secrets_file,
                environ={},  # secrets come from `secrets` only: a test never depends on the developer's shell
            ),
            RunOptions(strict=True),  # an argument a notebook never reads fails the test (`dtflw run --strict`)
        )
        self.workspace = self.session.workspace
        self._storage: Storage | None = None

    # -- what a test sets up --------------------------------------------------------------------
    @property
    def spark(self) -> Any:
        """The engine's main Spark session: build input DataFrames and expected tables with it."""
        return self.engine.session

    @property
    def storage(self) -> Storage:
        """The flow storage notebooks write to (a `dtflw.storage.Storage`), as the test's notebooks see it."""
        if self._storage is None:
            from dtflw.storage import from_url

            assert self.workspace.storage_url is not None  # the tester's workspace is given its storage
            self._storage = from_url(self.workspace.storage_url, self._driver_runtime().storage_environment())
            self._storage.spark = self.spark
        return self._storage

    def _driver_runtime(self) -> Runtime:
        """The runtime of the virtual notebook the test drives notebooks from (at the workspace home)."""
        return self.workspace.runtime_for(posixpath.join(self.workspace.home, DRIVER_NAME), {}, self.spark)

    def put(self, source: str | os.PathLike[str], dest: str) -> str:
        """Copy a local file or folder into the storage at `dest` (relative to its base); returns its path.
        Any file into a folder storage; text files (e.g. CSV) into any storage (`dbfs:/`, Azure…)."""
        if not os.path.exists(source):
            raise NotebookTestError(f"put(): {source!s} is neither a file nor a folder.")
        if isinstance(self.storage, FolderStorage):
            target = os.path.join(self.storage.folder, dest)
            if os.path.isdir(source):
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copy2(source, target)
            return target
        files = [source] if os.path.isfile(source) else [os.path.join(d, f) for d, _, fs in os.walk(source) for f in fs]
        for file in files:
            relative = os.path.relpath(file, source) if os.path.isdir(source) else ""
            try:
                with open(file, encoding="utf-8") as f:
                    text = f.read()
            except UnicodeDecodeError:
                raise NotebookTestError(
                    f"put(): {file} is not text; only a folder storage takes binary files ({self.storage.url} is not one)."
                ) from None
            self.storage.write_text(posixpath.join(dest, relative.replace(os.sep, "/")).rstrip("/"), text)
        return self.storage.get_abs_path(dest)

    def read_table(self, path: str, table_format: str | None = None) -> Any:
        """A table of the storage (absolute, or relative to its base) as a DataFrame."""
        return self.storage.read_table(path, table_format)

    # -- running ------------------------------------------------------------------------------
    def run_notebook(
        self,
        notebook: str,
        args: Mapping[str, Any] | None = None,
        inputs: Mapping[str, Any] | None = None,
        outputs: Iterable[str] | Mapping[str, str] = (),
        timeout: int = 0,
        expectations: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> NotebookResult:
        """Run one notebook as a flow step. `inputs` maps its input names to DataFrames (written to the
        storage first, as parquet; `(df, "delta")` as Delta) or paths; `outputs` lists its output names,
        or maps them to a format ("delta"); `expectations` maps output names to what `.output()` takes:
        `{"Orders": {"expect_or_fail": {"qty_positive": "qty > 0"}}}`.

        The notebook gets the widgets a flow gives it (`<T>_in`, `<T>_out`, its args), so it is
        tested exactly as an orchestration calls it; a failure raises `NotebookFailedError`."""
        from dtflw import init_flow
        from dtflw.runtime import activated

        formats = dict(outputs) if isinstance(outputs, Mapping) else dict.fromkeys(outputs)
        _check_expectations(notebook, formats, expectations or {})
        rel_path = self._relative_notebook(notebook)
        self._write_secrets()
        with activated(self._driver_runtime()):
            flow = init_flow()
            step = flow.notebook(rel_path).args(dict(args or {}))
            if timeout:
                step.timeout(timeout)
            for name, table in (inputs or {}).items():
                step.input(name, file_path=self._input_path(rel_path, name, table))
            for name, table_format in formats.items():
                step.output(name, format=table_format, **dict((expectations or {}).get(name, {})))
            failed = True
            try:
                exit_value = step.run()
                failed = False
            finally:
                flow.end(failed=failed)
        paths = cast(dict[str, str], {name: flow[name] for name in formats})  # the step ran: its outputs are published
        return NotebookResult(step.abs_path, exit_value, paths, flow.lineage, self.storage)

    def run_flow(self, notebook: str, args: Mapping[str, Any] | None = None, timeout: int = 0) -> FlowResult:
        """Run an orchestration notebook (a file under the workspace root) as `dtflw run` does."""
        from dtflw.lineage import LineageGraph

        self._write_secrets()
        file_path = self._notebook_file(notebook)
        arguments = {k: str(v) for k, v in (args or {}).items()}
        started = time.time()
        exit_value = self.session.run_file(file_path, arguments, timeout)
        return FlowResult(
            self.workspace.workspace_path(file_path), exit_value, LineageGraph.load(self.storage), self.storage, started
        )

    # -- helpers ------------------------------------------------------------------------------
    def _notebook_file(self, notebook: str) -> str:
        path = notebook if os.path.isabs(notebook) else os.path.join(self.workspace.root, notebook)
        if os.path.exists(path):
            return path
        for extension in NOTEBOOK_EXTENSIONS:
            if os.path.exists(path + extension):
                return path + extension
        raise NotebookTestError(
            f"Notebook {notebook!r} not found under the workspace root {self.workspace.root} "
            "(set `dtflw_workspace_root` in the pytest ini, or pass a path relative to it)."
        )

    def _relative_notebook(self, notebook: str) -> str:
        """The notebook's workspace path relative to the user's home (where the driver notebook is)."""
        workspace_path = self.workspace.workspace_path(self._notebook_file(notebook))
        return posixpath.relpath(workspace_path, self.workspace.home)

    def _input_path(self, rel_path: str, name: str, table: Any) -> str:
        """Where the notebook reads input `name`: a given path, or a DataFrame written to the storage
        (`(df, "delta")` for Delta, else parquet)."""
        if isinstance(table, (str, os.PathLike)):
            return os.fspath(table)
        table, table_format = table if isinstance(table, tuple) else (table, "parquet")
        if not hasattr(table, "write"):
            if hasattr(table, "to_dict"):  # pandas
                table = self.spark.createDataFrame(table)
            else:
                raise NotebookTestError(
                    f"Input '{name}' of '{rel_path}' is a {type(table).__name__}; give a Spark or pandas DataFrame, "
                    "or the path of a table or file."
                )
        path = self.storage.get_abs_path(f"_test_inputs/{rel_path}/{name}.{table_format}")
        self.storage.write_table(table, path, table_format)
        return path

    def _write_secrets(self) -> None:
        os.makedirs(os.path.dirname(self._secrets_file), exist_ok=True)
        with open(self._secrets_file, "w", encoding="utf-8") as f:
            json.dump(self.secrets, f)
