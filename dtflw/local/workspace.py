"""The local Databricks runtime: runs source notebooks in-process, each with its own dbutils and session.

A notebook file gets a workspace path as if the workspace root folder had been imported into the
user's home: `<root>/a/b.py` → `/Users/<user>/a/b`. Relative notebook paths resolve against the
calling notebook, as `dbutils.notebook.run` does on Databricks.
"""

from __future__ import annotations

import contextvars
import functools
import getpass
import hashlib
import os
import posixpath
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, overload, runtime_checkable

from dtflw.core.options import RunOptions
from dtflw.core.paths import normalize_workspace_path
from dtflw.core.widget_names import check_unused_arguments
from dtflw.engines import UnityCatalog, WithStorageCredentials, WithUnityCatalog, WithWorkspaceUtils
from dtflw.errors import (
    NotebookFailedError,
    NotebookNotFoundError,
    NotebookTimeoutError,
    PipelineFileError,
    SelectionError,
)
from dtflw.interrupts import CANCELLATION
from dtflw.local import fuse_paths
from dtflw.local.builtins import NotebookBuiltins, active_session_restored, made_active
from dtflw.local.dbutils import (
    SECRET_VARIABLE_PREFIX,
    LocalDbutils,
    LocalFs,
    NotebookContext,
    NotebookExit,
    NotebookUtils,
    Secrets,
    Widgets,
)
from dtflw.local.display import display, displayHTML
from dtflw.local.file_namespaces import namespace_file_error, opening_namespaces, shell_with_namespaces
from dtflw.local.imports import NotebookImports, give_up_working_directory, search_folders, working_directory
from dtflw.local.namespaces import WorkspaceNamespaces
from dtflw.local.redacted_output import redacted_output
from dtflw.local.runner import LocalRunner
from dtflw.local.secret_store import check_user_name, read_secrets_file
from dtflw.local.source import (
    NOTEBOOK_EXTENSIONS,
    Cell,
    NotebookSource,
    find_notebook_file,
    parse_notebook,
    split_sql_statements,
)
from dtflw.local.task_values import Jobs, TaskValues, TaskValueStore
from dtflw.local.unity_catalog import LocalUnityCatalog, default_folder
from dtflw.pipeline_files import is_pipeline_file
from dtflw.runtime import LocalParts, Runtime, activated
from dtflw.secrets import scrub


class NotebookEngine(Protocol):
    """What a workspace runs notebooks on: a Spark engine (`dtflw.engines.Engine`), or one standing in for it (an
    export's offline engine). It may also be `WithWorkspaceUtils`, `WithStorageCredentials`, `WithUnityCatalog`."""

    name: str

    def preflight(self) -> None: ...

    def new_session(self) -> Any: ...


@runtime_checkable
class WithMainSession(Protocol):
    """An engine with a main session (`dtflw.engines.Engine`): code that finds no active session gets it."""

    @property
    def session(self) -> Any: ...


@dataclass(frozen=True)
class LocalSettings:
    """Who uses the emulated workspace and where its parts live on this machine."""

    user: str | None = None  # default $DTFLW_USER, else the OS user
    storage_url: str | None = None  # what init_flow() uses without a storage
    dbfs_folder: str | None = None  # stands in for dbfs:/ (default ./.dtflw/dbfs)
    volumes_folder: str | None = None  # stands in for /Volumes (default: `volumes` beside the DBFS folder)
    unity_folder: str | None = None  # the local Unity Catalog's metastore (default ./.dtflw/unity-catalog)
    secrets_file: str | None = None  # JSON {scope: {key: value}} for dbutils.secrets
    environ: Mapping[str, str] | None = None  # where $DTFLW_SECRET_<SCOPE>_<KEY> are read (default os.environ)


