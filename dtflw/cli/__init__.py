"""The `dtflw` command: run an orchestration notebook or a pipeline file locally or on Databricks."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Collection, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

import click

from dtflw.cli.deploy import deploy
from dtflw.cli.options import CommandFunction, default_storage_url, pairs
from dtflw.engines import BUILTIN_ENGINES, engine_names
from dtflw.engines import ENTRY_POINT_GROUP as ENGINE_GROUP
from dtflw.errors import DagFailedError, DtflwError

if TYPE_CHECKING:
    from dtflw.cli.progress import ProgressPrinter, Terminal
    from dtflw.events import FlowListener
    from dtflw.lineage import LineageGraph
    from dtflw.local.redacted_fds import RedactedFds
    from dtflw.run.planning import Planner
    from dtflw.session.local import LocalSession

LINEAGE_FORMATS = ("json", "openlineage", "mermaid", "dot", "html")


class _Command(click.Group):
    """The `dtflw` group: Ctrl-C in any command ends it with one line and exit 130, never a traceback
    (click's own answer is "Aborted!" and exit 1); a command that cleans up on `KeyboardInterrupt`
    (`deploy run` cancels its job runs) has done so first."""

    def invoke(self, ctx: click.Context) -> Any:  # what the command returned, as click's Group.invoke
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            from dtflw.interrupts import exit_interrupted

            exit_interrupted()


@click.group(cls=_Command)
@click.version_option(package_name="dtflw")
def main() -> None:
    """dtflw: chain Databricks notebooks into dataflow pipelines, on Databricks or locally."""


def _known_engine(context: click.Context, parameter: click.Parameter, name: str) -> str:
    """`--engine`: a built-in engine, else one registered (the entry points are read only then)."""
    if name not in BUILTIN_ENGINES and name not in engine_names():
        raise click.BadParameter(f"{name!r} is not an engine; use one of {', '.join(engine_names())}.")
    return name


class RuntimeOptions(TypedDict):
    """The options `_runtime_options` adds, as click passes them to the command."""

    notebook: str
    engine: str
    remote_url: str | None
    profile: str | None
    cluster_id: str | None
    serverless: bool
    storage: str | None
    dbfs_root: str | None
    volumes_root: str | None
    workspace_root: str | None
    user: str | None
    conf: tuple[str, ...]
    args: tuple[str, ...]
    secrets_file: str | None
    lazy: bool
    select: str | None
    exclude: str | None
    strict: bool
    show_traceback: bool
    allow_local_storage: bool


def _runtime_options(command: CommandFunction) -> CommandFunction:
    """The options `run` and `plan` share: engine, storage, workspace, args (`RuntimeOptions`)."""
    options = [
        click.argument("notebook", metavar="SOURCE", type=click.Path(dir_okay=False)),
        click.option(
            "--engine",
            default="sail",
            show_default=True,
            callback=_known_engine,
            help=f"Spark engine: {', '.join(BUILTIN_ENGINES)}, or one a package adds (entry points {ENGINE_GROUP!r}).",
        ),
        click.option("--remote-url", help="sc:// URL for --engine remote (default $SPARK_REMOTE)."),
        click.option("--profile", help="~/.databrickscfg profile for --engine databricks."),
        click.option("--cluster-id", help="Cluster for --engine databricks (default $DATABRICKS_CLUSTER_ID)."),
        click.option("--serverless", is_flag=True, help="Serverless compute for --engine databricks."),
        click.option(
            "--storage", help="Default storage URL of init_flow() (default $DTFLW_STORAGE, else ./.dtflw/storage)."
        ),
        click.option("--dbfs-root", type=click.Path(file_okay=False), help="Local folder standing in for dbfs:/."),
        click.option(
            "--volumes-root",
            type=click.Path(file_okay=False),
            help="Local folder standing in for /Volumes (default: `volumes` beside the DBFS root).",
        ),
        click.option(
            "--workspace-root",
            type=click.Path(file_okay=False),
            help="Folder mapped to /Users/<user> (default: the parent of the notebook's folder).",
        ),
        click.option("--user", help="Workspace user name (default $DTFLW_USER, else the OS user)."),
        click.option("--conf", multiple=True, metavar="KEY=VALUE", help="Spark configuration."),
        click.option("--arg", "args", multiple=True, metavar="NAME=VALUE", help="Argument (widget) of the notebook."),
        click.option(
            "--secrets-file",
            type=click.Path(dir_okay=False, resolve_path=True),
            help="JSON {scope: {key: value}} for dbutils.secrets.",
        ),
        click.option(
            "--lazy", is_flag=True, help="Skip notebooks that are up to date (outputs complete, nothing changed)."
        ),
        click.option(
            "--select",
            help="Steps of the notebook to run, eager or in DAG blocks: nb, T, +T, T+, tag:x (space- or comma-separated).",
        ),
        click.option("--exclude", help="Steps not to run (same syntax as --select)."),
        click.option(
            "--strict",
            is_flag=True,
            help="An argument a notebook never declares nor reads (a misspelt --arg or .args name) is an error.",
        ),
        click.option(
            "--traceback", "show_traceback", is_flag=True, help="On failure, show the whole Python traceback."
        ),
        click.option("--allow-local-storage", is_flag=True, hidden=True),  # --on databricks: a local Jobs stand-in
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _session(
    options: RuntimeOptions,
    listeners: Iterable[FlowListener] = (),
    planner: Planner | None = None,
    environ: dict[str, str] | None = None,
    lease_wait: float | None = None,
) -> tuple[LocalSession, str]:
    """The local session of a `dtflw run|plan|check` command, and the notebook file it runs."""
    from dtflw.core.options import RunOptions
    from dtflw.local.workspace import LocalSettings
    from dtflw.session.local import EngineSettings, open_local_session

    notebook = os.path.abspath(options["notebook"])
    conf = pairs(options["conf"], "--conf")
    if options["engine"] not in ("remote", "databricks"):  # managed tables here, not beside the notebook
        conf.setdefault("spark.sql.warehouse.dir", os.path.abspath(".dtflw/spark-warehouse"))
    engine = EngineSettings(
        options["engine"],
        conf,
        options["remote_url"],
        profile=options["profile"],
        cluster_id=options["cluster_id"],
        serverless=options["serverless"],
    )
    settings = LocalSettings(
        user=options["user"],
        storage_url=default_storage_url(options["storage"]),
        dbfs_folder=options["dbfs_root"],
        volumes_folder=options.get("volumes_root"),
        secrets_file=options["secrets_file"],
        environ=environ,
    )
    run_options = RunOptions(
        force_lazy=options["lazy"],
        select=options["select"],
        exclude=options["exclude"],
        planner=planner,
        listeners=list(listeners),
        strict=options["strict"],
    )
    root = options["workspace_root"] or os.path.dirname(os.path.dirname(notebook))
    return open_local_session(root, engine, settings, run_options, lease_wait=lease_wait), notebook


def run_as_program() -> Any:
    """`dtflw` as a process of its own (the console script, `python -m dtflw.cli`). What it has imported by
    now lives as long as the process, so the cyclic GC stops walking it (`gc.freeze`, as the Python docs
    suggest after start-up): its collections, and the last one at exit, see what the command allocates."""
    gc.freeze()
    return main()


@main.command()
@_runtime_options
@click.option(
    "--wait-for-storage",
    type=click.FloatRange(min=0),
    default=0,
    metavar="SECONDS",
    help="Wait this long for another run using a storage this run opens to end (default: fail at once, naming it).",
)
@click.option(
    "--on",
    "where",
    type=click.Choice(("local", "databricks")),
    default="local",
    show_default=True,
    help="databricks: submit the steps as one multi-task job run (as `dtflw deploy run`; --profile, --cluster-id).",
)
@click.pass_context
def run(context: click.Context, /, wait_for_storage: float, where: str, **options: Unpack[RuntimeOptions]) -> None:
    """Run an orchestration notebook (a Databricks source .py/.sql or .ipynb) or a pipeline file
    (.yml/.json), SOURCE, with the local runtime, or on Databricks with `--on databricks`."""
    if where == "databricks":
        _run_on_databricks(context, options)
        return
    with _output_redacted() as output:
        _run_locally(options, wait_for_storage, output)


def _run_locally(options: RuntimeOptions, wait_for_storage: float, output: RedactedFds) -> None:
    """`dtflw run`: the notebook with the local runtime, its output redacted by `output` (`RedactedFds`)."""
    from dtflw.cli.progress import ProgressPrinter
    from dtflw.interrupts import CANCELLATION
    from dtflw.secrets import scrub

    terminal = _terminal()
    printer = ProgressPrinter(terminal)
    secrets = output.secrets  # the values revealed while running: never printed
    try:
        with _secrets_kept_from_environment() as environ:
            session, notebook = _session(options, listeners=[printer], environ=environ, lease_wait=wait_for_storage)
            session.workspace.secret_values |= secrets
            secrets = output.secrets = session.workspace.secret_values
            with session, CANCELLATION.signals_handled():  # a storage is leased by the first flow opening it
                try:
                    result = CANCELLATION.run(session.run_file, notebook, pairs(options["args"], "--arg"))
                except KeyboardInterrupt:  # the first Ctrl-C or SIGTERM: notebooks stopped, recorded cancelled
                    _print_summary(terminal, printer)
                    interrupted = terminal.paint(f"✖ Interrupted ({CANCELLATION.signal_name}):", "red")
                    terminal.write(f"{interrupted} running notebooks were stopped and recorded as cancelled.")
                    CANCELLATION.exit()  # notebooks still in a sleep are abandoned
    except DtflwError as e:
        _print_summary(terminal, printer)
        _report_failure(terminal, e, options["show_traceback"], secrets)
        sys.exit(1)
    _print_summary(terminal, printer)
    for where in printer.lineage_folders():
        terminal.write(f"Lineage written under {where}")
    if result is not None:
        click.echo(scrub(result, secrets))


def _terminal() -> Terminal:
    """stderr, where a person reads what happens (stdout is the notebook's exit value or the report)."""
    from dtflw.cli.progress import Terminal

    return Terminal(sys.stderr, os.environ)


@contextlib.contextmanager
def _output_redacted() -> Iterator[RedactedFds]:
    """Within the block, whatever reaches the process's stdout and stderr (subprocesses too) is scrubbed of
    the block's `.secrets` (at first the credentials in $DATABRICKS_HOST; the run then gives it its set of
    secrets revealed); an unexpected error's traceback as well."""
    from dtflw.interrupts import CANCELLATION
    from dtflw.local.redacted_fds import RedactedFds
    from dtflw.secrets import scrub, url_credentials

    output = RedactedFds(url_credentials(os.environ.get("DATABRICKS_HOST")))
    CANCELLATION.exit_hooks.append(output.close)  # a forced exit shows what is on its way first
    try:
        yield output
    except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):  # click's to tell
        raise
    except Exception as e:  # a bug: its traceback shows scrubbed, before the descriptors are given back
        import traceback

        sys.stderr.write(scrub("".join(traceback.format_exception(e)), output.secrets))
        raise SystemExit(1) from None
    finally:
        CANCELLATION.exit_hooks.remove(output.close)
        output.close()


@contextlib.contextmanager
def _secrets_kept_from_environment() -> Iterator[dict[str, str]]:
    """The environment with the `DTFLW_SECRET_*` variables, which leave `os.environ` within the block: the
    notebook's `dbutils.secrets` reads them, its code and `%sh` cells never see them."""
    from dtflw.local.dbutils import SECRET_VARIABLE_PREFIX

    environ = dict(os.environ)
    hidden = {name: os.environ.pop(name) for name in environ if name.startswith(SECRET_VARIABLE_PREFIX)}
    try:
        yield environ
    finally:
        os.environ.update(hidden)


def _run_on_databricks(context: click.Context, options: RuntimeOptions) -> None:
    """`dtflw run --on databricks`: `dtflw deploy run` with the options both know; refuses the others."""
    from dtflw.cli.deploy import run as deploy_run

    local_only = {
        "--lazy": options["lazy"],
        "--select": options["select"],
        "--exclude": options["exclude"],
        "--strict": options["strict"],
        "--volumes-root": options["volumes_root"],
        "--dbfs-root": options["dbfs_root"],
        "--secrets-file": options["secrets_file"],
    }
    given = [flag for flag, value in local_only.items() if value]
    if given or options["engine"] != "sail" or options["conf"]:
        given += ["--engine"] * (options["engine"] != "sail") + ["--conf"] * bool(options["conf"])
        raise click.UsageError(f"{', '.join(given)} apply to local runs only, not with --on databricks.")
    context.invoke(
        deploy_run,
        notebook=options["notebook"],
        storage=options["storage"],
        workspace_root=options["workspace_root"],
        user=options["user"],
        args=options["args"],
        profile=options["profile"],
        allow_local_storage=options["allow_local_storage"],
        existing_cluster_id=options["cluster_id"],
        name=None,
        new_cluster=None,
        tags=(),
        params=(),
        repair=False,
        poll=1.0,
    )


@main.command()
@_runtime_options
def plan(**options: Unpack[RuntimeOptions]) -> None:
    """Show what running SOURCE (a notebook or a pipeline file) would do — the DAG in levels, every path,
    lazy decisions — running nothing."""
    from dtflw.run.planning import Planner

    planner = Planner(lazy=options["lazy"], select=options["select"], exclude=options["exclude"])
    with _output_redacted() as output:  # the orchestration code runs: what it prints is redacted too
        try:
            session, notebook = _session(options, planner=planner)
            session.workspace.secret_values |= output.secrets
            output.secrets = session.workspace.secret_values
            with session, contextlib.redirect_stdout(sys.stderr):  # the notebook's own prints are not the plan
                session.run_file(notebook, pairs(options["args"], "--arg"))
        except DtflwError as e:
            _report_failure(_terminal(), e, options["show_traceback"], output.secrets)
            sys.exit(1)
        click.echo(planner.render())


@main.command()
@_runtime_options
def check(**options: Unpack[RuntimeOptions]) -> None:
    """Evaluate the expectations SOURCE (a notebook or a pipeline file) declares on its outputs against the
    tables there now, running no notebook; exits 1 if a blocking one fails or a table is missing."""
    from dtflw.run.checking import check_planned
    from dtflw.run.planning import Planner

    planner = Planner(select=options["select"], exclude=options["exclude"])
    try:
        session, notebook = _session(options, planner=planner)
        with session:
            with contextlib.redirect_stdout(sys.stderr):  # the notebook's own prints are not the report
                session.run_file(notebook, pairs(options["args"], "--arg"))
            report = check_planned(planner.plans())
    except DtflwError as e:
        _report_failure(_terminal(), e, options["show_traceback"])
        sys.exit(1)
    click.echo("\n".join(report.lines()))
    sys.exit(0 if report.passed else 1)


def _print_summary(terminal: Terminal, printer: ProgressPrinter) -> None:
    """The summary of the notebooks that ran (none: nothing)."""
    for line in printer.summary():
        terminal.write(line)


def _report_failure(
    terminal: Terminal, error: DtflwError, show_traceback: bool, secrets: Collection[object] = frozenset()
) -> None:
    """The error in one line; with `--traceback`, the whole chain of tracebacks first (notebook cells,
    `%run` helpers, imported modules, and each failed notebook of a DAG). Secret values never show."""
    from dtflw.secrets import scrub

    if show_traceback:
        import traceback

        failures, seen = [], set()
        cause: BaseException | None = error
        while cause is not None and id(cause) not in seen:  # the failed steps of a DAG anywhere in the chain
            seen.add(id(cause))
            failures += list(cause.failures.values()) if isinstance(cause, DagFailedError) else []
            cause = cause.__cause__ or cause.__context__
        for failed in failures + [error]:
            terminal.write(scrub("".join(traceback.format_exception(failed)), secrets).rstrip("\n"))
    terminal.write(f"{terminal.paint(f'✖ {type(error).__name__}:', 'red')} {scrub(str(error), secrets)}")
    if not show_traceback:
        terminal.write(terminal.paint("(run again with --traceback for the whole trace)", dim=True))


@main.group()
def lineage() -> None:
    """Read the lineage recorded on a storage."""


def _lineage_graph(storage: str | None, select: str | None = None) -> LineageGraph:
    from dtflw.lineage import LineageGraph
    from dtflw.lineage.document import runs_folder
    from dtflw.lineage.select import parse
    from dtflw.storage import from_url

    if select:
        parse(select)  # a malformed selection is told first
    store = from_url(default_storage_url(storage))
    graph = LineageGraph.load(store)
    for problem in graph.problems:
        click.echo(f"! skipped: {problem}", err=True)
    if not graph.flows and not graph.problems:
        click.echo(
            f"✖ No lineage recorded on {store.url} (none under {store.get_abs_path(runs_folder(store))}): "
            "run a flow on this storage first, or name another with --storage.",
            err=True,
        )
        sys.exit(1)
    return graph


_storage_option = click.option("--storage", help="Storage URL (default $DTFLW_STORAGE, else ./.dtflw/storage).")
_select_option = click.option("--select", help="Only these tables/notebooks: T, +T, T+, +T+, tag:x, unions.")


@lineage.command("show")
@_storage_option
@_select_option
def lineage_show(storage: str | None, select: str | None) -> None:
    """Print the lineage as a text tree: notebooks, their runs, the tables they read and wrote."""
    from dtflw.lineage import show_tree

    try:
        click.echo(show_tree(_lineage_graph(storage, select), select))
    except DtflwError as e:
        click.echo(f"✖ {type(e).__name__}: {e}", err=True)
        sys.exit(1)


@lineage.command("export")
@click.option("--format", "fmt", required=True, type=click.Choice(LINEAGE_FORMATS), help="Export format.")
@click.option("--out", type=click.Path(dir_okay=False), help="File to write (openlineage without --out: send events).")
@_storage_option
@_select_option
def lineage_export(fmt: str, out: str | None, storage: str | None, select: str | None) -> None:
    """Export the lineage as json, OpenLineage events, mermaid, dot or a self-contained HTML report."""
    from dtflw.lineage.exporting import export

    try:
        text = export(_lineage_graph(storage, select), fmt, out, select)
    except DtflwError as e:
        click.echo(f"✖ {type(e).__name__}: {e}", err=True)
        sys.exit(1)
    if out:
        click.echo(f"Lineage written to {out}", err=True)
    elif text is not None:
        click.echo(text)
    else:
        click.echo("OpenLineage events sent through the configured transport.", err=True)


@main.group("pipeline")
def pipeline_group() -> None:
    """Pipeline files: steps declared in YAML or JSON instead of an orchestration notebook."""


@pipeline_group.command("schema")
@click.option("--out", type=click.Path(dir_okay=False), help="File to write (default: stdout).")
def pipeline_schema(out: str | None) -> None:
    """Print the JSON Schema of pipeline files (point your editor at it: it completes and checks them)."""
    import shutil

    from dtflw.pipeline_files import SCHEMA_FILE

    if out:
        shutil.copyfile(SCHEMA_FILE, out)
        click.echo(f"Schema written to {out}", err=True)
    else:
        with open(SCHEMA_FILE, encoding="utf-8") as f:
            click.echo(f.read(), nl=False)


@pipeline_group.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def pipeline_check(files: tuple[str, ...]) -> None:
    """Check pipeline FILES against their schema and for what it cannot say (unique step names, known
    steps and params, no cycle), running nothing."""
    from dtflw.pipeline_files.loading import load_pipeline

    failed = False
    for path in files:
        try:
            pipeline = load_pipeline(path)
        except DtflwError as e:
            click.echo(f"✖ {e}", err=True)
            failed = True
        else:
            click.echo(f"✔ {path}: {len(pipeline.steps)} step(s)", err=True)
    sys.exit(1 if failed else 0)


@main.group("import")
def import_group() -> None:
    """Convert other orchestration definitions into pipeline files."""


@import_group.command("aef")
@click.argument("definition", type=click.Path(dir_okay=False, exists=True))
@click.option("--out", type=click.Path(dir_okay=False), help="Pipeline file to write (default: stdout).")
@click.option("--notebooks-dir", default="", help="Folder of the JOB_NAME notebooks, relative to the pipeline file.")
def import_aef(definition: str, out: str | None, notebooks_dir: str) -> None:
    """Convert a Google AEF orchestration DEFINITION (levels of threads of steps) into a pipeline file."""
    from dtflw.pipeline_files.aef import import_aef as convert
    from dtflw.pipeline_files.aef import pipeline_text

    try:
        document = convert(definition, notebooks_dir)
    except DtflwError as e:
        click.echo(f"✖ {type(e).__name__}: {e}", err=True)
        sys.exit(1)
    text = pipeline_text(document, definition)
    if not out:
        click.echo(text, nl=False)
        return
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    click.echo(f"{len(document['steps'])} step(s) written to {out}", err=True)


main.add_command(deploy)
