"""The `dtflw` command: run an orchestration notebook locally."""

from __future__ import annotations

import os
import sys

import click

from dtflw.deploy.cli import deploy
from dtflw.errors import DtflwError

ENGINE_CHOICES = ("sail", "spark", "remote")
LINEAGE_FORMATS = ("json", "openlineage", "mermaid", "dot", "html")


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE.", param_hint=option)
        pairs[key] = value
    return pairs


def default_storage_url(storage: str | None) -> str:
    """`--storage`, else `$DTFLW_STORAGE`, else the `.dtflw/storage` folder here."""
    return storage or os.environ.get("DTFLW_STORAGE") or "file://" + os.path.abspath(".dtflw/storage")


@click.group()
@click.version_option(package_name="dtflw")
def main():
    """dtflw: chain Databricks notebooks into dataflow pipelines, on Databricks or locally."""


def _runtime_options(command):
    """The options `run` and `plan` share: engine, storage, workspace, args."""
    options = [
        click.argument("notebook", type=click.Path(dir_okay=False)),
        click.option(
            "--engine", type=click.Choice(ENGINE_CHOICES), default="sail", show_default=True, help="Local Spark engine."
        ),
        click.option("--remote-url", help="sc:// URL for --engine remote (default $SPARK_REMOTE)."),
        click.option(
            "--storage", help="Default storage URL of init_flow() (default $DTFLW_STORAGE, else ./.dtflw/storage)."
        ),
        click.option("--dbfs-root", type=click.Path(file_okay=False), help="Local folder standing in for dbfs:/."),
        click.option(
            "--workspace-root",
            type=click.Path(file_okay=False),
            help="Folder mapped to /Users/<user> (default: the parent of the notebook's folder).",
        ),
        click.option("--user", help="Workspace user name (default $DTFLW_USER, else the OS user)."),
        click.option("--conf", multiple=True, metavar="KEY=VALUE", help="Spark configuration."),
        click.option("--arg", "args", multiple=True, metavar="NAME=VALUE", help="Argument (widget) of the notebook."),
        click.option(
            "--secrets-file", type=click.Path(dir_okay=False), help="JSON {scope: {key: value}} for dbutils.secrets."
        ),
        click.option(
            "--lazy", is_flag=True, help="Skip notebooks that are up to date (outputs complete, nothing changed)."
        ),
        click.option(
            "--select",
            help="Steps of the notebook to run, eager or in DAG blocks: nb, T, +T, T+, tag:x (space- or comma-separated).",
        ),
        click.option("--exclude", help="Steps not to run (same syntax as --select)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _workspace(options: dict, listeners=(), planner=None):
    from dtflw.engines import create_engine
    from dtflw.local.workspace import LocalWorkspace

    notebook = os.path.abspath(options["notebook"])
    engine = create_engine(options["engine"], _pairs(options["conf"], "--conf"), options["remote_url"])
    workspace = LocalWorkspace(
        options["workspace_root"] or os.path.dirname(os.path.dirname(notebook)),
        engine,
        user=options["user"],
        storage_url=default_storage_url(options["storage"]),
        dbfs_folder=options["dbfs_root"],
        secrets_file=options["secrets_file"],
        listeners=listeners,
        lazy=options["lazy"],
        select=options["select"],
        exclude=options["exclude"],
        planner=planner,
    )
    return engine, workspace, notebook


@main.command()
@_runtime_options
def run(**options):
    """Run an orchestration NOTEBOOK (a Databricks source .py/.sql or .ipynb) with the local runtime."""
    from rich.console import Console

    from dtflw.progress import ProgressPrinter

    console = Console(stderr=True)
    printer = ProgressPrinter(console)
    try:
        engine, workspace, notebook = _workspace(options, listeners=[printer])
        with engine:
            result = workspace.run_file(notebook, _pairs(options["args"], "--arg"))
    except DtflwError as e:
        console.print(printer.summary())
        console.print(f"[red]✖ {type(e).__name__}:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(1)
    console.print(printer.summary())
    for where in printer.lineage_folders():
        console.print(f"Lineage written under {where}", highlight=False, soft_wrap=True)
    if result is not None:
        click.echo(result)


@main.command()
@_runtime_options
def plan(**options):
    """Show what running NOTEBOOK would do — the DAG in levels, every path, lazy decisions — running nothing."""
    from dtflw.planning import Planner

    planner = Planner(lazy=options["lazy"], select=options["select"], exclude=options["exclude"])
    try:
        engine, workspace, notebook = _workspace(options, planner=planner)
        with engine:
            workspace.run_file(notebook, _pairs(options["args"], "--arg"))
            click.echo(planner.render())
    except DtflwError as e:
        click.echo(f"✖ {type(e).__name__}: {e}", err=True)
        sys.exit(1)


@main.group()
def lineage():
    """Read the lineage recorded on a storage."""


def _lineage_graph(storage: str | None):
    from dtflw.lineage import LineageGraph
    from dtflw.storage import from_url

    graph = LineageGraph.load(from_url(default_storage_url(storage)))
    for problem in graph.problems:
        click.echo(f"! skipped: {problem}", err=True)
    return graph


_storage_option = click.option("--storage", help="Storage URL (default $DTFLW_STORAGE, else ./.dtflw/storage).")
_select_option = click.option("--select", help="Only these tables/notebooks: T, +T, T+, +T+, tag:x, unions.")


@lineage.command("show")
@_storage_option
@_select_option
def lineage_show(storage, select):
    """Print the lineage as a text tree: notebooks, their runs, the tables they read and wrote."""
    from dtflw.lineage import show_tree

    try:
        click.echo(show_tree(_lineage_graph(storage), select))
    except DtflwError as e:
        click.echo(f"✖ {type(e).__name__}: {e}", err=True)
        sys.exit(1)


@lineage.command("export")
@click.option("--format", "fmt", required=True, type=click.Choice(LINEAGE_FORMATS), help="Export format.")
@click.option("--out", type=click.Path(dir_okay=False), help="File to write (openlineage without --out: send events).")
@_storage_option
@_select_option
def lineage_export(fmt, out, storage, select):
    """Export the lineage as json, OpenLineage events, mermaid, dot or a self-contained HTML report."""
    from dtflw.lineage.exporting import export

    try:
        text = export(_lineage_graph(storage), fmt, out, select)
    except DtflwError as e:
        click.echo(f"✖ {type(e).__name__}: {e}", err=True)
        sys.exit(1)
    if out:
        click.echo(f"Lineage written to {out}", err=True)
    elif text is not None:
        click.echo(text)
    else:
        click.echo("OpenLineage events sent through the configured transport.", err=True)


main.add_command(deploy)

if __name__ == "__main__":
    main()