class LocalWorkspace:
    """A folder of notebooks run as if imported into `/Users/<user>` of a Databricks workspace."""

    def __init__(
        self,
        root: str,
        engine: NotebookEngine,
        settings: LocalSettings | None = None,
        options: RunOptions | None = None,
    ):
        settings = settings or LocalSettings()
        self.root = os.path.abspath(root)
        self.engine = engine
        self.user = check_user_name(settings.user or os.environ.get("DTFLW_USER") or getpass.getuser())
        self.home = f"/Users/{self.user}"
        self.storage_url = settings.storage_url
        state = os.path.join(os.getcwd(), ".dtflw")
        self.namespaces = WorkspaceNamespaces.of(
            settings.dbfs_folder or os.path.join(state, "dbfs"), settings.volumes_folder, self.root, self.user
        )
        self.dbfs_folder = self.namespaces.dbfs_root
        self.volumes_folder = self.namespaces.volumes_root
        self.task_values = TaskValueStore()  # `dbutils.jobs.taskValues` set by the notebooks of this workspace's runs
        self.unity_catalog = _unity_catalog(engine, settings.unity_folder or default_folder(state), self.volumes_folder)
        self.secrets_file = settings.secrets_file
        read_secrets_file(self.secrets_file)  # a missing or malformed file fails now, not when a secret is read
        self.environ = dict(os.environ if settings.environ is None else settings.environ)
        self.options = options or RunOptions()  # how the top-level notebook runs (`dtflw run` options)
        self.secret_values: set[str] = set()
        self._sources: dict[tuple[str, int, int], tuple[bytes, NotebookSource | None]] = {}  # by (file, mtime, size)
        self._pipelines: dict[str, str] = {}  # workspace path → pipeline file run as a notebook there

    # -- paths ------------------------------------------------------------------------------
    def workspace_path(self, file_path: str) -> str:
        """The workspace path of a notebook file under the root."""
        relative = os.path.relpath(os.path.abspath(file_path), self.root)
        if relative.startswith(".."):
            raise NotebookNotFoundError(f"Notebook file {file_path!r} is outside the workspace root {self.root!r}.")
        return posixpath.join(self.home, os.path.splitext(relative)[0].replace(os.sep, "/"))

    def entry_path(self, file_path: str) -> str:
        """The workspace path of a top-level file: a notebook, or a pipeline file, which then runs as an
        orchestration notebook at that path."""
        path = self.workspace_path(file_path)
        if is_pipeline_file(file_path):
            self._pipelines[path] = os.path.abspath(file_path)
        return path

    def notebook_file(self, workspace_path: str) -> str:
        """The file of a workspace path (`/Users/<user>/…`, `/Repos/<user>/…` or `/Workspace/…`)."""
        path = normalize_workspace_path(workspace_path, self.home)
        if path in self._pipelines:
            return self._pipelines[path]
        for prefix in (self.home, f"/Repos/{self.user}"):
            if path == prefix or path.startswith(prefix + "/"):
                found = find_notebook_file(os.path.join(self.root, path[len(prefix) :].lstrip("/")))
                if found:
                    return found
        raise NotebookNotFoundError(
            f"Notebook '{workspace_path}' not found: looked for {path[len(self.home) :].lstrip('/') or path}"
            f"[.py|.sql|.ipynb] under {self.root} (the workspace root, mapped to {self.home})."
        )

    def source_fingerprint(self, path: str, caller: str | None = None) -> str | None:
        """A hash of a notebook's file and of every notebook it includes with `%run`, recursively."""
        digest = hashlib.sha256()
        pending = [normalize_workspace_path(path, posixpath.dirname(caller) if caller else self.home)]
        seen: set[str] = set()
        while pending:
            workspace_path = pending.pop()
            if workspace_path in seen:
                continue
            seen.add(workspace_path)
            try:
                file_path = self.notebook_file(workspace_path)
            except NotebookNotFoundError:
                return None
            content, _ = self._source_of(file_path, parsed=False)
            digest.update(content)
            if b"%run" in content:  # only then are there notebooks it includes
                pending += [
                    normalize_workspace_path(c.run_target, posixpath.dirname(workspace_path))
                    for c in self._source_of(file_path)[1].cells
                    if c.run_target
                ]
        return digest.hexdigest()[:16]

    @overload
    def _source_of(self, file_path: str, parsed: Literal[True] = ...) -> tuple[bytes, NotebookSource]: ...
    @overload
    def _source_of(self, file_path: str, parsed: Literal[False]) -> tuple[bytes, NotebookSource | None]: ...

    def _source_of(self, file_path: str, parsed: bool = True) -> tuple[bytes, NotebookSource | None]:
        """A notebook file's bytes and (if `parsed`) its cells, remembered while the file is unchanged."""
        stat = os.stat(file_path)
        key = (file_path, stat.st_mtime_ns, stat.st_size)
        known = self._sources.get(key)
        if known is None:
            with open(file_path, "rb") as f:
                known = self._sources[key] = (f.read(), None)
        if parsed and known[1] is None:
            source = pipeline_source(file_path) if is_pipeline_file(file_path) else parse_notebook(file_path)
            known = self._sources[key] = (known[0], source)
        return known

    # -- running ----------------------------------------------------------------------------
    def run_file(
        self,
        file_path: str,
        arguments: dict[str, str] | None = None,
        timeout_seconds: int = 0,
        *,
        planner: object = None,
        selection: object = None,
    ) -> str | None:
        """Run a notebook or pipeline file as the top-level notebook; returns its exit value. `planner` (default:
        the options') collects the steps of its flows instead (`dtflw plan`); `selection` says which of them run
        (`dtflw.session.LocalSession.run_file` makes it from `--select`/`--exclude`)."""
        if not os.path.exists(file_path):
            raise NotebookNotFoundError(f"Notebook file {file_path!r} does not exist.")
        if not file_path.lower().endswith(NOTEBOOK_EXTENSIONS) and not is_pipeline_file(file_path):
            parse_notebook(file_path)  # says why it is not a notebook
        self.engine.preflight()
        planner = planner if planner is not None else self.options.planner
        if planner is None and selection is None and (self.options.select or self.options.exclude):
            raise SelectionError(
                f"{file_path}: --select/--exclude need the notebook planned first; run it with "
                "dtflw.session.LocalSession.run_file (as `dtflw run` does), or pass selection=."
            )
        path = self.entry_path(file_path)
        return self.run(path, arguments or {}, timeout_seconds, planner=planner, selection=selection)

    def run(
        self,
        path: str,
        arguments: dict[str, str],
        timeout_seconds: int = 0,
        *,
        caller: str | None = None,
        run_id: str | None = None,
        planner: object = None,
        selection: object = None,
        context_tags: dict[str, str] | None = None,
    ) -> str | None:
        """Run the notebook at workspace `path` (relative to `caller`) and return its exit value.
        `planner` and `selection` apply to this notebook's own flows, not to the notebooks it calls;
        `context_tags` are added to its notebook context's tags (a job task's `jobType`, `runId`…)."""
        workspace_path = normalize_workspace_path(path, posixpath.dirname(caller) if caller else self.home)
        file_path = self.notebook_file(workspace_path)
        _, source = self._source_of(file_path)
        task_key = (context_tags or {}).get("taskKey")
        if caller is not None and planner is None:  # a called notebook runs as the job task the export makes of it
            task_key = self.task_values.task_key(caller, path)
        runtime = self.runtime_for(
            workspace_path,
            arguments,
            None,
            run_id,
            planner=planner,
            selection=selection,
            context_tags=context_tags,
            task_key=task_key,
        )
        if not timeout_seconds:
            return self._execute(runtime, source, file_path)
        return self._execute_with_timeout(runtime, source, file_path, timeout_seconds)

    def runtime_for(
        self,
        workspace_path: str,
        arguments: dict[str, str],
        session: Any,
        run_id: str | None = None,
        *,
        planner: object = None,
        selection: object = None,
        context_tags: dict[str, str] | None = None,
        task_key: str | None = None,
    ) -> Runtime:
        """The runtime a notebook at `workspace_path` gets: its own dbutils (widgets from `arguments`; task
        values of job task `task_key`, none outside a task) and its own Spark session (`session`, else one the
        engine opens when the notebook first uses Spark), which reads and writes the workspace's namespaces."""
        runner = LocalRunner(self, workspace_path)
        engine = self.engine  # the databricks engine: its workspace's fs and secrets
        remote = engine.workspace_utils(self.secret_values) if isinstance(engine, WithWorkspaceUtils) else None
        fs, secrets = remote or (
            LocalFs(self.dbfs_folder, namespaces=self.namespaces),
            Secrets(self.environ, self.secrets_file, self.secret_values),
        )
        namespaces = None if remote else self.namespaces  # on the databricks engine they are the workspace's
        session, spark_factory = self._sessions(session, namespaces)
        tags = {**(context_tags or {}), "user": self.user}
        dbutils = LocalDbutils(
            widgets=Widgets(arguments),
            notebook=NotebookUtils(runner, NotebookContext(workspace_path, tags)),
            fs=fs,
            secrets=secrets,
            jobs=Jobs(TaskValues(self.task_values, task_key)),
        )
        return Runtime(
            dbutils,
            session,
            spark_factory=spark_factory,
            notebook_path=workspace_path,
            user=self.user,
            runner=runner,
            job_type=tags.get("jobType"),
            run_id=run_id,
            secret_values=self.secret_values,
            display_html=displayHTML,
            options=self._notebook_options(planner, selection),
            local=LocalParts(
                namespaces=namespaces,
                dbfs_folder=None if remote else self.dbfs_folder,  # dbfs:/ and /Volumes are then the workspace's
                volumes_folder=None if remote else self.volumes_folder,
                engine_credentials=engine.add_credentials if isinstance(engine, WithStorageCredentials) else None,
                table_catalog=self.unity_catalog,
            ),
        )

    def _notebook_options(self, planner: object, selection: object) -> RunOptions:
        """How a notebook's flows run: as the workspace's options say, with this notebook's plan and selection
        (a planned notebook gets no listeners: nothing it declares runs)."""
        return RunOptions(
            force_lazy=self.options.force_lazy,
            selection=selection,
            planner=planner,
            listeners=[] if planner else self.options.listeners,
            default_storage_url=self.storage_url,
            storage_view=self.options.storage_view,
            strict=self.options.strict,
            leases=self.options.leases,
        )

    def _sessions(self, session: Any, namespaces: WorkspaceNamespaces | None) -> tuple[Any, Callable[[], Any]]:
        """A notebook's session (if given) and the factory of a new one, both reading `namespaces`."""
        if namespaces is None:
            return session, self.engine.new_session
        if session is not None:
            from dtflw.local import spark_paths

            session = spark_paths.bind(session, namespaces, sail=self.engine.name == "sail")
        return session, functools.partial(self._notebook_session, namespaces)

    def _notebook_session(self, namespaces: WorkspaceNamespaces) -> Any:
        """A new session for a notebook, active on its thread, reading and writing the workspace's namespaces
        (and so does the engine's main session, which code that finds no active session gets)."""
        from dtflw.local import spark_paths

        sail = self.engine.name == "sail"
        if isinstance(self.engine, WithMainSession):
            spark_paths.bind(self.engine.session, namespaces, sail=sail)
        return made_active(spark_paths.bind(self.engine.new_session(), namespaces, sail=sail))

    def _execute_with_timeout(
        self, runtime: Runtime, source: NotebookSource, file_path: str, timeout_seconds: int
    ) -> str | None:
        values: list[str | None] = []
        errors: list[BaseException] = []
        context = contextvars.copy_context()

        def target() -> None:
            try:
                values.append(context.run(self._execute, runtime, source, file_path))
            except BaseException as e:  # handed to the waiting thread
                errors.append(e)

        worker = threading.Thread(target=target, name=f"notebook {runtime.notebook_path}", daemon=True)
        worker.start()
        worker.join(timeout_seconds)
        if worker.is_alive():
            assert worker.ident is not None  # a started thread has its id
            give_up_working_directory(worker.ident)
            if runtime.spark_started:
                _stop_session(runtime.spark, interrupt=True)
            raise NotebookTimeoutError(
                f"Notebook '{runtime.notebook_path}' timed out after {timeout_seconds} s; its Spark operations were "
                "interrupted and the notebook abandoned.",
                notebook_path=runtime.notebook_path,
            )
        if errors:
            raise errors[0]
        return values[0] if values else None

    def _execute(self, runtime: Runtime, source: NotebookSource, file_path: str) -> str | None:
        builtins = NotebookImports(search_folders(file_path, self.root)).builtins
        if runtime.local.namespaces is not None:
            builtins["open"] = opening_namespaces(builtins.get("open", open), runtime.local.namespaces)
            fuse_paths.install()
        namespace: dict[str, Any] = {  # the notebook's globals
            "__name__": "__main__",
            "__file__": file_path,
            "__builtins__": NotebookBuiltins(runtime, builtins),
            "dbutils": runtime.dbutils,
            "display": display,
            "displayHTML": displayHTML,
        }
        failed, cancelled = True, False
        with (
            activated(runtime),
            working_directory(os.path.dirname(file_path)),
            CANCELLATION.running(runtime),
            redacted_output(self.secret_values),
            active_session_restored(),
        ):
            try:
                value = self._run_to_exit(source, namespace, runtime, file_path)
                check_unused_arguments(runtime.notebook_path, runtime.dbutils.widgets, self.options.strict)
                failed = False
                return value
            except BaseException as e:  # Ctrl-C, or an error because the run was interrupted: cancelled
                cancelled = isinstance(e, KeyboardInterrupt) or CANCELLATION.requested
                raise
            finally:
                for flow in runtime.flows:
                    flow.end(failed=failed, cancelled=cancelled)
                if runtime.spark_started:
                    _stop_session(runtime.spark)

    def _run_to_exit(
        self, source: NotebookSource, namespace: dict[str, Any], runtime: Runtime, file_path: str
    ) -> str | None:
        """Run the notebook's cells; its exit value (None without `dbutils.notebook.exit`)."""
        try:
            self._run_cells(source.cells, namespace, runtime, file_path, runtime.notebook_path)
        except NotebookExit as done:
            return done.value
        return None

    def _run_cells(
        self, cells: Iterable[Cell], namespace: dict[str, Any], runtime: Runtime, file_path: str, notebook_path: str
    ) -> None:
        """Run the cells of `file_path`, the notebook at `notebook_path` (the runtime's, or one it includes)."""
        for cell in cells:
            try:
                self._run_cell(cell, namespace, runtime, file_path, notebook_path)
            except (NotebookExit, NotebookFailedError, PipelineFileError):
                raise
            except Exception as e:
                from dtflw.storage.unavailable import unavailable_storage_error

                line = _line_in(e, file_path) or cell.first_line
                where, given = f"cell {cell.index} at {file_path}:{line}", runtime.dbutils.widgets.all_values().values()
                known = [*given, self.storage_url]
                unavailable = unavailable_storage_error(e, runtime.notebook_path, where, known, cell.index, line)
                if unavailable is not None:
                    raise unavailable from e
                hint = namespace_file_error(e, runtime.local.namespaces)
                raise NotebookFailedError(
                    f"Notebook '{runtime.notebook_path}' failed in cell {cell.index} at {file_path}:{line}: "
                    f"{type(e).__name__}: {scrub(str(e), self.secret_values)}{hint}",
                    notebook_path=runtime.notebook_path,
                    cell=cell.index,
                    line=line,
                ) from e

    def _run_cell(
        self, cell: Cell, namespace: dict[str, Any], runtime: Runtime, file_path: str, notebook_path: str
    ) -> None:
        if cell.language == "python":
            code = compile("\n" * (cell.first_line - 1) + cell.source, file_path, "exec")
            exec(code, namespace)
        elif cell.language == "sql":
            from dtflw.local.sql_widgets import run_sql

            for statement in split_sql_statements(cell.source):
                result = run_sql(statement, runtime.spark, runtime.dbutils.widgets, runtime.notebook_path)
                if result is not None:
                    namespace["_sqldf"] = result
            if "_sqldf" in namespace:
                display(namespace["_sqldf"])
        elif cell.language == "run":
            self._run_included(cell, namespace, runtime, notebook_path)
        elif cell.language == "sh":
            script = (
                shell_with_namespaces(cell.source, runtime.local.namespaces)
                if runtime.local.namespaces
                else cell.source
            )
            environ = {k: v for k, v in os.environ.items() if not k.startswith(SECRET_VARIABLE_PREFIX)}
            import subprocess

            subprocess.run(script, shell=True, check=True, cwd=os.path.dirname(file_path), env=environ)
        elif cell.language == "fs":
            command, *args = cell.source.split()
            result = getattr(runtime.dbutils.fs, command)(*args)
            display(result)
        elif cell.language == "pip":
            print(f"[dtflw] skipped %pip {cell.source.strip()}: install packages into the local environment.")
        elif cell.language not in ("markdown",):
            raise NotebookFailedError(
                f"Notebook '{runtime.notebook_path}' cell {cell.index}: %{cell.language} cells do not run locally.",
                notebook_path=runtime.notebook_path,
                cell=cell.index,
                line=cell.first_line,
            )

    def _run_included(self, cell: Cell, namespace: dict[str, Any], runtime: Runtime, notebook_path: str) -> None:
        """`%run ./x $a=1`: run another notebook's cells in this notebook's namespace; as on Databricks, a
        relative path is relative to the notebook holding the `%run` (`notebook_path`)."""
        assert cell.run_target is not None  # a `%run` cell names its notebook
        target = normalize_workspace_path(cell.run_target, posixpath.dirname(notebook_path))
        included_file = self.notebook_file(target)
        with runtime.dbutils.widgets.arguments_added(cell.run_args):
            self._run_cells(self._source_of(included_file)[1].cells, namespace, runtime, included_file, target)


def _unity_catalog(engine: NotebookEngine, folder: str, volumes_folder: str) -> UnityCatalog | None:
    """The local Unity Catalog in `folder`, given to an engine that can use it (the first one given stays)."""
    if not isinstance(engine, WithUnityCatalog):
        return None
    return engine.use_unity_catalog(LocalUnityCatalog(folder, volumes_folder))


def pipeline_source(file_path: str) -> NotebookSource:
    """A pipeline file as a one-cell notebook that runs it; the file is checked now, before anything runs."""
    from dtflw.pipeline_files.loading import load_pipeline

    load_pipeline(file_path)
    code = f"from dtflw.pipeline_files import run_pipeline\n\ndbutils.notebook.exit(run_pipeline({file_path!r}))\n"
    return NotebookSource(file_path, "python", (Cell(0, "python", code, 1, title="pipeline"),))


def _stop_session(session: Any, interrupt: bool = False) -> None:
    """End a notebook's own Spark session, interrupting its operations first if asked.

    A classic JVM session shares the engine's SparkContext with every notebook: its operations are
    interrupted (classic Spark 4 sessions tag their jobs), but it is never stopped.
    """
    connect = type(session).__module__.startswith("pyspark.sql.connect")
    try:
        if interrupt:
            session.interruptAll()
        if not connect:
            return
        if getattr(session.client, "_server_session_id", "") is None:
            session.client.close()  # the server never saw this session: nothing to release there
        else:
            session.stop()
    except Exception:  # already closed, or the server is gone: nothing left to stop
        pass


def _line_in(error: BaseException, file_path: str) -> int | None:
    """The last line of `file_path` in the error's traceback."""
    lines = [f.lineno for f in traceback.extract_tb(error.__traceback__) if f.filename == file_path]
    return lines[-1] if lines else None
